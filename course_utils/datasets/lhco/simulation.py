"""The LHC Olympics R&D sample re-simulated: Pythia 8 dijets, FastJet, N-subjettiness.

The two processes of the published dataset (Kasieczka, Nachman, Shih et al.,
arXiv:2101.08320), proton-proton collisions at √s = 13 TeV:

* **background**: QCD dijets (``HardQCD:all``), with a generator-level cut
  on the partons' transverse momentum p̂T > ``pthat_min`` (1 TeV). The
  trigger asks for a jet with pT > 1.2 TeV; jets come from partons of similar
  pT, so events with p̂T well below 1.2 TeV rarely pass it: a cut 200 GeV
  below the threshold throws away events that the trigger would reject and
  keeps almost all those it accepts (the usual choice; the small loss near
  threshold was not measured here).
  A second cut, on the partons' invariant mass m̂ > ``mhat_min`` (2.6 TeV),
  keeps only the dijet masses that the search looks at (the sidebands start
  at 2.9 TeV): the share of generated QCD events passing the trigger goes
  from 43 % to 62 %, which saves about 30 % of the generation time, and makes the
  m_jj spectrum start at about 2.6 TeV instead of 2.3 TeV (the published
  file has no such cut).
* **signal**: W′ → X Y, X → q q̄′, Y → q q̄ (m_W′ = 3.5 TeV, m_X = 500 GeV,
  m_Y = 100 GeV). The W′ is Pythia's ``34``, produced by q q̄′ → W′
  (``NewGaugeBoson:ffbar2Wprime``). X and Y are new particles declared with
  ``9000001:all = ...`` and ``9000002:all = ...``: X carries the W′'s charge
  (it decays to u d̄), Y is neutral (d d̄). The W′'s decays are all switched
  off and the one channel W′ → X Y is added (:func:`pythia_settings` explains
  each line).

Both are showered and hadronised by Pythia. **Multi-parton interactions are
switched off** by default (``PartonLevel:MPI = off``; ``Detector(mpi=True)`` turns them
back on): they add the underlying event's soft particles, which shift jet
masses by a few GeV, and make the generation 3 to 4 times slower.

The detector (:class:`Detector`)
--------------------------------
Every final-state particle but neutrinos with |η| < 4.9 enters the jet
algorithm: anti-kT, R = 1 (FastJet). Each jet's four-momentum is then
smeared: its energy scale by a Gaussian of relative width
σ_E/E = 100 %/√E ⊕ 5 %, its mass by an independent 8 % (a large-radius jet's
mass is measured worse than its energy). The event is kept when the leading
jet has pT > 1.2 TeV and |η| < 2.5 and a second jet exists (both with at least three constituents). N-subjettiness
τ₁, τ₂, τ₃ of the two leading jets (:mod:`course_utils.physics.nsubjettiness`,
β = 1, R0 = 1, exclusive kT axes from FastJet) is computed on the particles,
before smearing. Delphes (used for the published file) models the
calorimeter cells and tracks; ours is much cruder, which is the main
difference between the two sources.

Speed (CPU time per generated event, MPI off, on a 2-core machine shared
with other jobs): Pythia alone about 2.2 ms for QCD and 0.9 ms for the
signal; with FastJet, smearing and N-subjettiness about 3.2 ms (QCD, 62 %
pass the trigger, so 5 ms per kept event) and 2.0 ms (signal, 72 % pass).
The default sample of :mod:`~course_utils.datasets.lhco` (70,000 QCD and
7,000 signal events) takes about 6 minutes of CPU, 3 to 4 minutes on two
free cores. :func:`simulate` reports the numbers of each run in ``details``.
Raw events
----------
:func:`simulate_events` writes the same processes in the published **raw-event**
layout (:func:`~course_utils.datasets.lhco.formats.write_events`: up to 700
particles × (pT, η, φ) per event, with or without the label column), so that
the reader of the published raw files and black boxes
(:func:`~course_utils.datasets.lhco.formats.read_events`) is tested on events
whose generator-level features are known: the particles are written as
generated (no smearing), and the trigger is applied to the jets that the
reader itself finds in them.

Tasks of :data:`CHUNK` generated events run one per core
(:func:`~course_utils.datasets._cache.parallel_map`), each with its own seed
derived from the user's seed: the sample does not depend on the number of
workers.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from course_utils.datasets import _pythia
from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.lhco.formats import (
    COLUMNS,
    RAW_COLUMNS,
    RAW_PARTICLES,
    read,
    read_events,
    write,
    write_events,
)
from course_utils.physics.dijets import dijet_features, leading_jets, subjettiness
from course_utils.validation import check_count

__all__ = ["PROCESSES", "M_WPRIME", "M_X", "M_Y", "Detector", "pythia_settings", "generate_chunk", "generate",
           "simulate", "FILE_NAME", "VERSION", "CHUNK", "raw_particles", "generate_raw_chunk", "simulate_events",
           "RAW_FILE_NAME"]

#: The two processes and their labels in the file.
PROCESSES = {"background": 0, "signal": 1}
#: Masses of the signal's new particles [GeV].
M_WPRIME, M_X, M_Y = 3500.0, 500.0, 100.0
#: PDG-style codes given to X and Y (Pythia's range for new particles).
ID_X, ID_Y = 9000001, 9000002
#: Name of the file in the cache folder (the published file's name, suffixed).
FILE_NAME = "events_anomalydetection_simulated.features.h5"
#: Name of the raw-event file in the cache folder (:func:`simulate_events`).
RAW_FILE_NAME = "events_anomalydetection_simulated.h5"
#: Bump when the generator's output changes.
VERSION = "1"
#: Generated events per task.
CHUNK = 500
#: Largest number of events per process the simulation agrees to produce.
MAX_EVENTS = 2_000_000
#: Expected fraction of generated events passing the trigger, to plan the number of tasks.
_ACCEPTANCE_GUESS = {"background": 0.62, "signal": 0.72}


@dataclass(frozen=True)
class Detector:
    """Generator cut, jets, smearing and trigger (energies in GeV).

    Attributes
    ----------
    ecm
        Centre-of-mass energy √s.
    pthat_min
        QCD generator-level cut on the partons' p̂T.
    mhat_min
        QCD generator-level cut on the partons' invariant mass m̂ (module docstring).
    mpi
        Multi-parton interactions (the underlying event).
    eta_calo
        Particles with |η| below this enter the jets.
    jet_r
        Anti-kT radius.
    jet_stoch, jet_const
        Jet energy resolution σ_E/E = stoch/√E ⊕ const.
    mass_res
        Extra relative smearing of the jet mass.
    trigger_pt, jet_eta_max
        The leading jet must have pT above ``trigger_pt`` and |η| below ``jet_eta_max``.
    """

    ecm: float = 13_000.0
    pthat_min: float = 1_000.0
    mhat_min: float = 2_600.0
    mpi: bool = False
    eta_calo: float = 4.9
    jet_r: float = 1.0
    jet_stoch: float = 1.0
    jet_const: float = 0.05
    mass_res: float = 0.08
    trigger_pt: float = 1_200.0
    jet_eta_max: float = 2.5

    def __post_init__(self) -> None:
        if self.pthat_min <= 0 or self.trigger_pt <= 0 or self.jet_r <= 0 or self.ecm <= 0:
            raise ValueError("ecm, pthat_min, jet_r and trigger_pt must be positive")
        if min(self.jet_stoch, self.jet_const, self.mass_res) < 0:
            raise ValueError("resolutions must be non-negative")


def pythia_settings(process: str, *, detector: Detector | None = None, seed: int = 1) -> list[str]:
    """The Pythia 8 commands of one process, each explained in a comment.

    Parameters
    ----------
    process : {"background", "signal"}
    detector
        Supplies √s, the QCD p̂T cut and MPI (default :class:`Detector`).
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
    det = detector or Detector()
    common = [
        f"Beams:eCM = {det.ecm:.1f}",                      # pp at 13 TeV (protons are the default beams)
        f"PartonLevel:MPI = {'on' if det.mpi else 'off'}",  # underlying event
        "HadronLevel:all = on",                             # hadronisation and decays (the default)
        "Random:setSeed = on", f"Random:seed = {int(seed)}",
        "Next:numberCount = 0", "Print:quiet = on",
    ]
    if process == "background":
        return [*common, "HardQCD:all = on", f"PhaseSpace:pTHatMin = {det.pthat_min:.1f}",
                f"PhaseSpace:mHatMin = {det.mhat_min:.1f}"]
    return [
        *common,
        "NewGaugeBoson:ffbar2Wprime = on",                  # q qbar' -> W'
        f"34:m0 = {M_WPRIME:.1f}",                          # W' mass
        # the W' line shape times the falling parton luminosities has a long off-shell tail at low mass
        # (W' -> X Y stays open down to m_X + m_Y): a generator choice keeps the W' mass within 3-4 TeV,
        # so that no time is spent far from the peak
        f"34:mMin = {M_WPRIME - 500:.1f}", f"34:mMax = {M_WPRIME + 500:.1f}",
        # new particles: id:all = name antiname spinType chargeType colType m0 mWidth mMin mMax tau0
        f"{ID_X}:all = X X_bar 1 3 0 {M_X:.1f} 1.0 {M_X - 50:.1f} {M_X + 50:.1f} 0.",   # charge +1 (3/3)
        f"{ID_Y}:all = Y void 1 0 0 {M_Y:.1f} 0.2 {M_Y - 10:.1f} {M_Y + 10:.1f} 0.",   # neutral
        f"{ID_X}:oneChannel = 1 1.0 100 2 -1",               # X+ -> u dbar
        f"{ID_Y}:oneChannel = 1 1.0 100 1 -1",               # Y -> d dbar
        f"{ID_X}:mayDecay = on", f"{ID_Y}:mayDecay = on",
        "34:onMode = off",                                  # switch off every W' decay...
        f"34:addChannel = 1 1.0 100 {ID_X} {ID_Y}",           # ...and add W'+ -> X+ Y
    ]


def visible_particles(batch: Any, det: Detector) -> Any:
    """The particles that enter the jets: final state, no neutrinos, |η| < ``det.eta_calo``.

    Returns
    -------
    awkward.Array
        One list per event of records ``px, py, pz, E`` [GeV].
    """
    import awkward as ak

    prt = batch["prt"]
    aid = abs(prt.id)
    px, py, pz, e = prt.p.px, prt.p.py, prt.p.pz, prt.p.e
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    visible = (prt.status > 0) & (aid != 12) & (aid != 14) & (aid != 16) & (abs(eta) < det.eta_calo)
    return ak.zip({"px": px[visible], "py": py[visible], "pz": pz[visible], "E": e[visible]})


def reconstruct(batch: Any, det: Detector, rng: np.random.Generator) -> np.ndarray:
    """Jets, smearing, trigger and N-subjettiness of a batch of Pythia events.

    Parameters
    ----------
    batch
        What ``Pythia.nextBatch`` returns (awkward arrays).
    det
        The detector model.
    rng
        Random generator of the smearing.

    Returns
    -------
    numpy.ndarray, shape (n_kept, 14)
        The file's 14 feature columns (:data:`~course_utils.datasets.lhco.formats.COLUMNS`
        without ``label``) of the events that pass the trigger.
    """
    import awkward as ak

    events = visible_particles(batch, det)
    j, cons, _ = leading_jets(events, r=det.jet_r, min_pt=50.0, min_constituents=0)  # (n, 2, 4)
    # smearing: energy scale of the whole four-vector, then the mass alone
    sigma = np.hypot(det.jet_stoch / np.sqrt(np.maximum(j[..., 3], 1.0)), det.jet_const)
    j = j * np.maximum(1.0 + sigma * rng.standard_normal(sigma.shape), 0.05)[..., None]
    p2 = (j[..., :3] ** 2).sum(-1)
    m = np.sqrt(np.maximum(j[..., 3] ** 2 - p2, 0.0)) * np.maximum(1.0 + det.mass_res * rng.standard_normal(p2.shape), 0.0)
    pt_s = np.hypot(j[..., 0], j[..., 1])
    # the smearing may swap the two jets' order
    swap = pt_s[:, 1] > pt_s[:, 0]
    j[swap], m[swap], pt_s[swap] = j[swap][:, ::-1], m[swap][:, ::-1], pt_s[swap][:, ::-1]
    eta_lead = np.arcsinh(j[:, 0, 2] / np.maximum(pt_s[:, 0], 1e-9))
    ncon = ak.to_numpy(ak.num(cons, axis=2)).reshape(-1, 2)
    keep = (pt_s[:, 0] > det.trigger_pt) & (np.abs(eta_lead) < det.jet_eta_max) & (ncon.min(axis=1) >= 3)
    if not keep.any():
        return np.empty((0, len(COLUMNS) - 1))
    tau = subjettiness(cons[keep], r0=det.jet_r)  # (n, jet, N), unsmeared order
    swap_k = swap[keep]
    tau[swap_k] = tau[swap_k][:, ::-1]
    jk, mk = j[keep], m[keep]
    cols = []
    for k in range(2):
        cols += [jk[:, k, 0], jk[:, k, 1], jk[:, k, 2], mk[:, k], tau[:, k, 0], tau[:, k, 1], tau[:, k, 2]]
    return np.stack(cols, axis=1)


def generate_chunk(args: tuple[str, int, int, int, dict[str, Any]]) -> tuple[np.ndarray, int, float]:
    """One task: generate ``n`` events of a process and reconstruct them.

    Parameters
    ----------
    args
        ``(process, init_seed, task_seed, n, detector_fields)``.

    Returns
    -------
    features : numpy.ndarray, shape (n_kept, 14)
    n : int
        Events asked of Pythia.
    cpu_s : float
        CPU seconds used (wall time would count the other processes sharing the cores).
    """
    process, init_seed, task_seed, n, fields = args
    det = Detector(**fields)
    t0 = time.process_time()
    pythia = _pythia.cached(pythia_settings(process, detector=det, seed=init_seed), what=f"the {process} process")
    pythia.rndm.init(task_seed)  # the same task gives the same events, whichever worker runs it
    rng = np.random.default_rng(task_seed)
    feats = reconstruct(pythia.nextBatch(n), det, rng)
    return feats, n, time.process_time() - t0


def generate(wanted: dict[str, int], *, seed: int = 42, detector: Detector | None = None,
             workers: int | None = None, desc: str = "simulation LHCO (Pythia 8 + FastJet)",
             ) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """Generate events of each process until ``wanted[process]`` pass the trigger.

    Parameters
    ----------
    wanted
        ``{"background": n_b, "signal": n_s}`` (either may be absent).
    seed, detector, workers
        Seed of the sample, detector model, worker processes (default one per core).

    Returns
    -------
    dict
        Per process: the features, shape (n, 14), and statistics (``generated``,
        ``selected``, ``acceptance``, ``cpu_s``, ``ms_per_event``).
    """
    det = detector or Detector()
    fields = asdict(det)

    def make_task(process: str, k: int) -> tuple[str, int, int, int, dict[str, Any]]:
        pid = PROCESSES[process]
        return process, _pythia.seed(seed, pid, 0), _pythia.seed(seed, pid, k), CHUNK, fields

    return _pythia.generate_selected(wanted, processes=PROCESSES, max_events=MAX_EVENTS, task=generate_chunk,
                                     make_task=make_task, chunk=CHUNK, acceptance_guess=_ACCEPTANCE_GUESS,
                                     margin=1.03, desc=desc, workers=workers)


def simulate(n: int, *, seed: int = 42, n_signal: int | None = None, detector: Detector | None = None,
             workers: int | None = None) -> Dataset:
    """A simulated features file, generated once and cached.

    Parameters
    ----------
    n
        Background (QCD) events passing the trigger.
    seed
        Seed of the whole sample.
    n_signal
        Signal events passing the trigger (default ``n // 10``, the published
        file's proportion).
    detector
        Generator cut, detector model and trigger (default :class:`Detector`).
    workers
        Worker processes (default one per core; the result does not depend on it).

    Returns
    -------
    Dataset
        ``.data``: the DataFrame of :func:`~course_utils.datasets.lhco.formats.read`,
        background rows first then signal, like the published file;
        ``.details``: sizes, acceptance and CPU time per event.
    """
    n = check_count(n, "n", max_value=MAX_EVENTS)
    n_sig = check_count(n // 10 if n_signal is None else n_signal, "n_signal", max_value=MAX_EVENTS)
    det = detector or Detector()
    params = {"n": int(n), "n_signal": int(n_sig), "seed": seed, "detector": asdict(det)}

    def make(folder: Path) -> None:
        t0 = time.perf_counter()
        result = generate({"background": int(n), "signal": int(n_sig)}, seed=seed, detector=det, workers=workers)
        frames = []
        for process in ("background", "signal"):
            df = pd.DataFrame(result[process][0], columns=COLUMNS[:-1])
            df["label"] = float(PROCESSES[process])
            frames.append(df)
        write(pd.concat(frames, ignore_index=True), folder / FILE_NAME)
        stats: dict[str, Any] = {p: result[p][1] for p in result}
        stats["wall_s"] = time.perf_counter() - t0
        (folder / "stats.json").write_text(json.dumps(stats, indent=2))

    folder = cached_simulation("lhco", params, make, version=VERSION)
    path = folder / FILE_NAME
    df = read(path)
    stats = json.loads((folder / "stats.json").read_text())
    details = {"n_background": int((df["label"] == 0).sum()), "n_signal": int((df["label"] == 1).sum()),
               "seed": seed, "detector": asdict(det), "sqrt_s_GeV": det.ecm,
               "masses_GeV": {"W'": M_WPRIME, "X": M_X, "Y": M_Y}, **stats}
    provenance = (f"course simulation: Pythia 8 + FastJet, √s = 13 TeV, QCD dijets (p̂T > {det.pthat_min:.0f} GeV) "
                  f"and W′(3.5 TeV) → X(500) Y(100) → 4q, anti-kT R = {det.jet_r:g}, MPI "
                  f"{'on' if det.mpi else 'off'}, seed {seed}")
    return Dataset(df, "simulated", "lhco", provenance, SIMULATION_LICENCE, path, details)


def raw_particles(batch: Any, det: Detector) -> np.ndarray:
    """The events of a batch that pass the trigger, in the published raw layout.

    The particles of :func:`visible_particles`, as (pT, η, φ) sorted by
    decreasing pT, the first :data:`~course_utils.datasets.lhco.formats.RAW_PARTICLES`
    kept, zero-padded. No detector smearing: the published raw files hold
    Delphes' reconstructed particles; ours are the generator's. The trigger
    (leading jet pT > ``det.trigger_pt``, |η| < ``det.jet_eta_max``, two jets
    of three constituents or more) is applied to the jets that
    :func:`~course_utils.physics.dijets.dijet_features` finds in these very
    particles, so that reading the file back keeps every event.

    Returns
    -------
    numpy.ndarray, shape (n_kept, RAW_PARTICLES, 3)
    """
    import awkward as ak

    events = visible_particles(batch, det)
    px, py, pz = (ak.to_numpy(ak.flatten(events[c])) for c in ("px", "py", "pz"))
    counts = ak.to_numpy(ak.num(events))
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    phi = np.arctan2(py, px)
    event = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((-pt, event))  # by event, then by decreasing pT
    rank = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    out = np.zeros((len(counts), max(int(counts.max(initial=0)), 1), 3))
    out[event[order], rank] = np.stack([pt, eta, phi], axis=1)[order]
    out = out[:, :RAW_PARTICLES]
    feats, kept = dijet_features(out[..., 0], out[..., 1], out[..., 2], r=det.jet_r)
    pt1 = np.hypot(feats[:, 0], feats[:, 1])
    eta1 = np.arcsinh(feats[:, 2] / np.maximum(pt1, 1e-9))
    trig = np.zeros(len(out), bool)
    trig[np.flatnonzero(kept)] = (pt1 > det.trigger_pt) & (np.abs(eta1) < det.jet_eta_max)
    padded = np.zeros((int(trig.sum()), RAW_PARTICLES, 3))
    padded[:, : out.shape[1]] = out[trig]
    return padded


def generate_raw_chunk(args: tuple[str, int, int, int, dict[str, Any]]) -> tuple[np.ndarray, int, float]:
    """One task of :func:`simulate_events`: ``n`` generated events, the triggered ones in the raw layout.

    Returns
    -------
    rows : numpy.ndarray, shape (n_kept, RAW_COLUMNS)
    n : int
    cpu_s : float
    """
    process, init_seed, task_seed, n, fields = args
    det = Detector(**fields)
    t0 = time.process_time()
    pythia = _pythia.cached(pythia_settings(process, detector=det, seed=init_seed), what=f"the {process} process")
    pythia.rndm.init(task_seed)
    rows = raw_particles(pythia.nextBatch(n), det).reshape(-1, RAW_COLUMNS)
    return rows, n, time.process_time() - t0


def simulate_events(n: int, *, seed: int = 42, n_signal: int | None = None, detector: Detector | None = None,
                    workers: int | None = None, labels: bool = True) -> Dataset:
    """A simulated **raw-event** file (the published R&D layout), generated once and cached.

    Parameters
    ----------
    n, seed, n_signal, detector, workers
        As in :func:`simulate` (the detector's smearing is not used: the
        particles are written as generated).
    labels
        Write the label column (the R&D layout, 2101 columns); ``False``
        writes a black box (2100 columns, background and signal mixed).

    Returns
    -------
    Dataset
        ``.path``: the raw file; ``.data``: its features, computed by
        :func:`~course_utils.datasets.lhco.formats.read_events`.
    """
    n = check_count(n, "n", max_value=MAX_EVENTS)
    n_sig = check_count(n // 10 if n_signal is None else n_signal, "n_signal", min_value=0, max_value=MAX_EVENTS)
    det = detector or Detector()
    fields = asdict(det)
    params = {"layout": "raw", "n": int(n), "n_signal": int(n_sig), "seed": seed, "detector": fields,
              "labels": bool(labels)}

    def make_task(process: str, k: int) -> tuple[str, int, int, int, dict[str, Any]]:
        pid = PROCESSES[process]
        return process, _pythia.seed(seed, pid, 0), _pythia.seed(seed, pid, k), CHUNK, fields

    def make(folder: Path) -> None:
        wanted = {"background": int(n), **({"signal": int(n_sig)} if n_sig else {})}
        result = _pythia.generate_selected(wanted, processes=PROCESSES, max_events=MAX_EVENTS,
                                           task=generate_raw_chunk, make_task=make_task, chunk=CHUNK,
                                           acceptance_guess=_ACCEPTANCE_GUESS, margin=1.03,
                                           desc="simulation LHCO, événements bruts", workers=workers)
        rows = np.concatenate([result[p][0] for p in wanted])
        lab = np.concatenate([np.full(len(result[p][0]), float(PROCESSES[p])) for p in wanted])
        if not labels:  # a black box: the classes mixed, no label
            rows = rows[np.random.default_rng(seed).permutation(len(rows))]
        write_events(rows.reshape(len(rows), RAW_PARTICLES, 3), folder / RAW_FILE_NAME,
                     labels=lab if labels else None)
        (folder / "stats.json").write_text(json.dumps({p: result[p][1] for p in result}, indent=2))

    folder = cached_simulation("lhco", params, make, version=VERSION)
    path = folder / RAW_FILE_NAME
    df = read_events(path)
    stats = json.loads((folder / "stats.json").read_text())
    provenance = (f"course simulation, raw events: Pythia 8, √s = 13 TeV, QCD dijets (p̂T > {det.pthat_min:.0f} GeV) "
                  f"and W′(3.5 TeV) → X(500) Y(100) → 4q, generator-level particles, seed {seed}")
    return Dataset(df, "simulated", "lhco", provenance, SIMULATION_LICENCE, path,
                   {"layout": "raw", "labelled": bool(labels), "seed": seed, **stats})
