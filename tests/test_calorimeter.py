"""physics.calorimeter: the CaloChallenge's shower observables, against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.datasets.calo import formats
from course_utils.physics import calorimeter

XML = """<Bins><Bin name="photon">
  <Layer id="0" r_edges="0,10" n_bin_alpha="1"/>
  <Layer id="1" r_edges="0,2,4" n_bin_alpha="4"/>
</Bin></Bins>"""


@pytest.fixture
def binning(tmp_path):
    path = tmp_path / "b.xml"
    path.write_text(XML)
    return formats.parse_binning(path)


def test_high_level_features_by_hand(binning):
    # layer 1 voxels: alpha bins centred at -3pi/4, -pi/4, pi/4, 3pi/4; r centres 1, 3
    x = np.zeros((2, 9))
    x[0, 0] = 5.0                 # layer 0
    x[0, 1 + 2 * 2 + 0] = 2.0     # layer 1, alpha = pi/4, r = 1
    x[0, 1 + 2 * 2 + 1] = 2.0     # layer 1, alpha = pi/4, r = 3
    e = np.array([10.0, 20.0])    # shower 2 is empty
    h = calorimeter.high_level_features(x, e, binning)
    assert list(h.columns) == ["E_ratio", "E_0", "E_1", "eta_c_1", "eta_w_1", "phi_c_1", "phi_w_1"]
    c = np.cos(np.pi / 4)
    assert h.loc[0, "E_ratio"] == pytest.approx(0.9)
    assert h.loc[0, "E_1"] == pytest.approx(4.0)
    assert h.loc[0, "eta_c_1"] == pytest.approx(2 * c)           # mean of 1c and 3c
    assert h.loc[0, "eta_w_1"] == pytest.approx(c)               # half of 3c - 1c
    assert h.loc[0, "phi_c_1"] == pytest.approx(2 * c)
    assert (h.loc[1] == 0).all()                                 # empty shower: zeros, not NaN


def test_high_level_features_reject_bad_input(binning):
    with pytest.raises(ValueError, match=r"\(N, 9\)"):
        calorimeter.high_level_features(np.zeros((2, 8)), [1.0, 1.0], binning)
    with pytest.raises(ValueError, match="NaN"):
        calorimeter.high_level_features(np.full((1, 9), np.nan), [1.0], binning)
    with pytest.raises(ValueError, match="empty"):
        calorimeter.high_level_features(np.zeros((0, 9)), [], binning)


def test_high_level_features_on_the_challenge_geometry():
    from course_utils.datasets import calo

    binning = calo.default_binning()
    rng = np.random.default_rng(0)
    x = rng.exponential(1.0, (3, binning.n_voxels))
    h = calorimeter.high_level_features(x, np.full(3, 1000.0), binning)
    energies = binning.layer_energies(x)  # the reader's own per-layer sums
    np.testing.assert_allclose(h[[f"E_{i}" for i in binning.layer_ids]].to_numpy(), energies)
    np.testing.assert_allclose(h["E_ratio"], x.sum(axis=1) / 1000.0)
