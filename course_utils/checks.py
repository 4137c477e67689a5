"""Input checks shared by the metrics and the figures: clear errors at the boundary.

Each function takes what a caller received and returns it as a NumPy array (or
number), or raises ``ValueError`` with a message that says what was received and
what was expected. The metrics (:mod:`course_utils.metrics`) and the figures
(:mod:`course_utils.plotting`) use them, so the two refuse bad input the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_1d", "same_length", "binary_labels", "labels", "positive_int", "fraction"]


def as_1d(values: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """A 1-D float-or-int NumPy array, or ``ValueError`` saying what is wrong."""
    try:
        arr = np.asarray(values)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array: {exc}") from exc
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: at least one value is expected")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains {int(np.isnan(arr).sum())} NaN value(s) out of {arr.size}")
    return arr


def same_length(**arrays: np.ndarray) -> None:
    """``ValueError`` when the arrays do not all have the same length."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(f"inputs must have the same length: {described}")


def binary_labels(values: Any, name: str = "y_true") -> np.ndarray:
    """Labels that must be 0/1 (or booleans); returned as ``int`` array."""
    arr = as_1d(values, name)
    uniq = np.unique(arr)
    if not np.isin(uniq, [0, 1]).all():
        shown = uniq[:10].tolist()
        raise ValueError(f"{name} must hold binary labels 0/1, got values {shown}")
    return arr.astype(int)


def labels(values: Any, name: str) -> np.ndarray:
    """Class labels: integers (or strings) in a 1-D array, not empty, no NaN."""
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} is empty: at least one label is expected")
        return arr
    arr = as_1d(arr, name)
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold class labels (integers), got non-integer floats")
        arr = arr.astype(int)
    return arr


def positive_int(value: Any, name: str) -> int:
    """A positive integer (booleans refused), or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def fraction(value: Any, name: str) -> float:
    """A number in [0, 1]; a value in (1, 100] is taken for a percentage and refused."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from exc
    if np.isnan(v):
        raise ValueError(f"{name} is NaN: a number in [0, 1] is expected")
    if 1 < v <= 100:
        raise ValueError(
            f"{name}={v} looks like a percentage: give a fraction in [0, 1] (e.g. {v / 100:g})"
        )
    if not 0 <= v <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {v}")
    return v
