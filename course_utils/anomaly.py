"""Anomaly detection in a resonance search: SIC curves, out-of-fold scores, a sideband fit (notebook 08).

Notebook 08 writes each of these in cells first; these helpers repeat them
for the comparisons and the exercises.

* :func:`sic_curve`, :func:`max_sic`: the significance improvement
  characteristic SIC = ε_S/√ε_B of a score;
* :func:`out_of_fold_scores`: k-fold training so that no event is scored by
  a classifier that saw it (CWoLa hunting, Collins, Howard, Nachman,
  arXiv:1805.02664 and arXiv:1902.02634);
* :func:`dijet_function`, :func:`fit_sidebands`: the smooth function of
  dijet searches fitted to the m_jj histogram outside the signal region, and
  the significance of the excess inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["sic_curve", "max_sic", "out_of_fold_scores", "dijet_function", "fit_sidebands"]


def _binary(y: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    s = np.asarray(score, dtype=float)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise ValueError(f"y and score must be 1-D of the same length, got shapes {y.shape} and {s.shape}")
    if len(y) == 0:
        raise ValueError("y and score are empty")
    if not np.all(np.isfinite(s)):
        raise ValueError("score holds NaN or infinite values")
    if not np.isin(y, (0, 1)).all() or len(np.unique(y)) != 2:
        raise ValueError(f"y must hold both labels 0 and 1 and nothing else, got {np.unique(y)[:5]}")
    return y.astype(int), s


def sic_curve(y: Any, score: Any, *, min_background: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal efficiency, background efficiency and SIC = ε_S/√ε_B for every cut on ``score``.

    Parameters
    ----------
    y : array_like, shape (n,)
        1 for signal, 0 for background.
    score : array_like, shape (n,)
        Larger means more signal-like; events with ``score >= cut`` are kept.
    min_background : int
        Cuts keeping fewer background events are dropped: there ε_B, hence the
        SIC, is dominated by the statistical fluctuation of a handful of events.

    Returns
    -------
    eff_s, eff_b, sic : numpy.ndarray, shape (n_cuts,)
        Ordered by increasing ε_S.
    """
    y, s = _binary(y, score)
    order = np.argsort(-s, kind="stable")
    ys = y[order]
    n_s, n_b = np.cumsum(ys), np.cumsum(1 - ys)
    last = np.r_[s[order][1:] != s[order][:-1], True]  # one point per distinct cut
    n_s, n_b = n_s[last], n_b[last]
    keep = n_b >= min_background
    eff_s, eff_b = n_s[keep] / ys.sum(), n_b[keep] / (len(ys) - ys.sum())
    return eff_s, eff_b, eff_s / np.sqrt(eff_b)


def max_sic(y: Any, score: Any, *, min_background: int = 20) -> float:
    """The largest SIC of :func:`sic_curve` (the best cut's gain in S/√B)."""
    _, _, sic = sic_curve(y, score, min_background=min_background)
    if len(sic) == 0:
        raise ValueError(f"no cut keeps {min_background} background events: lower min_background")
    return float(sic.max())


def out_of_fold_scores(make_model: Callable[[], Any], X: Any, y: Any, *, k: int = 5, seed: int = 0,
                       X_other: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Train ``k`` classifiers, each on k−1 folds, and score each event with the one that did not see it.

    Parameters
    ----------
    make_model
        Returns a fresh scikit-learn classifier (``fit``, ``predict_proba``).
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        The training labels (in CWoLa: 1 signal region, 0 sidebands).
    k
        Number of folds (≥ 2), stratified on ``y``.
    seed
        Seed of the split.
    X_other : array_like, shape (m, d), optional
        Events none of the classifiers saw (a test set): scored by the
        average of the ``k`` classifiers.

    Returns
    -------
    scores : numpy.ndarray, shape (n,)
        Out-of-fold probability of class 1.
    other : numpy.ndarray, shape (m,) or None
        Scores of ``X_other``.
    """
    from sklearn.model_selection import StratifiedKFold

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must have shape (n, d) and y shape (n,), got {X.shape} and {y.shape}")
    if isinstance(k, bool) or int(k) != k or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    scores = np.full(len(X), np.nan)
    other = None if X_other is None else np.zeros(len(X_other))
    for train, test in StratifiedKFold(n_splits=int(k), shuffle=True, random_state=seed).split(X, y):
        model = make_model().fit(X[train], y[train])
        scores[test] = model.predict_proba(X[test])[:, 1]
        if other is not None:
            other += model.predict_proba(np.asarray(X_other, dtype=float))[:, 1] / k
    return scores, other


def dijet_function(x: np.ndarray, p0: float, p1: float, p2: float, p3: float = 0.0) -> np.ndarray:
    """The smooth function of dijet searches: dN/dm = p0 (1 − x)^p1 / x^(p2 + p3 ln x), x = m_jj/√s.

    Parameters
    ----------
    x : numpy.ndarray
        m_jj/√s, between 0 and 1.
    p0, p1, p2, p3 : float
        Normalisation and shape parameters.

    Returns
    -------
    numpy.ndarray
        Events per unit of x (times the bin width gives a count).
    """
    x = np.asarray(x, dtype=float)
    return p0 * (1 - x) ** p1 / x ** (p2 + p3 * np.log(x))


def fit_sidebands(mjj: Any, *, bins: Any, signal_region: tuple[float, float], sqrt_s: float = 13_000.0,
                  n_params: int = 3) -> dict[str, Any]:
    """Fit :func:`dijet_function` to the m_jj histogram outside the signal region; count the excess inside.

    The fit maximises the Poisson likelihood of the sideband bins. The
    expected background in the signal region is the fitted function's
    integral over its bins; its uncertainty comes from the fit's covariance.

    Parameters
    ----------
    mjj : array_like, shape (n,)
        Dijet masses [GeV].
    bins : array_like, shape (n_bins + 1,)
        Bin edges [GeV]; the signal region's edges must be among them.
    signal_region : (float, float)
        [low, high) in GeV.
    sqrt_s : float
        √s [GeV], to scale x = m_jj/√s.
    n_params : {3, 4}
        Parameters of the function.

    Returns
    -------
    dict
        ``counts``, ``expected`` (fitted, per bin), ``in_sr`` (bins of the
        signal region), ``observed``, ``background``, ``background_error``
        (events in the signal region), ``significance``
        ((observed − background)/√(background + error²)), ``params``.
    """
    from scipy.optimize import minimize

    m = np.asarray(mjj, dtype=float)
    edges = np.asarray(bins, dtype=float)
    if m.ndim != 1 or len(m) == 0 or not np.all(np.isfinite(m)):
        raise ValueError(f"mjj must be a non-empty 1-D array of finite masses, got shape {m.shape}")
    if edges.ndim != 1 or len(edges) < 3 or np.any(np.diff(edges) <= 0):
        raise ValueError("bins must be increasing edges (at least 3)")
    lo, hi = signal_region
    if not (np.isclose(edges, lo).any() and np.isclose(edges, hi).any()) or lo >= hi:
        raise ValueError(f"the signal region {signal_region} must be [low, high) with both edges among the bins")
    if n_params not in (3, 4):
        raise ValueError(f"n_params must be 3 or 4, got {n_params}")
    counts, _ = np.histogram(m, bins=edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    in_sr = (centres > lo) & (centres < hi)
    x_lo, x_hi = edges[:-1] / sqrt_s, edges[1:] / sqrt_s
    sb = ~in_sr

    def expected(theta: np.ndarray) -> np.ndarray:
        # log-normalisation keeps p0 positive; Simpson's rule per bin
        p = (np.exp(theta[0]), *theta[1:])
        xm = 0.5 * (x_lo + x_hi)
        f = dijet_function(x_lo, *p) + 4 * dijet_function(xm, *p) + dijet_function(x_hi, *p)
        return f * (x_hi - x_lo) / 6

    def nll(theta: np.ndarray) -> float:
        mu = expected(theta)[sb]
        if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
            return 1e30
        return float(np.sum(mu - counts[sb] * np.log(mu)))

    shape0 = [10.0, 5.0] + ([0.0] if n_params == 4 else [])
    norm0 = np.log(max(counts[sb].sum(), 1.0) / max(expected(np.array([0.0, *shape0]))[sb].sum(), 1e-300))
    theta0 = np.array([norm0, *shape0])
    best = None
    for start in (theta0, theta0 + np.r_[0, 3.0, 1.0, [0.0] * (n_params - 3)]):
        res = minimize(nll, start, method="Nelder-Mead", options={"maxiter": 20_000, "xatol": 1e-8, "fatol": 1e-10})
        if best is None or res.fun < best.fun:
            best = res
    theta = best.x
    # covariance from the numerical Hessian of the negative log-likelihood
    eps = 1e-4 * np.maximum(np.abs(theta), 1.0)
    n = len(theta)
    hess = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            di, dj = np.eye(n)[i] * eps[i], np.eye(n)[j] * eps[j]
            hess[i, j] = (nll(theta + di + dj) - nll(theta + di - dj) - nll(theta - di + dj)
                          + nll(theta - di - dj)) / (4 * eps[i] * eps[j])
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.full((n, n), np.nan)
    mu = expected(theta)
    grad = np.array([(expected(theta + np.eye(n)[i] * eps[i])[in_sr].sum()
                      - expected(theta - np.eye(n)[i] * eps[i])[in_sr].sum()) / (2 * eps[i]) for i in range(n)])
    var = float(grad @ cov @ grad)
    bkg = float(mu[in_sr].sum())
    obs = int(counts[in_sr].sum())
    err = float(np.sqrt(var)) if np.isfinite(var) and var > 0 else 0.0
    return {"counts": counts, "expected": mu, "in_sr": in_sr, "edges": edges, "observed": obs,
            "background": bkg, "background_error": err,
            "significance": (obs - bkg) / np.sqrt(bkg + err**2) if bkg > 0 else 0.0, "params": theta}
