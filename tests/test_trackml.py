"""The TrackML data layer: reader and writer, fault tests, the simulation's physics and weights."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from course_utils.datasets import trackml
from course_utils.datasets.trackml import formats, simulation


def _tiny_event() -> formats.EventTables:
    hits = pd.DataFrame({"hit_id": [1, 2, 3], "x": [-64.4099, 10.5, 30.25], "y": [-7.16, 1.0, 2.0],
                         "z": [-1502.5, 30.0, 60.0], "volume_id": [7, 8, 8], "layer_id": [2, 2, 4],
                         "module_id": [1, 5, 9]})
    cells = pd.DataFrame({"hit_id": [1, 1, 2, 3], "ch0": [209, 210, 68, 5], "ch1": [628, 628, 446, 7],
                          "value": [0.013, 0.27, 0.5, 0.1]})
    particles = pd.DataFrame({"particle_id": [4503668346847232, 22], "particle_type": [211, -13],
                              "vx": [-0.009, 0.0], "vy": [0.009, 0.0], "vz": [-5.2, 1.0], "px": [-0.55, 1.0],
                              "py": [0.32, 0.0], "pz": [-10.4, 0.2], "q": [1, -1], "nhits": [1, 2]})
    truth = pd.DataFrame({"hit_id": [1, 2, 3], "particle_id": [4503668346847232, 22, 22],
                          "tx": [-64.41, 10.5, 30.25], "ty": [-7.16, 1.0, 2.0], "tz": [-1502.5, 30.0, 60.0],
                          "tpx": [-0.55, 1.0, 1.0], "tpy": [0.32, 0.0, 0.0], "tpz": [-10.4, 0.2, 0.2],
                          "weight": [0.0, 0.5, 0.5]})
    return formats.EventTables(hits, cells, particles, truth)


@pytest.mark.parametrize("compress", [False, True])
def test_write_read_roundtrip_with_the_challenge_dtypes(tmp_path, compress):
    ev = _tiny_event()
    path = formats.write(ev, tmp_path, 1000, compress=compress)
    assert path.name == "event000001000"
    ext = ".csv.gz" if compress else ".csv"
    assert (tmp_path / f"event000001000-truth{ext}").is_file()
    back = formats.read(path)
    for table, a, b in zip(formats.TABLES, ev, back):
        assert list(b.columns) == list(formats.DTYPES[table])
        assert dict(b.dtypes.astype(str)) == formats.DTYPES[table]
        np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=1e-6)
    assert back.truth["particle_id"].iloc[0] == 4503668346847232  # 64-bit ids survive
    # a file path works as well as the prefix
    assert len(formats.read(tmp_path / f"event000001000-hits{ext}").hits) == 3
    assert formats.list_events(tmp_path) == [path]


def test_reads_a_published_event_without_particle_type(tmp_path):
    # the published layout: gzipped files, particles without particle_type
    text = {"hits": "hit_id,x,y,z,volume_id,layer_id,module_id\n1,-64.4099,-7.1637,-1502.5,7,2,1\n",
            "cells": "hit_id,ch0,ch1,value\n1,209,628,0.0136995\n",
            "particles": "particle_id,vx,vy,vz,px,py,pz,q,nhits\n4503668346847232,-0.00928,0.00977,-5.07,"
                         "-0.0552,0.323,-0.204,-1,8\n",
            "truth": "hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight\n1,0,-64.41,-7.16,-1502.5,250710,"
                     "-149908,-956385,0\n"}
    for table, body in text.items():
        with gzip.open(tmp_path / f"event000000010-{table}.csv.gz", "wt") as f:
            f.write(body)
    ev = formats.read(tmp_path / "event000000010")
    assert "particle_type" not in ev.particles.columns
    assert ev.particles["particle_id"].dtype == np.int64 and ev.hits["x"].dtype == np.float32
    assert ev.hits["x"].iloc[0] == pytest.approx(-64.4099)
    assert formats.read(tmp_path / "event000000010", n=1, tables=("hits",)).cells.empty


def test_detectors_with_and_without_the_index_column(tmp_path):
    det = simulation.detectors_table().head(5)
    formats.write_detectors(det, tmp_path / "detectors.csv")
    det.to_csv(tmp_path / "indexed.csv")  # a leading unnamed index column, as some copies carry
    a = formats.read_detectors(tmp_path / "detectors.csv")
    b = formats.read_detectors(tmp_path / "indexed.csv")
    assert list(a.columns) == list(b.columns) == formats.DETECTOR_COLUMNS
    np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-6)
    with pytest.raises(FileNotFoundError):
        formats.read_detectors(tmp_path / "nothing.csv")


def test_faults_missing_file_wrong_columns_truncated_gzip(tmp_path):
    path = formats.write(_tiny_event(), tmp_path, 7, compress=True)
    (tmp_path / "event000000007-cells.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match="cells"):
        formats.read(path)
    path = formats.write(_tiny_event(), tmp_path / "b", 7, compress=True)
    raw = (tmp_path / "b" / "event000000007-hits.csv.gz").read_bytes()
    (tmp_path / "b" / "event000000007-hits.csv.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated|unreadable"):
        formats.read(path)
    path = formats.write(_tiny_event(), tmp_path / "c", 7)
    (tmp_path / "c" / "event000000007-truth.csv").write_text("hit_id,particle\n1,2\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        formats.read(path)
    with pytest.raises(ValueError, match="9 digits"):
        formats.read(tmp_path / "c" / "event7")
    with pytest.raises(ValueError, match="four tables"):
        formats.write(_tiny_event()[:2], tmp_path, 1)


def test_weights_follow_the_challenge_rules():
    m = simulation.order_weight_matrix()
    np.testing.assert_allclose(m[4:].sum(axis=1), 1.0)
    assert m[:4].sum() == 0
    # 9 hits: the proposal itself, normalised
    prop = np.array(simulation.ORDER_PROPOSAL)
    np.testing.assert_allclose(m[9, :9], prop / prop.sum())
    np.testing.assert_allclose(simulation.weight_pt([0.01, 0.3, 1.75, 3.0, 10.0]), [0, 0.2, 0.6, 1.0, 1.0])
    # particle 1: 4 hits, pT 3 GeV; particle 2: 3 hits (weight 0); noise
    truth = pd.DataFrame({"particle_id": [1, 1, 1, 1, 2, 2, 2, 0], "tz": [40., 10., 30., 20., 1., 2., 3., 5.]})
    particles = pd.DataFrame({"particle_id": [1, 2], "vz": [0., 0.], "px": [3., 5.], "py": [0., 0.]})
    w = simulation.hit_weights(truth, particles)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w[4:] == 0)
    row = m[4, :4]  # ordered by |tz - vz|: hits at 10, 20, 30, 40
    np.testing.assert_allclose(w[:4], row[[3, 0, 2, 1]] / row.sum())


def test_helix_radius_is_pt_over_0p3_b():
    # a 1 GeV track in 2 T has R = 1/(0.3*2) m = 1666.7 mm: sagitta check at the crossing of r = 500 mm
    out = simulation.propagate(np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0]]), np.array([1.0]),
                               np.array([0.14]), scattering=False)
    sel = out["surface"] == 6  # barrel 13 layer 6, r = 500 mm
    x, y = out["x"][sel][0], out["y"][sel][0]
    R = 1000 / 0.6
    assert np.hypot(x, y) == pytest.approx(500.0, rel=1e-6)
    assert np.hypot(x - 0.0, y + R) == pytest.approx(R, rel=1e-6)  # centre at (0, -R): positive charge turns clockwise
    assert np.hypot(out["px"][sel][0], out["py"][sel][0]) == pytest.approx(1.0)


def test_simulated_event_is_consistent():
    ev, seconds = simulation.simulate_event(2, seed=3)
    hits, cells, particles, truth = ev
    assert len(hits) == len(truth) > 100 and seconds > 0
    assert set(hits["volume_id"]) <= {7, 8, 9, 12, 13, 14, 16, 17, 18}
    assert truth["weight"].sum() == pytest.approx(1.0, rel=1e-5)
    assert (truth.loc[truth["particle_id"] == 0, "weight"] == 0).all()
    counts = truth.loc[truth["particle_id"] != 0].groupby("particle_id").size()
    nh = particles.set_index("particle_id")["nhits"]
    assert (nh.loc[counts.index] == counts).all()
    few = counts.index[counts < 4]
    assert (truth.loc[truth["particle_id"].isin(few), "weight"] == 0).all()
    # hits sit near their true positions (resolution), and barrel hits on their layer's radius
    d = np.hypot(hits["x"] - truth["tx"], hits["y"] - truth["ty"])
    assert np.quantile(d, 0.9) < 1.0
    pix = hits["volume_id"] == 8
    r = np.hypot(hits.loc[pix, "x"], hits.loc[pix, "y"]).to_numpy()
    nominal = np.array([32, 72, 116, 172])
    on_layer = np.min(np.abs(r[:, None] - nominal), axis=1) < 0.1
    # second hits of overlapping modules sit 2 mm further out (a little more for an oblique track)
    outer = np.min(np.abs(r[:, None] - nominal - 2.0), axis=1) < 1.0
    assert np.all(on_layer | outer) and outer.any()
    # overlapping modules: some (particle, barrel layer) pairs carry two hits, on two modules
    bar = hits.merge(truth[["hit_id", "particle_id"]], on="hit_id")
    bar = bar[bar["volume_id"].isin([8, 13, 17]) & (bar["particle_id"] != 0)]
    per_pair = bar.groupby(["particle_id", "volume_id", "layer_id"])["module_id"]
    assert 0.08 < (per_pair.size() > 1).mean() < 0.35
    assert (per_pair.nunique()[per_pair.size() == 2] == 2).mean() > 0.95
    noise = (truth["particle_id"] == 0).mean()
    assert 0.08 < noise < 0.22
    # deterministic
    ev2, _ = simulation.simulate_event(2, seed=3)
    pd.testing.assert_frame_equal(ev.hits, ev2.hits)


def test_load_simulated_writes_the_published_layout(data_dir):
    ds = trackml.load("simulated", n=2, pileup=1, verbose=False)
    assert ds.source == "simulated" and len(ds.data) == 2
    files = sorted(p.name for p in ds.path.iterdir())
    for table in formats.TABLES:
        assert f"event000000001-{table}.csv" in files
    assert "detectors.csv" in files
    again = formats.read(ds.path / "event000000000")
    pd.testing.assert_frame_equal(again.hits, ds.data[0].hits)
    assert ds.details["cpu_seconds_per_event"] > 0


def test_load_real_reads_events_in_the_data_folder(data_dir):
    folder = data_dir / "real" / "trackml" / "train_sample"
    formats.write(_tiny_event(), folder, 1000, compress=True)
    ds = trackml.load("real", n=1, verbose=False)
    assert ds.source == "real" and len(ds.data[0].hits) == 3


def test_load_real_unavailable_and_bad_arguments(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(trackml.DataUnavailableError):
        trackml.load("real", n=1, verbose=False)
    with pytest.raises(ValueError, match="source"):
        trackml.load("nowhere")
    with pytest.raises(ValueError, match="pileup"):
        trackml.load("simulated", n=1, pileup=-1)
    with pytest.raises(ValueError, match="pileup"):
        simulation.simulate(1, pileup=-1)


def test_small_helpers(tmp_path, monkeypatch):
    assert formats.event_prefix(1000) == "event000001000"
    with pytest.raises(ValueError, match="event_id"):
        formats.event_prefix(-1)
    with pytest.raises(ValueError, match="unknown process"):
        simulation.pythia_settings("higgs", 1)
    with pytest.raises(ValueError, match="seed"):
        simulation.pythia_settings("ttbar", 0)
    assert "SoftQCD:nonDiffractive = on" in simulation.pythia_settings("minbias", 5)
    monkeypatch.setenv("COURSE_FAST", "1")
    assert trackml.default_pileup() == 5.0
    monkeypatch.setenv("COURSE_FAST", "0")
    assert trackml.default_pileup() == 20.0
    formats.write(_tiny_event(), tmp_path / "a" / "b", 3)
    assert [p.name for p in trackml.real_events(tmp_path)] == ["event000000003"]
    assert trackml.real_events(tmp_path / "none") == []
    det = simulation.detectors_table()
    # module ids are 1..n per layer, and every (volume, layer) of the layout is described
    assert det.groupby(["volume_id", "layer_id"])["module_id"].min().eq(1).all()
    assert len(det.groupby(["volume_id", "layer_id"])) == len(simulation.SURFACES)


def test_overlap_crossings_add_a_second_hit_on_the_neighbouring_module():
    rng = np.random.default_rng(1)
    n = 400
    phi = rng.uniform(-np.pi, np.pi, n)
    mom = np.column_stack([5 * np.cos(phi), 5 * np.sin(phi), np.zeros(n)])
    cross = simulation.propagate(np.zeros((n, 3)), mom, np.ones(n), np.full(n, 0.14), scattering=False)
    none = simulation.overlap_crossings(cross, 0.0, 2.0, rng)
    assert none["x"].size == cross["x"].size and not none["shift"].any()
    out = simulation.overlap_crossings(cross, 0.2, 2.0, rng)
    k = cross["x"].size
    barrel = np.array([simulation.SURFACES[s].kind == "barrel" for s in cross["surface"]])
    # about a fifth of the barrel crossings have a second one, 2 mm further out, on the same layer
    assert 0.15 < (out["x"].size - k) / barrel.sum() < 0.25
    assert np.all(np.isin(out["surface"][k:], cross["surface"][barrel]))
    second = np.hypot(out["x"][k:], out["y"][k:])
    nominal = np.array([simulation.SURFACES[s].pos for s in out["surface"][k:]])
    np.testing.assert_allclose(second - nominal, 2.0, atol=0.05)  # radial tracks: exactly 2 mm out
    assert set(np.unique(out["shift"][k:])) <= {-1, 1}
    with pytest.raises(ValueError, match="fraction"):
        simulation.overlap_crossings(cross, 1.5, 2.0, rng)
