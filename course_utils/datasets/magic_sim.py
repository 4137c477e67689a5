"""A small Cherenkov-camera simulation that writes ``magic04.data``.

What it does, per event (NumPy, a batch of events at a time):

1. draws a primary: a **gamma** from the source (power-law energy spectrum,
   impact parameter up to 300 m) or a cosmic-ray **hadron** (steeper spectrum,
   less light per TeV, arrival direction anywhere within 2.5° of the source);
2. draws its image on a hexagonal camera (:func:`course_utils.hillas.hexagonal_camera`,
   1027 pixels of 0.1°): a gamma is one compact ellipse whose major axis points
   back to the source, with a light profile skewed away from it; a hadron is a
   wider, randomly oriented ellipse plus up to four electromagnetic
   sub-showers and, sometimes, the arc of a muon ring.
   A trigger, whose efficiency rises with the shower's light (half at 300 phe),
   decides which showers are drawn at all;
3. turns the expected light into photo-electrons (Poisson), adds the
   night-sky background (Poisson), the photomultiplier's excess noise and the
   electronics noise, and subtracts the pedestal;
4. cleans the image with tail cuts (6 and 3 phe, as MAGIC) and keeps events
   with at least 5 pixels, 80 phe and little light at the camera edge;
5. computes the ten MAGIC features (:func:`course_utils.hillas.hillas_parameters`).

The physics is a caricature, tuned by eye on the real distributions: the
simulated sample has the same columns, units, labels and class ratio as the
UCI file, but it does not match it feature by feature (its CORSIKA showers are
far richer). The classes separate about as well as in the real file (a
random forest reaches similar accuracy and AUC), but not for the same reasons.

Examples
--------
>>> from course_utils.datasets import magic_sim
>>> ev = magic_sim.simulate_events(200, seed=1, progress=False)   # doctest: +SKIP
>>> ds = magic_sim.simulate(n_events=2_000, seed=1)               # cached magic04.data, doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import hillas
from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._registry import Dataset
from course_utils.datasets.magic import COLUMNS, FEATURES, read

__all__ = ["GAMMA_FRACTION", "N_EVENTS", "SimulatedEvents", "simulate_events", "write_magic_file", "simulate"]

#: Share of gammas in the UCI file (12,332 of 19,020), the default of the simulation.
GAMMA_FRACTION = 12_332 / 19_020
#: Default number of events: as many as the UCI file.
N_EVENTS = 19_020
#: The largest sample the simulation agrees to produce (about 50 MB of features).
MAX_EVENTS = 2_000_000
#: Trigger efficiency: half at 10**TRIGGER_LOG10_PHE photo-electrons, rising over TRIGGER_WIDTH decades.
TRIGGER_LOG10_PHE = math.log10(300.0)
TRIGGER_WIDTH = 0.2
#: Bump when the generator changes: cached samples are then generated again.
VERSION = "1"

_DEG = hillas.MM_PER_DEG  # mm per degree


@dataclass
class SimulatedEvents:
    """What :func:`simulate_events` returns.

    Attributes
    ----------
    table : pandas.DataFrame, shape (n_events, ...)
        :data:`course_utils.hillas.HILLAS_COLUMNS`, then ``class`` (``g``/``h``)
        and the truth: ``energy`` [TeV], ``impact`` [m], ``n_subshowers``, ``muon``.
    geometry : CameraGeometry
        The camera.
    images, masks : numpy.ndarray, shape (n_events, n_pixels), or None
        Charges [phe] after noise and pedestal subtraction, and the cleaning
        masks (only with ``keep_images=True``).
    """

    table: pd.DataFrame
    geometry: hillas.CameraGeometry
    images: np.ndarray | None = None
    masks: np.ndarray | None = None

    @property
    def features(self) -> pd.DataFrame:
        """The ten features and the class, as in ``magic04.data``."""
        return self.table[COLUMNS]


def _check_settings(n_events: int, seed: int, gamma_fraction: float, nsb: float, picture_thresh: float,
                    boundary_thresh: float, min_size: float, min_pixels: int) -> None:
    if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or not 1 <= n_events <= MAX_EVENTS:
        raise ValueError(f"n_events must be an integer in [1, {MAX_EVENTS:,}], got {n_events!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if not (isinstance(gamma_fraction, (int, float)) and 0 < gamma_fraction < 1):
        raise ValueError(f"gamma_fraction must be strictly between 0 and 1, got {gamma_fraction!r}")
    if not (math.isfinite(nsb) and 0 <= nsb <= 50):
        raise ValueError(f"nsb (night-sky background, phe per pixel) must be in [0, 50], got {nsb!r}")
    if not (math.isfinite(picture_thresh) and math.isfinite(boundary_thresh) and 0 < boundary_thresh <= picture_thresh):
        raise ValueError(f"thresholds must satisfy 0 < boundary_thresh <= picture_thresh, got "
                         f"boundary {boundary_thresh!r}, picture {picture_thresh!r}")
    if not (math.isfinite(min_size) and 0 <= min_size <= 1e5):
        raise ValueError(f"min_size (phe) must be in [0, 1e5], got {min_size!r}")
    if isinstance(min_pixels, bool) or not isinstance(min_pixels, (int, np.integer)) or not 3 <= min_pixels <= 500:
        raise ValueError(f"min_pixels must be an integer in [3, 500] (a Hillas ellipse needs 3), got {min_pixels!r}")


def _power_law(rng: np.random.Generator, n: int, index: float, lo: float, hi: float) -> np.ndarray:
    """Energies [TeV] drawn from dN/dE ∝ E^-index on [lo, hi]."""
    a = 1.0 - index
    u = rng.random(n)
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def _primaries(rng: np.random.Generator, n: int, gamma: bool) -> dict:
    """Physics of ``n`` showers: light, position, orientation and shape of each image component.

    Components are ellipses (index 0: the main shower; 1-4: sub-showers, empty for
    gammas); lengths in mm, angles in radians, light in expected photo-electrons.
    """
    n_sub = 4
    if gamma:
        energy = _power_law(rng, n, 2.6, 0.05, 30.0)
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
        energy = _power_law(rng, n, 2.7, 0.15, 60.0)
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


def _trigger(rng: np.random.Generator, light: np.ndarray) -> np.ndarray:
    """Trigger: its efficiency rises with the light of the shower (half at 300 phe)."""
    with np.errstate(divide="ignore"):
        x = (np.log10(np.maximum(light, 1e-12)) - TRIGGER_LOG10_PHE) / TRIGGER_WIDTH
    return rng.random(light.shape) < 1.0 / (1.0 + np.exp(-x))


def _expected_light(geom: hillas.CameraGeometry, p: dict, chunk: int = 256) -> np.ndarray:
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


_TRUTH = ["class", "energy", "impact", "n_subshowers", "muon"]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=[*hillas.HILLAS_COLUMNS, *_TRUTH])


def _batch(geom: hillas.CameraGeometry, rng: np.random.Generator, n: int, gamma: bool, nsb: float,
           picture_thresh: float, boundary_thresh: float, min_size: float, min_pixels: int,
           keep_images: bool) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
    """Simulate ``n`` primaries of one class; return the accepted events only."""
    p = _primaries(rng, n, gamma)
    # trigger, and showers outside the camera: decided before drawing any image
    cx, cy = p["comp"]["x"][:, 0], p["comp"]["y"][:, 0]
    triggered = _trigger(rng, p["comp"]["light"].sum(axis=1) + p["ring"]["light"]) & (
        np.hypot(cx, cy) < geom.radius + 2 * geom.pixel_spacing)
    idx = np.flatnonzero(triggered)
    if idx.size == 0:
        return _empty_table(), None, None
    sub = {"comp": {k: v[idx] for k, v in p["comp"].items()}, "ring": {k: v[idx] for k, v in p["ring"].items()}}
    mu = _expected_light(geom, sub)
    # photo-electrons and night-sky background (Poisson), PMT excess noise, electronics noise, pedestal
    images = rng.poisson(mu + nsb).astype(np.float32)
    images *= 1.0 + 0.12 * rng.standard_normal(images.shape, dtype=np.float32)
    images += 0.3 * rng.standard_normal(images.shape, dtype=np.float32) - np.float32(nsb)
    masks = hillas.tailcuts_clean(geom, images, picture_thresh, boundary_thresh)
    q = np.where(masks, images, 0.0)
    size = q.sum(axis=1)
    edge = np.hypot(geom.pix_x, geom.pix_y) > geom.radius - 1.5 * geom.pixel_spacing
    leakage = q[:, edge].sum(axis=1) / np.maximum(size, 1e-12)
    ok = (masks.sum(axis=1) >= min_pixels) & (size >= max(min_size, 1e-9)) & (leakage < 0.15)
    if not ok.any():
        return _empty_table(), None, None
    table = hillas.hillas_parameters(geom, images[ok], masks[ok])
    sel = idx[ok]
    table["class"] = "g" if gamma else "h"
    table["energy"] = p["energy"][sel]
    table["impact"] = p["impact"][sel]
    table["n_subshowers"] = p["n_subshowers"][sel]
    table["muon"] = p["muon"][sel]
    if keep_images:
        return table, images[ok], masks[ok]
    return table, None, None


def simulate_events(n_events: int, seed: int = 42, *, gamma_fraction: float = GAMMA_FRACTION,
                    nsb: float = 1.0, picture_thresh: float = 6.0, boundary_thresh: float = 3.0,
                    min_size: float = 80.0, min_pixels: int = 5, keep_images: bool = False,
                    batch_size: int = 1024, progress: bool = True) -> SimulatedEvents:
    """Simulate camera images of gammas and hadrons and their Hillas parameters.

    Parameters
    ----------
    n_events
        Number of accepted events; ``round(gamma_fraction * n_events)`` of them are gammas.
    seed
        Seed of the random generator (same seed, same events).
    gamma_fraction
        Share of gammas, strictly between 0 and 1 (default: the UCI file's, 0.648).
    nsb
        Mean night-sky background per pixel [phe].
    picture_thresh, boundary_thresh
        Tail-cut cleaning thresholds [phe].
    min_size, min_pixels
        Selection after cleaning: total charge [phe] and number of pixels.
    keep_images
        Also return the images and cleaning masks (``8 * 1027`` bytes per event each).
    batch_size
        Primaries simulated at a time (memory: about 60 kB each).
    progress
        Show a progress bar.

    Returns
    -------
    SimulatedEvents
        Gammas first, then hadrons, each in simulation order.

    Raises
    ------
    ValueError
        On impossible settings (no events, a fraction outside (0, 1), a boundary
        threshold above the picture threshold...), or when the selection
        accepts almost no event.
    """
    _check_settings(n_events, seed, gamma_fraction, nsb, picture_thresh, boundary_thresh, min_size, min_pixels)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 16 <= batch_size <= 65536:
        raise ValueError(f"batch_size must be an integer in [16, 65536], got {batch_size!r}")
    from tqdm.auto import tqdm

    geom = hillas.hexagonal_camera()
    n_gamma = int(round(gamma_fraction * n_events))
    wanted = {True: n_gamma, False: n_events - n_gamma}
    rngs = dict(zip((True, False), np.random.default_rng(seed).spawn(2)))
    tables, images, masks = [], [], []
    with tqdm(total=n_events, desc="simulation MAGIC", unit="évt", mininterval=2.0, disable=not progress) as bar:
        for gamma in (True, False):
            got, tried = 0, 0
            while got < wanted[gamma]:
                table, img, msk = _batch(geom, rngs[gamma], batch_size, gamma, nsb, picture_thresh,
                                         boundary_thresh, min_size, min_pixels, keep_images)
                tried += batch_size
                take = min(len(table), wanted[gamma] - got)
                if take:
                    tables.append(table.iloc[:take])
                    if keep_images:
                        images.append(img[:take])
                        masks.append(msk[:take])
                    got += take
                    bar.update(take)
                if tried >= 20 * batch_size and got < 1e-3 * tried:
                    kind = "gamma" if gamma else "hadron"
                    raise ValueError(f"the selection accepts almost no {kind} ({got} of {tried} simulated): "
                                     f"lower min_size ({min_size}) or min_pixels ({min_pixels}), or the thresholds")
    table = pd.concat(tables, ignore_index=True)
    if keep_images:
        return SimulatedEvents(table, geom, np.concatenate(images), np.concatenate(masks))
    return SimulatedEvents(table, geom)


def write_magic_file(table: pd.DataFrame, path: str | Path) -> Path:
    """Write events as ``magic04.data``: the ten features and the class, comma-separated, no header.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns :data:`course_utils.datasets.magic.COLUMNS` at least.
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}: magic04.data needs {COLUMNS}")
    values = table[FEATURES].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("table holds NaN or infinite features: refusing to write them")
    if not table["class"].isin(["g", "h"]).all():
        raise ValueError("class must be 'g' or 'h' on every row")
    path = Path(path)
    table[COLUMNS].to_csv(path, header=False, index=False, float_format="%.6g", lineterminator="\n")
    return path


def simulate(n_events: int | None = None, seed: int = 42) -> Dataset:
    """The simulated MAGIC sample as a :class:`Dataset`, generated once and cached.

    This is what ``magic.load(source="simulated")`` (and ``"auto"`` without the
    real file) returns.

    Parameters
    ----------
    n_events
        Number of events (default :data:`N_EVENTS`, as many as the UCI file).
    seed
        Seed of the simulation.
    """
    n = N_EVENTS if n_events is None else n_events
    _check_settings(n, seed, GAMMA_FRACTION, 1.0, 6.0, 3.0, 80.0, 5)
    params = {"n_events": int(n), "seed": int(seed), "gamma_fraction": GAMMA_FRACTION}

    def generate(folder: Path) -> None:
        events = simulate_events(int(n), int(seed))
        write_magic_file(events.table, folder / "magic04.data")

    folder = cached_simulation("magic", params, generate, version=VERSION)
    path = folder / "magic04.data"
    df = read(path)
    return Dataset(df, "simulated", "magic",
                   "simulation du cours (caméra hexagonale, nettoyage, paramètres de Hillas : course_utils)",
                   "MIT (code du cours)", path, {"n_events": len(df), **params})
