"""Known dimuon resonances, their PDG masses and widths, and the local excess of events in a mass window.

The masses and widths come from the ``particle`` package (the PDG tables it
ships), never typed by hand. :data:`RESONANCES` lists the peaks of the
dimuon spectrum from the η to the Z, each with the mass window where it
sits and two sidebands that measure the smooth background under it
(notebook 01).

Examples
--------
>>> from course_utils.physics.resonances import RESONANCES, pdg_mass
>>> jpsi = next(r for r in RESONANCES if r.name == "J/psi")
>>> round(pdg_mass(jpsi.pdgid), 4)
3.0969
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils._optional import require

__all__ = ["Resonance", "RESONANCES", "pdg_mass", "pdg_width", "local_excess"]


@dataclass(frozen=True)
class Resonance:
    """A dimuon resonance: PDG id, label, and the mass windows (GeV) used to find it.

    ``window`` is where the peak is; the two ``sidebands``, on either side,
    estimate the smooth background under it (see :func:`local_excess`).
    """

    name: str
    pdgid: int
    label: str
    window: tuple[float, float]
    sidebands: tuple[tuple[float, float], tuple[float, float]]


#: The resonances of the dimuon spectrum, from the eta to the Z. The rho and omega overlap
#: (775 and 783 MeV): one window, labelled with the omega (narrow, it makes the peak).
RESONANCES = (
    Resonance("eta", 221, r"$\eta$", (0.530, 0.566), ((0.470, 0.515), (0.590, 0.635))),
    Resonance("rho/omega", 223, r"$\rho,\omega$", (0.750, 0.815), ((0.620, 0.690), (0.870, 0.940))),
    Resonance("phi", 333, r"$\phi$", (0.990, 1.050), ((0.900, 0.960), (1.080, 1.140))),
    Resonance("J/psi", 443, r"$J/\psi$", (3.00, 3.20), ((2.70, 2.90), (3.30, 3.50))),
    Resonance("psi(2S)", 100443, r"$\psi(2S)$", (3.60, 3.78), ((3.35, 3.50), (3.85, 4.00))),
    Resonance("Upsilon(1S)", 553, r"$\Upsilon(1S)$", (9.25, 9.65), ((8.40, 9.00), (10.70, 11.30))),
    Resonance("Upsilon(2S)", 100553, r"$\Upsilon(2S)$", (9.90, 10.15), ((8.40, 9.00), (10.70, 11.30))),
    Resonance("Upsilon(3S)", 200553, r"$\Upsilon(3S)$", (10.25, 10.48), ((8.40, 9.00), (10.70, 11.30))),
    Resonance("Z", 23, r"$Z$", (86.0, 96.0), ((70.0, 80.0), (102.0, 112.0))),
)


def _particle(pdgid: int) -> Any:
    Particle = require("particle", why="physics.resonances (PDG masses and widths)").Particle
    from particle.particle import InvalidParticle, ParticleNotFound

    try:
        return Particle.from_pdgid(int(pdgid))
    except (ParticleNotFound, InvalidParticle, ValueError) as exc:
        raise ValueError(f"no particle with PDG id {pdgid!r} in the PDG tables of `particle`") from exc


def pdg_mass(pdgid: int) -> float:
    """PDG mass in GeV, from the ``particle`` package (e.g. 443, the J/ψ: 3.0969 GeV).

    Raises
    ------
    ValueError
        An unknown PDG id, or a particle without a measured mass.
    """
    mass = _particle(pdgid).mass
    if mass is None:
        raise ValueError(f"the PDG tables give no mass for PDG id {pdgid}")
    return mass / 1000.0


def pdg_width(pdgid: int) -> float:
    """PDG total width in GeV, from the ``particle`` package (e.g. 113, the ρ: 0.149 GeV)."""
    width = _particle(pdgid).width
    if width is None:
        raise ValueError(f"the PDG tables give no width for PDG id {pdgid}")
    return width / 1000.0


def local_excess(mass: Any, window: tuple[float, float],
                 sidebands: tuple[tuple[float, float], tuple[float, float]]) -> dict[str, float]:
    """Events above a smooth background in a mass window, and their significance.

    The background density (events per GeV) is measured in the two sidebands
    and interpolated linearly to the window's centre; times the window's width
    it gives the expected background ``B``. With ``N`` events in the window,
    the significance is ``(N - B) / sqrt(N + var(B))``, where ``var(B)``
    propagates the sidebands' Poisson errors.

    Parameters
    ----------
    mass : array-like, shape (n,)
        Dimuon masses (GeV).
    window, sidebands
        ``(low, high)`` in GeV; the sidebands lie on either side of the window.

    Returns
    -------
    dict
        ``observed``, ``background``, ``background_error``, ``excess``, ``significance``.
    """
    m = np.asarray(mass, dtype=float).ravel()
    if m.size == 0:
        raise ValueError("mass is empty: no dimuon to count")
    if np.isnan(m).any():
        raise ValueError("mass contains NaN")
    (l0, l1), (r0, r1) = sidebands
    w0, w1 = window
    if not (l0 < l1 <= w0 < w1 <= r0 < r1):
        raise ValueError(f"expected left sideband < window < right sideband, got {sidebands[0]}, {window}, "
                         f"{sidebands[1]}")

    def count(lo: float, hi: float) -> int:
        return int(np.count_nonzero((m >= lo) & (m < hi)))

    n_left, n_right, n_obs = count(l0, l1), count(r0, r1), count(w0, w1)
    c_left, c_right, c_win = (l0 + l1) / 2, (r0 + r1) / 2, (w0 + w1) / 2
    t = (c_win - c_left) / (c_right - c_left)  # interpolation weight of the right sideband
    a, b = (1 - t) * (w1 - w0) / (l1 - l0), t * (w1 - w0) / (r1 - r0)
    background = a * n_left + b * n_right
    var_b = a * a * n_left + b * b * n_right
    excess = n_obs - background
    denom = np.sqrt(n_obs + var_b)
    return {"observed": float(n_obs), "background": float(background), "background_error": float(np.sqrt(var_b)),
            "excess": float(excess), "significance": float(excess / denom) if denom > 0 else 0.0}
