"""The contract every dataset of ``course_utils.datasets`` keeps, checked once for all of them.

In the spirit of scikit-learn's ``parametrize_with_checks``: each check runs on
every name of :data:`course_utils.datasets.DATASETS`. A dataset only supplies a
:class:`Case` below: how to write a tiny copy of its published files (with its
own ``write``), what a row is, and which file to damage. The checks:

* the signature of ``load`` (``source``, ``n``, ``seed``, ``verbose``, ``data_home``);
* a bad ``n`` or ``source`` refused with the same message, before any I/O;
* offline: ``"real"`` fails and ``"auto"`` falls back to the simulation, in seconds;
* a tiny published copy in ``data_home`` is read: ``len(ds) == n``, same seed same rows;
* ``read(write(x)) == x``, and a truncated file is a ``ValueError``;
* a cached file with a wrong checksum is fetched again (datasets with a published sha256);
* provenance, licence and how the published data were made, in English;
* same seed, same simulation; another seed, another one (Pythia-based ones: ``slow``).

Dataset-specific behaviour (the physics of each simulation, format quirks) is
tested in ``tests/test_<dataset>.py``.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pandas as pd
import pytest

from course_utils import datasets
from course_utils.datasets import DATASETS, Dataset, DataUnavailableError, RemoteFile
from course_utils.datasets._registry import SIMULATION_LICENCE
from course_utils.validation import describe

# --- tiny published copies, written with each dataset's own writer --------------------------------------------


def _magic(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.magic
    rng = np.random.default_rng(0)
    rows = 2 * n  # more than asked: load draws a random subset of them
    df = pd.DataFrame(np.round(rng.uniform(1, 100, (rows, len(m.FEATURES))), 4), columns=m.FEATURES)
    df["class"] = np.where(np.arange(rows) < rows // 2, "g", "h")
    path = m.write(df, folder / m.FILE.name)
    content = path.read_bytes()
    monkeypatch.setattr(m, "FILE", RemoteFile(m.FILE.name, m.FILE.urls, hashlib.sha256(content).hexdigest(),
                                              len(content), m.FILE.archive_member))
    return [path]


def _cms_dimuon(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.cms_dimuon
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, n)
    k = int(counts.sum())
    events = ak.unflatten(ak.zip({"pt": rng.uniform(3, 80, k), "eta": rng.uniform(-2.4, 2.4, k),
                                  "phi": rng.uniform(-np.pi, np.pi, k), "charge": rng.choice([-1, 1], k)}), counts)
    # the whole file is 2.2 GB: a tiny copy is what the loader caches, a slice of its first n events
    return [m.write(events, m._slice_path(n, folder))]


def _quark_gluon(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.quark_gluon
    rng = np.random.default_rng(0)
    X = np.zeros((n, 5, 4))
    X[:, :3, 0] = rng.uniform(1, 100, (n, 3))
    X[:, :3, 1:3] = rng.normal(0, 0.3, (n, 3, 2))
    X[:, :3, 3] = rng.choice([22, 211, -211], (n, 3))
    y = (np.arange(n) % 2).astype(np.float64)
    path = m.write((X, y), folder / m.FILES[0].name)
    remote = m.FILES[0]
    files = (RemoteFile(remote.name, remote.urls, hashlib.sha256(path.read_bytes()).hexdigest()), *m.FILES[1:])
    monkeypatch.setattr(m, "FILES", files)
    return [path]


def _higgs(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.higgs
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(1.0, 0.5, (n, len(m.FEATURES))).astype(np.float32), columns=m.FEATURES)
    df.insert(0, "label", np.arange(n) % 2)
    return [m.write(df, m.full_path(folder))]


def _brain_mri(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.brain_mri
    rng = np.random.default_rng(0)
    per = n // (len(m.SPLITS) * len(m.CLASSES))
    tree = {split: {c: [rng.integers(60, 200, (40, 40), dtype=np.uint8) for _ in range(per)] for c in m.CLASSES}
            for split in m.SPLITS}
    m.write(tree, folder)
    return sorted(folder.rglob("*.jpg"))


def _trackml(folder: Path, n: int, monkeypatch) -> list[Path]:
    f = datasets.trackml.formats
    pid = 4503668346847232
    hits = pd.DataFrame({"hit_id": [1, 2, 3], "x": [-64.4099, 10.5, 30.25], "y": [-7.16, 1.0, 2.0],
                         "z": [-1502.5, 30.0, 60.0], "volume_id": [7, 8, 8], "layer_id": [2, 2, 4],
                         "module_id": [1, 5, 9]})
    cells = pd.DataFrame({"hit_id": [1, 1, 2, 3], "ch0": [209, 210, 68, 5], "ch1": [628, 628, 446, 7],
                          "value": [0.013, 0.27, 0.5, 0.1]})
    particles = pd.DataFrame({"particle_id": [pid, 22], "particle_type": [211, -13], "vx": [-0.009, 0.0],
                              "vy": [0.009, 0.0], "vz": [-5.2, 1.0], "px": [-0.55, 1.0], "py": [0.32, 0.0],
                              "pz": [-10.4, 0.2], "q": [1, -1], "nhits": [1, 2]})
    truth = pd.DataFrame({"hit_id": [1, 2, 3], "particle_id": [pid, 22, 22], "tx": [-64.41, 10.5, 30.25],
                          "ty": [-7.16, 1.0, 2.0], "tz": [-1502.5, 30.0, 60.0], "tpx": [-0.55, 1.0, 1.0],
                          "tpy": [0.32, 0.0, 0.0], "tpz": [-10.4, 0.2, 0.2], "weight": [0.0, 0.5, 0.5]})
    for i in range(n):
        f.write(f.EventTables(hits, cells, particles, truth), folder / "train_sample", 1000 + i, compress=True)
    return sorted((folder / "train_sample").glob("*-hits.csv.gz"))


def _lhco(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.lhco
    rng = np.random.default_rng(0)
    n_bkg, n_sig = 2 * n, n
    df = pd.DataFrame(rng.normal(0, 100, (n_bkg + n_sig, len(m.COLUMNS) - 1)), columns=m.COLUMNS[:-1])
    df["label"] = np.r_[np.zeros(n_bkg), np.ones(n_sig)]
    monkeypatch.setattr(m, "N_BACKGROUND", n_bkg)
    monkeypatch.setattr(m, "N_SIGNAL", n_sig)
    return [m.write(df, folder / m.FILE.name)]


def _calo(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.calo
    rng = np.random.default_rng(0)
    data = m.CaloData(rng.choice(m.INCIDENT_ENERGIES, 2 * n), rng.exponential(1.0, (2 * n, m.N_VOXELS))
                      .astype(np.float32))
    return [m.write(data, folder / m.FILES[0].name)]


def _jetclass(folder: Path, n: int, monkeypatch) -> list[Path]:
    m = datasets.jetclass
    rng = np.random.default_rng(0)
    rows = 2 * n  # more than asked: load draws a random subset of them
    counts = rng.integers(1, 6, rows)
    k = int(counts.sum())
    particles = ak.zip({b: ak.unflatten(rng.uniform(1, 50, k).astype(dt), counts)
                        for b, dt in m.formats.PARTICLE_BRANCHES.items()})
    jets = pd.DataFrame({b: rng.uniform(1, 900, rows).astype(np.float32) for b in m.formats.JET_BRANCHES})
    aux = pd.DataFrame({b: rng.uniform(0, 1, rows).astype(np.float32) for b in m.formats.AUX_BRANCHES})
    data = m.JetClassData(particles, jets, np.arange(rows) % len(m.CLASSES), aux)
    return [m.write(data, folder / m.FILE.name)]


# --- how to compare, write and read each dataset's data ---------------------------------------------------------


def _same(a: Any, b: Any, atol: float = 0.0) -> bool:
    """Whether two loaded data are equal (``atol``: for lossy formats, the largest mean difference)."""
    if isinstance(a, pd.DataFrame):
        return a.shape == b.shape and list(a.columns) == list(b.columns) and bool(
            np.allclose(a.select_dtypes("number"), b.select_dtypes("number"), rtol=0, atol=atol)
            and a.select_dtypes(exclude="number").equals(b.select_dtypes(exclude="number")))
    if isinstance(a, ak.Array):
        return ak.to_list(a) == ak.to_list(b)
    if isinstance(a, (tuple, list)) and not hasattr(a, "_fields"):
        return len(a) == len(b) and all(_same(x, y, atol) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.mean(np.abs(a.astype(float) - b.astype(float))) <= atol)
    if hasattr(a, "__dataclass_fields__") or hasattr(a, "_fields"):  # MRIImages, CaloData, EventTables, JetClassData
        names = a._fields if hasattr(a, "_fields") else list(a.__dataclass_fields__)
        return all(_same(getattr(a, k), getattr(b, k), atol) if not isinstance(getattr(a, k), (str, tuple))
                   or hasattr(getattr(a, k), "_fields") else getattr(a, k) == getattr(b, k) for k in names)
    return a == b


def _write_read_events(data: list, folder: Path) -> list:
    f = datasets.trackml.formats
    return [f.read(f.write(ev, folder, 1000 + i)) for i, ev in enumerate(data)]


@dataclass
class Case:
    """What the contract needs to know of one dataset."""

    publish: Callable[[Path, int, Any], list[Path]]
    #: Rows asked of the tiny published copy and of the simulation.
    n: int = 4
    n_sim: int = 20
    #: Arguments particular to the dataset (kept small: image_size, pileup...).
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Arguments of the simulation's seed check only (e.g. fewer Pythia processes).
    sim_kwargs: dict[str, Any] = field(default_factory=dict)
    #: ``read(write(x))`` for the dataset's data ``x``, into a folder.
    round_trip: Callable[[Any, Path], Any] | None = None
    #: Tolerance of that round trip (JPEG is lossy).
    atol: float = 0.0
    #: Whether the simulation needs Pythia (its seed check is then marked slow).
    pythia: bool = False
    #: Whether the published copy's seed draws a random subset.
    seeded_subset: bool = False


def _rt(module: str, suffix: str) -> Callable[[Any, Path], Any]:
    def round_trip(x: Any, folder: Path) -> Any:
        m = getattr(datasets, module)
        return m.read(m.write(x, folder / f"again{suffix}"))
    return round_trip


def _rt_brain(x: Any, folder: Path) -> Any:
    m = datasets.brain_mri
    return m.read(m.write(x, folder / "again"), image_size=x.X_train.shape[1], progress=False)


CASES: dict[str, Case] = {
    "magic": Case(_magic, n=6, round_trip=_rt("magic", ".data"), seeded_subset=True),
    # cms_dimuon: enough events that half of the ROOT file misses some of their baskets
    "cms_dimuon": Case(_cms_dimuon, n=2000, round_trip=_rt("cms_dimuon", ".root"), pythia=True),
    "quark_gluon": Case(_quark_gluon, n=6, round_trip=_rt("quark_gluon", ".npz"), pythia=True),
    "higgs": Case(_higgs, n=6, round_trip=_rt("higgs", ".csv.gz"), pythia=True),
    "brain_mri": Case(_brain_mri, n=16, n_sim=16, kwargs={"image_size": 16}, round_trip=_rt_brain, atol=0.05),
    "trackml": Case(_trackml, n=2, n_sim=1, kwargs={"pileup": 0}, round_trip=_write_read_events, pythia=True),
    "lhco": Case(_lhco, n=6, round_trip=_rt("lhco", ".h5"), pythia=True, seeded_subset=True),
    "calo": Case(_calo, n=6, round_trip=_rt("calo", ".hdf5"), seeded_subset=True),
    # two processes, not ten: the seed contract is the same, Pythia is initialised 6 times instead of 30
    "jetclass": Case(_jetclass, n=6, n_sim=4, sim_kwargs={"classes": ("QCD", "Zqq")},
                     round_trip=_rt("jetclass", ".root"), pythia=True, seeded_subset=True),
}

#: French words that must not appear in the provenance and licence strings (they are printed in English).
FRENCH = re.compile(r"\b(du|des|les|le|la|pas|cours|produite|même|données)\b", re.IGNORECASE)


def test_every_dataset_has_a_case():
    assert sorted(CASES) == sorted(DATASETS)


@pytest.fixture(params=DATASETS)
def name(request) -> str:
    return request.param


def _module(name: str) -> Any:
    return getattr(datasets, name)


def _stub_simulation(name: str, monkeypatch, tmp_path: Path, calls: list) -> None:
    """The module's ``simulation.simulate`` replaced by a tiny dataset (the fall-back, not the physics, is tested)."""
    import importlib

    case = CASES[name]
    folder = tmp_path / "stub"
    folder.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        paths = case.publish(folder, max(case.n, 16 if name == "brain_mri" else 1), mp)
        real = _module(name).load("real", n=case.n, verbose=False, data_home=folder, **case.kwargs)
    # lhco's load draws its sample from the simulated table: give it the whole tiny table
    data = _module(name).read(paths[0]) if name == "lhco" else real.data

    def simulate(*args, **kwargs):
        calls.append((args, kwargs))
        return Dataset(data, "simulated", name, "course simulation: stub", SIMULATION_LICENCE, paths[0])

    sim = importlib.import_module(f"course_utils.datasets.{name}.simulation")
    monkeypatch.setattr(sim, "simulate", simulate)


# --- the checks ---------------------------------------------------------------------------------------------------


def test_load_signature(name):
    params = inspect.signature(_module(name).load).parameters
    common = {"source": "auto", "n": None, "seed": 42, "verbose": True, "data_home": None}
    assert list(params)[:5] == list(common)
    for key, default in common.items():
        assert params[key].default == default, key
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if key == "source" else inspect.Parameter.KEYWORD_ONLY
        assert params[key].kind == kind, key
    doc = _module(name).load.__doc__
    for key in common:
        assert re.search(rf"^\s+{key}\b", doc, re.MULTILINE), f"load's docstring does not document {key}"


@pytest.mark.parametrize("bad", [0, -3, 2.5, "abc", True])
def test_bad_n_is_refused_with_one_message(name, bad, data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    expected = rf"^n must be an integer (>= 1|in \[1, [0-9]+\]) or None, got {re.escape(describe(bad))}$"
    for source in ("auto", "real", "simulated"):
        with pytest.raises(ValueError, match=expected):
            _module(name).load(source, n=bad, verbose=False)


def test_unknown_source_is_refused(name):
    with pytest.raises(ValueError, match=r"^source must be one of \('auto', 'real', 'simulated'\), got 'reel'"):
        _module(name).load("reel", n=CASES[name].n, verbose=False)


def test_offline_falls_back_in_seconds(name, data_dir, monkeypatch, tmp_path, capsys):
    calls: list = []
    _stub_simulation(name, monkeypatch, tmp_path, calls)
    capsys.readouterr()
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    case = CASES[name]
    t0 = time.monotonic()
    with pytest.raises(DataUnavailableError):
        _module(name).load("real", n=case.n, **case.kwargs)
    ds = _module(name).load("auto", n=case.n, seed=7, **case.kwargs)
    assert time.monotonic() - t0 < 10
    assert ds.source == "simulated" and calls and calls[-1][1].get("seed", 7) in (7, 42)
    out = capsys.readouterr().out
    assert "using the course's simulation instead" in out and "SIMULATION" in out


def test_published_copy_in_data_home(name, data_dir, tmp_path, monkeypatch, capsys):
    case = CASES[name]
    home = tmp_path / "home"
    home.mkdir()
    case.publish(home, case.n, monkeypatch)
    monkeypatch.setenv("COURSE_OFFLINE", "1")  # nothing may be downloaded: everything is in data_home
    ds = _module(name).load("real", n=case.n, seed=3, data_home=home, **case.kwargs)
    assert isinstance(ds, Dataset) and ds.source == "real" and ds.name == name
    assert len(ds) == case.n
    assert Path(ds.path).resolve().is_relative_to(home.resolve())
    info = _module(name).INFO
    assert ds.made_by.startswith(("measured", "Monte Carlo")) and ds.doi == info.doi
    assert ds.provenance and ds.licence
    out = capsys.readouterr().out
    assert ds.provenance in out and ds.licence in out
    assert not any(Path(data_dir).rglob("*.*")), "data_home given: nothing may be written to <data>/real"
    again = _module(name).load("real", n=case.n, seed=3, data_home=home, verbose=False, **case.kwargs)
    assert _same(again.data, ds.data)
    if case.seeded_subset:
        other = _module(name).load("real", n=case.n, seed=4, data_home=home, verbose=False, **case.kwargs)
        assert not _same(other.data, ds.data)


def test_read_write_round_trip(name, tmp_path, monkeypatch):
    case = CASES[name]
    home = tmp_path / "home"
    home.mkdir()
    case.publish(home, case.n, monkeypatch)
    x = _module(name).load("real", n=case.n, data_home=home, verbose=False, **case.kwargs).data
    out = tmp_path / "out"
    out.mkdir()
    assert case.round_trip is not None
    assert _same(case.round_trip(x, out), x, case.atol)


def test_truncated_file_is_a_value_error(name, tmp_path, monkeypatch):
    case = CASES[name]
    home = tmp_path / "home"
    home.mkdir()
    paths = case.publish(home, case.n, monkeypatch)
    for p in paths:
        body = p.read_bytes()
        p.write_bytes(body[: len(body) // 2])
    with pytest.raises((ValueError, DataUnavailableError)):
        _module(name).load("real", n=case.n, data_home=home, verbose=False, **case.kwargs)


def _serve_zip(server, remote: RemoteFile, content: bytes) -> str:
    path = server.root / "archive.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(remote.archive_member, content)
    return f"{server.url}/archive.zip"


@pytest.mark.network
def test_corrupt_cached_file_is_fetched_again(name, data_dir, tmp_path, http_server, monkeypatch, capsys):
    m = _module(name)
    if not any(f.sha256 for f in m.INFO.files):
        pytest.skip(f"{name}: no published sha256, its files are checked by format (test_truncated_file...)")
    case = CASES[name]
    src = tmp_path / "src"
    src.mkdir()
    path = case.publish(src, case.n, monkeypatch)[0]
    content = path.read_bytes()
    remote = m.FILE if name == "magic" else m.FILES[0]
    url = _serve_zip(http_server, remote, content) if remote.archive_member else f"{http_server.url}/{path.name}"
    if not remote.archive_member:
        (http_server.root / path.name).write_bytes(content)
    served = RemoteFile(remote.name, (url,), remote.sha256, remote.size, remote.archive_member)
    if name == "magic":
        monkeypatch.setattr(m, "FILE", served)
    else:
        monkeypatch.setattr(m, "FILES", (served, *m.FILES[1:]))
    cached = data_dir / "real" / name / remote.name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(content[:-10] + b"0123456789")  # same size, wrong checksum
    ds = m.load("real", n=case.n, verbose=False)
    assert ds.source == "real" and len(ds) == case.n
    assert "corrupt" in capsys.readouterr().out
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == remote.sha256
    assert len(http_server.hits) == 1


def test_registry_provenance_in_english(name):
    info = _module(name).INFO
    assert info.name == name
    for key in ("title", "provenance", "licence", "citation", "homepage", "how_to_obtain", "made_by"):
        assert getattr(info, key), f"{name}: INFO.{key} is empty"
    assert info.made_by.startswith(("measured:", "Monte Carlo:"))
    for text in (info.provenance, info.licence, info.made_by):
        assert not FRENCH.search(text), text


def _simulate_twice(name: str, monkeypatch, tmp_path: Path) -> tuple[Dataset, Dataset, Dataset]:
    case = CASES[name]
    monkeypatch.setenv("COURSE_WORKERS", "1")
    out = []
    for i, seed in enumerate((5, 5, 6)):
        monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / f"data{i}"))  # a fresh cache: really generated again
        out.append(_module(name).load("simulated", n=case.n_sim, seed=seed, verbose=False,
                                      **case.kwargs, **case.sim_kwargs))
    return out[0], out[1], out[2]


def _check_simulation(name, monkeypatch, tmp_path):
    if name == "lhco":  # load() draws from a 70,000-event simulation: the contract is checked on simulate()
        from course_utils.datasets.lhco import simulation

        monkeypatch.setenv("COURSE_WORKERS", "1")
        runs = []
        for i, seed in enumerate((5, 5, 6)):
            monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / f"data{i}"))
            runs.append(simulation.simulate(30, seed=seed, n_signal=3))
        a, b, c = runs
        assert len(a) == 33
    else:
        a, b, c = _simulate_twice(name, monkeypatch, tmp_path)
        assert len(a) == CASES[name].n_sim
    assert a.source == "simulated" and a.made_by == "course simulation"
    assert a.provenance.startswith("course simulation:") and a.licence == SIMULATION_LICENCE
    assert not FRENCH.search(a.provenance)
    assert _same(a.data, b.data) and not _same(a.data, c.data)


@pytest.mark.parametrize("fast_name", [n for n in DATASETS if not CASES[n].pythia])
def test_same_seed_same_simulation(fast_name, data_dir, monkeypatch, tmp_path):
    _check_simulation(fast_name, monkeypatch, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("pythia_name", [n for n in DATASETS if CASES[n].pythia])
def test_same_seed_same_pythia_simulation(pythia_name, data_dir, monkeypatch, tmp_path):
    _check_simulation(pythia_name, monkeypatch, tmp_path)


def test_len_is_the_rows_of_the_main_table(tmp_path):
    X, y = np.zeros((5, 3, 4)), np.zeros(5)
    ds = Dataset((X, y), "simulated", "x", "p", "l", tmp_path)
    assert len(ds) == 5
    assert len(Dataset(pd.DataFrame({"a": range(7)}), "real", "x", "p", "l", tmp_path)) == 7

