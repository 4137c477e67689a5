"""Brain MRI slices in four classes: glioma, meningioma, no tumour, pituitary tumour.

Published dataset
-----------------
The Kaggle "Brain Tumor MRI Dataset" (Masoud Nickparvar, 2021, CC0 1.0),
compiled from the figshare (Cheng et al.), SARTAJ and Br35H collections of
**measured** clinical MRI scans: JPEG images of varying sizes in
``Training/<class>/`` (5,712 images) and ``Testing/<class>/`` (1,311 images),
classes ``glioma``, ``meningioma``, ``notumor``, ``pituitary``. Kaggle requires
an account to download it, so the loader reads the unzipped folder from
``<data>/real/brain_mri/`` or from a path you give; with the optional
``kagglehub`` package and Kaggle credentials it can also download it.

Course simulation
-----------------
Procedural MRI-like slices written as JPEGs in the same folder tree
(:mod:`course_utils.datasets.brain_mri.simulation`).

Modules
-------
formats
    :func:`~formats.read` (both splits) and :func:`~formats.read_split` of the
    Kaggle layout, :func:`~formats.write`, :func:`~formats.image_sizes`.
simulation
    :func:`~simulation.render_slice` (one image) and :func:`~simulation.simulate`.

Examples
--------
>>> from course_utils.datasets import brain_mri
>>> ds = brain_mri.load(image_size=64)            # doctest: +SKIP
>>> images = ds.data                              # an MRIImages
>>> images.X_train.shape                          # (n, 64, 64, 1), floats in [0, 1]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from course_utils import config
from course_utils.datasets._fetch import network_available
from course_utils.datasets._registry import Dataset, DatasetInfo, DataUnavailableError, load_with_fallback, real_dir
from course_utils.datasets.brain_mri import formats, simulation
from course_utils.datasets.brain_mri._layout import DEFAULT_IMAGE_SIZE
from course_utils.datasets.brain_mri.formats import (
    CLASSES,
    EXPECTED_COUNTS,
    SPLITS,
    MRIImages,
    find_root,
    image_sizes,
    read,
    read_split,
    write,
)
from course_utils.datasets.brain_mri.simulation import simulate

__all__ = ["INFO", "CLASSES", "SPLITS", "KAGGLE_HANDLE", "EXPECTED_COUNTS", "DEFAULT_IMAGE_SIZE", "MRIImages",
           "read", "read_split", "write", "image_sizes", "find_root", "load", "simulate", "formats", "simulation"]

#: The dataset's handle on Kaggle (``kagglehub.dataset_download`` takes it).
KAGGLE_HANDLE = "masoudnickparvar/brain-tumor-mri-dataset"

INFO = DatasetInfo(
    name="brain_mri",
    title="Brain Tumor MRI Dataset (Kaggle)",
    provenance="Kaggle, Masoud Nickparvar (2021), from the figshare, SARTAJ and Br35H collections",
    licence="CC0 1.0",
    citation="Nickparvar, M. (2021). Brain Tumor MRI Dataset [Data set]. Kaggle. "
             "https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset",
    homepage="https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset",
    files=(),
    how_to_obtain=(
        "Download the zip from https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset "
        "(a free Kaggle account is needed) and unzip it into <data>/real/brain_mri/ so that "
        "Training/<class>/ and Testing/<class>/ are there, or give load(path=<the unzipped folder>)."
    ),
    made_by="measured: clinical MRI scans (Kaggle, Nickparvar 2021, merging figshare, SARTAJ and Br35H)",
)


def _kagglehub_installed() -> bool:
    """Whether the optional ``kagglehub`` package can be imported (it is not imported here)."""
    return importlib.util.find_spec("kagglehub") is not None


def _kaggle_credentials() -> bool:
    """Whether Kaggle credentials are configured (environment or ``kaggle.json``)."""
    if os.environ.get("KAGGLE_API_TOKEN") or (os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")):
        return True
    conf = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")
    return (conf / "kaggle.json").is_file() or (conf / "access_token").is_file()


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _download_with_kagglehub() -> Path:
    """Download with ``kagglehub`` when it is installed, credentials exist and Kaggle answers."""
    if config.offline_mode():
        raise DataUnavailableError("COURSE_OFFLINE is set, so no download is tried")
    if not _kagglehub_installed():
        raise DataUnavailableError("the optional package kagglehub is not installed")
    if not _kaggle_credentials():
        raise DataUnavailableError("kagglehub has no Kaggle credentials (KAGGLE_USERNAME/KAGGLE_KEY or kaggle.json)")
    if not network_available("https://www.kaggle.com"):
        raise DataUnavailableError("www.kaggle.com is unreachable")
    import kagglehub

    try:
        with _socket_timeout(60):
            path = Path(kagglehub.dataset_download(KAGGLE_HANDLE))
    except Exception as exc:  # noqa: BLE001 - any failure means: not available this way
        raise DataUnavailableError(f"kagglehub failed: {type(exc).__name__}: {exc}") from exc
    root = find_root(path)
    if root is None:
        raise DataUnavailableError(f"kagglehub gave {path}, which holds no Training/ and Testing/ folders")
    return root


def _load_real(path: str | Path | None, n: int | None, image_size: int, verbose: bool) -> Dataset:
    if path is not None:
        root = find_root(path)
        if root is None:
            raise FileNotFoundError(f"{path} holds no Training/ and Testing/ folders (the Kaggle layout): "
                                    f"{INFO.how_to_obtain}")
    else:
        cache = real_dir(INFO.name)
        root = find_root(cache)
        if root is None:
            try:
                root = _download_with_kagglehub()
            except DataUnavailableError as exc:
                raise DataUnavailableError(
                    f"no copy in {cache} and {exc}. {INFO.how_to_obtain.replace('<data>/real/brain_mri', str(cache))}"
                ) from exc
    images = formats.read(root, n=n, image_size=image_size, progress=verbose)
    counts = images.counts()
    if verbose and n is None and counts != EXPECTED_COUNTS:
        print(f"[{INFO.name}] note: {root} does not hold the 5,712 + 1,311 images of the published dataset "
              f"(a subset or another version?): {counts}")
    return Dataset(images, "real", INFO.name, INFO.provenance, INFO.licence, root,
                   {"image_size": image_size, "counts": counts})


def load(source: str = "auto", *, n: int | None = None, seed: int = 42, verbose: bool = True,
         image_size: int | None = None, path: str | Path | None = None,
         test_fraction: float = simulation.TEST_FRACTION,
         train_proportions: Mapping[str, float] | Sequence[float] | None = None,
         test_proportions: Mapping[str, float] | Sequence[float] | None = None) -> Dataset:
    """The brain MRI images, both splits: the published dataset, or the course's simulation.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the published images when they are on disk (or can be
        downloaded with kagglehub), else the simulation.
    n
        Number of images, both splits together. The simulation generates
        ``n``, ``test_fraction`` of them for testing (default 2,400 + 800, or
        640 + 240 in fast mode); from the published dataset, about ``n`` of its
        files, shared like its splits and classes (default: all 7,023).
    seed
        Seed of the simulation (the published subset is the first files by name).
    verbose
        Print which source is used, and show progress bars.
    image_size
        Side of the square images in pixels (default 64, or 48 in fast mode).
    path
        A folder holding the unzipped published dataset (``Training/``,
        ``Testing/``); default ``<data>/real/brain_mri/``. A path that does not
        hold them is an error.
    test_fraction, train_proportions, test_proportions
        Test share and class shares of the simulated splits (default: 0.25 and
        the published training set's class shares); ignored for the published data.

    Returns
    -------
    Dataset
        ``.data`` is an :class:`MRIImages`; ``.details["counts"]`` gives the
        images per split and class; ``.path`` is the folder holding
        ``Training/`` and ``Testing/``.
    """
    image_size = formats.check_image_size(image_size if image_size is not None else
                                          DEFAULT_IMAGE_SIZE[config.mode_name()])

    def simulated() -> Dataset:
        return simulation.simulate(n, seed=seed, image_size=image_size, test_fraction=test_fraction,
                                   train_proportions=train_proportions, test_proportions=test_proportions,
                                   progress=verbose)

    return load_with_fallback(INFO.name, source, lambda: _load_real(path, n, image_size, verbose), simulated,
                              info=INFO, verbose=verbose)
