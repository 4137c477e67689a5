"""Figures used across the course. Every helper returns its figure; none calls ``plt.show()``.

Physics plots use mplhep's styles (:func:`hep_style`); comparisons that a
reader wants to explore use plotly (:func:`metrics_bar_chart`). Confusion
matrices and ROC curves are drawn by scikit-learn's ``ConfusionMatrixDisplay``
and ``RocCurveDisplay``, with French labels; the HEP rejection curve
(:func:`rejection_curves`) has no scikit-learn display and is drawn here.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use(matplotlib.get_backend())  # keep the notebook's backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_utils import validation  # noqa: E402
from course_utils._optional import require  # noqa: E402

__all__ = ["use_course_style", "hep_style", "confusion_matrix", "roc_curves", "rejection_curves",
           "training_history", "class_histograms", "metrics_bar_chart"]


def use_course_style() -> None:
    """Readable defaults for every notebook: size, grid, fonts."""
    plt.rcParams.update({
        "figure.figsize": (7, 4.5),
        "figure.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
    })


@contextlib.contextmanager
def hep_style(experiment: str = "CMS") -> Iterator[None]:
    """Context manager applying an mplhep style (``"CMS"``, ``"ATLAS"``, ``"LHCb2"``, ``"ALICE"``)."""
    mplhep = require("mplhep", why="plotting.hep_style (HEP plot styles)")

    styles = {"CMS": mplhep.style.CMS, "ATLAS": mplhep.style.ATLAS,
              "LHCb2": mplhep.style.LHCb2, "ALICE": mplhep.style.ALICE}
    if experiment not in styles:
        raise ValueError(f"unknown experiment style {experiment!r}: expected one of {sorted(styles)}")
    with plt.style.context(styles[experiment]):
        yield


def _new_axes(ax: Any, figsize: tuple[float, float] | None = None) -> tuple[Any, Any]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def confusion_matrix(y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None,
                     class_names: Sequence[str] | None = None, normalize: bool = False,
                     ax: Any = None, title: str | None = None) -> Any:
    """Confusion matrix as an annotated heat map (rows: true class, columns: predicted).

    Drawn by scikit-learn's :class:`~sklearn.metrics.ConfusionMatrixDisplay`,
    with French labels and a labelled colour bar. ``normalize=True`` divides
    each row by its total, so the diagonal holds the per-class recall.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        True and predicted classes.
    labels
        The classes, in display order (default: every class present, sorted).
    class_names
        A name per class of ``labels``.
    normalize
        Show fractions of each true class instead of counts.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    yt = validation.check_labels(y_true, "y_true")
    yp = validation.check_labels(y_pred, "y_pred")
    validation.check_consistent_length(y_true=yt, y_pred=yp)
    if labels is None:
        labels = np.unique(np.concatenate([yt, yp]))
    labels = list(labels)
    names = list(class_names) if class_names is not None else [str(v) for v in labels]
    if len(names) != len(labels):
        raise ValueError(f"class_names has {len(names)} names for {len(labels)} classes")
    fig, ax = _new_axes(ax, (1.2 * len(names) + 2.5, 1.1 * len(names) + 2))
    display = ConfusionMatrixDisplay.from_predictions(
        yt, yp, labels=labels, normalize="true" if normalize else None, display_labels=names, ax=ax,
        cmap="Blues", colorbar=False, values_format=".2f" if normalize else "d", xticks_rotation=30,
        im_kw={"vmin": 0, "vmax": 1} if normalize else {"vmin": 0})
    ax.grid(False)
    fig.colorbar(display.im_, ax=ax, fraction=0.046, pad=0.04,
                 label="fraction de la vraie classe" if normalize else "événements")
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.set_xlabel("classe prédite")
    ax.set_ylabel("classe vraie")
    if title:
        ax.set_title(title)
    return fig


def _curves(scores: Mapping[str, Any], y_true: Any) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    from course_utils.metrics import hep

    if not scores:
        raise ValueError("scores is empty: give a dict {model name: scores}")
    out = {}
    for name, s in scores.items():
        fpr, tpr, _ = hep.roc(y_true, s)
        out[name] = (fpr, tpr, hep.auc(y_true, s))
    return out


def roc_curves(y_true: Any, scores: Mapping[str, Any], *, ax: Any = None, title: str | None = None) -> Any:
    """ROC curves of several models on one axis, AUC in the legend.

    Each curve is drawn by scikit-learn's :class:`~sklearn.metrics.RocCurveDisplay`
    (with the course's checks on the inputs and French labels).

    Parameters
    ----------
    y_true : array-like, shape (n,)
        0/1 labels (1 = signal / positive class).
    scores : dict
        Model name -> scores, each of shape (n,).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.metrics import RocCurveDisplay

    fig, ax = _new_axes(ax, (6, 5))
    curves = _curves(scores, y_true)
    for i, (name, (fpr, tpr, area)) in enumerate(curves.items()):
        last = i == len(curves) - 1
        label = {"label": f"{name} (AUC = {area:.3f})"}
        chance = {"plot_chance_level": last,
                  "chance_level_kw": {"label": "hasard", "linestyle": "--", "color": "grey", "lw": 1}}
        if "curve_kwargs" in inspect.signature(RocCurveDisplay.plot).parameters:  # scikit-learn >= 1.7
            RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=area, name=name).plot(ax=ax, curve_kwargs=label, **chance)
        else:  # scikit-learn 1.3 to 1.6 (Colab ships 1.6): `estimator_name`, line keywords passed as such
            RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=area, estimator_name=name).plot(ax=ax, **label, **chance)
    ax.set_aspect("auto")
    ax.set_xlabel("taux de faux positifs (efficacité du bruit de fond)")
    ax.set_ylabel("taux de vrais positifs (efficacité du signal)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return fig


def rejection_curves(y_true: Any, scores: Mapping[str, Any], *, ax: Any = None,
                     title: str | None = None, signal_label: str = "signal") -> Any:
    """HEP-style ROC: signal efficiency (x) vs background rejection ``1/eps_B`` (log y)."""
    fig, ax = _new_axes(ax, (6, 5))
    for name, (fpr, tpr, area) in _curves(scores, y_true).items():
        keep = fpr > 0
        ax.plot(tpr[keep], 1.0 / fpr[keep], label=f"{name} (AUC = {area:.3f})")
    grid = np.linspace(0.01, 1, 100)
    ax.plot(grid, 1 / grid, ls="--", color="grey", lw=1, label="hasard")
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"efficacité du {signal_label} $\\varepsilon_S$")
    ax.set_ylabel("réjection du bruit de fond $1/\\varepsilon_B$")
    ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return fig


#: French axis labels of the metrics Keras and the course's loops record.
METRIC_LABELS = {"loss": "perte", "accuracy": "exactitude", "acc": "exactitude", "auc": "AUC",
                 "precision": "précision", "recall": "rappel", "mse": "erreur quadratique moyenne",
                 "mae": "erreur absolue moyenne"}


def training_history(history: Any, *, metrics: Sequence[str] | None = None, title: str | None = None) -> Any:
    """Training curves, one panel per metric, training and validation together.

    Parameters
    ----------
    history
        A Keras ``History`` (its ``.history`` dict is used) or a dict
        ``{"loss": [...], "val_loss": [...], ...}``.
    metrics
        Which metrics to draw (default: every key without the ``val_`` prefix).
    """
    hist = getattr(history, "history", history)
    if not isinstance(hist, Mapping) or not hist:
        raise ValueError("history must be a Keras History or a non-empty dict of lists")
    names = list(metrics) if metrics else [k for k in hist if not k.startswith("val_") and k not in ("lr", "learning_rate")]
    unknown = [m for m in names if m not in hist]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}: the history holds {sorted(hist)}")
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(hist[name]) + 1)
        ax.plot(epochs, hist[name], marker="o", ms=3, label="entraînement")
        if f"val_{name}" in hist:
            ax.plot(epochs, hist[f"val_{name}"], marker="o", ms=3, label="validation")
        ax.set_xlabel("époque")
        ax.set_ylabel(METRIC_LABELS.get(name, name))
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def class_histograms(data: Any, labels: Any, *, columns: Sequence[str] | None = None,
                     class_names: Mapping[Any, str] | None = None, bins: int = 40,
                     ncols: int = 4, density: bool = True) -> Any:
    """Histogram of each feature, one colour per class.

    Parameters
    ----------
    data : pandas.DataFrame
        Features in columns.
    labels : array-like, shape (n,)
        Class of each row.
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    lab = np.asarray(labels)
    if len(lab) != len(data):
        raise ValueError(f"labels has {len(lab)} entries for {len(data)} rows")
    cols = list(columns) if columns is not None else list(data.select_dtypes("number").columns)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(f"unknown columns {missing}")
    if not cols:
        raise ValueError("no numeric column to draw")
    nrows = int(np.ceil(len(cols) / ncols))
    fig, axes = plt.subplots(nrows, min(ncols, len(cols)), figsize=(3.6 * min(ncols, len(cols)), 2.8 * nrows),
                             squeeze=False)
    classes = np.unique(lab)
    for ax, col in zip(axes.flat, cols):
        values = data[col].to_numpy(dtype=float)
        edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=bins)
        for c in classes:
            name = class_names.get(c, str(c)) if class_names else str(c)
            ax.hist(values[lab == c], bins=edges, histtype="step", density=density, lw=1.5, label=name)
        ax.set_title(col, fontsize=10)
    for ax in list(axes.flat)[len(cols):]:
        ax.set_visible(False)
    axes.flat[0].legend()
    fig.tight_layout()
    return fig


def metrics_bar_chart(table: Any, *, metrics: Sequence[str] | None = None, model_column: str | None = None,
                      title: str = "Métriques par modèle") -> Any:
    """A plotly grouped bar chart: one group per metric, one bar per model.

    Parameters
    ----------
    table : pandas.DataFrame or dict
        One row per model (index or ``model_column`` = model name), one column per metric.
    """
    import pandas as pd

    go = require("plotly.graph_objects", why="plotting.metrics_bar_chart (interactive figure)", package="plotly")

    df = pd.DataFrame(table)
    if model_column is not None:
        if model_column not in df.columns:
            raise ValueError(f"model_column {model_column!r} not among the columns {list(df.columns)}")
        df = df.set_index(model_column)
    if df.empty:
        raise ValueError("the metrics table is empty")
    cols = list(metrics) if metrics is not None else list(df.select_dtypes("number").columns)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"unknown metrics {missing}: the table has {list(df.columns)}")
    fig = go.Figure()
    for model, row in df[cols].iterrows():
        fig.add_trace(go.Bar(name=str(model), x=cols, y=row.to_numpy(dtype=float),
                             text=[f"{v:.3f}" for v in row], textposition="auto"))
    fig.update_layout(barmode="group", title=title, yaxis_title="valeur", xaxis_title="métrique",
                      legend_title="modèle")
    return fig
