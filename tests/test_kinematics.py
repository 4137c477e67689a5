"""Four-vector helpers on ``vector``: compared with hand-worked values and with the NumPy code they replace."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.physics import kinematics


def _old_p4(pt, eta, phi):
    """The NumPy code of the first release (higgs_sim._p4): (E, px, py, pz), shape (..., 4)."""
    return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)


def _old_mass(*vectors):
    total = np.sum(vectors, axis=0)
    m2 = total[..., 0] ** 2 - (total[..., 1:] ** 2).sum(axis=-1)
    return np.sqrt(np.maximum(m2, 0.0))


def _old_neutrino_pz(lepton, met_x, met_y, m_w=80.385):
    e, px, py, pz = (lepton[..., k] for k in range(4))
    pt2 = px**2 + py**2
    mu = 0.5 * m_w**2 + px * met_x + py * met_y
    disc = mu**2 - pt2 * (met_x**2 + met_y**2)
    root = e * np.sqrt(np.maximum(disc, 0.0))
    a, b = (mu * pz + root) / pt2, (mu * pz - root) / pt2
    return np.where(np.abs(a) < np.abs(b), a, b)


def _random_objects(rng, n):
    return rng.uniform(1, 300, n), rng.uniform(-3, 3, n), rng.uniform(-np.pi, np.pi, n)


def test_same_results_as_the_numpy_code_it_replaces():
    rng = np.random.default_rng(11)
    n = 50_000
    objs = [_random_objects(rng, n) for _ in range(4)]
    new = [kinematics.massless(*o) for o in objs]
    old = [_old_p4(*o) for o in objs]
    for v, o in zip(new, old):
        np.testing.assert_array_equal(np.stack([v.E, v.px, v.py, v.pz], axis=-1), o)
    for k in (1, 2, 4):
        np.testing.assert_array_equal(kinematics.invariant_mass(*new[:k]), _old_mass(*old[:k]))
    met_x, met_y = rng.uniform(-150, 150, n), rng.uniform(-150, 150, n)
    np.testing.assert_array_equal(kinematics.neutrino_pz(new[0], met_x, met_y), _old_neutrino_pz(old[0], met_x, met_y))


def test_hand_worked_masses():
    a = kinematics.massless([45.0], [0.0], [0.0])
    b = kinematics.massless([45.0], [0.0], [np.pi])
    assert kinematics.invariant_mass(a, b) == pytest.approx([90.0])  # back to back at eta = 0: m = 2 pT
    # massless two-body mass: m^2 = 2 pT1 pT2 (cosh(d eta) - cos(d phi))
    c, d = kinematics.massless([50.0], [0.5], [1.0]), kinematics.massless([30.0], [-1.0], [-2.0])
    assert kinematics.invariant_mass(c, d) == pytest.approx([np.sqrt(2 * 50 * 30 * (np.cosh(1.5) - np.cos(3.0)))])
    assert kinematics.invariant_mass(c) == pytest.approx([0.0], abs=1e-6)  # one massless object


def test_neutrino_meets_the_w_mass_constraint():
    # W at rest decaying in the transverse plane: lepton and neutrino back to back, pz = 0
    p = kinematics.M_W / 2
    lep = kinematics.massless([p], [0.0], [0.0])
    assert kinematics.neutrino_pz(lep, [-p], [0.0]) == pytest.approx([0.0], abs=1e-6)
    rng = np.random.default_rng(7)
    lep = kinematics.massless(*_random_objects(rng, 500))
    met_x, met_y = rng.uniform(-100, 100, 500), rng.uniform(-100, 100, 500)
    m = kinematics.invariant_mass(lep, kinematics.neutrino(lep, met_x, met_y))
    # either the constraint is met exactly, or it cannot be (then the mass is above m_W)
    met = np.isclose(m, kinematics.M_W, rtol=1e-6)
    assert met.mean() > 0.3 and np.all(met | (m > kinematics.M_W))


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        kinematics.massless([1.0, np.nan], [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="one shape"):
        kinematics.massless([1.0, 2.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="at least one"):
        kinematics.invariant_mass()
    lep = kinematics.massless([10.0, 20.0], [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="missing momenta"):
        kinematics.neutrino_pz(lep, [1.0], [1.0])
    zero_pt = kinematics.massless([0.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="transverse momentum"):
        kinematics.neutrino_pz(zero_pt, [1.0], [1.0])
