"""The course's photon showers: a GFlash-style parametrisation in the dataset-1 voxel geometry.

It is a **parametrisation, not Geant4**: it draws each shower from the average
profiles of electromagnetic showers and their fluctuations (Grindhammer and
Peters, GFlash, hep-ex/0001020), then writes it in exactly the layout of the
published CaloChallenge dataset 1 photons (:mod:`.formats`). Per shower
(NumPy, a batch of showers at a time):

1. **Conversion**: the photon travels an exponential distance (mean 9/7 X0)
   before converting; the shower starts there.
2. **Longitudinal profile**: energy per radiation length follows a Gamma
   distribution ``dE/dt = E β^α t^(α-1) e^(-βt) / Γ(α)``, whose maximum
   ``T = (α-1)/β`` and shape ``α`` fluctuate from shower to shower: ``ln T``
   and ``ln α`` are drawn as a correlated Gaussian pair with the GFlash means,
   widths and correlation for a homogeneous lead calorimeter.
3. **Layers**: the profile is integrated over the depth of each ATLAS layer
   (presampler 0, strips 1, middle 2, back 3, first tile layer 12, in X0 after
   ~1.8 X0 of dead material); energy in dead material or behind the last layer
   is lost, as in the real detector.
4. **Sampling fluctuations**: each layer's energy is smeared by a relative
   Gaussian of width ``a / sqrt(E_layer / GeV)`` (a sampling calorimeter only
   sees a fraction of the energy, in the liquid argon or scintillator).
5. **Lateral profile**: the layer's energy is split into energy spots whose
   radius follows the GFlash core + tail profile
   ``f(r) = p 2r R_C^2/(r^2+R_C^2)^2 + (1-p) 2r R_T^2/(r^2+R_T^2)^2``
   (radii in Molière radii, depending on the depth in units of ``T``), at a
   uniform angle around a slightly displaced shower axis; each spot carries an
   exponentially distributed share of the layer's energy; the spots are
   binned into the radial and angular voxels of the binning file.

The constants (critical energy, layer depths, sampling terms, Molière
radius) are round numbers for a lead/liquid-argon calorimeter, not a fit to the
published showers: the simulated showers have the right layout, units and
broad behaviour (response, depth and width growing with energy), not the
detail of Geant4.

Examples
--------
>>> from course_utils.datasets.calo import simulation
>>> e, showers = simulation.simulate_showers(1_000, seed=1)        # arrays, not cached
>>> ds = simulation.simulate(20_000, seed=1)                         # cached HDF5, doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.calo.formats import INCIDENT_ENERGIES, Binning, CaloData, default_binning, read, write
from course_utils.validation import check_count

__all__ = ["VERSION", "FILE_NAME", "LAYER_DEPTHS", "simulate_showers", "simulate"]

#: Bump when the generator changes: cached samples are then generated again.
VERSION = "3"
#: Name of the simulated file (the published training file's name).
FILE_NAME = "dataset_1_photons_1.hdf5"
#: Largest sample the simulation agrees to produce (about 1.5 GB of voxels).
MAX_SHOWERS = 1_000_000

#: Effective critical energy [MeV] of the lead/liquid-argon mixture and atomic number of the absorber,
#: for the GFlash formulas (a round number: lead alone has 7.43 MeV, liquid argon about 32 MeV, PDG).
CRITICAL_ENERGY = 10.0
Z_ABSORBER = 82.0
#: Molière radius [mm] (lead/liquid argon, round number).
MOLIERE_RADIUS = 40.0
#: Depth range [X0, from the front face, dead material included] of each layer id.
LAYER_DEPTHS = {0: (1.8, 2.4), 1: (2.6, 7.0), 2: (7.0, 23.0), 3: (23.0, 25.0), 12: (25.0, 40.0)}
#: Sampling term ``a`` (relative resolution a / sqrt(E/GeV)) of each layer.
SAMPLING_TERMS = {0: 0.35, 1: 0.12, 2: 0.10, 3: 0.15, 12: 0.50}
#: Energy carried by one lateral spot [MeV], and the most spots per layer and shower.
SPOT_ENERGY = 4.0
MAX_SPOTS = 150
#: Spread [mm] of the shower axis around the nominal impact point.
AXIS_SPREAD = 1.0


def _longitudinal(e_inc: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per shower: conversion depth t0 [X0], shape alpha and rate beta [1/X0] (GFlash, homogeneous medium)."""
    y = e_inc / CRITICAL_ENERGY
    ln_y = np.log(y)
    mean_ln_t = np.log(ln_y - 0.858)                       # T_hom = ln y - 0.858 (from the conversion point)
    mean_ln_a = np.log(0.21 + (0.492 + 2.38 / Z_ABSORBER) * ln_y)
    sig_ln_t = 1.0 / (-1.4 + 1.26 * ln_y)
    sig_ln_a = 1.0 / (-0.58 + 0.86 * ln_y)
    rho = 0.705 - 0.023 * ln_y
    z1, z2 = rng.standard_normal((2, len(e_inc)))
    ln_t = mean_ln_t + sig_ln_t * z1
    ln_a = mean_ln_a + sig_ln_a * (rho * z1 + np.sqrt(1.0 - rho**2) * z2)
    t_max, alpha = np.exp(ln_t), np.maximum(np.exp(ln_a), 1.6)  # GFlash is fitted above ~1 GeV: no very long tails
    beta = (alpha - 1.0) / t_max
    t0 = rng.exponential(9.0 / 7.0, len(e_inc))
    return t0, alpha, beta


def _radial_parameters(e_gev: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GFlash core radius, tail radius [Molière radii] and core fraction at depth tau = t / T."""
    z = Z_ABSORBER
    ln_e = np.log(e_gev)
    r_core = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * z) * tau
    r_tail = (0.659 - 0.00309 * z) * (np.exp(-2.59 * (tau - 0.645)) + np.exp((0.3585 + 0.0421 * ln_e) * (tau - 0.645)))
    p3 = np.maximum(1.313 - 0.0686 * ln_e, 0.3)
    x = ((0.401 + 0.00187 * z) - tau) / p3
    p_core = np.clip((2.632 - 0.00094 * z) * np.exp(x - np.exp(x)), 0.0, 1.0)
    return r_core, r_tail, p_core


def _one_batch(e_inc: np.ndarray, binning: Binning, rng: np.random.Generator) -> np.ndarray:
    from scipy.special import gammainc

    n = len(e_inc)
    showers = np.zeros((n, binning.n_voxels), dtype=np.float32)
    t0, alpha, beta = _longitudinal(e_inc, rng)
    t_max = (alpha - 1.0) / beta
    axis_x, axis_y = AXIS_SPREAD * rng.standard_normal((2, n))
    for layer in binning.layers:
        if layer.id not in LAYER_DEPTHS:
            raise ValueError(f"the simulation has no depth for layer {layer.id}: it knows {sorted(LAYER_DEPTHS)}")
        lo, hi = LAYER_DEPTHS[layer.id]
        a_lo, a_hi = np.maximum(lo - t0, 0.0), np.maximum(hi - t0, 0.0)
        frac = gammainc(alpha, beta * a_hi) - gammainc(alpha, beta * a_lo)
        e_layer = e_inc * frac
        # relative width a / sqrt(E/GeV), i.e. an absolute width a sqrt(E[MeV] * 1000 MeV)
        sigma = SAMPLING_TERMS[layer.id] * np.sqrt(e_layer * 1000.0)
        e_layer = np.maximum(e_layer + sigma * rng.standard_normal(n), 0.0)
        # the mean depth of the layer's energy, in units of the shower maximum
        t_mid = 0.5 * (np.clip(a_lo, 0, None) + np.minimum(a_hi, a_lo + 3.0 * t_max + 1.0))
        tau = np.clip(t_mid / t_max, 0.05, 6.0)
        r_core, r_tail, p_core = _radial_parameters(e_inc / 1000.0, tau)
        n_spots = np.where(e_layer > 0, np.clip(np.ceil(e_layer / SPOT_ENERGY), 1, MAX_SPOTS), 0).astype(np.int64)
        owner = np.repeat(np.arange(n), n_spots)
        if owner.size == 0:
            continue
        u = rng.uniform(0.0, 0.995, owner.size)
        core = rng.uniform(size=owner.size) < p_core[owner]
        radius = np.where(core, r_core[owner], r_tail[owner]) * MOLIERE_RADIUS * np.sqrt(u / (1.0 - u))
        angle = rng.uniform(-math.pi, math.pi, owner.size)
        x = radius * np.cos(angle) + axis_x[owner]
        y = radius * np.sin(angle) + axis_y[owner]
        r = np.hypot(x, y)
        r_bin = np.searchsorted(layer.r_edges, r, side="right") - 1
        a_bin = np.minimum(((np.arctan2(y, x) + math.pi) / (2 * math.pi) * layer.n_alpha).astype(np.int64),
                           layer.n_alpha - 1)
        inside = r_bin < layer.n_r   # energy beyond the last radial edge is not in any voxel
        voxel = a_bin[inside] * layer.n_r + r_bin[inside]
        # spots carry exponentially distributed shares of the layer's energy (deposits are continuous)
        share = rng.exponential(1.0, owner.size)
        share /= np.bincount(owner, weights=share, minlength=n)[owner]
        weight = (e_layer[owner] * share)[inside]
        flat = np.bincount(owner[inside] * layer.n_voxels + voxel, weights=weight, minlength=n * layer.n_voxels)
        showers[:, layer.voxels] = flat.reshape(n, layer.n_voxels)
    return showers


def simulate_showers(n: int, *, seed: int = 42, energies: np.ndarray | None = None,
                     binning: Binning | None = None, batch: int = 4_000) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` photon showers (not cached, not written).

    Parameters
    ----------
    n
        Number of showers.
    seed
        Seed of the random generator.
    energies : numpy.ndarray, shape (n,), optional
        Incident energies [MeV]; by default drawn uniformly among the 15
        energies of dataset 1 (:data:`.formats.INCIDENT_ENERGIES`).
    binning
        Voxel geometry (default: dataset 1 photons).
    batch
        Showers drawn at once (memory: about ``batch * 750`` spots).

    Returns
    -------
    incident_energies : numpy.ndarray, shape (n,)
        [MeV].
    showers : numpy.ndarray, shape (n, 368)
        Energy per voxel [MeV], float32.
    """
    n = check_count(n, "n", max_value=MAX_SHOWERS)
    rng = np.random.default_rng(seed)
    binning = default_binning() if binning is None else binning
    if energies is None:
        energies = rng.choice(INCIDENT_ENERGIES, size=n)
    energies = np.asarray(energies, dtype=float).reshape(-1)
    if energies.shape != (n,) or not np.all(np.isfinite(energies)) or np.any(energies < 100.0):
        raise ValueError(f"energies must be {n} finite values in MeV (>= 100), got shape {energies.shape}, "
                         f"min {np.nanmin(energies) if energies.size else None}")
    showers = np.concatenate([_one_batch(energies[i:i + batch], binning, rng) for i in range(0, n, batch)])
    return energies, showers


def simulate(n: int = 121_000, *, seed: int = 42) -> Dataset:
    """The course's simulated showers, generated once and cached as a dataset-1 HDF5 file.

    Parameters
    ----------
    n
        Number of showers (default 121,000, as the published training file).
    seed
        Seed of the simulation.

    Returns
    -------
    Dataset
        ``.data`` is a :class:`.formats.CaloData` read back from the written file.
    """
    n = check_count(n, "n", max_value=MAX_SHOWERS)

    def generate(folder: Path) -> None:
        e, showers = simulate_showers(int(n), seed=seed)
        write(CaloData(e, showers), folder / FILE_NAME)

    folder = cached_simulation("calo", {"n": int(n), "seed": int(seed)}, generate, version=VERSION)
    path = folder / FILE_NAME
    data = read(path)
    return Dataset(data, "simulated", "calo",
                   "course simulation: GFlash-style parametrisation (Gamma longitudinal profile, core + tail "
                   f"radial profile, sampling fluctuations), not Geant4, seed {seed}",
                   SIMULATION_LICENCE, path, {"seed": seed, "version": VERSION})
