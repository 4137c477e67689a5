"""The showers of the MAGIC simulation: primaries, trigger and the expected light in each pixel.

Private to :mod:`course_utils.datasets.magic.simulation`, which turns this
light into noisy camera images, cleans them and computes their Hillas
parameters. Lengths in mm in the camera plane, angles in radians, light in
expected photo-electrons (phe).
"""

from __future__ import annotations

import math

import numpy as np

from course_utils.physics import hillas

#: Trigger efficiency: half at 10**TRIGGER_LOG10_PHE photo-electrons, rising over TRIGGER_WIDTH decades.
TRIGGER_LOG10_PHE = math.log10(300.0)
TRIGGER_WIDTH = 0.2

_DEG = hillas.MM_PER_DEG  # mm per degree


def power_law(rng: np.random.Generator, n: int, index: float, lo: float, hi: float) -> np.ndarray:
    """Energies [TeV] drawn from dN/dE ∝ E^-index on [lo, hi]."""
    a = 1.0 - index
    u = rng.random(n)
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def primaries(rng: np.random.Generator, n: int, gamma: bool) -> dict:
    """Physics of ``n`` showers: light, position, orientation and shape of each image component.

    Components are ellipses (index 0: the main shower; 1-4: sub-showers, empty for
    gammas); lengths in mm, angles in radians, light in expected photo-electrons.
    """
    n_sub = 4
    if gamma:
        energy = power_law(rng, n, 2.6, 0.05, 30.0)
        impact = 300.0 * np.sqrt(rng.random(n))
        pool = np.where(impact < 120.0, 1.0, np.exp(-(impact - 120.0) / 70.0))  # Cherenkov light pool
        light = 3000.0 * energy * pool * rng.lognormal(0.0, 0.3, n)
        # arrival direction: the source smeared by the optics, or anywhere within 1 degree (diffuse gammas)
        diffuse = rng.random(n) < 0.3
        r_diff = 1.0 * _DEG * np.sqrt(rng.random(n))
        a_diff = rng.uniform(0, 2 * np.pi, n)
        origin = np.where(diffuse[:, None], np.c_[r_diff * np.cos(a_diff), r_diff * np.sin(a_diff)],
                          rng.normal(0.0, 0.05 * _DEG, (n, 2)))
        lg = np.log10(np.maximum(light, 150.0) / 150.0)  # brighter images are larger
        dist = (0.0062 * impact + 0.08 * np.log10(energy / 0.05)) * _DEG * rng.lognormal(0.0, 0.1, n)
        misalign = rng.normal(0.0, np.radians(4.0), n)
        length = (0.065 + 0.025 * lg + 0.04 * impact / 150.0) * _DEG * rng.lognormal(0.0, 0.25, n)
        width = (0.04 + 0.01 * lg) * _DEG * rng.lognormal(0.0, 0.25, n)
        skew = rng.normal(2.5, 1.5, n)
    else:
        energy = power_law(rng, n, 2.7, 0.15, 60.0)
        impact = 400.0 * np.sqrt(rng.random(n))
        pool = np.where(impact < 120.0, 1.0, np.exp(-(impact - 120.0) / 90.0))
        light = 1000.0 * energy * pool * rng.lognormal(0.0, 0.5, n)
        rho = 2.5 * _DEG * np.sqrt(rng.random(n))  # isotropic arrival directions around the source
        phi0 = rng.uniform(0, 2 * np.pi, n)
        origin = np.c_[rho * np.cos(phi0), rho * np.sin(phi0)]
        lg = np.log10(np.maximum(light, 150.0) / 150.0)
        dist = (0.0055 * impact + 0.1) * _DEG * rng.lognormal(0.0, 0.25, n)
        misalign = rng.normal(0.0, np.radians(15.0), n)
        length = (0.07 + 0.035 * lg + 0.04 * impact / 150.0) * _DEG * rng.lognormal(0.0, 0.3, n)
        width = (0.04 + 0.015 * lg) * _DEG * rng.lognormal(0.0, 0.35, n)
        skew = rng.uniform(-2.0, 4.0, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    centre = origin + dist[:, None] * np.c_[np.cos(phi), np.sin(phi)]
    shape = (n, 1 + n_sub)
    comp = {k: np.zeros(shape) for k in ("light", "x", "y", "length", "width", "psi", "skew")}
    comp["x"][:, 0], comp["y"][:, 0] = centre[:, 0], centre[:, 1]
    comp["length"][:, 0], comp["width"][:, 0] = length, np.minimum(width, length)
    comp["psi"][:, 0], comp["skew"][:, 0] = phi + misalign, skew
    n_subshowers = np.zeros(n, dtype=int)
    muon = np.zeros(n, dtype=bool)
    ring = {k: np.zeros(n) for k in ("light", "x", "y", "radius", "start", "span")}
    if gamma:
        comp["light"][:, 0] = light
    else:
        n_subshowers = np.minimum(rng.poisson(0.7, n), n_sub)
        frac = rng.uniform(0.05, 0.3, (n, n_sub)) * (np.arange(n_sub)[None, :] < n_subshowers[:, None])
        frac *= np.minimum(1.0, 0.7 / np.maximum(frac.sum(axis=1, keepdims=True), 1e-12))
        comp["light"][:, 0] = light * (1.0 - frac.sum(axis=1))
        comp["light"][:, 1:] = light[:, None] * frac
        offset = rng.normal(0.0, 0.15 * _DEG, (n, n_sub, 2))
        comp["x"][:, 1:] = centre[:, 0, None] + offset[..., 0]
        comp["y"][:, 1:] = centre[:, 1, None] + offset[..., 1]
        comp["length"][:, 1:] = 0.05 * _DEG * rng.lognormal(0.0, 0.3, (n, n_sub))
        comp["width"][:, 1:] = 0.025 * _DEG * rng.lognormal(0.0, 0.3, (n, n_sub))
        comp["psi"][:, 1:] = rng.uniform(0, 2 * np.pi, (n, n_sub))
        # local muons: an arc of a ring of about 1.1 degrees
        muon = rng.random(n) < 0.05
        ring["light"] = np.where(muon, rng.uniform(80.0, 600.0, n), 0.0)
        ring["x"], ring["y"] = (rng.normal(0.0, 0.4 * _DEG, n) for _ in range(2))
        ring["radius"] = rng.uniform(0.9, 1.25, n) * _DEG
        ring["start"] = rng.uniform(0, 2 * np.pi, n)
        ring["span"] = rng.uniform(np.pi / 3, 2 * np.pi, n)
    return {"energy": energy, "impact": impact, "comp": comp, "ring": ring,
            "n_subshowers": n_subshowers, "muon": muon}


def trigger(rng: np.random.Generator, light: np.ndarray) -> np.ndarray:
    """Trigger: its efficiency rises with the light of the shower (half at 300 phe)."""
    with np.errstate(divide="ignore"):
        x = (np.log10(np.maximum(light, 1e-12)) - TRIGGER_LOG10_PHE) / TRIGGER_WIDTH
    return rng.random(light.shape) < 1.0 / (1.0 + np.exp(-x))


def expected_light(geom: hillas.CameraGeometry, p: dict, chunk: int = 256) -> np.ndarray:
    """Expected photo-electrons per pixel, shape (n, n_pixels), float32.

    Each component is a two-dimensional Gaussian whose profile along the axis is
    a split normal (spread ``length * e^(-s/8)`` towards the source side,
    ``length * e^(s/8)`` away from it, for a skew ``s``), shifted so that its
    mean stays at the component's centre. Pixel integration is approximated by
    adding the variance of a hexagonal pixel (5 d²/72) to both spreads.
    """
    c = p["comp"]
    n = c["light"].shape[0]
    ev, k = np.nonzero(c["light"] > 0)  # only the components that exist, grouped by event
    comp = {name: v[ev, k].astype(np.float32)[:, None] for name, v in c.items()}
    pix_var = np.float32(5.0 * geom.pixel_spacing**2 / 72.0)
    stretch = np.exp(comp["skew"] / 8)
    s_near = np.sqrt((comp["length"] / stretch) ** 2 + pix_var)
    s_far = np.sqrt((comp["length"] * stretch) ** 2 + pix_var)
    sw = np.sqrt(comp["width"] ** 2 + pix_var)
    shift = np.float32(math.sqrt(2 / math.pi)) * (s_far - s_near)  # mean of the split normal
    norm = comp["light"] / (np.float32(math.pi) * (s_near + s_far) * sw)
    cos, sin = np.cos(comp["psi"]), np.sin(comp["psi"])
    px, py = geom.pix_x.astype(np.float32)[None, :], geom.pix_y.astype(np.float32)[None, :]
    dens = np.empty((ev.size, geom.n_pixels), dtype=np.float32)
    for lo in range(0, ev.size, chunk):  # small chunks stay in the CPU cache
        sl = slice(lo, lo + chunk)
        dx, dy = px - comp["x"][sl], py - comp["y"][sl]
        u = dx * cos[sl] + dy * sin[sl] + shift[sl]
        u /= np.where(u < 0, s_near[sl], s_far[sl])
        v = (dy * cos[sl] - dx * sin[sl]) / sw[sl]
        u *= u
        v *= v
        u += v
        u *= np.float32(-0.5)
        np.exp(u, out=u)
        dens[sl] = u * norm[sl]
    mu = np.zeros((n, geom.n_pixels), dtype=np.float32)
    if ev.size:
        events, starts = np.unique(ev, return_index=True)  # ev is sorted: sum each event's components
        mu[events] = np.add.reduceat(dens, starts, axis=0)
    r = p["ring"]
    m = np.flatnonzero(r["light"] > 0)
    if m.size:
        rx = geom.pix_x[None, :] - r["x"][m, None]
        ry = geom.pix_y[None, :] - r["y"][m, None]
        sig = math.sqrt((0.04 * _DEG) ** 2 + pix_var)
        along = np.mod(np.arctan2(ry, rx) - r["start"][m, None], 2 * np.pi) < r["span"][m, None]
        radial = np.exp(-0.5 * ((np.hypot(rx, ry) - r["radius"][m, None]) / sig) ** 2) / (math.sqrt(2 * np.pi) * sig)
        mu[m] += (r["light"][m] / (r["radius"][m] * r["span"][m]))[:, None] * radial * along
    return mu * np.float32(geom.pixel_area)

