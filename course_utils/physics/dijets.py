"""The two leading large-radius jets of an event and their features (FastJet + N-subjettiness).

What the LHC Olympics features file holds for each event, computed from the
event's particles:

1. the particles (massless, given as pT, η, φ, or as four-momenta) are
   clustered with **anti-kT** of radius R (1.0 in the LHCO) by FastJet;
2. the two jets of highest pT are kept, each with at least
   ``min_constituents`` constituents (an event without two such jets is
   dropped);
3. each jet's momentum (px, py, pz), mass m = √(E² − |p|²) and N-subjettiness
   τ₁, τ₂, τ₃ (:mod:`~course_utils.physics.nsubjettiness`, β = 1, R0 = R,
   exclusive kT axes from FastJet) are returned, the leading jet (highest pT)
   first.

:func:`leading_jets` and :func:`subjettiness` are the two steps; the course's
simulation of the LHCO (:mod:`course_utils.datasets.lhco.simulation`) uses
them on Pythia's particles, and :func:`dijet_features` on the published
raw-event layout (700 particles × (pT, η, φ), zero-padded).

Energies and momenta in GeV.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from course_utils._optional import require
from course_utils.physics.nsubjettiness import tau_n

__all__ = ["FEATURES", "massless_p4", "leading_jets", "subjettiness", "dijet_features"]

#: The 14 features per event, in the LHCO features file's order (j1: the leading jet).
FEATURES = tuple(f"{c}{j}" for j in ("j1", "j2") for c in ("px", "py", "pz", "m", "tau1", "tau2", "tau3"))


def massless_p4(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Four-momenta ``(px, py, pz, E)`` of massless particles.

    Parameters
    ----------
    pt, eta, phi : numpy.ndarray, same shape
        Transverse momentum [GeV], pseudo-rapidity, azimuth [rad].

    Returns
    -------
    numpy.ndarray, shape ``pt.shape + (4,)``
        With E = |p| = pT cosh η.
    """
    pt, eta, phi = (np.asarray(a, dtype=float) for a in (pt, eta, phi))
    if not (pt.shape == eta.shape == phi.shape):
        raise ValueError(f"pt, eta and phi must have the same shape, got {pt.shape}, {eta.shape}, {phi.shape}")
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)], axis=-1)


def _fastjet() -> Any:
    return require("fastjet", why="jet clustering (FastJet)")


def leading_jets(events: Any, *, r: float = 1.0, min_pt: float = 50.0,
                 min_constituents: int = 3) -> tuple[np.ndarray, Any, np.ndarray]:
    """Anti-kT jets of each event, the two of highest pT, and their constituents.

    Parameters
    ----------
    events : awkward.Array
        One list of particles per event, records with fields ``px, py, pz, E`` [GeV].
    r
        Anti-kT radius.
    min_pt
        Jets below this pT [GeV] are ignored.
    min_constituents
        Each of the two jets needs at least this many constituents (3 for τ₃).

    Returns
    -------
    jets : numpy.ndarray, shape (n_kept, 2, 4)
        ``(px, py, pz, E)`` of the two leading jets, by decreasing pT.
    constituents : awkward.Array, shape (n_kept, 2, var)
        Their constituents (records ``px, py, pz, E``).
    kept : numpy.ndarray of bool, shape (n_events,)
        Events with two such jets.
    """
    import awkward as ak

    if r <= 0 or min_pt < 0:
        raise ValueError(f"r must be positive and min_pt non-negative, got r={r}, min_pt={min_pt}")
    fastjet = _fastjet()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastJet's banner and awkward's behaviour warnings
        cs = fastjet.ClusterSequence(events, fastjet.JetDefinition(fastjet.antikt_algorithm, float(r)))
        jets = cs.inclusive_jets(min_pt=float(min_pt))
        cons = cs.constituents(min_pt=float(min_pt))
    order = ak.argsort(np.hypot(jets.px, jets.py), axis=1, ascending=False)
    jets, cons = jets[order][:, :2], cons[order][:, :2]
    two = ak.to_numpy(ak.num(jets)) == 2
    if min_constituents > 0 and len(two):
        enough = ak.to_numpy(ak.fill_none(ak.min(ak.num(cons, axis=2), axis=1), 0)) >= min_constituents
        two = two & enough
    jets, cons = jets[two], cons[two]
    p4 = np.stack([ak.to_numpy(jets[c]) for c in ("px", "py", "pz", "E")], axis=-1).reshape(-1, 2, 4)
    return p4, cons, two


def subjettiness(constituents: Any, *, r0: float = 1.0) -> np.ndarray:
    """τ₁, τ₂, τ₃ of jets, with exclusive kT axes from FastJet.

    Parameters
    ----------
    constituents : awkward.Array, shape (n_events, n_jets, var)
        Records ``px, py, pz, E``; every jet has at least three constituents.
    r0
        R0 of the normalisation (the jet radius).

    Returns
    -------
    numpy.ndarray, shape (n_events, n_jets, 3)
    """
    import awkward as ak

    n_events = len(constituents)
    if n_events == 0:
        return np.empty((0, 2, 3))
    flat_jets = ak.flatten(constituents, axis=1)  # one entry per jet
    n_jets = len(flat_jets) // n_events
    counts = ak.to_numpy(ak.num(flat_jets))
    if counts.min() < 3:
        raise ValueError(f"every jet needs at least 3 constituents for tau_3, one has {counts.min()}")
    c4 = np.stack([ak.to_numpy(ak.flatten(flat_jets[c])) for c in ("px", "py", "pz", "E")], axis=1)
    fastjet = _fastjet()
    taus = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kt = fastjet.ClusterSequence(flat_jets, fastjet.JetDefinition(fastjet.kt_algorithm, 10.0))
        for n_axes in (1, 2, 3):
            ex = kt.exclusive_jets(n_jets=n_axes)
            axes = np.stack([ak.to_numpy(ak.flatten(ex[c])) for c in ("px", "py", "pz", "E")], axis=1)
            taus.append(tau_n(c4, axes.reshape(len(counts), n_axes, 4), counts, r0=r0))
    return np.stack(taus, axis=1).reshape(n_events, n_jets, 3)


def _mass(p4: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p4[..., 3] ** 2 - (p4[..., :3] ** 2).sum(-1), 0.0))


def dijet_features(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, *, r: float = 1.0, min_pt: float = 50.0,
                   min_constituents: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The LHCO features of events given as zero-padded particle lists.

    Parameters
    ----------
    pt, eta, phi : numpy.ndarray, shape (n_events, n_particles)
        Particles of each event [GeV, -, rad]; ``pt == 0`` marks padding.
    r, min_pt, min_constituents
        As in :func:`leading_jets`.

    Returns
    -------
    features : numpy.ndarray, shape (n_kept, 14)
        :data:`FEATURES`: px, py, pz, m, τ₁, τ₂, τ₃ of the leading jet, then of the second.
    kept : numpy.ndarray of bool, shape (n_events,)
        Events with two jets of ``min_constituents`` constituents or more.

    Examples
    --------
    >>> pt = np.array([[900., 900., 1000., 800., 5.]])       # doctest: +SKIP
    >>> feats, kept = dijet_features(pt, eta, phi)            # doctest: +SKIP
    """
    import awkward as ak

    pt, eta, phi = (np.asarray(a, dtype=float) for a in (pt, eta, phi))
    if pt.ndim != 2 or not (pt.shape == eta.shape == phi.shape):
        raise ValueError(f"pt, eta and phi must be 2-d arrays (events, particles) of one shape, got "
                         f"{pt.shape}, {eta.shape}, {phi.shape}")
    if not (np.all(np.isfinite(pt)) and np.all(np.isfinite(eta)) and np.all(np.isfinite(phi))):
        raise ValueError("pt, eta and phi hold NaN or infinite values")
    if np.any(pt < 0):
        raise ValueError("pt holds negative values (padding is pt = 0)")
    if len(pt) == 0:
        return np.empty((0, len(FEATURES))), np.zeros(0, bool)
    p4 = massless_p4(pt, eta, phi)
    real = pt > 0
    counts = real.sum(axis=1)
    flat = p4[real]  # (n_particles_in_all, 4), event after event
    events = ak.unflatten(ak.zip({c: flat[:, k] for k, c in enumerate(("px", "py", "pz", "E"))}), counts)
    jets, cons, kept = leading_jets(events, r=r, min_pt=min_pt, min_constituents=min_constituents)
    taus = subjettiness(cons, r0=r)
    m = _mass(jets)
    cols = []
    for k in range(2):
        cols += [jets[:, k, 0], jets[:, k, 1], jets[:, k, 2], m[:, k], *taus[:, k].T]
    return np.stack(cols, axis=1), kept
