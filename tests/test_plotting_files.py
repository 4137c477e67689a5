"""Plotting helpers return figures whose content matches independent computations; file helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import confusion_matrix as sk_cm  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from course_utils import _files, plotting  # noqa: E402

rng = np.random.default_rng(0)
Y = rng.integers(0, 2, 300)
S1 = Y + rng.normal(0, 1, 300)
S2 = Y + rng.normal(0, 2, 300)


def test_confusion_matrix_counts_and_normalised():
    yt = [0, 0, 1, 2, 2, 2]
    yp = [0, 1, 1, 2, 0, 2]
    fig = plotting.confusion_matrix(yt, yp, class_names=["a", "b", "c"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [str(v) for v in sk_cm(yt, yp).ravel()]
    fig = plotting.confusion_matrix(yt, yp, normalize=True)
    diag = [float(fig.axes[0].texts[i * 4].get_text()) for i in range(3)]
    assert diag == pytest.approx([0.5, 1.0, 0.67], abs=0.01)
    with pytest.raises(ValueError, match="class_names"):
        plotting.confusion_matrix(yt, yp, class_names=["a"])


def test_confusion_matrix_labels_order_colour_bar_and_empty_rows():
    yt = ["g", "g", "h", "h", "h"]
    yp = ["g", "h", "h", "h", "g"]
    fig = plotting.confusion_matrix(yt, yp, labels=["h", "g", "x"], class_names=["hadron", "gamma", "autre"],
                                    normalize=True)
    ax, cbar = fig.axes
    texts = [float(t.get_text()) for t in ax.texts]
    # rows h, g, x (no true x: a row of zeros, not NaN); columns in the same order
    assert texts == pytest.approx([2 / 3, 1 / 3, 0, 1 / 2, 1 / 2, 0, 0, 0, 0], abs=0.005)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hadron", "gamma", "autre"]
    assert ax.get_xlabel() == "classe prédite" and ax.get_ylabel() == "classe vraie"
    assert cbar.get_ylabel() == "fraction de la vraie classe"
    assert plotting.confusion_matrix(yt, yp).axes[1].get_ylabel() == "événements"


def test_roc_and_rejection_curves_legends_hold_sklearn_auc():
    for fn in (plotting.roc_curves, plotting.rejection_curves):
        fig = fn(Y, {"m1": S1, "m2": S2})
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert f"{roc_auc_score(Y, S1):.3f}" in labels[0] and f"{roc_auc_score(Y, S2):.3f}" in labels[1]
    assert plotting.rejection_curves(Y, {"m1": S1}).axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="empty"):
        plotting.roc_curves(Y, {})


def test_roc_curves_draw_sklearn_roc_and_the_chance_line():
    fig = plotting.roc_curves(Y, {"m1": S1, "m2": S2}, title="t")
    ax = fig.axes[0]
    fpr, tpr, _ = roc_curve(Y, S2)
    np.testing.assert_allclose(ax.lines[1].get_xdata(), fpr)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), tpr)
    assert [line.get_label() for line in ax.lines][-1] == "hasard" and len(ax.lines) == 3  # one chance line
    assert ax.get_xlabel().startswith("taux de faux positifs") and ax.get_title() == "t"
    with pytest.raises(ValueError):
        plotting.roc_curves([0, 1, 2], {"m": [0.1, 0.2, 0.3]})  # labels must be 0/1


def test_training_history_from_dict_and_keras_like():
    hist = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.8]}
    fig = plotting.training_history(hist)
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), hist["val_loss"])
    assert [ax.get_ylabel() for ax in fig.axes] == ["perte", "exactitude"]  # French labels

    class FakeHistory:
        history = hist

    assert len(plotting.training_history(FakeHistory(), metrics=["loss"]).axes) == 1
    with pytest.raises(ValueError, match="unknown metrics"):
        plotting.training_history(hist, metrics=["auc"])
    with pytest.raises(ValueError, match="non-empty"):
        plotting.training_history({})


def test_class_histograms():
    df = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    fig = plotting.class_histograms(df, rng.integers(0, 2, 100), ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    with pytest.raises(ValueError, match="entries"):
        plotting.class_histograms(df, [0, 1])
    with pytest.raises(ValueError, match="unknown columns"):
        plotting.class_histograms(df, rng.integers(0, 2, 100), columns=["z"])


def test_metrics_bar_chart():
    table = pd.DataFrame({"accuracy": [0.9, 0.8], "f1": [0.85, 0.7]}, index=["m1", "m2"])
    fig = plotting.metrics_bar_chart(table)
    assert [t.name for t in fig.data] == ["m1", "m2"]
    assert list(fig.data[1].y) == [0.8, 0.7]
    with pytest.raises(ValueError, match="unknown metrics"):
        plotting.metrics_bar_chart(table, metrics=["auc"])


def test_hep_style_unknown():
    with pytest.raises(ValueError, match="unknown experiment"):
        with plotting.hep_style("LEP"):
            pass


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with _files.atomic_write(target) as f:
            f.write("new but broken")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    with _files.atomic_write(target) as f:
        f.write("new")
    assert target.read_text() == "new"


def test_sha256_matches_hashlib(tmp_path):
    import hashlib

    p = tmp_path / "x.bin"
    p.write_bytes(b"abc" * 1000)
    assert _files.sha256(p, chunk=7) == hashlib.sha256(b"abc" * 1000).hexdigest()
