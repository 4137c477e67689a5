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
