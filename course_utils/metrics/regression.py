"""Regression metrics: MSE, MAE, RMSE, R² (scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils import validation

__all__ = ["regression_metrics"]


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """MSE, MAE, RMSE and R² of a prediction.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Targets and predictions, in the same unit; R² needs ``n >= 2``.
    """
    from sklearn import metrics as skm

    yt = validation.check_1d(y_true, "y_true").astype(float)
    yp = validation.check_1d(y_pred, "y_pred").astype(float)
    validation.check_consistent_length(y_true=yt, y_pred=yp)
    if len(yt) < 2:
        raise ValueError("at least two values are needed for R²")
    mse = float(skm.mean_squared_error(yt, yp))
    return {
        "mse": mse,
        "mae": float(skm.mean_absolute_error(yt, yp)),
        "rmse": float(np.sqrt(mse)),
        "r2": float(skm.r2_score(yt, yp)),
    }
