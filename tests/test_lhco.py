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


# --- the published raw-event layout (700 particles x (pT, eta, phi), key "df") ---------------------------

def random_raw(n: int, seed: int = 0, n_particles: int = 60) -> np.ndarray:
    """Events of two hard back-to-back sprays of particles plus soft ones, shape (n, n_particles, 3)."""
    rng = np.random.default_rng(seed)
    p = np.zeros((n, n_particles, 3))
    axis_phi = rng.uniform(-np.pi, np.pi, n)
    for k in range(n_particles):
        jet = k % 3  # 0, 1: the two jets; 2: soft, anywhere
        p[:, k, 0] = np.where(jet < 2, rng.exponential(80, n), rng.exponential(2, n))
        p[:, k, 1] = np.where(jet == 0, 0.5, np.where(jet == 1, -0.5, 0)) + rng.normal(0, 0.2 if jet < 2 else 2, n)
        p[:, k, 2] = np.mod(axis_phi + np.pi * (jet == 1) + rng.normal(0, 0.2 if jet < 2 else 2, n) + np.pi,
                            2 * np.pi) - np.pi
    p[:, 40:] = 0.0  # zero padding after 40 particles
    return p


def test_raw_layout_round_trip(tmp_path):
    pytest.importorskip("fastjet")
    from course_utils.physics import dijets

    parts = random_raw(50)
    labels = np.r_[np.zeros(40), np.ones(10)]
    path = formats.write_events(parts, tmp_path / "events_anomalydetection_v2.h5", labels=labels)
    table = pd.read_hdf(path, key="df")              # what everybody does with the published file
    assert table.shape == (50, 2101) and list(table.columns) == list(range(2101))
    np.testing.assert_array_equal(table.to_numpy()[:, :180], parts.reshape(50, -1))
    assert (table.to_numpy()[:, 120:2100] == 0).all()  # the padding
    np.testing.assert_array_equal(table[2100].to_numpy(), labels)
    assert formats.layout(path) == "raw"
    got = formats.read_events(path, chunk=17)        # chunks do not change the result
    want, kept = dijets.dijet_features(parts[..., 0], parts[..., 1], parts[..., 2])
    np.testing.assert_allclose(got[formats.COLUMNS[:-1]].to_numpy(), want, rtol=1e-12)
    np.testing.assert_array_equal(got["label"].to_numpy(), labels[kept])
    assert got.attrs["dropped"] == int((~kept).sum()) and list(got.columns) == formats.COLUMNS
    pd.testing.assert_frame_equal(formats.read(path), got)  # read recognises the layout
    assert len(formats.read(path, n=7)) <= 7
    # a black box: 2100 columns, no label
    box = formats.write_events(parts, tmp_path / "events_LHCO2020_BlackBox1.h5")
    assert pd.read_hdf(box, key="df").shape == (50, 2100) and formats.layout(box) == "raw-unlabelled"
    unlabelled = formats.read(box)
    assert unlabelled["label"].isna().all() and not unlabelled.attrs["labelled"]
    np.testing.assert_allclose(unlabelled[formats.COLUMNS[:-1]], got[formats.COLUMNS[:-1]])


def test_raw_layout_more_than_700_particles_keeps_the_hardest(tmp_path):
    parts = np.zeros((2, 800, 3))
    parts[:, :, 0] = np.arange(1, 801)[None]
    path = formats.write_events(parts, tmp_path / "raw.h5", labels=np.zeros(2))
    table = pd.read_hdf(path, key="df").to_numpy()
    assert table[0, 0] == 800 and table[0, 3 * 699] == 101


def test_raw_layout_faults(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        formats.write_events(np.zeros((3, 4)), tmp_path / "x.h5")
    with pytest.raises(ValueError, match="labels"):
        formats.write_events(np.ones((3, 4, 3)), tmp_path / "x.h5", labels=[0, 2, 1])
    pd.DataFrame(np.zeros((3, 2000))).to_hdf(tmp_path / "bad.h5", key="df", mode="w")
    with pytest.raises(ValueError, match="2000 columns"):
        formats.read(tmp_path / "bad.h5")
    bad = np.zeros((2, 2101))
    bad[:, 2100] = 3
    pd.DataFrame(bad).to_hdf(tmp_path / "bad_label.h5", key="df", mode="w")
    with pytest.raises(ValueError, match="0 or 1"):
        formats.read_events(tmp_path / "bad_label.h5")
    with pytest.raises(FileNotFoundError):
        formats.read_events(tmp_path / "missing.h5")


@pytest.mark.slow
def test_features_from_raw_events_match_the_simulation(tmp_path):
    """The reader's features on the raw layout = the simulation's own reconstruction without smearing."""
    pytest.importorskip("pythia8mc")
    from course_utils.datasets import _pythia
    from course_utils.datasets.lhco import simulation

    # no smearing, no trigger: both keep every event with two jets, in the same order
    det = simulation.Detector(jet_stoch=0.0, jet_const=0.0, mass_res=0.0, trigger_pt=1.0, jet_eta_max=10.0)
    for process in ("signal", "background"):
        pythia = _pythia.cached(simulation.pythia_settings(process, detector=det, seed=11), what=process)
        pythia.rndm.init(12)
        batch = pythia.nextBatch(150)
        direct = simulation.reconstruct(batch, det, np.random.default_rng(0))
        raw = simulation.raw_particles(batch, det)
        path = formats.write_events(raw, tmp_path / f"{process}.h5", labels=np.zeros(len(raw)))
        got = formats.read_events(path)[formats.COLUMNS[:-1]].to_numpy()
        assert got.shape == direct.shape and len(got) > 100
        # the raw layout makes particles massless (rapidity = pseudo-rapidity): in most events the
        # momenta agree to 0.2 %, masses to a few GeV; a soft particle at a jet's edge may change jets
        close = np.isclose(got[:, [0, 1, 2, 7, 8, 9]], direct[:, [0, 1, 2, 7, 8, 9]], rtol=2e-3, atol=1.0)
        assert close.all(axis=1).mean() > 0.9
        # massless particles make lighter jets: measured -1.5 % (signal) and -4 % (QCD) at the median
        rel = (got[:, [3, 10]] - direct[:, [3, 10]]) / direct[:, [3, 10]]
        assert -0.07 < np.median(rel) <= 0 and np.quantile(rel, 0.95) < 0.01
        t21 = lambda f: f[:, [5, 12]] / f[:, [4, 11]]  # noqa: E731
        assert np.median(np.abs(t21(got) - t21(direct))) < 0.01
        if process == "signal":  # the published signal: mjj near 3.5 TeV, heavier jet near 500 GeV
            trig = np.hypot(got[:, 0], got[:, 1]) > 1200
            e = lambda f, k: np.sqrt((f[:, k:k + 3] ** 2).sum(1) + f[:, k + 3] ** 2)  # noqa: E731
            p = got[:, 0:3] + got[:, 7:10]
            mjj = np.sqrt((e(got, 0) + e(got, 7)) ** 2 - (p**2).sum(1))
            assert 3200 < np.median(mjj[trig]) < 3700
            assert 420 < np.median(np.maximum(got[trig, 3], got[trig, 10])) < 540


@pytest.mark.slow
def test_simulate_events_writes_the_raw_layout(data_dir):
    pytest.importorskip("pythia8mc")
    from course_utils.datasets.lhco import simulation

    ds = simulation.simulate_events(30, n_signal=10, seed=4, workers=1)
    assert formats.layout(ds.path) == "raw" and pd.read_hdf(ds.path, key="df").shape[1] == 2101
    df = ds.data
    assert (df["label"] == 0).sum() >= 29 and (df["label"] == 1).sum() >= 9  # an event may lack two jets
    assert (np.hypot(df["pxj1"], df["pyj1"]) > 1200).all()
    box = simulation.simulate_events(20, n_signal=5, seed=4, workers=1, labels=False)
    assert formats.layout(box.path) == "raw-unlabelled" and box.data["label"].isna().all()


def test_load_any_file_raw_and_black_box(data_dir, tmp_path, monkeypatch):
    pytest.importorskip("fastjet")
    parts = random_raw(60, seed=3)
    labels = np.r_[np.zeros(50), np.ones(10)]
    rd = formats.write_events(parts, tmp_path / "events_anomalydetection_v2.h5", labels=labels)
    ds = lhco.load(path=rd, verbose=False)
    want = formats.read(rd)
    assert ds.source == "real" and ds.details["labelled"] and ds.details["layout"] == "raw"
    assert len(ds.data) == len(want) and ds.data["label"].sum() == want["label"].sum()
    assert list((data_dir / "real" / "lhco" / "derived").glob("*.features.h5")), "features cached"
    box = formats.write_events(parts, tmp_path / "events_LHCO2020_BlackBox1.h5")
    monkeypatch.setenv(lhco.ENV_FILE, str(box))
    ds = lhco.load(n=20, verbose=False)
    assert len(ds.data) == 20 and ds.data["label"].isna().all() and not ds.details["labelled"]
    with pytest.raises(ValueError, match="simulated"):
        lhco.load("simulated")
    monkeypatch.setenv(lhco.ENV_FILE, str(tmp_path / "nothing.h5"))
    with pytest.raises(FileNotFoundError, match="COURSE_LHCO_FILE"):
        lhco.load()
