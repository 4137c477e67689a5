"""The course's own quark and gluon jets: Pythia 8 events clustered with FastJet.

It reproduces the generation of the Komiske-Metodiev-Thaler dataset
(:mod:`course_utils.datasets.quark_gluon`), written in the published layout
(:mod:`course_utils.datasets.quark_gluon.formats`):

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

Nuisance parameters: ``settings`` is a dict of extra Pythia settings applied
after the course's own (for example ``{"TimeShower:alphaSvalue": 0.118}``, the
strong coupling of the final-state shower, or ``{"StringZ:aLund": 0.9}``, a
parameter of the Lund string fragmentation). Two samples with the same seed
and different ``settings`` differ only by those settings. The
settings are part of the cache key; without them the key is the one of the
nominal sample (notebooks 02, 06 and 10).

References: T. Sjöstrand et al., *A comprehensive guide to the physics and
usage of PYTHIA 8.3*, SciPost Phys. Codebases 8 (2022); M. Cacciari, G. P.
Salam, G. Soyez, *FastJet user manual*, Eur. Phys. J. C 72 (2012) 1896
(arXiv:1111.6097), and *The anti-kt jet clustering algorithm*, JHEP 04 (2008) 063.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.datasets import _pythia
from course_utils.datasets._cache import cached_simulation, parallel_map
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.quark_gluon import formats
from course_utils.validation import check_count

__all__ = ["Setup", "DEFAULT", "FILE_NAME", "RESERVED", "simulate", "generate", "generate_chunk",
           "check_settings", "benchmark"]

#: Name of the file written in the simulation's cache folder.
FILE_NAME = "QG_jets_simulated.npz"
#: Generation statistics written beside it (jets per second, acceptance).
STATS_NAME = "generation.json"
#: Bump when the generator's output changes (invalidates old caches).
VERSION = "1"

_NEUTRINOS = (12, 14, 16)
_PROCESSES = {1: "WeakBosonAndParton:qg2gmZq", 0: "WeakBosonAndParton:qqbar2gmZg"}


@dataclass(frozen=True)
class Setup:
    """Process, selection and switches of the generation (defaults: the published sample's).

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

    def validate(self) -> Setup:
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


DEFAULT = Setup()

#: Pythia settings that the course sets itself (process, selection, seed): ``settings`` cannot change them.
RESERVED = ("Beams:", "PhaseSpace:pTHat", "WeakBosonAndParton:", "WeakZ0:gmZmode", "23:", "PDFinProcess:",
            "PartonLevel:MPI", "HadronLevel:all", "Random:", "Print:", "Next:")


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def check_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate extra Pythia settings and return them as a sorted dict.

    Parameters
    ----------
    settings
        ``{"TimeShower:alphaSvalue": 0.118, ...}``: names as in the Pythia
        manual, values numbers, booleans (``on``/``off``) or words.

    Raises
    ------
    ValueError
        Not a mapping, a name without ``:``, a value that is not a number, a
        boolean or a string, a setting the course sets itself (:data:`RESERVED`),
        or a name or value that Pythia refuses (unknown, out of range).
    """
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise ValueError(f"settings must be a dict of Pythia settings such as {{'TimeShower:alphaSvalue': 0.118}}, "
                         f"got {type(settings).__name__}")
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if not isinstance(key, str) or ":" not in key:
            raise ValueError(f"Pythia setting names look like 'TimeShower:alphaSvalue', got {key!r}")
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        if not isinstance(value, (bool, int, float, str)) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"the value of {key} must be a finite number, a boolean or a word, got {value!r}")
        if any(key.lower().startswith(r.lower()) for r in RESERVED):
            raise ValueError(f"{key} is set by the course's generator itself (process, selection, seed): "
                             f"settings may not change {RESERVED}")
        out[key.strip()] = value
    if out:
        from course_utils._optional import require

        pythia8mc = require("pythia8mc", why="the quark/gluon simulation (Pythia 8)")

        py = pythia8mc.Pythia("", False)
        for key, value in out.items():
            if not py.readString(f"{key} = {_format(value)}"):
                raise ValueError(f"Pythia refused the setting {key} = {_format(value)!r} (unknown name, or a value "
                                 "out of its allowed range: see the Pythia manual and the message above)")
    return dict(sorted(out.items()))


def _generator(label: int, seed: int, settings: Setup, extra: Mapping[str, Any]) -> Any:
    lo, hi = settings.pthat(label)
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
        *(f"{key} = {_format(value)}" for key, value in extra.items()),
    ]
    return _pythia.new(commands, what=f"the {_PROCESSES[label]} process")


def _quiet_fastjet() -> None:
    """Silence FastJet's banner, printed by every worker process (FastJet is cited in the docs instead)."""
    global _FASTJET_QUIET
    if not _FASTJET_QUIET:
        from course_utils._optional import require

        require("fastjet", why="the quark/gluon simulation's jets (FastJet)")
        import fastjet._swig

        fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)
        _FASTJET_QUIET = True


_FASTJET_QUIET = False


def _cluster_leading(events: Any, settings: Setup) -> tuple[np.ndarray, list[np.ndarray]]:
    """Leading anti-kT jet of each event; returns (accepted event indices, constituents per accepted jet)."""
    import awkward as ak

    from course_utils._optional import require

    fastjet = require("fastjet", why="the quark/gluon simulation's jets (FastJet)")
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


def generate_chunk(task: tuple[int, int, int, Setup, dict[str, Any]]) -> dict[str, Any]:
    """Generate ``n`` accepted jets of one class with one seed (a worker's task).

    Parameters
    ----------
    task
        ``(label, n, pythia_seed, setup, settings)``; label 1 = quark, 0 = gluon;
        ``settings`` the extra Pythia settings (already checked).

    Returns
    -------
    dict
        ``X`` (n, M, 4) float64, ``n_events`` generated, ``seconds`` (wall) and
        ``cpu_seconds`` (this process's CPU time) spent, Pythia's initialisation included.
    """
    label, n, seed, settings, extra = task
    start, cpu = time.perf_counter(), time.process_time()
    py = _generator(label, seed, settings, extra)
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
    return check_count(value, name, min_value=minimum)


def _checked(n: object, seed: object, chunk_size: object, setup: object,
             settings: Mapping[str, Any] | None) -> tuple[int, int, int, dict[str, Any]]:
    """The arguments of :func:`generate` and :func:`simulate`, checked: ``n``, ``seed``, ``chunk_size``, settings."""
    if not isinstance(setup, Setup):
        raise ValueError(f"setup must be a quark_gluon.simulation.Setup, got {type(setup).__name__}")
    setup.validate()
    return (_check_count("n", n, 1), _check_count("seed", seed, 0), _check_count("chunk_size", chunk_size, 1),
            check_settings(settings))


def generate(n: int, *, seed: int = 42, settings: Mapping[str, Any] | None = None, setup: Setup = DEFAULT,
             chunk_size: int = 400, workers: int | None = None) -> dict[str, Any]:
    """Generate ``n`` jets now (no cache): ``ceil(n/2)`` quark and ``floor(n/2)`` gluon jets, shuffled.

    Parameters
    ----------
    n
        Number of jets.
    seed
        The user's seed; each chunk of ``chunk_size`` jets gets a Pythia seed
        derived from it, so the output does not depend on the number of workers.
    settings
        Extra Pythia settings (the nuisance parameters), see :func:`check_settings`.
    setup
        Process, selection and switches (:data:`DEFAULT`: the published sample's).
    chunk_size, workers
        Jets per task, and worker processes (one per core by default).

    Returns
    -------
    dict
        ``X`` (n, M, 4) float64, ``y`` (n,) int64, and ``stats`` (events
        generated, acceptance per class, wall and CPU time, accepted jets per
        second of wall clock and per CPU second).
    """
    n, seed, chunk_size, extra = _checked(n, seed, chunk_size, setup, settings)
    counts = {1: (n + 1) // 2, 0: n // 2}
    tasks = []
    for label, total in counts.items():
        for k, start in enumerate(range(0, total, chunk_size)):
            tasks.append((label, min(chunk_size, total - start), _chunk_seed(seed, label, k), setup, extra))
    start = time.perf_counter()
    results = parallel_map(generate_chunk, tasks, desc="Pythia + FastJet (chunks)", workers=workers)
    wall = time.perf_counter() - start
    m = max(r["X"].shape[1] for r in results)
    X = np.zeros((n, m, 4))
    y = np.zeros(n, dtype=np.int64)
    row = 0
    for task, r in zip(tasks, results):
        X[row:row + len(r["X"]), :r["X"].shape[1]] = r["X"]
        y[row:row + len(r["X"])] = task[0]
        row += len(r["X"])
    order = np.random.default_rng(seed).permutation(n)
    events = {lab: sum(r["n_events"] for t, r in zip(tasks, results) if t[0] == lab) for lab in (0, 1)}
    cpu = sum(r["cpu_seconds"] for r in results)
    stats = {
        "n_events_quark": events[1], "n_events_gluon": events[0],
        "acceptance_quark": counts[1] / events[1] if events[1] else math.nan,
        "acceptance_gluon": counts[0] / events[0] if events[0] else math.nan,
        "wall_seconds": wall, "cpu_seconds": cpu,
        "jets_per_second": n / wall,
        "jets_per_cpu_second": n / max(cpu, 1e-9),
        "workers": min(len(tasks), workers) if workers else None,
    }
    return {"X": X[order], "y": y[order], "stats": stats}


def simulate(n: int, *, seed: int = 42, settings: Mapping[str, Any] | None = None, setup: Setup = DEFAULT,
             chunk_size: int = 400, workers: int | None = None, verbose: bool = True) -> Dataset:
    """The course's simulated jets, generated once into the cache, then read back with :func:`formats.read`.

    Parameters
    ----------
    n, seed, settings, setup, chunk_size, workers
        As :func:`generate`. The cache key holds ``n``, ``seed``, ``setup`` and,
        only when given, ``settings`` (and a non-default ``chunk_size``): the
        nominal sample keeps the key it always had.
    verbose
        Print the generation rate when the sample is generated.

    Returns
    -------
    Dataset
        ``.data`` is ``(X, y)`` as :func:`formats.read` returns them;
        ``.details`` holds the settings and, under ``"generation"``, the
        statistics measured when the sample was generated (jets per second...).
    """
    n, seed, chunk_size, extra = _checked(n, seed, chunk_size, setup, settings)
    params: dict[str, Any] = {"n_jets": n, "seed": seed, "settings": dataclasses.asdict(setup)}
    if extra:
        params["pythia_settings"] = extra
    if chunk_size != 400:
        params["chunk_size"] = chunk_size

    def write(folder: Path) -> None:
        out = generate(n, seed=seed, settings=extra, setup=setup, chunk_size=chunk_size, workers=workers)
        formats.write((out["X"], out["y"]), folder / FILE_NAME)
        s = out["stats"]
        (folder / STATS_NAME).write_text(json.dumps(s, indent=2))
        if verbose:
            print(f"[quark_gluon] simulated {n} jets in {s['wall_seconds']:.1f} s "
                  f"({s['jets_per_second']:.1f} jets/s; acceptance quark {s['acceptance_quark']:.2f}, "
                  f"gluon {s['acceptance_gluon']:.2f})")

    folder = cached_simulation("quark_gluon", params, write, version=VERSION)
    path = folder / FILE_NAME
    X, y = formats.read(path)
    stats = json.loads((folder / STATS_NAME).read_text()) if (folder / STATS_NAME).is_file() else {}
    what = ", ".join(f"{k}={v}" for k, v in extra.items()) or "nominal settings"
    return Dataset((X, y), "simulated", "quark_gluon",
                   f"course simulation: Pythia 8 ({_pythia_version()}) + FastJet, pp 14 TeV, Z+jet, "
                   f"anti-kT R={setup.jet_r}, pT {setup.jet_pt_min:g}-{setup.jet_pt_max:g} GeV, "
                   f"|y|<{setup.jet_y_max:g}, seed {seed}, {what}",
                   SIMULATION_LICENCE, path,
                   {"n_jets": len(y), "n_quark": int(y.sum()), "n_gluon": int(len(y) - y.sum()), "seed": seed,
                    "setup": dataclasses.asdict(setup), "settings": extra, "generation": stats,
                    "generator": "pythia"})


def _pythia_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("pythia8mc")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "?"


def benchmark(n: int = 2000, *, workers: int = 2, seed: int = 1,
              settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Time the generator (no cache): accepted jets per second with ``workers`` processes."""
    out = generate(n, seed=seed, workers=workers, settings=settings)
    return {"n": n, "workers": workers, **out["stats"]}


if __name__ == "__main__":  # pragma: no cover - `python -m course_utils.datasets.quark_gluon.simulation [n] [workers]`
    import sys

    n_jets = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    w = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    res = benchmark(n_jets, workers=w)
    print(", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in res.items()))
    print(f"accepted jets per second on {w} cores (wall clock): {res['jets_per_second']:.1f}; "
          f"if each worker had a core to itself (CPU time): {w * res['jets_per_cpu_second']:.1f}")
