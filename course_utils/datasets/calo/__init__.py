"""Calorimeter showers of photons: CaloChallenge 2022, dataset 1.

Published source
----------------
Fast Calorimeter Simulation Challenge 2022, dataset 1 (Zenodo, DOI
10.5281/zenodo.8099322): ``dataset_1_photons_1.hdf5`` (training) and
``dataset_1_photons_2.hdf5`` (evaluation), each about 121,000 photon showers
in 368 voxels of 5 ATLAS calorimeter layers, at 15 incident energies from
256 MeV to 4.2 TeV. They are **Monte Carlo**: Geant4 simulation of the ATLAS
calorimeter (the ATLAS open samples of AtlFast3), not measured data.

Simulated source
----------------
A GFlash-style parametrisation (:mod:`.simulation`) written in exactly the same
HDF5 layout and voxel geometry, so that :func:`.formats.read` parses both.

Examples
--------
>>> from course_utils.datasets import calo
>>> ds = calo.load(n=20_000)                      # doctest: +SKIP
>>> ds.data.incident_energies.shape, ds.data.showers.shape   # doctest: +SKIP
((20000,), (20000, 368))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from course_utils.datasets._fetch import fetch
from course_utils.datasets._registry import (
    Dataset,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    load_with_fallback,
    real_dir,
)
from course_utils.datasets._storage import writable
from course_utils.datasets.calo.formats import (
    BINNING_FILE,
    INCIDENT_ENERGIES,
    N_VOXELS,
    Binning,
    CaloData,
    default_binning,
    parse_binning,
    read,
    write,
)
from course_utils.validation import check_choice, check_count

__all__ = ["INFO", "FILES", "BINNING_FILE", "INCIDENT_ENERGIES", "N_VOXELS", "Binning", "CaloData",
           "default_binning", "parse_binning", "read", "write", "load", "cached_real_path"]

_ZENODO = "https://zenodo.org/records/8099322/files/{}?download=1"

# No SHA-256 of these files could be verified from here (Zenodo publishes MD5 sums only): they are checked by
# format instead (read() rejects a truncated file, a wrong voxel count, wrong units).
FILES = tuple(RemoteFile(name=name, urls=(_ZENODO.format(name),), sha256=None)
              for name in ("dataset_1_photons_1.hdf5", "dataset_1_photons_2.hdf5"))

INFO = DatasetInfo(
    name="calo",
    title="CaloChallenge 2022, dataset 1 (photons)",
    provenance="Fast Calorimeter Simulation Challenge 2022, dataset 1 photons (Zenodo 10.5281/zenodo.8099322)",
    licence="CC BY 4.0 (Zenodo record 10.5281/zenodo.8099322)",
    citation="M. Faucci Giannelli, G. Kasieczka, C. Krause, B. Nachman, D. Salamani, D. Shih, A. Zaborowska, "
             "Fast Calorimeter Simulation Challenge 2022 - Dataset 1, Zenodo (2023), doi:10.5281/zenodo.8099322; "
             "results: C. Krause et al., CaloChallenge 2022: A Community Challenge for Fast Calorimeter "
             "Simulation, arXiv:2410.21611",
    homepage="https://calochallenge.github.io/homepage/",
    files=FILES,
    doi="10.5281/zenodo.8099322",
    how_to_obtain="Download dataset_1_photons_1.hdf5 (and _2) from https://zenodo.org/records/8099322 and place "
                  "them in <data>/real/calo/ (see course_utils.config.data_dir()).",
    made_by="Monte Carlo: Geant4 simulation of the ATLAS calorimeter (ATLAS open samples), not measured data",
)


def _subsample(data: CaloData, n: int | None, seed: int) -> CaloData:
    if n is None or n >= len(data):
        return data
    idx = np.sort(np.random.default_rng(seed).choice(len(data), size=int(n), replace=False))
    return CaloData(data.incident_energies[idx], data.showers[idx])


def _load_real(n: int | None, seed: int, part: int, data_home: str | os.PathLike[str] | None) -> Dataset:
    remote = FILES[part - 1]
    path = fetch(INFO.name, remote, data_home=data_home)
    try:
        full = read(path)
    except ValueError as exc:  # no published checksum: the format check stands in for it
        if not writable(path.parent):  # a read-only shared folder: say so, delete nothing
            raise DataUnavailableError(f"{path} failed the format check ({exc}) and its folder is read-only here: "
                                       "ask whoever prepared it to fetch it again") from exc
        path.unlink(missing_ok=True)
        raise DataUnavailableError(f"{remote.name} failed the format check and was removed: {exc}") from exc
    data = _subsample(full, n, seed)
    return Dataset(data, "real", INFO.name, INFO.provenance, INFO.licence, path,
                   {"file": remote.name})


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None, part: int = 1) -> Dataset:
    """Photon showers of dataset 1, published or simulated by the course.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the published file if cached or downloadable, else the course's simulation.
    n
        Number of showers (``len(ds)``): a random subset of the published file
        (seeded), or the size of the simulation (default 121,000, as the
        published file).
    seed
        Seed of the subset of the published file, or of the simulation.
    verbose
        Print which source was used.
    data_home
        The folder of the published ``.hdf5`` files, instead of
        ``<data>/real/calo/``; downloaded there when missing.
    part
        Published file 1 (training) or 2 (evaluation); the simulation uses ``seed + part - 1``.

    Returns
    -------
    Dataset
        ``.data`` is a :class:`CaloData`: ``incident_energies`` (N,) and ``showers`` (N, 368), in MeV.
    """
    n = check_count(n, "n", allow_none=True)
    part = check_choice(part, "part", (1, 2))

    def load_simulated() -> Dataset:
        from course_utils.datasets.calo.simulation import simulate

        return simulate(121_000 if n is None else n, seed=seed + part - 1)

    return load_with_fallback(INFO.name, source, lambda: _load_real(n, seed, part, data_home), load_simulated, info=INFO,
                              verbose=verbose)


def cached_real_path(part: int = 1, data_home: str | os.PathLike[str] | None = None) -> Path:
    """Where a published file is cached (it may not be there)."""
    return real_dir(INFO.name, data_home) / FILES[part - 1].name
