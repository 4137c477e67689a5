"""The paired bootstrap, the spread over seeds and the verdict, against hand-worked cases and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from course_utils.metrics import uncertainty as U
from course_utils.metrics.hep import auc  # = roc_auc_score (tests/test_metrics.py), ~25x faster


def _accuracy(y, s):
    return float(np.mean((np.asarray(s) > 0.5) == y))


def test_hand_computed_bootstrap_of_a_constant_difference():
    # A is right on every event, B on none: every resample gives a difference of exactly 1.
    y = np.array([0, 1, 0, 1, 1, 0])
    a = y.astype(float)
    b = 1 - a
    iv = U.paired_bootstrap(_accuracy, y, a, b, n_boot=50)
    assert (iv.estimate, iv.low, iv.high) == (1.0, 1.0, 1.0)
    assert U.decide(iv, names=("A", "B")).label == "A meilleur"


def test_hand_computed_two_event_bootstrap():
    # Two events, A right on the first only, B on the second only; without stratification
    # each resample draws (e1, e1), (e1, e2), (e2, e1), (e2, e2): difference 1, 0, 0, -1 with
    # probabilities 1/4, 1/2, 1/4. The 95 % percentile interval is then [-1, 1].
    y = np.array([1, 1])
    a = np.array([1.0, 0.0])
    b = np.array([0.0, 1.0])
    iv, diffs = U.paired_bootstrap(_accuracy, y, a, b, n_boot=4000, stratify=False, return_samples=True)
    assert iv.estimate == 0
    assert (iv.low, iv.high) == (-1.0, 1.0)
    freq = {v: np.mean(diffs == v) for v in (-1.0, 0.0, 1.0)}
    assert freq[0.0] == pytest.approx(0.5, abs=0.03)
    assert freq[1.0] == pytest.approx(0.25, abs=0.03)
    assert U.decide(iv).label == U.INDISTINGUISHABLE


def test_paired_bootstrap_agrees_with_scipy():
    rng = np.random.default_rng(1)
    n = 600
    y = rng.integers(0, 2, n)
    a = y + rng.normal(0, 0.9, n)
    b = y + rng.normal(0, 1.1, n)
    ours = U.paired_bootstrap(auc, y, a, b, n_boot=1000, seed=3, stratify=False)

    def stat(yy, aa, bb):
        return auc(yy, aa) - auc(yy, bb)

    ref = stats.bootstrap((y, a, b), stat, paired=True, vectorized=False, n_resamples=1000,
                          method="percentile", random_state=4).confidence_interval
    assert ours.estimate == pytest.approx(stat(y, a, b))
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.1 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.1 * width)


def test_pairing_narrows_the_interval_of_two_correlated_models():
    rng = np.random.default_rng(2)
    n = 2000
    y = rng.integers(0, 2, n)
    common = y + rng.normal(0, 1, n)
    a = common + rng.normal(0, 0.1, n)
    b = common + rng.normal(0, 0.1, n)
    paired = U.paired_bootstrap(auc, y, a, b, n_boot=300)
    # Unpaired: the two AUCs' own bootstrap widths add up.
    sa = U.paired_bootstrap(auc, y, a, np.zeros(n) + rng.normal(0, 1e-9, n), n_boot=300)
    assert paired.high - paired.low < 0.5 * (sa.high - sa.low)


def test_stratified_resamples_keep_the_class_counts():
    y = np.r_[np.zeros(95, int), np.ones(5, int)]
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = U._resample_indices(rng, y, y.size, True)
        assert y[idx].sum() == 5


def test_sample_weight_is_passed_and_resampled():
    y = np.array([0, 1, 0, 1])
    a = np.array([0.1, 0.9, 0.2, 0.8])
    b = np.array([0.9, 0.1, 0.8, 0.2])
    seen = []

    def weighted(yy, s, w):
        seen.append(w.sum())
        return float(np.sum(w * ((s > 0.5) == yy)) / w.sum())

    iv = U.paired_bootstrap(weighted, y, a, b, sample_weight=[1, 2, 3, 4], n_boot=20)
    assert iv.estimate == 1.0
    assert seen[0] == 10 and len(set(seen)) > 1


def test_seed_spread_and_difference():
    s = U.seed_spread([0.80, 0.82, 0.81])
    assert s.mean == pytest.approx(0.81)
    assert s.std == pytest.approx(0.01)
    assert s.sem == pytest.approx(0.01 / np.sqrt(3))
    assert s.text() == "0.810 ± 0.010 (3 graines)"
    # Paired by seed: differences 0.02, 0.03, 0.01 -> mean 0.02, sd 0.01, t(2) = 4.303.
    iv = U.seed_difference([0.82, 0.85, 0.82], [0.80, 0.82, 0.81])
    half = stats.t.ppf(0.975, 2) * 0.01 / np.sqrt(3)
    assert iv.estimate == pytest.approx(0.02)
    assert (iv.low, iv.high) == pytest.approx((0.02 - half, 0.02 + half))
    # ... which holds zero (half-width 0.025 > 0.02); differences 0.04, 0.03, 0.02 do not.
    assert U.verdict([0.82, 0.85, 0.82], [0.80, 0.82, 0.81]).label == U.INDISTINGUISHABLE
    assert U.verdict([0.84, 0.85, 0.83], [0.80, 0.82, 0.81], names=("X", "Y")).label == "X meilleur"
    # Welch, against scipy's own Welch interval.
    a, b = [0.7, 0.75, 0.72, 0.71], [0.69, 0.7, 0.68]
    welch = U.seed_difference(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (welch.low, welch.high) == pytest.approx((ref.low, ref.high))


def test_over_seeds_runs_each_seed():
    spread = U.over_seeds(lambda s: float(s), [1, 2, 3], progress=False)
    assert spread.values == (1.0, 2.0, 3.0)
    assert U.over_seeds(lambda s: s * 2.0, 2, progress=False).values == (0.0, 2.0)


def test_verdict_three_outcomes_and_direction():
    rng = np.random.default_rng(5)
    n = 3000
    y = rng.integers(0, 2, n)
    good = y + rng.normal(0, 0.5, n)
    bad = y + rng.normal(0, 2.0, n)
    v = U.verdict(good, bad, y_true=y, metric=auc, names=("le réseau", "le BDT"), n_boot=200)
    assert (v.outcome, v.label, v.better) == ("A", "le réseau meilleur", "le réseau")
    assert v.interval.low > 0
    assert "bootstrap apparié, 200 tirages" in v.sentence()
    v = U.verdict(bad, good, y_true=y, metric=auc, n_boot=200)
    assert v.label == "B meilleur"
    # A loss: lower is better.
    assert U.decide(U.Interval(-0.1, -0.2, -0.05, 0.95, "x"), higher_is_better=False).outcome == "A"
    same = U.verdict(good, good + rng.normal(0, 1e-3, n), y_true=y, metric=auc, n_boot=200)
    assert same.label == U.INDISTINGUISHABLE and same.better is None


def test_interval_text():
    iv = U.Interval(0.0123, -0.004, 0.02, 0.95, "5 graines")
    assert iv.text() == "+0.012 [-0.004, +0.020]"
    assert iv.describe() == "+0.012 [-0.004, +0.020] (IC 95 %, 5 graines)"
    assert not iv.excludes_zero


@pytest.mark.filterwarnings("ignore:Only one class")
@pytest.mark.parametrize("call, match", [
    (lambda: U.paired_bootstrap(auc, [0, 1], [0.1], [0.2, 0.3]), "same length"),
    (lambda: U.paired_bootstrap(auc, [0, 1], [0.1, np.nan], [0.2, 0.3]), "score_a"),
    (lambda: U.paired_bootstrap("auc", [0, 1], [0.1, 0.2], [0.2, 0.3]), "callable"),
    (lambda: U.paired_bootstrap(auc, [], [], []), "empty"),
    (lambda: U.paired_bootstrap(auc, [0, 1], [0.1, 0.2], [0.2, 0.3], level=1.5), "level"),
    (lambda: U.paired_bootstrap(auc, [1, 1, 1], [0.1, 0.2, 0.3], [0.2, 0.3, 0.1], n_boot=10),
     "not finite|only class"),
    (lambda: U.seed_spread([0.8]), "at least 2"),
    (lambda: U.seed_difference([0.8, 0.9], [0.8, 0.7, 0.6], paired=True), "paired"),
    (lambda: U.verdict([1, 2], [1, 2], y_true=[0, 1]), "both y_true and metric"),
    (lambda: U.verdict([1, 2], [1, 2], names=("A",)), "two non-empty"),
    (lambda: U.verdict([1, 2], [1, 2], n_boot=3), "unknown options"),
    (lambda: U.decide((0, 1)), "Interval"),
])
def test_bad_input_says_what_was_expected(call, match):
    with pytest.raises(ValueError, match=match):
        call()
