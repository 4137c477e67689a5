"""The LHCO data layer: the features file's layout, faults, the loader and a small simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.datasets import DataUnavailableError, lhco
from course_utils.datasets.lhco import formats


def fake_events(n_bkg: int, n_sig: int, seed: int = 0) -> pd.DataFrame:
    """Events in the published layout, background first (as in the published file)."""
    rng = np.random.default_rng(seed)
    n = n_bkg + n_sig
    data = {}
    for j in ("j1", "j2"):
        data[f"px{j}"] = rng.normal(0, 1000, n)
        data[f"py{j}"] = rng.normal(0, 1000, n)
        data[f"pz{j}"] = rng.normal(0, 1500, n)
        data[f"m{j}"] = rng.uniform(10, 600, n)
        t1 = rng.uniform(0.1, 0.8, n)
        data[f"tau1{j}"], data[f"tau2{j}"], data[f"tau3{j}"] = t1, t1 * 0.6, t1 * 0.4
    data["label"] = np.r_[np.zeros(n_bkg), np.ones(n_sig)]
    return pd.DataFrame(data)


def published_like(path, df):
    """Written the way the published file was: ``DataFrame.to_hdf`` with key "df", pandas' fixed format."""
    df.to_hdf(path, key="df", mode="w")
    return path


def test_columns_as_documented():
    assert formats.COLUMNS == ["pxj1", "pyj1", "pzj1", "mj1", "tau1j1", "tau2j1", "tau3j1",
                               "pxj2", "pyj2", "pzj2", "mj2", "tau1j2", "tau2j2", "tau3j2", "label"]


def test_read_published_layout(tmp_path):
    df = fake_events(30, 5)
    path = published_like(tmp_path / "events_anomalydetection_v2.features.h5", df)
    got = formats.read(path)
    pd.testing.assert_frame_equal(got, df)
    assert len(formats.read(path, n=7)) == 7
    # what everybody does with the published file works on ours too
    pd.testing.assert_frame_equal(pd.read_hdf(path), df)


def test_write_then_read_is_the_same_layout(tmp_path):
    df = fake_events(20, 4)
    path = formats.write(df[list(reversed(df.columns))], tmp_path / "sim.h5")
    with pd.HDFStore(path, mode="r") as store:
        assert store.keys() == ["/df"]
        assert not store.get_storer("df").is_table  # fixed format, like the published file
    pd.testing.assert_frame_equal(pd.read_hdf(path), df)
    pd.testing.assert_frame_equal(formats.read(path), df)


def test_read_table_format_too(tmp_path):
    df = fake_events(10, 2)
    df.to_hdf(tmp_path / "t.h5", key="df", mode="w", format="table")
    pd.testing.assert_frame_equal(formats.read(tmp_path / "t.h5", n=5), df.iloc[:5])


def test_fault_missing_columns(tmp_path):
    path = published_like(tmp_path / "f.h5", fake_events(5, 1).drop(columns=["tau3j2"]))
    with pytest.raises(ValueError, match="missing \\['tau3j2'\\]"):
        formats.read(path)


def test_fault_wrong_key(tmp_path):
    fake_events(5, 1).to_hdf(tmp_path / "k.h5", key="events", mode="w")
    with pytest.raises(ValueError, match="no key 'df'"):
        formats.read(tmp_path / "k.h5")


def test_fault_not_hdf5(tmp_path):
    (tmp_path / "x.h5").write_text("pxj1,pyj1\n1,2\n")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        formats.read(tmp_path / "x.h5")


def test_fault_missing_file_nan_and_labels(tmp_path):
    with pytest.raises(FileNotFoundError):
        formats.read(tmp_path / "nope.h5")
    df = fake_events(5, 1)
    df.loc[2, "mj1"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        formats.read(published_like(tmp_path / "n.h5", df))
    df = fake_events(5, 1)
    df.loc[0, "label"] = 2.0
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        formats.read(published_like(tmp_path / "l.h5", df))
    with pytest.raises(ValueError, match="exactly the columns"):
        formats.write(df.drop(columns=["label"]), tmp_path / "w.h5")


def test_inject_counts_and_seed():
    df = fake_events(1000, 200)
    out = lhco.inject(df, n=500, signal_fraction=0.02, seed=1)
    assert (out["label"] == 0).sum() == 500 and (out["label"] == 1).sum() == 10
    pd.testing.assert_frame_equal(out, lhco.inject(df, n=500, signal_fraction=0.02, seed=1))
    assert not out.equals(lhco.inject(df, n=500, signal_fraction=0.02, seed=2))
    assert (lhco.inject(df)["label"] == 1).sum() == 200
    with pytest.raises(ValueError, match="300 signal events asked, the sample holds 200"):
        lhco.inject(df, signal_fraction=0.3)
    with pytest.raises(ValueError, match="background events asked"):
        lhco.inject(df, n=5000)


def test_real_file_in_the_cache_is_loaded(data_dir, monkeypatch, capsys):
    monkeypatch.setattr(lhco, "N_BACKGROUND", 300)
    monkeypatch.setattr(lhco, "N_SIGNAL", 30)
    folder = data_dir / "real" / "lhco"
    folder.mkdir(parents=True)
    published_like(folder / lhco.FILE.name, fake_events(300, 30))
    ds = lhco.load("real", n=105, signal_fraction=0.05)  # n counts every event: 100 background + 5 signal
    assert ds.source == "real" and len(ds) == 105
    assert ds.details["n_background"] == 100 and ds.details["n_signal"] == 5
    assert "Monte Carlo: Pythia 8 + Delphes 3" in capsys.readouterr().out


def test_real_file_with_wrong_counts_is_refused(data_dir):
    folder = data_dir / "real" / "lhco"
    folder.mkdir(parents=True)
    published_like(folder / lhco.FILE.name, fake_events(300, 30))
    with pytest.raises(ValueError, match="expected 1,000,000 background"):
        lhco.load("real")


@pytest.mark.network
def test_download_through_the_mirror(data_dir, http_server, monkeypatch):
    monkeypatch.setattr(lhco, "N_BACKGROUND", 40)
    monkeypatch.setattr(lhco, "N_SIGNAL", 4)
    (http_server.root / "lhco").mkdir()
    published_like(http_server.root / "lhco" / lhco.FILE.name, fake_events(40, 4))
    monkeypatch.setenv("COURSE_DATA_MIRROR", http_server.url)
    ds = lhco.load("real", verbose=False)
    assert http_server.hits[0] == f"/lhco/{lhco.FILE.name}"
    assert len(ds.data) == 44


def test_offline_auto_falls_back_to_the_simulation(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError):
        lhco.load("real")
    from course_utils.datasets.lhco import simulation

    called = {}

    def fake_simulate(n, *, seed, n_signal):
        called["n"] = (n, n_signal)
        path = formats.write(fake_events(n, n_signal), data_dir / f"sim-{n}-{n_signal}.h5")
        from course_utils.datasets import Dataset

        return Dataset(formats.read(path), "simulated", "lhco", "fake", "MIT", path, {})

    monkeypatch.setattr(simulation, "simulate", fake_simulate)
    ds = lhco.load("auto", n=110, signal_fraction=0.1)
    assert ds.source == "simulated" and called["n"] == (100, 10), "a given n simulates exactly its events"
    assert ds.details["n_signal"] == 10 and len(ds) == 110
    assert "simulation" in capsys.readouterr().out
    ds = lhco.load("simulated", signal_fraction=0.05)
    assert called["n"] == (lhco.SIM_BACKGROUND, lhco.SIM_SIGNAL), "n=None: the default sample"
    ds = lhco.load("simulated", n=55, signal_fraction=0.5)
    assert called["n"] == (37, 18), "more signal than one per ten when signal_fraction asks for it"


def test_pythia_settings_declare_the_signal():
    from course_utils.datasets.lhco import simulation

    sig = simulation.pythia_settings("signal", seed=3)
    assert "NewGaugeBoson:ffbar2Wprime = on" in sig and "34:m0 = 3500.0" in sig
    assert any(s.startswith("9000001:all = X") and " 500.0 " in s for s in sig)
    assert any(s.startswith("9000002:all = Y") and " 100.0 " in s for s in sig)
    assert "34:addChannel = 1 1.0 100 9000001 9000002" in sig
    bkg = simulation.pythia_settings("background")
    assert "HardQCD:all = on" in bkg and "PhaseSpace:pTHatMin = 1000.0" in bkg
    with pytest.raises(ValueError, match="unknown process"):
        simulation.pythia_settings("ttbar")
    with pytest.raises(ValueError, match="seed"):
        simulation.pythia_settings("signal", seed=0)


@pytest.mark.slow
def test_small_simulation_is_physical_and_deterministic(data_dir):
    pytest.importorskip("pythia8mc")
    from course_utils.datasets.lhco import simulation

    ds = simulation.simulate(40, n_signal=40, seed=5, workers=1)
    df = ds.data
    assert (df["label"] == 0).sum() == 40 and (df["label"] == 1).sum() == 40
    pd.testing.assert_frame_equal(df, formats.read(ds.path))
    pt1 = np.hypot(df["pxj1"], df["pyj1"])
    assert (pt1 > 1200).all()  # the trigger
    assert (pt1 >= np.hypot(df["pxj2"], df["pyj2"])).all()  # j1 leads
    for j in ("j1", "j2"):  # kT axes are not the minimising ones: tau_N falls with N in most jets, not all
        assert ((df[f"tau2{j}"] < df[f"tau1{j}"]) & (df[f"tau3{j}"] < df[f"tau2{j}"])).mean() > 0.8
        assert (df[[f"tau1{j}", f"tau2{j}", f"tau3{j}"]] > 0).all().all()
    e = lambda j: np.sqrt(df[f"px{j}"] ** 2 + df[f"py{j}"] ** 2 + df[f"pz{j}"] ** 2 + df[f"m{j}"] ** 2)  # noqa: E731
    mjj = np.sqrt((e("j1") + e("j2")) ** 2 - sum((df[f"{c}j1"] + df[f"{c}j2"]) ** 2 for c in ("px", "py", "pz")))
    sig = df["label"] == 1
    # the W' peak, and the two-prong X and Y jets: lower tau21 than QCD
    assert 3000 < np.median(mjj[sig]) < 3800
    t21 = lambda m: np.median(df.loc[m, "tau2j1"] / df.loc[m, "tau1j1"])  # noqa: E731
    assert t21(sig) < t21(~sig)
    heavy, light = np.maximum(df["mj1"], df["mj2"]), np.minimum(df["mj1"], df["mj2"])
    assert 350 < np.median(heavy[sig]) < 600 and 60 < np.median(light[sig]) < 160
    again = simulation.generate({"signal": 10}, seed=5, workers=1)["signal"][0]
    np.testing.assert_allclose(again, df.loc[sig, formats.COLUMNS[:-1]].to_numpy()[:10])
