"""The HIGGS simulation's generator: Pythia 8 events, the detector model, FastJet jets, the selection.

Private module of :mod:`course_utils.datasets.higgs.simulation`, which
documents the physics; the public names are re-exported there.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from course_utils.datasets import _pythia
from course_utils.datasets.higgs.formats import LOW_LEVEL
from course_utils.validation import check_count

__all__ = ["PROCESSES", "M_H0", "M_HPM", "M_H", "CHUNK", "MAX_EVENTS", "Detector", "pythia_settings", "generate"]

#: The two processes and their labels in the file.
PROCESSES = {"signal": 1, "background": 0}
#: Masses of the signal's Higgs bosons [GeV], as in the paper.
M_H0, M_HPM, M_H = 425.0, 325.0, 125.0
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
    check_count(seed, "seed", max_value=900_000_000)  # Pythia's range
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

    from course_utils._optional import require

    fastjet = require("fastjet", why="the HIGGS simulation's jets (FastJet)")
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
    pythia = _pythia.cached(pythia_settings(process, mpi=mpi, seed=init_seed), what=f"the {process} process")
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


def generate(n: int, process: str, *, seed: int = 42, mpi: bool = True, detector: Detector | None = None,
             workers: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Generate, reconstruct and select events of one process until ``n`` pass.

    Events come in tasks of :data:`CHUNK` generated events, each with its own
    seed; the result depends on ``seed`` only, not on the number of workers.

    Parameters
    ----------
    n
        Selected events wanted.
    process : {"signal", "background"}
    seed, mpi, detector
        Seed, multi-parton interactions, detector model (default :class:`Detector`).
    workers
        Worker processes (default one per core, ``COURSE_WORKERS`` overrides).

    Returns
    -------
    low : numpy.ndarray, shape (n, 21)
        Unscaled low-level features (GeV, radians), columns :data:`~course_utils.datasets.higgs.LOW_LEVEL`.
    stats : dict
        ``generated``, ``selected``, ``acceptance``, ``cpu_s`` (summed over workers), ``ms_per_event``.
    """
    return _generate({process: n}, seed=seed, mpi=mpi, detector=detector, workers=workers)[process]


def _generate(wanted: dict[str, int], *, seed: int, mpi: bool, detector: Detector | None,
              workers: int | None) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    fields = asdict(detector or Detector())

    def make_task(process: str, k: int) -> tuple[str, bool, int, int, int, dict[str, Any]]:
        pid = PROCESSES[process]
        return process, mpi, _pythia.seed(seed, pid, int(mpi)), _pythia.seed(seed, pid, int(mpi), k), CHUNK, fields

    return _pythia.generate_selected(wanted, processes=PROCESSES, max_events=MAX_EVENTS, task=_task,
                                     make_task=make_task, chunk=CHUNK, acceptance_guess=_ACCEPTANCE_GUESS,
                                     margin=1.05, desc="simulation HIGGS (Pythia 8 + FastJet)", workers=workers)
