"""Jet observables and preprocessing against hand-worked jets and independent computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from course_utils.physics import jets


def jet(*particles, pad_to=None):
    """One jet (1, M, 4) from (pt, y, phi, pid) tuples, zero-padded to ``pad_to`` rows."""
    rows = [list(p) for p in particles]
    rows += [[0, 0, 0, 0]] * ((pad_to or len(rows)) - len(rows))
    return np.array([rows], dtype=float)


def random_jets(n=30, m=25, seed=0):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, m, 4))
    for i in range(n):
        k = rng.integers(1, m + 1)
        X[i, :k, 0] = rng.exponential(20, k) + 0.1
        X[i, :k, 1] = 0.3 + rng.normal(0, 0.15, k)
        X[i, :k, 2] = 2.0 + rng.normal(0, 0.15, k)
        X[i, :k, 3] = rng.choice([22, 211, -211, 321, -2212, 130, 2112, 11, -13], k)
    return X


# --------------------------------------------------------------------------- hand-worked jets

def test_one_particle_jet():
    obs = jets.jet_observables(jet((120.0, 0.7, -1.2, 211), pad_to=5)).iloc[0]
    assert obs["multiplicity"] == 1
    assert obs["mass"] == pytest.approx(0.139570, abs=1e-9)  # the pion's mass
    for name in ("width", "lha", "e2", "c2", "d2"):
        assert obs[name] == pytest.approx(0.0, abs=1e-6), name
    assert obs["ptd"] == pytest.approx(1.0)
    kin = jets.jet_kinematics(jet((120.0, 0.7, -1.2, 211))).iloc[0]
    assert (kin["pt"], kin["y"], kin["phi"]) == pytest.approx((120.0, 0.7, -1.2))


def test_two_particles_symmetric_about_the_axis():
    # Two photons of 100 GeV at y = +-0.1, same phi: the jet axis is at y = 0.
    obs = jets.jet_observables(jet((100.0, 0.1, 0.5, 22), (100.0, -0.1, 0.5, 22), pad_to=4)).iloc[0]
    assert obs["multiplicity"] == 2
    # m^2 = 2 pT1 pT2 (cosh dy - cos dphi) = (2 pT sinh(dy/2))^2 for massless particles
    assert obs["mass"] == pytest.approx(200.0 * math.sinh(0.1), rel=1e-12)
    assert obs["width"] == pytest.approx(0.1)
    assert obs["ptd"] == pytest.approx(1 / math.sqrt(2))
    assert obs["lha"] == pytest.approx(math.sqrt(0.1 / 0.4))
    assert obs["e2"] == pytest.approx(0.25 * 0.2)
    assert obs["c2"] == 0.0 and obs["d2"] == 0.0  # e3 = 0 with two particles


def test_two_particles_back_to_back():
    # Two 100 GeV photons at y = 0, opposite in phi: no net pT, mass = total energy = 200 GeV.
    X = jet((100.0, 0.0, 0.0, 22), (100.0, 0.0, math.pi, 22))
    kin = jets.jet_kinematics(X).iloc[0]
    assert kin["pt"] == pytest.approx(0.0, abs=1e-9)
    assert kin["mass"] == pytest.approx(200.0)
    obs = jets.jet_observables(X).iloc[0]
    assert obs["multiplicity"] == 2 and obs["mass"] == pytest.approx(200.0)
    assert obs["ptd"] == pytest.approx(1 / math.sqrt(2))
    assert obs["e2"] == pytest.approx(0.25 * math.pi)  # dR = pi between them


def test_phi_periodicity():
    near_zero = jets.jet_observables(jet((80.0, 0.2, 0.05, 211), (40.0, -0.1, -0.05, 22)))
    across_pi = jets.jet_observables(jet((80.0, 0.2, math.pi - 0.05, 211), (40.0, -0.1, -math.pi + 0.05, 22)))
    np.testing.assert_allclose(near_zero.to_numpy(), across_pi.to_numpy(), rtol=1e-9, atol=1e-12)


def test_equilateral_triangle():
    d = 0.2
    X = jet((50.0, 0.0, 0.0, 22), (50.0, d, 0.0, 22), (50.0, d / 2, d * math.sqrt(3) / 2, 22))
    obs = jets.jet_observables(X).iloc[0]
    # z = 1/3 each: e2 = 3 * (1/9) d, e3 = (1/27) d^3, C2 = e3/e2^2 = d/3, D2 = e3/e2^3 = 1
    assert obs["e2"] == pytest.approx(d / 3)
    assert obs["c2"] == pytest.approx(d / 3)
    assert obs["d2"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- independent computations

def brute_force(one_jet):
    parts = one_jet[one_jet[:, 0] > 0]
    z = parts[:, 0] / parts[:, 0].sum()

    def dr(a, b):
        dphi = (a[2] - b[2] + math.pi) % (2 * math.pi) - math.pi
        return math.hypot(a[1] - b[1], dphi)

    e2 = sum(z[i] * z[j] * dr(parts[i], parts[j]) for i, j in itertools.combinations(range(len(parts)), 2))
    e3 = sum(z[i] * z[j] * z[k] * dr(parts[i], parts[j]) * dr(parts[i], parts[k]) * dr(parts[j], parts[k])
             for i, j, k in itertools.combinations(range(len(parts)), 3))
    return e2, e3


def test_correlations_match_a_brute_force_sum():
    X = random_jets(12, 15, seed=3)
    obs = jets.jet_observables(X, batch_size=5)
    for i in range(len(X)):
        e2, e3 = brute_force(X[i])
        assert obs["e2"].iloc[i] == pytest.approx(e2, rel=1e-10, abs=1e-14)
        if e2 > 0:
            assert obs["c2"].iloc[i] == pytest.approx(e3 / e2**2, rel=1e-9, abs=1e-14)


def test_mass_matches_the_vector_library():
    vector = pytest.importorskip("vector")
    X = random_jets(20, 12, seed=4)
    masses = np.array([jets.PDG_MASSES[int(abs(p))] if pt > 0 else 0.0 for pt, p in zip(X[..., 0].ravel(), X[..., 3].ravel())])
    pt, y = X[..., 0].ravel(), X[..., 1].ravel()
    # vector takes the pseudorapidity: eta = asinh(pz / pT) with pz = mT sinh(y)
    safe = np.where(pt > 0, pt, 1.0)
    eta = np.arcsinh(np.sqrt(pt**2 + masses**2) * np.sinh(y) / safe)
    v = vector.array({"pt": pt, "eta": eta, "phi": X[..., 2].ravel(), "mass": masses})
    px, py, pz, e = (np.asarray(getattr(v, c)).reshape(X.shape[:2]).sum(1) for c in ("px", "py", "pz", "E"))
    expected = np.sqrt(e**2 - px**2 - py**2 - pz**2)
    np.testing.assert_allclose(jets.jet_observables(X)["mass"], expected, rtol=1e-9)
    np.testing.assert_allclose(jets.jet_kinematics(X)["pt"], np.hypot(px, py), rtol=1e-12)


def test_order_padding_and_batching_do_not_matter():
    X = random_jets(25, 20, seed=5)
    ref = jets.jet_observables(X)
    rng = np.random.default_rng(0)
    shuffled = np.stack([x[rng.permutation(len(x))] for x in X])
    padded = np.concatenate([X, np.zeros((len(X), 7, 4))], axis=1)
    for other in (jets.jet_observables(shuffled, batch_size=3), jets.jet_observables(padded, batch_size=1000)):
        np.testing.assert_allclose(other.to_numpy(), ref.to_numpy(), rtol=1e-10, atol=1e-12)
    assert list(ref.columns) == list(jets.OBSERVABLES)


def test_three_columns_mean_massless():
    X = jet((100.0, 0.1, 0.5, 211), (100.0, -0.1, 0.5, 211))
    assert jets.jet_observables(X[..., :3])["mass"].iloc[0] == pytest.approx(200.0 * math.sinh(0.1))


# --------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("bad, match", [
    (np.zeros((3, 4)), "shape"),
    (np.zeros((2, 3, 5)), "shape"),
    (np.zeros((0, 3, 4)), "empty"),
    (jet((10.0, np.nan, 0.0, 22)), "NaN"),
    (jet((-1.0, 0.0, 0.0, 22)), "negative pT"),
    (jet((10.0, 0.0, 0.0, 0.3)), "integer PDG ids"),
    (jet((10.0, 0.0, 0.0, 99)), "unknown PDG id"),
])
def test_bad_inputs_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        jets.jet_observables(bad)


def test_bad_parameters():
    X = jet((10.0, 0.0, 0.0, 22))
    with pytest.raises(ValueError, match="R must be"):
        jets.jet_observables(X, R=0)
    with pytest.raises(ValueError, match="n_pixels"):
        jets.jet_images(X, n_pixels=0)
    with pytest.raises(ValueError, match="PDG id column"):
        jets.particle_features(X[..., :3])


# --------------------------------------------------------------------------- preprocessing

def test_center_and_normalize():
    X = random_jets(10, 12, seed=6)
    P = jets.preprocess(X)
    mask = X[..., 0] > 0
    np.testing.assert_allclose(P[..., 0].sum(1), 1.0)
    np.testing.assert_allclose((P[..., 0] * P[..., 1]).sum(1), 0.0, atol=1e-12)
    np.testing.assert_allclose((P[..., 0] * P[..., 2]).sum(1), 0.0, atol=1e-12)
    assert (P[~mask] == 0).all()
    np.testing.assert_array_equal(P[..., 3], X[..., 3])  # ids untouched


def test_rotate_aligns_the_principal_axis_and_keeps_distances():
    # An elongated jet along the diagonal of the (y, phi) plane.
    t = np.linspace(-0.2, 0.2, 9)
    X = np.zeros((1, 9, 4))
    X[0, :, 0] = 10 + np.arange(9)
    X[0, :, 1], X[0, :, 2], X[0, :, 3] = t, t, 22
    C = jets.center(X)
    R = jets.rotate(C)
    w = R[0, :, 0]
    assert (w * R[0, :, 1] ** 2).sum() == pytest.approx(0.0, abs=1e-12)  # all spread along phi now
    d_before = np.hypot(*(C[0, :, None, k] - C[0, None, :, k] for k in (1, 2)))
    d_after = np.hypot(*(R[0, :, None, k] - R[0, None, :, k] for k in (1, 2)))
    np.testing.assert_allclose(d_after, d_before, atol=1e-12)


def test_jet_images():
    X = jet((100.0, 0.5, 1.0, 22), (1.0, 2.5, 1.0, 22), pad_to=3)  # second particle far outside
    img = jets.jet_images(X, n_pixels=5, extent=0.5)
    assert img.shape == (1, 5, 5) and img.dtype == np.float32
    # The centroid sits almost on the hard particle: it lands in the central pixel.
    assert img[0, 2, 2] == pytest.approx(100 / 101, rel=1e-6)
    assert img.sum() == pytest.approx(100 / 101, rel=1e-6)
    imgs = jets.jet_images(random_jets(8, 10, seed=7), n_pixels=16)
    assert imgs.shape == (8, 16, 16) and (imgs >= 0).all() and (imgs.sum((1, 2)) <= 1 + 1e-6).all()


def test_particle_features():
    X = jet((60.0, 0.0, 0.0, -211), (40.0, 0.1, 0.0, 22), pad_to=3)
    F = jets.particle_features(X)
    assert F.shape == (1, 3, len(jets.PARTICLE_FEATURES)) and F.dtype == np.float32
    col = {name: i for i, name in enumerate(jets.PARTICLE_FEATURES)}
    assert F[0, 0, col["charge"]] == -1 and F[0, 0, col["charged_hadron"]] == 1
    assert F[0, 1, col["photon"]] == 1 and F[0, 1, col["charge"]] == 0
    assert F[0, :2, col["z"]] == pytest.approx([0.6, 0.4])
    assert F[0, 0, col["log_z"]] == pytest.approx(math.log(0.6))
    assert (F[0, 2] == 0).all()
