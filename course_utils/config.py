"""Course-wide settings: data directory, fast and offline modes, seeds.

Every setting is read from the environment each time it is asked for, so a
notebook kernel started with ``COURSE_FAST=1`` (as ``make test`` does) sees it,
and a test can change it with ``monkeypatch.setenv``.

Examples
--------
>>> from course_utils import config
>>> n_events = config.scale(full=100_000, fast=5_000)
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import TypeVar

import numpy as np

__all__ = [
    "REPO_ROOT",
    "in_checkout",
    "data_dir",
    "lock_dir",
    "build_dir",
    "fast_mode",
    "mode_reason",
    "on_binder",
    "memory_limit_bytes",
    "offline_mode",
    "mode_name",
    "scale",
    "set_seed",
]

T = TypeVar("T")

#: The folder that holds the ``course_utils`` package: the repository root in a
#: checkout, ``site-packages`` when the package is installed from a wheel (Colab).
REPO_ROOT: Path = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name}={raw!r} is not understood: "
        f"expected one of {sorted(_TRUE | _FALSE - {''})} (or unset)"
    )


def in_checkout(root: Path | None = None) -> bool:
    """True when ``course_utils`` sits in a clone of the course repository.

    That is when the folder holding the package (``root``, default
    :data:`REPO_ROOT`) also holds the course's ``pyproject.toml``. An editable
    install (``pip install -e .``) is a checkout; a wheel installed into
    ``site-packages`` (Colab's first cell) is not.
    """
    root = REPO_ROOT if root is None else Path(root)
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return False
    return (root / "course_utils").is_dir() and 'name = "course_utils"' in text


def _folder(variable: str, default: Path) -> Path:
    """``$variable`` if set, else ``default``; created if missing.

    An existing folder is returned as it is, even read-only (a class's shared
    data folder); a missing one that cannot be created is an error that names
    the variable.
    """
    path = Path(os.environ.get(variable) or default).expanduser()
    if path.is_dir():
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create the folder {path} ({exc.strerror}): set {variable} "
                                 f"to an existing or writable folder") from exc
    return path


def _user_cache() -> Path:
    import platformdirs  # a dependency of pooch; imported only outside a checkout

    return Path(platformdirs.user_cache_dir("course_utils"))


def data_dir() -> Path:
    """Folder holding the dataset caches (created if missing).

    ``COURSE_DATA_DIR`` overrides the default: ``<repo>/data`` in a checkout,
    else the per-user cache folder (``~/.cache/course_utils`` on Linux, from
    ``platformdirs``), never the installed package's folder.
    """
    if os.environ.get("COURSE_DATA_DIR") or in_checkout():
        return _folder("COURSE_DATA_DIR", REPO_ROOT / "data")
    return _folder("COURSE_DATA_DIR", _user_cache())


def lock_dir() -> Path:
    """Folder of the data layer's lock files: per user, writable, never beside the data (created if missing).

    ``COURSE_LOCK_DIR`` overrides the default ``<user cache>/locks``
    (``~/.cache/course_utils/locks`` on Linux, from ``platformdirs``). When
    that cannot be created (a read-only home), a per-user folder in the
    system's temporary folder is used. Keeping locks out of the data folder
    lets many students read one read-only data folder (a class server).
    """
    if os.environ.get("COURSE_LOCK_DIR"):
        return _folder("COURSE_LOCK_DIR", Path())
    try:
        return _folder("COURSE_LOCK_DIR", _user_cache() / "locks")
    except OSError:
        import tempfile

        user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        return _folder("COURSE_LOCK_DIR", Path(tempfile.gettempdir()) / f"course_utils-locks-{user}")


def build_dir() -> Path:
    """Folder for generated outputs: executed notebooks, results table (created if missing).

    ``COURSE_BUILD_DIR`` overrides the default: ``<repo>/build`` in a checkout,
    else ``build/`` in the current working directory (``/content/build`` on Colab).
    """
    default = REPO_ROOT / "build" if in_checkout() else Path.cwd() / "build"
    return _folder("COURSE_BUILD_DIR", default)


#: Memory (GiB) under which the course chooses the fast mode when ``COURSE_FAST`` is unset: full
#: mode peaks at 2.3 GB in one notebook kernel (notebook 09, ``make bench-full``), and the Jupyter
#: server and the browser need their share.
FULL_MODE_MEMORY_GIB = 4.0

#: Variables that mybinder.org sets in its sessions.
BINDER_VARIABLES = ("BINDER_LAUNCH_HOST", "BINDER_REPO_URL", "BINDER_REQUEST")


def on_binder() -> bool:
    """True in a mybinder.org session (2 GB of memory: the fast mode is chosen there)."""
    return any(os.environ.get(v) for v in BINDER_VARIABLES)


def memory_limit_bytes() -> int | None:
    """The memory this process may use: its cgroup's limit (containers, JupyterHub), else the RAM."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(path).read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 2**60:  # "max" or a huge number: no limit
            return int(raw)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows, or an unknown system
        return None


def mode_reason() -> str:
    """Why the mode is what it is, in French, for the first cell of every notebook."""
    raw = os.environ.get("COURSE_FAST", "").strip()
    if raw:
        memory = memory_limit_bytes() if not _flag("COURSE_FAST") else None
        if memory is not None and memory < FULL_MODE_MEMORY_GIB * 2**30:
            # the learner asked for the full mode on a small machine (Binder's 2 GB): it wins, with a warning
            return (f"COURSE_FAST={raw} ; attention : {memory / 2**30:.1f} Go de mémoire, moins que les "
                    f"{FULL_MODE_MEMORY_GIB:.0f} Go conseillés pour le mode complet (le notebook 09 dépasse "
                    "2 Go) : si le noyau s'arrête, repassez en mode rapide (COURSE_FAST=1)")
        return f"COURSE_FAST={raw}"
    if on_binder():
        return "choisi automatiquement sur Binder (2 Go de mémoire)"
    memory = memory_limit_bytes()
    if memory is not None and memory < FULL_MODE_MEMORY_GIB * 2**30:
        return (f"choisi automatiquement : {memory / 2**30:.1f} Go de mémoire, moins que les "
                f"{FULL_MODE_MEMORY_GIB:.0f} Go que demande le mode complet")
    return "par défaut"


def fast_mode() -> bool:
    """True in fast mode (small data, few epochs).

    ``COURSE_FAST`` decides when it is set (``1``: fast, ``0``: full). Unset, the mode is
    fast on Binder and wherever less memory than :data:`FULL_MODE_MEMORY_GIB` is available
    (:func:`memory_limit_bytes`), full elsewhere; :func:`mode_reason` says which applied.
    """
    if os.environ.get("COURSE_FAST", "").strip():
        return _flag("COURSE_FAST")
    if on_binder():
        return True
    memory = memory_limit_bytes()
    return memory is not None and memory < FULL_MODE_MEMORY_GIB * 2**30


def offline_mode() -> bool:
    """True when ``COURSE_OFFLINE`` is set: no download is attempted."""
    return _flag("COURSE_OFFLINE")


def mode_name() -> str:
    """``"fast"`` or ``"full"``, for printing and for mode-dependent floors."""
    return "fast" if fast_mode() else "full"


def scale(full: T, fast: T) -> T:
    """Pick a size by mode: ``fast`` when ``COURSE_FAST`` is set, else ``full``.

    Parameters
    ----------
    full, fast
        The values for the real course and for the quick test run.
    """
    return fast if fast_mode() else full


def set_seed(seed: int = 42) -> int:
    """Seed ``random``, NumPy, and torch / TensorFlow when they are already imported.

    torch and TensorFlow are never imported by this function: seeding a library
    that the notebook does not use would cost seconds for nothing.

    Returns
    -------
    int
        The seed, so that ``rng = np.random.default_rng(set_seed(1))`` works.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.manual_seed(seed)
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        tf.random.set_seed(seed)
    if "keras" in sys.modules:
        keras = sys.modules["keras"]
        utils = getattr(keras, "utils", None)
        if utils is not None and hasattr(utils, "set_random_seed"):
            utils.set_random_seed(seed)
    return seed
