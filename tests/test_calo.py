"""The calo dataset: binning XML, the dataset-1 HDF5 layout, the GFlash-style simulation, download and fall-back."""

from __future__ import annotations

import hashlib
import math

import h5py
import numpy as np
import pytest

from course_utils.datasets import DataUnavailableError, RemoteFile, calo
from course_utils.datasets.calo import formats, simulation

HAND_XML = """<Bins>
  <Bin pid="22" name="photon">
    <Layer id="0" r_edges="0,1,3" n_bin_alpha="1"/>
    <Layer id="1" r_edges="0" n_bin_alpha="1"/>
    <Layer id="2" r_edges="0,2,4,8" n_bin_alpha="4"/>
  </Bin>
  <Bin pid="211" name="pion">
    <Layer id="0" r_edges="0,10" n_bin_alpha="1"/>
  </Bin>
</Bins>
"""


def write_xml(tmp_path, text=HAND_XML):
    path = tmp_path / "binning.xml"
    path.write_text(text)
    return path


def small_data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    e = rng.choice(formats.INCIDENT_ENERGIES, n)
    showers = rng.exponential(1.0, (n, formats.N_VOXELS)).astype(np.float32)
    return formats.CaloData(e, showers)


# --- binning ------------------------------------------------------------------------------------------------

def test_binning_of_a_hand_made_file(tmp_path):
    b = formats.parse_binning(write_xml(tmp_path))
    assert b.particle == "photon"
    assert b.layer_ids == [0, 2]               # layer 1 (r_edges="0") holds no voxel
    assert [layer.n_voxels for layer in b.layers] == [2, 12]
    assert b.n_voxels == 14
    assert b.layers[1].voxels == slice(2, 14)
    # file order: angular bin by angular bin, radial bins inside: r centres 1, 3, 6 repeated 4 times
    np.testing.assert_allclose(b.layers[1].r_centres(), [1, 3, 6] * 4)
    np.testing.assert_allclose(b.layers[1].alpha_centres()[::3], [-3 * math.pi / 4, -math.pi / 4,
                                                                     math.pi / 4, 3 * math.pi / 4])
    eta, phi = b.layers[1].eta_phi_centres()
    assert eta[0] == pytest.approx(math.cos(-3 * math.pi / 4)) and phi[0] == pytest.approx(math.sin(-3 * math.pi / 4))
    pion = formats.parse_binning(write_xml(tmp_path), particle="pion")
    assert pion.n_voxels == 1


def test_shipped_binning_is_dataset_1_photons():
    b = formats.default_binning()
    assert b.layer_ids == [0, 1, 2, 3, 12]
    assert [layer.n_voxels for layer in b.layers] == [8, 160, 190, 5, 5]
    assert b.n_voxels == formats.N_VOXELS == 368
    assert b.layers[2].r_edges[-1] == 400.0 and b.layers[1].n_alpha == 10


def test_layer_energies_sum_the_right_voxels(tmp_path):
    b = formats.parse_binning(write_xml(tmp_path))
    x = np.arange(28, dtype=float).reshape(2, 14)
    np.testing.assert_allclose(b.layer_energies(x), [[0 + 1, sum(range(2, 14))], [14 + 15, sum(range(16, 28))]])
    with pytest.raises(ValueError, match=r"shape \(N, 14\)"):
        b.layer_energies(np.zeros((2, 13)))


@pytest.mark.parametrize("text, message", [
    ("<Bins><Bin name='photon'>", "not valid XML"),
    ("<Bins><Bin name='electron'><Layer id='0' r_edges='0,1' n_bin_alpha='1'/></Bin></Bins>", "no <Bin name='photon'>"),
    ("<Bins><Bin name='photon'><Layer id='0' r_edges='0,2,1' n_bin_alpha='1'/></Bin></Bins>", "increase"),
    ("<Bins><Bin name='photon'><Layer id='0' r_edges='0,a' n_bin_alpha='1'/></Bin></Bins>", "malformed"),
    ("<Bins><Bin name='photon'><Layer id='0' r_edges='0,1'/></Bin></Bins>", "malformed"),
    ("<Bins><Bin name='photon'><Layer id='0' r_edges='0,1' n_bin_alpha='0'/></Bin></Bins>", "n_bin_alpha=0"),
    ("<Bins><Bin name='photon'><Layer id='0' r_edges='0' n_bin_alpha='1'/></Bin></Bins>", "no layer"),
])
def test_bad_binning_files(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        formats.parse_binning(write_xml(tmp_path, text))


def test_missing_binning_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        formats.parse_binning(tmp_path / "nope.xml")


# --- HDF5 layout --------------------------------------------------------------------------------------------

def test_write_read_round_trip_in_the_published_layout(tmp_path):
    data = small_data()
    path = formats.write(data, tmp_path / "s.hdf5")
    with h5py.File(path) as f:                    # the published layout, read independently
        assert set(f.keys()) == {"incident_energies", "showers"}
        assert f["incident_energies"].shape == (6, 1) and f["showers"].shape == (6, 368)
    back = formats.read(path)
    np.testing.assert_array_equal(back.incident_energies, data.incident_energies)
    np.testing.assert_array_equal(back.showers, data.showers)
    assert len(formats.read(path, n=4)) == 4


def write_raw(path, e, showers):
    with h5py.File(path, "w") as f:
        if e is not None:
            f.create_dataset("incident_energies", data=e)
        if showers is not None:
            f.create_dataset("showers", data=showers)
    return path


@pytest.mark.parametrize("e, showers, message", [
    (np.full((3, 1), 1024.0), None, r"lacks the dataset\(s\) \['showers'\]"),
    (np.full((3, 1), 1024.0), np.ones((3, 367)), r"\(N, 368\)"),
    (np.full((3, 1), 1024.0), np.ones((2, 368)), "3 incident energies for 2 showers"),
    (np.full((3, 1), 1.024), np.ones((3, 368)), "expected MeV"),
    (np.full((3, 1), 1024.0), -np.ones((3, 368)), "negative"),
    (np.full((3, 1), np.nan), np.ones((3, 368)), "NaN"),
    (np.full((3, 2), 1024.0), np.ones((3, 368)), r"expected \(N, 1\)"),
])
def test_read_rejects_bad_files(tmp_path, e, showers, message):
    with pytest.raises(ValueError, match=message):
        formats.read(write_raw(tmp_path / "bad.hdf5", e, showers))


def test_read_missing_and_truncated_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        formats.read(tmp_path / "none.hdf5")
    path = formats.write(small_data(), tmp_path / "s.hdf5")
    cut = tmp_path / "cut.hdf5"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable HDF5"):
        formats.read(cut)


def test_write_rejects_gev(tmp_path):
    data = small_data()
    with pytest.raises(ValueError, match="MeV"):
        formats.write(formats.CaloData(data.incident_energies / 1e5, data.showers), tmp_path / "x.hdf5")


# --- simulation ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim():
    return simulation.simulate_showers(6_000, seed=3)


def test_simulation_layout_and_energies(sim):
    e, x = sim
    assert x.shape == (6_000, 368) and x.dtype == np.float32
    assert set(np.unique(e)) == set(formats.INCIDENT_ENERGIES)
    assert (x >= 0).all() and np.isfinite(x).all()
    response = x.sum(axis=1) / e
    assert 0.8 < np.median(response) < 1.02           # a calorimeter: most of the energy is seen


def test_simulation_physics(sim):
    e, x = sim
    b = formats.default_binning()
    frac = b.layer_energies(x) / e[:, None]
    low, high = e == 2**10, e == 2**20
    # showers go deeper with energy (log E): more in the middle layer, less in the strips
    assert frac[high, 2].mean() > frac[low, 2].mean() + 0.2
    assert frac[high, 1].mean() < frac[low, 1].mean()
    # sampling fluctuations: the relative spread of the response falls with energy
    r = x.sum(axis=1) / e
    assert r[high].std() < 0.5 * r[low].std()
    # the core is narrow: the strip layer's first radial ring holds more energy per mm^2 than its outer rings
    strips = b.layers[1]
    ring = x[:, strips.voxels].reshape(-1, strips.n_alpha, strips.n_r).sum(axis=(0, 1))
    area = np.diff(strips.r_edges ** 2)
    assert ring[0] / area[0] > 10 * ring[8] / area[8]


def test_simulation_is_seeded_and_checks_input():
    a = simulation.simulate_showers(50, seed=1)
    b = simulation.simulate_showers(50, seed=1)
    np.testing.assert_array_equal(a[1], b[1])
    e, _ = simulation.simulate_showers(4, energies=np.full(4, 5000.0))
    assert (e == 5000.0).all()
    with pytest.raises(ValueError, match="n must be"):
        simulation.simulate_showers(0)
    with pytest.raises(ValueError, match="MeV"):
        simulation.simulate_showers(3, energies=np.full(3, 5.0))


def test_simulate_is_cached_and_read_back(data_dir):
    ds = simulation.simulate(300, seed=2)
    assert ds.source == "simulated" and ds.path.name == "dataset_1_photons_1.hdf5"
    assert ds.data.showers.shape == (300, 368)
    again = simulation.simulate(300, seed=2)
    assert again.path == ds.path
    np.testing.assert_array_equal(again.data.showers, ds.data.showers)


# --- load: published file, download, fall-back --------------------------------------------------------------

def serve(http_server, name, data, tmp_path):
    path = formats.write(data, tmp_path / "src.hdf5")
    content = path.read_bytes()
    (http_server.root / name).write_bytes(content)
    return f"{http_server.url}/{name}", content


@pytest.mark.network
def test_download_and_subsample(data_dir, http_server, monkeypatch, tmp_path):
    url, content = serve(http_server, "d1.hdf5", small_data(10), tmp_path)
    remote = RemoteFile("dataset_1_photons_1.hdf5", (url,), hashlib.sha256(content).hexdigest(), len(content))
    monkeypatch.setattr(calo, "FILES", (remote, calo.FILES[1]))
    ds = calo.load(source="real", n=4, verbose=False)
    assert ds.source == "real" and len(ds.data) == 4
    assert ds.made_by.startswith("Monte Carlo: Geant4")
    full = calo.load(source="real", verbose=False)
    assert len(full.data) == 10 and http_server.hits == ["/d1.hdf5"]      # cached: one download


@pytest.mark.network
def test_wrong_checksum_and_corrupt_file_fall_back(data_dir, http_server, monkeypatch, tmp_path):
    url, content = serve(http_server, "d1.hdf5", small_data(10), tmp_path)
    monkeypatch.setattr(calo, "FILES", (RemoteFile("dataset_1_photons_1.hdf5", (url,), "0" * 64), calo.FILES[1]))
    with pytest.raises(DataUnavailableError, match="does not match the known hash"):
        calo.load(source="real", verbose=False)
    # no checksum (as for the Zenodo files): a file that is not dataset-1 HDF5 is refused by its format
    (http_server.root / "bad.hdf5").write_bytes(content[: len(content) // 3])
    bad = RemoteFile("dataset_1_photons_1.hdf5", (f"{http_server.url}/bad.hdf5",), None)
    monkeypatch.setattr(calo, "FILES", (bad, calo.FILES[1]))
    with pytest.raises(DataUnavailableError, match="format check"):
        calo.load(source="real", verbose=False)
    assert not calo.cached_real_path().exists()
    ds = calo.load(source="auto", n=120, verbose=False)
    assert ds.source == "simulated" and len(ds.data) == 120


def test_load_checks_arguments():
    with pytest.raises(ValueError, match="source must be one of"):
        calo.load(source="both")
    with pytest.raises(ValueError, match="part"):
        calo.load(part=3)
    with pytest.raises(ValueError, match="n must"):
        calo.load(n=0)


def test_info():
    assert calo.INFO.doi == "10.5281/zenodo.8099322"
    assert "not measured" in calo.INFO.made_by
    assert [f.name for f in calo.INFO.files] == ["dataset_1_photons_1.hdf5", "dataset_1_photons_2.hdf5"]
