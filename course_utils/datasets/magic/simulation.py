"""A small Cherenkov-camera simulation that writes ``magic04.data``.

What it does, per event (NumPy, a batch of events at a time):

1. draws a primary: a **gamma** from the source (power-law energy spectrum,
   impact parameter up to 300 m) or a cosmic-ray **hadron** (steeper spectrum,
   less light per TeV, arrival direction anywhere within 2.5° of the source);
2. draws its image on a hexagonal camera (:func:`course_utils.physics.hillas.hexagonal_camera`,
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
5. computes the ten MAGIC features (:func:`course_utils.physics.hillas.hillas_parameters`).

Steps 1 and 2 (the showers and their light) live in the private module
:mod:`course_utils.datasets.magic._showers`; the file is written with
:func:`course_utils.datasets.magic.formats.write` and read back with
:func:`~course_utils.datasets.magic.formats.read`.

The physics is a caricature, tuned by eye on the real distributions: the
simulated sample has the same columns, units, labels and class ratio as the
UCI file, but it does not match it feature by feature (its CORSIKA showers are
far richer). The classes separate about as well as in the real file (a
random forest reaches similar accuracy and AUC), but not for the same reasons.

Examples
--------
>>> from course_utils.datasets.magic import simulation
>>> ev = simulation.simulate_events(200, seed=1, progress=False)   # doctest: +SKIP
>>> ds = simulation.simulate(2_000, seed=1)                        # cached magic04.data, doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.magic import _showers, formats
from course_utils.datasets.magic.formats import COLUMNS, FILE_NAME
from course_utils.physics import hillas
from course_utils.validation import check_count, check_fraction, check_seed

__all__ = ["GAMMA_FRACTION", "N_EVENTS", "MAX_EVENTS", "VERSION", "SimulatedEvents", "simulate_events", "simulate"]

#: Share of gammas in the UCI file (12,332 of 19,020), the default of the simulation.
GAMMA_FRACTION = 12_332 / 19_020
#: Default number of events: as many as the UCI file.
N_EVENTS = 19_020
#: The largest sample the simulation agrees to produce (about 50 MB of features).
MAX_EVENTS = 2_000_000
#: Bump when the generator or the file it writes changes: cached samples are then generated again.
#: 2: numbers written with four decimals, as in the UCI file (were six significant digits).
VERSION = "2"


@dataclass
class SimulatedEvents:
    """What :func:`simulate_events` returns.

    Attributes
    ----------
    table : pandas.DataFrame, shape (n, ...)
        :data:`course_utils.physics.hillas.HILLAS_COLUMNS`, then ``class`` (``g``/``h``)
        and the truth: ``energy`` [TeV], ``impact`` [m], ``n_subshowers``, ``muon``.
    geometry : CameraGeometry
        The camera.
    images, masks : numpy.ndarray, shape (n, n_pixels), or None
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


def _check_settings(n: int, seed: int, gamma_fraction: float, nsb: float, picture_thresh: float,
                    boundary_thresh: float, min_size: float, min_pixels: int) -> None:
    check_count(n, "n", max_value=MAX_EVENTS)
    check_seed(seed)
    check_fraction(gamma_fraction, "gamma_fraction", closed="neither")
    if not (math.isfinite(nsb) and 0 <= nsb <= 50):
        raise ValueError(f"nsb (night-sky background, phe per pixel) must be in [0, 50], got {nsb!r}")
    if not (math.isfinite(picture_thresh) and math.isfinite(boundary_thresh) and 0 < boundary_thresh <= picture_thresh):
        raise ValueError(f"thresholds must satisfy 0 < boundary_thresh <= picture_thresh, got "
                         f"boundary {boundary_thresh!r}, picture {picture_thresh!r}")
    if not (math.isfinite(min_size) and 0 <= min_size <= 1e5):
        raise ValueError(f"min_size (phe) must be in [0, 1e5], got {min_size!r}")
    check_count(min_pixels, "min_pixels", min_value=3, max_value=500)  # a Hillas ellipse needs 3 pixels


_TRUTH = ["class", "energy", "impact", "n_subshowers", "muon"]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=[*hillas.HILLAS_COLUMNS, *_TRUTH])


def _batch(geom: hillas.CameraGeometry, rng: np.random.Generator, n: int, gamma: bool, nsb: float,
           picture_thresh: float, boundary_thresh: float, min_size: float, min_pixels: int,
           keep_images: bool) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
    """Simulate ``n`` primaries of one class; return the accepted events only."""
    p = _showers.primaries(rng, n, gamma)
    # trigger, and showers outside the camera: decided before drawing any image
    cx, cy = p["comp"]["x"][:, 0], p["comp"]["y"][:, 0]
    triggered = _showers.trigger(rng, p["comp"]["light"].sum(axis=1) + p["ring"]["light"]) & (
        np.hypot(cx, cy) < geom.radius + 2 * geom.pixel_spacing)
    idx = np.flatnonzero(triggered)
    if idx.size == 0:
        return _empty_table(), None, None
    sub = {"comp": {k: v[idx] for k, v in p["comp"].items()}, "ring": {k: v[idx] for k, v in p["ring"].items()}}
    mu = _showers.expected_light(geom, sub)
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


def simulate_events(n: int, seed: int = 42, *, gamma_fraction: float = GAMMA_FRACTION,
                    nsb: float = 1.0, picture_thresh: float = 6.0, boundary_thresh: float = 3.0,
                    min_size: float = 80.0, min_pixels: int = 5, keep_images: bool = False,
                    batch_size: int = 1024, progress: bool = True) -> SimulatedEvents:
    """Simulate camera images of gammas and hadrons and their Hillas parameters.

    Parameters
    ----------
    n
        Number of accepted events; ``round(gamma_fraction * n)`` of them are gammas.
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
    _check_settings(n, seed, gamma_fraction, nsb, picture_thresh, boundary_thresh, min_size, min_pixels)
    check_count(batch_size, "batch_size", min_value=16, max_value=65536)
    from tqdm.auto import tqdm

    geom = hillas.hexagonal_camera()
    n_gamma = int(round(gamma_fraction * n))
    wanted = {True: n_gamma, False: n - n_gamma}
    rngs = dict(zip((True, False), np.random.default_rng(seed).spawn(2)))
    tables, images, masks = [], [], []
    with tqdm(total=n, desc="simulation MAGIC", unit="évt", mininterval=2.0, disable=not progress) as bar:
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


def simulate(n: int | None = None, *, seed: int = 42) -> Dataset:
    """The simulated MAGIC sample as a :class:`Dataset`, generated once and cached.

    The events are written with :func:`formats.write` as ``magic04.data`` in
    ``<data>/simulated/magic/<key>/`` and read back with :func:`formats.read`:
    this is what ``magic.load(source="simulated")`` (and ``"auto"`` without
    the published file) returns.

    Parameters
    ----------
    n
        Number of events (default :data:`N_EVENTS`, as many as the UCI file);
        gammas first, then hadrons, in the UCI file's proportions.
    seed
        Seed of the simulation.

    Returns
    -------
    Dataset
        ``.data`` is the DataFrame of :func:`formats.read`, shape (n, 11).
    """
    n = N_EVENTS if n is None else n
    _check_settings(n, seed, GAMMA_FRACTION, 1.0, 6.0, 3.0, 80.0, 5)
    params = {"n": int(n), "seed": int(seed), "gamma_fraction": GAMMA_FRACTION}

    def generate(folder: Path) -> None:
        events = simulate_events(int(n), int(seed))
        formats.write(events.table, folder / FILE_NAME)

    folder = cached_simulation("magic", params, generate, version=VERSION)
    path = folder / FILE_NAME
    df = formats.read(path)
    return Dataset(df, "simulated", "magic",
                   f"course simulation: hexagonal Cherenkov camera, image cleaning, Hillas parameters, seed {seed}",
                   SIMULATION_LICENCE, path, {"seed": int(seed), "gamma_fraction": GAMMA_FRACTION})
