"""The HIGGS benchmark re-simulated: Pythia 8 events, a simple detector, FastJet jets, the paper's features.

The process of Baldi, Sadowski and Whiteson (Nature Communications 5, 4308 (2014)),
proton-proton collisions at √s = 8 TeV:

* **signal**: gg → H⁰ (425 GeV) → W∓ H± (325 GeV) → W∓ W± h⁰ (125 GeV) → W∓ W± b b̄;
* **background**: t t̄ → W⁺ b W⁻ b̄, the same final state without the new Higgs bosons.

In Pythia the heavy neutral Higgs boson is ``H2`` (code 35), produced by
gluon fusion (``Higgs:useBSM = on``, ``HiggsBSM:gg2H2 = on``). Its decay
channels are all switched off (``35:onMode = off``) and the two wanted ones
added with ``addChannel``: replacing the table with ``oneChannel`` would
delete the H2 → g g channel, whose partial width Pythia uses for the
production cross-section, which would then vanish. ``H+`` (37) decays to W h⁰
and h⁰ (25) to b b̄.

Only the lepton + jets final state is kept (one W to e ν or μ ν, the other to
two quarks), so the W decays are forced: W⁺ → e⁺ν, μ⁺ν and W⁻ → q q̄'. The
lepton's charge is not among the features, and both processes are symmetric
under charge conjugation (to a fraction of a per cent for t t̄ from q q̄), so
the other assignment (W⁻ → ℓ⁻ν̄, W⁺ → q q̄') would give the same feature
distributions: generating one of the two halves costs half the time.

The detector (:class:`Detector`, values in its docstring)
---------------------------------------------------------
1. Visible particles: every final-state particle but neutrinos, within
   |η| < 4.9 (the calorimeters); π⁰ and particles with cτ > 10 mm are left
   undecayed, as a detector sees them.
2. Leptons: electrons and muons with pT > 10 GeV, |η| < 2.5, isolated (the
   other visible particles within ΔR < 0.4 carry less than 15 % of the
   lepton's pT); energy smeared (electrons 10 %/√E ⊕ 0.7 %, muons
   1 % ⊕ 0.01 % × pT). Isolated leptons are not given to the jet algorithm.
3. Jets: anti-kT, R = 0.4 (FastJet) on the other visible particles; energy
   smeared by 80 %/√E ⊕ 5 %; kept with pT > 20 GeV and |η| < 2.5.
4. b-tagging: a jet is "b" when a b hadron with pT > 5 GeV lies within
   ΔR < 0.4 of its axis ("c" for a c hadron, else "light"); it is tagged with
   probability 70 % (b), 20 % (c) or 1 % (light).
5. Missing transverse momentum: minus the vector sum of the visible
   particles' pT, corrected for the smearing of the lepton and the jets.

Selection, as in the paper: exactly one electron or muon with pT > 20 GeV and
|η| < 2.5, at least four jets, and b-tags on at least two of the four leading
jets (``Detector(min_btags=...)`` changes the last one). About 16 % of the
signal events and 18 % of the t t̄ events pass.

Features (:func:`high_level_features`)
--------------------------------------
The 21 low-level features: lepton pT, η, φ; missing transverse energy and its
φ; for the four leading jets (by pT) pT, η, φ and b-tag (0 or 1). The 7
high-level ones are invariant masses computed **from those 21 numbers only**
(objects taken as massless), as in the UCI description:

* the neutrino's unmeasured pz comes from the W mass constraint
  m(ℓν) = m_W (:func:`neutrino_pz`; the smaller |pz| of the two solutions,
  the real part when there is none), so m_lv = m_W unless the constraint
  cannot be met;
* the two b candidates are the b-tagged jets (the leading ones when more
  than two, completed with the leading untagged jets when fewer); the other
  two of the four jets form the hadronic W: m_jj;
* each b candidate goes with one W to make a top quark: of the two
  pairings, the one with both masses closest to m_t (173 GeV) gives m_jjj
  (jj + b) and m_jlv (ℓν + b);
* m_bb: the two b candidates (the h⁰ → b b̄ in the signal); m_wbb: the
  leptonic W with both b candidates (the H± in half the signal events);
  m_wwbb: everything (the H⁰).

Like the UCI file, the written features are **scaled**: pT, missing energy,
masses and b-tags are divided by the constants of :data:`SCALES` (GeV), close
to their mean over the simulated events of both classes, so they are of order
1; η and φ are left as they are (φ in radians). The real file has no
header and scientific-notation floats; so does ours.

Speed (CPU time per generated event, this machine): about 2 ms with
multi-parton interactions off and 7.7 ms with them on, Pythia's generation
being most of it; so about 12 ms and 46 ms per selected event. Each task
(:data:`CHUNK` events) runs in a worker process, one per core. The fast
mode turns multi-parton interactions off (:func:`simulate` with
``mpi=False``): the jets then miss the underlying event's soft particles,
which changes their energies by a few GeV and the isolation of the leptons
a little.

Examples
--------
>>> from course_utils.datasets import higgs_sim
>>> ds = higgs_sim.simulate(2_000, seed=1, mpi=False)   # doctest: +SKIP
>>> ds.data.columns[:3].tolist()                         # doctest: +SKIP
['label', 'lepton_pT', 'lepton_eta']
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from course_utils import config
from course_utils.datasets._cache import cached_simulation, parallel_map
from course_utils.datasets._registry import Dataset
from course_utils.datasets.higgs import FEATURES, LOW_LEVEL, read, write

__all__ = [
    "PROCESSES", "M_W", "M_TOP", "SCALES", "Detector", "pythia_settings", "generate",
    "neutrino_pz", "high_level_features", "scale_features", "simulate",
]

#: The two processes and their labels in the file.
PROCESSES = {"signal": 1, "background": 0}
#: Masses used by the reconstruction [GeV] (Pythia's W and top masses).
M_W = 80.385
M_TOP = 173.0
#: Masses of the signal's Higgs bosons [GeV], as in the paper.
M_H0, M_HPM, M_H = 425.0, 325.0, 125.0

#: Divisors of the written features, as in the UCI file (GeV for momenta and masses, the tagged fraction for
#: the b-tags): about their mean over 3,000 selected events of both classes (MPI on, seed 1, version 1 of the
#: generator), rounded. Fixed numbers, so that a sample's scaling does not depend on its size. η, φ: not scaled.
SCALES: dict[str, float] = {
    "lepton_pT": 60.0, "missing_energy_magnitude": 54.0,
    "jet_1_pt": 115.0, "jet_2_pt": 78.0, "jet_3_pt": 54.0, "jet_4_pt": 37.0,
    "jet_1_b-tag": 0.60, "jet_2_b-tag": 0.57, "jet_3_b-tag": 0.50, "jet_4_b-tag": 0.42,
    "m_jj": 126.0, "m_jjj": 224.0, "m_lv": 85.0, "m_jlv": 184.0, "m_bb": 139.0, "m_wbb": 304.0, "m_wwbb": 530.0,
}

#: Bump when the generator or the features change: cached samples are generated again.
VERSION = "1"
#: Generated events per task (one task = one call in a worker process).
CHUNK = 250
#: Largest sample the simulation agrees to produce.
MAX_EVENTS = 5_000_000
#: Expected share of generated events passing the selection, to plan the number of tasks.
_ACCEPTANCE_GUESS = {"signal": 0.158, "background": 0.175}


@dataclass(frozen=True)
class Detector:
    """The detector model and the selection (energies and momenta in GeV).

    Attributes
    ----------
    eta_calo
        Acceptance of the calorimeters, |η| below which visible particles are measured.
    lepton_pt_min, lepton_eta_max
        Selected lepton: pT and |η| cuts.
    lepton_veto_pt
        Isolated leptons above this pT are counted and removed from the jets.
    iso_dr, iso_max
        Isolation cone and largest allowed share of the lepton's pT in it.
    electron_stoch, electron_const
        Electron energy resolution σ(E)/E = stoch/√E ⊕ const.
    muon_const, muon_slope
        Muon pT resolution σ(pT)/pT = const ⊕ slope × pT.
    jet_r, jet_pt_min, jet_eta_max
        Anti-kT radius and the selected jets' pT and |η| cuts.
    jet_stoch, jet_const
        Jet energy resolution σ(E)/E = stoch/√E ⊕ const.
    btag_b, btag_c, btag_light
        Tagging probability of b, c and light jets.
    btag_dr, heavy_hadron_pt_min
        Matching of b and c hadrons to jets.
    min_jets, min_btags
        Selection: at least this many jets, and this many b-tags among the four leading jets.
    """

    eta_calo: float = 4.9
    lepton_pt_min: float = 20.0
    lepton_eta_max: float = 2.5
    lepton_veto_pt: float = 10.0
    iso_dr: float = 0.4
    iso_max: float = 0.15
    electron_stoch: float = 0.10
    electron_const: float = 0.007
    muon_const: float = 0.01
    muon_slope: float = 1e-4
    jet_r: float = 0.4
    jet_pt_min: float = 20.0
    jet_eta_max: float = 2.5
    jet_stoch: float = 0.8
    jet_const: float = 0.05
    btag_b: float = 0.70
    btag_c: float = 0.20
    btag_light: float = 0.01
    btag_dr: float = 0.4
    heavy_hadron_pt_min: float = 5.0
    min_jets: int = 4
    min_btags: int = 2

    def __post_init__(self) -> None:
        for name in ("btag_b", "btag_c", "btag_light"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"Detector.{name} is a probability, got {getattr(self, name)}")
        if self.min_jets < 4:
            raise ValueError(f"min_jets must be at least 4 (four jets are features), got {self.min_jets}")
        if not 0 <= self.min_btags <= 4:
            raise ValueError(f"min_btags counts tags among the four leading jets: 0 to 4, got {self.min_btags}")
        if self.jet_r <= 0 or self.iso_dr <= 0 or self.btag_dr <= 0:
            raise ValueError("jet_r, iso_dr and btag_dr must be positive")


# ----------------------------------------------------------------------------- Pythia


def pythia_settings(process: str, *, mpi: bool = True, seed: int = 1) -> list[str]:
    """The Pythia 8 commands for one process.

    Parameters
    ----------
    process : {"signal", "background"}
    mpi
        Multi-parton interactions (the underlying event); off is 3 to 4 times faster.
    seed
        Pythia's seed, in [1, 900,000,000].

    Returns
    -------
    list of str
        Lines for ``Pythia.readString``.
    """
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}: expected one of {list(PROCESSES)}")
    if isinstance(seed, bool) or not 1 <= int(seed) <= 900_000_000:
        raise ValueError(f"Pythia's seed must be in [1, 900000000], got {seed!r}")
    common = [
        "Beams:eCM = 8000.",
        f"PartonLevel:MPI = {'on' if mpi else 'off'}",
        "Random:setSeed = on", f"Random:seed = {int(seed)}",
        "Next:numberCount = 0", "Print:quiet = on",
        # what a detector sees: pi0 and particles with c*tau > 10 mm are not decayed
        "ParticleDecays:limitTau0 = on", "ParticleDecays:tau0Max = 10.", "111:mayDecay = off",
        # lepton + jets: W+ -> e+ nu or mu+ nu, W- -> q qbar' (module docstring: why one charge suffices)
        "24:onMode = off", "24:onPosIfAny = 11 13", "24:onNegIfAny = 1 2 3 4 5",
    ]
    if process == "background":
        return [*common, "Top:gg2ttbar = on", "Top:qqbar2ttbar = on"]
    return [
        *common,
        "Higgs:useBSM = on", "HiggsBSM:gg2H2 = on",
        f"35:m0 = {M_H0}", f"37:m0 = {M_HPM}", f"25:m0 = {M_H}",
        # keep H2 -> g g in the table (it sets the production rate), switched off; add W H+-
        "35:onMode = off", "35:addChannel = 1 0.5 100 24 -37", "35:addChannel = 1 0.5 100 -24 37",
        "37:onMode = off", "37:onIfMatch = 24 25",
        "25:onMode = off", "25:onIfMatch = 5 -5",
    ]


_PYTHIA: dict[tuple[str, bool, int], Any] = {}


def _pythia(process: str, mpi: bool, init_seed: int) -> Any:
    """One initialised Pythia per configuration and process (kept between tasks of a worker)."""
    key = (process, mpi, init_seed)
    if key not in _PYTHIA:
        import pythia8mc

        pythia = pythia8mc.Pythia("", False)
        for cmd in pythia_settings(process, mpi=mpi, seed=init_seed):
            if not pythia.readString(cmd):
                raise RuntimeError(f"Pythia refused the setting {cmd!r}")
        if not pythia.init():
            raise RuntimeError(f"Pythia failed to initialise the {process} process")
        _PYTHIA[key] = pythia
    return _PYTHIA[key]


def _seed(*keys: int) -> int:
    """A Pythia seed in [1, 900,000,000] derived from integers (stable across runs and machines)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0]) % 900_000_000 + 1


def _heavy_flavour(pid: np.ndarray) -> np.ndarray:
    """5 for b hadrons, 4 for c hadrons (without b), 0 otherwise, from the PDG codes' digits.

    Hadron codes have a non-zero tens digit; diquarks (``5103``...) do not.
    """
    a = np.abs(np.asarray(pid, dtype=np.int64))
    q3, q2, q1 = (a // 1000) % 10, (a // 100) % 10, (a // 10) % 10
    hadron = (q1 != 0) & (a >= 100)
    return np.where(hadron & ((q3 == 5) | (q2 == 5)), 5, np.where(hadron & ((q3 == 4) | (q2 == 4)), 4, 0))


def _particles(batch: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per event of a ``Pythia.nextBatch`` array: the visible final-state particles
    (px, py, pz, E, |id|) and the heavy hadrons (px, py, pz, flavour)."""
    import awkward as ak

    prt = batch["prt"]
    counts = ak.to_numpy(ak.num(prt))
    pid = ak.to_numpy(ak.flatten(prt.id)).astype(np.int64)
    status = ak.to_numpy(ak.flatten(prt.status))
    mom = np.stack([ak.to_numpy(ak.flatten(prt.p[c])) for c in ("px", "py", "pz", "e")], axis=1)
    aid = np.abs(pid)
    visible = (status > 0) & (aid != 12) & (aid != 14) & (aid != 16)
    flavour = np.where(status < 0, _heavy_flavour(aid), 0)
    heavy = flavour > 0
    event = np.repeat(np.arange(len(counts)), counts)
    vis = np.column_stack([mom[visible], aid[visible]])
    hv = np.column_stack([mom[heavy, :3], flavour[heavy]])
    vis_split = np.split(vis, np.searchsorted(event[visible], np.arange(1, len(counts))))
    hv_split = np.split(hv, np.searchsorted(event[heavy], np.arange(1, len(counts))))
    return list(zip(vis_split, hv_split))


# ----------------------------------------------------------------------------- detector


def _pt_eta_phi(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), np.sign(pz) * 1e9)
    return pt, eta, np.arctan2(py, px)


def _delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


@dataclass
class _Candidate:
    """An event with exactly one selected lepton, waiting for its jets."""

    lepton: tuple[float, float, float]  # smeared pt, eta, phi
    met: np.ndarray  # (2,) missing px, py, lepton smearing already corrected
    jet_input: np.ndarray  # (n, 4) px, py, pz, E
    heavy: np.ndarray  # (k, 4) px, py, pz, flavour


def _leptons(visible: np.ndarray, heavy: np.ndarray, det: Detector, rng: np.random.Generator) -> _Candidate | None:
    """Lepton isolation, smearing and counting; ``None`` unless exactly one lepton is selected."""
    px, py, pz, e, aid = visible.T
    pt, eta, phi = _pt_eta_phi(px, py, pz)
    in_calo = np.abs(eta) < det.eta_calo
    is_lep = ((aid == 11) | (aid == 13)) & (pt > det.lepton_veto_pt) & (np.abs(eta) < det.lepton_eta_max)
    isolated = np.zeros(len(visible), bool)
    for i in np.flatnonzero(is_lep):
        near = in_calo & (_delta_r(eta[i], phi[i], eta, phi) < det.iso_dr)
        near[i] = False
        isolated[i] = pt[near].sum() < det.iso_max * pt[i]
    lep_idx = np.flatnonzero(isolated)
    factors = np.ones(len(lep_idx))
    for k, i in enumerate(lep_idx):
        if aid[i] == 11:
            sigma = math.hypot(det.electron_stoch / math.sqrt(e[i]), det.electron_const)
        else:
            sigma = math.hypot(det.muon_const, det.muon_slope * pt[i])
        factors[k] = max(1.0 + sigma * rng.standard_normal(), 0.0)
    lep_pt = pt[lep_idx] * factors
    chosen = lep_idx[lep_pt > det.lepton_pt_min]
    if len(chosen) != 1:
        return None
    i = chosen[0]
    f = factors[np.flatnonzero(lep_idx == i)[0]]
    met = -np.array([px[in_calo].sum(), py[in_calo].sum()])
    met -= (f - 1.0) * np.array([px[i], py[i]])
    jets_in = in_calo & ~isolated
    return _Candidate((pt[i] * f, eta[i], phi[i]), met, visible[jets_in, :4], heavy)


def _cluster(inputs: list[np.ndarray], det: Detector) -> list[np.ndarray]:
    """Anti-kT jets (px, py, pz, E) of many events at once with FastJet's vectorised interface."""
    import awkward as ak
    import fastjet

    counts = [len(x) for x in inputs]
    flat = np.concatenate(inputs) if inputs else np.empty((0, 4))
    records = ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3]})
    events = ak.unflatten(records, counts)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, det.jet_r)
    # jets a little below the cut are kept: smearing may lift them above it
    jets = fastjet.ClusterSequence(events, jetdef).inclusive_jets(min_pt=0.5 * det.jet_pt_min)
    n = ak.to_numpy(ak.num(jets))
    cols = np.stack([ak.to_numpy(ak.flatten(jets[c])) for c in ("px", "py", "pz", "E")], axis=1)
    return np.split(cols, np.cumsum(n)[:-1])


def _jets_and_tags(cand: _Candidate, jets: np.ndarray, det: Detector,
                   rng: np.random.Generator) -> np.ndarray | None:
    """The 21 low-level features of a candidate event, or ``None`` if it fails the jet selection."""
    px, py, pz, e = jets.T
    sigma = np.hypot(det.jet_stoch / np.sqrt(np.maximum(e, 1e-9)), det.jet_const)
    f = np.maximum(1.0 + sigma * rng.standard_normal(len(e)), 0.0)
    met = cand.met - np.array([((f - 1) * px).sum(), ((f - 1) * py).sum()])
    pt, eta, phi = _pt_eta_phi(px * f, py * f, pz * f)
    sel = np.flatnonzero((pt > det.jet_pt_min) & (np.abs(eta) < det.jet_eta_max))
    if len(sel) < det.min_jets:
        return None
    lead = sel[np.argsort(-pt[sel], kind="stable")[:4]]
    flavour = np.zeros(4)
    if len(cand.heavy):
        hpt, heta, hphi = _pt_eta_phi(*cand.heavy[:, :3].T)
        ok = hpt > det.heavy_hadron_pt_min
        for k, j in enumerate(lead):
            near = ok & (_delta_r(eta[j], phi[j], heta, hphi) < det.btag_dr)
            if near.any():
                flavour[k] = cand.heavy[near, 3].max()
    prob = np.where(flavour == 5, det.btag_b, np.where(flavour == 4, det.btag_c, det.btag_light))
    tags = (rng.random(4) < prob).astype(float)
    if tags.sum() < det.min_btags:
        return None
    lep_pt, lep_eta, lep_phi = cand.lepton
    row = [lep_pt, lep_eta, lep_phi, math.hypot(*met), math.atan2(met[1], met[0])]
    for k, j in enumerate(lead):
        row += [pt[j], eta[j], phi[j], tags[k]]
    return np.array(row)


def _task(args: tuple[str, bool, int, int, int, dict[str, Any]]) -> tuple[np.ndarray, int, float]:
    """Generate ``n`` events of one process; return their low-level features, ``n`` and the CPU time taken."""
    process, mpi, init_seed, task_seed, n, det_fields = args
    det = Detector(**det_fields)
    t0 = time.process_time()  # CPU time: wall time would count the other processes sharing the cores
    pythia = _pythia(process, mpi, init_seed)
    pythia.rndm.init(task_seed)  # the same task gives the same events, whichever worker runs it
    rng = np.random.default_rng(task_seed)
    candidates = []
    # nextBatch returns the events as awkward arrays: no Python loop over particles
    for visible, heavy in _particles(pythia.nextBatch(n)):
        cand = _leptons(visible, heavy, det, rng)
        if cand is not None:
            candidates.append(cand)
    rows = []
    if candidates:
        for cand, jets in zip(candidates, _cluster([c.jet_input for c in candidates], det)):
            row = _jets_and_tags(cand, jets, det, rng)
            if row is not None:
                rows.append(row)
    low = np.array(rows, dtype=float).reshape(-1, len(LOW_LEVEL))
    return low, n, time.process_time() - t0


def generate(n_events: int, process: str, *, seed: int = 42, mpi: bool = True, detector: Detector | None = None,
             workers: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Generate, reconstruct and select events of one process until ``n_events`` pass.

    Events come in tasks of :data:`CHUNK` generated events, each with its own
    seed; the result depends on ``seed`` only, not on the number of workers.

    Parameters
    ----------
    n_events
        Selected events wanted.
    process : {"signal", "background"}
    seed, mpi, detector
        Seed, multi-parton interactions, detector model (default :class:`Detector`).
    workers
        Worker processes (default one per core, ``COURSE_WORKERS`` overrides).

    Returns
    -------
    low : numpy.ndarray, shape (n_events, 21)
        Unscaled low-level features (GeV, radians), columns :data:`~course_utils.datasets.higgs.LOW_LEVEL`.
    stats : dict
        ``generated``, ``selected``, ``acceptance``, ``cpu_s`` (summed over workers), ``ms_per_event``.
    """
    return _generate({process: n_events}, seed=seed, mpi=mpi, detector=detector, workers=workers)[process]


def _generate(wanted: dict[str, int], *, seed: int, mpi: bool, detector: Detector | None,
              workers: int | None) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    for process, n in wanted.items():
        if process not in PROCESSES:
            raise ValueError(f"unknown process {process!r}: expected one of {list(PROCESSES)}")
        if isinstance(n, bool) or int(n) != n or not 1 <= n <= MAX_EVENTS:
            raise ValueError(f"number of {process} events must be an integer in [1, {MAX_EVENTS:,}], got {n!r}")
    det = detector or Detector()
    fields = asdict(det)
    parts: dict[str, list[np.ndarray]] = {p: [] for p in wanted}
    done = {p: 0 for p in wanted}  # tasks run so far
    cpu = {p: 0.0 for p in wanted}
    guess = dict(_ACCEPTANCE_GUESS)
    for _round in range(50):
        tasks = []
        for process, n in wanted.items():
            have = sum(len(x) for x in parts[process])
            if have >= n:
                continue
            acc = guess[process] if not done[process] else max(have / (done[process] * CHUNK), 0.01)
            n_tasks = math.ceil((n - have) / (CHUNK * acc) * 1.05)
            pid = PROCESSES[process]
            init_seed = _seed(seed, pid, int(mpi))
            tasks += [(process, mpi, init_seed, _seed(seed, pid, int(mpi), done[process] + k + 1), CHUNK, fields)
                      for k in range(n_tasks)]
            done[process] += n_tasks
        if not tasks:
            break
        desc = "simulation HIGGS (Pythia 8 + FastJet)" if _round == 0 else "simulation HIGGS (complément)"
        for args, (low, _n, seconds) in zip(tasks, parallel_map(_task, tasks, desc=desc, workers=workers)):
            parts[args[0]].append(low)
            cpu[args[0]] += seconds
    else:  # pragma: no cover - only with an absurd selection
        raise RuntimeError("the selection keeps almost no event: check the Detector settings")
    out = {}
    for process, n in wanted.items():
        low = np.concatenate(parts[process])
        generated = done[process] * CHUNK
        out[process] = (low[:n], {"generated": generated, "selected": len(low),
                                  "acceptance": len(low) / generated, "cpu_s": cpu[process],
                                  "ms_per_event": 1000 * cpu[process] / generated})
    return out


# ----------------------------------------------------------------------------- features


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




def scale_features(features: np.ndarray) -> np.ndarray:
    """Divide the 28 unscaled features (file order) by :data:`SCALES`, as the UCI file does; η, φ unchanged.

    Parameters
    ----------
    features : numpy.ndarray, shape (n, 28)

    Returns
    -------
    numpy.ndarray, shape (n, 28)
    """
    features = np.asarray(features, dtype=float)
    if features.ndim != 2 or features.shape[1] != len(FEATURES):
        raise ValueError(f"features must have shape (n, {len(FEATURES)}), got {features.shape}")
    divisor = np.array([SCALES.get(name, 1.0) for name in FEATURES])
    return features / divisor


# ----------------------------------------------------------------------------- the dataset


def simulate(n_events: int | None = None, *, seed: int = 42, mpi: bool | None = None,
             detector: Detector | None = None) -> Dataset:
    """A simulated HIGGS file (half signal, half background), generated once and cached.

    Parameters
    ----------
    n_events
        Selected events (default ``default_n_events("simulated")`` of
        :mod:`~course_utils.datasets.higgs`: 5,000 in fast mode, 40,000 otherwise).
    seed
        Seed of the whole sample.
    mpi
        Multi-parton interactions; ``None``: off in fast mode, on otherwise.
    detector
        Detector model and selection (default :class:`Detector`).

    Returns
    -------
    Dataset
        ``.data``: the DataFrame of :func:`~course_utils.datasets.higgs.read`
        (rows shuffled); ``.details``: sizes, acceptance and time per event.
    """
    from course_utils.datasets.higgs import INFO, default_n_events

    n = default_n_events("simulated") if n_events is None else n_events
    if isinstance(n, bool) or int(n) != n or not 2 <= n <= MAX_EVENTS:
        raise ValueError(f"n_events must be an integer in [2, {MAX_EVENTS:,}], got {n_events!r}")
    n = int(n)
    mpi = (not config.fast_mode()) if mpi is None else bool(mpi)
    det = detector or Detector()
    params = {"n_events": n, "seed": seed, "mpi": mpi, "detector": asdict(det), "scales": SCALES}

    def make(folder: Path) -> None:
        t0 = time.perf_counter()
        wanted = {"signal": n // 2, "background": n - n // 2}
        result = _generate(wanted, seed=seed, mpi=mpi, detector=det, workers=None)
        low = np.concatenate([result[p][0] for p in wanted])
        labels = np.concatenate([np.full(wanted[p], PROCESSES[p]) for p in wanted])
        features = scale_features(np.hstack([low, high_level_features(low)]))
        perm = np.random.default_rng(seed).permutation(n)
        df = pd.DataFrame(features[perm], columns=FEATURES)
        df.insert(0, "label", labels[perm])
        write(df, folder / "HIGGS.csv.gz")
        stats = {p: result[p][1] for p in wanted}
        stats["wall_s"] = time.perf_counter() - t0
        (folder / "stats.json").write_text(json.dumps(stats, indent=2))

    folder = cached_simulation("higgs", params, make, version=VERSION)
    path = folder / "HIGGS.csv.gz"
    df = read(path)
    stats = json.loads((folder / "stats.json").read_text())
    details = {"n_events": len(df), "seed": seed, "mpi": mpi, "sqrt_s_GeV": 8000.0,
               "masses_GeV": {"H0": M_H0, "H+-": M_HPM, "h0": M_H}, **stats}
    provenance = (f"course simulation: Pythia 8 + FastJet, √s = 8 TeV, gg → H⁰ → W H± → W W b b̄ vs t t̄, "
                  f"MPI {'on' if mpi else 'off'}, seed {seed}")
    return Dataset(df, "simulated", INFO.name, provenance, "MIT (code du cours)", path, details)

