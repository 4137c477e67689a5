"""Brain MRI slices in four classes: glioma, meningioma, no tumour, pituitary tumour.

Real source
-----------
The Kaggle "Brain Tumor MRI Dataset" (Masoud Nickparvar, 2021, CC0 1.0),
compiled from the figshare (Cheng et al.), SARTAJ and Br35H collections:
JPEG images of varying sizes in ``Training/<class>/`` (5,712 images) and
``Testing/<class>/`` (1,311 images), classes ``glioma``, ``meningioma``,
``notumor``, ``pituitary``. Kaggle requires an account to download it, so the
loader reads the unzipped folder from ``<data>/real/brain_mri/`` or from a path
you give; with the optional ``kagglehub`` package and Kaggle credentials it can
also download it.

Simulated source
----------------
Procedural MRI-like slices written as JPEGs in the same folder tree
(:mod:`course_utils.datasets.brain_mri_sim`).

Examples
--------
>>> from course_utils.datasets import brain_mri
>>> ds = brain_mri.load(image_size=64)            # doctest: +SKIP
>>> images = ds.data                              # an MRIImages
>>> images.X_train.shape                          # (n, 64, 64, 1), floats in [0, 1]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import config
from course_utils.datasets._fetch import network_available
from course_utils.datasets._registry import Dataset, DatasetInfo, DataUnavailableError, load_with_fallback, real_dir
from course_utils.datasets.brain_mri_sim import CLASSES, SPLITS

__all__ = ["INFO", "CLASSES", "SPLITS", "KAGGLE_HANDLE", "EXPECTED_COUNTS", "MRIImages",
           "read", "image_sizes", "find_root", "load"]

#: The dataset's handle on Kaggle (``kagglehub.dataset_download`` takes it).
KAGGLE_HANDLE = "masoudnickparvar/brain-tumor-mri-dataset"
#: Images per split and class in the real dataset.
EXPECTED_COUNTS = {
    "Training": {"glioma": 1321, "meningioma": 1339, "notumor": 1595, "pituitary": 1457},
    "Testing": {"glioma": 300, "meningioma": 306, "notumor": 405, "pituitary": 300},
}

INFO = DatasetInfo(
    name="brain_mri",
    title="Brain Tumor MRI Dataset (Kaggle)",
    provenance="Kaggle, Masoud Nickparvar (2021), from the figshare, SARTAJ and Br35H collections",
    licence="CC0 1.0",
    citation="Nickparvar, M. (2021). Brain Tumor MRI Dataset [Data set]. Kaggle. "
             "https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset",
    homepage="https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset",
    files=(),
    how_to_obtain=(
        "Download the zip from https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset "
        "(a free Kaggle account is needed) and unzip it into <data>/real/brain_mri/ so that "
        "Training/<class>/ and Testing/<class>/ are there, or give load(path=<the unzipped folder>)."
    ),
)

#: Image side (pixels) by mode when ``image_size`` is not given.
DEFAULT_IMAGE_SIZE = {"full": 64, "fast": 48}


@dataclass(frozen=True)
class MRIImages:
    """The images of both splits, ready for Keras.

    Attributes
    ----------
    X_train, X_test : numpy.ndarray, shape (n, image_size, image_size, 1), float32
        Grey levels scaled to [0, 1].
    y_train, y_test : numpy.ndarray, shape (n,), int64
        Index of the class in ``class_names``.
    class_names : tuple of str
        ``("glioma", "meningioma", "notumor", "pituitary")``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and class."""
        return {split: {name: int(np.sum(y == k)) for k, name in enumerate(self.class_names)}
                for split, y in (("Training", self.y_train), ("Testing", self.y_test))}


def _check_image_size(image_size: Any) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or not 8 <= image_size <= 1024:
        raise ValueError(f"image_size must be an integer number of pixels in [8, 1024], got {image_size!r}")
    return int(image_size)


def _class_folders(directory: Path, classes: Sequence[str] | None) -> list[tuple[str, Path]]:
    """The class sub-folders to read, or a clear error about the layout."""
    if not directory.is_dir():
        raise FileNotFoundError(f"no folder at {directory}: expected a folder with one sub-folder per class "
                                f"({', '.join(CLASSES)}), like Training/ of the Kaggle dataset")
    present = sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes is not None and len(classes) == 0:
        raise ValueError("classes is empty: give the class folders to read, or None for every sub-folder")
    if classes is None:
        if not present:
            raise FileNotFoundError(f"{directory} holds no class folder: expected one sub-folder per class")
        return [(name, directory / name) for name in present]
    missing = [c for c in classes if c not in present]
    if missing:
        hint = ""
        if set(SPLITS) <= set(present):
            hint = f" It holds {' and '.join(SPLITS)}: give one of them, e.g. read({str(directory / 'Training')!r})."
        elif not present:
            hint = " It is empty (or holds files only)."
        raise FileNotFoundError(
            f"{directory} lacks the class folder(s) {missing}: expected {list(classes)}, found {present}.{hint}"
        )
    return [(name, directory / name) for name in classes]


def _image_files(folder: Path) -> list[Path]:
    """Every visible file of a class folder, sorted (which ones are images is decided by reading them)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _crop_margins(pixels: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """The smallest box holding every row and column with some signal (black margins removed).

    A row or column counts when at least 1 % of its pixels exceed ``threshold``
    times the image's 99.5th percentile, so isolated noise pixels do not stop the crop.
    """
    level = threshold * float(np.percentile(pixels, 99.5))
    if level <= 0:
        return pixels
    mask = pixels > level
    rows = np.flatnonzero(mask.mean(axis=1) >= 0.01)
    cols = np.flatnonzero(mask.mean(axis=0) >= 0.01)
    if rows.size == 0 or cols.size == 0:
        return pixels
    return pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _load_image(path: Path, image_size: int, crop: bool) -> np.ndarray:
    """One image as a (image_size, image_size) uint8 array: grey, margins cropped, padded square, resized."""
    from PIL import Image

    with Image.open(path) as im:
        im.draft("L", (2 * image_size, 2 * image_size))  # JPEG: decode at a reduced scale, much faster
        pixels = np.asarray(im.convert("L"))
    if crop:
        pixels = _crop_margins(pixels)
    h, w = pixels.shape
    side = max(h, w)
    square = np.zeros((side, side), dtype=np.uint8)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = pixels
    resized = Image.fromarray(square).resize((image_size, image_size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def read(directory: str | Path, image_size: int = 64, *, classes: Sequence[str] | None = CLASSES,
         crop: bool = True, progress: bool = True) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read a folder laid out like the Kaggle dataset: one sub-folder of images per class.

    Each image is converted to grey levels, its black margins are cropped, it is
    padded to a square (keeping its aspect ratio) and resized to
    ``image_size`` pixels. Images may have any size and colour mode.

    Parameters
    ----------
    directory
        A split folder, e.g. ``.../Training``, holding ``glioma/``,
        ``meningioma/``, ``notumor/`` and ``pituitary/``.
    image_size
        Side of the square output images, in pixels.
    classes
        The class folders to read, in label order; ``None`` reads every
        sub-folder, sorted by name.
    crop
        Remove the black margins before resizing.
    progress
        Show a progress bar.

    Returns
    -------
    X : numpy.ndarray, shape (n, image_size, image_size, 1), float32
        Grey levels in [0, 1].
    y : numpy.ndarray, shape (n,), int64
        Class index of each image (files sorted by name within each class).
    class_names : tuple of str
        The class of each index.

    Raises
    ------
    FileNotFoundError
        When the folder or a class folder is missing.
    ValueError
        When a class folder holds no readable image. Files that are not
        readable images are skipped with a warning naming each of them.

    Warns
    -----
    UserWarning
        For each skipped file.
    """
    from PIL import Image, UnidentifiedImageError
    from tqdm.auto import tqdm

    image_size = _check_image_size(image_size)
    directory = Path(directory)
    folders = _class_folders(directory, classes)
    files = [(k, path) for k, (_, folder) in enumerate(folders) for path in _image_files(folder)]
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[Path] = []
    for k, path in tqdm(files, desc=f"reading {directory.name}", disable=not progress, leave=False):
        try:
            images.append(_load_image(path, image_size, crop))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            skipped.append(path)
            warnings.warn(f"skipped {path}: not a readable image ({type(exc).__name__}: {exc})", stacklevel=2)
            continue
        labels.append(k)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(folders))
    empty = [name for (name, _), n in zip(folders, counts) if n == 0]
    if empty:
        detail = f" ({len(skipped)} unreadable file(s) skipped)" if skipped else ""
        raise ValueError(f"no readable image in the class folder(s) {empty} of {directory}{detail}: "
                         f"every class needs at least one image")
    X = np.stack(images).astype(np.float32)[..., None] / 255.0
    return X, np.asarray(labels, dtype=np.int64), tuple(name for name, _ in folders)


def image_sizes(directory: str | Path, *, classes: Sequence[str] | None = CLASSES) -> Any:
    """Original width and height of every image, read from the file headers only (fast).

    Returns
    -------
    pandas.DataFrame
        Columns ``class``, ``file``, ``width``, ``height`` (pixels), ``mode``;
        unreadable files are left out.
    """
    import pandas as pd
    from PIL import Image

    rows = []
    for name, folder in _class_folders(Path(directory), classes):
        for path in _image_files(folder):
            try:
                with Image.open(path) as im:
                    rows.append((name, path.name, im.width, im.height, im.mode))
            except (OSError, ValueError, SyntaxError):
                continue
    return pd.DataFrame(rows, columns=["class", "file", "width", "height", "mode"])


def find_root(folder: str | Path) -> Path | None:
    """The folder holding ``Training/`` and ``Testing/``: ``folder`` itself or one of its sub-folders."""
    folder = Path(folder)
    candidates = [folder]
    if folder.is_dir():
        candidates += sorted(p for p in folder.iterdir() if p.is_dir())
    for c in candidates:
        if all((c / split).is_dir() for split in SPLITS):
            return c
    return None


def _kagglehub_installed() -> bool:
    """Whether the optional ``kagglehub`` package can be imported (it is not imported here)."""
    return importlib.util.find_spec("kagglehub") is not None


def _kaggle_credentials() -> bool:
    """Whether Kaggle credentials are configured (environment or ``kaggle.json``)."""
    if os.environ.get("KAGGLE_API_TOKEN") or (os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")):
        return True
    conf = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")
    return (conf / "kaggle.json").is_file() or (conf / "access_token").is_file()


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _download_with_kagglehub() -> Path:
    """Download with ``kagglehub`` when it is installed, credentials exist and Kaggle answers."""
    if config.offline_mode():
        raise DataUnavailableError("COURSE_OFFLINE is set, so no download is tried")
    if not _kagglehub_installed():
        raise DataUnavailableError("the optional package kagglehub is not installed")
    if not _kaggle_credentials():
        raise DataUnavailableError("kagglehub has no Kaggle credentials (KAGGLE_USERNAME/KAGGLE_KEY or kaggle.json)")
    if not network_available("https://www.kaggle.com"):
        raise DataUnavailableError("www.kaggle.com is unreachable")
    import kagglehub

    try:
        with _socket_timeout(60):
            path = Path(kagglehub.dataset_download(KAGGLE_HANDLE))
    except Exception as exc:  # noqa: BLE001 - any failure means: not available this way
        raise DataUnavailableError(f"kagglehub failed: {type(exc).__name__}: {exc}") from exc
    root = find_root(path)
    if root is None:
        raise DataUnavailableError(f"kagglehub gave {path}, which holds no Training/ and Testing/ folders")
    return root


def _read_splits(root: Path, image_size: int, progress: bool) -> MRIImages:
    X_train, y_train, names = read(root / "Training", image_size, progress=progress)
    X_test, y_test, _ = read(root / "Testing", image_size, progress=progress)
    return MRIImages(X_train, y_train, X_test, y_test, names)


def _load_real(path: str | Path | None, image_size: int, verbose: bool) -> Dataset:
    if path is not None:
        root = find_root(path)
        if root is None:
            raise FileNotFoundError(f"{path} holds no Training/ and Testing/ folders (the Kaggle layout): "
                                    f"{INFO.how_to_obtain}")
    else:
        cache = real_dir(INFO.name)
        root = find_root(cache)
        if root is None:
            try:
                root = _download_with_kagglehub()
            except DataUnavailableError as exc:
                raise DataUnavailableError(
                    f"no copy in {cache} and {exc}. {INFO.how_to_obtain.replace('<data>/real/brain_mri', str(cache))}"
                ) from exc
    images = _read_splits(root, image_size, verbose)
    counts = images.counts()
    if verbose and counts != EXPECTED_COUNTS:
        print(f"[{INFO.name}] note: {root} does not hold the 5,712 + 1,311 images of the published dataset "
              f"(a subset or another version?): {counts}")
    return Dataset(images, "real", INFO.name, INFO.provenance, INFO.licence, root,
                   {"image_size": image_size, "counts": counts})


def load(source: str = "auto", *, path: str | Path | None = None, image_size: int | None = None,
         n_train: int | None = None, n_test: int | None = None,
         train_proportions: Mapping[str, float] | Sequence[float] | None = None,
         test_proportions: Mapping[str, float] | Sequence[float] | None = None,
         seed: int = 42, verbose: bool = True) -> Dataset:
    """The brain MRI images, real or simulated, both splits.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the real images when they are on disk (or can be downloaded
        with kagglehub), else the simulation.
    path
        A folder holding the unzipped real dataset (``Training/``, ``Testing/``);
        default ``<data>/real/brain_mri/``. A path that does not hold them is an error.
    image_size
        Side of the square images in pixels (default 64, or 48 in fast mode).
    n_train, n_test
        Number of simulated images (default 2,400 and 800, or 640 and 240 in
        fast mode); ignored for the real data.
    train_proportions, test_proportions
        Class shares of the simulated splits (default: those of the real
        training set); ignored for the real data.
    seed
        Seed of the simulation.

    Returns
    -------
    Dataset
        ``.data`` is an :class:`MRIImages`; ``.details["counts"]`` gives the
        images per split and class.
    """
    image_size = _check_image_size(image_size if image_size is not None else DEFAULT_IMAGE_SIZE[config.mode_name()])

    def simulated() -> Dataset:
        from course_utils.datasets import brain_mri_sim

        n_tr = n_train if n_train is not None else config.scale(full=2400, fast=640)
        n_te = n_test if n_test is not None else config.scale(full=800, fast=240)
        size_range = (max(32, 3 * image_size // 2), max(32, 2 * image_size))  # mixed sizes, larger than read back
        folder = brain_mri_sim.simulate(n_tr, n_te, train_proportions=train_proportions,
                                        test_proportions=test_proportions, size_range=size_range, seed=seed)
        images = _read_splits(folder, image_size, verbose)
        return Dataset(images, "simulated", INFO.name,
                       f"procedural MRI-like slices of the course (seed {seed})", "generated by the course (MIT)",
                       folder, {"image_size": image_size, "counts": images.counts(), "seed": seed,
                                "size_range": size_range})

    return load_with_fallback(INFO.name, source, lambda: _load_real(path, image_size, verbose), simulated,
                              info=INFO, verbose=verbose)
