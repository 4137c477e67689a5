"""scikit-learn's histogram boosted trees, with weighted bin edges computed in one pass (notebook 08).

:class:`HistGradientBoostingClassifier` is
:class:`sklearn.ensemble.HistGradientBoostingClassifier` with one change, in how
it bins its training data when it has sample weights (``class_weight``, or
``sample_weight`` passed to ``fit``). scikit-learn 1.9 then computes each bin
edge of each variable by a separate call of its weighted percentile, which
sorts the variable again every time: with 63 bins of 4 variables, about 250
calls per fit, most of a fit's time at notebook 08's sizes. Here the same steps
(sort, cumulative sum of the weights, search, average of two neighbours) run once
per variable for every edge at once, with NumPy: the edges, the trees and the
scores are the same to the last bit; a test checks it. Everything else
(the trees, early stopping, prediction) is scikit-learn's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import sklearn
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.ensemble import HistGradientBoostingClassifier as _SklearnHistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting import binning as _binning
from sklearn.ensemble._hist_gradient_boosting.common import ALMOST_INF, X_DTYPE
from sklearn.utils.stats import _weighted_percentile

__all__ = ["ONE_PASS", "HistGradientBoostingClassifier", "weighted_bin_thresholds", "weighted_percentiles"]

_SKLEARN_THRESHOLDS = _binning._find_binning_thresholds
#: Whether this scikit-learn is the one whose weighted binning :func:`weighted_bin_thresholds` repeats step by step
#: (1.9, the course's pin); on any other, the class is scikit-learn's, unchanged.
ONE_PASS = sklearn.__version__.startswith("1.9.")


def weighted_bin_thresholds(col_data: np.ndarray, max_bins: int, sample_weight: np.ndarray | None = None,
                            ) -> np.ndarray:
    """Bin edges of one variable: scikit-learn's ``_find_binning_thresholds``, the percentiles in one call.

    Parameters
    ----------
    col_data : numpy.ndarray, shape (n,)
        The variable (NaN are ignored, as in scikit-learn).
    max_bins
        Bins for the non-missing values.
    sample_weight : numpy.ndarray, shape (n,), optional
        Without weights, scikit-learn's own function is called.

    Returns
    -------
    numpy.ndarray
        The increasing edges (at most ``max_bins - 1``), as scikit-learn's.
    """
    if sample_weight is None:
        return _SKLEARN_THRESHOLDS(col_data, max_bins, sample_weight=None)
    # scikit-learn 1.9's steps, in its order: drop NaN and zero weights, sort, distinct values
    missing = np.isnan(col_data)
    if missing.any():
        col_data, sample_weight = col_data[~missing], sample_weight[~missing]
    nonzero = sample_weight != 0
    col_data, sample_weight = col_data[nonzero], sample_weight[nonzero]
    order = np.argsort(col_data)
    col_data, sample_weight = col_data[order], sample_weight[order]
    distinct = np.unique(col_data).astype(X_DTYPE)
    if len(distinct) == 1:
        return np.asarray([])
    if len(distinct) <= max_bins:
        thresholds = sliding_window_view(distinct, 2).mean(axis=1)
    else:
        percentiles = np.linspace(0, 100, num=max_bins + 1)[1:-1]
        # the one change: every percentile at once (scikit-learn calls its weighted percentile once per edge)
        thresholds = weighted_percentiles(col_data, sample_weight, percentiles)
    unique = np.unique(thresholds)
    if unique.shape[0] != thresholds.shape[0]:
        thresholds = unique
    np.clip(thresholds, a_min=None, a_max=ALMOST_INF, out=thresholds)
    return thresholds


def weighted_percentiles(values: np.ndarray, weights: np.ndarray, percentiles: np.ndarray) -> np.ndarray:
    """scikit-learn's weighted "averaged inverted CDF" percentiles of one variable, all at once.

    The steps of ``sklearn.utils.stats._weighted_percentile(values, weights, p,
    average=True)`` for positive weights, each one applied to every percentile
    ``p`` at once with NumPy instead of once per call: the same sort, cumulative
    sum, search and average, so the same values to the last bit.

    Parameters
    ----------
    values, weights : numpy.ndarray, shape (n,)
        The variable (no NaN) and its weights (all positive: scikit-learn's binning
        drops the zero weights first; with a zero weight, scikit-learn's own function
        is called, once per percentile).
    percentiles : numpy.ndarray, shape (m,)
        In percent.

    Returns
    -------
    numpy.ndarray, shape (m,)
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1, 1)
    percentiles = np.asarray(percentiles, dtype=np.float64)
    if len(values) == 0 or not np.all(weights > 0):
        return np.array([_weighted_percentile(values[:, 0], weights[:, 0], p, average=True) for p in percentiles])
    order = np.argsort(values, axis=0)                       # as scikit-learn: not a stable sort, axis 0
    cdf = np.cumsum(np.take_along_axis(weights, order, axis=0).T, axis=1)[0]
    rank = percentiles / 100 * cdf[-1]
    rank[rank == 0] = np.nextafter(rank[rank == 0], rank[rank == 0] + 1)
    last = len(values) - 1
    index = np.clip(np.searchsorted(cdf, rank), 0, last)
    at, after = values[order[index, 0], 0], values[order[np.clip(index + 1, 0, last), 0], 0]
    return np.where(cdf[index] - rank > np.finfo(np.float64).eps, at, (at + after) / 2)


@contextlib.contextmanager
def _one_pass_binning() -> Iterator[None]:
    """scikit-learn's binning module uses :func:`weighted_bin_thresholds` inside the block."""
    _binning._find_binning_thresholds = weighted_bin_thresholds
    try:
        yield
    finally:
        _binning._find_binning_thresholds = _SKLEARN_THRESHOLDS


class HistGradientBoostingClassifier(_SklearnHistGradientBoostingClassifier):
    """:class:`sklearn.ensemble.HistGradientBoostingClassifier`, its weighted bin edges in one pass.

    Same parameters, same results (to the last bit); only faster to fit with sample weights.
    With a scikit-learn other than 1.9 (:data:`ONE_PASS` false), it is scikit-learn's class.
    """

    def _bin_data(self, X: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        if not ONE_PASS:
            return super()._bin_data(X, *args, **kwargs)
        with _one_pass_binning():   # only the training data's binning computes edges
            return super()._bin_data(X, *args, **kwargs)
