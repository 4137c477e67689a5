"""The JetClass simulation's detector: final-state particles -> the five particle-flow candidates.

What it models is described in :mod:`course_utils.datasets.jetclass.simulation`
("The detector"); :class:`Detector` holds every number of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils.datasets.jetclass.formats import PARTICLE_BRANCHES
from course_utils.physics.tracks import impact_parameters

__all__ = ["Detector", "PART", "charges", "particle_flow"]

#: Columns of the per-particle matrix of a jet, in this order (the file's ``part_*`` branches).
PART = tuple(PARTICLE_BRANCHES)


@dataclass(frozen=True)
class Detector:
    """Generation window, detector model and jet selection (GeV, mm).

    Attributes
    ----------
    ecm, mpi
        √s and multi-parton interactions.
    pthat_min, pthat_max
        Window of the hard process's p̂T (all classes).
    track_eta_max, track_pt_min
        The tracker's acceptance.
    calo_eta_max, photon_e_min, neutral_e_min
        The calorimeters' acceptance and thresholds.
    track_res_const, track_res_slope
        σ(pT)/pT = const ⊕ slope·pT.
    ecal_stoch, ecal_const, hcal_stoch, hcal_const
        σ(E)/E = stoch/√E ⊕ const of the photons and of the neutral hadrons.
    d0_res_const, d0_res_slope, dz_res_const, dz_res_slope
        σ(d0) = const ⊕ slope/pT [mm], same for dz.
    jet_r, jet_pt_min, jet_pt_max, jet_eta_max, min_particles
        Anti-kT radius and the jet selection.
    match_r
        ΔR within which every decay product must lie.
    """

    ecm: float = 13_000.0
    mpi: bool = True
    pthat_min: float = 450.0
    pthat_max: float = 1050.0
    track_eta_max: float = 2.5
    track_pt_min: float = 0.5
    calo_eta_max: float = 3.0
    photon_e_min: float = 0.5
    neutral_e_min: float = 1.0
    track_res_const: float = 0.005
    track_res_slope: float = 1.5e-4
    ecal_stoch: float = 0.03
    ecal_const: float = 0.005
    hcal_stoch: float = 1.0
    hcal_const: float = 0.05
    d0_res_const: float = 0.020
    d0_res_slope: float = 0.100
    dz_res_const: float = 0.030
    dz_res_slope: float = 0.150
    jet_r: float = 0.8
    jet_pt_min: float = 500.0
    jet_pt_max: float = 1000.0
    jet_eta_max: float = 2.0
    min_particles: int = 4
    match_r: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.pthat_min < self.pthat_max or not 0 < self.jet_pt_min < self.jet_pt_max:
            raise ValueError("the p̂T and jet pT windows must be increasing and positive")
        if min(self.jet_r, self.match_r, self.jet_eta_max, self.ecm) <= 0:
            raise ValueError("ecm, jet_r, match_r and jet_eta_max must be positive")
        if self.min_particles < 4:
            raise ValueError("min_particles must be at least 4 (tau4 needs four axes)")

def charges(ids: np.ndarray, pythia: Any) -> np.ndarray:
    """Electric charge of each PDG id (Pythia's particle data)."""
    unique, inverse = np.unique(ids, return_inverse=True)
    return np.array([pythia.particleData.charge(int(i)) for i in unique], dtype=float)[inverse]


def particle_flow(flat: dict[str, np.ndarray], det: Detector, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The particle-flow candidates of flat final-state particles.

    Returns ``keep`` (bool, which particles become a candidate) and ``cand``,
    shape (n_kept, 16 + 4): the :data:`PART` columns then ``(pt, eta, phi, raw index)``.
    """
    px, py, pz, e, m = flat["px"], flat["py"], flat["pz"], flat["e"], flat["m"]
    q, aid = flat["q"], np.abs(flat["id"])
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    track = (q != 0) & (np.abs(eta) < det.track_eta_max) & (pt > det.track_pt_min)
    calo = (np.abs(eta) < det.calo_eta_max) & ~track
    em = calo & ((aid == 22) | (aid == 11))
    had = calo & ~em & (aid != 11) & (aid != 13) & (aid != 22)
    keep = track | em | had  # before the calorimeters' thresholds, applied to the measured energy below
    n = int(keep.sum())
    px, py, pz, e, m, q, aid, pt = (a[keep] for a in (px, py, pz, e, m, q, aid, pt))
    track, em, had = track[keep], em[keep], had[keep]
    vx, vy, vz = flat["vx"][keep], flat["vy"][keep], flat["vz"][keep]
    gauss = rng.standard_normal((n, 3))
    # tracks: momentum scale, energy from the mass; calorimeters: the whole four-vector scaled
    s_trk = 1.0 + np.hypot(det.track_res_const, det.track_res_slope * pt) * gauss[:, 0]
    e_safe = np.maximum(e, 1e-3)
    s_em = 1.0 + np.hypot(det.ecal_stoch / np.sqrt(e_safe), det.ecal_const) * gauss[:, 0]
    s_had = 1.0 + np.hypot(det.hcal_stoch / np.sqrt(e_safe), det.hcal_const) * gauss[:, 0]
    scale = np.maximum(np.where(track, s_trk, np.where(em, s_em, s_had)), 0.05)
    spx, spy, spz = px * scale, py * scale, pz * scale
    se = np.where(track, np.sqrt(spx**2 + spy**2 + spz**2 + m**2), e * scale)
    # impact parameters of the tracks, from where they were produced, then their resolution
    d0 = np.zeros(n)
    dz = np.zeros(n)
    d0err = np.zeros(n)
    dzerr = np.zeros(n)
    if track.any():
        t = np.flatnonzero(track)
        true_d0, true_dz = impact_parameters(np.stack([vx[t], vy[t], vz[t]], 1), np.stack([px[t], py[t], pz[t]], 1))
        d0err[t] = np.hypot(det.d0_res_const, det.d0_res_slope / pt[t])
        dzerr[t] = np.hypot(det.dz_res_const, det.dz_res_slope / pt[t])
        d0[t] = true_d0 + d0err[t] * gauss[t, 1]
        dz[t] = true_dz + dzerr[t] * gauss[t, 2]
    # the calorimeters' thresholds, on the measured energy
    ok = track | (em & (se > det.photon_e_min)) | (had & (se > det.neutral_e_min))
    keep[np.flatnonzero(keep)[~ok]] = False
    spx, spy, spz, se, q, aid, track, em, had, d0, dz, d0err, dzerr = (
        a[ok] for a in (spx, spy, spz, se, q, aid, track, em, had, d0, dz, d0err, dzerr))
    n = int(ok.sum())
    spt = np.hypot(spx, spy)
    cols = {
        "part_px": spx, "part_py": spy, "part_pz": spz, "part_energy": se, "part_deta": np.zeros(n),
        "part_dphi": np.zeros(n), "part_d0val": d0, "part_d0err": d0err, "part_dzval": dz, "part_dzerr": dzerr,
        "part_charge": np.where(track, q, 0.0),
        "part_isChargedHadron": (track & (aid != 11) & (aid != 13)).astype(float),
        "part_isNeutralHadron": had.astype(float), "part_isPhoton": em.astype(float),
        "part_isElectron": (track & (aid == 11)).astype(float), "part_isMuon": (track & (aid == 13)).astype(float),
    }
    cand = np.stack([cols[c] for c in PART] + [spt, np.arcsinh(spz / np.maximum(spt, 1e-9)),
                                                np.arctan2(spy, spx), np.flatnonzero(keep).astype(float)], axis=1)
    return keep, cand
