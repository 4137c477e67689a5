"""The Kaggle folder layout of the brain MRI dataset: read it, write it.

Layout (Nickparvar 2021): a root folder holding ``Training/`` and
``Testing/``, each with one sub-folder of JPEG images per class
(``glioma/``, ``meningioma/``, ``notumor/``, ``pituitary/``), files named
``Tr-gl_0001.jpg``, ``Te-me_0001.jpg``... Images have any size and colour
mode. The published images and the course's simulation are both laid out
this way, so :func:`read` reads both.

Examples
--------
>>> from course_utils.datasets.brain_mri import formats
>>> images = formats.read("brain-tumor-mri-dataset", image_size=64)   # doctest: +SKIP
>>> images.X_train.shape                                              # (5712, 64, 64, 1)  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.datasets.brain_mri._layout import CLASSES, EXPECTED_COUNTS, SPLITS, class_counts, image_path
from course_utils.validation import check_count

__all__ = ["CLASSES", "SPLITS", "EXPECTED_COUNTS", "MRIImages", "read", "read_split", "write", "write_image",
           "image_sizes", "find_root"]


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

    def __len__(self) -> int:
        """The images of both splits."""
        return len(self.y_train) + len(self.y_test)

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and class."""
        return {split: {name: int(np.sum(y == k)) for k, name in enumerate(self.class_names)}
                for split, y in (("Training", self.y_train), ("Testing", self.y_test))}


def check_image_size(image_size: Any) -> int:
    """``image_size`` as an int, or a ``ValueError`` (an integer number of pixels in [8, 1024] is expected)."""
    return check_count(image_size, "image_size", min_value=8, max_value=1024)


def _check_n(n: Any, at_least: int) -> int | None:
    # at least one image per class and split
    return check_count(n, "n", min_value=at_least, allow_none=True)


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
            hint = (f" It holds {' and '.join(SPLITS)}: give one of them, e.g. "
                    f"read_split({str(directory / 'Training')!r}), or read it whole with read({str(directory)!r}).")
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


def _subset(n: int | None, sizes: Sequence[int], names: Sequence[str], minimum: int = 1) -> list[int]:
    """How many items to take from each group: all with ``n=None``, else ``n`` in all.

    Each group first gets ``minimum`` items (or all it has); the rest is shared
    in proportion to what each group has left (largest remainders).
    """
    if n is None or n >= sum(sizes):
        return list(sizes)
    base = [min(minimum, size) for size in sizes]
    rest = n - sum(base)
    if rest <= 0:
        return base
    extra = class_counts(rest, [size - b for size, b in zip(sizes, base)], classes=names).values()
    return [b + e for b, e in zip(base, extra)]


def read_split(directory: str | Path, *, n: int | None = None, image_size: int = 64,
               classes: Sequence[str] | None = CLASSES, crop: bool = True,
               progress: bool = True) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read one split folder (``Training/`` or ``Testing/``): one sub-folder of images per class.

    Each image is converted to grey levels, its black margins are cropped, it is
    padded to a square (keeping its aspect ratio) and resized to
    ``image_size`` pixels. Images may have any size and colour mode.

    Parameters
    ----------
    directory
        A split folder, e.g. ``.../Training``, holding ``glioma/``,
        ``meningioma/``, ``notumor/`` and ``pituitary/``.
    n
        Read ``n`` images only (``None``: all): the first files (by name) of
        each class, one per class and the rest in proportion to the files each
        class has left. Unreadable files are skipped, so a few less may come.
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
        When a class folder holds no readable image, or on a bad ``n`` or
        ``image_size``. Files that are not readable images are skipped with a
        warning naming each of them.

    Warns
    -----
    UserWarning
        For each skipped file.
    """
    from PIL import Image, UnidentifiedImageError
    from tqdm.auto import tqdm

    image_size = check_image_size(image_size)
    directory = Path(directory)
    folders = _class_folders(directory, classes)
    n = _check_n(n, len(folders))
    per_class = [_image_files(folder) for _, folder in folders]
    take = _subset(n, [len(f) for f in per_class], [name for name, _ in folders])
    files = [(k, path) for k, (paths, m) in enumerate(zip(per_class, take)) for path in paths[:m]]
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
    empty = [name for (name, _), c in zip(folders, counts) if c == 0]
    if empty:
        detail = f" ({len(skipped)} unreadable file(s) skipped)" if skipped else ""
        raise ValueError(f"no readable image in the class folder(s) {empty} of {directory}{detail}: "
                         f"every class needs at least one image")
    X = np.stack(images).astype(np.float32)[..., None] / 255.0
    return X, np.asarray(labels, dtype=np.int64), tuple(name for name, _ in folders)


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


def read(directory: str | Path, *, n: int | None = None, image_size: int = 64, crop: bool = True,
         progress: bool = True) -> MRIImages:
    """Read the whole dataset: ``Training/`` and ``Testing/``, each one folder per class.

    Parameters
    ----------
    directory
        The folder holding ``Training/`` and ``Testing/``, or a folder one
        level above it (as an unzipped download often is).
    n
        Read ``n`` images in all (``None``: all), at least 8: one per class in
        each split, the rest shared in proportion to the files left (see
        :func:`read_split`).
    image_size, crop, progress
        As in :func:`read_split`.

    Returns
    -------
    MRIImages
        Both splits, classes :data:`CLASSES` in this order.

    Raises
    ------
    FileNotFoundError
        When no ``Training/`` and ``Testing/`` folders are found, or a class folder is missing.
    ValueError
        As :func:`read_split`.
    """
    root = find_root(directory)
    if root is None:
        raise FileNotFoundError(f"{directory} holds no {' and '.join(f'{s}/' for s in SPLITS)} folders "
                                f"(the Kaggle layout: <root>/Training/<class>/*.jpg)")
    n = _check_n(n, len(SPLITS) * len(CLASSES))
    sizes = [sum(len(_image_files(folder)) for _, folder in _class_folders(root / split, CLASSES))
             for split in SPLITS]
    per_split: list[int | None] = [None] * len(SPLITS)
    if n is not None:
        per_split = list(_subset(n, sizes, list(SPLITS), minimum=len(CLASSES)))
    (X_train, y_train, names), (X_test, y_test, _) = (
        read_split(root / split, n=m, image_size=image_size, crop=crop, progress=progress)
        for split, m in zip(SPLITS, per_split))
    return MRIImages(X_train, y_train, X_test, y_test, names)


def image_sizes(directory: str | Path, *, classes: Sequence[str] | None = CLASSES) -> Any:
    """Original width and height of every image of a split folder, read from the file headers only (fast).

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


def write_image(pixels: np.ndarray, path: str | Path, *, quality: int = 90) -> Path:
    """Save one grey image as a JPEG (PIL, the given quality); the folders are created.

    Parameters
    ----------
    pixels : numpy.ndarray, shape (height, width), uint8
        Grey levels 0-255.
    path
        The ``.jpg`` file to write.
    quality
        JPEG quality, 1-95.
    """
    from PIL import Image

    arr = np.asarray(pixels)
    if arr.ndim != 2 or arr.dtype != np.uint8 or 0 in arr.shape:
        raise ValueError(f"an image must be a non-empty 2-D uint8 array (grey levels), got shape {arr.shape} "
                         f"and dtype {arr.dtype}")
    quality = check_count(quality, "quality", min_value=1, max_value=95)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format="JPEG", quality=int(quality))
    return path


def _as_uint8(X: np.ndarray, what: str) -> list[np.ndarray]:
    X = np.asarray(X)
    if X.ndim == 4 and X.shape[-1] == 1:
        X = X[..., 0]
    if X.ndim != 3:
        raise ValueError(f"{what} must have shape (n, size, size, 1) or (n, size, size), got {X.shape}")
    if not np.isfinite(X).all() or X.min(initial=0) < 0 or X.max(initial=0) > 1:
        raise ValueError(f"{what} must hold grey levels in [0, 1], without NaN")
    return list(np.round(X * 255.0).astype(np.uint8))


def write(images: MRIImages | Mapping[str, Mapping[str, Sequence[np.ndarray]]], directory: str | Path, *,
          quality: int = 90) -> Path:
    """Write images in the Kaggle layout: ``<directory>/<split>/<class>/<Tr|Te>-<cl>_<i>.jpg``.

    Parameters
    ----------
    images
        Either an :class:`MRIImages` (grey levels in [0, 1]; each class gets a
        folder, even an empty one), or a mapping
        ``{split: {class: [image, ...]}}`` of uint8 arrays of shape
        (height, width), which may differ from image to image.
    directory
        The root folder (created); files already there with the same names are replaced.
    quality
        JPEG quality, 1-95.

    Returns
    -------
    Path
        ``directory``, which :func:`read` reads back.
    """
    if isinstance(images, MRIImages):
        tree: dict[str, dict[str, list[np.ndarray]]] = {}
        for split, X, y in (("Training", images.X_train, images.y_train), ("Testing", images.X_test, images.y_test)):
            pixels = _as_uint8(X, f"X_{'train' if split == 'Training' else 'test'}")
            y = np.asarray(y)
            if y.shape != (len(pixels),) or (y < 0).any() or (y >= len(images.class_names)).any():
                raise ValueError(f"{split}: labels must be {len(pixels)} class indices in "
                                 f"[0, {len(images.class_names)}), got shape {y.shape}")
            tree[split] = {name: [p for p, k in zip(pixels, y) if k == i] for i, name in enumerate(images.class_names)}
    elif isinstance(images, Mapping):
        tree = {split: {name: list(seq) for name, seq in classes.items()} for split, classes in images.items()}
    else:
        raise ValueError(f"images must be an MRIImages or a mapping {{split: {{class: images}}}}, "
                         f"got {type(images).__name__}")
    unknown = set(tree) - set(SPLITS)
    if unknown or not tree:
        raise ValueError(f"splits must be among {list(SPLITS)}, got {sorted(tree)}")
    directory = Path(directory)
    for split, classes in tree.items():
        for name, pixels in classes.items():
            image_path(directory, split, name, 0).parent.mkdir(parents=True, exist_ok=True)
            for i, p in enumerate(pixels):
                write_image(p, image_path(directory, split, name, i), quality=quality)
    return directory
