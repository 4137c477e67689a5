"""models.cwola: out-of-fold scores through scikit-learn's cross_val_predict; models.boosting: the same trees."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier

from course_utils.models import cwola


def test_out_of_fold_never_scores_seen_events():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    y = rng.integers(0, 2, 600)  # pure noise labels
    one_nn = lambda: KNeighborsClassifier(n_neighbors=1)  # noqa: E731 - memorises its training set
    in_sample = one_nn().fit(X, y).predict_proba(X)[:, 1]
    assert roc_auc_score(y, in_sample) == 1.0  # what scoring seen events would show
    oof, other = cwola.out_of_fold_scores(one_nn, X, y, k=5, seed=0, X_other=X[:10])
    assert abs(roc_auc_score(y, oof) - 0.5) < 0.1
    assert other.shape == (10,) and np.all((other >= 0) & (other <= 1))


def test_out_of_fold_learns_a_real_difference():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 800)
    X = rng.normal(size=(800, 2)) + y[:, None]
    oof, _ = cwola.out_of_fold_scores(lambda: KNeighborsClassifier(25), X, y, k=4)
    assert roc_auc_score(y, oof) > 0.8


def _by_hand(make_model, X, y, k, seed, X_other):
    """The k-fold loop that notebook 08 writes in its cells (and this module did before cross_val_predict)."""
    scores, other = np.full(len(X), np.nan), np.zeros(len(X_other))
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y):
        model = make_model().fit(X[train], y[train])
        scores[test] = model.predict_proba(X[test])[:, 1]
        other += model.predict_proba(X_other)[:, 1] / k
    return scores, other


@pytest.mark.parametrize("seed", [0, 7])
def test_out_of_fold_equals_the_hand_written_loop(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    X = rng.normal(size=(500, 3)) + 0.7 * y[:, None]
    X_other = rng.normal(size=(50, 3))
    make = lambda: KNeighborsClassifier(15)  # noqa: E731 - deterministic, so the scores must agree exactly
    ref_scores, ref_other = _by_hand(make, X, y, 4, seed, X_other)
    scores, none = cwola.out_of_fold_scores(make, X, y, k=4, seed=seed)  # through cross_val_predict
    both, other = cwola.out_of_fold_scores(make, X, y, k=4, seed=seed, X_other=X_other)  # through cross_validate
    assert none is None
    np.testing.assert_allclose(scores, ref_scores)
    np.testing.assert_allclose(both, ref_scores)
    np.testing.assert_allclose(other, ref_other)
    # another seed, another split: the test can tell the split apart
    assert not np.allclose(cwola.out_of_fold_scores(make, X, y, k=4, seed=seed + 1)[0], ref_scores)


@pytest.mark.parametrize("call, message", [
    (lambda: cwola.out_of_fold_scores(KNeighborsClassifier, np.zeros((4, 2)), [0, 1, 0, 1], k=1), "k must"),
    (lambda: cwola.out_of_fold_scores(KNeighborsClassifier, np.zeros((4, 2)), [0, 1, 0], k=2), "shape"),
    (lambda: cwola.out_of_fold_scores(KNeighborsClassifier, np.zeros((4, 2)), [0, 2, 0, 2], k=2), "labels 0 and 1"),
    (lambda: cwola.out_of_fold_scores(KNeighborsClassifier, np.zeros((4, 2)), [0, 1, 0, 1], k=2,
                                      X_other=np.zeros((3, 5))), "X_other"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_one_pass_boosted_trees_are_scikit_learns_to_the_last_bit():
    from sklearn.ensemble import HistGradientBoostingClassifier as SklearnHGB
    from sklearn.ensemble._hist_gradient_boosting import binning

    from course_utils.models import boosting

    # the course's pin: a new scikit-learn fails here, to check its binning against ours before enabling it
    assert boosting.ONE_PASS
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1500, 4))
    x[:, 2] = np.round(x[:, 2], 1)          # ties, and fewer distinct values than bins
    x[:, 3] = 0.5                           # a constant variable
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=len(x)) > 1.0).astype(int)   # unbalanced classes
    kwargs = {"max_iter": 40, "early_stopping": True, "validation_fraction": 0.2, "n_iter_no_change": 5,
              "class_weight": "balanced", "max_bins": 63, "random_state": 0}
    ours, theirs = boosting.HistGradientBoostingClassifier(**kwargs).fit(x, y), SklearnHGB(**kwargs).fit(x, y)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip(ours._bin_mapper.bin_thresholds_, theirs._bin_mapper.bin_thresholds_, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(ours.predict_proba(x), theirs.predict_proba(x))
    assert binning._find_binning_thresholds is boosting._SKLEARN_THRESHOLDS   # restored after the fit
    # one variable: NaN, zero weights, every bin count the notebook uses
    col = rng.lognormal(size=800)
    col[:30] = np.nan
    weights = rng.exponential(size=800)
    weights[30:60] = 0.0
    for max_bins in (10, 63, 255):
        assert np.array_equal(boosting.weighted_bin_thresholds(col, max_bins, weights),
                              boosting._SKLEARN_THRESHOLDS(col, max_bins, sample_weight=weights))
    assert np.array_equal(boosting.weighted_bin_thresholds(col, 63), boosting._SKLEARN_THRESHOLDS(col, 63))
    # the percentiles alone: ties with two weights (class weights), the ends, and a zero weight (scikit-learn's path)
    from sklearn.utils.stats import _weighted_percentile

    tied = np.round(rng.normal(size=600), 1)
    class_w = np.where(rng.random(600) < 0.3, 2.5, 0.7)
    ranks = np.array([0.0, 1e-9, 12.5, 50.0, 99.0, 100.0])
    expected = [_weighted_percentile(tied, class_w, p, average=True) for p in ranks]
    assert np.array_equal(boosting.weighted_percentiles(tied, class_w, ranks), expected)
    class_w[5] = 0.0
    expected = [_weighted_percentile(tied, class_w, p, average=True) for p in ranks]
    assert np.array_equal(boosting.weighted_percentiles(tied, class_w, ranks), expected)
    assert boosting.weighted_bin_thresholds(np.ones(5), 63, np.ones(5)).size == 0   # one value: no edge
    # without weights, scikit-learn's own path
    plain = boosting.HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(x, y)
    assert np.array_equal(plain.predict_proba(x),
                          SklearnHGB(max_iter=10, random_state=0).fit(x, y).predict_proba(x))
