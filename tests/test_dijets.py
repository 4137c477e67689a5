"""The two leading anti-kT jets and their features (course_utils.physics.dijets), on hand-built events."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fastjet")

from course_utils.physics import dijets  # noqa: E402


def pair_mass(pt1, eta1, phi1, pt2, eta2, phi2):
    """Mass of two massless particles: m² = 2 pT1 pT2 (cosh Δη − cos Δφ)."""
    return np.sqrt(2 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(phi1 - phi2)))


def signal_like_event():
    """A W'-like event: a 500 GeV two-prong jet and a 100 GeV two-prong jet, back to back.

    Each jet is two hard particles plus a 1 GeV particle on the first one's direction
    (three constituents, as tau_3 needs); a soft particle far from both stays out.
    """
    d_heavy = 0.5 * np.arccos(1 - 500.0**2 / (2 * 850.0 * 850.0))   # two 850 GeV prongs, m = 500
    d_light = 0.5 * np.arccos(1 - 100.0**2 / (2 * 800.0 * 650.0))   # 800 and 650 GeV, m = 100
    pt = [850.0, 850.0, 1.0, 800.0, 650.0, 1.0, 3.0]
    eta = [0.5, 0.5, 0.5, -0.5, -0.5, -0.5, 3.5]
    phi = [d_heavy, -d_heavy, d_heavy, np.pi - d_light, -np.pi + d_light, np.pi - d_light, 1.6]
    return np.array(pt), np.array(eta), np.array(phi)


def by_hand_p4(pt, eta, phi):
    return np.array([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)]).T


def test_a_known_two_jet_event_gives_the_expected_masses():
    pt, eta, phi = signal_like_event()
    pad = np.zeros(5)
    feats, kept = dijets.dijet_features(np.r_[pt, pad][None], np.r_[eta, pad][None], np.r_[phi, pad][None])
    assert kept.tolist() == [True] and feats.shape == (1, 14)
    f = dict(zip(dijets.FEATURES, feats[0]))
    # the leading jet (pT about 1.6 TeV) is the heavy one; its mass: the two prongs and the 1 GeV particle
    p_heavy = by_hand_p4(pt[:3], eta[:3], phi[:3]).sum(0)
    p_light = by_hand_p4(pt[3:6], eta[3:6], phi[3:6]).sum(0)
    mass = lambda p: np.sqrt(p[3] ** 2 - (p[:3] ** 2).sum())  # noqa: E731
    assert np.hypot(f["pxj1"], f["pyj1"]) > 1200            # passes the LHCO trigger
    np.testing.assert_allclose([f["pxj1"], f["pyj1"], f["pzj1"]], p_heavy[:3], rtol=1e-9)
    np.testing.assert_allclose(f["mj1"], mass(p_heavy), rtol=1e-9)
    np.testing.assert_allclose(f["mj1"], 500.0, atol=3.0)        # the 1 GeV particle adds < 3 GeV
    np.testing.assert_allclose(pair_mass(850, 0.5, phi[0], 850, 0.5, phi[1]), 500.0, rtol=1e-9)
    np.testing.assert_allclose(f["mj2"], 100.0, atol=3.0)
    # m_jj from the two jets' four-momenta, as the notebook computes it
    e = lambda j: np.sqrt(f[f"px{j}"] ** 2 + f[f"py{j}"] ** 2 + f[f"pz{j}"] ** 2 + f[f"m{j}"] ** 2)  # noqa: E731
    mjj = np.sqrt((e("j1") + e("j2")) ** 2 - sum((f[f"{c}j1"] + f[f"{c}j2"]) ** 2 for c in ("px", "py", "pz")))
    np.testing.assert_allclose(mjj, mass(p_heavy + p_light), rtol=1e-9)
    assert 3300 < mjj < 3700                                     # a W' of 3.5 TeV
    # two prongs: tau_2 far below tau_1 (the third particle sits on a prong's axis)
    assert f["tau2j1"] / f["tau1j1"] < 0.05 and f["tau2j2"] / f["tau1j2"] < 0.05


def test_jets_are_ordered_by_pt_and_padding_is_ignored():
    pt, eta, phi = signal_like_event()
    # swap the order of the particles: the output does not change
    order = np.r_[3:6, 0:3, 6]
    a, _ = dijets.dijet_features(pt[None], eta[None], phi[None])
    b, _ = dijets.dijet_features(pt[order][None], eta[order][None], phi[order][None])
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert np.hypot(a[0, 0], a[0, 1]) > np.hypot(a[0, 7], a[0, 8])


def test_an_event_without_two_jets_is_dropped():
    pt = np.array([[1500.0, 10.0, 5.0, 0.0], [1300.0, 1.0, 1.0, 0.0]])
    eta = np.array([[0.0, 0.1, -0.1, 0.0], [0.0, 0.05, 0.02, 0.0]])
    phi = np.array([[0.0, 0.1, -0.1, 0.0], [0.0, 0.05, 0.02, 0.0]])
    feats, kept = dijets.dijet_features(pt, eta, phi)
    assert kept.tolist() == [False, False] and feats.shape == (0, 14)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="2-d"):
        dijets.dijet_features(np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="negative"):
        dijets.dijet_features(-np.ones((1, 3)), np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        dijets.dijet_features(np.full((1, 3), np.nan), np.zeros((1, 3)), np.zeros((1, 3)))
