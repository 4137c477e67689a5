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
  m(ℓν) = m_W (:func:`course_utils.physics.kinematics.neutrino_pz`; the smaller |pz| of the two solutions,
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
>>> from course_utils.datasets.higgs import simulation
>>> ds = simulation.simulate(2_000, seed=1, mpi=False)   # doctest: +SKIP
>>> ds.data.columns[:3].tolist()                         # doctest: +SKIP
['label', 'lepton_pT', 'lepton_eta']
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import config
from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.higgs._generator import (
    CHUNK,
    M_H,
    M_H0,
    M_HPM,
    MAX_EVENTS,
    PROCESSES,
    Detector,
    _generate,
    generate,
    pythia_settings,
)
from course_utils.datasets.higgs.formats import FEATURES, LOW_LEVEL, read, write
from course_utils.physics import kinematics
from course_utils.physics.kinematics import M_W
from course_utils.validation import check_count

__all__ = [
    "PROCESSES", "M_W", "M_TOP", "SCALES", "VERSION", "CHUNK", "MAX_EVENTS", "Detector", "pythia_settings",
    "generate", "high_level_features", "scale_features", "simulate",
]

DATASET = "higgs"
#: Top mass used by the reconstruction [GeV] (Pythia's); the W mass is :data:`course_utils.physics.kinematics.M_W`.
M_TOP = 173.0

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


# ----------------------------------------------------------------------------- features


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
    import vector

    lep = kinematics.massless(low[:, 0], low[:, 1], low[:, 2])
    met_x, met_y = low[:, 3] * np.cos(low[:, 4]), low[:, 3] * np.sin(low[:, 4])
    nu = kinematics.neutrino(lep, met_x, met_y, M_W)
    jets = [kinematics.massless(low[:, 5 + 4 * k], low[:, 6 + 4 * k], low[:, 7 + 4 * k]) for k in range(4)]
    components = {c: np.stack([getattr(j, c) for j in jets], axis=1) for c in ("px", "py", "pz", "E")}
    btag = low[:, [8, 12, 16, 20]]
    order = np.argsort(-btag, axis=1, kind="stable")  # tagged first, then by pT (the jets are pT-ordered)
    rows = np.arange(len(low))
    b1, b2, j1, j2 = (vector.array({c: v[rows, order[:, k]] for c, v in components.items()}) for k in range(4))
    mass = kinematics.invariant_mass
    w_had = j1 + j2
    w_lep = lep + nu
    m_jjj_a, m_jlv_a = mass(w_had, b1), mass(w_lep, b2)
    m_jjj_b, m_jlv_b = mass(w_had, b2), mass(w_lep, b1)
    pick_a = (m_jjj_a - M_TOP) ** 2 + (m_jlv_a - M_TOP) ** 2 <= (m_jjj_b - M_TOP) ** 2 + (m_jlv_b - M_TOP) ** 2
    return np.stack([
        mass(j1, j2),
        np.where(pick_a, m_jjj_a, m_jjj_b),
        mass(lep, nu),
        np.where(pick_a, m_jlv_a, m_jlv_b),
        mass(b1, b2),
        mass(w_lep, b1, b2),
        mass(w_lep, w_had, b1, b2),
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


def simulate(n: int, *, seed: int = 42, mpi: bool | None = None, detector: Detector | None = None) -> Dataset:
    """A simulated HIGGS file of ``n`` events (half signal, half background), generated once and cached.

    Parameters
    ----------
    n
        Selected events, in [2, :data:`MAX_EVENTS`] (``higgs.default_n("simulated")``:
        5,000 in fast mode, 40,000 otherwise).
    seed
        Seed of the whole sample.
    mpi
        Multi-parton interactions; ``None``: off in fast mode, on otherwise.
    detector
        Detector model and selection (default :class:`Detector`).

    Returns
    -------
    Dataset
        ``.data``: the DataFrame of :func:`.formats.read` (rows shuffled);
        ``.details``: sizes, acceptance and time per event.
    """
    n = check_count(n, "n", min_value=2, max_value=MAX_EVENTS)
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

    folder = cached_simulation(DATASET, params, make, version=VERSION)
    path = folder / "HIGGS.csv.gz"
    df = read(path)
    stats = json.loads((folder / "stats.json").read_text())
    details = {"n_events": len(df), "seed": seed, "mpi": mpi, "sqrt_s_GeV": 8000.0,
               "masses_GeV": {"H0": M_H0, "H+-": M_HPM, "h0": M_H}, **stats}
    provenance = (f"course simulation: Pythia 8 + FastJet, √s = 8 TeV, gg → H⁰ → W H± → W W b b̄ vs t t̄, "
                  f"MPI {'on' if mpi else 'off'}, seed {seed}")
    return Dataset(df, "simulated", DATASET, provenance, SIMULATION_LICENCE, path, details)

