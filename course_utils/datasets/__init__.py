"""Datasets of the course: one package per dataset, all of the same shape.

``<name>/__init__.py`` holds ``INFO`` and ``load(source="auto", *, n=None, seed=42, verbose=True)``;
``<name>/formats.py`` ``read(path, *, n=None)`` and ``write(data, path)``; ``<name>/simulation.py``
``simulate(n, *, seed)``. Imports go one way: formats <- simulation <- __init__ (import-linter checks it).

=============  ==========================================  ==================================
package        published dataset                           course simulation (same format)
=============  ==========================================  ==================================
magic          UCI 159, MAGIC gamma telescope (MC)         Cherenkov camera toy
cms_dimuon     CMS Open Data 12341, 2012 dimuons (data)    Pythia 8 + detector model
quark_gluon    Komiske-Metodiev-Thaler q/g jets (MC)       Pythia 8 + FastJet
higgs          UCI 280, HIGGS, Baldi et al. 2014 (MC)      Pythia 8 + FastJet
brain_mri      Kaggle brain tumour MRI, Nickparvar (data)  procedural images
trackml        TrackML challenge, Zenodo 4730157 (MC)      Pythia 8 t tbar + pile-up, helix tracker
lhco           LHC Olympics 2020 R&D features (MC)         Pythia 8 + FastJet dijets and W'
calo           CaloChallenge 2022 dataset 1 photons (MC)   GFlash-style parametrisation
jetclass       JetClass, Zenodo 6619768, 10 classes (MC)   Pythia 8 + FastJet, tracks with IP
=============  ==========================================  ==================================

Sub-packages are imported on first use: ``from course_utils.datasets import magic``.
"""

from __future__ import annotations

import importlib
from typing import Any

from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._fetch import fetch, network_available
from course_utils.datasets._registry import (
    SOURCES,
    Dataset,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    load_with_fallback,
)
from course_utils.datasets._storage import ReadOnlyDataError

DATASETS = ("magic", "cms_dimuon", "quark_gluon", "higgs", "brain_mri", "trackml", "lhco", "calo", "jetclass")

__all__ = ["DATASETS", "SOURCES", "Dataset", "DatasetInfo", "DataUnavailableError", "ReadOnlyDataError", "RemoteFile",
           "cached_simulation", "fetch", "load_with_fallback", "network_available", "registry", *DATASETS]


def __getattr__(name: str) -> Any:
    if name in DATASETS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_utils.datasets' has no attribute {name!r}")


def registry() -> dict[str, DatasetInfo]:
    """Every dataset's registry entry (its module's ``INFO``), by name.

    Modules that do not exist yet are skipped.
    """
    out = {}
    for name in DATASETS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        out[name] = module.INFO
    return out
