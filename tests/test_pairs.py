"""The Particle Transformer's pairwise features (course_utils.physics.pairs) against hand computations."""

import math

import numpy as np
import pytest

from course_utils.physics.pairs import PAIR_FEATURES, pair_features


def _p4(pt, y, phi, m=0.0):
    mt = math.hypot(pt, m)
    return [pt * math.cos(phi), pt * math.sin(phi), mt * math.sinh(y), mt * math.cosh(y)]


def test_two_massless_particles_by_hand():
    # a: 10 GeV along x; b: 5 GeV along y; both at y = 0: ΔR = π/2, m² = 2 E_a E_b (1 - cos 90°) = 100
    p4 = np.array([[[10.0, 0.0, 0.0, 10.0], [0.0, 5.0, 0.0, 5.0]]])
    f = pair_features(p4, np.ones((1, 2), bool))
    assert f.shape == (1, 2, 2, 4) and f.dtype == np.float32
    assert PAIR_FEATURES == ("ln_kt", "ln_z", "ln_delta", "ln_m2")
    expected = [math.log(5 * math.pi / 2), math.log(5 / 15), math.log(math.pi / 2), math.log(100.0)]
    np.testing.assert_allclose(f[0, 0, 1], expected, rtol=1e-6)
    np.testing.assert_allclose(f[0, 1, 0], expected, rtol=1e-6)


def test_rapidity_not_pseudorapidity_and_massive_pair():
    # b is massive (1 GeV) at rapidity 0.5 and φ = 2.0: Δy = 0.5 exactly, Δφ = 2.0 - (-2.5) wrapped
    a, b = _p4(20.0, 0.0, -2.5), _p4(4.0, 0.5, 2.0, m=1.0)
    f = pair_features(np.array([[a, b]]), np.ones((1, 2), bool))[0, 0, 1]
    dphi = (2.0 - (-2.5) + math.pi) % (2 * math.pi) - math.pi
    dr = math.hypot(0.5, dphi)
    s = np.add(a, b)
    m2 = s[3] ** 2 - s[0] ** 2 - s[1] ** 2 - s[2] ** 2
    np.testing.assert_allclose(f, [math.log(4.0 * dr), math.log(4.0 / 24.0), math.log(dr), math.log(m2)], rtol=1e-5)


def test_self_pairs_and_collinear_massless_pairs_are_clamped_at_eps():
    p4 = np.array([[[10.0, 0.0, 0.0, 10.0], [20.0, 0.0, 0.0, 20.0]]])
    f = pair_features(p4, np.ones((1, 2), bool), eps=1e-8)
    ln_eps = math.log(1e-8)
    np.testing.assert_allclose(f[0, 0, 0], [ln_eps, math.log(0.5), ln_eps, ln_eps], rtol=1e-6)
    # collinear massless: ΔR = 0 and m² = 0 are clamped; z = 10 / 30
    np.testing.assert_allclose(f[0, 0, 1], [ln_eps, math.log(10 / 30), ln_eps, ln_eps], rtol=1e-6)


def test_padding_is_zero_and_features_are_symmetric():
    rng = np.random.default_rng(0)
    pts = rng.uniform(1, 50, (3, 6))
    p4 = np.array([[_p4(pt, y, phi, 0.14) for pt, y, phi in zip(r, rng.normal(0, 1, 6), rng.uniform(-3, 3, 6))]
                   for r in pts])
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]], bool)
    p4[~mask] = rng.normal(0, 100, (int((~mask).sum()), 4))  # garbage in the padded slots
    f = pair_features(p4, mask)
    both = mask[:, :, None] & mask[:, None, :]
    assert np.all(f[~both] == 0)
    assert np.all(np.isfinite(f))
    np.testing.assert_array_equal(f, f.transpose(0, 2, 1, 3))
    # each jet's features do not depend on the others, nor on the padded slots
    np.testing.assert_allclose(pair_features(p4[:1, :3], mask[:1, :3])[0], f[0, :3, :3])


@pytest.mark.parametrize("p4, mask, match", [
    (np.zeros((2, 3, 3)), np.ones((2, 3), bool), "shape"),
    (np.zeros((2, 3, 4)), np.ones((2, 4), bool), "mask must have shape"),
    (np.zeros((0, 3, 4)), np.ones((0, 3), bool), "no jet"),
    (np.full((1, 2, 4), np.nan), np.ones((1, 2), bool), "NaN"),
    (np.ones((1, 2, 4)), np.full((1, 2), 0.5), "boolean"),
])
def test_bad_inputs_are_refused(p4, mask, match):
    with pytest.raises(ValueError, match=match):
        pair_features(p4, mask)


def test_nan_in_padding_is_accepted():
    p4 = np.array([[[10.0, 0.0, 0.0, 10.0], [np.nan, 0, 0, 0]]])
    f = pair_features(p4, np.array([[True, False]]))
    assert np.all(np.isfinite(f)) and np.all(f[0, 1] == 0)
