"""metrics.generative: distances and the classifier test, against hand-worked values and SciPy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.metrics import generative as cm


def test_wasserstein_matches_scipy():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(0, 2, 500)})
    b = pd.DataFrame({"x": rng.normal(1, 2, 400)})
    w = cm.wasserstein_distances(a, b, standardise=False)
    assert w["x"] == pytest.approx(wasserstein_distance(a["x"], b["x"]))
    assert cm.wasserstein_distances(a, b)["x"] == pytest.approx(w["x"] / a["x"].std(ddof=0))
    with pytest.raises(ValueError, match="different columns"):
        cm.wasserstein_distances(a, b.rename(columns={"x": "y"}))


def test_separation_power_extremes():
    a = pd.DataFrame({"x": np.linspace(0, 1, 1000)})
    assert cm.separation_power(a, a)["x"] == pytest.approx(0.0)
    far = pd.DataFrame({"x": np.full(1000, 50.0)})              # all in the last (clipped) bin
    sp = cm.separation_power(a, far, bins=10)["x"]
    # by hand: reference 10 % per bin; generated 100 % in the last bin
    expected = 0.5 * (9 * 0.1 + (0.1 - 1.0) ** 2 / 1.1)
    assert sp == pytest.approx(expected, rel=0.02)


def test_frechet_one_dimensional_formula():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 4000), rng.normal(2, 3, 4000)
    expected = (x.mean() - y.mean()) ** 2 + (x.std(ddof=1) - y.std(ddof=1)) ** 2
    assert cm.frechet_distance(x, y) == pytest.approx(expected, rel=1e-6)
    assert cm.frechet_distance(np.c_[x, x**2], np.c_[x, x**2]) == pytest.approx(0.0, abs=1e-6)


def test_kernel_distance_by_hand_and_behaviour():
    x = np.array([[0.0], [1.0]])
    y = np.array([[2.0], [3.0]])
    k = lambda a, b: (a * b + 1.0) ** 3  # noqa: E731
    expected = (2 * k(0, 1)) / 2 + (2 * k(2, 3)) / 2 - 2 * np.mean([k(a, b) for a in (0, 1) for b in (2, 3)])
    assert cm.kernel_distance(x, y) == pytest.approx(expected)
    rng = np.random.default_rng(2)
    same = cm.kernel_distance(rng.normal(size=(500, 3)), rng.normal(size=(500, 3)))
    shifted = cm.kernel_distance(rng.normal(size=(500, 3)), rng.normal(1, 1, size=(500, 3)))
    assert abs(same) < 0.05 < shifted


def test_classifier_auc_separates_only_different_samples():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(1500, 4)), rng.normal(size=(1500, 4))
    assert abs(cm.classifier_auc(a, b, seed=1)["auc"] - 0.5) < 0.06
    c = rng.normal(size=(1500, 4))
    c[:, 0] += 1.5
    res = cm.classifier_auc(a, c, seed=1)
    assert res["auc"] > 0.8
    assert len(res["y_true"]) == len(res["y_score"]) == 1200
    assert res["converged"] and res["epochs"] < 300                  # stopped by early stopping


def test_classifier_auc_reports_an_epoch_limit():
    rng = np.random.default_rng(4)
    a, c = rng.normal(size=(600, 4)), rng.normal(size=(600, 4))
    c[:, 0] += 1.0
    res = cm.classifier_auc(a, c, seed=0, max_iter=2)
    assert not res["converged"] and res["epochs"] == 2
    with pytest.raises(ValueError, match="features"):
        cm.classifier_auc(a, c[:, :3])


def test_batched_distance_by_hand():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(100, 2)), rng.normal(1.0, 1.0, size=(103, 2))
    values = cm.batched_distance(cm.frechet_distance, x, y, n_batches=4, seed=3)
    # the same batches by hand: one shuffle of each sample, truncated to 4 equal batches
    g = np.random.default_rng(3)
    px, py = g.permutation(100)[:100], g.permutation(103)[:100]
    expected = [cm.frechet_distance(x[i], y[j])
                for i, j in zip(np.array_split(px, 4), np.array_split(py, 4))]
    np.testing.assert_allclose(values, expected)
    same = cm.batched_distance(cm.frechet_distance, x, rng.normal(size=(100, 2)), n_batches=4)
    assert same.mean() < values.mean()
    with pytest.raises(ValueError, match="fewer than 2 rows"):
        cm.batched_distance(cm.frechet_distance, x[:5], y, n_batches=4)
    with pytest.raises(ValueError, match="callable"):
        cm.batched_distance(None, x, y)


def test_showers_per_second():
    import time

    def gen(n):
        time.sleep(0.01)
        return n

    rate = cm.showers_per_second(gen, 100, repeats=2, min_time=0.05)
    assert 1000 < rate < 10_500
    with pytest.raises(ValueError, match="batch"):
        cm.showers_per_second(gen, 0)


def test_showers_per_second_runs():
    import time

    calls = []

    def gen(n):
        calls.append(n)
        time.sleep(0.01)
        return n

    rates = cm.showers_per_second_runs(gen, 100, repeats=4, min_time=0.03)
    assert rates.shape == (4,)
    # 100 showers per call of at least 10 ms: at most 10,000 per second, and a loaded machine
    # slows it, never speeds it up; each repeat lasts >= 30 ms, so >= 3 calls
    assert np.all(rates <= 10_000) and np.all(rates > 500)
    assert len(calls) >= 1 + 4 * 3 and set(calls) == {100}
    # the best of the repeats is what showers_per_second reports
    assert cm.showers_per_second(gen, 100, repeats=3, min_time=0.03) <= 10_000
    for bad in ({"repeats": 0}, {"min_time": 0.0}, {"min_time": float("nan")}):
        with pytest.raises(ValueError):
            cm.showers_per_second_runs(gen, 100, **bad)
    with pytest.raises(ValueError, match="callable"):
        cm.showers_per_second_runs(None, 100)
