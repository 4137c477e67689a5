"""Four-vector arithmetic on ``vector``: massless objects, invariant masses, the neutrino's pz (notebooks 01, 04).

The four-vectors are ``vector`` NumPy arrays (``vector.MomentumNumpy4D``):
``p.px``, ``p.pt``, ``p.eta``, ``p.mass``..., and ``p + q`` adds them. These
helpers build them from the (pT, η, φ) that detectors and data files give,
and compute the masses a physicist reconstructs from them.

Examples
--------
>>> import numpy as np
>>> from course_utils.physics import kinematics
>>> a = kinematics.massless(np.array([45.0]), np.array([0.0]), np.array([0.0]))
>>> b = kinematics.massless(np.array([45.0]), np.array([0.0]), np.array([np.pi]))
>>> kinematics.invariant_mass(a, b)   # back to back at η = 0: m = 2 pT
array([90.])
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np

__all__ = ["M_W", "massless", "invariant_mass", "neutrino_pz", "neutrino"]

#: W boson mass used by the reconstruction (GeV; Pythia 8's default).
M_W = 80.385


def _check(name: str, *arrays: Any) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float) for a in arrays]
    shape = out[0].shape
    if any(a.shape != shape for a in out):
        raise ValueError(f"{name}: the arrays must have one shape, got {[a.shape for a in out]}")
    if any(not np.all(np.isfinite(a)) for a in out):
        raise ValueError(f"{name}: the arrays hold NaN or infinite values")
    return out


def massless(pt: Any, eta: Any, phi: Any) -> Any:
    """Massless four-vectors from transverse momentum, pseudorapidity and azimuth.

    Parameters
    ----------
    pt, eta, phi : array-like, shape (n,)
        pT (GeV), η, φ (rad).

    Returns
    -------
    vector.MomentumNumpy4D, shape (n,)
        ``E = pT cosh η``, ``px = pT cos φ``, ``py = pT sin φ``, ``pz = pT sinh η`` (GeV).
    """
    import vector

    pt, eta, phi = _check("massless", pt, eta, phi)
    return vector.array({"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pt * np.sinh(eta),
                         "E": pt * np.cosh(eta)})


def invariant_mass(*p4: Any) -> np.ndarray:
    """Invariant mass of the sum of four-vectors, ``sqrt(max(E² - |p|², 0))``.

    Parameters
    ----------
    *p4 : vector.MomentumNumpy4D, each shape (n,)
        One or more four-vectors (GeV), summed in the order given.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Mass (GeV); a sum with E² < |p|² (rounding, or mismeasured objects) gives 0.
    """
    if not p4:
        raise ValueError("invariant_mass needs at least one four-vector")
    total = functools.reduce(operator.add, p4)
    m2 = total.E**2 - (total.px**2 + total.py**2 + total.pz**2)
    return np.sqrt(np.maximum(np.asarray(m2, dtype=float), 0.0))


def neutrino_pz(lepton: Any, met_x: Any, met_y: Any, m_w: float = M_W) -> np.ndarray:
    """The neutrino's pz from the W mass constraint m(ℓ ν) = m_W, lepton and neutrino massless.

    With μ = m_W²/2 + pT(ℓ)·pT(ν), the constraint gives
    pz = [μ pz(ℓ) ± E(ℓ) √(μ² − pT(ℓ)² pT(ν)²)] / pT(ℓ)². The solution of
    smaller |pz| is returned; when the square root is imaginary (the missing
    energy is mismeasured), its real part.

    Parameters
    ----------
    lepton : vector.MomentumNumpy4D, shape (n,)
        Lepton four-vectors (GeV), e.g. from :func:`massless`.
    met_x, met_y : array-like, shape (n,)
        Missing transverse momentum, taken as the neutrino's pT (GeV).
    m_w
        W mass (GeV).

    Returns
    -------
    numpy.ndarray, shape (n,)
        pz of the neutrino (GeV).
    """
    e, px, py, pz = (np.asarray(getattr(lepton, c), dtype=float) for c in ("E", "px", "py", "pz"))
    met_x, met_y = _check("neutrino_pz", met_x, met_y)
    if met_x.shape != px.shape:
        raise ValueError(f"neutrino_pz: {px.shape[0] if px.ndim else 1} leptons but missing momenta of shape "
                         f"{met_x.shape}")
    pt2 = px**2 + py**2
    if np.any(pt2 <= 0):
        raise ValueError("the lepton must have a non-zero transverse momentum")
    mu = 0.5 * m_w**2 + px * met_x + py * met_y
    disc = mu**2 - pt2 * (met_x**2 + met_y**2)
    root = e * np.sqrt(np.maximum(disc, 0.0))
    a = (mu * pz + root) / pt2
    b = (mu * pz - root) / pt2
    return np.where(np.abs(a) < np.abs(b), a, b)


def neutrino(lepton: Any, met_x: Any, met_y: Any, m_w: float = M_W) -> Any:
    """The neutrino's four-vector: the missing pT, and the pz of :func:`neutrino_pz` (massless).

    Returns
    -------
    vector.MomentumNumpy4D, shape (n,)
        ``(met_x, met_y, pz, sqrt(met² + pz²))`` (GeV).
    """
    import vector

    met_x, met_y = _check("neutrino", met_x, met_y)
    pz = neutrino_pz(lepton, met_x, met_y, m_w)
    return vector.array({"px": met_x, "py": met_y, "pz": pz, "E": np.sqrt(met_x**2 + met_y**2 + pz**2)})
