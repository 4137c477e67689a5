"""The HIGGS benchmark of Baldi, Sadowski and Whiteson: 21 low-level and 7 high-level features per event.

Published dataset
-----------------
UCI Machine Learning Repository, dataset 280 "HIGGS" (Baldi, Sadowski, Whiteson,
Nature Communications 5, 4308 (2014), arXiv:1402.4735; DOI 10.24432/C5V312;
CC BY 4.0): ``HIGGS.csv.gz`` (2.8 GB) inside the zip archive
``https://archive.ics.uci.edu/static/public/280/higgs.zip``. It is **Monte
Carlo, not measured data**: MadGraph 5 for the hard process, Pythia 6 for
the showers and hadronisation, Delphes for the detector. 11,000,000 events in
the format of :mod:`.formats`; the last 500,000 lines are the test set by
convention.

Two ways to get it (:mod:`._remote`):

* :func:`stream_head` reads only the first ``n`` events over HTTP (the zip is
  read sequentially by ``stream-unzip`` and the gzip inside it decompressed
  on the fly, nothing else is kept) and caches them in a compact ``.npy``
  file (float32, which loses nothing: the file's values are float32
  numbers). This is what :func:`load` uses.
* :func:`download` fetches the whole archive (2.6 GiB): resumable (an
  interrupted download restarts where it stopped), with a progress bar and a
  size check against the server's announced length, then extracts
  ``HIGGS.csv.gz`` safely and checks its format.

**Checksum.** UCI publishes no checksum for this archive or the file inside it,
and we could not download it to compute one ourselves, so the registry entry
has no sha256: files are verified by their size (against the HTTP length) and
their format (gzip integrity, 29 numeric columns, labels 0/1, row count).
Several public projects report ``sha256 = ea302c18…593b698`` and a size of
2,816,407,858 bytes for ``HIGGS.csv.gz`` from the older UCI address
(:data:`REPORTED_SHA256`, :data:`REPORTED_SIZE`); :func:`download` prints
whether the file matches them, but does not reject a file that differs.

Course simulation
-----------------
The paper's signal and background generated with Pythia 8 and clustered with
FastJet, with a simple detector model and the same features
(:mod:`.simulation`), written in exactly this file format.

Examples
--------
>>> from course_utils.datasets import higgs
>>> ds = higgs.load(n=20_000)                            # doctest: +SKIP
>>> df = ds.data                                         # label + 28 features
>>> X_low, X_high = df[higgs.LOW_LEVEL], df[higgs.HIGH_LEVEL]   # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Literal

from course_utils import config
from course_utils.datasets._registry import Dataset, DatasetInfo, load_with_fallback
from course_utils.datasets.higgs._remote import (
    FILE,
    N_TEST,
    N_TOTAL,
    REPORTED_SHA256,
    REPORTED_SIZE,
    URL,
    download,
    full_path,
    head_path,
    stream_head,
)
from course_utils.datasets.higgs.formats import COLUMNS, FEATURES, HIGH_LEVEL, LOW_LEVEL, read, write
from course_utils.validation import check_choice, check_count

__all__ = [
    "INFO", "FILE", "URL", "LOW_LEVEL", "HIGH_LEVEL", "FEATURES", "COLUMNS", "N_TOTAL", "N_TEST", "REPORTED_SHA256",
    "REPORTED_SIZE", "read", "write", "stream_head", "head_path", "download", "full_path", "load", "default_n",
]

INFO = DatasetInfo(
    name="higgs",
    title="HIGGS (UCI 280), Baldi, Sadowski & Whiteson 2014",
    provenance="UCI Machine Learning Repository, dataset 280 (Baldi, Sadowski, Whiteson 2014; "
               "MadGraph 5 + Pythia + Delphes simulation)",
    licence="CC BY 4.0",
    citation="Baldi, P., Sadowski, P. & Whiteson, D. Searching for exotic particles in high-energy physics "
             "with deep learning. Nature Communications 5, 4308 (2014), arXiv:1402.4735. Dataset: "
             "https://doi.org/10.24432/C5V312",
    homepage="https://archive.ics.uci.edu/dataset/280/higgs",
    files=(FILE,),
    doi="10.24432/C5V312",
    how_to_obtain="Download https://archive.ics.uci.edu/static/public/280/higgs.zip (2.6 GiB), extract "
                  "HIGGS.csv.gz and place it in <data>/real/higgs/ (see course_utils.config.data_dir()); or "
                  "call course_utils.datasets.higgs.download(), which resumes interrupted downloads.",
    made_by="Monte Carlo: MadGraph5 + Pythia 6 + Delphes (Baldi, Sadowski, Whiteson 2014), not measured data",
)


def default_n(source: Literal["real", "simulated"] = "real") -> int:
    """Events :func:`load` reads or simulates when ``n`` is not given.

    Real data (cheap to stream): 10,000 in fast mode, 200,000 otherwise.
    Simulation (about 12 ms of CPU per selected event without multi-parton
    interactions, 46 ms with them): 5,000 in fast mode, 40,000 otherwise.
    """
    check_choice(source, "source", ("real", "simulated"))
    if source == "real":
        return config.scale(full=200_000, fast=10_000)
    return config.scale(full=40_000, fast=5_000)


def _load_real(n: int, data_home: str | os.PathLike[str] | None, verbose: bool) -> Dataset:
    full = full_path(data_home)
    path = full if full.is_file() else stream_head(n, progress=verbose, data_home=data_home)
    df = read(path, n=n)
    if len(df) < n:
        raise ValueError(f"{path.name} holds {len(df):,} events, fewer than the {n:,} asked for")
    return Dataset(df, "real", INFO.name, INFO.provenance, INFO.licence, path,
                   {"rows": f"the first {len(df):,} of {N_TOTAL:,}"})


def _simulate(n: int, seed: int, mpi: bool | None) -> Dataset:
    # imported here: the simulation needs pythia8mc and fastjet
    from course_utils.datasets.higgs import simulation

    return simulation.simulate(n, seed=seed, mpi=mpi)


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None, mpi: bool | None = None) -> Dataset:
    """HIGGS events: the published dataset or the course simulation.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the real file (cached, or its first lines streamed from
        UCI), else the course's Pythia simulation.
    n
        Number of events (``len(ds)``; default: :func:`default_n` of the
        source used), at most :data:`N_TOTAL`. Real data: the first ``n``
        lines of the file (the full file when it was fetched with
        :func:`download`, else a streamed head).
    seed
        Seed of the simulation; the published events do not depend on it (the
        first ``n`` lines).
    verbose
        Print the source used.
    data_home
        The folder of ``HIGGS.csv.gz`` or of its streamed heads
        (``HIGGS_head_<n>.npy``), instead of ``<data>/real/higgs/``; a head
        streamed from UCI is cached there.
    mpi
        Multi-parton interactions in the simulation; ``None``: off in fast mode
        (3 to 4 times faster), on otherwise.

    Returns
    -------
    Dataset
        ``.data`` is the DataFrame of :func:`.formats.read` (``label`` + 28 features).
    """
    n = check_count(n, "n", max_value=N_TOTAL, allow_none=True)

    def real() -> Dataset:
        return _load_real(default_n("real") if n is None else n, data_home, verbose)

    def simulated() -> Dataset:
        return _simulate(default_n("simulated") if n is None else n, seed, mpi)

    return load_with_fallback(INFO.name, source, real, simulated, info=INFO, verbose=verbose)
