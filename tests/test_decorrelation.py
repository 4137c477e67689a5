"""Distance correlation, Jensen-Shannon divergence and the significance with a background uncertainty."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils.metrics import asimov_significance
from course_utils.metrics.decorrelation import distance_correlation, jensen_shannon_divergence
from course_utils.metrics.systematics import asimov_significance_with_uncertainty


def _dcor2_by_szekely_sums(x, y):
    """dCor^2 from the three sums of Székely, Rizzo and Bakirov (2007), eq. 2.8 — no double centring."""
    def dcov2(u, v):
        a, b = np.abs(u[:, None] - u[None, :]), np.abs(v[:, None] - v[None, :])
        s1 = (a * b).mean()
        s2 = a.mean() * b.mean()
        s3 = (a.mean(axis=1) * b.mean(axis=1)).mean()
        return s1 + s2 - 2 * s3
    return dcov2(x, y) / math.sqrt(dcov2(x, x) * dcov2(y, y))


def test_distance_correlation_matches_the_three_sum_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    y = x ** 2 + 0.3 * rng.normal(size=300)  # dependent, Pearson correlation near zero
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.2
    assert distance_correlation(x, y) == pytest.approx(_dcor2_by_szekely_sums(x, y), rel=1e-10)
    assert distance_correlation(x, y) > 0.1


def test_distance_correlation_by_blocks_equals_the_whole_matrices(monkeypatch):
    from course_utils.metrics import decorrelation
    rng = np.random.default_rng(4)
    x = rng.normal(size=700)
    y = np.abs(x) + 0.5 * rng.normal(size=700)
    w = rng.uniform(0.5, 2.0, size=700)
    whole = distance_correlation(x, y, weights=w)   # 700 x 700 < BLOCK_ENTRIES: a single block
    monkeypatch.setattr(decorrelation, "BLOCK_ENTRIES", 700 * 37)   # blocks of 37 rows, the last one shorter
    assert distance_correlation(x, y, weights=w) == pytest.approx(whole, rel=1e-12)
    assert distance_correlation(x, y) == pytest.approx(_dcor2_by_szekely_sums(x, y), rel=1e-10)


def test_distance_correlation_memory_stays_in_blocks():
    import tracemalloc
    rng = np.random.default_rng(5)
    x = rng.normal(size=8_000)
    tracemalloc.start()
    distance_correlation(x, x ** 2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 200e6, f"{peak / 1e6:.0f} MB for 8,000 values: the 8,000 x 8,000 matrices (512 MB each) were built"


def test_distance_correlation_of_a_gaussian_pair_follows_the_closed_form():
    """Székely et al. (2007), theorem 7: dCor^2 of a bivariate normal with correlation rho."""
    rho = 0.6
    rng = np.random.default_rng(1)
    x, e = rng.normal(size=(2, 4000))
    y = rho * x + math.sqrt(1 - rho ** 2) * e
    closed = (rho * math.asin(rho) + math.sqrt(1 - rho ** 2) - rho * math.asin(rho / 2)
              - math.sqrt(4 - rho ** 2) + 1) / (1 + math.pi / 3 - math.sqrt(3))
    assert distance_correlation(x, y) == pytest.approx(closed, abs=0.02)


def test_distance_correlation_limits_and_weights():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=500)
    assert distance_correlation(x, 3 - 2 * x) == pytest.approx(1.0)
    assert distance_correlation(x, rng.uniform(size=500)) < 0.02
    # Integer weights are the same as repeating the events.
    w = rng.integers(1, 4, size=40)
    u, v = rng.normal(size=(2, 40))
    assert distance_correlation(u, v, weights=w) == pytest.approx(
        distance_correlation(np.repeat(u, w), np.repeat(v, w)), rel=1e-10)


@pytest.mark.parametrize("x, y, kwargs, match", [
    ([1.0, 2.0], [1.0], {}, "same length"),
    ([1.0], [1.0], {}, "at least 2"),
    ([1.0, np.nan], [1.0, 2.0], {}, "NaN"),
    ([1.0, np.inf], [1.0, 2.0], {}, "finite"),
    ([1.0, 1.0], [1.0, 2.0], {}, "constant"),
    ([1.0, 2.0], [1.0, 2.0], {"weights": [1.0, -1.0]}, "non-negative"),
    ([1.0, 2.0], [1.0, 2.0], {"weights": [1.0]}, "one value per event"),
])
def test_distance_correlation_refuses_bad_input(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        distance_correlation(x, y, **kwargs)


def test_jensen_shannon_hand_worked():
    # P = (1/2, 1/2), Q = (1, 0): M = (3/4, 1/4); JSD = (KL(P||M) + KL(Q||M)) / 2.
    p = [0.2, 0.8]        # one value in each of two bins [0, 0.5), [0.5, 1]
    q = [0.1, 0.3]        # both in the first bin
    kl_pm = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_qm = math.log2(1 / 0.75)
    assert jensen_shannon_divergence(p, q, bins=2, range=(0, 1)) == pytest.approx((kl_pm + kl_qm) / 2)
    assert jensen_shannon_divergence(p, p, bins=2, range=(0, 1)) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon_divergence([0.1], [0.9], bins=2, range=(0, 1)) == pytest.approx(1.0)


def test_jensen_shannon_refuses_bad_input():
    with pytest.raises(ValueError, match="empty"):
        jensen_shannon_divergence([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        jensen_shannon_divergence([np.nan, 1.0], [1.0])
    with pytest.raises(ValueError, match="inside the range"):
        jensen_shannon_divergence([5.0], [0.5], bins=2, range=(0, 1))


def test_significance_with_uncertainty_limits():
    s, b = np.array([5.0, 10.0, 50.0]), np.array([100.0, 100.0, 400.0])
    # No uncertainty: the Asimov significance; tiny uncertainty: continuous.
    np.testing.assert_allclose(asimov_significance_with_uncertainty(s, b, 0.0), asimov_significance(s, b))
    np.testing.assert_allclose(asimov_significance_with_uncertainty(s, b, 1e-3), asimov_significance(s, b), rtol=1e-6)
    # s << b: s / sqrt(b + sigma_b^2).
    assert asimov_significance_with_uncertainty(1.0, 1e4, 50.0) == pytest.approx(1 / math.sqrt(1e4 + 2500), rel=1e-3)
    # More uncertainty, less significance.
    z = asimov_significance_with_uncertainty(10.0, 100.0, np.array([0.0, 5.0, 10.0, 20.0]))
    assert (np.diff(z) < 0).all()


def test_significance_with_uncertainty_hand_worked():
    # s = 10, b = 100, sigma_b = 10, the formula term by term.
    s, b, v = 10.0, 100.0, 100.0
    first = (s + b) * math.log((s + b) * (b + v) / (b * b + (s + b) * v))
    second = b * b / v * math.log(1 + v * s / (b * (b + v)))
    assert asimov_significance_with_uncertainty(s, b, 10.0) == pytest.approx(math.sqrt(2 * (first - second)))


@pytest.mark.parametrize("args, match", [
    ((1.0, 0.0, 1.0), "b > 0"),
    ((-1.0, 10.0, 1.0), "non-negative"),
    ((1.0, 10.0, -1.0), "non-negative"),
    ((np.nan, 10.0, 1.0), "NaN"),
])
def test_significance_with_uncertainty_refuses_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        asimov_significance_with_uncertainty(*args)


def test_background_shift_by_hand():
    from course_utils.metrics.systematics import background_shift

    # Nominal: signal scores 0.1..1.0 (10 values), background 0.02..0.92; alternative: background shifted up.
    sig = np.linspace(0.1, 1.0, 10)
    bkg = np.linspace(0.0, 0.9, 10) + 0.02
    y = np.r_[np.ones(10), np.zeros(10)]
    out = background_shift(y, np.r_[sig, bkg], y, np.r_[sig, bkg + 0.1], signal_efficiency=0.5)
    assert out["threshold"] == pytest.approx(np.quantile(sig, 0.5))   # 0.55
    assert out["eps_s_nominal"] == 0.5 and out["eps_b_nominal"] == 0.4  # 0.62, 0.72, 0.82, 0.92
    assert out["eps_b_alternative"] == 0.5 and out["relative_shift"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="both needed"):
        background_shift(np.ones(3), [0.1, 0.2, 0.3], y, np.r_[sig, bkg])


def test_significance_scan_matches_a_direct_computation():
    from course_utils.metrics.systematics import significance_scan

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 4000)
    score = np.clip(rng.normal(0.35 + 0.3 * y, 0.15), 0, 1)
    score_alt = np.clip(score + 0.05 * (y == 0), 0, 1)  # the background moves up in the other setting
    scan = significance_scan(y, score, y, score_alt, n_signal=100, n_background=1000, n_thresholds=20)
    k = scan["best"]
    t = scan["threshold"][k]
    s = 100 * (score[y == 1] >= t).mean()
    b = 1000 * (score[y == 0] >= t).mean()
    sigma = 1000 * abs((score_alt[y == 0] >= t).mean() - (score[y == 0] >= t).mean())
    assert scan["best_z_syst"] == pytest.approx(asimov_significance_with_uncertainty(s, b, sigma))
    assert scan["best_z_syst"] == pytest.approx(scan["z_syst"].max())
    assert (scan["z_syst"] <= scan["z_stat"] + 1e-12).all()  # a systematic never helps
    # Without any shift, the systematic vanishes.
    same = significance_scan(y, score, y, score, n_thresholds=20)
    np.testing.assert_allclose(same["z_syst"], same["z_stat"])
    with pytest.raises(ValueError, match="no threshold keeps"):
        significance_scan(y[:20], score[:20], y[:20], score[:20], min_background_events=100)


def test_background_shift_at_a_threshold_fixed_beforehand():
    from course_utils.metrics.systematics import background_shift

    sig = np.linspace(0.1, 1.0, 10)
    bkg = np.linspace(0.0, 0.9, 10) + 0.02
    y = np.r_[np.ones(10), np.zeros(10)]
    # 0.7 keeps 4 signal (0.7, 0.8, 0.9, 1.0) and 3 nominal background (0.72, 0.82, 0.92); 4 once shifted.
    out = background_shift(y, np.r_[sig, bkg], y, np.r_[sig, bkg + 0.1], threshold=0.7)
    assert out["threshold"] == 0.7 and out["eps_s_nominal"] == pytest.approx(0.4)
    assert out["eps_b_nominal"] == pytest.approx(0.3) and out["eps_b_alternative"] == pytest.approx(0.4)
    assert out["relative_shift"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="NaN"):
        background_shift(y, np.r_[sig, bkg], y, np.r_[sig, bkg], threshold=float("nan"))


def test_significance_at_by_hand_and_against_the_scan():
    from course_utils.metrics.systematics import significance_at, significance_scan

    sig = np.linspace(0.1, 1.0, 10)
    bkg = np.linspace(0.0, 0.9, 10) + 0.02
    y = np.r_[np.ones(10), np.zeros(10)]
    out = significance_at(y, np.r_[sig, bkg], y, np.r_[sig, bkg + 0.1], 0.7, n_signal=100, n_background=1000)
    assert (out["s"], out["b"], out["sigma_b"]) == pytest.approx((40.0, 300.0, 100.0))
    assert out["z_syst"] == pytest.approx(asimov_significance_with_uncertainty(40.0, 300.0, 100.0))
    # No cut: everything passes in both samples, no systematic.
    none = significance_at(y, np.r_[sig, bkg], y, np.r_[sig, bkg + 0.1], -np.inf)
    assert none["sigma_b"] == 0 and none["z_syst"] == pytest.approx(none["z_stat"])
    # The scan's best threshold, evaluated alone, gives the scan's value.
    rng = np.random.default_rng(5)
    yy = rng.integers(0, 2, 3000)
    s = np.clip(rng.normal(0.35 + 0.3 * yy, 0.15), 0, 1)
    s_alt = np.clip(s + 0.04 * (yy == 0), 0, 1)
    scan = significance_scan(yy, s, yy, s_alt, n_thresholds=25)
    at = significance_at(yy, s, yy, s_alt, scan["threshold"][scan["best"]])
    assert at["z_syst"] == pytest.approx(scan["best_z_syst"])
    with pytest.raises(ValueError, match="b = 0"):
        significance_at(y, np.r_[sig, bkg], y, np.r_[sig, bkg], 5.0)
