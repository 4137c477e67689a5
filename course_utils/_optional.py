"""Optional libraries: import one, or say what to install.

``pip install course_utils`` brings the light core (NumPy, pandas, SciPy,
scikit-learn, uproot, awkward, h5py...). The heavier stacks come with the
``colab`` extra (Pythia, FastJet, ONNX, Dask's distributed, particle, mplhep...)
or, for torch and TensorFlow, with the platform (Colab ships them) or the
course's ``requirements.txt``. A helper that needs one of them calls
:func:`require` where it first needs it, so that a missing library is reported
as what to install, not as a bare ``ModuleNotFoundError`` deep inside.

Examples
--------
>>> np = require("numpy", why="the examples")
>>> np.__name__
'numpy'
"""

from __future__ import annotations

import importlib
import re
from importlib import metadata
from types import ModuleType

__all__ = ["require", "MissingDependencyError"]

#: Import name -> distribution name on PyPI, where they differ.
_DISTRIBUTIONS = {
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "torch_geometric": "torch-geometric",
    "stream_unzip": "stream-unzip",
    "imblearn": "imbalanced-learn",
    "cheetah": "cheetah-accelerator",
    "stable_baselines3": "stable-baselines3",
}

#: Where a library has no wheel everywhere: what the message adds (requirements.txt's markers
#: and the README's platform table say the same; tests/test_platforms.py checks them against PyPI).
WHERE = {
    "pythia8mc": ("pythia8mc 8.317.2 has wheels for Linux x86_64 and for macOS >= 15 on Apple Silicon only "
                  "(README, platform table): elsewhere, run the course in WSL2 or on Colab, or load the "
                  "published dataset (source='real')"),
}

#: Neither in the base dependencies nor in an extra: Colab ships them; elsewhere requirements.txt pins them.
_PLATFORM = {"torch", "tensorflow", "keras"}


class MissingDependencyError(ModuleNotFoundError):
    """An optional library that a course helper needs is not installed; the message says what to install."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _course_requirement(distribution: str) -> tuple[str, str | None] | None:
    """``(requirement, extra)`` from the installed course_utils metadata, or None when it does not list it."""
    try:
        requires = metadata.requires("course_utils") or []
    except metadata.PackageNotFoundError:  # imported from a checkout without `pip install -e .`
        return None
    for line in requires:
        spec, _, marker = line.partition(";")
        name = re.split(r"[\s\[<>=!~;]", spec.strip(), maxsplit=1)[0]
        if _norm(name) == _norm(distribution):
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            return spec.strip().replace(" ", ""), extra.group(1) if extra else None
    return None


def _advice(distribution: str) -> str:
    found = _course_requirement(distribution)
    if found is None:
        if distribution in _PLATFORM:
            return (f"pip install {distribution} (Colab ships it; in a clone of the course, "
                    "`pip install -r requirements.txt` installs the tested version)")
        return f"pip install 'course_utils[colab]' (or: pip install {distribution})"
    requirement, extra = found
    if extra is None:
        return f"pip install '{requirement}' (a dependency of course_utils: the installation is incomplete)"
    return f"pip install 'course_utils[{extra}]' (or only this one: pip install '{requirement}')"


def require(module: str, *, why: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` saying what to install.

    Parameters
    ----------
    module
        The module to import, for example ``"fastjet"`` or ``"onnxruntime.quantization"``.
    why
        What needs it, in a few words ("jet clustering in the LHCO simulation").
    package
        The distribution to install when its name differs from the module's top-level
        name and is not in the built-in table (``PIL`` -> ``pillow`` is).

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingDependencyError
        When ``module`` (or its top-level package) is not installed. A library that is
        installed but misses one of *its* dependencies raises its own error unchanged.
    """
    if not isinstance(module, str) or not module or not isinstance(why, str) or not why.strip():
        raise ValueError(f"require needs a module name and a reason, got module={module!r}, why={why!r}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        parts = module.split(".")
        own = {".".join(parts[: i + 1]) for i in range(len(parts))}
        if exc.name not in own:
            raise  # installed, but broken inside: not a question of what to install
        distribution = package or _DISTRIBUTIONS.get(parts[0], parts[0])
        where = f". {WHERE[distribution]}" if distribution in WHERE else ""
        raise MissingDependencyError(
            f"{why} needs {distribution}, which is not installed here. Install it with: {_advice(distribution)}"
            f"{where}",
            name=module,
        ) from exc
