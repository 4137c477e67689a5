"""Dimuon resonances: PDG masses and widths from ``particle``, and the local excess in a mass window."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.physics import resonances


def test_local_excess_hand_worked():
    # sidebands [0, 1) and [3, 4) hold 10 events each, the window [1.5, 2.5) holds 30
    mass = np.concatenate([np.linspace(0.05, 0.95, 10), np.linspace(3.05, 3.95, 10), np.linspace(1.55, 2.45, 30)])
    got = resonances.local_excess(mass, (1.5, 2.5), ((0.0, 1.0), (3.0, 4.0)))
    # B = 0.5 * 10 + 0.5 * 10 = 10, var(B) = 0.25 * 10 + 0.25 * 10 = 5, Z = 20 / sqrt(30 + 5)
    assert got["observed"] == 30 and got["background"] == pytest.approx(10)
    assert got["background_error"] == pytest.approx(np.sqrt(5))
    assert got["significance"] == pytest.approx(20 / np.sqrt(35))
    # a linear background: uneven sidebands still interpolate it exactly
    flat = np.random.default_rng(0).uniform(0, 10, 200_000)
    z = resonances.local_excess(flat, (4.0, 5.0), ((1.0, 3.0), (6.0, 6.5)))
    assert abs(z["significance"]) < 4 and z["background"] == pytest.approx(20_000, rel=0.03)


def test_local_excess_bad_input():
    with pytest.raises(ValueError, match="empty"):
        resonances.local_excess([], (1, 2), ((0, 1), (2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        resonances.local_excess([1.0, np.nan], (1, 2), ((0, 1), (2, 3)))
    with pytest.raises(ValueError, match="sideband"):
        resonances.local_excess([1.0], (1, 2), ((1.5, 3), (2, 3)))


def test_pdg_masses_and_widths():
    # PDG 2024 values: J/psi 3096.900 MeV, Z 91.1880 GeV, rho(770) width 147.4 MeV, phi width 4.249 MeV
    assert resonances.pdg_mass(443) == pytest.approx(3.0969, abs=1e-4)
    assert resonances.pdg_mass(23) == pytest.approx(91.188, abs=0.002)
    assert resonances.pdg_width(113) == pytest.approx(0.1474, abs=0.002)
    assert resonances.pdg_width(333) == pytest.approx(0.004249, abs=1e-4)
    with pytest.raises(ValueError, match="PDG id"):
        resonances.pdg_mass(999_999_999)


def test_every_window_holds_its_resonance_between_its_sidebands():
    names = [r.name for r in resonances.RESONANCES]
    assert names[0] == "eta" and names[-1] == "Z" and len(set(names)) == len(names)
    for res in resonances.RESONANCES:
        (l0, l1), (r0, r1) = res.sidebands
        assert l0 < l1 <= res.window[0] < resonances.pdg_mass(res.pdgid) < res.window[1] <= r0 < r1, res.name
