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

from course_utils.metrics.hep import asimov_significance

__all__ = ["asimov_significance_with_uncertainty"]


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
