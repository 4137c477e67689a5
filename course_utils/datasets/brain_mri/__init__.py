"""Brain MRI slices in four classes: glioma, meningioma, no tumour, pituitary tumour.

Published dataset
-----------------
The Kaggle "Brain Tumor MRI Dataset" (Masoud Nickparvar, 2021, CC0 1.0),
compiled from the figshare (Cheng et al.), SARTAJ and Br35H collections of
**measured** clinical MRI scans: JPEG images of varying sizes in
``Training/<class>/`` (5,712 images) and ``Testing/<class>/`` (1,311 images),
classes ``glioma``, ``meningioma``, ``notumor``, ``pituitary``. Kaggle requires
an account to download it, so the loader reads the unzipped folder from
``<data>/real/brain_mri/`` or from the ``data_home`` you give; with the optional
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

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from course_utils import config
from course_utils.datasets._fetch import download_message, fetch_kaggle
from course_utils.datasets._registry import (
    Dataset,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    load_with_fallback,
    real_dir,
)
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
from course_utils.validation import check_count

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
    # the zip that kagglehub downloads into its own cache (~/.cache/kagglehub); its size is not known here
    files=(RemoteFile(name="brain-tumor-mri-dataset.zip",
                      urls=(f"https://www.kaggle.com/datasets/{KAGGLE_HANDLE}",), sha256=None),),
    how_to_obtain=(
        "Download the zip from https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset "
        "(a free Kaggle account is needed) and unzip it into <data>/real/brain_mri/ so that "
        "Training/<class>/ and Testing/<class>/ are there, or give load(data_home=<the unzipped folder>)."
    ),
    made_by="measured: clinical MRI scans (Kaggle, Nickparvar 2021, merging figshare, SARTAJ and Br35H)",
)


def _download_with_kagglehub() -> Path:
    """The published images through :func:`~course_utils.datasets._fetch.fetch_kaggle`, when it can."""
    path = fetch_kaggle(KAGGLE_HANDLE, announce=download_message(INFO.name, INFO.files[0]))
    root = find_root(path)
    if root is None:
        raise DataUnavailableError(f"kagglehub gave {path}, which holds no Training/ and Testing/ folders")
    return root


def _load_real(data_home: str | os.PathLike[str] | None, n: int | None, image_size: int,
               verbose: bool) -> Dataset:
    folder = real_dir(INFO.name, data_home)
    root = find_root(folder)
    if root is None:
        try:
            root = _download_with_kagglehub()
        except DataUnavailableError as exc:
            raise DataUnavailableError(
                f"no copy in {folder} and {exc}. {INFO.how_to_obtain.replace('<data>/real/brain_mri', str(folder))}"
            ) from exc
    images = formats.read(root, n=n, image_size=image_size, progress=verbose)
    counts = images.counts()
    if verbose and n is None and counts != EXPECTED_COUNTS:
        print(f"[{INFO.name}] note: {root} does not hold the 5,712 + 1,311 images of the published dataset "
              f"(a subset or another version?): {counts}")
    return Dataset(images, "real", INFO.name, INFO.provenance, INFO.licence, root,
                   {"image_size": image_size, "counts": counts})


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None, image_size: int | None = None,
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
        ``len(ds)``: the images of both splits.
    seed
        Seed of the simulation; the published subset does not depend on it
        (the first files by name).
    verbose
        Print which source is used, and show progress bars.
    data_home
        The folder holding the unzipped published dataset (``Training/`` and
        ``Testing/``, or one folder level above them), instead of
        ``<data>/real/brain_mri/``; when they are not there, the loader tries
        kagglehub, then (``"auto"``) the simulation.
    image_size
        Side of the square images in pixels (default 64, or 48 in fast mode).
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
    n = check_count(n, "n", allow_none=True)
    image_size = formats.check_image_size(image_size if image_size is not None else
                                          DEFAULT_IMAGE_SIZE[config.mode_name()])

    def simulated() -> Dataset:
        return simulation.simulate(n, seed=seed, image_size=image_size, test_fraction=test_fraction,
                                   train_proportions=train_proportions, test_proportions=test_proportions,
                                   progress=verbose)

    return load_with_fallback(INFO.name, source, lambda: _load_real(data_home, n, image_size, verbose), simulated,
                              info=INFO, verbose=verbose)
