"""Classification without labels: out-of-fold scores of classifiers trained on mixed samples (notebook 08).

CWoLa hunting (Collins, Howard, Nachman, arXiv:1805.02664 and arXiv:1902.02634)
trains a classifier to separate the signal region from its sidebands, then cuts
on its score in the signal region. No event may be scored by a classifier that
saw it: :func:`out_of_fold_scores` trains ``k`` classifiers, each on k−1 folds,
with scikit-learn's :func:`~sklearn.model_selection.cross_val_predict`.

Notebook 08 writes the k-fold loop in its cells first; this helper repeats it
for the comparisons and the exercises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils.validation import check_count

__all__ = ["out_of_fold_scores"]


def _positive_column(model: Any, proba: np.ndarray) -> np.ndarray:
    classes = list(model.classes_)
    if 1 not in classes:
        raise ValueError(f"the classifier never saw class 1 (classes {classes})")
    return proba[:, classes.index(1)]


def out_of_fold_scores(make_model: Callable[[], Any], X: Any, y: Any, *, k: int = 5, seed: int = 0,
                       X_other: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Train ``k`` classifiers, each on k−1 folds, and score each event with the one that did not see it.

    Parameters
    ----------
    make_model
        Returns a fresh scikit-learn classifier (``fit``, ``predict_proba``).
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        The training labels 0 and 1 (in CWoLa: 1 signal region, 0 sidebands).
    k
        Number of folds (≥ 2), stratified on ``y`` and shuffled.
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

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> scores, _ = out_of_fold_scores(LogisticRegression, X, y, k=5)   # doctest: +SKIP
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_validate

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X must have shape (n, d) and y shape (n,), got {X.shape} and {y.shape}")
    k = check_count(k, "k", min_value=2)
    if not (np.isin(y, (0, 1)).all() and len(np.unique(y)) == 2):
        raise ValueError(f"y must hold both labels 0 and 1 and nothing else, got {np.unique(y)[:5]}")
    other_X = None
    if X_other is not None:
        other_X = np.asarray(X_other, dtype=float)
        if other_X.ndim != 2 or other_X.shape[1] != X.shape[1]:
            raise ValueError(f"X_other must have shape (m, {X.shape[1]}), got {other_X.shape}")
    folds = StratifiedKFold(n_splits=int(k), shuffle=True, random_state=seed)
    model = make_model()
    if other_X is None:
        # columns in the order of np.unique(y) = (0, 1)
        return cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1], None
    # X_other needs the k fitted classifiers, which cross_val_predict does not return:
    # the same folds through cross_validate, each classifier scoring its own held-out fold
    fitted = cross_validate(model, X, y, cv=folds, return_estimator=True, return_indices=True)
    scores = np.full(len(X), np.nan)
    other = np.zeros(len(other_X))
    for est, held_out in zip(fitted["estimator"], fitted["indices"]["test"]):
        scores[held_out] = _positive_column(est, est.predict_proba(X[held_out]))
        other += _positive_column(est, est.predict_proba(other_X)) / k
    return scores, other
