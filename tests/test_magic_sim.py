"""The Cherenkov-camera simulation: format, physics it must show, refusals, cache."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from course_utils.datasets import magic
from course_utils.datasets.magic import formats, simulation
from course_utils.physics import hillas


@pytest.fixture(scope="module")
def events():
    return simulation.simulate_events(600, seed=5, keep_images=True, progress=False)


def test_columns_counts_and_labels(events):
    t = events.table
    assert len(t) == 600
    assert list(events.features.columns) == magic.COLUMNS
    assert (t["class"] == "g").sum() == round(simulation.GAMMA_FRACTION * 600)
    assert set(t["class"]) == {"g", "h"}
    assert np.isfinite(t[magic.FEATURES].to_numpy()).all()


def test_features_obey_their_definitions(events):
    t = events.table
    assert (t["fWidth"] <= t["fLength"] + 1e-9).all()
    assert t["fAlpha"].between(0, 90).all()
    assert (t["fDist"] >= 0).all()
    assert (t["fSize"] >= math.log10(80.0)).all()  # the selection cut
    assert (t["fConc1"] <= t["fConc"]).all() and (t["fConc"] <= 1).all()
    assert (t["n_pixels"] >= 5).all()
    # lengths in mm: a shower image spans a few tenths of a degree
    assert 0.05 < t["fLength"].median() / hillas.MM_PER_DEG < 0.5


def test_features_are_the_hillas_parameters_of_the_stored_images(events):
    again = hillas.hillas_parameters(events.geometry, events.images, events.masks)
    np.testing.assert_allclose(again[magic.FEATURES].to_numpy(), events.table[magic.FEATURES].to_numpy(),
                               rtol=1e-6, atol=1e-6)
    assert events.images.shape == (600, events.geometry.n_pixels)
    assert np.array_equal(events.masks, hillas.tailcuts_clean(events.geometry, events.images, 6.0, 3.0))


def test_gammas_point_to_the_source_and_hadrons_are_wider(events):
    t = events.table
    g, h = t[t["class"] == "g"], t[t["class"] == "h"]
    assert g["fAlpha"].median() < 15 < 35 < h["fAlpha"].median()
    assert h["fWidth"].median() > 1.3 * g["fWidth"].median()
    assert g["fM3Long"].median() > 0  # light trails away from the source
    assert h["n_subshowers"].mean() > 0.5 and (g["n_subshowers"] == 0).all()
    assert not g["muon"].any()


@pytest.mark.parametrize("kwargs", [
    {"n": 0}, {"n": -5}, {"n": 2.5}, {"n": True},
    {"n": simulation.MAX_EVENTS + 1},
    {"gamma_fraction": 0.0}, {"gamma_fraction": 1.0}, {"gamma_fraction": 1.2}, {"gamma_fraction": float("nan")},
    {"nsb": -1.0}, {"nsb": float("inf")},
    {"picture_thresh": 3.0, "boundary_thresh": 6.0}, {"boundary_thresh": 0.0},
    {"min_pixels": 2}, {"min_size": -1.0},
    {"seed": -1}, {"batch_size": 4},
])
def test_impossible_settings_are_refused(kwargs):
    args = {"n": 10, **kwargs}
    with pytest.raises(ValueError):
        simulation.simulate_events(progress=False, **args)


def test_a_selection_that_accepts_nothing_stops_with_a_message():
    with pytest.raises(ValueError, match="accepts almost no"):
        simulation.simulate_events(10, min_size=99_000.0, batch_size=16, progress=False)


def test_written_file_reads_back(tmp_path, events):
    path = formats.write(events.table, tmp_path / "magic04.data")
    df = formats.read(path)
    assert list(df.columns) == magic.COLUMNS
    np.testing.assert_allclose(df[magic.FEATURES].to_numpy(), events.table[magic.FEATURES].to_numpy(),
                               rtol=0, atol=5e-5)  # four decimals, as in the UCI file
    assert (df["class"] == events.table["class"]).all()
    first = path.read_text().splitlines()[0].split(",")
    assert len(first) == 11 and first[-1] in ("g", "h")


def test_simulate_is_cached_and_is_what_load_returns(data_dir, capsys):
    ds = simulation.simulate(150, seed=2)
    assert ds.source == "simulated" and len(ds.data) == 150
    assert ds.path.is_relative_to(data_dir) and ds.path.name == "magic04.data"
    mtime = ds.path.stat().st_mtime_ns
    again = magic.load(source="simulated", n=150, seed=2)
    assert again.path == ds.path and again.path.stat().st_mtime_ns == mtime  # read, not generated again
    pd.testing.assert_frame_equal(again.data, ds.data)
    # what simulate_events gives, through the file format
    expected = simulation.simulate_events(150, seed=2, progress=False).features
    np.testing.assert_allclose(ds.data[magic.FEATURES].to_numpy(), expected[magic.FEATURES].to_numpy(), atol=5e-5)
    assert "SIMULATION" in capsys.readouterr().out
    with pytest.raises(ValueError):
        simulation.simulate(0)


@pytest.mark.slow
def test_a_classifier_separates_the_simulated_classes():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score

    t = simulation.simulate_events(3000, seed=21, progress=False).table.sample(frac=1.0, random_state=0)
    X, y = t[magic.FEATURES].to_numpy(), (t["class"] == "g").to_numpy()
    rf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X[:2000], y[:2000])
    auc = roc_auc_score(y[2000:], rf.predict_proba(X[2000:])[:, 1])
    # separable, but not trivially (the real data give about 0.93)
    assert 0.88 < auc < 0.995
