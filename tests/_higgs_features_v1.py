"""Reference for tests/test_higgs.py: the HIGGS features as the first release computed them, in plain NumPy.

Copied verbatim from ``course_utils/datasets/higgs_sim.py`` before it moved onto ``vector``
(``course_utils.physics.kinematics``), so that a test can check the new code gives the same numbers.
"""

from __future__ import annotations

import numpy as np

M_W = 80.385
M_TOP = 173.0
LOW_LEVEL = [f"x{i}" for i in range(21)]  # only the count matters here


def _p4(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Massless four-vectors (E, px, py, pz), shape (..., 4)."""
    return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)


def _mass(*vectors: np.ndarray) -> np.ndarray:
    total = np.sum(vectors, axis=0)
    m2 = total[..., 0] ** 2 - (total[..., 1:] ** 2).sum(axis=-1)
    return np.sqrt(np.maximum(m2, 0.0))


def neutrino_pz(lepton: np.ndarray, met_x: np.ndarray, met_y: np.ndarray, m_w: float = M_W) -> np.ndarray:
    """The neutrino's pz from the W mass constraint m(ℓ ν) = m_W, lepton and neutrino massless.

    With μ = m_W²/2 + pT(ℓ)·pT(ν), the constraint gives
    pz = [μ pz(ℓ) ± E(ℓ) √(μ² − pT(ℓ)² pT(ν)²)] / pT(ℓ)². The solution of
    smaller |pz| is returned; when the square root is imaginary (the missing
    energy is mismeasured), its real part.

    Parameters
    ----------
    lepton : numpy.ndarray, shape (n, 4)
        Lepton four-vectors (E, px, py, pz) [GeV].
    met_x, met_y : numpy.ndarray, shape (n,)
        Missing transverse momentum, taken as the neutrino's pT [GeV].

    Returns
    -------
    numpy.ndarray, shape (n,)
        pz of the neutrino [GeV].
    """
    e, px, py, pz = (lepton[..., k] for k in range(4))
    pt2 = px**2 + py**2
    if np.any(pt2 <= 0):
        raise ValueError("the lepton must have a non-zero transverse momentum")
    mu = 0.5 * m_w**2 + px * met_x + py * met_y
    disc = mu**2 - pt2 * (met_x**2 + met_y**2)
    root = e * np.sqrt(np.maximum(disc, 0.0))
    a = (mu * pz + root) / pt2
    b = (mu * pz - root) / pt2
    return np.where(np.abs(a) < np.abs(b), a, b)


def high_level_features(low: np.ndarray) -> np.ndarray:
    """The 7 high-level features (invariant masses, GeV) from the 21 low-level ones (module docstring).

    Parameters
    ----------
    low : numpy.ndarray, shape (n, 21)
        Unscaled low-level features in the order of
        :data:`~course_utils.datasets.higgs.LOW_LEVEL` (GeV, radians); a
        b-tag is any number, larger meaning more b-like.

    Returns
    -------
    numpy.ndarray, shape (n, 7)
        m_jj, m_jjj, m_lv, m_jlv, m_bb, m_wbb, m_wwbb [GeV].
    """
    low = np.asarray(low, dtype=float)
    if low.ndim != 2 or low.shape[1] != len(LOW_LEVEL):
        raise ValueError(f"low must have shape (n, {len(LOW_LEVEL)}), got {low.shape}")
    if not np.all(np.isfinite(low)):
        raise ValueError("low holds NaN or infinite values")
    lep = _p4(low[:, 0], low[:, 1], low[:, 2])
    met_x, met_y = low[:, 3] * np.cos(low[:, 4]), low[:, 3] * np.sin(low[:, 4])
    nu_pz = neutrino_pz(lep, met_x, met_y)
    nu = np.stack([np.sqrt(met_x**2 + met_y**2 + nu_pz**2), met_x, met_y, nu_pz], axis=-1)
    jets = np.stack([_p4(low[:, 5 + 4 * k], low[:, 6 + 4 * k], low[:, 7 + 4 * k]) for k in range(4)], axis=1)
    btag = low[:, [8, 12, 16, 20]]
    order = np.argsort(-btag, axis=1, kind="stable")  # tagged first, then by pT (the jets are pT-ordered)
    rows = np.arange(len(low))[:, None]
    b1, b2, j1, j2 = (jets[rows[:, 0], order[:, k]] for k in range(4))
    w_had = j1 + j2
    w_lep = lep + nu
    m_jjj_a, m_jlv_a = _mass(w_had, b1), _mass(w_lep, b2)
    m_jjj_b, m_jlv_b = _mass(w_had, b2), _mass(w_lep, b1)
    pick_a = (m_jjj_a - M_TOP) ** 2 + (m_jlv_a - M_TOP) ** 2 <= (m_jjj_b - M_TOP) ** 2 + (m_jlv_b - M_TOP) ** 2
    return np.stack([
        _mass(j1, j2),
        np.where(pick_a, m_jjj_a, m_jjj_b),
        _mass(lep, nu),
        np.where(pick_a, m_jlv_a, m_jlv_b),
        _mass(b1, b2),
        _mass(w_lep, b1, b2),
        _mass(w_lep, w_had, b1, b2),
    ], axis=1)
