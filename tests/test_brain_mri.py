"""The brain MRI data layer: the Kaggle folder layout, the loader and the procedural simulation."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils import datasets
from course_utils.datasets import _fetch, brain_mri
from course_utils.datasets._registry import DataUnavailableError
from course_utils.datasets.brain_mri import formats, simulation

CLASSES = brain_mri.CLASSES


def _jpeg(path: Path, pixels: np.ndarray, mode: str = "L") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(pixels.astype(np.uint8))
    if mode != "L":
        img = img.convert(mode)
    img.save(path, format="JPEG", quality=95)
    return path


def _bright_square(side: int, margin: int, value: int = 200) -> np.ndarray:
    """A bright square of ``side`` pixels centred in black margins of ``margin`` pixels."""
    out = np.zeros((side + 2 * margin, side + 2 * margin), dtype=np.uint8)
    out[margin:margin + side, margin:margin + side] = value
    return out


@pytest.fixture
def kaggle_split(tmp_path) -> Path:
    """A split folder in the Kaggle layout: JPEGs of mixed sizes and colour modes."""
    root = tmp_path / "Training"
    rng = np.random.default_rng(0)
    sizes = [(120, 80), (64, 200), (300, 300)]
    for name in CLASSES:
        for i, (h, w) in enumerate(sizes):
            pixels = rng.integers(30, 255, size=(h, w)).astype(np.uint8)
            _jpeg(root / name / f"Tr-{name[:2]}_{i:04d}.jpg", pixels, mode="RGB" if i == 1 else "L")
    return root


# --- simulation ----------------------------------------------------------------


def test_class_counts_follow_proportions_and_sum_to_n():
    counts = simulation.class_counts(10, {"glioma": 1, "notumor": 1})
    assert counts == {"glioma": 5, "meningioma": 0, "notumor": 5, "pituitary": 0}
    counts = simulation.class_counts(5712)  # the real training set's shares give back its counts
    assert counts == brain_mri.EXPECTED_COUNTS["Training"]
    counts = simulation.class_counts(7, [0.7, 0.1, 0.1, 0.1])
    assert sum(counts.values()) == 7 and counts["glioma"] == 5


@pytest.mark.parametrize("n, proportions, match", [
    (0, None, "n must be an integer >= 1"),
    (10, {"astrocytoma": 1.0}, "unknown classes"),
    (10, [1, 1, 1], "4 weights"),
    (10, [1, -1, 1, 1], "non-negative"),
    (10, [0, 0, 0, 0], "not all zero"),
    (10, [np.nan, 1, 1, 1], "finite"),
])
def test_class_counts_refuses_impossible_settings(n, proportions, match):
    with pytest.raises(ValueError, match=match):
        simulation.class_counts(n, proportions)


def test_render_slice_is_deterministic_uint8_with_black_margins():
    a = simulation.render_slice("glioma", 96, np.random.default_rng(3))
    b = simulation.render_slice("glioma", 96, np.random.default_rng(3))
    c = simulation.render_slice("glioma", 96, np.random.default_rng(4))
    assert a.shape == (96, 96) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the corners are background: dark, only noise
    assert a[:4, :4].mean() < 25 and a[40:56, 40:56].mean() > 60


@pytest.mark.parametrize("label, size, match", [("astrocytoma", 64, "unknown class"), ("glioma", 16, "size must be an integer >= 32")])
def test_render_slice_refuses_bad_arguments(label, size, match):
    with pytest.raises(ValueError, match=match):
        simulation.render_slice(label, size, np.random.default_rng(0))


def test_lesions_are_learnable_by_a_linear_model():
    """An independent check that the classes differ: a linear classifier on 16x16 pixels beats chance."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import cross_val_score

    X, y = [], []
    for k, label in enumerate(CLASSES):
        for i in range(60):
            img = simulation.render_slice(label, 64, np.random.default_rng([7, k, i]))
            X.append(img.reshape(16, 4, 16, 4).mean(axis=(1, 3)).ravel() / 255.0)
            y.append(k)
    scores = cross_val_score(RidgeClassifier(alpha=1.0), np.array(X), np.array(y), cv=3)
    assert scores.mean() > 0.4, scores  # chance is 0.25


def test_generate_writes_the_kaggle_tree_deterministically(tmp_path):
    kwargs = dict(n_train=12, n_test=6, train_proportions=[3, 1, 1, 1], size_range=(64, 96), seed=5, progress=False)
    counts = simulation.render_files(tmp_path / "a", **kwargs)
    simulation.render_files(tmp_path / "b", **kwargs)
    assert counts["Training"] == {"glioma": 6, "meningioma": 2, "notumor": 2, "pituitary": 2}
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.jpg"))
    assert len(files_a) == 18
    assert Path("Training/glioma/Tr-gl_0001.jpg") in files_a and Path("Testing/pituitary/Te-pi_0001.jpg") in files_a
    for rel in files_a:
        da = hashlib.sha256((tmp_path / "a" / rel).read_bytes()).hexdigest()
        db = hashlib.sha256((tmp_path / "b" / rel).read_bytes()).hexdigest()
        assert da == db, rel
    sizes = {Image.open(tmp_path / "a" / rel).size for rel in files_a}
    assert len(sizes) > 1 and all(64 <= w <= 96 and w == h for w, h in sizes)


@pytest.mark.parametrize("size_range, quality", [((16, 64), 90), ((96, 64), 90), ((64, 96), 0)])
def test_generate_refuses_bad_settings(tmp_path, size_range, quality):
    with pytest.raises(ValueError):
        simulation.render_files(tmp_path, n_train=4, n_test=4, size_range=size_range, quality=quality)


# --- formats: read_split, read, write -------------------------------------------


def test_read_mixed_sizes_and_modes(kaggle_split):
    X, y, names = brain_mri.read_split(kaggle_split, image_size=32, progress=False)
    assert names == CLASSES
    assert X.shape == (12, 32, 32, 1) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    np.testing.assert_array_equal(y, np.repeat(np.arange(4), 3))


def test_read_matches_an_independent_pil_pipeline(tmp_path):
    """Without margins, read() is PIL's grey conversion and bilinear resize, scaled to [0, 1]."""
    yy, xx = np.mgrid[0:90, 0:90]
    pixels = (40 + 2 * xx + yy).astype(np.uint8)
    for name in CLASSES:
        _jpeg(tmp_path / "split" / name / "a.jpg", pixels)
    X, _, _ = brain_mri.read_split(tmp_path / "split", image_size=30, progress=False)
    with Image.open(tmp_path / "split" / "glioma" / "a.jpg") as im:
        expected = np.asarray(im.convert("L").resize((30, 30), Image.Resampling.BILINEAR), dtype=np.float32) / 255
    np.testing.assert_allclose(X[0, ..., 0], expected, atol=1e-6)


def test_read_crops_black_margins_and_keeps_the_aspect_ratio(tmp_path):
    for name in CLASSES:
        _jpeg(tmp_path / "split" / name / "a.jpg", _bright_square(40, 60))
        wide = np.zeros((100, 240), dtype=np.uint8)
        wide[30:70, 20:220] = 200  # a 40 x 200 bar: padded to a square, not stretched
        _jpeg(tmp_path / "split" / name / "b.jpg", wide)
    X, _, _ = brain_mri.read_split(tmp_path / "split", image_size=20, progress=False)
    square, bar = X[0, ..., 0], X[1, ..., 0]
    assert square.min() > 0.6  # the margins are gone: the square fills the image
    assert bar[10, :].min() > 0.6 and bar[0, :].max() < 0.1 and bar[-1, :].max() < 0.1
    X_nocrop, _, _ = brain_mri.read_split(tmp_path / "split", image_size=20, crop=False, progress=False)
    assert X_nocrop[0, 0, 0, 0] < 0.1


def test_read_skips_unreadable_files_with_a_warning_naming_them(kaggle_split):
    (kaggle_split / "glioma" / "notes.txt").write_text("not an image")
    good = (kaggle_split / "meningioma" / "Tr-me_0000.jpg").read_bytes()
    (kaggle_split / "meningioma" / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (kaggle_split / "notumor" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: ignored silently
    with pytest.warns(UserWarning) as record:
        X, y, _ = brain_mri.read_split(kaggle_split, image_size=16, progress=False)
    messages = " ".join(str(w.message) for w in record)
    assert "notes.txt" in messages and "truncated.jpg" in messages and ".DS_Store" not in messages
    assert len(X) == 12 and np.bincount(y).tolist() == [3, 3, 3, 3]


def test_read_fails_when_a_class_has_no_readable_image(kaggle_split):
    for p in (kaggle_split / "pituitary").iterdir():
        p.write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"no readable image.*pituitary"):
            brain_mri.read_split(kaggle_split, image_size=16, progress=False)


def test_read_layout_errors(tmp_path, kaggle_split):
    with pytest.raises(FileNotFoundError, match="no folder"):
        brain_mri.read_split(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        brain_mri.read_split(tmp_path / "empty")
    for p in (kaggle_split / "notumor").iterdir():
        p.unlink()
    (kaggle_split / "notumor").rmdir()
    with pytest.raises(FileNotFoundError, match="notumor"):
        brain_mri.read_split(kaggle_split)
    (tmp_path / "root" / "Training").mkdir(parents=True)
    (tmp_path / "root" / "Testing").mkdir()
    with pytest.raises(FileNotFoundError, match="give one of them"):
        brain_mri.read_split(tmp_path / "root")
    with pytest.raises(FileNotFoundError, match="Kaggle layout"):
        brain_mri.read(tmp_path / "empty")


def test_read_any_class_folders_and_image_size_checks(kaggle_split):
    X, y, names = brain_mri.read_split(kaggle_split, image_size=8, classes=None, progress=False)
    assert names == CLASSES and X.shape == (12, 8, 8, 1)
    X, y, names = brain_mri.read_split(kaggle_split, image_size=8, classes=("pituitary", "glioma"), progress=False)
    assert names == ("pituitary", "glioma") and y.tolist() == [0, 0, 0, 1, 1, 1]
    for bad in (4, 64.0, True):
        with pytest.raises(ValueError, match="image_size"):
            brain_mri.read_split(kaggle_split, image_size=bad)
    with pytest.raises(ValueError, match="classes is empty"):
        brain_mri.read_split(kaggle_split, classes=())


def test_read_split_first_files_of_each_class(kaggle_split):
    X, y, _ = brain_mri.read_split(kaggle_split, n=8, image_size=8, progress=False)
    assert np.bincount(y).tolist() == [2, 2, 2, 2]
    full, y_full, _ = brain_mri.read_split(kaggle_split, image_size=8, progress=False)
    first_two = np.concatenate([np.flatnonzero(y_full == k)[:2] for k in range(4)])
    np.testing.assert_array_equal(X, full[first_two])  # the first files by name, in each class
    assert len(brain_mri.read_split(kaggle_split, n=100, image_size=8, progress=False)[0]) == 12
    for bad in (3, 0, 2.0, True):
        with pytest.raises(ValueError, match="n must be an integer >= 4"):
            brain_mri.read_split(kaggle_split, n=bad, image_size=8)


@pytest.fixture
def kaggle_root(tmp_path) -> Path:
    """A root in the Kaggle layout: Training/ with 3 images per class, Testing/ with 1."""
    root = tmp_path / "brain-tumor-mri-dataset"
    for split, count in (("Training", 3), ("Testing", 1)):
        for k, name in enumerate(CLASSES):
            for i in range(count):
                _jpeg(root / split / name / f"{brain_mri.SPLITS[split]}-{name[:2]}_{i + 1:04d}.jpg",
                      _bright_square(30 + 10 * i, 4, 60 + 40 * k))
    return root


def test_read_both_splits_whole_or_in_part(kaggle_root):
    images = brain_mri.read(kaggle_root.parent, image_size=16, progress=False)  # one level above works too
    assert isinstance(images, brain_mri.MRIImages) and images.class_names == CLASSES
    assert images.X_train.shape == (12, 16, 16, 1) and images.X_test.shape == (4, 16, 16, 1)
    X, y, _ = brain_mri.read_split(kaggle_root / "Training", image_size=16, progress=False)
    np.testing.assert_array_equal(images.X_train, X)
    np.testing.assert_array_equal(images.y_train, y)
    part = brain_mri.read(kaggle_root, n=12, image_size=16, progress=False)
    assert part.counts() == {"Training": {c: 2 for c in CLASSES}, "Testing": {c: 1 for c in CLASSES}}
    with pytest.raises(ValueError, match="n must be an integer >= 8"):
        brain_mri.read(kaggle_root, n=7)


def test_write_then_read_gives_the_images_back(tmp_path, kaggle_root):
    images = brain_mri.read(kaggle_root, image_size=32, progress=False)
    out = brain_mri.write(images, tmp_path / "copy", quality=95)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))[:2] == [
        "Testing/glioma/Te-gl_0001.jpg", "Testing/meningioma/Te-me_0001.jpg"]
    back = brain_mri.read(out, image_size=32, crop=False, progress=False)
    assert back.counts() == images.counts()
    np.testing.assert_array_equal(back.y_train, images.y_train)
    assert np.abs(back.X_train - images.X_train).max() < 0.06  # JPEG at quality 95
    tree = {"Training": {"glioma": [np.full((40, 50), 7, np.uint8)]}}
    path = formats.write(tree, tmp_path / "tree")
    with Image.open(path / "Training" / "glioma" / "Tr-gl_0001.jpg") as im:
        assert im.size == (50, 40) and im.mode == "L"


@pytest.mark.parametrize("images, match", [
    ({"Validation": {"glioma": []}}, "splits must be among"),
    ({"Training": {"glioma": [np.zeros((4, 4, 3), np.uint8)]}}, "2-D uint8"),
    ({"Training": {"glioma": [np.zeros((4, 4))]}}, "2-D uint8"),
    ({"Training": {"../escape": [np.zeros((4, 4), np.uint8)]}}, "folder name"),
    (brain_mri.MRIImages(np.full((1, 4, 4, 1), 1.5, np.float32), np.zeros(1, int), np.zeros((1, 4, 4, 1)),
                         np.zeros(1, int), CLASSES), "in \\[0, 1\\]"),
    (brain_mri.MRIImages(np.zeros((1, 4, 4, 1)), np.array([7]), np.zeros((1, 4, 4, 1)), np.zeros(1, int),
                         CLASSES), "class indices"),
    ([np.zeros((4, 4), np.uint8)], "MRIImages or a mapping"),
])
def test_write_refuses_bad_images(tmp_path, images, match):
    with pytest.raises(ValueError, match=match):
        formats.write(images, tmp_path / "out")


def test_image_sizes_reads_headers(kaggle_split):
    df = brain_mri.image_sizes(kaggle_split)
    assert len(df) == 12
    assert set(zip(df["height"], df["width"])) == {(120, 80), (64, 200), (300, 300)}


# --- load ----------------------------------------------------------------------


def test_load_simulated_is_cached_and_reports_counts(data_dir, capsys):
    kw = dict(image_size=32, n=24, test_fraction=1 / 3, train_proportions=[5, 1, 1, 1], seed=1)
    ds = brain_mri.load("simulated", **kw)
    assert ds.source == "simulated" and "SIMULATION" in capsys.readouterr().out
    images = ds.data
    assert isinstance(images, brain_mri.MRIImages)
    assert images.X_train.shape == (16, 32, 32, 1) and images.X_test.shape == (8, 32, 32, 1)
    assert ds.details["counts"]["Training"] == {"glioma": 10, "meningioma": 2, "notumor": 2, "pituitary": 2}
    stamp = (ds.path / "manifest.json").stat().st_mtime_ns
    again = brain_mri.load("simulated", **kw)
    assert again.path == ds.path and (ds.path / "manifest.json").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.data.X_train, images.X_train)


def test_load_real_from_the_data_directory(data_dir, capsys):
    root = data_dir / "real" / "brain_mri"
    for split, prefix in brain_mri.SPLITS.items():
        for name in CLASSES:
            for i, side in enumerate((50, 70)):
                _jpeg(root / split / name / f"{prefix}-{name[:2]}_{i:04d}.jpg", _bright_square(side, 10, 150 + i))
    ds = brain_mri.load("auto", image_size=16)
    out = capsys.readouterr().out
    assert ds.source == "real" and ds.path == root
    assert "jeu de données publié" in out and "CC0" in out and "5,712" in out  # the subset note
    assert ds.data.X_train.shape == (8, 16, 16, 1) and ds.data.counts()["Testing"]["glioma"] == 2


def test_load_real_from_data_home_one_level_down(tmp_path, data_dir, monkeypatch):
    unzipped = tmp_path / "download" / "brain-tumor-mri-dataset"
    for split in brain_mri.SPLITS:
        for name in CLASSES:
            _jpeg(unzipped / split / name / "x.jpg", _bright_square(30, 5))
    ds = brain_mri.load("real", data_home=tmp_path / "download", image_size=8, verbose=False)
    assert ds.path == unzipped and len(ds.data.y_train) == 4 and len(ds) == 8
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="no copy in .*nowhere"):
        brain_mri.load("real", data_home=tmp_path / "nowhere", image_size=8)


def test_kagglehub_is_used_only_with_credentials(tmp_path, data_dir, monkeypatch):
    downloaded = tmp_path / "kagglehub-cache" / "versions" / "1"
    for split in brain_mri.SPLITS:
        for name in CLASSES:
            _jpeg(downloaded / split / name / "x.jpg", _bright_square(30, 5))
    calls = []

    def dataset_download(handle):
        calls.append(handle)
        return str(downloaded)

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=dataset_download))
    monkeypatch.setattr(_fetch, "kagglehub_installed", lambda: True)
    monkeypatch.setattr(_fetch, "network_available", lambda url, timeout=3.0: True)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-config"))
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(DataUnavailableError, match="credentials"):
        brain_mri.load("real", image_size=8, verbose=False)
    assert calls == []
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0123")
    ds = brain_mri.load("real", image_size=8, verbose=False)
    assert calls == [brain_mri.KAGGLE_HANDLE] and ds.source == "real" and ds.path == downloaded


def test_kagglehub_absent_is_explained(data_dir, monkeypatch):
    monkeypatch.setattr(_fetch, "kagglehub_installed", lambda: False)
    with pytest.raises(DataUnavailableError, match="kagglehub is not installed"):
        brain_mri.load("real", image_size=8, verbose=False)


def _simulate_in_a_process(data: str) -> str:
    import os

    os.environ["COURSE_DATA_DIR"] = data
    from course_utils.datasets.brain_mri import simulation as sim

    return str(sim.simulate(12, test_fraction=1 / 3, size_range=(48, 64), seed=11, image_size=16, progress=False).path)


def test_two_processes_share_one_simulation(data_dir):
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        paths = list(pool.map(_simulate_in_a_process, [str(data_dir)] * 2))
    assert paths[0] == paths[1]
    folder = Path(paths[0])
    assert len(list(folder.rglob("*.jpg"))) == 12 and (folder / "manifest.json").is_file()
    assert [p.name for p in folder.parent.iterdir() if p.is_dir()] == [folder.name]  # no leftover temporary folder


def test_split_sizes():
    assert simulation.split_sizes(3200) == (2400, 800)
    assert simulation.split_sizes(10, 0.3) == (7, 3)
    assert simulation.split_sizes(2, 0.01) == (1, 1)  # one image per split at least
    for bad_n, bad_fraction in ((1, 0.25), (0, 0.25), (10.0, 0.25), (10, 0.0), (10, 1.0)):
        with pytest.raises(ValueError):
            simulation.split_sizes(bad_n, bad_fraction)


def test_defaults_are_the_sizes_the_notebook_had(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "0")
    assert simulation.split_sizes(None) == (2400, 800)
    monkeypatch.setenv("COURSE_FAST", "1")
    assert simulation.split_sizes(None) == (640, 240)


def test_registry_entry_and_light_import():
    assert datasets.registry()["brain_mri"] is brain_mri.INFO
    assert brain_mri.INFO.licence == "CC0 1.0" and "kaggle.com" in brain_mri.INFO.homepage
    assert brain_mri.INFO.made_by.startswith("measured: clinical MRI scans")
    code = ("import sys; from course_utils.datasets import brain_mri; "
            "assert 'tensorflow' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
