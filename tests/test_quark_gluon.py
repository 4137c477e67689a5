"""The quark/gluon dataset: formats (read/write), the loader (checksum path against a local HTTP server,
Pythia and Herwig files) and the Pythia generator with its settings (nuisance parameters)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import socket

import numpy as np
import pytest

from course_utils.datasets import DataUnavailableError, RemoteFile, quark_gluon
from course_utils.datasets.quark_gluon import formats
from course_utils.datasets.quark_gluon import simulation as sim


def tiny_arrays(n=6, m=5, seed=0):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, m, 4))
    for i in range(n):
        k = rng.integers(1, m + 1)
        X[i, :k, 0] = np.sort(rng.exponential(50, k))[::-1] + 1
        X[i, :k, 1] = rng.normal(0, 0.1, k)
        X[i, :k, 2] = 1 + rng.normal(0, 0.1, k)
        X[i, :k, 3] = rng.choice([22, 211, -211, 2112], k)
    y = np.arange(n) % 2
    return X, y


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


@pytest.fixture
def tiny_npz(tmp_path):
    X, y = tiny_arrays()
    path = tmp_path / "QG_jets.npz"
    path.write_bytes(npz_bytes(X=X, y=y))
    return path, X, y


# --------------------------------------------------------------------------- read

def test_read_roundtrip(tiny_npz):
    path, X, y = tiny_npz
    X2, y2 = quark_gluon.read(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == np.float64 and y2.dtype == np.int64


def test_read_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no quark/gluon file"):
        quark_gluon.read(tmp_path / "QG_jets.npz")


def test_read_corrupt_and_truncated(tmp_path, tiny_npz):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip archive" * 10)
    with pytest.raises(ValueError, match="not a readable .npz"):
        quark_gluon.read(junk)
    good = tiny_npz[0].read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="not a readable .npz"):
        quark_gluon.read(cut)


@pytest.mark.parametrize("mutate, match", [
    (lambda X, y: {"X": X}, "lacks the array"),
    (lambda X, y: {"X": X[..., :3], "y": y}, r"shape \(n_jets, M, 4\)"),
    (lambda X, y: {"X": X[0], "y": y}, r"shape \(n_jets, M, 4\)"),
    (lambda X, y: {"X": X, "y": y[:-1]}, "to match X"),
    (lambda X, y: {"X": X, "y": y + 1}, "1 \\(quark\\) or 0 \\(gluon\\)"),
    (lambda X, y: {"X": np.where(X == 22, 0.25, X), "y": y}, "integer PDG ids"),
    (lambda X, y: {"X": np.where(X == 22, 7, X), "y": y}, "unknown PDG id"),
    (lambda X, y: {"X": X * np.nan, "y": y}, "NaN"),
])
def test_read_refuses_bad_content(tmp_path, mutate, match):
    X, y = tiny_arrays()
    path = tmp_path / "QG_jets_bad.npz"
    path.write_bytes(npz_bytes(**mutate(X, y)))
    with pytest.raises(ValueError, match=match):
        quark_gluon.read(path)


# --------------------------------------------------------------------------- registry


def test_read_first_n_jets_trims_the_padding(tmp_path):
    X = np.zeros((3, 5, 4))
    X[0, :2] = [[50, 0.1, 1, 211], [20, 0.0, 1, 22]]
    X[1, :5] = [[10, 0.1, 1, 22]] * 5
    X[2, :1] = [[70, 0.1, 1, 211]]
    path = formats.write((X, np.array([1, 0, 1])), tmp_path / "QG.npz")
    X2, y2 = formats.read(path, n=1)
    assert X2.shape == (1, 2, 4) and y2.tolist() == [1]
    np.testing.assert_array_equal(X2[0], X[0, :2])
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        formats.read(path, n=0)


@pytest.mark.parametrize("data, name, match", [
    ((np.ones((2, 3)), np.array([0, 1])), "a.npz", r"shape \(n_jets, n_particles, 4\)"),
    ((tiny_arrays()[0], np.array([0, 1])), "a.npz", "to match X"),
    ((tiny_arrays()[0], np.full(6, 2)), "a.npz", "1 \\(quark\\) or 0"),
    ((tiny_arrays()[0][..., :3], tiny_arrays()[1]), "a.npz", "no PDG id column"),
    (tiny_arrays(), "a.csv", "npz"),
    ((np.ones((2, 3, 4)),), "a.npz", "pair"),
])
def test_write_refuses_bad_data(tmp_path, data, name, match):
    with pytest.raises(ValueError, match=match):
        formats.write(data, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_registry_lists_the_twenty_files():
    files = quark_gluon.FILES
    assert len(files) == 20 and files[0].name == "QG_jets.npz" and files[19].name == "QG_jets_19.npz"
    assert len({f.sha256 for f in files}) == 20
    assert all(f.urls[0].startswith("https://zenodo.org/record/3164691/files/") for f in files)
    assert quark_gluon.INFO.doi == "10.5281/zenodo.3164691" and quark_gluon.INFO.licence
    assert [f.name for f in quark_gluon.files_needed(100_000)] == ["QG_jets.npz"]
    assert len(quark_gluon.files_needed(100_001)) == 2
    with pytest.raises(ValueError, match="exceeds"):
        quark_gluon.files_needed(2_000_001)
    assert quark_gluon.INFO.made_by.startswith("Monte Carlo: Pythia 8.226")


def test_registry_lists_the_twenty_herwig_files():
    files = quark_gluon.HERWIG_FILES
    assert [f.name for f in files] == [f"QG_jets_herwig_{k}.npz" for k in range(20)]
    assert len({f.sha256 for f in files} | {f.sha256 for f in quark_gluon.FILES}) == 40
    assert all(f.urls[0].startswith("https://zenodo.org/record/3066475/files/") for f in files)
    # energyflow's qg_jets.json, "herwig" / "nobc", first and last sha256
    assert files[0].sha256.startswith("0527349778c0ab2f") and files[19].sha256.startswith("94975b3d99986848")
    assert quark_gluon.files_needed(150_000, "herwig") == files[:2]
    assert set(files) <= set(quark_gluon.INFO.files)
    with pytest.raises(ValueError, match="unknown generator"):
        quark_gluon.files_needed(10, "sherpa")


@pytest.mark.parametrize("kwargs, match", [
    ({"source": "real", "settings": {"TimeShower:alphaSvalue": 0.12}}, "source='simulated'"),
    ({"source": "auto", "settings": {"TimeShower:alphaSvalue": 0.12}}, "source='simulated'"),
    ({"source": "simulated", "generator": "herwig"}, "simulates Pythia only"),
    ({"source": "auto", "generator": "sherpa"}, "unknown generator"),
    ({"source": "elsewhere"}, "source must be one of"),
])
def test_load_refuses_inconsistent_options(kwargs, match, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(ValueError, match=match):
        quark_gluon.load(n=10, verbose=False, **kwargs)


def test_pad_stacks_different_widths():
    a, b = np.ones((2, 3, 4)), 2 * np.ones((1, 5, 4))
    out = formats.pad([a, b])
    assert out.shape == (3, 5, 4) and (out[:2, 3:] == 0).all() and (out[2] == 2).all()


# --------------------------------------------------------------------------- download path (local HTTP server)

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_two_files(http_server, monkeypatch, *, corrupt_second=False, urls=None, herwig=False):
    """Two tiny files served locally, registered in place of the real ones."""
    files, arrays = [], []
    names = ("QG_jets_herwig_0.npz", "QG_jets_herwig_1.npz") if herwig else ("QG_jets.npz", "QG_jets_1.npz")
    for k, name in enumerate(names):
        X, y = tiny_arrays(n=4, m=3 + 2 * k, seed=k)
        data = npz_bytes(X=X, y=y)
        (http_server.root / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if corrupt_second and k == 1:
            digest = "0" * 64
        file_urls = urls(name) if urls else (f"{http_server.url}/{name}",)
        files.append(RemoteFile(name=name, urls=file_urls, sha256=digest))
        arrays.append((X, y))
    monkeypatch.setattr(quark_gluon, "HERWIG_FILES" if herwig else "FILES", tuple(files))
    monkeypatch.setattr(quark_gluon, "JETS_PER_FILE", 4)
    return arrays


@pytest.mark.network
def test_real_path_downloads_only_the_files_needed(data_dir, http_server, monkeypatch):
    arrays = _serve_two_files(http_server, monkeypatch)
    ds = quark_gluon.load("real", n=3, verbose=False)
    X, y = ds.data
    assert ds.source == "real" and X.shape[0] == 3
    np.testing.assert_array_equal(X, arrays[0][0][:3, :X.shape[1]])
    assert [h for h in http_server.hits] == ["/QG_jets.npz"]  # the second file was not needed
    assert (data_dir / "real" / "quark_gluon" / "QG_jets.npz").is_file()
    # Six jets span both files; the first comes from the cache, the arrays are padded to the wider file.
    X, y = quark_gluon.load("real", n=6, verbose=False).data
    assert X.shape == (6, 5, 4) and http_server.hits == ["/QG_jets.npz", "/QG_jets_1.npz"]
    np.testing.assert_array_equal(y, np.concatenate([arrays[0][1], arrays[1][1][:2]]))


@pytest.mark.network
def test_herwig_files_are_a_second_published_source(data_dir, http_server, monkeypatch):
    arrays = _serve_two_files(http_server, monkeypatch, herwig=True)
    ds = quark_gluon.load("real", n=6, generator="herwig", verbose=False)
    X, y = ds.data
    assert ds.source == "real" and ds.details["generator"] == "herwig" and "Herwig" in ds.provenance
    assert http_server.hits == ["/QG_jets_herwig_0.npz", "/QG_jets_herwig_1.npz"]
    np.testing.assert_array_equal(y, np.concatenate([arrays[0][1], arrays[1][1][:2]]))


def test_simulation_needs_an_explicit_size(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(ValueError, match="explicit number of jets"):
        quark_gluon.load("simulated", verbose=False)
    with pytest.raises(ValueError, match="explicit number of jets"):
        quark_gluon.load("auto", verbose=False)  # offline: falls back to the simulation, which needs n


def test_herwig_offline_has_no_simulated_fallback(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="no simulation"):
        quark_gluon.load("auto", n=4, generator="herwig", verbose=False)


@pytest.mark.network
def test_wrong_checksum_is_refused(data_dir, http_server, monkeypatch):
    _serve_two_files(http_server, monkeypatch, corrupt_second=True)
    with pytest.raises(DataUnavailableError, match="QG_jets_1.npz"):
        quark_gluon.load("real", n=6, verbose=False)
    assert not (data_dir / "real" / "quark_gluon" / "QG_jets_1.npz").exists()


@pytest.mark.network
def test_course_mirror_is_tried_first(data_dir, http_server, monkeypatch):
    dead = f"http://127.0.0.1:{_closed_port()}"
    (http_server.root / "quark_gluon").mkdir()
    _serve_two_files(http_server, monkeypatch, urls=lambda name: (f"{dead}/{name}",))
    for name in ("QG_jets.npz", "QG_jets_1.npz"):
        (http_server.root / name).rename(http_server.root / "quark_gluon" / name)
    monkeypatch.setenv("COURSE_DATA_MIRROR", http_server.url)
    X, _ = quark_gluon.load("real", n=2, verbose=False).data
    assert X.shape[0] == 2 and http_server.hits == ["/quark_gluon/QG_jets.npz"]


# --------------------------------------------------------------------------- generator

@pytest.fixture(scope="module")
def generated():
    return sim.generate(60, seed=11, chunk_size=20, workers=1)


@pytest.mark.slow
def test_generator_format(generated, tmp_path):
    from course_utils.physics import jets

    X, y = generated["X"], generated["y"]
    assert X.ndim == 3 and X.shape[0] == 60 and X.shape[2] == 4 and y.sum() == 30
    kin = jets.jet_kinematics(X)
    s = sim.DEFAULT
    # The constituents add up to a jet in the selection window (the jet is their sum, E-scheme).
    assert kin["pt"].between(s.jet_pt_min - 1e-6, s.jet_pt_max + 1e-6).all()
    assert (kin["y"].abs() < s.jet_y_max).all()
    pt = X[..., 0]
    assert (np.diff(pt, axis=1) <= 0).all(), "constituents sorted by decreasing pT, padding last"
    mask = pt > 0
    dphi = np.where(mask, X[..., 2] - kin["phi"].to_numpy()[:, None], 0)
    assert (np.abs(dphi) < np.pi).all(), "phi within pi of the jet"
    path = formats.write((X, y), tmp_path / "QG_jets_sim.npz")
    X2, y2 = quark_gluon.read(path)  # the reader accepts it: same format, known PDG ids
    np.testing.assert_array_equal(X2, X)


@pytest.mark.slow
def test_generator_physics_quarks_have_fewer_constituents(generated):
    X, y = generated["X"], generated["y"]
    n = (X[..., 0] > 0).sum(1)
    assert n[y == 1].mean() + 8 < n[y == 0].mean()
    stats = generated["stats"]
    assert 0.05 < stats["acceptance_quark"] <= 1 and 0.05 < stats["acceptance_gluon"] <= 1


@pytest.mark.parametrize("kwargs, match", [
    ({"n": -3}, "n must be an integer >= 1"),
    ({"n": 0}, "n must be an integer >= 1"),
    ({"n": 10, "seed": -1}, "seed must be an integer >= 0"),
    ({"n": 10, "chunk_size": 0}, "chunk_size"),
    ({"n": 10, "setup": dataclasses.replace(sim.DEFAULT, jet_pt_min=550, jet_pt_max=500)}, "is empty"),
    ({"n": 10, "setup": dataclasses.replace(sim.DEFAULT, jet_pt_min=500, jet_pt_max=500)}, "is empty"),
    ({"n": 10, "setup": dataclasses.replace(sim.DEFAULT, pthat_gluon=(600, 500))}, "pthat_gluon"),
    ({"n": 10, "setup": dataclasses.replace(sim.DEFAULT, pthat_quark=(2000, 3000))}, "cannot produce"),
    ({"n": 10, "setup": dataclasses.replace(sim.DEFAULT, jet_r=0)}, "jet_r"),
])
def test_generator_refuses_impossible_setups(kwargs, match):
    for fn in (sim.generate, sim.simulate):
        with pytest.raises(ValueError, match=match):
            fn(**kwargs)


# --------------------------------------------------------------------------- settings (nuisance parameters)

@pytest.mark.parametrize("settings, match", [
    ({"TimeShower:alphaSvalue": 0.9}, "refused"),          # out of Pythia's range [0.06, 0.25]
    ({"TimeShower:noSuchThing": 1.0}, "refused"),
    ({"alphaS": 0.12}, "look like"),
    ({"TimeShower:alphaSvalue": float("nan")}, "finite number"),
    ({"TimeShower:alphaSvalue": [0.1]}, "finite number"),
    ({"Random:seed": 3}, "set by the course"),
    ({"PhaseSpace:pTHatMin": 100.0}, "set by the course"),
    ({"hadronlevel:all": False}, "set by the course"),
    ([("TimeShower:alphaSvalue", 0.12)], "must be a dict"),
])
def test_check_settings_refuses_bad_settings(settings, match):
    with pytest.raises(ValueError, match=match):
        sim.check_settings(settings)


def test_check_settings_normalises():
    assert sim.check_settings(None) == {} and sim.check_settings({}) == {}
    out = sim.check_settings({"TimeShower:alphaSvalue": np.float64(0.15), "StringZ:aLund": 0.9})
    assert out == {"StringZ:aLund": 0.9, "TimeShower:alphaSvalue": 0.15}
    assert list(out) == ["StringZ:aLund", "TimeShower:alphaSvalue"] and type(out["TimeShower:alphaSvalue"]) is float


def _fake_generate(calls):
    def generate(n, *, seed, settings, setup, chunk_size, workers):
        calls.append(settings)
        X, y = tiny_arrays(n=n, m=3, seed=seed)
        return {"X": X, "y": y, "stats": {"wall_seconds": 1.0, "jets_per_second": float(n), "acceptance_quark": 0.3,
                                          "acceptance_gluon": 0.3}}
    return generate


def test_nominal_cache_key_is_unchanged_and_settings_get_their_own(data_dir, monkeypatch):
    calls = []
    monkeypatch.setattr(sim, "generate", _fake_generate(calls))
    nominal = sim.simulate(6, seed=42, verbose=False)
    # The key that the first release used for the nominal sample (notebooks 02 and 06 keep their caches).
    old = {"version": "1", "n_jets": 6, "seed": 42, "settings": {
        "ecm": 14000.0, "jet_r": 0.4, "jet_pt_min": 500.0, "jet_pt_max": 550.0, "jet_y_max": 1.7,
        "pthat_quark": (490.0, 600.0), "pthat_gluon": (500.0, 600.0), "mpi": True, "hadronisation": True}}
    key = hashlib.sha256(json.dumps(old, sort_keys=True, default=str).encode()).hexdigest()[:12]
    assert nominal.path.parent == data_dir / "simulated" / "quark_gluon" / key
    assert sim.simulate(6, seed=42, settings={}, verbose=False).path == nominal.path
    varied = sim.simulate(6, seed=42, settings={"TimeShower:alphaSvalue": 0.15}, verbose=False)
    again = sim.simulate(6, seed=42, settings={"TimeShower:alphaSvalue": 0.15}, verbose=False)
    assert varied.path != nominal.path and again.path == varied.path
    assert calls == [{}, {"TimeShower:alphaSvalue": 0.15}]  # each generated once, then read from the cache
    assert varied.details["settings"] == {"TimeShower:alphaSvalue": 0.15}
    assert varied.details["generation"]["jets_per_second"] == 6.0
    manifest = json.loads((varied.path.parent / "manifest.json").read_text())
    assert manifest["params"]["pythia_settings"] == {"TimeShower:alphaSvalue": 0.15}


def test_load_simulated_passes_the_settings(data_dir, monkeypatch):
    calls = []
    monkeypatch.setattr(sim, "generate", _fake_generate(calls))
    ds = quark_gluon.load("simulated", n=4, settings={"TimeShower:alphaSvalue": 0.12}, verbose=False)
    assert ds.source == "simulated" and calls == [{"TimeShower:alphaSvalue": 0.12}] and len(ds.data[1]) == 4
    assert "TimeShower:alphaSvalue=0.12" in ds.provenance


@pytest.mark.slow
def test_shower_alpha_s_changes_the_multiplicity():
    """Two samples differing only by the shower's alpha_s: more radiation, more constituents (a test that can fail)."""
    from scipy.stats import mannwhitneyu

    low = sim.generate(80, seed=3, chunk_size=40, workers=1, settings={"TimeShower:alphaSvalue": 0.10})
    high = sim.generate(80, seed=3, chunk_size=40, workers=1, settings={"TimeShower:alphaSvalue": 0.17})
    n_low, n_high = ((d["X"][..., 0] > 0).sum(1) for d in (low, high))
    # Same class content (40 quark, 40 gluon jets) in both samples; only the shower coupling differs.
    assert low["y"].sum() == high["y"].sum() == 40
    p = mannwhitneyu(n_high, n_low, alternative="greater").pvalue
    assert p < 1e-4, f"multiplicity {n_low.mean():.1f} -> {n_high.mean():.1f}, p = {p:.2g}"
    assert n_high.mean() > 1.15 * n_low.mean()
