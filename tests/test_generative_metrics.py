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


def test_classifier_auc_runs_gives_the_runs_one_by_one_in_parallel():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    c = b.copy()
    c[:, 1] += 1.0
    pairs = {"same": (a, b), ("shifted", 1): (a, c)}
    kw = {"hidden": (16,), "max_iter": 40}
    one_by_one = {key: [cm.classifier_auc(*pair, seed=s, **kw)["auc"] for s in (0, 3)] for key, pair in pairs.items()}
    for n_jobs in (1, 2):
        runs = cm.classifier_auc_runs(pairs, seeds=[0, 3], n_jobs=n_jobs, desc=None, **kw)
        assert list(runs) == list(pairs)
        assert {key: [r["auc"] for r in v] for key, v in runs.items()} == one_by_one
    counted = cm.classifier_auc_runs({"same": (a, b)}, seeds=2, n_jobs=1, desc=None, **kw)
    assert [r["auc"] for r in counted["same"]] == [cm.classifier_auc(a, b, seed=s, **kw)["auc"] for s in (0, 1)]
    assert one_by_one["shifted", 1][0] > 0.6 > one_by_one["same"][0]


@pytest.mark.parametrize(("pairs", "seeds", "match"), [
    ({}, 2, "pairs is empty"),
    ({"x": (np.ones((5, 2)), np.ones((5, 3)))}, 2, "2 and 3 features"),
    ({"x": np.ones((5, 2))}, 2, "must be a tuple"),
    ({"x": (np.ones((5, 2)), np.full((5, 2), np.nan))}, 2, "NaN|finite|infinity"),
    ({"x": (np.ones((5, 2)), np.ones((5, 2)))}, [], "seeds is empty"),
    ({"x": (np.ones((5, 2)), np.ones((5, 2)))}, 0, "seeds must be"),
    ({"x": (np.ones((5, 2)), np.ones((5, 2)))}, [1.5], "seed must be"),
])
def test_classifier_auc_runs_rejects_bad_input(pairs, seeds, match):
    with pytest.raises(ValueError, match=match):
        cm.classifier_auc_runs(pairs, seeds=seeds, n_jobs=1, desc=None)


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


def test_sorted_quantile_transformer_is_scikit_learns_to_the_last_bit():
    from sklearn.preprocessing import QuantileTransformer

    from course_utils.models import quantiles

    rng = np.random.default_rng(7)
    x = rng.lognormal(size=(997, 6))
    x[:, 1] = 0.0                       # a constant variable
    x[::3, 2] = 1.0                     # ties
    for kwargs in ({"n_quantiles": 300, "output_distribution": "normal", "subsample": len(x)},
                   {"n_quantiles": 997}, {"n_quantiles": 10}):
        ours, theirs = quantiles.QuantileTransformer(**kwargs).fit(x), QuantileTransformer(**kwargs).fit(x)
        assert np.array_equal(ours.quantiles_, theirs.quantiles_)
        assert np.array_equal(ours.transform(x), theirs.transform(x))
    # by hand: the linear interpolation between sorted values
    assert quantiles.sorted_quantiles(np.array([[3.0], [1.0], [2.0]]), np.array([0, 0.25, 1])).ravel().tolist() == [
        1.0, 1.5, 3.0]
    with_nan = x.copy()
    with_nan[0, 0] = np.nan             # scikit-learn's own fit (it ignores NaN)
    assert np.array_equal(quantiles.QuantileTransformer(n_quantiles=50).fit(with_nan).quantiles_,
                          QuantileTransformer(n_quantiles=50).fit(with_nan).quantiles_, equal_nan=True)
    with pytest.raises(ValueError, match="non-empty 2-d"):
        quantiles.sorted_quantiles(np.ones(3), np.array([0.5]))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        quantiles.sorted_quantiles(np.ones((3, 1)), np.array([1.5]))
