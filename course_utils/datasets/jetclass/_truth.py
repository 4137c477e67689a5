"""The JetClass simulation's truth: the resonance of each event and its decay products (Pythia's record).

Used by :func:`course_utils.datasets.jetclass.simulation.reconstruct` for the
truth matching and label exclusivity described there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NEUTRINOS", "TARGET", "targets", "eta_phi", "delta_r"]

NEUTRINOS = (12, 14, 16)
_RESONANCES = (6, 23, 24, 25)
_LEPTONS = (11, 13, 15)
#: The resonance each signal class is made of (absolute PDG id).
TARGET = {"Hbb": 25, "Hcc": 25, "Hgg": 25, "H4q": 25, "Hqql": 25, "Zqq": 23, "Wqq": 24, "Tbqq": 6, "Tbl": 6}


def _last_copy(j: int, pid: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> int:
    """Follow Pythia's copies of particle ``j`` (recoils: one daughter, the same id) to the one that decays."""
    while d1[j] > 0 and d1[j] == d2[j] and pid[d1[j]] == pid[j]:
        j = d1[j]
    return j


def _products(j: int, pid: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> list[int]:
    """The partons and leptons at the end of the decay chain of resonance ``j`` (through W, Z, t, H)."""
    j = _last_copy(j, pid, d1, d2)
    if d1[j] <= 0:
        return []
    out = []
    for k in range(d1[j], max(d2[j], d1[j]) + 1):
        if abs(pid[k]) in _RESONANCES:
            out += _products(k, pid, d1, d2)
        else:
            out.append(k)
    return out


def eta_phi(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    return np.arcsinh(pz / np.maximum(pt, 1e-9)), np.arctan2(py, px)


def delta_r(eta1: Any, phi1: Any, eta2: Any, phi2: Any) -> Any:
    dphi = (np.asarray(phi1) - np.asarray(phi2) + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), dphi)


def targets(ev: dict[str, np.ndarray], process: str) -> list[tuple[str, int, list[int]]]:
    """The resonances of one event: ``(class, index of its last copy, indices of its visible products)``."""
    pid, status, d1, d2 = ev["id"], ev["status"], ev["d1"], ev["d2"]
    out = []
    if process == "QCD":
        return out
    target = TARGET[process]
    for j in np.flatnonzero((np.abs(pid) == target) & (np.abs(status) == 22)):  # the hard process's resonances
        prods = _products(int(j), pid, d1, d2)
        visible = [k for k in prods if abs(pid[k]) not in NEUTRINOS]
        leptonic = any(abs(pid[k]) in _LEPTONS for k in prods)
        if target == 6:
            cls = "Tbl" if leptonic else "Tbqq"
        else:
            cls = process
        out.append((cls, _last_copy(int(j), pid, d1, d2), visible))
    return out
