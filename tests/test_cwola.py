"""models.cwola: out-of-fold scores through scikit-learn's cross_val_predict."""

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
