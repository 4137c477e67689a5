"""Soft drop: remove the soft, wide-angle radiation of a jet to reveal the mass of its hard prongs (pure NumPy).

Soft drop (Larkoski, Marzani, Soyez, Thaler, JHEP 05 (2014) 146,
arXiv:1402.2657) reclusters the jet's constituents with the Cambridge/Aachen
(C/A) algorithm, which merges the pair closest in ΔR² = Δy² + Δφ² first, so
that the clustering history is ordered in angle. It then walks that history
back from the whole jet: at each step the jet splits into two branches of
transverse momenta pT1 and pT2 at a distance ΔR12, and the splitting passes
when

    min(pT1, pT2) / (pT1 + pT2) > z_cut · (ΔR12 / R0)^β.

A passing splitting ends the walk, and what is left is the groomed jet; a
failing one drops the softer branch and goes on with the harder. With β = 0
and z_cut = 0.1 (the CMS choice, and JetClass's ``jet_sdmass``), a W, Z, H
or top quark keeps its prongs and its mass, while a QCD jet loses its soft
periphery and its mass falls towards zero.

:func:`soft_drop` does it for one jet, in plain NumPy, to show how it works
(the C/A clustering here is the naive O(n³) loop). The course's JetClass
simulation asks FastJet for the same (``exclusive_jets_softdrop_grooming``),
much faster; the tests check that both agree.

Four-momenta are ``(px, py, pz, E)`` in GeV.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.physics.nsubjettiness import rapidity_phi

__all__ = ["soft_drop", "soft_drop_mass"]


def _ca_history(p: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """C/A clustering of four-momenta: all pseudojets (the inputs, then each merger) and each merger's parents."""
    jets = [row for row in p]
    parents: list[tuple[int, int]] = [(-1, -1)] * len(p)
    active = list(range(len(p)))
    while len(active) > 1:
        _, y, phi = rapidity_phi(np.array([jets[i] for i in active]))
        dphi = np.abs(phi[:, None] - phi[None, :])
        dphi = np.minimum(dphi, 2 * np.pi - dphi)
        d2 = (y[:, None] - y[None, :]) ** 2 + dphi**2
        np.fill_diagonal(d2, np.inf)
        a, b = np.unravel_index(np.argmin(d2), d2.shape)
        i, j = active[a], active[b]
        jets.append(jets[i] + jets[j])
        parents.append((i, j))
        active = [k for k in active if k not in (i, j)] + [len(jets) - 1]
    return np.array(jets), parents


def soft_drop(constituents: Any, *, z_cut: float = 0.1, beta: float = 0.0, r0: float = 0.8) -> np.ndarray:
    """The four-momentum of a jet after soft drop.

    Parameters
    ----------
    constituents : array_like, shape (n, 4)
        The jet's constituents ``(px, py, pz, E)`` [GeV], each with pT > 0.
    z_cut, beta
        The soft-drop condition (module docstring).
    r0
        The jet radius R0 in the condition.

    Returns
    -------
    numpy.ndarray, shape (4,)
        ``(px, py, pz, E)`` of the groomed jet [GeV] (the whole jet when its
        first splitting passes; a single constituent when none does).
    """
    p = np.asarray(constituents, dtype=float)
    pt, _, _ = rapidity_phi(p)  # checks the shape (n, 4), emptiness and NaN
    if np.any(pt <= 0):
        raise ValueError("every constituent needs a positive transverse momentum")
    if z_cut < 0 or r0 <= 0:
        raise ValueError(f"z_cut must be >= 0 and r0 > 0, got z_cut={z_cut}, r0={r0}")
    jets, parents = _ca_history(p)
    k = len(jets) - 1
    while parents[k][0] >= 0:
        i, j = parents[k]
        pt, y, phi = rapidity_phi(jets[[i, j]])
        dphi = abs(phi[0] - phi[1])
        dr = np.hypot(y[0] - y[1], min(dphi, 2 * np.pi - dphi))
        if min(pt) / (pt[0] + pt[1]) > z_cut * (dr / r0) ** beta:
            break
        k = i if pt[0] >= pt[1] else j
    return jets[k]


def soft_drop_mass(constituents: Any, *, z_cut: float = 0.1, beta: float = 0.0, r0: float = 0.8) -> float:
    """The invariant mass [GeV] of the soft-drop groomed jet (:func:`soft_drop`)."""
    px, py, pz, e = soft_drop(constituents, z_cut=z_cut, beta=beta, r0=r0)
    return float(np.sqrt(max(e**2 - px**2 - py**2 - pz**2, 0.0)))
