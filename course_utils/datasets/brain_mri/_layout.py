"""The Kaggle folder layout of the brain MRI dataset: classes, splits, file names, counts.

Shared by :mod:`~course_utils.datasets.brain_mri.formats` (which reads and
writes the layout) and :mod:`~course_utils.datasets.brain_mri.simulation`
(which fills it); it imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from course_utils.validation import check_count

__all__ = ["CLASSES", "SPLITS", "EXPECTED_COUNTS", "KAGGLE_PROPORTIONS", "DEFAULT_IMAGE_SIZE", "image_path",
           "class_counts"]

#: Class folder names of the published dataset, in its (alphabetical) order.
CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
#: Split folder names of the published dataset and their file-name prefixes.
SPLITS = {"Training": "Tr", "Testing": "Te"}
#: Images per split and class in the published dataset.
EXPECTED_COUNTS = {
    "Training": {"glioma": 1321, "meningioma": 1339, "notumor": 1595, "pituitary": 1457},
    "Testing": {"glioma": 300, "meningioma": 306, "notumor": 405, "pituitary": 300},
}
#: Class shares of the published training set (1,321 / 1,339 / 1,595 / 1,457 of 5,712 images).
KAGGLE_PROPORTIONS = {name: count / sum(EXPECTED_COUNTS["Training"].values())
                      for name, count in EXPECTED_COUNTS["Training"].items()}
#: Side (pixels) of the images read back, by mode, when ``image_size`` is not given.
DEFAULT_IMAGE_SIZE = {"full": 64, "fast": 48}


def image_path(directory: str | Path, split: str, label: str, index: int) -> Path:
    """Where image ``index`` (from 0) of a class goes: ``<directory>/Training/glioma/Tr-gl_0001.jpg``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {list(SPLITS)}")
    if not label or "/" in label or "\\" in label or label.startswith("."):
        raise ValueError(f"class name {label!r} cannot be a folder name")
    index = check_count(index, "index", min_value=0)
    return Path(directory) / split / label / f"{SPLITS[split]}-{label[:2]}_{index + 1:04d}.jpg"


def class_counts(n: int, proportions: Mapping[str, float] | Sequence[float] | None = None,
                 classes: Sequence[str] = CLASSES) -> dict[str, int]:
    """How many images of each class make ``n`` images with these proportions.

    Parameters
    ----------
    n
        Total number of images (at least 1).
    proportions
        One non-negative weight per class (a dict by class name, or a sequence
        in ``classes`` order); they are normalised. ``None``: the published
        training set's shares (:data:`KAGGLE_PROPORTIONS`).
    classes
        The class names (default :data:`CLASSES`).

    Returns
    -------
    dict
        Class name -> count; the counts sum to ``n`` (largest remainders).

    Examples
    --------
    >>> class_counts(10, {"glioma": 1, "notumor": 1})
    {'glioma': 5, 'meningioma': 0, 'notumor': 5, 'pituitary': 0}
    """
    n = check_count(n, "n")
    classes = tuple(classes)
    if proportions is None:
        proportions = KAGGLE_PROPORTIONS
    if isinstance(proportions, Mapping):
        unknown = set(proportions) - set(classes)
        if unknown:
            raise ValueError(f"unknown classes {sorted(unknown)} in proportions: expected names among {classes}")
        w = np.array([float(proportions.get(k, 0.0)) for k in classes])
    else:
        w = np.asarray(proportions, dtype=float)
        if w.shape != (len(classes),):
            raise ValueError(f"proportions must give {len(classes)} weights in the order {classes}, got {w.shape}")
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"proportions must be non-negative, finite and not all zero, got {w.tolist()}")
    exact = n * w / w.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return dict(zip(classes, counts.tolist()))
