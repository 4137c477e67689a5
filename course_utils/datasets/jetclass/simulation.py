"""JetClass re-simulated by the course: Pythia 8, a simple detector, FastJet, truth matching.

The ten classes of JetClass (Qu, Li, Qian, arXiv:2202.03772), each from its
own Pythia 8 process, proton-proton collisions at √s = 13 TeV, multi-parton
interactions on (Pythia's default), the parton-level p̂T of the hard process
in [450, 1050] GeV (a window around the jets' [500, 1000] GeV, module
``Detector``):

=========  ==============================================  ===========================================
class      process (Pythia 8)                              forced decays
=========  ==============================================  ===========================================
QCD        ``HardQCD:all`` (2 → 2 QCD)                     none: the leading two jets in the window
Hbb        ``HiggsSM:ffbar2HZ``, Z → ν ν̄                   H → b b̄
Hcc        same                                            H → c c̄
Hgg        same                                            H → g g
H4q        same                                            H → W W* → q q̄′ q q̄′
Hqql       same                                            H → W⁺ W⁻*, W⁺ → q q̄′, W⁻ → ℓ ν̄ (ℓ = e, μ)
Zqq        ``WeakBosonAndParton:qqbar2gmZg, qg2gmZq``      Z → q q̄ (q = u, d, s, c, b)
Wqq        ``WeakBosonAndParton:qqbar2Wg, qg2Wq``          W → q q̄′
Tbqq       ``Top:gg2ttbar, qqbar2ttbar``                   W⁺ → q q̄′, W⁻ → ℓ ν̄: the t jet
Tbl        same (tt̄ semileptonic)                          the t̄ jet, t̄ → b̄ ℓ⁻ ν̄
=========  ==============================================  ===========================================

(The published dataset generated its hard processes with MadGraph5; the
class definitions are the same, the production modes and their mixtures are
ours. Only one charge assignment of the W's decays is used in Hqql and the
tops: the W⁺ decays to quarks, the W⁻ to a lepton.)

Particles with a proper lifetime cτ above 10 mm are stable, as in LHC
generator samples (π±, K±, K⁰L, K⁰S, Λ, ...); b and c hadrons decay, and
Pythia records where (``vProd`` of their decay products, in mm).

The detector (:class:`Detector`)
--------------------------------
Every final-state particle except neutrinos becomes one of the five
particle-flow candidates of the published files:

* **charged particles** with |η| < 2.5 and pT > 0.5 GeV are **tracks**
  (electrons, muons, charged hadrons), with their momentum smeared by
  σ(pT)/pT = 0.5 % ⊕ 0.015 % × pT/GeV, and their **impact parameters
  computed from the production vertex** (:func:`course_utils.physics.tracks.impact_parameters`)
  then smeared by σ(d0) = 20 µm ⊕ 100 µm·GeV/pT and σ(dz) = 30 µm ⊕
  150 µm·GeV/pT; those σ are the ``d0err``/``dzerr`` written. Tracks from b
  and c hadron decays are displaced by their flight (millimetres), so Hbb and
  Hcc jets carry tracks with large |d0|/σ, as in the published data;
* **photons** (and electrons outside the tracker) with |η| < 3, energy
  smeared by σ(E)/E = 3 %/√E ⊕ 0.5 % (an electromagnetic calorimeter), kept
  when the measured energy exceeds 0.5 GeV;
* **neutral hadrons** (and charged hadrons outside the tracker) with |η| < 3,
  smeared by 100 %/√E ⊕ 5 % (a hadron calorimeter), kept above 1 GeV measured.

Muons outside the tracker are lost. This is much cruder than Delphes's CMS
card (no tracking inefficiency, no calorimeter towers, no pile-up), which is
the main difference between the two sources.

Jets, selection and truth matching
----------------------------------
Anti-kT jets, R = 0.8 (FastJet), on the candidates; a jet is kept when
500 < pT < 1000 GeV, |η| < 2 and it has at least 4 particles. A jet of a
signal class is kept only when **every decay product** of its resonance (the
quarks, gluons and charged leptons at the end of the decay chain, before the
shower; not the neutrinos) lies within ΔR < 0.8 of the jet axis, and it does
not contain every product of another resonance of the event (label
exclusivity: one label per jet). At most one jet per resonance; for QCD the
two leading jets in the window. ``aux_genpart_*`` holds the matched
resonance (the hard parton nearest to the jet for QCD, ``aux_truth_match``
= 1 when it is within 0.8). The particles of a jet are written hardest first,
with ``part_deta`` = η(particle) − η(jet) and ``part_dphi`` = φ(particle) −
φ(jet) wrapped to [−π, π).

Jet observables from the constituents: soft-drop mass (β = 0, z_cut = 0.1,
R0 = 0.8, FastJet's C/A declustering; :mod:`course_utils.physics.softdrop`
does the same in NumPy, and the tests check that both agree) and
N-subjettiness τ1 ... τ4 (β = 1,
R0 = 0.8, exclusive kT axes from FastJet,
:func:`course_utils.physics.nsubjettiness.tau_n`).

Speed
-----
Measured on 2026-12-06 with :func:`benchmark` (1,000 generated events per
class, one worker, CPU time after Pythia's initialisation) on this course's
2-core build machine **under load** (other jobs sharing the two cores, load
average 8 to 10: CPU time is little affected, wall time is about three
times the CPU time there). Kept jets per CPU second (:data:`SPEED`):

====  ====  ====  ====  ====  ====  ====  ====  ====  ====  =============
QCD   Hbb   Hcc   Hgg   H4q   Hqql  Zqq   Wqq   Tbqq  Tbl   ten classes
====  ====  ====  ====  ====  ====  ====  ====  ====  ====  =============
102   68    78    77    73    38    69    64    41    17    49
====  ====  ====  ====  ====  ====  ====  ====  ====  ====  =============

(QCD keeps up to two jets per event; t → bℓν is slowest: one semileptonic
tt̄ event in eight gives a t̄ jet in the window holding its b and its lepton.)
A balanced sample costs about 1/49 CPU second per jet: the default full-size
sample of :mod:`~course_utils.datasets.jetclass` (50,000 jets) takes about
1,020 CPU seconds, plus Pythia's initialisation of the ten classes in each
worker (about 20 CPU seconds), so about 9 minutes on two free cores (an
extrapolation). Measured end to end the same day, ``simulate(2000, workers=2)``
took 177 s of wall time for 66 CPU seconds on the loaded machine: under such a
load (each worker getting about 40 % of a core) the 50,000 jets would take
about 25 minutes: build the full-size cache on a quiet machine (``make data``
once the manifest lists it). Tasks of :data:`CHUNK`
generated events run one per core
(:func:`~course_utils.datasets._cache.parallel_map`), each with its own seed
derived from the user's seed: the sample does not depend on the number of
workers. :func:`simulate` records its own figures in ``details["stats"]``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.datasets import _pythia
from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.jetclass.formats import (
    AUX_BRANCHES,
    CLASSES,
    JET_BRANCHES,
    PARTICLE_BRANCHES,
    JetClassData,
    read,
    write,
)
from course_utils.physics.nsubjettiness import tau_n
from course_utils.physics.tracks import impact_parameters
from course_utils.validation import check_count

__all__ = ["Detector", "PROCESSES", "SPEED", "FILE_NAME", "VERSION", "CHUNK", "MAX_JETS", "pythia_settings",
           "reconstruct", "generate_chunk", "generate", "simulate", "jets_per_class", "benchmark"]

#: Class name -> class index (the order of :data:`~course_utils.datasets.jetclass.formats.CLASSES`).
PROCESSES = {c: i for i, c in enumerate(CLASSES)}
#: Name of the file in the cache folder.
FILE_NAME = "JetClass_simulated.root"
#: Bump when the generator's output changes.
VERSION = "1"
#: Generated events per task.
CHUNK = 100
#: Largest number of jets per class the simulation agrees to produce.
MAX_JETS = 1_000_000
#: Kept jets per generated event, measured (module docstring), to plan the first round of tasks.
_ACCEPTANCE_GUESS = {"QCD": 1.0, "Hbb": 0.45, "Hcc": 0.52, "Hgg": 0.55, "H4q": 0.47, "Hqql": 0.21, "Zqq": 0.48,
                     "Wqq": 0.47, "Tbqq": 0.29, "Tbl": 0.12}
#: Kept jets per CPU second and per class, measured with :func:`benchmark` on 2026-12-06, one core of a
#: loaded 2-core machine (module docstring); ``"all"``: a balanced sample of the ten classes.
SPEED: dict[str, float] = {"QCD": 102, "Hbb": 68, "Hcc": 78, "Hgg": 77, "H4q": 73, "Hqql": 38, "Zqq": 69,
                           "Wqq": 64, "Tbqq": 41, "Tbl": 17, "all": 49}

_NEUTRINOS = (12, 14, 16)
_RESONANCES = (6, 23, 24, 25)
_LEPTONS = (11, 13, 15)
#: The resonance each signal class is made of (absolute PDG id).
_TARGET = {"Hbb": 25, "Hcc": 25, "Hgg": 25, "H4q": 25, "Hqql": 25, "Zqq": 23, "Wqq": 24, "Tbqq": 6, "Tbl": 6}
#: Columns of the per-particle matrix of a jet, in this order.
_PART = tuple(PARTICLE_BRANCHES)


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


def pythia_settings(process: str, *, detector: Detector | None = None, seed: int = 1) -> list[str]:
    """The Pythia 8 commands of one class (the table of the module docstring).

    Parameters
    ----------
    process
        A class name of :data:`PROCESSES` (``"Hbb"``...).
    detector
        Supplies √s, MPI and the p̂T window (default :class:`Detector`).
    seed
        Pythia's seed, in [1, 900,000,000].

    Returns
    -------
    list of str
        Lines for ``Pythia.readString``.
    """
    if process not in PROCESSES:
        raise ValueError(f"unknown class {process!r}: expected one of {list(PROCESSES)}")
    check_count(seed, "seed", max_value=900_000_000)
    det = detector or Detector()
    common = [
        f"Beams:eCM = {det.ecm:.1f}",
        f"PartonLevel:MPI = {'on' if det.mpi else 'off'}",
        f"PhaseSpace:pTHatMin = {det.pthat_min:.1f}", f"PhaseSpace:pTHatMax = {det.pthat_max:.1f}",
        "ParticleDecays:limitTau0 = on", "ParticleDecays:tau0Max = 10",  # c*tau > 10 mm: stable
        "Random:setSeed = on", f"Random:seed = {int(seed)}", "Next:numberCount = 0", "Print:quiet = on",
    ]
    w_had = ["24:onMode = off", "24:onIfAny = 1 2 3 4 5"]
    w_semilep = ["24:onMode = off", "24:onPosIfAny = 1 2 3 4 5", "24:onNegIfAny = 11 13"]
    higgs = ["HiggsSM:ffbar2HZ = on", "23:onMode = off", "23:onIfAny = 12 14 16", "25:onMode = off"]
    specific = {
        "QCD": ["HardQCD:all = on"],
        "Hbb": [*higgs, "25:onIfMatch = 5 -5"],
        "Hcc": [*higgs, "25:onIfMatch = 4 -4"],
        "Hgg": [*higgs, "25:onIfMatch = 21 21"],
        "H4q": [*higgs, "25:onIfMatch = 24 -24", *w_had],
        "Hqql": [*higgs, "25:onIfMatch = 24 -24", *w_semilep],
        "Zqq": ["WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on", "WeakZ0:gmZmode = 2",
                "23:onMode = off", "23:onIfAny = 1 2 3 4 5"],
        "Wqq": ["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on", *w_had],
        "Tbqq": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *w_semilep],
        "Tbl": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *w_semilep],
    }
    return [*common, *specific[process]]


# --- the detector ---------------------------------------------------------------------------------------------


def _charges(ids: np.ndarray, pythia: Any) -> np.ndarray:
    """Electric charge of each PDG id (Pythia's particle data)."""
    unique, inverse = np.unique(ids, return_inverse=True)
    return np.array([pythia.particleData.charge(int(i)) for i in unique], dtype=float)[inverse]


def _detector(flat: dict[str, np.ndarray], det: Detector, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The particle-flow candidates of flat final-state particles.

    Returns ``keep`` (bool, which particles become a candidate) and ``cand``,
    shape (n_kept, 16 + 4): the :data:`_PART` columns then ``(pt, eta, phi, raw index)``.
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
    cand = np.stack([cols[c] for c in _PART] + [spt, np.arcsinh(spz / np.maximum(spt, 1e-9)),
                                                np.arctan2(spy, spx), np.flatnonzero(keep).astype(float)], axis=1)
    return keep, cand


# --- truth ----------------------------------------------------------------------------------------------------


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


def _eta_phi(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    return np.arcsinh(pz / np.maximum(pt, 1e-9)), np.arctan2(py, px)


def _dr(eta1: Any, phi1: Any, eta2: Any, phi2: Any) -> Any:
    dphi = (np.asarray(phi1) - np.asarray(phi2) + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), dphi)


def _targets(ev: dict[str, np.ndarray], process: str) -> list[tuple[str, int, list[int]]]:
    """The resonances of one event: ``(class, index of its last copy, indices of its visible products)``."""
    pid, status, d1, d2 = ev["id"], ev["status"], ev["d1"], ev["d2"]
    out = []
    if process == "QCD":
        return out
    target = _TARGET[process]
    for j in np.flatnonzero((np.abs(pid) == target) & (np.abs(status) == 22)):  # the hard process's resonances
        prods = _products(int(j), pid, d1, d2)
        visible = [k for k in prods if abs(pid[k]) not in _NEUTRINOS]
        leptonic = any(abs(pid[k]) in _LEPTONS for k in prods)
        if target == 6:
            cls = "Tbl" if leptonic else "Tbqq"
        else:
            cls = process
        out.append((cls, _last_copy(int(j), pid, d1, d2), visible))
    return out


# --- one batch ------------------------------------------------------------------------------------------------


def reconstruct(batch: Any, process: str, det: Detector, rng: np.random.Generator, pythia: Any) -> np.ndarray:
    """Detector, jets, truth matching and observables of a batch of Pythia events of one class.

    Parameters
    ----------
    batch
        What ``Pythia.nextBatch`` returns (awkward arrays).
    process
        The class generated (:data:`PROCESSES`).
    det
        The detector model and selection.
    rng
        Random generator of the smearing.
    pythia
        The generator (its particle data give the charges).

    Returns
    -------
    numpy.ndarray of object, shape (n_jets,)
        One ``(particles (m, 16), jet (10,), aux (5,), label)`` per kept jet;
        particles in :data:`~course_utils.datasets.jetclass.formats.PARTICLE_BRANCHES`
        order, hardest first; the jet's soft-drop mass and τ_N are filled.
    """
    import awkward as ak

    from course_utils._optional import require

    fastjet = require("fastjet", why="the JetClass simulation's jets (FastJet)")
    prt = batch["prt"]
    n_events = len(prt)
    counts_all = ak.to_numpy(ak.num(prt))
    start_all = np.concatenate([[0], np.cumsum(counts_all)])
    evt = {"id": ak.to_numpy(ak.flatten(prt.id)), "status": ak.to_numpy(ak.flatten(prt.status)),
           "d1": ak.to_numpy(ak.flatten(prt.daughter1)), "d2": ak.to_numpy(ak.flatten(prt.daughter2)),
           "px": ak.to_numpy(ak.flatten(prt.p.px)), "py": ak.to_numpy(ak.flatten(prt.p.py)),
           "pz": ak.to_numpy(ak.flatten(prt.p.pz)), "e": ak.to_numpy(ak.flatten(prt.p.e)),
           "m": ak.to_numpy(ak.flatten(prt.m))}
    vprod = prt.vProd
    for c, f in (("vx", "px"), ("vy", "py"), ("vz", "pz")):
        evt[c] = ak.to_numpy(ak.flatten(ak.fill_none(vprod[f], 0.0)))
    final = (evt["status"] > 0) & ~np.isin(np.abs(evt["id"]), _NEUTRINOS)
    flat = {k: v[final] for k, v in evt.items()}
    flat["q"] = _charges(flat["id"], pythia)
    event_of = np.repeat(np.arange(n_events), counts_all)[final]
    keep, cand = _detector(flat, det, rng)
    cand_event = event_of[keep]
    cand_counts = np.bincount(cand_event, minlength=n_events)
    cand_start = np.concatenate([[0], np.cumsum(cand_counts)])
    p4 = ak.unflatten(ak.zip({"px": cand[:, 0], "py": cand[:, 1], "pz": cand[:, 2], "E": cand[:, 3]}), cand_counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = fastjet.ClusterSequence(p4, fastjet.JetDefinition(fastjet.antikt_algorithm, det.jet_r))
        min_pt = 0.8 * det.jet_pt_min
        jets = cs.inclusive_jets(min_pt=min_pt)
        index = cs.constituent_index(min_pt=min_pt)
    jpx, jpy, jpz, je = (ak.to_list(jets[c]) for c in ("px", "py", "pz", "E"))
    index = ak.to_list(index)
    rows = []
    for i in range(n_events):
        if not jpx[i]:
            continue
        jx, jy, jz, jE = (np.asarray(a[i], dtype=float) for a in (jpx, jpy, jpz, je))
        jpt = np.hypot(jx, jy)
        jeta, jphi = _eta_phi(jx, jy, jz)
        order = np.argsort(-jpt)
        window = [k for k in order if det.jet_pt_min < jpt[k] < det.jet_pt_max and abs(jeta[k]) < det.jet_eta_max
                  and len(index[i][k]) >= det.min_particles]
        if not window:
            continue
        sl = slice(start_all[i], start_all[i + 1])
        ev = {k: evt[k][sl] for k in ("id", "status", "d1", "d2", "px", "py", "pz")}
        peta, pphi = _eta_phi(ev["px"], ev["py"], ev["pz"])
        chosen: list[tuple[int, np.ndarray, str]] = []
        if process == "QCD":
            hard = np.flatnonzero(np.abs(ev["status"]) == 23)[:2]  # the two outgoing partons of the 2 -> 2
            for k in window[:2]:
                if len(hard):
                    dr = _dr(peta[hard], pphi[hard], jeta[k], jphi[k])
                    h = hard[np.argmin(dr)]
                    aux = np.array([peta[h], pphi[h], ev["id"][h], np.hypot(ev["px"][h], ev["py"][h]),
                                    float(dr.min() < det.match_r)])
                else:
                    aux = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
                chosen.append((k, aux, "QCD"))
        else:
            targets = _targets(ev, process)
            used: set[int] = set()
            for cls, j, prods in targets:
                if cls != process or not prods:
                    continue
                for k in window:
                    if k in used:
                        continue
                    inside = _dr(peta[prods], pphi[prods], jeta[k], jphi[k]) < det.match_r
                    others = [p for c2, j2, p in targets if j2 != j and p]
                    other_inside = any(np.all(_dr(peta[p], pphi[p], jeta[k], jphi[k]) < det.match_r) for p in others)
                    if np.all(inside) and not other_inside:
                        aux = np.array([peta[j], pphi[j], ev["id"][j], np.hypot(ev["px"][j], ev["py"][j]), 1.0])
                        chosen.append((k, aux, cls))
                        used.add(k)
                        break
        for k, aux, cls in chosen:
            cons = cand[cand_start[i] + np.asarray(index[i][k], dtype=int)]
            cons = cons[np.argsort(-cons[:, 16])]  # hardest first
            parts = cons[:, :16].astype(np.float32)
            parts[:, 4] = cons[:, 17] - jeta[k]
            parts[:, 5] = (cons[:, 18] - jphi[k] + np.pi) % (2 * np.pi) - np.pi  # wrapped to [-pi, pi)
            jet = np.array([jpt[k], jeta[k], jphi[k], jE[k], len(cons), 0.0, 0.0, 0.0, 0.0, 0.0])
            rows.append((parts, jet, aux, PROCESSES[cls]))
    out = np.empty(len(rows), dtype=object)
    for r, row in enumerate(rows):
        out[r] = row
    if len(out):
        _substructure(out, det, fastjet)
    return out


def _substructure(rows: np.ndarray, det: Detector, fastjet: Any) -> None:
    """Fill the soft-drop mass and τ1 ... τ4 of each jet row, in place (FastJet, one call for all jets)."""
    import awkward as ak

    counts = np.array([len(r[0]) for r in rows])
    c4 = np.concatenate([r[0][:, :4] for r in rows]).astype(np.float64)
    jagged = ak.unflatten(ak.zip({"px": c4[:, 0], "py": c4[:, 1], "pz": c4[:, 2], "E": c4[:, 3]}), counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ca = fastjet.ClusterSequence(jagged, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0))
        sd = ca.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=det.jet_r)
        msd = ak.to_numpy(ak.flatten(sd.msoftdrop, axis=None))
        kt = fastjet.ClusterSequence(jagged, fastjet.JetDefinition(fastjet.kt_algorithm, 10.0))
        taus = []
        for n_axes in (1, 2, 3, 4):
            ex = kt.exclusive_jets(n_jets=n_axes)
            axes = np.stack([ak.to_numpy(ak.flatten(ex[c])) for c in ("px", "py", "pz", "E")], axis=1)
            taus.append(tau_n(c4, axes.reshape(len(counts), n_axes, 4), counts, r0=det.jet_r))
    for r, row in enumerate(rows):
        row[1][5] = msd[r]
        row[1][6:10] = [t[r] for t in taus]


def generate_chunk(args: tuple[str, int, int, int, dict[str, Any]]) -> tuple[np.ndarray, int, float]:
    """One task: generate ``n`` events of a class and keep its jets.

    Parameters
    ----------
    args
        ``(class, init_seed, task_seed, n, detector_fields)``.

    Returns
    -------
    rows : numpy.ndarray of object
        The kept jets (:func:`reconstruct`).
    n : int
        Events asked of Pythia.
    cpu_s : float
        CPU seconds used (wall time would count the other processes sharing the cores).
    """
    process, init_seed, task_seed, n, fields = args
    det = Detector(**fields)
    t0 = time.process_time()
    pythia = _pythia.cached(pythia_settings(process, detector=det, seed=init_seed), what=f"the {process} class")
    pythia.rndm.init(task_seed)
    rng = np.random.default_rng(task_seed)
    rows = reconstruct(pythia.nextBatch(n), process, det, rng, pythia)
    return rows, n, time.process_time() - t0


def generate(wanted: dict[str, int], *, seed: int = 42, detector: Detector | None = None,
             workers: int | None = None, desc: str = "simulation JetClass (Pythia 8 + FastJet)",
             ) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """Generate each class until ``wanted[class]`` jets are kept.

    Returns
    -------
    dict
        Per class: the jet rows (:func:`reconstruct`) and statistics (``generated``,
        ``selected``, ``acceptance``, ``cpu_s``, ``ms_per_event``, ``ms_per_selected_event``).
    """
    det = detector or Detector()
    fields = asdict(det)

    def make_task(process: str, k: int) -> tuple[str, int, int, int, dict[str, Any]]:
        pid = PROCESSES[process]
        return process, _pythia.seed(seed, 1000 + pid, 0), _pythia.seed(seed, 1000 + pid, k), CHUNK, fields

    return _pythia.generate_selected(wanted, processes=PROCESSES, max_events=MAX_JETS, task=generate_chunk,
                                     make_task=make_task, chunk=CHUNK, acceptance_guess=_ACCEPTANCE_GUESS,
                                     margin=1.05, desc=desc, workers=workers)


def jets_per_class(n: int) -> dict[str, int]:
    """``n`` jets shared among the ten classes as evenly as possible (the first classes get the remainder)."""
    n = check_count(n, "n", max_value=MAX_JETS * len(CLASSES))
    return {c: n // len(CLASSES) + (1 if i < n % len(CLASSES) else 0) for i, c in enumerate(CLASSES)}


def _to_data(rows: np.ndarray) -> JetClassData:
    import awkward as ak
    import pandas as pd

    counts = np.array([len(r[0]) for r in rows])
    parts = np.concatenate([r[0] for r in rows]) if len(rows) else np.zeros((0, len(_PART)))
    particles = ak.zip({b: ak.unflatten(parts[:, i].astype(dt), counts) for i, (b, dt)
                        in enumerate(PARTICLE_BRANCHES.items())})
    jets = pd.DataFrame(np.stack([r[1] for r in rows]).astype(np.float32), columns=list(JET_BRANCHES))
    aux = pd.DataFrame(np.stack([r[2] for r in rows]).astype(np.float32), columns=list(AUX_BRANCHES))
    return JetClassData(particles, jets, np.array([r[3] for r in rows], dtype=np.int64), aux)


def simulate(n: int, *, seed: int = 42, detector: Detector | None = None, workers: int | None = None) -> Dataset:
    """A simulated JetClass file of ``n`` jets, the ten classes in equal numbers, generated once and cached.

    Parameters
    ----------
    n
        Jets in all (:func:`jets_per_class` shares them among the classes).
    seed
        Seed of the whole sample (generation and the shuffling of the jets).
    detector
        Generation window, detector model and selection (default :class:`Detector`).
    workers
        Worker processes (default one per core; the result does not depend on it).

    Returns
    -------
    Dataset
        ``.data``: the :class:`~course_utils.datasets.jetclass.formats.JetClassData`
        read back from the written file (classes shuffled); ``.details``: jets
        per class, acceptance and CPU time per kept jet of each class.
    """
    wanted = {c: k for c, k in jets_per_class(n).items() if k > 0}
    det = detector or Detector()
    params = {"n": int(n), "seed": seed, "detector": asdict(det)}

    def make(folder: Path) -> None:
        t0 = time.perf_counter()
        result = generate(wanted, seed=seed, detector=det, workers=workers)
        rows = np.concatenate([result[c][0] for c in wanted])
        rows = rows[np.random.default_rng(seed).permutation(len(rows))]
        write(_to_data(rows), folder / FILE_NAME)
        stats: dict[str, Any] = {c: result[c][1] for c in result}
        for c in result:
            cpu = stats[c]["cpu_s"]
            stats[c]["jets_per_cpu_s"] = stats[c]["selected"] / cpu if cpu > 0 else math.nan
        stats["wall_s"] = time.perf_counter() - t0
        (folder / "stats.json").write_text(json.dumps(stats, indent=2))

    folder = cached_simulation("jetclass", params, make, version=VERSION)
    path = folder / FILE_NAME
    data = read(path)
    stats = json.loads((folder / "stats.json").read_text())
    details = {"counts": data.counts(), "seed": seed, "detector": asdict(det), "stats": stats}
    provenance = (f"course simulation: Pythia 8 (13 TeV, MPI {'on' if det.mpi else 'off'}) + simple detector + "
                  f"FastJet anti-kT R = {det.jet_r:g}, {det.jet_pt_min:.0f} < pT < {det.jet_pt_max:.0f} GeV, "
                  f"|eta| < {det.jet_eta_max:g}, ten JetClass classes, seed {seed}")
    return Dataset(data, "simulated", "jetclass", provenance, SIMULATION_LICENCE, path, details)


def benchmark(events: int = 1000, *, seed: int = 1, detector: Detector | None = None,
              classes: tuple[str, ...] = CLASSES) -> dict[str, dict[str, float]]:
    """Time the generator in this process (one core, no cache): kept jets per CPU second, per class.

    Each class is initialised once (not timed: seconds, once per worker), then
    ``events`` events are generated in tasks of :data:`CHUNK` and reconstructed.

    Returns
    -------
    dict
        Per class: ``events``, ``jets`` kept, ``acceptance`` (jets per event),
        ``cpu_s`` and ``jets_per_cpu_s``; and ``"all"``: the jets per CPU second
        of a sample with the ten classes in equal numbers (the harmonic mean).
    """
    det = detector or Detector()
    fields = asdict(det)
    out: dict[str, dict[str, float]] = {}
    for process in classes:
        pid = PROCESSES[process]
        init_seed = _pythia.seed(seed, 1000 + pid, 0)
        _pythia.cached(pythia_settings(process, detector=det, seed=init_seed), what=f"the {process} class")
        jets, cpu = 0, 0.0
        for k in range(max(1, events // CHUNK)):
            rows, _n, seconds = generate_chunk((process, init_seed, _pythia.seed(seed, 1000 + pid, k + 1), CHUNK,
                                                fields))
            jets += len(rows)
            cpu += seconds
        n_events = max(1, events // CHUNK) * CHUNK
        out[process] = {"events": n_events, "jets": jets, "acceptance": jets / n_events, "cpu_s": cpu,
                        "jets_per_cpu_s": jets / cpu if cpu > 0 else math.nan}
    rates = [out[c]["jets_per_cpu_s"] for c in classes]
    out["all"] = {"jets_per_cpu_s": len(rates) / sum(1 / r for r in rates)}
    return out
