"""Helpers for the course *Machine learning pour la physique des particules et la science*.

Modules
-------
config
    data directory, fast and offline modes, seeds.
manifest
    each notebook's title, duration, hardware, datasets and sizes per mode (``manifest.toml``).
runtime
    environment description, torch device, TensorFlow distribution strategy.
metrics
    classification, aggregated per-class, HEP, regression and compression metrics.
plotting
    confusion matrices, ROC and rejection curves, training histories.
report
    records each notebook's key results for the course results table.
datasets
    one loader per dataset, real or simulated.
physics
    pure NumPy/awkward physics (jets, hillas, kinematics, resonances, dimuon), below datasets.
cluster
    a Dask cluster with the course's defaults, local or remote (notebook 01b).
anomaly
    SIC curves, CWoLa k-fold scores and the sideband bump-hunt fit (notebook 08).
calo_metrics
    calorimeter-shower observables and the generative models' judges (notebook 09).
adversarial
    gradient reversal, pivot and decorrelation training for systematics (notebook 10).
compression
    baseline tagger, pruning, quantization and deployment helpers (notebook 06).
tfdata
    TFRecord writing and ``tf.data`` pipelines (notebook 04).

``import course_utils`` is light: it imports neither torch, TensorFlow nor dask, and
the sub-modules are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("config", "manifest", "runtime", "metrics", "plotting", "report", "datasets", "physics", "cluster",
               "anomaly", "calo_metrics", "adversarial", "compression", "tfdata")

__all__ = ["__version__", "setup", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")


def setup(seed: int = 42, *, verbose: bool = True) -> dict[str, Any]:
    """Standard first step of every notebook: seed, plotting style, environment summary.

    Prints the mode (fast or full), the data directory and the hardware.

    Returns
    -------
    dict
        What :func:`course_utils.runtime.describe_environment` returns, plus
        ``mode``, ``seed`` and ``data_dir``.
    """
    from course_utils import config, plotting, runtime

    config.set_seed(seed)
    plotting.use_course_style()
    info = runtime.describe_environment()
    info.update(mode=config.mode_name(), seed=seed, data_dir=str(config.data_dir()))
    if verbose:
        print(runtime.format_environment(info))
    return info
