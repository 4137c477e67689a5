"""How much a classifier's score depends on another variable (notebook 10).

* :func:`distance_correlation`: the (squared) distance correlation of Székely,
  Rizzo and Bakirov (*Measuring and testing dependence by correlation of
  distances*, Ann. Statist. 35 (2007) 2769), zero if and only if the two
  variables are independent (unlike Pearson's correlation, which misses
  non-linear dependence). DisCo (Kasieczka and Shih, arXiv:2001.05310) uses it
  as a penalty to decorrelate a classifier from the jet mass.
* :func:`jensen_shannon_divergence`: the Jensen-Shannon divergence (base 2,
  between 0 and 1) between the histograms of two samples; used to measure
  background *sculpting*: how much a cut on the score changes the shape of the
  background's mass distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils import validation

__all__ = ["distance_correlation", "jensen_shannon_divergence"]

#: Largest sample for :func:`distance_correlation` (its cost grows as n x n).
MAX_DCOR_SAMPLES = 20_000
#: Most matrix entries :func:`distance_correlation` holds at once: the n x n distance
#: matrices are built a block of rows at a time (about 32 MB per block), not whole.
BLOCK_ENTRIES = 4_000_000


def _weights(weights: Any, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = validation.check_1d(weights, "weights").astype(float)
    if len(w) != n:
        raise ValueError(f"weights must have one value per event ({n}), got {len(w)}")
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def distance_correlation(x: Any, y: Any, weights: Any = None) -> float:
    """Squared distance correlation ``dCor^2(x, y)`` of two 1-D samples, in [0, 1].

    Parameters
    ----------
    x, y : array-like, shape (n,)
        Paired values (a score and a jet mass, say), ``2 <= n <= 20000``.
    weights : array-like, shape (n,), optional
        Event weights (normalised here), as in DisCo's weighted definition.

    Returns
    -------
    float
        ``dCov^2(x, y) / sqrt(dCov^2(x, x) dCov^2(y, y))``, computed from the
        double-centred distance matrices ``a_ij = |x_i - x_j|``, ``b_ij = |y_i - y_j|``
        (the V-statistic). 0 for independent samples (up to finite-sample
        bias), 1 when ``y`` is a linear function of ``x``.

    Raises
    ------
    ValueError
        Different lengths, fewer than 2 or more than 20,000 values, NaN or
        infinite values, bad weights, or a constant sample.
    """
    xa = validation.check_1d(x, "x").astype(float)
    ya = validation.check_1d(y, "y").astype(float)
    validation.check_consistent_length(x=xa, y=ya)
    n = len(xa)
    if n < 2:
        raise ValueError(f"distance_correlation needs at least 2 values, got {n}")
    if n > MAX_DCOR_SAMPLES:
        raise ValueError(f"distance_correlation costs {n} x {n} distances: give at most {MAX_DCOR_SAMPLES} "
                         "values (subsample first)")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ValueError("x and y must be finite")
    w = _weights(weights, n)

    # Rows i:i+step of the distance matrices at a time: memory O(step * n), not O(n^2).
    step = max(1, BLOCK_ENTRIES // n)
    blocks = [slice(i, i + step) for i in range(0, n, step)]

    def row_means(v: np.ndarray) -> np.ndarray:
        return np.concatenate([np.abs(v[rows, None] - v[None, :]) @ w for rows in blocks])

    rx, ry = row_means(xa), row_means(ya)
    mx, my = rx @ w, ry @ w
    dcov_xy = dcov_xx = dcov_yy = 0.0
    for rows in blocks:   # double-centred blocks a_ij, b_ij, summed with the weights w_i w_j
        a = np.abs(xa[rows, None] - xa[None, :]) - rx[rows, None] - rx[None, :] + mx
        b = np.abs(ya[rows, None] - ya[None, :]) - ry[rows, None] - ry[None, :] + my
        dcov_xy += w[rows] @ (a * b) @ w
        dcov_xx += w[rows] @ (a * a) @ w
        dcov_yy += w[rows] @ (b * b) @ w
    if dcov_xx <= 0 or dcov_yy <= 0:
        raise ValueError("distance correlation is undefined for a constant sample")
    return float(max(dcov_xy, 0.0) / np.sqrt(dcov_xx * dcov_yy))


def jensen_shannon_divergence(p_samples: Any, q_samples: Any, *, bins: Any = 30,
                              range: tuple[float, float] | None = None) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between the histograms of two samples.

    Parameters
    ----------
    p_samples, q_samples : array-like, shape (n,) and (m,)
        Two samples of the same variable (the background's jet mass before and
        after a cut on the score, say).
    bins, range
        Histogram binning, shared by both samples (``numpy.histogram``'s
        arguments; by default 30 bins over the range of both samples).

    Returns
    -------
    float
        ``JSD = (KL(P||M) + KL(Q||M)) / 2`` with ``M = (P + Q) / 2``, in bits:
        0 for identical histograms, 1 for histograms with no bin in common.

    Raises
    ------
    ValueError
        An empty sample, NaN, or no value of a sample inside ``range``.
    """
    from scipy.spatial.distance import jensenshannon

    p = validation.check_1d(p_samples, "p_samples").astype(float)
    q = validation.check_1d(q_samples, "q_samples").astype(float)
    if range is None:
        both = np.concatenate([p, q])
        range = (float(both.min()), float(both.max()) if both.max() > both.min() else float(both.min()) + 1.0)
    edges = np.histogram_bin_edges(np.concatenate([p, q]), bins=bins, range=range)
    hp, _ = np.histogram(p, bins=edges)
    hq, _ = np.histogram(q, bins=edges)
    for name, h in (("p_samples", hp), ("q_samples", hq)):
        if h.sum() == 0:
            raise ValueError(f"no value of {name} falls inside the range {range}")
    return float(jensenshannon(hp, hq, base=2) ** 2)
