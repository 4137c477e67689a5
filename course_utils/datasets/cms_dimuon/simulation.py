"""A SIMULATION of CMS dimuon events at √s = 8 TeV, written in the real file's format.

It stands in for CMS Open Data record 12341 when the real file cannot be
read (offline, in the tests). It is a teaching simulation: it reproduces
where the resonances are, their widths and roughly how the spectrum looks,
not CMS's cross-sections or efficiencies.

Processes (each event holds one dimuon source)
----------------------------------------------
=================  ===========================================================  ========
component          how it is generated                                          fraction
=================  ===========================================================  ========
``drell_yan``      Pythia 8, q q̄ → γ*/Z → μ⁺μ⁻, m̂ > 20 GeV                        0.07
``charmonium``     Pythia 8, g g → J/ψ g and ψ(2S) g (colour singlet), p̂T > 28  0.12
``bottomonium``    Pythia 8, g g → Υ(1S, 2S, 3S) g (colour singlet), p̂T > 28    0.05
``eta`` ``rho``    η, ρ, ω, φ → μ⁺μ⁻ generated directly: parent pT spectrum      0.008, 0.02,
``omega`` ``phi``  dN/dpT ∝ pT (1 + (pT/4 GeV)²)⁻³ above 20 GeV, flat rapidity     0.02, 0.025
                   |y| < 2.5, Breit–Wigner mass (PDG mass and width, from
                   ``particle``), isotropic two-body decay (``vector`` boosts)
``continuum``      non-resonant μ⁺μ⁻ (heavy flavour, Drell–Yan at low mass):     0.337
                   the same, with dN/dm ∝ m⁻² between 0.22 and 60 GeV
``combinatorial``  muon pairs with independent random charges (the only source   0.28
                   of same-sign pairs): 65 % close together, with the continuum's
                   kinematics (two muons of one jet or heavy-flavour cascade),
                   35 % unrelated (independent pT above the trigger thresholds,
                   flat η and φ)
=================  ===========================================================  ========

The fractions are of the written (triggered) events; they were tuned by eye so
that every resonance shows in the log-log spectrum as in the real data, and so
that the cut flow approaches the real one. In Pythia, the onia decay only to
μ⁺μ⁻ and their production matrix elements (``O(3S1)[3S1(1)]``) are multiplied
by the PDG branching ratio to μ⁺μ⁻, so the J/ψ : ψ(2S) and Υ(1S) : Υ(2S) :
Υ(3S) ratios are those of σ × BR. The p̂T > 28 GeV cut keeps Pythia's work for
events that can pass the trigger (the pair needs pT ≳ 25 GeV).

Speed switches: no multiparton interactions, no initial- or final-state
showers, no hadronisation (the event holds the hard process and the decays
only), and ``Pythia.nextBatch`` returns whole batches as awkward arrays.
Without initial-state radiation the Z is produced almost at rest (sharp
Jacobian peak of the muon pT at m_Z/2).

Detector model
--------------
1. Gaussian pT resolution σ(pT)/pT = 1 % for |η| < 0.9, rising linearly to
   2 % at |η| = 2.4 (:func:`resolution`; η and φ are kept exact).
2. Acceptance: |η| < 2.4 and pT > 3 GeV.
3. Trigger on the two leading muons: pT > 17 and 8 GeV, like HLT_Mu17_Mu8.
   A pair lighter than 2√(17 × 8) ≈ 23 GeV passes only when boosted: this
   makes the bump near 30 GeV, as in the real data. The trigger also biases
   the measured masses upwards by a few 10⁻⁴ (upward pT fluctuations pass).
4. Offline, each muon is reconstructed with an efficiency of 95 %, and
   Poisson(0.55) unrelated soft muons (pT = 3 GeV + exponential of mean
   2 GeV, random charge) are added: events with 1 or 3+ muons, as in data.

Muons are sorted by decreasing pT, as in NanoAOD. Events are shuffled, so
the first N entries are a fair sample. Everything is seeded: the same
``(n, seed)`` gives the same file, whatever the number of workers.

Speed (CPU time of one core, Pythia initialisation included, measured on the
course's 2-core machine): about 6,000 Drell–Yan, 7,500 J/ψ and 8,000 Υ
triggered events per second; the direct components 10⁵ to 10⁶. The fast
mode's 300,000 events take about 12 CPU seconds, plus the workers' start-up;
``<name>.timing.json`` beside each file records its own figures.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.datasets import _pythia
from course_utils.datasets._cache import cached_simulation, n_workers, parallel_map
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.cms_dimuon.formats import MUON_MASS, read, write
from course_utils.physics.resonances import pdg_mass, pdg_width
from course_utils.validation import check_count

__all__ = ["COMPONENTS", "SIM_VERSION", "simulate", "generate", "generate_component", "resolution", "timing"]

DATASET = "cms_dimuon"
#: Bump when the generator or the file format changes. 2: ``nMuon`` written as uproot writes counters (int32).
SIM_VERSION = "2"
FILE_NAME = "cms_dimuon_simulation.root"
MU = MUON_MASS
#: Events per parallel task: fixed, so the output does not depend on the number of workers.
TASK_EVENTS = 12_000

_PYTHIA_COMMON = (
    "Beams:eCM = 8000.", "Print:quiet = on", "Random:setSeed = on", "Check:event = off",
    "PartonLevel:MPI = off", "PartonLevel:ISR = off", "PartonLevel:FSR = off", "HadronLevel:Hadronize = off",
)


def _only_mumu(*ids: int) -> tuple[str, ...]:
    return tuple(s for i in ids for s in (f"{i}:onMode = off", f"{i}:onIfMatch = 13 -13"))


@dataclass(frozen=True)
class Component:
    """One dimuon source: its share of the events and how it is generated."""

    name: str
    fraction: float
    description: str
    pythia: tuple[str, ...] = ()
    pdgid: int | None = None


COMPONENTS = (
    Component("drell_yan", 0.07, "Pythia 8: q qbar -> gamma*/Z -> mu mu, mhat > 20 GeV",
              ("WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 20.", *_only_mumu(23))),
    Component("charmonium", 0.12, "Pythia 8: g g -> J/psi g, psi(2S) g (colour singlet), pThat > 28 GeV",
              ("Charmonium:states(3S1) = 443,100443", "Charmonium:gg2ccbar(3S1)[3S1(1)]g = on,on",
               # LDMEs (Pythia defaults 1.16, 0.76 GeV^3) times BR(mu mu) = 5.961 %, 0.80 %
               "Charmonium:O(3S1)[3S1(1)] = 0.06915,0.00608", "PhaseSpace:pTHatMin = 28.",
               *_only_mumu(443, 100443))),
    Component("bottomonium", 0.05, "Pythia 8: g g -> Upsilon(1S,2S,3S) g (colour singlet), pThat > 28 GeV",
              ("Bottomonium:states(3S1) = 553,100553,200553", "Bottomonium:gg2bbbar(3S1)[3S1(1)]g = on,on,on",
               # LDMEs (Pythia defaults 9.28, 4.63, 3.54 GeV^3) times BR(mu mu) = 2.48, 1.93, 2.18 %
               "Bottomonium:O(3S1)[3S1(1)] = 0.2301,0.0894,0.0772", "PhaseSpace:pTHatMin = 28.",
               *_only_mumu(553, 100553, 200553))),
    Component("eta", 0.008, "eta -> mu mu, generated directly", pdgid=221),
    Component("rho", 0.02, "rho(770) -> mu mu, generated directly", pdgid=113),
    Component("omega", 0.02, "omega(782) -> mu mu, generated directly", pdgid=223),
    Component("phi", 0.025, "phi(1020) -> mu mu, generated directly", pdgid=333),
    Component("continuum", 0.337, "non-resonant mu+ mu-, dN/dm ~ m^-2"),
    Component("combinatorial", 0.28, "muon pairs with independent random charges (65 % close, 35 % unrelated)"),
)
_BY_NAME = {c.name: c for c in COMPONENTS}

# detector and kinematics parameters (GeV)
RESOLUTION = (0.010, 0.020)  # sigma(pT)/pT at |eta| < 0.9 and at |eta| = 2.4
ETA_MAX, PT_MIN = 2.4, 3.0
TRIGGER = (17.0, 8.0)  # pT of the leading and second muon, like HLT_Mu17_Mu8
EFFICIENCY, EXTRA_MUONS, EXTRA_PT_MEAN = 0.95, 0.55, 2.0
PARENT_PT = (4.0, 3.0, 20.0)  # p0, power, minimum pT of directly generated parents
CONTINUUM_MASS = (0.22, 60.0, 2.0)  # range and power of dN/dm


# --------------------------------------------------------------------------------------------- generators

def _tsallis_pt(rng: np.random.Generator, n: int, p0: float, power: float, pt_min: float) -> np.ndarray:
    """Sample dN/dpT ∝ pT (1 + (pT/p0)²)^-power above pt_min (inverse CDF)."""
    u_min = 1 - (1 + (pt_min / p0) ** 2) ** (1 - power)
    u = rng.uniform(u_min, 1, n)
    return p0 * np.sqrt((1 - u) ** (1 / (1 - power)) - 1)


def _two_body(rng: np.random.Generator, mass: np.ndarray) -> dict[str, np.ndarray]:
    """Parents of the given masses, with the parent pT spectrum, decayed isotropically to mu+ mu-."""
    import vector

    n = len(mass)
    pt = _tsallis_pt(rng, n, *PARENT_PT)
    y = rng.uniform(-2.5, 2.5, n)
    mt = np.hypot(pt, mass)
    parent = vector.array({"pt": pt, "phi": rng.uniform(-np.pi, np.pi, n), "pz": mt * np.sinh(y),
                           "E": mt * np.cosh(y)})
    pstar = np.sqrt(mass**2 / 4 - MU**2)
    cos_t = rng.uniform(-1, 1, n)
    sin_t = np.sqrt(1 - cos_t**2)
    phi_star = rng.uniform(-np.pi, np.pi, n)
    px, py, pz = pstar * sin_t * np.cos(phi_star), pstar * sin_t * np.sin(phi_star), pstar * cos_t
    mus = [vector.array({"px": s * px, "py": s * py, "pz": s * pz, "mass": np.full(n, MU)}).boost_p4(parent)
           for s in (1, -1)]
    return _pairs([m.pt for m in mus], [m.eta for m in mus], [m.phi for m in mus], rng.choice([-1, 1], n))


def _pairs(pt: list, eta: list, phi: list, charge0: np.ndarray) -> dict[str, np.ndarray]:
    """Two muons per event, as (n, 2) arrays."""
    return {"pt": np.stack(pt, axis=1), "eta": np.stack(eta, axis=1), "phi": np.stack(phi, axis=1),
            "charge": np.stack([charge0, -charge0], axis=1)}


def _meson_source(pdgid: int) -> Any:
    m0, width = pdg_mass(pdgid), pdg_width(pdgid)
    lo, hi = max(2 * MU + 1e-3, m0 - 5 * width), m0 + 5 * width

    def source(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        # non-relativistic Breit-Wigner (Cauchy) truncated to [lo, hi], by inverse CDF
        a, b = np.arctan(2 * (lo - m0) / width), np.arctan(2 * (hi - m0) / width)
        return _two_body(rng, m0 + width / 2 * np.tan(rng.uniform(a, b, n)))
    return source


def _continuum(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    lo, hi, k = CONTINUUM_MASS
    u = rng.uniform(0, 1, n)
    mass = (lo ** (1 - k) + u * (hi ** (1 - k) - lo ** (1 - k))) ** (1 / (1 - k))
    return _two_body(rng, mass)


def _combinatorial(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Muon pairs with independent charges: 65 % close together (as the continuum), 35 % unrelated."""
    out = _continuum(n, rng)
    far = rng.uniform(size=n) < 0.35
    n_far = int(far.sum())
    p0, power, _ = PARENT_PT
    for i, pt_min in enumerate((0.9 * TRIGGER[0], 0.9 * TRIGGER[1])):
        out["pt"][far, i] = _tsallis_pt(rng, n_far, p0, power, pt_min)
        out["eta"][far, i] = rng.uniform(-ETA_MAX, ETA_MAX, n_far)
        out["phi"][far, i] = rng.uniform(-np.pi, np.pi, n_far)
    out["charge"] = rng.choice([-1, 1], size=(n, 2))
    return out


def _pythia_source(settings: tuple[str, ...], seed: int) -> Any:
    import awkward as ak

    pythia = _pythia.new((*_PYTHIA_COMMON, *settings, f"Random:seed = {seed}"), what=f"the process {settings}")

    def source(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        prt = pythia.nextBatch(n, "skip").prt
        mu = prt[(abs(prt.id) == 13) & (prt.status > 0)]
        mu = mu[ak.num(mu) == 2]  # one pair per event (always, with these settings)
        px, py, pz = (ak.to_numpy(mu.p[c]) for c in ("px", "py", "pz"))
        pt = np.hypot(px, py)
        return {"pt": pt, "eta": np.arcsinh(pz / pt), "phi": np.arctan2(py, px),
                "charge": -np.sign(ak.to_numpy(mu.id)).astype(np.int32)}
    return source


# --------------------------------------------------------------------------------------------- detector

def resolution(eta: np.ndarray) -> np.ndarray:
    """Relative pT resolution sigma(pT)/pT of the detector model at pseudorapidity ``eta``."""
    lo, hi = RESOLUTION
    return lo + (hi - lo) * np.clip((np.abs(eta) - 0.9) / (ETA_MAX - 0.9), 0, 1)


def _detect(mu: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Smear, accept and trigger (n, 2) muon pairs; returns the triggered events, muons sorted by pT."""
    pt = mu["pt"] * (1 + resolution(mu["eta"]) * rng.standard_normal(mu["pt"].shape))
    accepted = (np.abs(mu["eta"]) < ETA_MAX) & (pt > PT_MIN)
    both = accepted.all(axis=1)
    order = np.argsort(-pt, axis=1)
    columns = {"pt": pt, "eta": mu["eta"], "phi": mu["phi"], "charge": mu["charge"]}
    out = {k: np.take_along_axis(v, order, axis=1)[both] for k, v in columns.items()}
    fired = (out["pt"][:, 0] > TRIGGER[0]) & (out["pt"][:, 1] > TRIGGER[1])
    return {k: v[fired] for k, v in out.items()}


def _offline(events: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Reconstruction efficiency and extra soft muons; returns flat arrays and per-event counts."""
    n = len(events["pt"])
    keep = rng.uniform(size=(n, 2)) < EFFICIENCY
    n_extra = rng.poisson(EXTRA_MUONS, n)
    n_x = int(n_extra.sum())
    extra = {"pt": PT_MIN + rng.exponential(EXTRA_PT_MEAN, n_x), "eta": rng.uniform(-ETA_MAX, ETA_MAX, n_x),
             "phi": rng.uniform(-np.pi, np.pi, n_x), "charge": rng.choice([-1, 1], n_x)}
    # event index of every muon: the pair's kept muons, then the extras; a stable sort groups them by event
    idx = np.concatenate([np.repeat(np.arange(n), 2)[keep.ravel()], np.repeat(np.arange(n), n_extra)])
    cols = {k: np.concatenate([events[k].ravel()[keep.ravel()], extra[k]]) for k in extra}
    order = np.lexsort((-cols["pt"], idx))  # by event, then by decreasing pT
    out = {k: v[order] for k, v in cols.items()}
    out["counts"] = np.bincount(idx, minlength=n)
    return out


def generate_component(name: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` triggered events of one component, after the full detector model.

    Parameters
    ----------
    name
        A component of :data:`COMPONENTS`.
    n
        Number of triggered events wanted.
    seed
        Seeds both Pythia and NumPy.

    Returns
    -------
    dict
        ``counts`` (muons per event, shape (n,)), the flat muon arrays
        ``pt``, ``eta``, ``phi``, ``charge`` ordered by event, and ``cpu_s``
        (the CPU seconds it took, Pythia's initialisation included).
    """
    if name not in _BY_NAME:
        raise ValueError(f"unknown component {name!r}: expected one of {list(_BY_NAME)}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    comp = _BY_NAME[name]
    cpu0 = time.process_time()
    rng = np.random.default_rng(seed)
    if comp.pythia:
        source = _pythia_source(comp.pythia, seed % 900_000_000)
    elif comp.pdgid is not None:
        source = _meson_source(comp.pdgid)
    else:
        source = _continuum if name == "continuum" else _combinatorial
    parts, have, batch = [], 0, min(4 * n, 20_000)
    for _ in range(1000):
        if have >= n:
            break
        got = _detect(source(batch, rng), rng)
        parts.append(got)
        have += len(got["pt"])
        efficiency = max(len(got["pt"]) / batch, 0.02)
        batch = int(min(max((n - have) / efficiency * 1.2, 200), 100_000))
    else:
        raise RuntimeError(f"{name}: only {have} of {n} events pass the trigger after 1000 batches")
    events = {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}
    out = _offline(events, rng)
    out["cpu_s"] = np.array(time.process_time() - cpu0)
    return out


def _task(args: tuple[str, int, int]) -> dict[str, np.ndarray]:
    return generate_component(*args)


# --------------------------------------------------------------------------------------------- the sample

def _plan(n: int, seed: int) -> list[tuple[str, int, int]]:
    counts = [int(round(c.fraction * n)) for c in COMPONENTS]
    counts[-1] = n - sum(counts[:-1])
    tasks = []
    for i, (comp, count) in enumerate(zip(COMPONENTS, counts)):
        n_tasks = max(1, -(-count // TASK_EVENTS))
        for j in range(n_tasks):
            size = count // n_tasks + (1 if j < count % n_tasks else 0)
            if size:
                tasks.append((comp.name, size, int(np.random.SeedSequence([seed, i, j]).generate_state(1)[0])))
    return tasks


def _check_n(n: Any) -> int:
    return check_count(n, "n", min_value=len(COMPONENTS))  # one event per component


def generate(path: str | Path, n: int, *, seed: int = 42, workers: int | None = None) -> Path:
    """Simulate ``n`` events and write them to ``path`` in the real file's format.

    Pythia runs in parallel over the CPU cores (``COURSE_WORKERS`` overrides).
    Beside the ROOT file, ``<name>.timing.json`` records the wall time and, per
    component, the events and CPU seconds (see :func:`timing`).
    """
    import awkward as ak

    n = _check_n(n)
    plan = _plan(n, seed)
    wall0 = time.perf_counter()
    results = parallel_map(_task, plan, desc="Pythia 8 + détecteur", workers=workers)
    used = n_workers(len(plan)) if workers is None else max(1, min(workers, len(plan)))
    timing: dict[str, Any] = {"wall_s": time.perf_counter() - wall0, "workers": used, "components": {}}
    for (name, size, _), r in zip(plan, results):
        entry = timing["components"].setdefault(name, {"events": 0, "cpu_s": 0.0})
        entry["events"] += size
        entry["cpu_s"] += float(r["cpu_s"])
    flat = {k: np.concatenate([r[k] for r in results]) for k in ("counts", "pt", "eta", "phi", "charge")}
    events = ak.unflatten(ak.zip({k: flat[k] for k in ("pt", "eta", "phi", "charge")}), flat["counts"])
    events = events[np.random.default_rng([seed, 1]).permutation(len(events))]
    path = write(events, path)
    _timing_path(path).write_text(json.dumps(timing, indent=1))
    return path


def simulate(n: int, *, seed: int = 42, verbose: bool = True) -> Dataset:
    """The simulated sample of ``n`` events, generated once (cached), written and read back in the real format.

    Parameters
    ----------
    n
        Events (at least one per component of :data:`COMPONENTS`).
    seed
        Seed of the whole sample: the same ``(n, seed)`` gives the same file.
    verbose
        Show the reading progress bar.

    Returns
    -------
    Dataset
        ``.data``: the awkward Array of :func:`.formats.read`; ``.details``:
        ``n_events``, ``seed``, the component fractions and the generation ``timing``.
    """
    n = _check_n(n)
    params = {"n_events": n, "seed": int(seed)}
    folder = cached_simulation(DATASET, params, lambda d: generate(d / FILE_NAME, n, seed=seed),
                               version=SIM_VERSION)
    path = folder / FILE_NAME
    events = read(path, progress=verbose)
    return Dataset(events, "simulated", DATASET,
                   "course simulation: Pythia 8 at 8 TeV (γ*/Z, J/ψ, ψ(2S), Υ) + η, ρ, ω, φ, continuum, "
                   f"detector model of course_utils.datasets.cms_dimuon.simulation, seed {params['seed']}",
                   SIMULATION_LICENCE, path,
                   {**params, "components": {c.name: c.fraction for c in COMPONENTS}, "timing": timing(path)})


def timing(path: str | Path) -> dict[str, Any]:
    """The generation speed recorded beside a simulated file: wall time, workers, CPU seconds per component."""
    return json.loads(_timing_path(path).read_text())


def _timing_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".timing.json")
