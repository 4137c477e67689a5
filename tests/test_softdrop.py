"""Soft drop in NumPy: a hand-worked jet, and the same groomed mass as FastJet on random two-prong jets."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.physics.softdrop import soft_drop, soft_drop_mass


def _massless(pt, y, phi):
    pt, y, phi = (np.asarray(a, dtype=float) for a in (pt, y, phi))
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(y), pt * np.cosh(y)], axis=1)


def test_soft_drop_by_hand():
    # a hard particle and a soft one 0.5 apart: z = 5 / 105 < 0.1, the soft one is dropped
    p = _massless([100.0, 5.0], [0.0, 0.5], [0.0, 0.0])
    np.testing.assert_allclose(soft_drop(p), p[0])
    assert soft_drop_mass(p) == pytest.approx(0.0, abs=1e-6)
    # with z_cut = 0.01 the splitting passes: the mass of the pair, m^2 = 2 pT1 pT2 (cosh dy - cos dphi)
    m = np.sqrt(2 * 100 * 5 * (np.cosh(0.5) - 1))
    assert soft_drop_mass(p, z_cut=0.01) == pytest.approx(m, rel=1e-9)
    # beta > 0 makes wide splittings harder to pass: z_cut (dR/R0)^beta = 0.1 * (0.5/0.8)^2 = 0.039 < 0.048
    assert soft_drop_mass(p, beta=2.0) == pytest.approx(m, rel=1e-9)


def test_soft_drop_refuses_bad_input():
    with pytest.raises(ValueError, match="shape"):
        soft_drop(np.ones((3, 3)))
    with pytest.raises(ValueError, match="positive transverse momentum"):
        soft_drop([[0.0, 0.0, 5.0, 5.0]])
    with pytest.raises(ValueError, match="z_cut"):
        soft_drop(_massless([10.0], [0.0], [0.0]), z_cut=-1)


def test_soft_drop_mass_equals_fastjet():
    import awkward as ak

    fastjet = pytest.importorskip("fastjet")
    rng = np.random.default_rng(4)
    jets = []
    for _ in range(6):  # two hard prongs 0.3-0.6 apart, soft wide-angle radiation around them
        dr = rng.uniform(0.3, 0.6)
        prongs = _massless(rng.uniform(150, 300, 2), [0.0, dr], [0.0, 0.0])
        hard = np.concatenate([_massless(rng.exponential(20, 8), rng.normal(y, 0.03, 8), rng.normal(0, 0.03, 8))
                               for y in (0.0, dr)])
        soft = _massless(rng.exponential(2, 25), rng.uniform(-0.7, 0.9, 25), rng.uniform(-0.7, 0.7, 25))
        jets.append(np.concatenate([prongs, hard, soft]))
    ours = np.array([soft_drop_mass(j) for j in jets])
    counts = [len(j) for j in jets]
    c = np.concatenate(jets)
    arr = ak.unflatten(ak.zip({"px": c[:, 0], "py": c[:, 1], "pz": c[:, 2], "E": c[:, 3]}), counts)
    cs = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0))
    theirs = ak.to_numpy(cs.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=0.8).msoftdrop)
    np.testing.assert_allclose(ours, theirs.ravel(), rtol=1e-6)
    full = np.array([np.sqrt(max(j[:, 3].sum() ** 2 - (j[:, :3].sum(0) ** 2).sum(), 0)) for j in jets])
    assert np.all(ours <= full + 1e-9) and np.any(ours < full - 1.0)  # grooming removed something
