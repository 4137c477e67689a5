"""N-subjettiness: how much a jet looks like N hard prongs (pure NumPy).

For a jet of constituents i (transverse momentum pT_i, rapidity y_i, azimuth
φ_i) and N axes k,

    τ_N = Σ_i pT_i · min_k ΔR_ik^β / (Σ_i pT_i · R0^β),   ΔR² = Δy² + Δφ²

(Thaler and Van Tilburg, JHEP 03 (2011) 015, arXiv:1011.2268; normalised
measure, β = 1, R0 = the jet radius). τ_N is small when every constituent is
close to one of N axes. A W, Z or any X → q q̄ decaying inside one large jet
has two prongs: τ₂ ≪ τ₁, so the ratio τ₂₁ = τ₂/τ₁ is small; a QCD jet has
one hard core and τ₂₁ closer to 1.

The axes are the **exclusive kT subjets**: the jet's constituents are
clustered again with the kT algorithm (merge the pair with the smallest
min(pT_i², pT_j²) ΔR_ij², four-momenta added) until exactly N pseudo-jets are
left. :func:`exclusive_kt_axes` does it in plain NumPy for one jet, to show
how it works; the course's simulation asks FastJet for the same axes
(``exclusive_jets(n_jets=N)`` of a kT clustering with a large radius), which
is much faster, and the tests check that both agree.

Arrays of four-momenta are ``(px, py, pz, E)`` in GeV.
"""

from __future__ import annotations

import numpy as np

from course_utils.validation import check_count

__all__ = ["exclusive_kt_axes", "tau_n", "tau21", "rapidity_phi"]


def _check_p4(p: np.ndarray, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.ndim != 2 or p.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4) with columns (px, py, pz, E), got {p.shape}")
    if len(p) == 0:
        raise ValueError(f"{name} is empty: at least one four-momentum is needed")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return p


def rapidity_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transverse momentum, rapidity and azimuth of four-momenta.

    Parameters
    ----------
    p : numpy.ndarray, shape (n, 4)
        ``(px, py, pz, E)`` [GeV].

    Returns
    -------
    pt, y, phi : numpy.ndarray, shape (n,)
        pT [GeV], rapidity y = ½ ln((E + pz)/(E − pz)), φ in (−π, π].
    """
    p = _check_p4(p, "p")
    px, py, pz, e = p.T
    pt = np.hypot(px, py)
    e = np.maximum(e, np.abs(pz) + 1e-12)  # rounding may leave E a hair below |pz| for massless particles
    y = 0.5 * np.log((e + pz) / (e - pz))
    return pt, y, np.arctan2(py, px)


def _dphi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.mod(a - b + np.pi, 2 * np.pi) - np.pi


def exclusive_kt_axes(constituents: np.ndarray, n: int) -> np.ndarray:
    """The N exclusive kT subjets of one jet, by plain pairwise clustering.

    Repeatedly merges (adds the four-momenta of) the pair with the smallest
    kT distance d_ij = min(pT_i², pT_j²) ΔR_ij² until ``n`` pseudo-jets are
    left. There is no beam distance: every constituent ends in one of the
    ``n`` subjets (FastJet's kT with a large radius does the same).

    Parameters
    ----------
    constituents : numpy.ndarray, shape (m, 4)
        The jet's constituents ``(px, py, pz, E)`` [GeV], m ≥ n.
    n : int
        Number of axes wanted (≥ 1).

    Returns
    -------
    numpy.ndarray, shape (n, 4)
        The subjets' four-momenta, by decreasing pT.

    Examples
    --------
    >>> p = np.array([[100., 0, 0, 100], [99., 1, 0, 99], [0, 50, 0, 50]])
    >>> exclusive_kt_axes(p, 2)[:, :2].round(1).tolist()
    [[199.0, 1.0], [0.0, 50.0]]
    """
    p = _check_p4(constituents, "constituents").copy()
    n = check_count(n, "n")
    if len(p) < n:
        raise ValueError(f"a jet with {len(p)} constituents has no {n} exclusive subjets")
    alive = list(range(len(p)))
    while len(alive) > n:
        q = p[alive]
        pt, y, phi = rapidity_phi(q)
        dr2 = (y[:, None] - y[None, :]) ** 2 + _dphi(phi[:, None], phi[None, :]) ** 2
        d = np.minimum(pt[:, None] ** 2, pt[None, :] ** 2) * dr2
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        a, b = alive[min(i, j)], alive[max(i, j)]
        p[a] = p[a] + p[b]
        alive.remove(b)
    axes = p[alive]
    return axes[np.argsort(-np.hypot(axes[:, 0], axes[:, 1]), kind="stable")]


def tau_n(constituents: np.ndarray, axes: np.ndarray, counts: np.ndarray | None = None, *,
          r0: float = 1.0, beta: float = 1.0) -> np.ndarray:
    """N-subjettiness τ_N of one or many jets (vectorised over jets).

    Parameters
    ----------
    constituents : numpy.ndarray, shape (m, 4)
        Constituents ``(px, py, pz, E)`` [GeV] of all jets, jet after jet.
    axes : numpy.ndarray, shape (n_jets, N, 4) or (N, 4)
        The N axes of each jet (four-momenta; only their y and φ matter).
    counts : numpy.ndarray of int, shape (n_jets,), optional
        Constituents per jet (sum = m). Default: one jet holding them all.
    r0 : float
        Characteristic radius R0 (the jet radius), in the normalisation.
    beta : float
        Angular exponent β (1: the usual choice).

    Returns
    -------
    numpy.ndarray, shape (n_jets,)
        τ_N, between 0 and about 1 (dimensionless).
    """
    c = _check_p4(constituents, "constituents")
    ax = np.asarray(axes, dtype=float)
    if ax.ndim == 2:
        ax = ax[None]
    if ax.ndim != 3 or ax.shape[2] != 4 or ax.shape[1] < 1:
        raise ValueError(f"axes must have shape (n_jets, N, 4) or (N, 4), got {np.shape(axes)}")
    if not np.all(np.isfinite(ax)):
        raise ValueError("axes hold NaN or infinite values")
    counts = np.array([len(c)]) if counts is None else np.asarray(counts)
    if counts.ndim != 1 or len(counts) != len(ax) or np.any(counts < 1) or counts.sum() != len(c):
        raise ValueError(f"counts must give, for each of the {len(ax)} jets, at least one constituent and sum to "
                         f"{len(c)}; got {counts.tolist() if counts.size < 20 else counts.shape}")
    if r0 <= 0 or beta <= 0:
        raise ValueError(f"r0 and beta must be positive, got r0={r0}, beta={beta}")
    jet = np.repeat(np.arange(len(counts)), counts)
    pt, y, phi = rapidity_phi(c)
    _, ay, aphi = rapidity_phi(ax.reshape(-1, 4))
    ay, aphi = ay.reshape(ax.shape[:2]), aphi.reshape(ax.shape[:2])
    dr = np.sqrt((y[:, None] - ay[jet]) ** 2 + _dphi(phi[:, None], aphi[jet]) ** 2)  # (m, N)
    num = np.bincount(jet, weights=pt * dr.min(axis=1) ** beta, minlength=len(counts))
    den = np.bincount(jet, weights=pt, minlength=len(counts)) * r0**beta
    return num / den


def tau21(tau1: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """τ₂₁ = τ₂/τ₁ (0 where τ₁ = 0, a jet of one particle).

    Parameters
    ----------
    tau1, tau2 : array_like, shape (n,)

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    t1, t2 = np.asarray(tau1, dtype=float), np.asarray(tau2, dtype=float)
    if t1.shape != t2.shape:
        raise ValueError(f"tau1 and tau2 must have the same shape, got {t1.shape} and {t2.shape}")
    return np.divide(t2, t1, out=np.zeros_like(t1), where=t1 > 0)
