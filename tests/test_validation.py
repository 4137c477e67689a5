"""course_utils.validation: one message style for the input checks, on scikit-learn's validators."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import validation as v


@pytest.mark.parametrize("value, message", [
    (0, "n must be an integer >= 1, got 0 (int)"),
    ("abc", "n must be an integer >= 1, got 'abc' (str)"),
    (2.0, "n must be an integer >= 1, got 2.0 (float)"),
    (True, "n must be an integer >= 1, got True (bool)"),
    (None, "n must be an integer >= 1, got None (NoneType)"),
])
def test_check_count_refuses_with_one_message(value, message):
    with pytest.raises(ValueError) as err:
        v.check_count(value, "n")
    assert str(err.value) == message


def test_check_count_accepts_and_converts():
    assert v.check_count(np.int64(3), "n") == 3 and type(v.check_count(np.int64(3), "n")) is int
    assert v.check_count(None, "n", allow_none=True) is None
    assert v.check_count(0, "index", min_value=0) == 0
    with pytest.raises(ValueError, match=r"^k must be an integer in \[1, 5\] or None, got 6 \(int\)$"):
        v.check_count(6, "k", max_value=5, allow_none=True)


def test_check_number_and_fraction():
    assert v.check_number(2, "x", min_value=0) == 2.0
    for bad in (float("nan"), float("inf"), "1", True):
        with pytest.raises(ValueError, match=r"^x must be a number >= 0, got"):
            v.check_number(bad, "x", min_value=0)
    assert v.check_fraction(1, "f") == 1.0
    with pytest.raises(ValueError, match=r"^f must be a number in \(0, 1\), got 1 \(int\)$"):
        v.check_fraction(1, "f", closed="neither")
    assert v.check_fraction(None, "f", allow_none=True) is None


def test_check_seed_and_choice():
    assert v.check_seed(2**32 - 1) == 2**32 - 1
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 4294967295\], got -1 \(int\)$"):
        v.check_seed(-1)
    assert v.check_choice("real", "source", ("auto", "real")) == "real"
    with pytest.raises(ValueError, match=r"^source must be one of \('auto', 'real'\), got \['real'\] \(list\)$"):
        v.check_choice(["real"], "source", ("auto", "real"))


def test_check_array_and_lengths():
    x = v.check_array([[1, 2], [3, 4]], "x", ndim=2)
    np.testing.assert_array_equal(x, np.array([[1, 2], [3, 4]]))
    assert v.check_array(np.zeros((2, 3, 4)), "x").shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"^x must be a finite numeric array with 2 dimensions"):
        v.check_array(np.zeros(3), "x", ndim=2)
    with pytest.raises(ValueError, match="x must be a finite numeric array"):
        v.check_array([[1.0, np.nan]], "x")
    assert v.check_array([[1.0, np.nan]], "x", allow_nan=True).shape == (1, 2)
    with pytest.raises(ValueError, match="x must be a finite numeric array"):
        v.check_array(np.zeros((0, 2)), "x")
    assert v.check_consistent_length(X=np.zeros(3), y=[1, 2, 3]) == 3
    with pytest.raises(ValueError, match=r"^X, y must have the same length, got X 3, y 2$"):
        v.check_consistent_length(X=np.zeros(3), y=[1, 2])


def test_describe_shortens_long_values():
    assert v.describe("a" * 100).endswith("... (str)") and len(v.describe("a" * 100)) < 80
