"""TrackML events: silicon-tracker hits to be joined into particle tracks.

Published dataset
-----------------
The Tracking Machine Learning challenge data (Amrouche et al., "The Tracking
Machine Learning challenge: Accuracy phase", arXiv:1904.06778, 2019), itself
**Monte Carlo**: Pythia 8 t t̄ events with 200 pile-up interactions on average,
passed through the ACTS fast simulation of a generic HL-LHC-like silicon
detector; not measured data. Per event four CSV files
``event<9 digits>-{hits,cells,particles,truth}.csv[.gz]`` and one
``detectors.csv`` (:mod:`.formats`). Two hosts:

* Zenodo record 4730157 ("TrackML Throughput Phase", the maintained copy);
* the Kaggle competition ``trackml-particle-identification`` (``train_sample.zip``,
  the first 100 training events, 3.8 GiB), through the optional ``kagglehub``
  package when Kaggle credentials are configured and the competition's rules
  have been accepted on the Kaggle site.

Neither host publishes checksums of the individual files that we could verify,
so the registry carries no sha256 (files are checked by format when read).
Events already unpacked in ``<data>/real/trackml/`` (any ``event*-hits.csv[.gz]``
there, e.g. copied from ``train_sample.zip``) are used as they are.

Simulated source
----------------
The course's simulation (:mod:`.simulation`): Pythia 8 t t̄ + ⟨μ⟩ minimum-bias
interactions (default 20), helices in a 2 T solenoid through a TrackML-like
tracker, written in exactly the same five files.

Examples
--------
>>> from course_utils.datasets import trackml
>>> ds = trackml.load("simulated", n=2, pileup=5)      # doctest: +SKIP
>>> hits, cells, particles, truth = ds.data[0]          # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from course_utils import config
from course_utils.datasets._fetch import download_message, fetch_kaggle
from course_utils.datasets._registry import (
    Dataset,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    load_with_fallback,
    real_dir,
)
from course_utils.datasets.trackml import formats
from course_utils.datasets.trackml.formats import EventTables, read, read_detectors, write
from course_utils.validation import check_count, check_number

__all__ = ["INFO", "KAGGLE_COMPETITION", "DataUnavailableError", "EventTables", "read", "read_detectors", "write", "load",
           "default_pileup", "default_n", "real_events"]

#: The Kaggle competition (``kagglehub.competition_download`` takes it).
KAGGLE_COMPETITION = "trackml-particle-identification"
ZENODO_RECORD = "https://zenodo.org/records/4730157"

INFO = DatasetInfo(
    name="trackml",
    title="TrackML Particle Tracking Challenge (Amrouche et al. 2019)",
    provenance="TrackML challenge (CERN, LAL/CNRS, UNIGE, INRIA...): Zenodo record 4730157 and the Kaggle "
               "competition trackml-particle-identification",
    licence="Zenodo record 4730157: the licence shown on the record (we could not read it from here; check it "
            "before redistribution); Kaggle copy: the competition's rules (accepted on kaggle.com)",
    citation="Amrouche, S. et al. The Tracking Machine Learning challenge: Accuracy phase. In: The NeurIPS '18 "
             "Competition, Springer (2020), arXiv:1904.06778. Data: https://zenodo.org/records/4730157",
    homepage=ZENODO_RECORD,
    files=(RemoteFile(name="train_sample.zip",
                      urls=(f"https://www.kaggle.com/competitions/{KAGGLE_COMPETITION}/data",),
                      sha256=None),),
    how_to_obtain="Download train_sample.zip from the Kaggle competition trackml-particle-identification (or an "
                  "event archive from https://zenodo.org/records/4730157), unpack the event*-*.csv files and "
                  "detectors.csv into <data>/real/trackml/ (see course_utils.config.data_dir()); or install "
                  "kagglehub, configure Kaggle credentials and accept the competition's rules.",
    made_by="Monte Carlo: Pythia 8 t tbar + 200 pile-up, ACTS fast simulation of a generic detector "
            "(Amrouche et al. 2019), not measured data",
)


def default_pileup() -> float:
    """Mean pile-up of the simulation: 5 in fast mode, 20 otherwise (the challenge: 200)."""
    return float(config.scale(full=20, fast=5))


def real_events(folder: str | Path | None = None) -> list[Path]:
    """The published events found in ``folder`` (default ``<data>/real/trackml``, searched recursively)."""
    root = Path(folder) if folder is not None else real_dir("trackml")
    if not root.is_dir():
        return []
    found = sorted({p.parent / p.name.split("-hits.csv")[0] for p in root.rglob("event*-hits.csv*")})
    return found


def _download_with_kagglehub() -> Path:
    """``train_sample.zip`` through :func:`~course_utils.datasets._fetch.fetch_kaggle`, when it can."""
    try:
        return fetch_kaggle(KAGGLE_COMPETITION, kind="competition", path="train_sample.zip",
                            announce=download_message(INFO.name, INFO.file("train_sample.zip")))
    except DataUnavailableError as exc:
        raise DataUnavailableError(f"no events in the data folder, and {exc}") from exc


def _load_real(n: int, data_home: str | os.PathLike[str] | None) -> Dataset:
    root = real_dir(INFO.name, data_home)
    events = real_events(root)
    if not events:
        root = _download_with_kagglehub()
        events = real_events(root)
        if not events:
            raise DataUnavailableError(f"kagglehub gave {root}, which holds no event*-hits.csv file")
    events = events[:n]
    data = [read(p) for p in events]
    det = next(iter(sorted(root.rglob("detectors.csv*"))), None)
    return Dataset(data=data, source="real", name=INFO.name, provenance=INFO.provenance, licence=INFO.licence,
                   path=root, details={"events": [p.name for p in events],
                                       "detectors": read_detectors(det) if det is not None else None})


def default_n() -> int:
    """Events :func:`load` reads or simulates when ``n`` is not given: 16 in fast mode, 40 otherwise."""
    return config.scale(full=40, fast=16)


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None,
         pileup: float | None = None) -> Dataset:
    """TrackML events: ``Dataset.data`` is a list of :class:`EventTables` ``(hits, cells, particles, truth)``.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"`` uses published events when they are in the data folder (or
        kagglehub can fetch them), the simulation otherwise.
    n
        Number of events (default :func:`default_n`); ``len(ds)`` counts them.
        Published: the first ``n`` events by name.
    seed
        Seed of the simulation; the published events do not depend on it.
    verbose
        Print which source is used, and show the simulation's progress.
    data_home
        The folder holding published events (``event*-hits.csv[.gz]`` and the
        other files, searched recursively), instead of ``<data>/real/trackml/``.
    pileup
        Mean pile-up of the simulation (default :func:`default_pileup`).
    """
    n_events = check_count(n, "n", allow_none=True) or default_n()
    if pileup is not None:
        check_number(pileup, "pileup", min_value=0)

    def load_simulated() -> Dataset:
        from course_utils.datasets.trackml import simulation

        mu = default_pileup() if pileup is None else pileup
        return simulation.simulate(n_events, seed=seed, pileup=mu, verbose=verbose)

    return load_with_fallback(INFO.name, source, lambda: _load_real(n_events, data_home), load_simulated, info=INFO,
                              verbose=verbose)


_ = formats  # re-exported module
