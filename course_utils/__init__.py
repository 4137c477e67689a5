"""Helpers for the course *Machine learning pour la physique des particules et la science*.

Layout
------
Each kind of code has one place; a module imports only from the places below it
(``pyproject.toml`` writes this down as one import-linter ``layers`` contract,
checked by ``make lint``):

plotting, report
    what the notebooks show and record: figures, the course results table.
models
    what learns, and its training: ``adversarial`` (notebook 10), ``compression``
    (the tagger, pruning, quantization, deployment; notebook 06), ``cwola``
    (out-of-fold scores; notebook 08).
rl
    reinforcement learning (notebook 12): the bandit and the grid world, the ARES beam line in
    Cheetah as a ``gymnasium.Env``, the classical optimisers run on the same tuning problems.
compute, datasets
    where the computation runs (``compute.cluster``: Dask, notebook 01b;
    ``compute.tfdata``: TFRecord and ``tf.data``, notebook 04); one loader per
    dataset, published or simulated.
metrics
    every figure of merit: classification, HEP (ROC, rejection, significance,
    SIC), regression, compression, decorrelation, systematics, tracking, the
    generative models' judges (``generative``) and the sideband fit of a bump
    hunt (``sideband_fit``).
physics
    pure NumPy/awkward physics: jets, N-subjettiness, Hillas parameters,
    kinematics, resonances, dimuons, calorimeter showers.
config, manifest, runtime, validation
    data directory, modes and seeds; each notebook's title, duration, hardware,
    datasets and sizes per mode (``manifest.toml``); the environment and its
    hardware; the input checks that raise ``ValueError``.

A new figure of merit goes to ``metrics``, a new physics observable to
``physics``, a new model or training loop to ``models``.

``import course_utils`` is light: it imports neither torch, TensorFlow nor dask, and
the sub-modules are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("config", "manifest", "runtime", "validation", "physics", "metrics", "datasets", "compute",
               "models", "rl", "plotting", "report")

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
    info.update(mode=config.mode_name(), mode_reason=config.mode_reason(), seed=seed, data_dir=str(config.data_dir()))
    if verbose:
        print(runtime.format_environment(info))
    return info
