"""SIC curves, out-of-fold scores and the sideband fit of course_utils.anomaly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neighbors import KNeighborsClassifier

from course_utils import anomaly


def test_sic_by_hand():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    s = np.array([8, 7, 6, 5, 4, 3, 2, 1.0])
    eff_s, eff_b, sic = anomaly.sic_curve(y, s, min_background=1)
    # cut after the 3rd event: 2 of 3 signal, 1 of 5 background
    np.testing.assert_allclose(eff_s[:3], [2 / 3, 1.0, 1.0])
    np.testing.assert_allclose(eff_b[:3], [1 / 5, 1 / 5, 2 / 5])
    np.testing.assert_allclose(sic[0], (2 / 3) / np.sqrt(1 / 5))
    assert anomaly.max_sic(y, s, min_background=1) == pytest.approx(max(sic))
    # min_background drops the cuts keeping fewer background events
    assert anomaly.sic_curve(y, s, min_background=2)[1].min() == pytest.approx(2 / 5)


def test_sic_agrees_with_sklearn_roc():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    s = rng.normal(y * 1.0, 1.0)
    eff_s, eff_b, sic = anomaly.sic_curve(y, s, min_background=1)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    mask = fpr > 0  # one point per distinct cut, as ours, without those keeping no background
    np.testing.assert_allclose(eff_b, fpr[mask])
    np.testing.assert_allclose(eff_s, tpr[mask])
    np.testing.assert_allclose(sic, tpr[mask] / np.sqrt(fpr[mask]))


def test_out_of_fold_never_scores_seen_events():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    y = rng.integers(0, 2, 600)  # pure noise labels
    one_nn = lambda: KNeighborsClassifier(n_neighbors=1)  # noqa: E731 - memorises its training set
    in_sample = one_nn().fit(X, y).predict_proba(X)[:, 1]
    assert roc_auc_score(y, in_sample) == 1.0  # what scoring seen events would show
    oof, other = anomaly.out_of_fold_scores(one_nn, X, y, k=5, seed=0, X_other=X[:10])
    assert abs(roc_auc_score(y, oof) - 0.5) < 0.1
    assert other.shape == (10,) and np.all((other >= 0) & (other <= 1))


def test_out_of_fold_learns_a_real_difference():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 800)
    X = rng.normal(size=(800, 2)) + y[:, None]
    oof, _ = anomaly.out_of_fold_scores(lambda: KNeighborsClassifier(25), X, y, k=4)
    assert roc_auc_score(y, oof) > 0.8


def test_dijet_function_by_hand():
    assert anomaly.dijet_function(0.5, 2.0, 1.0, 2.0) == pytest.approx(2.0 * 0.5 / 0.25)
    assert anomaly.dijet_function(0.5, 1.0, 0.0, 0.0, 1.0) == pytest.approx(0.5 ** (-np.log(0.5)))


def _sample_dijet(n, rng, p1=10.0, p2=5.0, lo=2.9, hi=5.5, sqrt_s=13.0):
    grid = np.linspace(lo, hi, 20001)
    cdf = np.cumsum(anomaly.dijet_function(grid / sqrt_s, 1.0, p1, p2))
    cdf /= cdf[-1]
    return np.interp(rng.random(n), cdf, grid)


def test_fit_sidebands_recovers_background_and_bump():
    rng = np.random.default_rng(3)
    bins = np.round(np.arange(2.9, 5.5 + 1e-9, 0.1), 3)
    bkg = _sample_dijet(40_000, rng)
    fit = anomaly.fit_sidebands(bkg, bins=bins, signal_region=(3.3, 3.7), sqrt_s=13.0)
    true_sr = ((bkg > 3.3) & (bkg < 3.7)).sum()
    assert abs(fit["background"] - true_sr) < 3 * np.sqrt(true_sr)
    assert abs(fit["significance"]) < 3
    assert 0 < fit["background_error"] < np.sqrt(true_sr)
    bump = rng.normal(3.5, 0.08, 800)
    fit2 = anomaly.fit_sidebands(np.r_[bkg, bump], bins=bins, signal_region=(3.3, 3.7), sqrt_s=13.0)
    excess = fit2["observed"] - fit2["background"]
    in_sr = ((bump > 3.3) & (bump < 3.7)).sum()
    assert abs(excess - in_sr) < 4 * np.sqrt(true_sr)
    assert fit2["significance"] > 5


@pytest.mark.parametrize("call, message", [
    (lambda: anomaly.sic_curve([0, 1], [0.1]), "same length"),
    (lambda: anomaly.sic_curve([1, 1], [0.1, 0.2]), "both labels"),
    (lambda: anomaly.sic_curve([0, 1], [np.nan, 0.2]), "NaN"),
    (lambda: anomaly.max_sic([0, 1], [0.1, 0.2]), "min_background"),
    (lambda: anomaly.out_of_fold_scores(KNeighborsClassifier, np.zeros((4, 2)), [0, 1, 0, 1], k=1), "k must"),
    (lambda: anomaly.fit_sidebands([3.0, 3.5], bins=[2.9, 3.2, 3.6, 4.0], signal_region=(3.3, 3.7)), "edges"),
    (lambda: anomaly.fit_sidebands([], bins=[2.9, 3.3, 3.7, 4.0], signal_region=(3.3, 3.7)), "non-empty"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
