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
margins, so the same :func:`course_utils.datasets.brain_mri.formats.read` reads both.
Each image is saved with :func:`~course_utils.datasets.brain_mri.formats.write_image`
(the writer of :func:`~course_utils.datasets.brain_mri.formats.write`), one worker
process per core for large samples.

Examples
--------
>>> from course_utils.datasets.brain_mri import simulation
>>> ds = simulation.simulate(400, seed=1, image_size=48)   # doctest: +SKIP
>>> ds.data.X_train.shape                                  # (300, 48, 48, 1)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import config
from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.brain_mri import formats
from course_utils.datasets.brain_mri._layout import (
    CLASSES,
    DEFAULT_IMAGE_SIZE,
    KAGGLE_PROPORTIONS,
    SPLITS,
    class_counts,
    image_path,
)
from course_utils.validation import check_count, check_fraction

__all__ = ["CLASSES", "SPLITS", "KAGGLE_PROPORTIONS", "LESION_RADIUS", "LESION_CONTRAST", "VERSION",
           "TEST_FRACTION", "render_slice", "class_counts", "render_files", "split_sizes", "simulate"]

#: Lesion radius range per class, as a fraction of the brain's semi-axes.
LESION_RADIUS = {"glioma": (0.18, 0.32), "meningioma": (0.13, 0.24), "pituitary": (0.11, 0.17)}
#: Range of the lesion contrast (1: fully contrasted; lower values make faint, harder lesions).
LESION_CONTRAST = (0.7, 1.0)
#: Share of the test split when ``n`` is given (the defaults, 2,400 + 800 images, have it too).
TEST_FRACTION = 0.25
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
    size = check_count(size, "size", min_value=32)
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


def _render_task(task: tuple[str, int, int, tuple[int, ...], str]) -> None:
    """Render and save one image (module level, so worker processes can run it)."""
    label, size, quality, seed, path = task
    formats.write_image(render_slice(label, size, np.random.default_rng(seed)), path, quality=quality)


def render_files(folder: str | Path, *, n_train: int, n_test: int,
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
        the published dataset's training shares.
    size_range
        Smallest and largest image side in pixels; each image draws its own
        size, as the published images differ in size.
    quality
        JPEG quality (1-95).
    seed
        Image ``i`` of a split depends only on ``(seed, split, class, i)``.
    progress
        Show a progress bar.

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
    for s_index, split in enumerate(SPLITS):
        for c_index, label in enumerate(CLASSES):
            image_path(folder, split, label, 0).parent.mkdir(parents=True, exist_ok=True)
            for i in range(counts[split][label]):
                image_seed = (int(seed), s_index, c_index, i)
                size = int(np.random.default_rng(image_seed + (1,)).integers(lo, hi + 1))
                tasks.append((label, size, int(quality), image_seed, str(image_path(folder, split, label, i))))
    desc = f"simulating {len(tasks)} MRI slices"
    if len(tasks) < 2000 or n_workers() == 1:  # starting worker processes costs more than it saves
        for task in tqdm(tasks, desc=desc, disable=not progress):
            _render_task(task)
    else:
        parallel_map(_render_task, tasks, desc=desc)
    return counts


def split_sizes(n: int | None, test_fraction: float = TEST_FRACTION) -> tuple[int, int]:
    """Training and test images for ``n`` images in all.

    ``None`` gives the course's defaults: 2,400 + 800 images (640 + 240 in fast mode).
    """
    test_fraction = check_fraction(test_fraction, "test_fraction", closed="neither")
    if n is None:
        return config.scale(full=2400, fast=640), config.scale(full=800, fast=240)
    n = check_count(n, "n", min_value=2)  # one image per split
    n_test = min(max(1, round(n * test_fraction)), int(n) - 1)
    return int(n) - n_test, n_test


def simulate(n: int | None = None, *, seed: int = 42, image_size: int | None = None,
             test_fraction: float = TEST_FRACTION,
             train_proportions: Mapping[str, float] | Sequence[float] | None = None,
             test_proportions: Mapping[str, float] | Sequence[float] | None = None,
             size_range: tuple[int, int] | None = None, progress: bool = True) -> Dataset:
    """The simulated dataset as a :class:`Dataset`, its JPEGs generated once and cached.

    The images are rendered into ``<data>/simulated/brain_mri/<key>/`` (the
    Kaggle layout, :func:`render_files`) and read back with
    :func:`formats.read`: this is what ``brain_mri.load(source="simulated")``
    (and ``"auto"`` without the published images) returns.

    Parameters
    ----------
    n
        Number of images in both splits, ``test_fraction`` of them for
        testing (default: 2,400 + 800, or 640 + 240 in fast mode).
    seed
        Seed of the simulation.
    image_size
        Side of the square images read back, in pixels (default 64, or 48 in
        fast mode). The files themselves are larger and of mixed sizes
        (``size_range``, default 1.5 to 2 times ``image_size``).
    test_fraction
        Share of the test split when ``n`` is given.
    train_proportions, test_proportions
        Class shares of each split (see :func:`class_counts`); ``None``: the
        published training set's shares.
    size_range
        Smallest and largest side of the files, in pixels (at least 32).
    progress
        Show progress bars (generation and reading).

    Returns
    -------
    Dataset
        ``.data`` is an :class:`~formats.MRIImages`; ``.path`` the folder
        holding ``Training/`` and ``Testing/``; ``.details["counts"]`` the
        images per split and class.
    """
    n_train, n_test = split_sizes(n, test_fraction)
    image_size = formats.check_image_size(image_size if image_size is not None else
                                          DEFAULT_IMAGE_SIZE[config.mode_name()])
    if size_range is None:
        size_range = (max(32, 3 * image_size // 2), max(32, 2 * image_size))  # mixed sizes, larger than read back
    # the cache key is what it was before the dataset became a package: old caches stay valid
    params: dict[str, Any] = {
        "n_train": int(n_train), "n_test": int(n_test),
        "train": class_counts(n_train, train_proportions), "test": class_counts(n_test, test_proportions),
        "size_range": [int(v) for v in size_range], "seed": int(seed),
        "lesion_radius": LESION_RADIUS, "lesion_contrast": LESION_CONTRAST,  # module settings change the images too
    }

    def _generate(folder: Path) -> None:
        render_files(folder, n_train=n_train, n_test=n_test, train_proportions=train_proportions,
                     test_proportions=test_proportions, size_range=size_range, seed=seed, progress=progress)

    folder = cached_simulation("brain_mri", params, _generate, version=VERSION)
    images = formats.read(folder, image_size=image_size, progress=progress)
    return Dataset(images, "simulated", "brain_mri",
                   f"course simulation: procedural MRI-like slices, seed {seed}", SIMULATION_LICENCE,
                   folder, {"image_size": image_size, "counts": images.counts(), "seed": seed,
                            "size_range": tuple(size_range)})
