"""The Pythia helpers shared by the simulations: seeds, refused settings, one generator per settings."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.datasets import _pythia

QUIET = ["Print:quiet = on", "Beams:eCM = 13000.", "SoftQCD:elastic = on", "Random:setSeed = on"]


def test_seed_is_stable_in_range_and_depends_on_every_key():
    s = _pythia.seed(42, 7, 1)
    assert s == _pythia.seed(42, 7, 1)
    # the same derivation written out: numpy's SeedSequence, first word, folded into [1, 9e8]
    assert s == int(np.random.SeedSequence([42, 7, 1]).generate_state(1)[0]) % 900_000_000 + 1
    seeds = {_pythia.seed(42, k) for k in range(200)}
    assert len(seeds) == 200 and min(seeds) >= 1 and max(seeds) <= 900_000_000
    assert _pythia.seed(42, 7, 1) != _pythia.seed(42, 1, 7)


def test_a_refused_setting_is_named():
    with pytest.raises(RuntimeError, match="NoSuchSwitch"):
        _pythia.new([*QUIET, "SoftQCD:NoSuchSwitch = on"])


def test_cached_keeps_one_generator_per_settings():
    a = _pythia.cached([*QUIET, "Random:seed = 1"])
    assert _pythia.cached((*QUIET, "Random:seed = 1")) is a
    b = _pythia.cached([*QUIET, "Random:seed = 2"])
    assert b is not a
    assert a.next() and b.next()


def _half_pass(args):
    """A fake generation task: ``n`` events, the even-numbered ones pass; rows carry (task index, event)."""
    process, k, n = args
    rows = np.array([[k, i] for i in range(0, n, 2)], dtype=float)
    return rows, n, 0.001


def test_generate_selected_runs_tasks_until_enough_pass():
    made = []

    def make_task(process, k):
        made.append((process, k))
        return process, k, 10

    out = _pythia.generate_selected({"a": 23, "b": 5}, processes={"a": 0, "b": 1}, max_events=100,
                                    task=_half_pass, make_task=make_task, chunk=10,
                                    acceptance_guess={"a": 0.9, "b": 0.5}, margin=1.0, desc="test", workers=1)
    rows_a, stats_a = out["a"]
    # first round plans ceil(23 / 9) = 3 tasks of "a" (15 pass), the second ceil(8 / 5) = 2 more
    assert [k for p, k in made if p == "a"] == [1, 2, 3, 4, 5]
    assert len(rows_a) == 23 and stats_a["selected"] == 25 and stats_a["generated"] == 50
    assert stats_a["acceptance"] == 0.5
    np.testing.assert_array_equal(rows_a[:5, 0], 1)  # tasks' rows kept in task order
    assert len(out["b"][0]) == 5 and [k for p, k in made if p == "b"] == [1]


@pytest.mark.parametrize("workers", [1, 2])
def test_grouped_tasks_give_the_same_sample(workers):
    # group=True runs each process's tasks of a round in one worker call: same tasks, same rows, same stats
    kwargs = dict(processes={"a": 0, "b": 1}, max_events=100, task=_half_pass,
                  make_task=lambda p, k: (p, k, 10), chunk=10, acceptance_guess={"a": 0.9, "b": 0.2},
                  margin=1.0, desc="test")
    plain = _pythia.generate_selected({"a": 23, "b": 5}, workers=1, **kwargs)
    grouped = _pythia.generate_selected({"a": 23, "b": 5}, workers=workers, group=True, **kwargs)
    for p in ("a", "b"):
        np.testing.assert_array_equal(grouped[p][0], plain[p][0])
        assert grouped[p][1]["generated"] == plain[p][1]["generated"]
        assert grouped[p][1]["selected"] == plain[p][1]["selected"]


@pytest.mark.parametrize(("wanted", "match"), [({"c": 3}, "unknown process"), ({"a": 0}, "integer in"),
                                               ({"a": 2.5}, "integer in"), ({"a": 101}, "integer in")])
def test_generate_selected_refuses_bad_requests(wanted, match):
    with pytest.raises(ValueError, match=match):
        _pythia.generate_selected(wanted, processes={"a": 0}, max_events=100, task=_half_pass,
                                  make_task=lambda p, k: (p, k, 10), chunk=10, acceptance_guess={"a": 0.5},
                                  margin=1.0, desc="test", workers=1)
