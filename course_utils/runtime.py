"""Where the course runs: Colab or not, CPU/GPU/TPU, library versions.

torch and TensorFlow are imported only inside :func:`torch_device` and
:func:`tf_strategy`, never at module import.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

from course_utils._optional import require

__all__ = [
    "in_colab",
    "library_versions",
    "describe_environment",
    "format_environment",
    "torch_device",
    "tf_strategy",
]

#: Libraries whose versions the environment check reports.
REPORTED_LIBRARIES = (
    "numpy", "pandas", "scikit-learn", "matplotlib", "torch", "tensorflow", "keras",
    "uproot", "awkward", "vector", "hist", "xgboost", "pythia8mc", "fastjet",
    "onnxruntime", "pooch",
)


def in_colab() -> bool:
    """True inside Google Colab (the ``google.colab`` module is importable there)."""
    if "google.colab" in sys.modules:
        return True
    return "COLAB_RELEASE_TAG" in os.environ or "COLAB_GPU" in os.environ


#: Other distributions that provide the same import package (CPU-only builds).
DISTRIBUTION_ALIASES = {"xgboost": ("xgboost-cpu",), "tensorflow": ("tensorflow-cpu",)}


def library_versions(names: tuple[str, ...] = REPORTED_LIBRARIES) -> dict[str, str | None]:
    """Installed version of each distribution, ``None`` when it is not installed.

    A CPU-only build counts as the library (``xgboost-cpu`` for ``xgboost``).
    Reads package metadata only: nothing is imported.
    """
    versions: dict[str, str | None] = {}
    for name in names:
        versions[name] = None
        for dist in (name, *DISTRIBUTION_ALIASES.get(name, ())):
            try:
                versions[name] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def _nvidia_gpus() -> list[str]:
    """GPU names from ``nvidia-smi`` (empty when it is absent or fails)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def _tpu_present() -> bool:
    """Cheap TPU hint: a Colab/Kaggle TPU runtime or ``/dev/accel*`` devices."""
    if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"):
        return True
    return any(name.startswith("accel") for name in _safe_listdir("/dev"))


def _safe_listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def describe_environment() -> dict[str, Any]:
    """Python, platform, CPU count, GPUs, TPU hint and library versions.

    Nothing heavy is imported: GPUs are listed with ``nvidia-smi`` when present.

    Returns
    -------
    dict
        Keys ``python``, ``platform``, ``cpu_count``, ``gpus`` (list of names),
        ``tpu`` (bool), ``colab`` (bool), ``libraries`` (name -> version or None).
    """
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count() or 1,
        "gpus": _nvidia_gpus(),
        "tpu": _tpu_present(),
        "colab": in_colab(),
        "libraries": library_versions(),
    }


def format_environment(info: dict[str, Any]) -> str:
    """A few readable lines from :func:`describe_environment` (plus mode, if given)."""
    gpus = info.get("gpus") or []
    hardware = f"{info.get('cpu_count')} CPU"
    if gpus:
        hardware += f", {len(gpus)} GPU ({', '.join(sorted(set(gpus)))})"
    if info.get("tpu"):
        hardware += ", TPU"
    lines = [f"Python {info.get('python')} on {info.get('platform')} | {hardware}"]
    if "mode" in info:
        fast = info["mode"] == "fast"
        lines.append(f"mode {'rapide' if fast else 'complet'} ({info.get('mode_reason', 'COURSE_FAST')} ; pour "
                     f"en changer : os.environ['COURSE_FAST'] = '{'0' if fast else '1'}', puis relancez le "
                     f"notebook) | data: {info.get('data_dir')}")
    if info.get("colab"):
        lines.append("running on Google Colab")
    libs = info.get("libraries") or {}
    shown = [f"{k} {v}" for k, v in libs.items() if v is not None]
    if shown:
        lines.append("libraries: " + ", ".join(shown))
    return "\n".join(lines)


def torch_device(prefer: str | None = None) -> Any:
    """The best torch device: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    prefer
        ``"cpu"``, ``"cuda"`` or ``"mps"`` to force a device; ``None`` to choose,
        unless the environment variable ``COURSE_DEVICE`` names one (for example
        ``COURSE_DEVICE=cpu`` to time a GPU machine's CPU). Asking for a device
        that is not available raises ``ValueError``.
    """
    torch = require("torch", why="runtime.torch_device")

    if prefer is None:
        prefer = os.environ.get("COURSE_DEVICE", "").strip().lower() or None
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()}
    if prefer is not None:
        if prefer not in available:
            raise ValueError(f"unknown device {prefer!r}: expected one of {sorted(available)} or None")
        if not available[prefer]:
            raise ValueError(f"device {prefer!r} was asked for but is not available here")
        return torch.device(prefer)
    for name in ("cuda", "mps"):
        if available[name]:
            return torch.device(name)
    return torch.device("cpu")


def tf_strategy(verbose: bool = True) -> Any:
    """A TensorFlow distribution strategy for the hardware at hand.

    Tries, in order: a TPU (``TPUClusterResolver(tpu="local")``, then the
    default resolver, which finds Colab and Cloud TPUs); ``MirroredStrategy``
    when several GPUs are visible; otherwise the default strategy (one GPU or
    the CPU). Never fails on a CPU-only machine: each failure is printed with
    its reason and the next option is tried.

    Returns
    -------
    tf.distribute.Strategy
        Its ``num_replicas_in_sync`` gives the number of replicas.
    """
    tf = require("tensorflow", why="runtime.tf_strategy")

    def say(msg: str) -> None:
        if verbose:
            print(msg)

    if _tpu_present() or os.environ.get("COURSE_TRY_TPU"):
        for kwargs in ({"tpu": "local"}, {}):
            try:
                resolver = tf.distribute.cluster_resolver.TPUClusterResolver(**kwargs)
                if kwargs:
                    pass  # a local TPU VM needs no connection
                else:
                    tf.config.experimental_connect_to_cluster(resolver)
                tf.tpu.experimental.initialize_tpu_system(resolver)
                strategy = tf.distribute.TPUStrategy(resolver)
                say(f"TPU found ({kwargs or 'default resolver'}): "
                    f"{strategy.num_replicas_in_sync} replicas")
                return strategy
            except Exception as exc:  # any failure means: no usable TPU this way
                say(f"no TPU via TPUClusterResolver({kwargs or ''}): {type(exc).__name__}: {exc}")
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
        say(f"{len(gpus)} GPUs: MirroredStrategy with {strategy.num_replicas_in_sync} replicas")
        return strategy
    strategy = tf.distribute.get_strategy()
    say(f"default strategy on {'1 GPU' if gpus else 'the CPU'} (1 replica)")
    return strategy
