"""Cherenkov camera images: hexagonal geometry, tail-cut cleaning, Hillas parameters.

The few functions an imaging atmospheric Cherenkov telescope analysis needs to
go from a camera image to the ten MAGIC features, written with NumPy so that
they work on a whole batch of images at once (shape ``(n_events, n_pixels)``).
They follow the definitions of ctapipe (``tailcuts_clean``,
``hillas_parameters``) and of the MAGIC data set (``magic04.names``):

=========  ==============================================================  =====
feature    definition                                                      unit
=========  ==============================================================  =====
fLength    RMS spread of the charge along the major axis of the ellipse   mm
fWidth     RMS spread along the minor axis                                  mm
fSize      log10 of the total charge of the cleaned image                  log10(phe)
fConc      (two highest pixels) / total charge                             ratio
fConc1     (highest pixel) / total charge                                   ratio
fAsym      (highest pixel - centroid), projected on the oriented major axis  mm
fM3Long    cube root of the third moment along the oriented major axis      mm
fM3Trans   cube root of the third moment along the minor axis               mm
fAlpha     angle between the major axis and the line centroid-source       deg
fDist      distance from the source position to the centroid               mm
=========  ==============================================================  =====

Conventions: camera coordinates in mm, the source at the camera centre
(0, 0); the major axis is *oriented* away from the source (its unit vector
``e`` has ``e . centroid >= 0``), which gives fAsym and fM3Long a sign: a
shower whose light trails away from the source has ``fM3Long > 0``. The minor
axis is ``e`` turned by +90°.

This module is pure NumPy (pandas for the table, matplotlib only inside
:func:`draw_camera`) and never imports :mod:`course_utils.datasets`: the MAGIC
loader and its simulation import it, not the reverse.

Examples
--------
>>> from course_utils.physics import hillas
>>> geom = hillas.hexagonal_camera()
>>> geom.n_pixels
1027
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from course_utils.validation import check_count

__all__ = ["MM_PER_DEG", "CameraGeometry", "hexagonal_camera", "tailcuts_clean", "hillas_parameters",
           "draw_camera", "FEATURES", "HILLAS_COLUMNS"]

#: The ten MAGIC features, in the order of the UCI file ``magic04.data`` (see the table above).
FEATURES = ["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans", "fAlpha", "fDist"]

#: Plate scale of MAGIC (focal length 17 m): millimetres in the camera per degree on the sky.
MM_PER_DEG = 17_000.0 * math.pi / 180.0

#: Columns of :func:`hillas_parameters`: the ten MAGIC features, then what draws the ellipse.
HILLAS_COLUMNS = [*FEATURES, "size", "cen_x", "cen_y", "psi", "n_pixels"]


@dataclass(frozen=True, eq=False)
class CameraGeometry:
    """Pixel positions and neighbours of a camera of hexagonal pixels.

    Attributes
    ----------
    pix_x, pix_y : numpy.ndarray, shape (n_pixels,)
        Pixel centres in the camera plane [mm]; the optical axis is at (0, 0).
    pixel_spacing : float
        Distance between neighbouring pixel centres = flat-to-flat size of a pixel [mm].
    neighbors : numpy.ndarray, shape (n_pixels, 6), int
        Indices of each pixel's neighbours, padded with ``n_pixels`` (edge pixels have fewer than 6).
    """

    pix_x: np.ndarray
    pix_y: np.ndarray
    pixel_spacing: float
    neighbors: np.ndarray

    @property
    def n_pixels(self) -> int:
        return int(self.pix_x.size)

    @property
    def pixel_area(self) -> float:
        """Area of one hexagonal pixel [mm²]: ``sqrt(3)/2 * spacing²``."""
        return math.sqrt(3) / 2 * self.pixel_spacing**2

    @property
    def radius(self) -> float:
        """Distance from the centre to the farthest pixel centre [mm]."""
        return float(np.hypot(self.pix_x, self.pix_y).max())

    def neighbor_count(self, selected: np.ndarray) -> np.ndarray:
        """How many neighbours of each pixel are ``selected``.

        Parameters
        ----------
        selected : numpy.ndarray of bool, shape (n_events, n_pixels)

        Returns
        -------
        numpy.ndarray of int, shape (n_events, n_pixels)
        """
        padded = np.concatenate([selected, np.zeros((selected.shape[0], 1), dtype=bool)], axis=1)
        return padded[:, self.neighbors].sum(axis=2)


def hexagonal_camera(n_rings: int = 18, pixel_spacing: float = 30.0) -> CameraGeometry:
    """A round-ish camera of hexagonal pixels, in rings around a central pixel.

    With the defaults: 1 + 3 n (n + 1) = 1027 pixels of 30 mm (0.1° at MAGIC's
    17 m focal length), a field of view of about 3.6° across.

    Parameters
    ----------
    n_rings
        Number of hexagonal rings around the central pixel (0 gives one pixel).
    pixel_spacing
        Distance between neighbouring pixel centres [mm].

    Returns
    -------
    CameraGeometry
    """
    n_rings = check_count(n_rings, "n_rings", min_value=0, max_value=200)
    if not (isinstance(pixel_spacing, (int, float)) and math.isfinite(pixel_spacing) and pixel_spacing > 0):
        raise ValueError(f"pixel_spacing must be a positive number of mm, got {pixel_spacing!r}")
    n = int(n_rings)
    # axial coordinates (q, r) of a hexagon of hexagons: |q|, |r|, |q + r| <= n
    q, r = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    keep = np.abs(q + r) <= n
    q, r = q[keep], r[keep]
    ring = np.maximum(np.maximum(np.abs(q), np.abs(r)), np.abs(q + r))
    order = np.lexsort((np.arctan2(r * math.sqrt(3) / 2, q + r / 2), ring))  # centre first, then ring by ring
    q, r = q[order], r[order]
    x = pixel_spacing * (q + r / 2.0)
    y = pixel_spacing * (r * math.sqrt(3) / 2.0)
    index = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(q, r))}
    neighbors = np.full((q.size, 6), q.size, dtype=np.int64)
    for i, (a, b) in enumerate(zip(q, r)):
        for k, (da, db) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))):
            j = index.get((int(a + da), int(b + db)))
            if j is not None:
                neighbors[i, k] = j
    x.setflags(write=False)
    y.setflags(write=False)
    neighbors.setflags(write=False)
    return CameraGeometry(x, y, float(pixel_spacing), neighbors)


def _as_images(geom: CameraGeometry, images: Any, name: str = "images") -> tuple[np.ndarray, bool]:
    """Images as a float array (n_events, n_pixels); also whether the input was a single image."""
    arr = np.asarray(images, dtype=float)
    single = arr.ndim == 1
    if single:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != geom.n_pixels:
        raise ValueError(f"{name} must have shape (n_pixels,) or (n_events, n_pixels) with n_pixels = "
                         f"{geom.n_pixels}, got {np.shape(images)}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: at least one image is expected")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(arr)).sum())} NaN or infinite value(s)")
    return arr, single


def tailcuts_clean(geom: CameraGeometry, images: Any, picture_thresh: float = 6.0, boundary_thresh: float = 3.0,
                   *, keep_isolated_pixels: bool = False, min_number_picture_neighbors: int = 0) -> np.ndarray:
    """Two-threshold image cleaning (ctapipe's ``tailcuts_clean``), on a batch of images.

    A pixel is kept when it is a *picture* pixel (charge >= ``picture_thresh``,
    with at least ``min_number_picture_neighbors`` neighbours also above it)
    that has a neighbour above ``boundary_thresh``, or a *boundary* pixel
    (charge >= ``boundary_thresh``) next to a picture pixel. With
    ``keep_isolated_pixels=True`` picture pixels are kept even alone.

    Parameters
    ----------
    geom
        The camera.
    images : array-like, shape (n_pixels,) or (n_events, n_pixels)
        Charges [phe], pedestal subtracted.
    picture_thresh, boundary_thresh
        Thresholds [phe]; ``boundary_thresh <= picture_thresh``.

    Returns
    -------
    numpy.ndarray of bool, same shape as ``images``
        True for the pixels that survive.
    """
    arr, single = _as_images(geom, images)
    if not (math.isfinite(picture_thresh) and math.isfinite(boundary_thresh)):
        raise ValueError(f"thresholds must be finite, got {picture_thresh!r} and {boundary_thresh!r}")
    if boundary_thresh > picture_thresh:
        raise ValueError(f"boundary_thresh ({boundary_thresh}) must not exceed picture_thresh ({picture_thresh})")
    if not 0 <= min_number_picture_neighbors <= 6:
        raise ValueError(f"min_number_picture_neighbors must be in [0, 6], got {min_number_picture_neighbors}")
    above_picture = arr >= picture_thresh
    if keep_isolated_pixels or min_number_picture_neighbors == 0:
        picture = above_picture
    else:
        picture = above_picture & (geom.neighbor_count(above_picture) >= min_number_picture_neighbors)
    above_boundary = arr >= boundary_thresh
    boundary = above_boundary & (geom.neighbor_count(picture) > 0)
    if keep_isolated_pixels:
        mask = boundary | picture
    else:
        mask = boundary | (picture & (geom.neighbor_count(above_boundary) > 0))
    return mask[0] if single else mask


def hillas_parameters(geom: CameraGeometry, images: Any, mask: Any = None) -> pd.DataFrame:
    """The Hillas parameters of each image: the ten MAGIC features and the ellipse.

    Parameters
    ----------
    geom
        The camera; the source position is its centre (0, 0).
    images : array-like, shape (n_pixels,) or (n_events, n_pixels)
        Charges [phe].
    mask : array-like of bool, same shape, optional
        Pixels to use (the output of :func:`tailcuts_clean`); all pixels when ``None``.
        The used charges must be non-negative and each image must keep some charge.

    Returns
    -------
    pandas.DataFrame, one row per image
        Columns :data:`HILLAS_COLUMNS`: the ten features of the module table,
        then ``size`` [phe], ``cen_x``, ``cen_y`` [mm], ``psi`` (direction of the
        oriented major axis [deg], counter-clockwise from +x) and ``n_pixels``.

    Examples
    --------
    >>> geom = hexagonal_camera(2)
    >>> img = np.zeros(geom.n_pixels); img[[0, 1, 2]] = [10, 5, 5]
    >>> round(float(hillas_parameters(geom, img)["fConc1"][0]), 2)
    0.5
    """
    q, _ = _as_images(geom, images)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != np.shape(images):
            raise ValueError(f"mask has shape {m.shape}, images {np.shape(images)}: they must match")
        if m.dtype != bool:
            raise ValueError(f"mask must be boolean, got dtype {m.dtype}")
        q = np.where(m.reshape(q.shape), q, 0.0)
    if (q < 0).any():
        bad = int(np.flatnonzero((q < 0).any(axis=1))[0])
        raise ValueError(f"image {bad} uses negative charges: clean the images first (tailcuts_clean) and pass "
                         "the mask")
    size = q.sum(axis=1)
    if (size <= 0).any():
        bad = np.flatnonzero(size <= 0)
        raise ValueError(f"{bad.size} image(s) have no charge (first: index {int(bad[0])}): drop them before "
                         "computing Hillas parameters")
    x, y = geom.pix_x, geom.pix_y
    cx = q @ x / size
    cy = q @ y / size
    dx = x[None, :] - cx[:, None]
    dy = y[None, :] - cy[:, None]
    sxx = (q * dx * dx).sum(axis=1) / size
    syy = (q * dy * dy).sum(axis=1) / size
    sxy = (q * dx * dy).sum(axis=1) / size
    # eigenvalues and major-axis direction of the 2x2 covariance matrix
    half_trace = (sxx + syy) / 2
    root = np.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    length = np.sqrt(np.maximum(half_trace + root, 0.0))
    width = np.sqrt(np.maximum(half_trace - root, 0.0))
    psi = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    ex, ey = np.cos(psi), np.sin(psi)
    flip = ex * cx + ey * cy < 0  # orient the major axis away from the source
    ex, ey = np.where(flip, -ex, ex), np.where(flip, -ey, ey)
    along = dx * ex[:, None] + dy * ey[:, None]
    across = -dx * ey[:, None] + dy * ex[:, None]
    m3_long = np.cbrt((q * along**3).sum(axis=1) / size)
    m3_trans = np.cbrt((q * across**3).sum(axis=1) / size)
    rows = np.arange(q.shape[0])
    top2 = np.partition(q, q.shape[1] - 2, axis=1)[:, -2:] if q.shape[1] >= 2 else q
    imax = q.argmax(axis=1)
    asym = along[rows, imax]
    dist = np.hypot(cx, cy)
    alpha = np.degrees(np.arctan2(np.abs(ex * cy - ey * cx), np.abs(ex * cx + ey * cy)))
    return pd.DataFrame({
        "fLength": length, "fWidth": width, "fSize": np.log10(size),
        "fConc": top2.sum(axis=1) / size, "fConc1": q[rows, imax] / size,
        "fAsym": asym, "fM3Long": m3_long, "fM3Trans": m3_trans, "fAlpha": alpha, "fDist": dist,
        "size": size, "cen_x": cx, "cen_y": cy, "psi": np.degrees(np.arctan2(ey, ex)),
        "n_pixels": (q > 0).sum(axis=1),
    }, columns=HILLAS_COLUMNS)


def draw_camera(geom: CameraGeometry, image: Any, *, hillas: Any = None, ax: Any = None,
                title: str | None = None, cmap: str = "viridis", label: str = "charge [phe]") -> Any:
    """Draw one camera image as hexagons, with its Hillas ellipse.

    Parameters
    ----------
    geom
        The camera.
    image : array-like, shape (n_pixels,)
        Charges [phe].
    hillas : mapping or pandas.Series, optional
        One row of :func:`hillas_parameters`: draws the 1- and 2-sigma ellipses,
        the major axis and the source position.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Ellipse

    img, _ = _as_images(geom, image, "image")
    if img.shape[0] != 1:
        raise ValueError(f"draw_camera draws one image, got {img.shape[0]}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.5))
    else:
        fig = ax.figure
    ax.set_aspect("equal")
    ax.grid(False)
    r = geom.radius + geom.pixel_spacing
    ax.set_xlim(-r, r)
    ax.set_ylim(-r, r)
    # pointy-top hexagons: neighbours along x share a flat side
    corner = np.radians(30 + 60 * np.arange(6))
    circumradius = geom.pixel_spacing / math.sqrt(3)
    verts = np.stack([geom.pix_x[:, None] + circumradius * np.cos(corner)[None, :],
                      geom.pix_y[:, None] + circumradius * np.sin(corner)[None, :]], axis=-1)
    coll = PolyCollection(verts, cmap=cmap, edgecolors="face", linewidths=0.2)
    coll.set_array(img[0])
    ax.add_collection(coll)
    fig.colorbar(coll, ax=ax, fraction=0.046, pad=0.04, label=label)
    if hillas is not None:
        h = {k: float(hillas[k]) for k in ("cen_x", "cen_y", "fLength", "fWidth", "psi")}
        for k, ls in ((1, "-"), (2, "--")):
            ax.add_patch(Ellipse((h["cen_x"], h["cen_y"]), 2 * k * h["fLength"], 2 * k * h["fWidth"],
                                 angle=h["psi"], fill=False, color="red", ls=ls, lw=1.5))
        t = np.radians(h["psi"])
        ends = np.array([-1, 1]) * 3 * max(h["fLength"], 1.0)
        ax.plot(h["cen_x"] + ends * np.cos(t), h["cen_y"] + ends * np.sin(t), color="red", lw=0.8)
        ax.plot([0, h["cen_x"]], [0, h["cen_y"]], color="white", lw=0.8, ls=":")
        ax.plot(0, 0, marker="*", color="white", ms=10, mec="black", label="source")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("x [mm]")
    ax.set_ylabel("y [mm]")
    if title:
        ax.set_title(title)
    return fig
