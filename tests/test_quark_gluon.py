"""The quark/gluon loader (read, checksum path against a local HTTP server) and the Pythia generator."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import socket

import numpy as np
import pytest

from course_utils.datasets import DataUnavailableError, RemoteFile, quark_gluon
from course_utils.datasets import quark_gluon_sim as sim


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


@pytest.mark.parametrize("n", [0, -5, 2.5, True, "10"])
def test_load_refuses_bad_counts(n):
    with pytest.raises(ValueError, match="n_jets"):
        quark_gluon.load("real", n_jets=n)


def test_pad_stacks_different_widths():
    a, b = np.ones((2, 3, 4)), 2 * np.ones((1, 5, 4))
    out = quark_gluon.pad([a, b])
    assert out.shape == (3, 5, 4) and (out[:2, 3:] == 0).all() and (out[2] == 2).all()


# --------------------------------------------------------------------------- download path (local HTTP server)

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_two_files(http_server, monkeypatch, *, corrupt_second=False, urls=None):
    """Two tiny files served locally, registered in place of the real ones."""
    files, arrays = [], []
    for k, name in enumerate(("QG_jets.npz", "QG_jets_1.npz")):
        X, y = tiny_arrays(n=4, m=3 + 2 * k, seed=k)
        data = npz_bytes(X=X, y=y)
        (http_server.root / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if corrupt_second and k == 1:
            digest = "0" * 64
        file_urls = urls(name) if urls else (f"{http_server.url}/{name}",)
        files.append(RemoteFile(name=name, urls=file_urls, sha256=digest))
        arrays.append((X, y))
    monkeypatch.setattr(quark_gluon, "FILES", tuple(files))
    monkeypatch.setattr(quark_gluon, "JETS_PER_FILE", 4)
    return arrays


@pytest.mark.network
def test_real_path_downloads_only_the_files_needed(data_dir, http_server, monkeypatch):
    arrays = _serve_two_files(http_server, monkeypatch)
    ds = quark_gluon.load("real", n_jets=3, verbose=False)
    X, y = ds.data
    assert ds.source == "real" and X.shape[0] == 3
    np.testing.assert_array_equal(X, arrays[0][0][:3, :X.shape[1]])
    assert [h for h in http_server.hits] == ["/QG_jets.npz"]  # the second file was not needed
    assert (data_dir / "real" / "quark_gluon" / "QG_jets.npz").is_file()
    # Six jets span both files; the first comes from the cache, the arrays are padded to the wider file.
    X, y = quark_gluon.load("real", n_jets=6, verbose=False).data
    assert X.shape == (6, 5, 4) and http_server.hits == ["/QG_jets.npz", "/QG_jets_1.npz"]
    np.testing.assert_array_equal(y, np.concatenate([arrays[0][1], arrays[1][1][:2]]))


@pytest.mark.network
def test_wrong_checksum_is_refused(data_dir, http_server, monkeypatch):
    _serve_two_files(http_server, monkeypatch, corrupt_second=True)
    with pytest.raises(DataUnavailableError, match="QG_jets_1.npz"):
        quark_gluon.load("real", n_jets=6, verbose=False)
    assert not (data_dir / "real" / "quark_gluon" / "QG_jets_1.npz").exists()


@pytest.mark.network
def test_corrupt_cached_file_is_fetched_again(data_dir, http_server, monkeypatch):
    arrays = _serve_two_files(http_server, monkeypatch)
    cached = data_dir / "real" / "quark_gluon" / "QG_jets.npz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    X, _ = quark_gluon.load("real", n_jets=2, verbose=False).data
    np.testing.assert_array_equal(X, arrays[0][0][:2, :X.shape[1]])


@pytest.mark.network
def test_course_mirror_is_tried_first(data_dir, http_server, monkeypatch):
    dead = f"http://127.0.0.1:{_closed_port()}"
    (http_server.root / "quark_gluon").mkdir()
    _serve_two_files(http_server, monkeypatch, urls=lambda name: (f"{dead}/{name}",))
    for name in ("QG_jets.npz", "QG_jets_1.npz"):
        (http_server.root / name).rename(http_server.root / "quark_gluon" / name)
    monkeypatch.setenv("COURSE_DATA_MIRROR", http_server.url)
    X, _ = quark_gluon.load("real", n_jets=2, verbose=False).data
    assert X.shape[0] == 2 and http_server.hits == ["/quark_gluon/QG_jets.npz"]


@pytest.mark.slow
def test_offline_auto_falls_back_to_the_simulation(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_WORKERS", "1")
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        quark_gluon.load("real", n_jets=4, verbose=False)
    ds = quark_gluon.load("auto", n_jets=4, seed=3, verbose=False)
    X, y = ds.data
    assert ds.source == "simulated" and X.shape[0] == 4 and sorted(y.tolist()) == [0, 0, 1, 1]
    again = quark_gluon.load("simulated", n_jets=4, seed=3, verbose=False)
    assert again.path == ds.path  # read from the cache
    np.testing.assert_array_equal(again.data[0], X)


# --------------------------------------------------------------------------- generator

@pytest.fixture(scope="module")
def generated():
    return sim.simulate(60, seed=11, chunk_size=20, workers=1)


@pytest.mark.slow
def test_generator_format(generated, tmp_path):
    from course_utils import jets

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
    path = tmp_path / "QG_jets_sim.npz"
    np.savez_compressed(path, X=X, y=y)
    X2, y2 = quark_gluon.read(path)  # the reader accepts it: same format, known PDG ids
    np.testing.assert_array_equal(X2, X)


@pytest.mark.slow
def test_generator_physics_quarks_have_fewer_constituents(generated):
    X, y = generated["X"], generated["y"]
    n = (X[..., 0] > 0).sum(1)
    assert n[y == 1].mean() + 8 < n[y == 0].mean()
    stats = generated["stats"]
    assert 0.05 < stats["acceptance_quark"] <= 1 and 0.05 < stats["acceptance_gluon"] <= 1


@pytest.mark.slow
def test_generator_is_deterministic():
    a = sim.simulate(4, seed=5, chunk_size=2, workers=1)
    b = sim.simulate(4, seed=5, chunk_size=2, workers=1)
    np.testing.assert_array_equal(a["X"], b["X"])
    c = sim.simulate(4, seed=6, chunk_size=2, workers=1)
    assert not np.array_equal(a["X"][..., 0], c["X"][..., 0])


@pytest.mark.parametrize("kwargs, match", [
    ({"n_jets": -3}, "n_jets must be >= 1"),
    ({"n_jets": 0}, "n_jets must be >= 1"),
    ({"n_jets": 10, "seed": -1}, "seed must be >= 0"),
    ({"n_jets": 10, "chunk_size": 0}, "chunk_size"),
    ({"n_jets": 10, "settings": dataclasses.replace(sim.DEFAULT, jet_pt_min=550, jet_pt_max=500)}, "is empty"),
    ({"n_jets": 10, "settings": dataclasses.replace(sim.DEFAULT, jet_pt_min=500, jet_pt_max=500)}, "is empty"),
    ({"n_jets": 10, "settings": dataclasses.replace(sim.DEFAULT, pthat_gluon=(600, 500))}, "pthat_gluon"),
    ({"n_jets": 10, "settings": dataclasses.replace(sim.DEFAULT, pthat_quark=(2000, 3000))}, "cannot produce"),
    ({"n_jets": 10, "settings": dataclasses.replace(sim.DEFAULT, jet_r=0)}, "jet_r"),
])
def test_generator_refuses_impossible_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sim.simulate(**kwargs)
