"""The sideband fit of a bump hunt: a smooth background fitted outside a signal region (notebook 08).

* :func:`dijet_function`: the smooth function of dijet searches;
* :func:`fit_sidebands`: that function fitted to the m_jj histogram outside the
  signal region (an extended binned Poisson likelihood minimised by iminuit's
  MIGRAD, errors from HESSE), and the significance of the excess inside it.

Notebook 08 writes a simpler fit in its cells first; this helper adds the
uncertainty of the fitted background and is used for the comparisons and the
exercises. The selection that comes before the fit (CWoLa hunting) is in
:mod:`course_utils.models.cwola`; the SIC of a score in :mod:`course_utils.metrics.hep`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["dijet_function", "fit_sidebands"]


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


def _bin_integrals(edges_x: np.ndarray, params: tuple[float, ...]) -> np.ndarray:
    """Integral of :func:`dijet_function` over each bin (Simpson's rule per bin)."""
    x_lo, x_hi = edges_x[:-1], edges_x[1:]
    xm = 0.5 * (x_lo + x_hi)
    f = dijet_function(x_lo, *params) + 4 * dijet_function(xm, *params) + dijet_function(x_hi, *params)
    return f * (x_hi - x_lo) / 6


def fit_sidebands(mjj: Any, *, bins: Any, signal_region: tuple[float, float], sqrt_s: float = 13_000.0,
                  n_params: int = 3) -> dict[str, Any]:
    """Fit :func:`dijet_function` to the m_jj histogram outside the signal region; count the excess inside.

    The fit maximises the Poisson likelihood of the sideband bins
    (:class:`iminuit.cost.ExtendedBinnedNLL` with the signal-region bins masked,
    minimised by MIGRAD); the parameters' covariance comes from HESSE. The
    expected background in the signal region is the fitted function's integral
    over its bins; its uncertainty is the covariance propagated to that integral
    (linearly, through its numerical gradient).

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
        signal region), ``edges``, ``observed``, ``background``, ``background_error``
        (events in the signal region), ``significance``
        ((observed − background)/√(background + error²)), ``params`` (ln p0,
        p1, p2[, p3]), their HESSE ``errors`` and ``covariance``, and ``valid``
        (MIGRAD converged and the covariance is accurate).
    """
    from iminuit import Minuit
    from iminuit.cost import ExtendedBinnedNLL

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
    sb = ~in_sr
    if counts[sb].sum() == 0:
        raise ValueError("no event in the sidebands: nothing to fit")

    def expected(theta: np.ndarray) -> np.ndarray:
        # ln p0 as parameter keeps the normalisation positive
        return _bin_integrals(edges / sqrt_s, (np.exp(theta[0]), *theta[1:]))

    # ln f(x) = ln p0 + p1 ln(1 - x) - p2 ln x - p3 ln²x is linear in theta = (ln p0, p1, p2, p3), and over
    # a narrow range of x these terms are nearly collinear (correlations of 0.998 between the parameters): the
    # numerical second derivatives of HESSE are then unreliable. MIGRAD and HESSE work on q = R theta instead,
    # with R from the QR decomposition of the design matrix weighted by the sideband counts: the q are
    # nearly uncorrelated with unit errors. theta = R^-1 q, a linear map, carries the covariance exactly.
    x_c = centres[sb] / sqrt_s
    design = np.c_[np.ones_like(x_c), np.log1p(-x_c), -np.log(x_c), -np.log(x_c) ** 2][:, :n_params]
    weight = np.sqrt(np.maximum(counts[sb], 1.0))[:, None]
    r = np.linalg.qr(weight * design, mode="r")
    r_inv = np.linalg.inv(r)

    def scaled_cdf(xe: np.ndarray, *q: float) -> np.ndarray:
        """Expected events below each edge, for the decorrelated parameters q."""
        theta = r_inv @ np.asarray(q)
        return np.r_[0.0, np.cumsum(_bin_integrals(xe / sqrt_s, (np.exp(theta[0]), *theta[1:])))]

    cost = ExtendedBinnedNLL(counts, edges, scaled_cdf, name=[f"q{i}" for i in range(n_params)])
    cost.mask = sb
    shape0 = [10.0, 5.0] + ([0.0] if n_params == 4 else [])
    norm0 = np.log(max(counts[sb].sum(), 1.0) / max(expected(np.array([0.0, *shape0]))[sb].sum(), 1e-300))
    best = None
    for shift in (0.0, 1.0):  # a second start further out, kept if it ends lower
        start = np.array([norm0, shape0[0] + 3.0 * shift, shape0[1] + shift, *shape0[2:]])
        fit = Minuit(cost, *(r @ start))
        fit.errors = np.ones(n_params)
        fit.migrad(ncall=20_000)
        if best is None or (fit.valid, -fit.fval) > (best.valid, -best.fval):
            best = fit
    best.hesse()
    theta = r_inv @ np.array(best.values)
    cov_q = np.array(best.covariance) if best.covariance is not None else np.full((n_params, n_params), np.nan)
    cov = r_inv @ cov_q @ r_inv.T
    mu = expected(theta)
    # the background in the signal region and its error: the covariance of q propagated linearly
    q, h = np.array(best.values), 1e-3  # q has errors close to 1
    in_sr_count = lambda q_: float(np.diff(scaled_cdf(edges, *q_))[in_sr].sum())  # noqa: E731
    grad = np.array([(in_sr_count(q + h * e) - in_sr_count(q - h * e)) / (2 * h) for e in np.eye(n_params)])
    var = float(grad @ cov_q @ grad)
    bkg = float(mu[in_sr].sum())
    obs = int(counts[in_sr].sum())
    err = float(np.sqrt(var)) if np.isfinite(var) and var > 0 else 0.0
    return {"counts": counts, "expected": mu, "in_sr": in_sr, "edges": edges, "observed": obs,
            "background": bkg, "background_error": err,
            "significance": (obs - bkg) / np.sqrt(bkg + err**2) if bkg > 0 else 0.0, "params": theta,
            "errors": np.sqrt(np.diag(cov)), "covariance": cov, "valid": bool(best.valid and best.accurate)}
