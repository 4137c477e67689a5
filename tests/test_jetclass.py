"""JetClass: the ROOT layout (every branch and type), files of one class, wrong files, the ParT inputs."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import uproot

from course_utils.datasets.jetclass import formats
from course_utils.datasets.jetclass.formats import CLASSES, JetClassData

#: The typename uproot shows for each kind of branch in a file written by ``write``.
_TYPENAMES = {np.dtype(np.float32): "float", np.dtype(np.int32): "int32_t", np.dtype(np.bool_): "bool"}


def fake_jets(n: int, seed: int = 0, classes: list[int] | None = None) -> JetClassData:
    """``n`` jets of random content in the layout (classes cycle through ``classes``, default all ten)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 9, n)
    k = int(counts.sum())
    parts = {}
    for b, dt in formats.PARTICLE_BRANCHES.items():
        values = rng.integers(0, 2, k) if dt.kind == "i" else rng.normal(3.0, 1.0, k)
        parts[b] = ak.unflatten(values.astype(dt), counts)
    parts["part_energy"] = ak.unflatten(rng.uniform(5, 50, k).astype(np.float32), counts)
    jets = pd.DataFrame({b: rng.uniform(1, 900, n).astype(np.float32) for b in formats.JET_BRANCHES})
    aux = pd.DataFrame({b: rng.normal(0, 2, n).astype(np.float32) for b in formats.AUX_BRANCHES})
    cycle = classes if classes is not None else list(range(len(CLASSES)))
    y = np.array([cycle[i % len(cycle)] for i in range(n)], dtype=np.int64)
    return JetClassData(ak.zip(parts), jets, y, aux)


def published_like(path, data: JetClassData, *, drop: tuple[str, ...] = (), extra: bool = True,
                   rntuple: bool = False):
    """A file written by hand with uproot, not by ``write``: a TTree with the branches in another order,
    one counter per jagged branch (uproot's default names) and an extra branch, as an unknown producer
    might write it (``rntuple``: the same columns as an RNTuple)."""
    columns = {}
    for b in reversed(list(formats.BRANCHES)):
        if b in drop:
            continue
        if b in formats.PARTICLE_BRANCHES:
            columns[b] = data.particles[b]
        elif b in formats.LABEL_BRANCHES:
            columns[b] = (data.y == formats.LABELS.index(b)).astype(formats.LABEL_BRANCHES[b])
        elif b in formats.JET_BRANCHES:
            columns[b] = data.jets[b].to_numpy()
        else:
            columns[b] = data.aux[b].to_numpy()
    if extra:
        columns["event_no"] = np.arange(len(data), dtype=np.int64)
    _tree(path, columns, rntuple)
    return path


def _tree(path, columns: dict, rntuple: bool = False) -> None:
    columns = {k: ak.to_numpy(v) if isinstance(v, ak.Array) and v.ndim == 1 else v for k, v in columns.items()}
    with uproot.recreate(path) as f:
        if rntuple:
            f["tree"] = columns  # uproot 5.7 writes a dict as an RNTuple
        else:
            f.mktree("tree", {k: (v.type.content if isinstance(v, ak.Array) and v.ndim == 2 else v.dtype)
                              for k, v in columns.items()})
            f["tree"].extend(columns)


def assert_same(a: JetClassData, b: JetClassData) -> None:
    assert ak.to_list(a.particles) == ak.to_list(b.particles)
    assert ak.fields(a.particles) == list(formats.PARTICLE_BRANCHES)
    pd.testing.assert_frame_equal(a.jets, b.jets)
    pd.testing.assert_frame_equal(a.aux, b.aux)
    np.testing.assert_array_equal(a.y, b.y)


def test_layout_has_the_41_published_branches_in_order():
    assert len(formats.BRANCHES) == 41
    assert list(formats.BRANCHES)[:3] == ["part_px", "part_py", "part_pz"]
    assert list(formats.LABEL_BRANCHES) == ["label_QCD", "label_Hbb", "label_Hcc", "label_Hgg", "label_H4q",
                                            "label_Hqql", "label_Zqq", "label_Wqq", "label_Tbqq", "label_Tbl"]
    assert list(formats.BRANCHES)[-1] == "aux_truth_match"
    assert CLASSES == ("QCD", "Hbb", "Hcc", "Hgg", "H4q", "Hqql", "Zqq", "Wqq", "Tbqq", "Tbl")


def test_write_read_round_trip_every_branch_and_type(tmp_path):
    data = fake_jets(23)
    path = formats.write(data, tmp_path / "jets.root", chunk=5)  # several baskets
    tree = uproot.open(path)["tree"]
    assert set(tree.keys()) == set(formats.BRANCHES) | {formats.COUNTER}
    for b, dt in formats.BRANCHES.items():
        expected = _TYPENAMES[dt] + ("[]" if b in formats.PARTICLE_BRANCHES else "")
        assert tree[b].typename == expected, b
        values = tree[b].array(library="ak")
        flat = ak.to_numpy(ak.flatten(values) if b in formats.PARTICLE_BRANCHES else values)
        assert flat.dtype == dt, b
    # the labels are one-hot in their own types: float for QCD, bool for H, int32 for Z/W/t
    labels = tree.arrays(list(formats.LABEL_BRANCHES), library="np")
    onehot = np.stack([labels[b].astype(int) for b in formats.LABEL_BRANCHES], axis=1)
    np.testing.assert_array_equal(onehot.argmax(1), data.y)
    np.testing.assert_array_equal(onehot.sum(1), 1)
    back = formats.read(path)
    assert_same(back, data)
    assert back.y.dtype == np.int64
    assert all(back.particles[b].layout.content.dtype == dt for b, dt in formats.PARTICLE_BRANCHES.items())
    assert len(formats.read(path, n=4)) == 4 and len(formats.read(path, n=1000)) == 23


def test_read_a_hand_built_file_of_one_class(tmp_path):
    data = fake_jets(12, seed=1, classes=[9])  # like Zenodo's TTBarLep_NNN.root: t -> b l nu only
    path = published_like(tmp_path / "TTBarLep_000.root", data)
    got = formats.read(path)
    assert_same(got, data)
    assert got.counts() == {c: (12 if c == "Tbl" else 0) for c in CLASSES}
    hbb = published_like(tmp_path / "HToBB_000.root", fake_jets(5, classes=[1]))
    assert set(formats.read(hbb).y) == {1}
    rnt = published_like(tmp_path / "ZToQQ_000.root", fake_jets(4, classes=[6]), rntuple=True)
    assert uproot.open(rnt).classnames()["tree;1"] == "ROOT::RNTuple"
    assert_same(formats.read(rnt), fake_jets(4, classes=[6]))


def test_aux_is_kept_apart_from_the_jets_and_the_inputs(tmp_path):
    data = formats.read(published_like(tmp_path / "a.root", fake_jets(6)))
    assert not any(c.startswith("aux_") for c in data.jets.columns)
    assert not any(f.startswith("aux_") for f in ak.fields(data.particles))
    assert list(data.aux.columns) == list(formats.AUX_BRANCHES)
    assert "never" in JetClassData.__doc__.lower() and "aux" in JetClassData.__doc__


def test_wrong_layout_says_which_branches_are_missing(tmp_path):
    path = published_like(tmp_path / "bad.root", fake_jets(4), drop=("part_d0val", "label_Tbl", "jet_sdmass"))
    with pytest.raises(ValueError, match=r"lacks 3 of the 41 JetClass branches: part_d0val, label_Tbl, jet_sdmass"):
        formats.read(path)


def test_wrong_files_are_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no JetClass ROOT file"):
        formats.read(tmp_path / "missing.root")
    text = tmp_path / "x.root"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a ROOT file"):
        formats.read(text)
    other = tmp_path / "other.root"
    with uproot.recreate(other) as f:
        f["Events"] = {"x": np.arange(3)}
    with pytest.raises(ValueError, match="no TTree 'tree'"):
        formats.read(other)
    data = fake_jets(5)
    flat = tmp_path / "flat.root"
    published_like(flat, data)
    cols = uproot.open(flat)["tree"].arrays(library="ak")
    # part_px with one value per jet instead of a list
    _tree(flat, {**{k: cols[k] for k in formats.BRANCHES if k != "part_px"}, "part_px": np.ones(5, np.float32)})
    with pytest.raises(ValueError, match="part_px must hold one list of values per jet"):
        formats.read(flat)


def test_load_keeps_only_the_classes_asked(tmp_path):
    from course_utils.datasets import jetclass

    data = fake_jets(40, seed=5)
    home = tmp_path / "home"
    home.mkdir()
    formats.write(data, home / jetclass.FILE.name)
    ds = jetclass.load("real", classes=["Tbqq", "QCD"], data_home=home, verbose=False)
    assert set(np.unique(ds.data.y)) <= {CLASSES.index("QCD"), CLASSES.index("Tbqq")}
    assert len(ds) == int(np.isin(data.y, [0, 8]).sum()) > 0
    sub = jetclass.load("real", n=3, classes="QCD", seed=1, data_home=home, verbose=False)
    assert len(sub) == 3 and set(sub.data.y) == {0}
    with pytest.raises(ValueError, match="among"):
        jetclass.load("real", classes=["top"], data_home=home, verbose=False)
    with pytest.raises(ValueError, match="of the classes"):
        jetclass.load("real", n=10_000, classes=["QCD"], data_home=home, verbose=False)
    from course_utils.datasets.jetclass import simulation

    assert simulation.jets_per_class(5, ("QCD", "Zqq")) == {"QCD": 3, "Zqq": 2}


def test_labels_must_be_one_hot(tmp_path):
    data = fake_jets(6)
    path = published_like(tmp_path / "two.root", data)
    cols = uproot.open(path)["tree"].arrays(library="ak")
    fields = {k: cols[k] for k in formats.BRANCHES}
    fields["label_QCD"] = np.ones(6, np.float32)  # jet 1..5 now have two labels
    _tree(path, fields)
    with pytest.raises(ValueError, match="5 jets do not have exactly one label set"):
        formats.read(path)
    fields["label_QCD"] = np.full(6, 0.5, np.float32)
    _tree(path, fields)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        formats.read(path)


def test_truncated_file_is_a_value_error(tmp_path):
    path = formats.write(fake_jets(200), tmp_path / "t.root")
    body = path.read_bytes()
    path.write_bytes(body[: len(body) // 2])
    with pytest.raises(ValueError):
        formats.read(path)


def test_write_refuses_bad_data(tmp_path):
    data = fake_jets(4)
    with pytest.raises(ValueError, match="must be a JetClassData"):
        formats.write({"y": data.y}, tmp_path / "x.root")
    with pytest.raises(ValueError, match="class indices"):
        formats.write(JetClassData(data.particles, data.jets, np.array([0, 1, 2, 10]), data.aux), tmp_path / "x.root")
    with pytest.raises(ValueError, match="jets must have exactly the columns"):
        formats.write(JetClassData(data.particles, data.jets.drop(columns="jet_tau4"), data.y, data.aux),
                      tmp_path / "x.root")
    with pytest.raises(ValueError, match="one row per jet"):
        formats.write(JetClassData(data.particles[:3], data.jets, data.y, data.aux), tmp_path / "x.root")


def test_particle_inputs_against_a_hand_computation():
    # one jet of two particles, by hand: a charged pion and a photon
    p = {b: [[0.0, 0.0]] for b in formats.PARTICLE_BRANCHES}
    p.update(part_px=[[30.0, 0.0]], part_py=[[40.0, 8.0]], part_pz=[[0.0, 6.0]], part_energy=[[50.5, 10.0]],
             part_deta=[[0.1, -0.3]], part_dphi=[[-0.2, 0.4]], part_d0val=[[0.5, 0.0]], part_d0err=[[2.0, 0.0]],
             part_dzval=[[-0.25, 0.0]], part_dzerr=[[0.3, 0.0]], part_charge=[[1.0, 0.0]],
             part_isChargedHadron=[[1, 0]], part_isPhoton=[[0, 1]])
    particles = ak.zip({b: ak.values_astype(ak.Array(v), dt) for b, v in p.items()
                        for dt in [formats.PARTICLE_BRANCHES[b]]})
    jets = pd.DataFrame({b: np.ones(1, np.float32) for b in formats.JET_BRANCHES})
    jets["jet_pt"], jets["jet_energy"] = np.float32(500.0), np.float32(600.0)
    aux = pd.DataFrame({b: np.zeros(1, np.float32) for b in formats.AUX_BRANCHES})
    out = formats.particle_inputs(JetClassData(particles, jets, np.array([3]), aux), max_particles=3)
    assert out.features.shape == (1, 3, 17) and out.features.dtype == np.float32
    np.testing.assert_array_equal(out.mask, [[True, True, False]])
    f = dict(zip(formats.FEATURES, out.features[0].T))
    # particle 0: pT = 50, E = 50.5
    expected0 = {
        "part_pt_log": (np.log(50) - 1.7) * 0.7, "part_e_log": (np.log(50.5) - 2.0) * 0.7,
        "part_logptrel": (np.log(50 / 500) + 4.7) * 0.7, "part_logerel": (np.log(50.5 / 600) + 4.7) * 0.7,
        "part_deltaR": (np.hypot(0.1, 0.2) - 0.2) * 4.0, "part_charge": 1.0, "part_isChargedHadron": 1.0,
        "part_isPhoton": 0.0, "part_d0": np.tanh(0.5), "part_d0err": 1.0,  # clipped to [0, 1]
        "part_dz": np.tanh(-0.25), "part_dzerr": 0.3, "part_deta": 0.1, "part_dphi": -0.2,
    }
    for name, value in expected0.items():
        assert f[name][0] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    # particle 1: pT = 8, a photon
    assert f["part_pt_log"][1] == pytest.approx((np.log(8) - 1.7) * 0.7, rel=1e-5)
    assert f["part_deltaR"][1] == pytest.approx((0.5 - 0.2) * 4.0, rel=1e-5)
    assert f["part_isPhoton"][1] == 1.0 and f["part_charge"][1] == 0.0
    # the padded slot is all zeros
    assert not out.features[0, 2].any() and not out.vectors[0, 2].any()
    np.testing.assert_allclose(out.vectors[0, 0], [30, 40, 0, 50.5])
    np.testing.assert_allclose(out.points[0, 1], [-0.3, 0.4])


def test_particle_inputs_clip_and_truncate():
    data = fake_jets(5)
    out = formats.particle_inputs(data, max_particles=2)
    assert out.features.shape == (5, 2, 17)
    standardised = [formats.FEATURES.index(name) for name in formats.STANDARDISATION]
    assert np.all(np.abs(out.features[..., standardised]) <= 5.0)
    np.testing.assert_array_equal(out.mask.sum(1), np.minimum(ak.to_numpy(ak.num(data.particles)), 2))
    with pytest.raises(ValueError, match="max_particles"):
        formats.particle_inputs(data, max_particles=0)


def test_particle_inputs_keep_the_hardest_particles_whatever_the_file_order():
    data = fake_jets(6)
    rng = np.random.default_rng(3)
    counts = ak.to_numpy(ak.num(data.particles))
    order = ak.unflatten(np.concatenate([rng.permutation(n) for n in counts]), counts)
    shuffled = data.particles[order]
    a = formats.particle_inputs(data, max_particles=3)
    b = formats.particle_inputs(JetClassData(shuffled, data.jets, data.y, data.aux), max_particles=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    pt = np.hypot(b.vectors[..., 0], b.vectors[..., 1])
    assert np.all(np.diff(np.where(b.mask, pt, 0.0), axis=1) <= 0)


# --- the course's simulation ----------------------------------------------------------------------------------


def test_impact_parameters_by_hand():
    from course_utils.physics.tracks import impact_parameters

    vertex = [[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, -1.0, 5.0], [3.0, 0.0, 1.0]]
    momentum = [[4.0, 3.0, 7.0], [10.0, 0.0, 10.0], [1.0, 1.0, 2.0], [1.0, 0.0, 2.0]]
    d0, dz = impact_parameters(vertex, momentum)
    # prompt; 2 mm beside a track along x (sign as Delphes: x*py - y*px); a line along (1, 1) from (1, -1)
    # passes sqrt(2) from the beam, at its start; a track pointing away from the beam along x: d0 = 0, and its
    # point of closest approach is 3 mm behind the vertex, where z = 1 - 3 * pz/px = -5
    np.testing.assert_allclose(d0, [0.0, -2.0, np.sqrt(2.0), 0.0], atol=1e-12)
    np.testing.assert_allclose(dz, [0.0, 0.0, 5.0, -5.0], atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        impact_parameters([[0, 0, 0]], [[1, 1]])
    with pytest.raises(ValueError, match="positive transverse momentum"):
        impact_parameters([[0, 0, 0]], [[0, 0, 5]])


def test_simulation_settings_are_checked():
    from course_utils.datasets.jetclass import simulation

    assert simulation.jets_per_class(23) == dict(zip(CLASSES, [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]))
    assert list(simulation.PROCESSES) == list(CLASSES)
    lines = simulation.pythia_settings("Tbl", seed=5)
    assert "Top:gg2ttbar = on" in lines and "24:onNegIfAny = 11 13" in lines
    assert "25:onIfMatch = 5 -5" in simulation.pythia_settings("Hbb")
    with pytest.raises(ValueError, match="unknown class"):
        simulation.pythia_settings("Hbbb")
    with pytest.raises(ValueError, match="windows"):
        simulation.Detector(jet_pt_min=1000.0, jet_pt_max=500.0)
    with pytest.raises(ValueError, match="tau4"):
        simulation.Detector(min_particles=3)


#: The resonance (absolute PDG id) of each signal class.
_PID = {1: 25, 2: 25, 3: 25, 4: 25, 5: 25, 6: 23, 7: 24, 8: 6, 9: 6}


@pytest.mark.slow
def test_simulation_window_and_label_exclusivity(data_dir, monkeypatch):
    from course_utils.datasets import jetclass

    monkeypatch.setenv("COURSE_WORKERS", "1")
    ds = jetclass.load("simulated", n=20, seed=3, verbose=False)
    d = ds.data
    assert ds.source == "simulated" and len(ds) == 20
    assert d.counts() == {c: 2 for c in CLASSES}
    # the file is the published layout
    assert set(uproot.open(ds.path)["tree"].keys()) == set(formats.BRANCHES) | {formats.COUNTER}
    jets = d.jets
    assert jets["jet_pt"].between(500, 1000, inclusive="neither").all()
    assert (jets["jet_eta"].abs() < 2).all()
    n_part = ak.to_numpy(ak.num(d.particles))
    np.testing.assert_array_equal(jets["jet_nparticles"].to_numpy(), n_part)
    assert (n_part >= 4).all()
    # the jet is the sum of its particles
    p = d.particles
    px, py = ak.to_numpy(ak.sum(p["part_px"], axis=1)), ak.to_numpy(ak.sum(p["part_py"], axis=1))
    np.testing.assert_allclose(np.hypot(px, py), jets["jet_pt"], rtol=1e-3)
    np.testing.assert_allclose(ak.to_numpy(ak.sum(p["part_energy"], axis=1)), jets["jet_energy"], rtol=1e-3)
    # hardest first, every particle of exactly one type, charge and impact parameters for tracks only
    pt = np.hypot(p["part_px"], p["part_py"])
    assert ak.all(pt[:, :-1] >= pt[:, 1:] * (1 - 1e-6))
    flags = sum(p[f"part_is{k}"] for k in ("ChargedHadron", "NeutralHadron", "Photon", "Electron", "Muon"))
    assert ak.all(flags == 1)
    track = (p["part_isChargedHadron"] + p["part_isElectron"] + p["part_isMuon"]) == 1
    assert ak.all((p["part_charge"] != 0) == track) and ak.all((p["part_d0err"] > 0) == track)
    # anti-kT jets are cones of R = 0.8 but for a few soft particles that joined a soft neighbour first
    dr = ak.to_numpy(ak.flatten(np.hypot(p["part_deta"], p["part_dphi"])))
    assert np.mean(dr < 0.8) > 0.97 and dr.max() < 2.5
    # label exclusivity: one label per jet (read checks it), each signal jet matched to its own resonance
    aux = d.aux
    signal = d.y > 0
    assert (aux["aux_truth_match"][signal] == 1).all()
    np.testing.assert_array_equal(np.abs(aux["aux_genpart_pid"][signal]).astype(int), [_PID[c] for c in d.y[signal]])
    dphi = (aux["aux_genpart_phi"] - jets["jet_phi"] + np.pi) % (2 * np.pi) - np.pi
    assert (np.hypot(aux["aux_genpart_eta"] - jets["jet_eta"], dphi)[signal] < 0.8).all()
    # substructure from the constituents
    mass = np.sqrt(np.maximum(jets["jet_energy"] ** 2 - px**2 - py**2 - ak.to_numpy(ak.sum(p["part_pz"], axis=1)) ** 2, 0))
    assert (jets["jet_sdmass"] <= mass * 1.001 + 1e-3).all()
    taus = jets[["jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4"]].to_numpy()
    assert np.all(np.isfinite(taus)) and np.all(taus >= 0) and np.all(taus[:, 1] <= taus[:, 0] * 1.001)


@pytest.mark.slow
def test_simulation_physics_displaced_tracks_and_leptons():
    from dataclasses import asdict

    from course_utils.datasets.jetclass import simulation

    fields = asdict(simulation.Detector())
    rows = {c: simulation.generate_chunk((c, 7, 8, 200, fields))[0] for c in ("QCD", "Hbb", "Tbl")}
    assert {r[3] for r in rows["QCD"]} == {0} and {r[3] for r in rows["Hbb"]} == {1}
    assert {r[3] for r in rows["Tbl"]} == {9}
    assert min(len(v) for v in rows.values()) >= 10

    def displaced(r):  # tracks with |d0| / sigma(d0) > 3
        return np.sum(np.abs(r[0][:, 6]) / np.maximum(r[0][:, 7], 1e-9) > 3)

    n_qcd = np.mean([displaced(r) for r in rows["QCD"]])
    n_hbb = np.mean([displaced(r) for r in rows["Hbb"]])
    assert n_hbb > 3 * n_qcd + 1, (n_hbb, n_qcd)  # b hadrons fly: H -> b bbar jets carry displaced tracks
    lepton = [np.any(r[0][:, 14] + r[0][:, 15] > 0) for r in rows["Tbl"]]
    assert np.mean(lepton) > 0.8  # t -> b l nu: the lepton is in the jet
    msd = np.median([r[1][5] for r in rows["Hbb"]])
    assert 90 < msd < 140, msd  # the Higgs mass, smeared and groomed
