"""Datasets of the course: one module per dataset, each with ``read`` and ``load``.

=============  ==========================================  ==================
module         real source                                 simulated source
=============  ==========================================  ==================
magic          UCI 159, MAGIC gamma telescope              Cherenkov camera toy
cms_dimuon     CMS Open Data 12341, Run 2012 dimuons       Pythia 8
quark_gluon    Komiske-Metodiev-Thaler q/g jets (Zenodo)   Pythia 8 + FastJet
higgs          UCI 280, HIGGS (Baldi et al. 2014)          Pythia 8 + FastJet
brain_mri      Kaggle brain tumour MRI (Nickparvar)        procedural images
=============  ==========================================  ==================

Sub-modules are imported on first use: ``from course_utils.datasets import magic``.
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

DATASETS = ("magic", "cms_dimuon", "quark_gluon", "higgs", "brain_mri")

__all__ = ["DATASETS", "SOURCES", "Dataset", "DatasetInfo", "DataUnavailableError", "RemoteFile",
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
