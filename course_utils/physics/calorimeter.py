"""Observables of calorimeter showers, as the CaloChallenge defines them (notebook 09).

* :func:`high_level_features`: energy per layer, centre of energy and width per
  layer in Δη and Δφ, total response E_dep/E_inc.

Pure NumPy: the voxel geometry is any object shaped like
:class:`course_utils.datasets.calo.formats.Binning` (see :class:`Geometry`);
this module never imports :mod:`course_utils.datasets`. The generated-against-reference
distances computed on these observables are in :mod:`course_utils.metrics.generative`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

__all__ = ["Geometry", "GeometryLayer", "high_level_features"]


class GeometryLayer(Protocol):
    """One calorimeter layer: its id, its voxels in a shower vector, their (Δη, Δφ) centres."""

    @property
    def id(self) -> int: ...

    @property
    def n_alpha(self) -> int: ...

    @property
    def voxels(self) -> slice: ...

    def eta_phi_centres(self) -> tuple[np.ndarray, np.ndarray]: ...


class Geometry(Protocol):
    """The voxel geometry :func:`high_level_features` needs (what ``datasets.calo.default_binning()`` returns)."""

    @property
    def n_voxels(self) -> int: ...

    @property
    def layers(self) -> Sequence[GeometryLayer]: ...


def _showers(showers: Any, e_inc: Any, n_voxels: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(showers, dtype=np.float64)
    e = np.asarray(e_inc, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[1] != n_voxels:
        raise ValueError(f"showers must have shape (N, {n_voxels}), got {x.shape}")
    if len(x) == 0:
        raise ValueError("showers is empty: expected at least one shower")
    if e.shape != (len(x),):
        raise ValueError(f"{e.shape[0]} incident energies for {len(x)} showers")
    if not (np.isfinite(x).all() and np.isfinite(e).all()):
        raise ValueError("showers or incident energies hold NaN or infinite values")
    return x, e


def high_level_features(showers: Any, incident_energies: Any, binning: Geometry) -> pd.DataFrame:
    """The challenge's high-level observables of each shower.

    Parameters
    ----------
    showers : array, shape (N, n_voxels)
        Energy per voxel [MeV].
    incident_energies : array, shape (N,) or (N, 1)
        [MeV].
    binning
        The voxel geometry (:func:`course_utils.datasets.calo.default_binning`).

    Returns
    -------
    pandas.DataFrame, shape (N, ...)
        ``E_ratio`` (E_dep / E_inc), ``E_<id>`` (energy of layer ``id`` [MeV]) for
        every layer, and, for the layers with angular bins, ``eta_c_<id>``,
        ``phi_c_<id>`` (centre of energy [mm]) and ``eta_w_<id>``, ``phi_w_<id>``
        (energy-weighted width [mm]); 0 for an empty layer.
    """
    x, e = _showers(showers, incident_energies, binning.n_voxels)
    out: dict[str, np.ndarray] = {"E_ratio": x.sum(axis=1) / e}
    for layer in binning.layers:
        out[f"E_{layer.id}"] = x[:, layer.voxels].sum(axis=1)
    for layer in binning.layers:
        if layer.n_alpha < 2:
            continue
        v = x[:, layer.voxels]
        tot = v.sum(axis=1)
        safe = np.where(tot > 0, tot, 1.0)
        for name, coord in zip(("eta", "phi"), layer.eta_phi_centres()):
            mean = v @ coord / safe
            var = np.maximum(v @ coord**2 / safe - mean**2, 0.0)
            out[f"{name}_c_{layer.id}"] = np.where(tot > 0, mean, 0.0)
            out[f"{name}_w_{layer.id}"] = np.where(tot > 0, np.sqrt(var), 0.0)
    return pd.DataFrame(out)
