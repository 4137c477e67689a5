"""Classification metrics: the scikit-learn ones, and the aggregated per-class ones.

The aggregated metrics follow the tumour-benchmark material:

* global precision ``P = sum_k w_k P_k`` and global recall ``R = sum_k w_k R_k``,
  with ``w_k = n_k / n`` the share of class ``k`` among the true labels (its support);
* "global F1" ``= 2 P R / (P + R)``, the harmonic mean of those two numbers.

scikit-learn's ``f1_score(average="weighted")`` is instead ``sum_k w_k F1_k``,
the support-weighted mean of the per-class F1. The two differ whenever the
classes' precision and recall differ; both are returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course_utils import validation

__all__ = ["classification_metrics", "per_class_metrics", "aggregated_metrics",
           "aggregated_from_confusion"]


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    yt = validation.check_labels(y_true, "y_true")
    yp = validation.check_labels(y_pred, "y_pred")
    validation.check_consistent_length(y_true=yt, y_pred=yp)
    return yt, yp


def classification_metrics(y_true: Any, y_pred: Any, *, average: str = "binary") -> dict[str, float]:
    """Accuracy, precision, recall and F1 (scikit-learn).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        True and predicted class labels.
    average : {"binary", "macro", "micro", "weighted"}
        How precision, recall and F1 are averaged over classes. ``"binary"``
        needs 0/1 labels and scores the positive class 1.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1``.
    """
    from sklearn import metrics as skm

    allowed = ("binary", "macro", "micro", "weighted")
    if average not in allowed:
        raise ValueError(f"unknown average {average!r}: expected one of {allowed}")
    yt, yp = _pair(y_true, y_pred)
    if average == "binary":
        validation.check_binary_labels(yt, "y_true")
        validation.check_binary_labels(yp, "y_pred")
    kw = dict(average=average, zero_division=0)
    return {
        "accuracy": float(skm.accuracy_score(yt, yp)),
        "precision": float(skm.precision_score(yt, yp, **kw)),
        "recall": float(skm.recall_score(yt, yp, **kw)),
        "f1": float(skm.f1_score(yt, yp, **kw)),
    }


def per_class_metrics(y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support.

    Returns
    -------
    dict
        ``labels``, ``precision``, ``recall``, ``f1`` (floats in [0, 1]) and
        ``support`` (int), each an array of shape (n_classes,).
    """
    from sklearn.metrics import precision_recall_fscore_support

    yt, yp = _pair(y_true, y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([yt, yp]))
    else:
        labels = np.asarray(labels)
        unknown = np.setdiff1d(np.unique(yt), labels)
        if unknown.size:
            raise ValueError(f"y_true holds labels {unknown.tolist()} not in labels={labels.tolist()}")
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
    return {"labels": np.asarray(labels), "precision": p, "recall": r, "f1": f, "support": s}


def _aggregate(precision: np.ndarray, recall: np.ndarray, f1: np.ndarray, support: np.ndarray) -> dict[str, float]:
    total = support.sum()
    if total == 0:
        raise ValueError("no true labels: the supports sum to zero")
    w = support / total
    gp = float(np.sum(w * precision))
    gr = float(np.sum(w * recall))
    gf = 0.0 if gp + gr == 0 else 2 * gp * gr / (gp + gr)
    return {
        "global_precision": gp,
        "global_recall": gr,
        "global_f1": float(gf),
        "weighted_f1": float(np.sum(w * f1)),
    }


def aggregated_metrics(y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None) -> dict[str, float]:
    """Support-weighted global precision and recall, "global F1" and weighted F1.

    Returns
    -------
    dict
        ``global_precision``, ``global_recall``, ``global_f1`` (harmonic mean of
        the two) and ``weighted_f1`` (scikit-learn's ``average="weighted"``),
        plus ``accuracy``. Global recall weighted by support equals accuracy.

    Examples
    --------
    >>> m = aggregated_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 2])
    >>> round(m["global_recall"], 3)  # = accuracy
    0.8
    """
    pc = per_class_metrics(y_true, y_pred, labels=labels)
    out = _aggregate(pc["precision"], pc["recall"], pc["f1"], pc["support"])
    yt, yp = _pair(y_true, y_pred)
    out["accuracy"] = float(np.mean(yt == yp))
    return out


def aggregated_from_confusion(cm: Any) -> dict[str, float]:
    """The same aggregated metrics, computed from a confusion matrix alone.

    Parameters
    ----------
    cm : array-like, shape (n_classes, n_classes)
        Counts, rows = true class, columns = predicted class (scikit-learn's order).
    """
    m = np.asarray(cm, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"a confusion matrix must be square and non-empty, got shape {m.shape}")
    if np.isnan(m).any() or (m < 0).any():
        raise ValueError("a confusion matrix holds non-negative counts, got NaN or negative values")
    tp = np.diag(m)
    pred = m.sum(axis=0)
    true = m.sum(axis=1)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    out = _aggregate(precision, recall, f1, true)
    out["accuracy"] = float(tp.sum() / m.sum())
    return out
