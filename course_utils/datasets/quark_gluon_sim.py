"""The course's own quark and gluon jets: Pythia 8 events clustered with FastJet.

It reproduces the generation of the Komiske-Metodiev-Thaler dataset
(:mod:`course_utils.datasets.quark_gluon`):

* pp collisions at sqrt(s) = 14 TeV, default Pythia tune, hadronisation and
  multi-parton interactions on;
* gluon jets from ``q qbar -> Z g`` (``WeakBosonAndParton:qqbar2gmZg``), quark
  jets from ``q g -> Z q`` (``WeakBosonAndParton:qg2gmZq``) with only u, d, s
  quarks in the initial state (``PDFinProcess:nQuarkIn = 3``), the Z alone
  (``WeakZ0:gmZmode = 2``) decaying to neutrinos;
* anti-kT jets, R = 0.4, from every final-state particle except neutrinos;
* the leading jet kept when its pT is in [500, 550] GeV and |y| < 1.7; its
  constituents are written as ``(pT, y, phi, PDG id)``, hardest first, with phi
  within pi of the jet's azimuth.

Speed: the partonic pT (``PhaseSpace:pTHatMin/Max``) is restricted to a window
around the jet window, per class, so that about 30 % of the generated events
give an accepted jet (about 5 % with a wide window [350, 1000] GeV). The price
is a bias: jets whose parton pT fell outside the window are missing, either
because the parton lost a lot of pT out of the cone (pT-hat above 600 GeV) or
because the leading jet is not the hard parton at all (initial-state radiation,
pT-hat well below 500 GeV). Measured against the wide window (8000 events per
class), the default windows keep 64 % of the quark jets and 73 % of the gluon
jets. :func:`simulate` reports the acceptance per class.

Events come from ``Pythia.nextBatch`` as awkward arrays and are clustered a
batch at a time by FastJet's awkward interface (the loop over events runs in
C++). Chunks of jets run in parallel, one worker per core, each with its own
seed derived from the user's seed: the output does not depend on the number
of workers.

References: T. Sjöstrand et al., *A comprehensive guide to the physics and
usage of PYTHIA 8.3*, SciPost Phys. Codebases 8 (2022); M. Cacciari, G. P.
Salam, G. Soyez, *FastJet user manual*, Eur. Phys. J. C 72 (2012) 1896
(arXiv:1111.6097), and *The anti-kt jet clustering algorithm*, JHEP 04 (2008) 063.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.datasets._cache import cached_simulation, parallel_map
from course_utils.datasets._registry import Dataset

__all__ = ["Settings", "DEFAULT", "FILE_NAME", "generate", "simulate", "load_simulated", "generate_chunk",
           "benchmark"]

#: Name of the file written in the simulation's cache folder.
FILE_NAME = "QG_jets_simulated.npz"
#: Bump when the generator's output changes (invalidates old caches).
VERSION = "1"

_NEUTRINOS = (12, 14, 16)
_PROCESSES = {1: "WeakBosonAndParton:qg2gmZq", 0: "WeakBosonAndParton:qqbar2gmZg"}


@dataclass(frozen=True)
class Settings:
    """Physics settings of the generation (defaults: the published sample's).

    ``pthat_quark`` and ``pthat_gluon`` are the partonic pT windows (GeV) per
    class; gluon jets lose more pT out of the cone, hence their window sits higher.
    """

    ecm: float = 14_000.0
    jet_r: float = 0.4
    jet_pt_min: float = 500.0
    jet_pt_max: float = 550.0
    jet_y_max: float = 1.7
    pthat_quark: tuple[float, float] = (490.0, 600.0)
    pthat_gluon: tuple[float, float] = (500.0, 600.0)
    mpi: bool = True
    hadronisation: bool = True

    def validate(self) -> Settings:
        """Return ``self``, or raise ``ValueError`` on impossible settings."""
        if not self.ecm > 0:
            raise ValueError(f"ecm must be > 0 GeV, got {self.ecm}")
        if not 0 < self.jet_r <= 1.5:
            raise ValueError(f"jet_r must be in (0, 1.5], got {self.jet_r}")
        if not 0 <= self.jet_pt_min < self.jet_pt_max:
            raise ValueError(f"the jet pT window [{self.jet_pt_min}, {self.jet_pt_max}] GeV is empty: "
                             "jet_pt_min must be >= 0 and below jet_pt_max")
        if not self.jet_y_max > 0:
            raise ValueError(f"jet_y_max must be > 0, got {self.jet_y_max}")
        for name in ("pthat_quark", "pthat_gluon"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(f"{name} window [{lo}, {hi}] GeV is empty or negative: need 0 < min < max")
            if hi <= self.jet_pt_min * 0.5 or lo >= self.jet_pt_max * 2:
                raise ValueError(f"{name} window [{lo}, {hi}] GeV cannot produce jets in "
                                 f"[{self.jet_pt_min}, {self.jet_pt_max}] GeV")
            if 2 * hi > self.ecm:
                raise ValueError(f"{name} maximum {hi} GeV exceeds half the collision energy {self.ecm} GeV")
        return self

    def pthat(self, label: int) -> tuple[float, float]:
        return self.pthat_quark if label == 1 else self.pthat_gluon


DEFAULT = Settings()


def _pythia(label: int, seed: int, settings: Settings) -> Any:
    import pythia8mc

    lo, hi = settings.pthat(label)
    py = pythia8mc.Pythia("", False)
    commands = [
        f"Beams:eCM = {settings.ecm}",
        f"{_PROCESSES[label]} = on",
        "WeakZ0:gmZmode = 2",
        "23:onMode = off",
        "23:onIfAny = 12 14 16",
        "PDFinProcess:nQuarkIn = 3",
        f"PhaseSpace:pTHatMin = {lo}",
        f"PhaseSpace:pTHatMax = {hi}",
        f"PartonLevel:MPI = {'on' if settings.mpi else 'off'}",
        f"HadronLevel:all = {'on' if settings.hadronisation else 'off'}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Print:quiet = on",
    ]
    for cmd in commands:
        if not py.readString(cmd):
            raise RuntimeError(f"Pythia refused the setting {cmd!r}")
    if not py.init():
        raise RuntimeError("Pythia failed to initialise (see its messages above)")
    return py


def _quiet_fastjet() -> None:
    """Silence FastJet's banner, printed by every worker process (FastJet is cited in the docs instead)."""
    global _FASTJET_QUIET
    if not _FASTJET_QUIET:
        import fastjet._swig

        fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)
        _FASTJET_QUIET = True


_FASTJET_QUIET = False


def _cluster_leading(events: Any, settings: Settings) -> tuple[np.ndarray, list[np.ndarray]]:
    """Leading anti-kT jet of each event; returns (accepted event indices, constituents per accepted jet)."""
    import awkward as ak
    import fastjet

    _quiet_fastjet()
    prt = events.prt
    aid = abs(prt.id)
    final = prt[(prt.status > 0) & (aid != 12) & (aid != 14) & (aid != 16)]
    particles = ak.zip({"px": final.p.px, "py": final.p.py, "pz": final.p.pz, "E": final.p.e})
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.jet_r)
    min_pt = 0.5 * settings.jet_pt_min
    cs = fastjet.ClusterSequence(particles, jetdef)
    jets = cs.inclusive_jets(min_pt=min_pt)
    index = cs.constituent_index(min_pt=min_pt)
    pt = np.hypot(jets.px, jets.py)
    has = ak.num(pt, axis=1) > 0
    lead = ak.argmax(pt, axis=1, keepdims=True)
    lead_pt = ak.to_numpy(ak.fill_none(ak.firsts(pt[lead]), 0.0))
    e = ak.fill_none(ak.firsts(jets.E[lead]), 1.0)
    pz = ak.fill_none(ak.firsts(jets.pz[lead]), 0.0)
    lead_y = ak.to_numpy(0.5 * np.log((e + pz) / (e - pz)))
    ok = ak.to_numpy(has) & (lead_pt >= settings.jet_pt_min) & (lead_pt <= settings.jet_pt_max) \
        & (np.abs(lead_y) < settings.jet_y_max)
    accepted = np.flatnonzero(ok)
    if accepted.size == 0:
        return accepted, []
    idx = ak.firsts(index[lead][accepted])
    sel = final[accepted][idx]
    px, py_, pz_, en = (ak.to_numpy(ak.flatten(sel.p[c])) for c in ("px", "py", "pz", "e"))
    pid = ak.to_numpy(ak.flatten(sel.id)).astype(np.float64)
    counts = ak.to_numpy(ak.num(sel.id, axis=1))
    cpt = np.hypot(px, py_)
    cy = 0.5 * np.log((en + pz_) / (en - pz_))
    cphi = np.arctan2(py_, px)
    jet_phi = np.repeat(np.arctan2(ak.to_numpy(ak.firsts(jets.py[lead]))[accepted],
                                   ak.to_numpy(ak.firsts(jets.px[lead]))[accepted]), counts)
    # Azimuths within pi of the jet's (no periodicity issue downstream).
    cphi = jet_phi + (cphi - jet_phi + np.pi) % (2 * np.pi) - np.pi
    rows = np.stack([cpt, cy, cphi, pid], axis=1)
    out = []
    for chunk in np.split(rows, np.cumsum(counts)[:-1]):
        out.append(chunk[np.argsort(-chunk[:, 0], kind="stable")])
    return accepted, out


def generate_chunk(task: tuple[int, int, int, Settings]) -> dict[str, Any]:
    """Generate ``n`` accepted jets of one class with one seed (a worker's task).

    Parameters
    ----------
    task
        ``(label, n, pythia_seed, settings)``; label 1 = quark, 0 = gluon.

    Returns
    -------
    dict
        ``X`` (n, M, 4) float64, ``n_events`` generated, ``seconds`` (wall) and
        ``cpu_seconds`` (this process's CPU time) spent, Pythia's initialisation included.
    """
    label, n, seed, settings = task
    start, cpu = time.perf_counter(), time.process_time()
    py = _pythia(label, seed, settings)
    jets: list[np.ndarray] = []
    n_events = 0
    acceptance = 0.3  # first guess, updated as we go
    while len(jets) < n:
        batch = int(min(1000, max(20, 1.15 * (n - len(jets)) / max(acceptance, 0.02))))
        events = py.nextBatch(batch)
        n_events += len(events)
        _, found = _cluster_leading(events, settings)
        jets.extend(found)
        acceptance = max(len(jets), 1) / n_events
        if n_events >= 2000 and not jets:
            raise RuntimeError(f"no jet passed the selection in {n_events} events: check the settings "
                               f"(pT window {settings.jet_pt_min}-{settings.jet_pt_max} GeV, partonic window "
                               f"{settings.pthat(label)} GeV)")
    jets = jets[:n]
    m = max(len(j) for j in jets)
    X = np.zeros((n, m, 4))
    for i, j in enumerate(jets):
        X[i, :len(j)] = j
    return {"X": X, "n_events": n_events, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu}


def _chunk_seed(seed: int, label: int, chunk: int) -> int:
    """Pythia seed (1 .. 900,000,000) of one chunk, derived from the user's seed."""
    state = np.random.SeedSequence([seed, label, chunk]).generate_state(1)[0]
    return int(state % 900_000_000) + 1


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def simulate(n_jets: int, *, seed: int = 42, settings: Settings = DEFAULT, chunk_size: int = 400,
             workers: int | None = None) -> dict[str, Any]:
    """Generate ``n_jets`` jets (no cache): ``ceil(n/2)`` quark and ``floor(n/2)`` gluon jets, shuffled.

    Returns
    -------
    dict
        ``X`` (n_jets, M, 4), ``y`` (n_jets,), and ``stats`` (events generated,
        acceptance per class, wall time, accepted jets per second).
    """
    n_jets = _check_count("n_jets", n_jets, 1)
    seed = _check_count("seed", seed, 0)
    chunk_size = _check_count("chunk_size", chunk_size, 1)
    settings.validate()
    counts = {1: (n_jets + 1) // 2, 0: n_jets // 2}
    tasks = []
    for label, total in counts.items():
        for k, start in enumerate(range(0, total, chunk_size)):
            tasks.append((label, min(chunk_size, total - start), _chunk_seed(seed, label, k), settings))
    start = time.perf_counter()
    results = parallel_map(generate_chunk, tasks, desc="Pythia + FastJet (chunks)", workers=workers)
    wall = time.perf_counter() - start
    m = max(r["X"].shape[1] for r in results)
    X = np.zeros((n_jets, m, 4))
    y = np.zeros(n_jets, dtype=np.int64)
    row = 0
    for (label, _, _, _), r in zip(tasks, results):
        X[row:row + len(r["X"]), :r["X"].shape[1]] = r["X"]
        y[row:row + len(r["X"])] = label
        row += len(r["X"])
    order = np.random.default_rng(seed).permutation(n_jets)
    events = {lab: sum(r["n_events"] for t, r in zip(tasks, results) if t[0] == lab) for lab in (0, 1)}
    stats = {
        "n_events_quark": events[1], "n_events_gluon": events[0],
        "acceptance_quark": counts[1] / events[1] if events[1] else math.nan,
        "acceptance_gluon": counts[0] / events[0] if events[0] else math.nan,
        "wall_seconds": wall, "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "jets_per_second": n_jets / wall,
        "jets_per_cpu_second": n_jets / max(sum(r["cpu_seconds"] for r in results), 1e-9),
    }
    return {"X": X[order], "y": y[order], "stats": stats}


def generate(n_jets: int, *, seed: int = 42, settings: Settings = DEFAULT) -> Path:
    """The cached simulation file of ``n_jets`` jets (generated once, then read from the cache).

    Returns
    -------
    Path
        ``<data>/simulated/quark_gluon/<key>/QG_jets_simulated.npz``, readable by
        :func:`course_utils.datasets.quark_gluon.read`.
    """
    n_jets = _check_count("n_jets", n_jets, 1)
    seed = _check_count("seed", seed, 0)
    settings.validate()
    params = {"n_jets": n_jets, "seed": seed, "settings": dataclasses.asdict(settings)}

    def write(folder: Path) -> None:
        out = simulate(n_jets, seed=seed, settings=settings)
        np.savez_compressed(folder / FILE_NAME, X=out["X"], y=out["y"])
        s = out["stats"]
        print(f"[quark_gluon] simulated {n_jets} jets in {s['wall_seconds']:.1f} s "
              f"({s['jets_per_second']:.0f} jets/s; acceptance quark {s['acceptance_quark']:.2f}, "
              f"gluon {s['acceptance_gluon']:.2f})")

    folder = cached_simulation("quark_gluon", params, write, version=VERSION)
    return folder / FILE_NAME


def load_simulated(n_jets: int, *, seed: int = 42, settings: Settings = DEFAULT) -> Dataset:
    """The simulated jets as a :class:`Dataset` (``.data`` = ``(X, y)``, as the real loader)."""
    from course_utils.datasets.quark_gluon import read

    path = generate(n_jets, seed=seed, settings=settings)
    X, y = read(path)
    return Dataset((X, y), "simulated", "quark_gluon",
                   f"course simulation: Pythia 8 ({_pythia_version()}) + FastJet, pp 14 TeV, Z+jet, "
                   f"anti-kT R={settings.jet_r}, pT {settings.jet_pt_min:g}-{settings.jet_pt_max:g} GeV, "
                   f"|y|<{settings.jet_y_max:g}, seed {seed}",
                   "generated here (Pythia 8: GPL v2+; FastJet: GPL v2+)", path,
                   {"n_jets": len(y), "n_quark": int(y.sum()), "n_gluon": int(len(y) - y.sum()), "seed": seed,
                    "settings": dataclasses.asdict(settings)})


def _pythia_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("pythia8mc")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "?"


def benchmark(n_jets: int = 2000, *, workers: int = 2, seed: int = 1) -> dict[str, Any]:
    """Time the generator (no cache): accepted jets per second with ``workers`` processes."""
    out = simulate(n_jets, seed=seed, workers=workers)
    return {"n_jets": n_jets, "workers": workers, **out["stats"]}


if __name__ == "__main__":  # pragma: no cover - `python -m course_utils.datasets.quark_gluon_sim [n_jets] [workers]`
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    w = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    res = benchmark(n, workers=w)
    print(", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in res.items()))
    print(f"accepted jets per second on {w} cores (wall clock): {res['jets_per_second']:.1f}; "
          f"if each worker had a core to itself (CPU time): {w * res['jets_per_cpu_second']:.1f}")
