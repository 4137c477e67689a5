"""Significance of a counting experiment when the background is uncertain (notebook 10).

A selection keeps ``s`` signal and ``b`` background events on average; the
background is known only to within ``sigma_b`` (a systematic uncertainty, for
instance the spread of ``b`` between two plausible simulations). The median
discovery significance with that uncertainty is the Asimov formula of Cowan
et al. (*Asymptotic formulae for likelihood-based tests of new physics*,
arXiv:1007.1727; with ``sigma_b`` as in G. Cowan, *Discovery sensitivity for a
counting experiment with background uncertainty*, 2012, and eq. 20 of Adam-Bourdarios
et al., *The Higgs boson machine learning challenge*, JMLR W&CP 42, 2015, the
"AMS" used by Louppe, Kagan and Cranmer, arXiv:1611.01046):

.. math::

    Z_A = \\sqrt{2\\left[(s+b)\\ln\\frac{(s+b)(b+\\sigma_b^2)}{b^2+(s+b)\\sigma_b^2}
          - \\frac{b^2}{\\sigma_b^2}\\ln\\left(1+\\frac{\\sigma_b^2 s}{b(b+\\sigma_b^2)}\\right)\\right]}

It tends to :func:`~course_utils.metrics.hep.asimov_significance` when
``sigma_b -> 0`` and to ``s / sqrt(b + sigma_b**2)`` when ``s << b``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils import validation
from course_utils.metrics.hep import asimov_significance

__all__ = ["asimov_significance_with_uncertainty", "background_shift", "significance_at", "significance_scan"]


def asimov_significance_with_uncertainty(s: Any, b: Any, sigma_b: Any) -> Any:
    """Median discovery significance of ``s`` signal over ``b`` background known to within ``sigma_b``.

    Parameters
    ----------
    s, b : float or array-like
        Expected signal and background counts after the selection (``b > 0``).
    sigma_b : float or array-like
        Absolute uncertainty on ``b`` (same units: events), ``>= 0``.

    Returns
    -------
    float or numpy.ndarray
        ``Z_A`` (in standard deviations), broadcast over the inputs; equal to
        the Asimov significance without uncertainty where ``sigma_b == 0``.

    Raises
    ------
    ValueError
        NaN, negative counts or uncertainty, or ``b <= 0``.

    Examples
    --------
    >>> round(asimov_significance_with_uncertainty(10.0, 100.0, 0.0), 4)   # = Z_A without uncertainty
    0.984
    >>> round(asimov_significance_with_uncertainty(10.0, 100.0, 10.0), 4)  # below 10 / sqrt(100 + 100) = 0.71
    0.6902
    """
    s_arr, b_arr, sig = (np.asarray(v, dtype=float) for v in (s, b, sigma_b))
    for name, arr in (("s", s_arr), ("b", b_arr), ("sigma_b", sig)):
        if np.isnan(arr).any():
            raise ValueError(f"{name} must not be NaN, got {arr}")
        if (arr < 0).any():
            raise ValueError(f"{name} must be non-negative, got {arr}")
    if (b_arr <= 0).any():
        raise ValueError("the Asimov significance needs a background b > 0")
    s_arr, b_arr, sig = np.broadcast_arrays(s_arr, b_arr, sig)
    var = sig ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        first = (s_arr + b_arr) * np.log((s_arr + b_arr) * (b_arr + var) / (b_arr ** 2 + (s_arr + b_arr) * var))
        second = b_arr ** 2 / var * np.log1p(var * s_arr / (b_arr * (b_arr + var)))
        z = np.sqrt(np.maximum(2.0 * (first - second), 0.0))
    # sigma_b -> 0: the formula is 0/0 there (and loses digits when sigma_b**2 << b); use its limit.
    tiny = var < 1e-9 * b_arr
    if tiny.any():
        z = np.where(tiny, asimov_significance(s_arr, b_arr), z)
    return float(z) if z.ndim == 0 else z


def _labelled_scores(y: Any, score: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    yt = validation.check_binary_labels(y, f"y_{name}")
    st = validation.check_1d(score, f"score_{name}").astype(float)
    validation.check_consistent_length(**{f"y_{name}": yt, f"score_{name}": st})
    if yt.min() == yt.max():
        raise ValueError(f"y_{name} holds only class {yt[0]}: signal (1) and background (0) are both needed")
    return yt, st


def background_shift(y_nominal: Any, score_nominal: Any, y_alternative: Any, score_alternative: Any, *,
                     signal_efficiency: float = 0.5, threshold: float | None = None) -> dict[str, float]:
    """How much the selected background moves when the simulation changes (the systematic of a cut).

    The threshold is fixed on the nominal sample, where it keeps the fraction
    ``signal_efficiency`` of the signal (or given: a threshold chosen on a
    validation sample, applied here to test events); the same threshold is
    applied to the alternative sample (same process, another setting of the
    nuisance, or the same events reconstructed another way).

    Parameters
    ----------
    y_nominal, score_nominal : array-like, shape (n,)
        Labels (1 signal, 0 background) and scores of the nominal sample.
    y_alternative, score_alternative : array-like, shape (m,)
        The same for the alternative sample.
    signal_efficiency
        Working point, in (0, 1]; ignored when ``threshold`` is given.
    threshold
        A cut on the score fixed beforehand (events with ``score >= threshold`` pass).

    Returns
    -------
    dict
        ``threshold``, ``eps_s_nominal``, ``eps_s_alternative``, ``eps_b_nominal``,
        ``eps_b_alternative`` and ``relative_shift`` = ``|eps_b_alt - eps_b_nom| / eps_b_nom``.
    """
    yn, sn = _labelled_scores(y_nominal, score_nominal, "nominal")
    ya, sa = _labelled_scores(y_alternative, score_alternative, "alternative")
    if threshold is None:
        eff = validation.check_fraction(signal_efficiency, "signal_efficiency", percent_hint=True)
        if eff == 0:
            raise ValueError("signal_efficiency must be > 0")
        thr = float(np.quantile(sn[yn == 1], 1.0 - eff))
    else:
        thr = float(threshold)
        if np.isnan(thr):
            raise ValueError("threshold must be a number, got NaN")
    out = {"threshold": thr,
           "eps_s_nominal": float((sn[yn == 1] >= thr).mean()), "eps_s_alternative": float((sa[ya == 1] >= thr).mean()),
           "eps_b_nominal": float((sn[yn == 0] >= thr).mean()), "eps_b_alternative": float((sa[ya == 0] >= thr).mean())}
    out["relative_shift"] = (abs(out["eps_b_alternative"] - out["eps_b_nominal"]) / out["eps_b_nominal"]
                             if out["eps_b_nominal"] > 0 else float("inf"))
    return out


def significance_at(y_nominal: Any, score_nominal: Any, y_alternative: Any, score_alternative: Any,
                    threshold: float, *, n_signal: float = 100.0, n_background: float = 1000.0) -> dict[str, float]:
    """Significance with and without the systematic of one cut ``score >= threshold`` fixed beforehand.

    The cut is chosen elsewhere (on a validation sample, by :func:`significance_scan`)
    and evaluated here on other events: ``s = n_signal * eps_S``, ``b = n_background * eps_B``
    on the nominal sample, ``sigma_b = n_background * |eps_B_alt - eps_B|``.
    ``threshold = -inf`` keeps everything (no cut: ``sigma_b = 0``).

    Parameters
    ----------
    y_nominal, score_nominal, y_alternative, score_alternative
        As :func:`background_shift`.
    threshold
        The cut on the score.
    n_signal, n_background
        Expected signal and background counts before the cut.

    Returns
    -------
    dict
        ``eps_s``, ``eps_b``, ``eps_b_alternative``, ``s``, ``b``, ``sigma_b``,
        ``z_stat`` and ``z_syst``.

    Raises
    ------
    ValueError
        No nominal background event passes the cut (``b = 0``: the significance is undefined).
    """
    yn, sn = _labelled_scores(y_nominal, score_nominal, "nominal")
    ya, sa = _labelled_scores(y_alternative, score_alternative, "alternative")
    if not (n_signal > 0 and n_background > 0):
        raise ValueError(f"n_signal and n_background must be > 0, got {n_signal}, {n_background}")
    thr = float(threshold)
    if np.isnan(thr):
        raise ValueError("threshold must be a number, got NaN")
    eps_s = float((sn[yn == 1] >= thr).mean())
    eps_b = float((sn[yn == 0] >= thr).mean())
    eps_b_alt = float((sa[ya == 0] >= thr).mean())
    if eps_b == 0:
        raise ValueError(f"no nominal background event passes the cut score >= {thr}: b = 0")
    s, b, sigma_b = n_signal * eps_s, n_background * eps_b, n_background * abs(eps_b_alt - eps_b)
    return {"eps_s": eps_s, "eps_b": eps_b, "eps_b_alternative": eps_b_alt, "s": s, "b": b, "sigma_b": sigma_b,
            "z_stat": float(asimov_significance(s, b)),
            "z_syst": float(asimov_significance_with_uncertainty(s, b, sigma_b))}


def significance_scan(y_nominal: Any, score_nominal: Any, y_alternative: Any, score_alternative: Any, *,
                      n_signal: float = 100.0, n_background: float = 1000.0, n_thresholds: int = 60,
                      min_background_events: int = 10) -> dict[str, Any]:
    """Significance with and without the systematic, over thresholds on the score.

    For each threshold ``t`` (quantiles of the nominal signal scores, keeping
    2 % to 98 % of the signal): ``s = n_signal * eps_S(t)`` and
    ``b = n_background * eps_B(t)`` on the nominal sample,
    ``sigma_b = n_background * |eps_B_alt(t) - eps_B(t)|`` (the shift of the
    selected background between the two samples), and the Asimov significance
    without and with ``sigma_b`` (:func:`asimov_significance_with_uncertainty`).
    Thresholds keeping fewer than ``min_background_events`` nominal background
    events of the sample are skipped (their ``b`` is too poorly known).

    Parameters
    ----------
    y_nominal, score_nominal, y_alternative, score_alternative
        As :func:`background_shift`.
    n_signal, n_background
        Expected signal and background counts before the cut (arXiv:1611.01046:
        100 and 1000).
    n_thresholds, min_background_events
        Number of thresholds tried, and the smallest number of nominal
        background events a threshold must keep.

    Returns
    -------
    dict
        Arrays ``threshold``, ``eps_s``, ``eps_b``, ``eps_b_alternative``, ``s``,
        ``b``, ``sigma_b``, ``z_stat``, ``z_syst``; and ``best`` (the index of the
        largest ``z_syst``), ``best_z_syst``, ``best_z_stat`` (largest ``z_stat``).
    """
    yn, sn = _labelled_scores(y_nominal, score_nominal, "nominal")
    ya, sa = _labelled_scores(y_alternative, score_alternative, "alternative")
    if not (n_signal > 0 and n_background > 0):
        raise ValueError(f"n_signal and n_background must be > 0, got {n_signal}, {n_background}")
    n_thresholds = validation.check_count(n_thresholds, "n_thresholds")
    thr = np.unique(np.quantile(sn[yn == 1], np.linspace(0.02, 0.98, n_thresholds)))
    bn, ba = np.sort(sn[yn == 0]), np.sort(sa[ya == 0])
    kept_b = len(bn) - np.searchsorted(bn, thr, side="left")
    thr = thr[kept_b >= min_background_events]
    if thr.size == 0:
        raise ValueError(f"no threshold keeps {min_background_events} nominal background events: "
                         "more events, or a smaller min_background_events")
    eps_s = (sn[yn == 1][:, None] >= thr[None, :]).mean(axis=0)
    eps_b = (len(bn) - np.searchsorted(bn, thr, side="left")) / len(bn)
    eps_b_alt = (len(ba) - np.searchsorted(ba, thr, side="left")) / len(ba)
    s, b = n_signal * eps_s, n_background * eps_b
    sigma_b = n_background * np.abs(eps_b_alt - eps_b)
    z_stat = asimov_significance(s, b)
    z_syst = asimov_significance_with_uncertainty(s, b, sigma_b)
    best = int(np.argmax(z_syst))
    return {"threshold": thr, "eps_s": eps_s, "eps_b": eps_b, "eps_b_alternative": eps_b_alt, "s": s, "b": b,
            "sigma_b": sigma_b, "z_stat": z_stat, "z_syst": z_syst, "best": best,
            "best_z_syst": float(z_syst[best]), "best_z_stat": float(z_stat.max())}
