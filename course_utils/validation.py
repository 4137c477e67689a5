"""Input checks at the boundary of ``course_utils``, in one message style.

Every check raises :class:`ValueError` with a message that says what was
expected and what was received, value and type::

    n must be an integer >= 1, got 'abc' (str)
    signal_fraction must be a number in [0, 1] or None, got nan (float)

The arrays go through :func:`sklearn.utils.validation.check_array`, whose own
messages (and ``TypeError``) are replaced by that one style; the scalars are
checked here directly (the same rules as scikit-learn's ``check_scalar``, without
importing scikit-learn: a simulation worker that checks one count would pay
about 3 s of imports for it). ``bool`` is
never accepted as a number, although Python counts it as one.

Examples
--------
>>> from course_utils.validation import check_count
>>> check_count(12, "n")
12
>>> check_count(None, "n", allow_none=True) is None
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Literal, TypeVar, overload

import numpy as np

__all__ = ["check_count", "check_number", "check_fraction", "check_seed", "check_choice", "check_array",
           "check_consistent_length", "check_1d", "check_binary_labels", "check_labels", "describe"]

T = TypeVar("T")

#: Seeds accepted by NumPy's legacy and Pythia-style generators alike.
SEED_MAX = 2**32 - 1


def describe(value: object) -> str:
    """``'abc' (str)``: a received value as the messages show it (its repr, shortened, and its type)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _range_text(kind: str, min_value: float | None, max_value: float | None, closed: str) -> str:
    if min_value is not None and max_value is not None:
        left = "[" if closed in ("both", "left") else "("
        right = "]" if closed in ("both", "right") else ")"
        return f"{kind} in {left}{min_value}, {max_value}{right}"
    if min_value is not None:
        return f"{kind} {'>=' if closed in ('both', 'left') else '>'} {min_value}"
    if max_value is not None:
        return f"{kind} {'<=' if closed in ('both', 'right') else '<'} {max_value}"
    return kind


def _scalar(value: object, name: str, target: type | tuple[type, ...], kind: str, min_value: float | None,
            max_value: float | None, closed: Literal["both", "left", "right", "neither"], allow_none: bool,
            ) -> Any:
    expected = _range_text(kind, min_value, max_value, closed) + (" or None" if allow_none else "")
    if value is None and allow_none:
        return None
    bad = isinstance(value, (bool, np.bool_)) or not isinstance(value, target)
    if not bad and not math.isfinite(float(value)):  # type: ignore[arg-type]
        bad = True
    if not bad and min_value is not None:
        bad = value < min_value if closed in ("both", "left") else value <= min_value  # type: ignore[operator]
    if not bad and max_value is not None:
        bad = value > max_value if closed in ("both", "right") else value >= max_value  # type: ignore[operator]
    if bad:
        raise ValueError(f"{name} must be {expected}, got {describe(value)}")
    return value


@overload
def check_count(value: object, name: str, *, min_value: int = ..., max_value: int | None = ...,
                allow_none: Literal[False] = ...) -> int: ...
@overload
def check_count(value: object, name: str, *, min_value: int = ..., max_value: int | None = ...,
                allow_none: bool) -> int | None: ...
def check_count(value: object, name: str, *, min_value: int = 1, max_value: int | None = None,
                allow_none: bool = False) -> int | None:
    """An integer count (events, jets, pixels...) in ``[min_value, max_value]``, as a Python ``int``.

    Integers of NumPy are accepted; floats (even ``2.0``), strings and ``bool`` are not.

    Raises
    ------
    ValueError
        ``n must be an integer >= 1, got 2.5 (float)``.
    """
    out = _scalar(value, name, numbers.Integral, "an integer", min_value, max_value, "both", allow_none)
    return None if out is None else int(out)


def check_number(value: object, name: str, *, min_value: float | None = None, max_value: float | None = None,
                 closed: Literal["both", "left", "right", "neither"] = "both", allow_none: bool = False,
                 ) -> float | None:
    """A finite real number in the given interval (``closed`` says which ends belong to it), as a ``float``.

    Raises
    ------
    ValueError
        ``pileup must be a number >= 0, got -1 (int)``; NaN and infinities are refused.
    """
    out = _scalar(value, name, numbers.Real, "a number", min_value, max_value, closed, allow_none)
    return None if out is None else float(out)


def check_fraction(value: object, name: str, *, closed: Literal["both", "left", "right", "neither"] = "both",
                   allow_none: bool = False, percent_hint: bool = False) -> float | None:
    """A number in [0, 1] (``closed="neither"``: strictly between 0 and 1), as a ``float``.

    With ``percent_hint``, a value in (1, 100] is refused as a likely percentage, with the
    fraction it probably meant (``signal_efficiency=30`` -> "give 0.3").
    """
    if percent_hint and isinstance(value, numbers.Real) and not isinstance(value, bool) and 1 < value <= 100:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {describe(value)}: "
                         f"it looks like a percentage (give {value / 100:g})")
    return check_number(value, name, min_value=0, max_value=1, closed=closed, allow_none=allow_none)


def check_seed(value: object, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**32 - 1] (what NumPy's generators all accept)."""
    out = check_count(value, name, min_value=0, max_value=SEED_MAX)
    assert out is not None
    return out


def check_choice(value: T, name: str, choices: Iterable[T]) -> T:
    """``value`` when it is one of ``choices``.

    Raises
    ------
    ValueError
        ``source must be one of ('auto', 'real', 'simulated'), got 'reel' (str)``.
    """
    options = tuple(choices)
    try:
        ok = value in options
    except TypeError:  # an unhashable or incomparable value
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {options}, got {describe(value)}")
    return value


def check_array(array: Any, name: str, *, ndim: int | None = None, dtype: Any = "numeric",
                allow_nan: bool = False, min_samples: int = 1) -> np.ndarray:
    """An array through :func:`sklearn.utils.validation.check_array`, any number of dimensions.

    Parameters
    ----------
    ndim
        The number of dimensions required (``None``: any).
    dtype
        As for scikit-learn (``"numeric"``: keep a numeric dtype, convert objects to float).
    allow_nan
        Whether NaN may appear (infinities never).
    min_samples
        The fewest rows (first axis) accepted.

    Raises
    ------
    ValueError
        ``showers must be a finite numeric array with 2 dimensions and >= 1 rows, got ...``.
    """
    from sklearn.utils.validation import check_array as sk_check_array

    expected = "a finite numeric array" + (f" with {ndim} dimensions" if ndim is not None else "") + \
        f" and >= {min_samples} rows"
    got = f"shape {np.shape(array)}" if hasattr(array, "shape") else describe(array)
    if ndim is not None and np.ndim(array) != ndim:
        raise ValueError(f"{name} must be {expected}, got {got}")
    try:
        out = sk_check_array(array, dtype=dtype, ensure_2d=False, allow_nd=True,
                             ensure_all_finite="allow-nan" if allow_nan else True,
                             ensure_min_samples=min_samples if np.ndim(array) >= 1 else 0, input_name=name)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {expected}, got {got} ({exc})") from None
    return out


def check_consistent_length(**arrays: Any) -> int:
    """The common length of several arrays given by name; a ``ValueError`` naming each length otherwise."""
    from sklearn.utils.validation import check_consistent_length as sk_check

    try:
        sk_check(*arrays.values())
    except ValueError:
        lengths = ", ".join(f"{k} {len(v)}" for k, v in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must have the same length, got {lengths}") from None
    return len(next(iter(arrays.values()))) if arrays else 0


# --- 1-D arrays and labels: the metrics and the figures ------------------------------------


def check_1d(values: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
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


def check_binary_labels(values: Any, name: str = "y_true") -> np.ndarray:
    """Labels that must be 0/1 (or booleans); returned as ``int`` array."""
    arr = check_1d(values, name)
    uniq = np.unique(arr)
    if not np.isin(uniq, [0, 1]).all():
        shown = uniq[:10].tolist()
        raise ValueError(f"{name} must hold binary labels 0/1, got values {shown}")
    return arr.astype(int)


def check_labels(values: Any, name: str) -> np.ndarray:
    """Class labels: integers (or strings) in a 1-D array, not empty, no NaN."""
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} is empty: at least one label is expected")
        return arr
    arr = check_1d(arr, name)
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold class labels (integers), got non-integer floats")
        arr = arr.astype(int)
    return arr
