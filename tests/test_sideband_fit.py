"""metrics.sideband_fit: the dijet function and the sideband fit (iminuit), against known cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize

from course_utils.metrics import sideband_fit

BINS = np.round(np.arange(2.9, 5.5 + 1e-9, 0.1), 3)  # TeV, with sqrt_s = 13 TeV
SR = (3.3, 3.7)


def test_dijet_function_by_hand():
    assert sideband_fit.dijet_function(0.5, 2.0, 1.0, 2.0) == pytest.approx(2.0 * 0.5 / 0.25)
    assert sideband_fit.dijet_function(0.5, 1.0, 0.0, 0.0, 1.0) == pytest.approx(0.5 ** (-np.log(0.5)))


def _sample_dijet(n, rng, p1=10.0, p2=5.0, lo=2.9, hi=5.5, sqrt_s=13.0):
    grid = np.linspace(lo, hi, 20001)
    cdf = np.cumsum(sideband_fit.dijet_function(grid / sqrt_s, 1.0, p1, p2))
    cdf /= cdf[-1]
    return np.interp(rng.random(n), cdf, grid)


def test_fit_sidebands_recovers_background_and_bump():
    rng = np.random.default_rng(3)
    bkg = _sample_dijet(40_000, rng)
    fit = sideband_fit.fit_sidebands(bkg, bins=BINS, signal_region=SR, sqrt_s=13.0)
    true_sr = ((bkg > 3.3) & (bkg < 3.7)).sum()
    assert fit["valid"]
    assert abs(fit["background"] - true_sr) < 3 * np.sqrt(true_sr)
    assert abs(fit["significance"]) < 3
    assert 0 < fit["background_error"] < np.sqrt(true_sr)
    bump = rng.normal(3.5, 0.08, 800)
    fit2 = sideband_fit.fit_sidebands(np.r_[bkg, bump], bins=BINS, signal_region=SR, sqrt_s=13.0)
    excess = fit2["observed"] - fit2["background"]
    in_sr = ((bump > 3.3) & (bump < 3.7)).sum()
    assert abs(excess - in_sr) < 4 * np.sqrt(true_sr)
    assert fit2["significance"] > 5


@pytest.mark.slow
def test_pulls_of_the_fitted_parameters_on_toys_of_known_normalisation():
    # Toys of Poisson(NU) events drawn from the dijet function with known (p1, p2): the true
    # normalisation is ln p0 = ln(NU / integral of f(x; 1, p1, p2) over the range). If MIGRAD finds the
    # maximum and HESSE its errors, each parameter's pull (fitted - true) / error is N(0, 1).
    p1, p2, nu, n_toys = 10.0, 5.0, 20_000, 120
    integral = quad(lambda x: sideband_fit.dijet_function(x, 1.0, p1, p2), 2.9 / 13, 5.5 / 13)[0]
    truth = np.array([np.log(nu / integral), p1, p2])
    rng = np.random.default_rng(11)
    pulls, bkg_pulls = [], []
    for _ in range(n_toys):
        m = _sample_dijet(rng.poisson(nu), rng, p1, p2)
        fit = sideband_fit.fit_sidebands(m, bins=BINS, signal_region=SR, sqrt_s=13.0)
        assert fit["valid"]
        pulls.append((fit["params"] - truth) / fit["errors"])
        true_bkg = nu * quad(lambda x: sideband_fit.dijet_function(x, 1.0, p1, p2), 3.3 / 13, 3.7 / 13)[0] / integral
        bkg_pulls.append((fit["background"] - true_bkg) / fit["background_error"])
    pulls = np.array(pulls)
    # mean within 3 standard errors of 0, spread within 20 % of 1
    np.testing.assert_array_less(np.abs(pulls.mean(axis=0)), 3 / np.sqrt(n_toys))
    np.testing.assert_array_less(np.abs(pulls.std(axis=0) - 1.0), 0.2)
    assert abs(np.mean(bkg_pulls)) < 3 / np.sqrt(n_toys) and abs(np.std(bkg_pulls) - 1.0) < 0.2


def _nelder_mead_fit(mjj, bins, signal_region, sqrt_s):
    """The fit this module did before iminuit: Nelder-Mead on the same likelihood, a two-sided numerical Hessian."""
    counts, edges = np.histogram(mjj, bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    in_sr = (centres > signal_region[0]) & (centres < signal_region[1])
    x_lo, x_hi = edges[:-1] / sqrt_s, edges[1:] / sqrt_s

    def expected(theta):
        p = (np.exp(theta[0]), *theta[1:])
        f = (sideband_fit.dijet_function(x_lo, *p) + 4 * sideband_fit.dijet_function(0.5 * (x_lo + x_hi), *p)
             + sideband_fit.dijet_function(x_hi, *p))
        return f * (x_hi - x_lo) / 6

    def nll(theta):
        mu = expected(theta)[~in_sr]
        return float(np.sum(mu - counts[~in_sr] * np.log(mu)))

    norm0 = np.log(counts[~in_sr].sum() / expected(np.array([0.0, 10.0, 5.0]))[~in_sr].sum())
    res = minimize(nll, [norm0, 10.0, 5.0], method="Nelder-Mead",
                   options={"maxiter": 20_000, "xatol": 1e-8, "fatol": 1e-10})
    eps = 1e-4 * np.maximum(np.abs(res.x), 1.0)
    e = np.eye(3) * eps
    hess = np.array([[(nll(res.x + e[i] + e[j]) - nll(res.x + e[i] - e[j]) - nll(res.x - e[i] + e[j])
                       + nll(res.x - e[i] - e[j])) / (4 * eps[i] * eps[j]) for j in range(3)] for i in range(3)])
    return res.x, np.sqrt(np.diag(np.linalg.inv(hess))), expected(res.x)[in_sr].sum()


def test_agrees_with_the_former_nelder_mead_fit():
    rng = np.random.default_rng(5)
    m = np.r_[_sample_dijet(30_000, rng, 9.0, 5.5), rng.normal(3.5, 0.08, 300)]
    fit = sideband_fit.fit_sidebands(m, bins=BINS, signal_region=SR, sqrt_s=13.0)
    params, errors, background = _nelder_mead_fit(m, BINS, SR, 13.0)
    # the same maximum of the same likelihood, far within the errors; the same errors within 5 %
    np.testing.assert_array_less(np.abs(fit["params"] - params), 0.05 * fit["errors"])
    np.testing.assert_allclose(fit["errors"], errors, rtol=0.05)
    assert abs(fit["background"] - background) < 0.05 * fit["background_error"]


def test_four_parameters_and_covariance():
    rng = np.random.default_rng(6)
    fit = sideband_fit.fit_sidebands(_sample_dijet(30_000, rng), bins=BINS, signal_region=SR, sqrt_s=13.0,
                                     n_params=4)
    assert fit["params"].shape == (4,) and fit["covariance"].shape == (4, 4)
    np.testing.assert_allclose(np.sqrt(np.diag(fit["covariance"])), fit["errors"], rtol=1e-6)
    assert abs(fit["significance"]) < 3


@pytest.mark.parametrize("call, message", [
    (lambda: sideband_fit.fit_sidebands([3.0, 3.5], bins=[2.9, 3.2, 3.6, 4.0], signal_region=(3.3, 3.7)), "edges"),
    (lambda: sideband_fit.fit_sidebands([], bins=[2.9, 3.3, 3.7, 4.0], signal_region=(3.3, 3.7)), "non-empty"),
    (lambda: sideband_fit.fit_sidebands([3.5, 3.6], bins=[2.9, 3.3, 3.7, 4.0], signal_region=(3.3, 3.7),
                                        sqrt_s=13.0), "sidebands"),
    (lambda: sideband_fit.fit_sidebands([3.0, 3.5], bins=[2.9, 3.3, 3.7, 4.0], signal_region=(3.3, 3.7),
                                        n_params=5), "n_params"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
