"""N-subjettiness against a hand-worked jet and against FastJet's exclusive kT axes."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.physics import nsubjettiness as ns


def p4(pt, y, phi):
    """Massless four-momenta (px, py, pz, E) from pT, rapidity, azimuth."""
    pt, y, phi = map(np.atleast_1d, (pt, y, phi))
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(y), pt * np.cosh(y)], axis=1)


# the hand-worked jet: a (100 GeV at y=0, phi=0), b (100 GeV at y=0.5, phi=0), c (50 GeV at y=0, phi=0.4)
JET = p4([100.0, 100.0, 50.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.4])


def test_tau_by_hand():
    # one axis on a: tau1 = (100*0 + 100*0.5 + 50*0.4) / (250 * R0) = 0.28
    assert ns.tau_n(JET, JET[:1]) == pytest.approx([0.28])
    # axes on a and b: only c is away, 0.4 from a (0.64 from b): tau2 = 50*0.4/250 = 0.08
    assert ns.tau_n(JET, JET[:2]) == pytest.approx([0.08])
    # R0 and beta enter as documented: R0 = 0.5 doubles tau (beta = 1); beta = 2 squares the distances
    assert ns.tau_n(JET, JET[:1], r0=0.5) == pytest.approx([0.56])
    assert ns.tau_n(JET, JET[:1], beta=2.0) == pytest.approx([(100 * 0.25 + 50 * 0.16) / 250])
    # three axes on the three constituents: zero
    assert ns.tau_n(JET, JET) == pytest.approx([0.0])


def test_exclusive_kt_axes_by_hand():
    # kT distances: d_ab = 100^2 * 0.25 = 2500, d_ac = 50^2 * 0.16 = 400, d_bc = 50^2 * 0.41 = 1025:
    # a and c merge first; b stays alone
    axes = ns.exclusive_kt_axes(JET, 2)
    np.testing.assert_allclose(axes[0], JET[0] + JET[2])
    np.testing.assert_allclose(axes[1], JET[1])
    np.testing.assert_allclose(ns.exclusive_kt_axes(JET, 1)[0], JET.sum(axis=0))
    np.testing.assert_allclose(ns.exclusive_kt_axes(JET, 3), JET[[0, 1, 2]])


def test_vectorised_over_jets_matches_one_by_one():
    rng = np.random.default_rng(3)
    jets = [p4(rng.exponential(20, k) + 1, rng.normal(0, 0.3, k), rng.normal(0, 0.3, k)) for k in (5, 12, 30)]
    axes = np.stack([ns.exclusive_kt_axes(j, 2) for j in jets])
    together = ns.tau_n(np.concatenate(jets), axes, np.array([len(j) for j in jets]))
    alone = [ns.tau_n(j, a)[0] for j, a in zip(jets, axes)]
    np.testing.assert_allclose(together, alone)


def test_axes_agree_with_fastjet():
    ak = pytest.importorskip("awkward")
    fastjet = pytest.importorskip("fastjet")
    rng = np.random.default_rng(0)
    jet = p4(rng.exponential(30, 60) + 0.5, rng.normal(0, 0.4, 60), rng.normal(0, 0.4, 60))
    particles = ak.Array([{"px": float(a), "py": float(b), "pz": float(c), "E": float(d)} for a, b, c, d in jet])
    seq = fastjet.ClusterSequence(ak.Array([particles.tolist()]), fastjet.JetDefinition(fastjet.kt_algorithm, 10.0))
    for n in (1, 2, 3):
        ex = seq.exclusive_jets(n_jets=n)[0]
        ref = np.stack([ak.to_numpy(ex[c]) for c in ("px", "py", "pz", "E")], axis=1)
        ref = ref[np.argsort(-np.hypot(ref[:, 0], ref[:, 1]))]
        np.testing.assert_allclose(ns.exclusive_kt_axes(jet, n), ref, rtol=1e-9, atol=1e-9)


def test_tau21_and_rapidity():
    np.testing.assert_allclose(ns.tau21([0.5, 0.0], [0.1, 0.0]), [0.2, 0.0])
    pt, y, phi = ns.rapidity_phi(JET)
    np.testing.assert_allclose(pt, [100, 100, 50])
    np.testing.assert_allclose(y, [0, 0.5, 0], atol=1e-12)
    np.testing.assert_allclose(phi, [0, 0, 0.4])


@pytest.mark.parametrize("call, message", [
    (lambda: ns.tau_n(np.zeros((0, 4)), JET[:1]), "empty"),
    (lambda: ns.tau_n(JET[:, :3], JET[:1]), "shape"),
    (lambda: ns.tau_n(np.where(JET > 60, np.nan, JET), JET[:1]), "NaN"),
    (lambda: ns.tau_n(JET, JET[:1], np.array([2])), "counts"),
    (lambda: ns.tau_n(JET, JET[:1], r0=0.0), "positive"),
    (lambda: ns.exclusive_kt_axes(JET, 4), "no 4 exclusive"),
    (lambda: ns.exclusive_kt_axes(JET, 0), "integer >= 1"),
    (lambda: ns.tau21([1.0], [1.0, 2.0]), "same shape"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
