"""MAGIC gamma-ray telescope events: ten Hillas parameters per shower image.

Published dataset
-----------------
UCI Machine Learning Repository, dataset 159 "MAGIC Gamma Telescope"
(R. Bock, 2004, DOI 10.24432/C52C8B, CC BY 4.0): ``magic04.data``, 19,020 rows,
comma-separated, no header, 10 features then the class ``g`` (gamma, signal) or
``h`` (hadron, background); 12,332 g and 6,688 h, every gamma before the first
hadron. The UCI events are themselves **Monte Carlo**: CORSIKA air showers and
the MAGIC camera simulation of Bock et al. (2004), not telescope data.

Course simulation
-----------------
A Cherenkov-camera simulation (:mod:`course_utils.datasets.magic.simulation`),
written as ``magic04.data``, so that :func:`formats.read` parses both.

Modules
-------
formats
    :func:`~formats.read` and :func:`~formats.write` of ``magic04.data``.
simulation
    :func:`~simulation.simulate_events` (images and truth) and
    :func:`~simulation.simulate` (the cached file as a :class:`Dataset`).

The camera, the image cleaning and the Hillas parameters are physics, in
:mod:`course_utils.physics.hillas`.

Examples
--------
>>> from course_utils.datasets import magic
>>> ds = magic.load()              # doctest: +SKIP
>>> df = ds.data                   # pandas DataFrame, columns FEATURES + ["class"]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from course_utils.datasets._fetch import fetch
from course_utils.datasets._registry import Dataset, DatasetInfo, RemoteFile, load_with_fallback, real_dir
from course_utils.datasets.magic import formats, simulation
from course_utils.datasets.magic.formats import CLASSES, COLUMNS, FEATURES, FILE_NAME, read, write
from course_utils.datasets.magic.simulation import SimulatedEvents, simulate, simulate_events
from course_utils.validation import check_count

__all__ = ["INFO", "FILE", "FEATURES", "COLUMNS", "CLASSES", "read", "write", "load", "simulate",
           "simulate_events", "SimulatedEvents", "cached_real_path", "formats", "simulation"]

FILE = RemoteFile(
    name=FILE_NAME,
    urls=("https://archive.ics.uci.edu/static/public/159/magic+gamma+telescope.zip",),
    sha256="e9314b7ebd4b4b59a3b3d65f7316663963777b16a46786877651dbbaa640b36a",
    size=1_477_391,
    archive_member=FILE_NAME,
)

INFO = DatasetInfo(
    name="magic",
    title="MAGIC Gamma Telescope (UCI 159)",
    provenance="UCI Machine Learning Repository, dataset 159 (R. Bock, 2004)",
    licence="CC BY 4.0",
    citation="Bock, R. (2004). MAGIC Gamma Telescope [Dataset]. UCI Machine Learning Repository. "
             "https://doi.org/10.24432/C52C8B",
    homepage="https://archive.ics.uci.edu/dataset/159/magic+gamma+telescope",
    files=(FILE,),
    doi="10.24432/C52C8B",
    how_to_obtain="Download the zip from https://archive.ics.uci.edu/dataset/159/magic+gamma+telescope and "
                  "place magic04.data in <data>/real/magic/ (see course_utils.config.data_dir()).",
    made_by="Monte Carlo: CORSIKA air showers + MAGIC camera simulation (Bock et al. 2004), not measured data",
)


def _load_real(n: int | None, seed: int, verbose: bool, data_home: str | os.PathLike[str] | None) -> Dataset:
    # FILE is looked up at call time, so that tests can point it to a local server
    path = fetch(INFO.name, FILE, data_home=data_home)
    df = formats.read(path)
    n_file = len(df)
    if n is not None and n < n_file:
        # the file lists every gamma before the first hadron: a random subset (kept in file order) has both
        df = df.sample(n=n, random_state=seed).sort_index().reset_index(drop=True)
    elif n is not None and n > n_file and verbose:
        print(f"[{INFO.name}] n={n:,} asked, the published file holds {n_file:,} events: all of them are used")
    return Dataset(df, "real", INFO.name, INFO.provenance, INFO.licence, path, {"n_file": n_file})


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None) -> Dataset:
    """The MAGIC events: the published file, or the course's simulation.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the published file if cached or downloadable, else the simulation.
    n
        Number of events (``len(ds)``). The simulation generates ``n`` (default
        19,020, as the published file); from the published file, a random
        subset of ``n`` events drawn with ``seed`` and kept in file order
        (default, or ``n`` >= 19,020: every event).
    seed
        Seed of the simulation, and of the subset of the published file.
    verbose
        Print which source is used (the simulation shows its progress bar in any case).
    data_home
        The folder of ``magic04.data``, instead of ``<data>/real/magic/``;
        downloaded there when missing.

    Returns
    -------
    Dataset
        ``.data`` is the DataFrame of :func:`formats.read`, shape (n, 11):
        :data:`FEATURES` then ``class`` (``"g"``/``"h"``).

    Raises
    ------
    ValueError
        On an unknown source, or an ``n`` that is not a positive integer.
    DataUnavailableError
        With ``source="real"``, when the published file cannot be had.
    """
    n = check_count(n, "n", allow_none=True)
    return load_with_fallback(INFO.name, source, lambda: _load_real(n, seed, verbose, data_home),
                              lambda: simulation.simulate(n, seed=seed), info=INFO, verbose=verbose)


def cached_real_path(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Where the published file is cached (it may not be there)."""
    return real_dir(INFO.name, data_home) / FILE.name
