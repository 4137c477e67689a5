"""Procedural MRI-like axial brain slices, written as JPEGs in the Kaggle folder tree.

The course's stand-in for the Kaggle "Brain Tumor MRI Dataset" when the real
images are not on disk. Each image is drawn from a few geometric and
statistical ingredients, all vectorised with NumPy:

* a head: elliptical, with a random size, position and in-plane rotation;
  scalp (bright), skull (dark), a thin rim of cerebrospinal fluid, cortex and
  white matter with a wavy boundary (gyri), smoothed-noise tissue texture;
* two lateral ventricles (dark, butterfly-shaped) and the midline;
* an MR intensity bias field (smooth multiplicative gradient) and Rician noise;
* a class-specific lesion:

  - ``glioma``: an irregular, infiltrating mass *inside* a hemisphere, with a
    bright rim, a dark necrotic core, blurred edges and surrounding oedema;
  - ``meningioma``: a well-circumscribed, homogeneous round mass attached to
    the inner surface of the skull;
  - ``pituitary``: a small bright mass at the sella (midline, low in the image);
  - ``notumor``: no lesion.

Lesion size and contrast vary from image to image, so some lesions are faint:
the classes overlap and a classifier does not reach 100 %.

What these images do **not** capture: real anatomy, several MR sequences
(T1, T1 with contrast, T2, FLAIR) mixed in one dataset, sagittal and coronal
views (most real pituitary images are not axial), scanner artefacts, patients
scanned several times, and the near-duplicate images of the real dataset.

Files are laid out exactly like the real dataset (``Training/<class>/Tr-gl_0001.jpg``,
``Testing/<class>/Te-gl_0001.jpg``), with random image sizes and black
margins, so the same :func:`course_utils.datasets.brain_mri.read` reads both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CLASSES", "SPLITS", "KAGGLE_PROPORTIONS", "render_slice", "class_counts", "generate", "simulate"]

#: Class folder names of the real dataset, in its (alphabetical) order.
CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
#: Split folder names of the real dataset and their file-name prefixes.
SPLITS = {"Training": "Tr", "Testing": "Te"}
#: Class shares of the real training set (1,321 / 1,339 / 1,595 / 1,457 of 5,712 images).
KAGGLE_PROPORTIONS = {"glioma": 1321 / 5712, "meningioma": 1339 / 5712,
                      "notumor": 1595 / 5712, "pituitary": 1457 / 5712}
#: Lesion radius range per class, as a fraction of the brain's semi-axes.
LESION_RADIUS = {"glioma": (0.18, 0.32), "meningioma": (0.13, 0.24), "pituitary": (0.11, 0.17)}
#: Range of the lesion contrast (1: fully contrasted; lower values make faint, harder lesions).
LESION_CONTRAST = (0.7, 1.0)
#: Bump when the generator changes: old caches are then regenerated.
VERSION = "1"


def _soft_step(x: np.ndarray, width: float) -> np.ndarray:
    """0 for ``x < -width``, 1 for ``x > width``, a linear ramp in between (an anti-aliased edge)."""
    return np.clip(0.5 + x / (2.0 * max(width, 1e-6)), 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian noise smoothed over ``scale`` (a fraction of the image)."""
    from scipy.ndimage import gaussian_filter

    white = rng.standard_normal((size, size), dtype=np.float32)
    field = gaussian_filter(white, sigma=max(scale * size, 0.5), mode="wrap", truncate=3.0)
    return (field - field.mean()) / (field.std() + 1e-12)


def _blob_radius(rng: np.random.Generator, angle: np.ndarray, irregularity: float) -> np.ndarray:
    """Relative radius ``1 + sum_k a_k cos(k angle + phase_k)`` of an irregular blob (k = 2..5)."""
    k = np.arange(2, 6)
    amp = rng.uniform(0, irregularity, k.size) / k ** 0.5
    phase = rng.uniform(0, 2 * np.pi, k.size)
    return 1.0 + np.sum(amp[:, None, None] * np.cos(k[:, None, None] * angle + phase[:, None, None]), axis=0)


def render_slice(label: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One MRI-like axial slice of class ``label``.

    Parameters
    ----------
    label : {"glioma", "meningioma", "notumor", "pituitary"}
        The class, which decides the lesion.
    size
        Side of the square image in pixels (at least 32).
    rng
        The random generator: the same state gives the same image.

    Returns
    -------
    numpy.ndarray, shape (size, size), dtype uint8
        Grey levels 0-255, black outside the head.
    """
    if label not in CLASSES:
        raise ValueError(f"unknown class {label!r}: expected one of {CLASSES}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 32:
        raise ValueError(f"size must be an integer of at least 32 pixels, got {size!r}")
    px = 2.0 / size  # one pixel in normalised coordinates ([-1, 1] across the image)
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    y, x = axis[:, None], axis[None, :]

    # Head geometry: centre, semi-axes (wider front-to-back), in-plane rotation.
    cx, cy = rng.normal(0, 0.04, 2)
    a = rng.uniform(0.56, 0.70)
    b = a * rng.uniform(1.10, 1.25)
    theta = rng.uniform(-0.35, 0.35)
    c, s = np.cos(theta), np.sin(theta)
    u = ((x - cx) * c + (y - cy) * s) / a   # head coordinates: the brain is the unit disc
    v = (-(x - cx) * s + (y - cy) * c) / b
    rho = np.hypot(u, v)
    phi = np.arctan2(v, u)
    edge = 1.5 * px / a

    # Tissues (T1-like contrast): scalp, skull, CSF rim, cortex, white matter.
    gyri = 0.015 * np.sin(rng.integers(18, 30) * phi + rng.uniform(0, 2 * np.pi))
    r_brain = 0.90 + gyri
    r_white = 0.66 + 0.05 * np.sin(rng.integers(5, 9) * phi + rng.uniform(0, 2 * np.pi)) + 2 * gyri
    head = _soft_step(1.07 - rho, edge)
    img = 0.80 * head                                                  # scalp and fat
    img -= 0.68 * _soft_step(1.00 - rho, edge)                         # skull (dark)
    img += 0.14 * _soft_step(0.94 - rho, edge)                         # CSF rim
    img += 0.30 * _soft_step(r_brain - rho, edge)                      # cortex (grey matter)
    img += 0.12 * _soft_step(r_white - rho, 2 * edge)                  # white matter
    brain = _soft_step(r_brain - rho, edge)
    texture = _smooth_noise(rng, size, 0.015)
    img += 0.05 * brain * texture                                      # tissue texture
    img += 0.03 * brain * _smooth_noise(rng, size, 0.05)

    # Lateral ventricles (CSF, dark) and the midline.
    vs = rng.uniform(0.7, 1.4)
    for side in (-1.0, 1.0):
        du, dv = u - side * 0.13, v + 0.05
        tilt = side * 0.35
        pu = du * np.cos(tilt) + dv * np.sin(tilt)
        pv = -du * np.sin(tilt) + dv * np.cos(tilt)
        vent = _soft_step(1.0 - np.hypot(pu / (0.055 * vs), pv / (0.24 * vs)), 0.15)
        img -= 0.40 * vent
    img -= 0.10 * _soft_step(0.012 - np.abs(u), px / a) * _soft_step(0.85 - np.abs(v), edge)

    # Class-specific lesion, in head coordinates.
    contrast = rng.uniform(*LESION_CONTRAST)
    if label == "glioma":
        r0, ang = rng.uniform(0.22, 0.55), rng.uniform(0, 2 * np.pi)
        lu, lv = r0 * np.cos(ang), r0 * np.sin(ang)
        radius = rng.uniform(*LESION_RADIUS["glioma"])
        d = np.hypot(u - lu, v - lv) / (radius * _blob_radius(rng, np.arctan2(v - lv, u - lu), 0.4))
        blur = rng.uniform(0.08, 0.2)
        rim = np.exp(-((d - 0.8) / 0.25) ** 2)            # enhancing, irregular wall
        core = _soft_step(0.6 - d, blur)                  # necrotic centre
        oedema = _soft_step(1.8 - d, 0.35) * _soft_step(d - 1.0, blur)
        hetero = 1.0 + 0.4 * texture
        img += contrast * brain * (0.40 * rim * hetero - 0.28 * core - 0.14 * oedema)
    elif label == "meningioma":
        radius = rng.uniform(*LESION_RADIUS["meningioma"])
        ang = rng.uniform(0, 2 * np.pi)
        r0 = 0.92 - 0.7 * radius          # the mass touches the inner skull
        lu, lv = r0 * np.cos(ang), r0 * np.sin(ang)
        d = np.hypot(u - lu, v - lv) / (radius * _blob_radius(rng, np.arctan2(v - lv, u - lu), 0.06))
        mass = _soft_step(1.0 - d, 0.04) * _soft_step(0.97 - rho, edge)
        img = img * (1 - mass) + mass * (0.55 + 0.40 * contrast)
    elif label == "pituitary":
        radius = rng.uniform(*LESION_RADIUS["pituitary"])
        lu, lv = rng.normal(0, 0.03), rng.uniform(0.25, 0.42)
        d = np.hypot((u - lu) / 1.25, v - lv) / radius
        mass = _soft_step(1.0 - d, 0.08)
        img = img * (1 - mass) + mass * (0.55 + 0.40 * contrast)

    # Acquisition: bias field, Rician noise, 8-bit grey levels.
    alpha = rng.normal(0, 0.15, 3)
    img = img * np.exp(alpha[0] * x + alpha[1] * y + alpha[2] * x * y) * head
    sigma = rng.uniform(0.015, 0.045)
    noise = sigma * rng.standard_normal((2, size, size), dtype=np.float32)
    img = np.hypot(img + noise[0], noise[1])
    return np.clip(img * 255.0 / 1.05, 0, 255).astype(np.uint8)


def class_counts(n: int, proportions: Mapping[str, float] | Sequence[float] | None = None) -> dict[str, int]:
    """How many images of each class make ``n`` images with these proportions.

    Parameters
    ----------
    n
        Total number of images (at least 1).
    proportions
        One non-negative weight per class (a dict by class name, or a sequence
        in :data:`CLASSES` order); they are normalised. ``None``: the real
        training set's shares (:data:`KAGGLE_PROPORTIONS`).

    Returns
    -------
    dict
        Class name -> count; the counts sum to ``n`` (largest remainders).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"the number of images must be a positive integer, got {n!r}")
    if proportions is None:
        proportions = KAGGLE_PROPORTIONS
    if isinstance(proportions, Mapping):
        unknown = set(proportions) - set(CLASSES)
        if unknown:
            raise ValueError(f"unknown classes {sorted(unknown)} in proportions: expected names among {CLASSES}")
        w = np.array([float(proportions.get(k, 0.0)) for k in CLASSES])
    else:
        w = np.asarray(proportions, dtype=float)
        if w.shape != (len(CLASSES),):
            raise ValueError(f"proportions must give {len(CLASSES)} weights in the order {CLASSES}, got {w.shape}")
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"proportions must be non-negative, finite and not all zero, got {w.tolist()}")
    exact = n * w / w.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return dict(zip(CLASSES, counts.tolist()))


def _render_task(task: tuple[str, int, int, tuple[int, ...], str]) -> None:
    """Render and save one image (module level, so worker processes can run it)."""
    from PIL import Image

    label, size, quality, seed, path = task
    pixels = render_slice(label, size, np.random.default_rng(seed))
    Image.fromarray(pixels).save(path, format="JPEG", quality=quality)


def generate(folder: str | Path, *, n_train: int, n_test: int,
             train_proportions: Mapping[str, float] | Sequence[float] | None = None,
             test_proportions: Mapping[str, float] | Sequence[float] | None = None,
             size_range: tuple[int, int] = (112, 160), quality: int = 90, seed: int = 42,
             progress: bool = True) -> dict[str, dict[str, int]]:
    """Write a simulated dataset into ``folder``, laid out like the Kaggle one.

    Parameters
    ----------
    folder
        Where ``Training/`` and ``Testing/`` are created.
    n_train, n_test
        Number of images in each split.
    train_proportions, test_proportions
        Class shares of each split (see :func:`class_counts`); ``None`` gives
        the real dataset's training shares.
    size_range
        Smallest and largest image side in pixels; each image draws its own
        size, as the real images differ in size.
    quality
        JPEG quality (1-95).
    seed
        Image ``i`` of a split depends only on ``(seed, split, class, i)``.

    Returns
    -------
    dict
        Split -> class -> number of images written.
    """
    from tqdm.auto import tqdm

    from course_utils.datasets._cache import n_workers, parallel_map

    lo, hi = size_range
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer)) and 32 <= lo <= hi <= 4096):
        raise ValueError(f"size_range must be two integers 32 <= lo <= hi <= 4096, got {size_range!r}")
    if not 1 <= int(quality) <= 95:
        raise ValueError(f"JPEG quality must be in [1, 95], got {quality!r}")
    folder = Path(folder)
    counts = {"Training": class_counts(n_train, train_proportions),
              "Testing": class_counts(n_test, test_proportions)}
    tasks = []
    for s_index, (split, prefix) in enumerate(SPLITS.items()):
        for c_index, label in enumerate(CLASSES):
            out = folder / split / label
            out.mkdir(parents=True, exist_ok=True)
            for i in range(counts[split][label]):
                image_seed = (int(seed), s_index, c_index, i)
                size = int(np.random.default_rng(image_seed + (1,)).integers(lo, hi + 1))
                tasks.append((label, size, int(quality), image_seed, str(out / f"{prefix}-{label[:2]}_{i + 1:04d}.jpg")))
    desc = f"simulating {len(tasks)} MRI slices"
    if len(tasks) < 2000 or n_workers() == 1:  # starting worker processes costs more than it saves
        for task in tqdm(tasks, desc=desc, disable=not progress):
            _render_task(task)
    else:
        parallel_map(_render_task, tasks, desc=desc)
    return counts


def simulate(n_train: int, n_test: int, *, train_proportions: Mapping[str, float] | Sequence[float] | None = None,
             test_proportions: Mapping[str, float] | Sequence[float] | None = None,
             size_range: tuple[int, int] = (112, 160), seed: int = 42) -> Path:
    """The folder of a cached simulated dataset, generated on first use.

    Same parameters as :func:`generate`. The folder (under
    ``<data>/simulated/brain_mri/<key>/``) holds ``Training/`` and ``Testing/``.
    """
    from course_utils.datasets._cache import cached_simulation

    params: dict[str, Any] = {
        "n_train": int(n_train), "n_test": int(n_test),
        "train": class_counts(n_train, train_proportions), "test": class_counts(n_test, test_proportions),
        "size_range": [int(v) for v in size_range], "seed": int(seed),
        "lesion_radius": LESION_RADIUS, "lesion_contrast": LESION_CONTRAST,  # module settings change the images too
    }

    def _generate(folder: Path) -> None:
        generate(folder, n_train=n_train, n_test=n_test, train_proportions=train_proportions,
                 test_proportions=test_proportions, size_range=size_range, seed=seed)

    return cached_simulation("brain_mri", params, _generate, version=VERSION)
