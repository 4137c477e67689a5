"""The TrackML score, tracking efficiency and fake rate against hand-worked events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.metrics.tracking import (
    analyze_tracks,
    binned_efficiency,
    clopper_pearson,
    fake_rate,
    particle_efficiency_table,
    tracking_efficiency,
    trackml_score,
)


def _loop_score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The challenge's algorithm written as its loop over hits sorted by (track, particle): an independent check."""
    nhits_p = truth["particle_id"].value_counts()
    total = truth["weight"].sum()
    ev = truth.merge(submission, on="hit_id").sort_values(["track_id", "particle_id"])
    score = 0.0
    for _, grp in ev.groupby("track_id"):
        best_n, best_pid, best_w = 0, None, 0.0
        for pid, g in grp.groupby("particle_id", sort=True):
            if len(g) > best_n:
                best_n, best_pid, best_w = len(g), pid, g["weight"].sum()
        if 2 * best_n > len(grp) and 2 * best_n > nhits_p[best_pid]:
            score += best_w / total
    return score


def _event(n_particles: int = 20, hits_per: int = 8, n_noise: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pid = np.concatenate([np.repeat(np.arange(1, n_particles + 1), hits_per), np.zeros(n_noise, int)])
    w = np.where(pid > 0, rng.uniform(0.1, 1, pid.size), 0.0)
    return pd.DataFrame({"hit_id": np.arange(1, pid.size + 1), "particle_id": pid, "weight": w / w.sum()})


def test_perfect_assignment_scores_one():
    truth = _event()
    sub = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": truth["particle_id"] + 100})
    assert trackml_score(truth, sub) == pytest.approx(1.0)


def test_all_hits_in_one_track_scores_zero():
    truth = _event()
    sub = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": 1})
    assert trackml_score(truth, sub) == 0.0


def test_hand_worked_event():
    # particle 1: hits 1-4 (weights .1 each), particle 2: hits 5-7 (.2 each), noise hit 8
    truth = pd.DataFrame({"hit_id": range(1, 9), "particle_id": [1, 1, 1, 1, 2, 2, 2, 0],
                          "weight": [.1, .1, .1, .1, .2, .2, .2, 0.]})
    # track A = hits 1,2,3 + 5: majority particle 1 (3/4 of track, 3/4 of particle) -> .3
    # track B = hits 6,7,8: majority 2 (2/3 of track, 2/3 of particle) -> .4
    # track C = hit 4 alone: 1/1 of track but 1/4 of particle -> 0
    sub = pd.DataFrame({"hit_id": range(1, 9), "track_id": [1, 1, 1, 3, 1, 2, 2, 2]})
    assert trackml_score(truth, sub) == pytest.approx(0.7)
    tracks = analyze_tracks(truth, sub).set_index("track_id")
    assert tracks.loc[1, "major_particle_id"] == 1 and tracks.loc[1, "nhits"] == 4
    assert tracks.loc[3, "major_particle_nhits"] == 4


def test_half_is_not_a_majority_and_ties_go_to_the_smallest_particle():
    truth = pd.DataFrame({"hit_id": range(1, 5), "particle_id": [1, 1, 2, 2], "weight": [.25] * 4})
    sub = pd.DataFrame({"hit_id": range(1, 5), "track_id": [9, 9, 9, 9]})
    assert trackml_score(truth, sub) == 0.0
    assert analyze_tracks(truth, sub)["major_particle_id"].iloc[0] == 1


def test_matches_the_challenge_loop_on_random_partitions():
    truth = _event(30, 6, 20, seed=3)
    rng = np.random.default_rng(1)
    for frac in (0.05, 0.3, 0.7):
        tid = truth["particle_id"].to_numpy().copy()
        move = rng.random(tid.size) < frac
        tid[move] = rng.integers(0, 40, move.sum())
        sub = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": tid})
        assert trackml_score(truth, sub) == pytest.approx(_loop_score(truth, sub))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_score_falls_as_more_hits_are_reassigned(seed):
    truth = _event(40, 10, 20, seed=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(truth))
    new_tracks = rng.integers(1000, 1000 + 4 * len(truth), len(truth))
    scores = []
    for frac in (0.0, 0.2, 0.4, 0.6, 0.8):
        tid = truth["particle_id"].to_numpy().copy()
        moved = order[: int(frac * len(truth))]  # growing nested sets of reassigned hits
        tid[moved] = new_tracks[moved]
        scores.append(trackml_score(truth, pd.DataFrame({"hit_id": truth["hit_id"], "track_id": tid})))
    assert scores[0] == pytest.approx(1.0)
    assert all(a >= b - 1e-12 for a, b in zip(scores, scores[1:]))
    assert scores[-1] < 0.2


def test_efficiency_and_fake_rate():
    truth = pd.DataFrame({"hit_id": range(1, 11), "particle_id": [1, 1, 1, 1, 2, 2, 2, 3, 3, 0],
                          "weight": [.1] * 9 + [0]})
    particles = pd.DataFrame({"particle_id": [1, 2, 3], "px": [2.0, 0.5, 3.0], "py": [0., 0., 0.],
                              "pz": [0., 1., 0.]})
    # particle 1 found; particle 3 has 2 hits (< 3): excluded; track 7 = 3 hits of 3 particles: fake
    sub = pd.DataFrame({"hit_id": range(1, 11), "track_id": [1, 1, 1, 7, 2, 2, 7, 3, 3, 7]})
    assert tracking_efficiency(truth, particles, sub, pt_min=1.0) == 1.0
    assert tracking_efficiency(truth, particles, sub, pt_min=0.1) == 1.0
    table = particle_efficiency_table(truth, particles, sub)
    assert set(table["particle_id"]) == {1, 2}
    assert table.set_index("particle_id").loc[2, "eta"] == pytest.approx(np.arcsinh(2.0))
    assert fake_rate(truth, sub) == pytest.approx(1 / 2)  # tracks with >= 3 hits: 1 (good), 7 (fake)
    sub2 = pd.DataFrame({"hit_id": range(1, 11), "track_id": [1, 1, 5, 6, 2, 2, 7, 3, 3, 7]})
    assert tracking_efficiency(truth, particles, sub2, pt_min=1.0) == 0.0


def test_bad_inputs():
    truth = _event(3, 4, 0)
    with pytest.raises(ValueError, match="lacks the columns"):
        trackml_score(truth, pd.DataFrame({"hit_id": truth["hit_id"]}))
    with pytest.raises(ValueError, match="no track"):
        trackml_score(truth, pd.DataFrame({"hit_id": truth["hit_id"].iloc[:-1], "track_id": 1}))
    with pytest.raises(ValueError, match="once"):
        trackml_score(truth, pd.DataFrame({"hit_id": [1, 1], "track_id": [1, 2]}))
    with pytest.raises(ValueError, match="empty"):
        trackml_score(truth.iloc[:0], pd.DataFrame({"hit_id": [], "track_id": []}))
    particles = pd.DataFrame({"particle_id": [1], "px": [0.1], "py": [0.], "pz": [0.]})
    sub = pd.DataFrame({"hit_id": truth["hit_id"], "track_id": truth["particle_id"]})
    with pytest.raises(ValueError, match="no particle"):
        tracking_efficiency(truth, particles, sub)


def test_clopper_pearson_against_scipy_binomtest():
    from scipy.stats import binomtest

    for k, n in ((0, 10), (3, 10), (10, 10), (1, 1), (47, 60)):
        ci = binomtest(k, n).proportion_ci(confidence_level=0.683, method="exact")
        lo, hi = clopper_pearson(k, n, level=0.683)
        assert float(lo) == pytest.approx(ci.low, abs=1e-9) and float(hi) == pytest.approx(ci.high, abs=1e-9)
    # hand case: 0 successes in 10 trials at 95 %: 1 - 0.025 ** (1/10)
    assert float(clopper_pearson(0, 10, level=0.95)[1]) == pytest.approx(1 - 0.025 ** 0.1)
    lo, hi = clopper_pearson(np.array([0, 2]), np.array([0, 4]))
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and lo[1] < 0.5 < hi[1]
    with pytest.raises(ValueError, match="0 <= k <= n"):
        clopper_pearson(5, 4)
    with pytest.raises(ValueError, match="level"):
        clopper_pearson(1, 4, level=1.0)


def test_binned_efficiency_counts_and_bounds():
    x = np.array([0.5, 0.6, 1.5, 1.6, 1.7, 9.0, 20.0])
    passed = np.array([True, False, True, True, False, True, True])
    tab = binned_efficiency(x, passed, [0, 1, 2, 10])
    assert tab["n"].tolist() == [2, 3, 1] and tab["k"].tolist() == [1, 2, 1]  # 20 is outside the bins
    np.testing.assert_allclose(tab["efficiency"], [0.5, 2 / 3, 1.0])
    assert (tab["low"] <= tab["efficiency"]).all() and (tab["efficiency"] <= tab["high"]).all()
    assert tab["high"].iloc[2] == 1.0
    empty = binned_efficiency(x, passed, [30, 40])
    assert empty["n"].iloc[0] == 0 and np.isnan(empty["efficiency"].iloc[0])
    with pytest.raises(ValueError, match="same length"):
        binned_efficiency(x, passed[:3], [0, 1])
    with pytest.raises(ValueError, match="increasing"):
        binned_efficiency(x, passed, [1, 0])
