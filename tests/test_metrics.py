"""Metrics against independent computations: scikit-learn, hand-worked examples, hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.metrics import roc_curve

from course_utils import metrics
from course_utils.metrics import hep

labels4 = st.lists(st.integers(0, 3), min_size=2, max_size=60)


# --- classification ------------------------------------------------------------

def test_classification_binary_hand_worked():
    # 2 TP, 1 FP, 1 FN, 1 TN
    m = metrics.classification_metrics([1, 1, 1, 0, 0], [1, 1, 0, 1, 0])
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_classification_matches_sklearn(data):
    yt = data.draw(labels4)
    yp = data.draw(st.lists(st.integers(0, 3), min_size=len(yt), max_size=len(yt)))
    m = metrics.classification_metrics(yt, yp, average="macro")
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(yt, yp))
    assert m["f1"] == pytest.approx(skm.f1_score(yt, yp, average="macro", zero_division=0))


def test_aggregated_hand_worked():
    # class 0: P=1, R=1/2 (support 2); class 1: P=2/3, R=1 (support 2); class 2: P=1, R=1 (support 1)
    yt = [0, 0, 1, 1, 2]
    yp = [0, 1, 1, 1, 2]
    m = metrics.aggregated_metrics(yt, yp)
    gp = (2 * 1 + 2 * (2 / 3) + 1 * 1) / 5
    gr = (2 * 0.5 + 2 * 1 + 1 * 1) / 5
    assert m["global_precision"] == pytest.approx(gp)
    assert m["global_recall"] == pytest.approx(gr)
    assert m["global_f1"] == pytest.approx(2 * gp * gr / (gp + gr))
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(yt, yp, average="weighted"))
    assert m["global_f1"] != pytest.approx(m["weighted_f1"])  # the documented difference


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_aggregated_properties(data):
    yt = data.draw(labels4)
    yp = data.draw(st.lists(st.integers(0, 3), min_size=len(yt), max_size=len(yt)))
    m = metrics.aggregated_metrics(yt, yp)
    # support-weighted recall is the accuracy
    assert m["global_recall"] == pytest.approx(skm.accuracy_score(yt, yp))
    assert m["global_precision"] == pytest.approx(
        skm.precision_score(yt, yp, average="weighted", zero_division=0))
    # same numbers from the confusion matrix alone
    labels = np.unique(np.concatenate([yt, yp]))
    cm = skm.confusion_matrix(yt, yp, labels=labels)
    from_cm = metrics.aggregated_from_confusion(cm)
    for k in ("global_precision", "global_recall", "global_f1", "weighted_f1", "accuracy"):
        assert from_cm[k] == pytest.approx(m[k])


def test_per_class_matches_sklearn():
    yt = [0, 1, 2, 2, 1, 0, 0]
    yp = [0, 2, 2, 2, 1, 1, 0]
    pc = metrics.per_class_metrics(yt, yp)
    p, r, f, s = skm.precision_recall_fscore_support(yt, yp)
    np.testing.assert_allclose(pc["precision"], p)
    np.testing.assert_allclose(pc["recall"], r)
    np.testing.assert_allclose(pc["f1"], f)
    np.testing.assert_array_equal(pc["support"], s)


@pytest.mark.parametrize("bad, match", [
    (([0, 1], [0]), "same length"),
    (([], []), "empty"),
    (([0, np.nan], [0, 1]), "NaN"),
    (([0, 2], [0, 1]), "binary"),
    (([[0, 1], [1, 0]], [0, 1]), "1-D"),
])
def test_classification_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.classification_metrics(*bad)


def test_unknown_average_and_confusion_shape():
    with pytest.raises(ValueError, match="unknown average"):
        metrics.classification_metrics([0, 1], [0, 1], average="mean")
    with pytest.raises(ValueError, match="square"):
        metrics.aggregated_from_confusion([[1, 2, 3]])


# --- HEP ---------------------------------------------------------------------

def test_efficiencies_hand_worked():
    y = [1, 1, 1, 1, 0, 0, 0, 0]
    s = [0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.1, 0.05]
    e = metrics.efficiencies(y, s, threshold=0.5)
    assert e["signal_efficiency"] == pytest.approx(0.75)
    assert e["background_efficiency"] == pytest.approx(0.25)
    assert e["background_rejection"] == pytest.approx(4.0)
    assert math.isinf(metrics.efficiencies(y, s, threshold=0.95)["background_rejection"])


def test_auc_and_roc_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = y + rng.normal(0, 1, 500)
    assert metrics.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
    fpr, tpr, _ = metrics.roc(y, s)
    assert np.trapezoid(tpr, fpr) == pytest.approx(skm.roc_auc_score(y, s))


def test_auc_with_ties_and_weights_matches_sklearn():
    # integer scores (a multiplicity) tie a lot: the rank statistic gives them one half, as sklearn does
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = rng.poisson(30 + 10 * y)
    assert metrics.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert metrics.auc(y, -s) == pytest.approx(skm.roc_auc_score(y, -s), abs=1e-12)
    assert metrics.auc([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert metrics.auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
    from scipy.stats import rankdata

    from course_utils.metrics.hep import _average_ranks
    for x in (s.astype(float), rng.normal(size=50), np.array([3.0, 1.0, 3.0, 3.0, 2.0]), np.array([7.0])):
        np.testing.assert_allclose(_average_ranks(x), rankdata(x))
    w = rng.uniform(0.5, 2, 300)
    assert metrics.auc(y, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w))


def test_r50_on_gaussians():
    # signal ~ N(1, 1), background ~ N(0, 1): eps_S = 0.5 at the cut x = 1, eps_B = 1 - Phi(1)
    from scipy.stats import norm

    rng = np.random.default_rng(1)
    n = 200_000
    y = np.r_[np.ones(n), np.zeros(n)]
    s = np.r_[rng.normal(1, 1, n), rng.normal(0, 1, n)]
    expected = 1 / norm.sf(1.0)
    assert metrics.rejection_at_efficiency(y, s, 0.5) == pytest.approx(expected, rel=0.03)
    assert metrics.rejection_at_efficiency(y, s, 0.3) > metrics.rejection_at_efficiency(y, s, 0.5)
    with pytest.raises(ValueError, match="percentage"):
        metrics.rejection_at_efficiency(y, s, 50)


def test_efficiency_at_background_on_gaussians():
    # eps_B = 0.16 at the cut x = 1 on N(0, 1); signal N(1, 1) then has eps_S = 0.5
    from scipy.stats import norm

    rng = np.random.default_rng(2)
    n = 200_000
    y = np.r_[np.ones(n), np.zeros(n)]
    s = np.r_[rng.normal(1, 1, n), rng.normal(0, 1, n)]
    assert metrics.efficiency_at_background(y, s, norm.sf(1.0)) == pytest.approx(0.5, abs=0.01)
    assert metrics.efficiency_at_background(y, s, 1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="percentage"):
        metrics.efficiency_at_background(y, s, 5)


def test_significances():
    assert metrics.significance(10, 90) == pytest.approx(1.0)
    # Asimov -> s/sqrt(b) for s << b
    assert metrics.asimov_significance(1, 10_000) == pytest.approx(0.01, rel=1e-3)
    # hand-worked: s=b=1 -> sqrt(2 (2 ln 2 - 1))
    assert metrics.asimov_significance(1, 1) == pytest.approx(math.sqrt(2 * (2 * math.log(2) - 1)))
    np.testing.assert_allclose(metrics.significance([0, 4], [0, 12]), [0.0, 1.0])
    with pytest.raises(ValueError, match="B > 0"):
        metrics.asimov_significance(1, 0)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.significance(-1, 3)


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 1e4), st.floats(1e-3, 1e4))
def test_asimov_at_least_simple(s, b):
    # Z_A >= S/sqrt(S+B) for all S >= 0, B > 0
    assert metrics.asimov_significance(s, b) >= metrics.significance(s, b) - 1e-9


def test_hep_rejects_bad_input():
    with pytest.raises(ValueError, match="only class"):
        metrics.auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="same length"):
        metrics.auc([0, 1], [0.1])
    with pytest.raises(ValueError, match="NaN"):
        metrics.auc([0, 1], [np.nan, 0.3])


# --- regression --------------------------------------------------------------

def test_regression_hand_worked():
    m = metrics.regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert m["mse"] == pytest.approx(4 / 3)
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["rmse"] == pytest.approx(math.sqrt(4 / 3))
    assert m["r2"] == pytest.approx(1 - 4 / 2)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=40), st.floats(-10, 10))
def test_regression_shift(values, shift):
    m = metrics.regression_metrics(values, [v + shift for v in values])
    assert m["mae"] == pytest.approx(abs(shift), abs=1e-6)
    assert m["rmse"] == pytest.approx(abs(shift), abs=1e-6)


def test_regression_rejects():
    with pytest.raises(ValueError, match="two values"):
        metrics.regression_metrics([1.0], [1.0])


# --- SIC (hep.sic_curve, hep.max_sic) --------------------------------------------

def test_sic_by_hand():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    s = np.array([8, 7, 6, 5, 4, 3, 2, 1.0])
    eff_s, eff_b, sic = hep.sic_curve(y, s, min_background=1)
    # cut after the 3rd event: 2 of 3 signal, 1 of 5 background
    np.testing.assert_allclose(eff_s[:3], [2 / 3, 1.0, 1.0])
    np.testing.assert_allclose(eff_b[:3], [1 / 5, 1 / 5, 2 / 5])
    np.testing.assert_allclose(sic[0], (2 / 3) / np.sqrt(1 / 5))
    assert hep.max_sic(y, s, min_background=1) == pytest.approx(max(sic))
    # min_background drops the cuts keeping fewer background events
    assert hep.sic_curve(y, s, min_background=2)[1].min() == pytest.approx(2 / 5)


def test_sic_agrees_with_sklearn_roc():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    s = rng.normal(y * 1.0, 1.0)
    eff_s, eff_b, sic = hep.sic_curve(y, s, min_background=1)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    mask = fpr > 0  # one point per distinct cut, as ours, without those keeping no background
    np.testing.assert_allclose(eff_b, fpr[mask])
    np.testing.assert_allclose(eff_s, tpr[mask])
    np.testing.assert_allclose(sic, tpr[mask] / np.sqrt(fpr[mask]))


@pytest.mark.parametrize("call, message", [
    (lambda: hep.sic_curve([0, 1], [0.1]), "same length"),
    (lambda: hep.sic_curve([1, 1], [0.1, 0.2]), "both labels"),
    (lambda: hep.sic_curve([0, 1], [np.nan, 0.2]), "NaN"),
    (lambda: hep.max_sic([0, 1], [0.1, 0.2]), "min_background"),
])
def test_sic_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
