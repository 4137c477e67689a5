"""course_utils._optional.require: a missing optional library is reported as what to install."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from course_utils import _optional
from course_utils._optional import MissingDependencyError, require


def test_require_returns_the_module():
    import json

    assert require("json", why="a test") is json
    assert require("os.path", why="a test") is sys.modules["os.path"]


def test_missing_module_names_what_to_install(monkeypatch):
    monkeypatch.setattr(_optional, "_course_requirement", lambda dist: ("fastjet==3.5.2.0", "colab"))
    with pytest.raises(MissingDependencyError) as err:
        require("course_utils_no_such_module_xyz", why="jet clustering", package="fastjet")
    msg = str(err.value)
    assert msg.startswith("jet clustering needs fastjet, which is not installed")
    assert "pip install 'course_utils[colab]'" in msg and "pip install 'fastjet==3.5.2.0'" in msg
    assert isinstance(err.value, ModuleNotFoundError)  # `except ImportError` still catches it
    assert err.value.name == "course_utils_no_such_module_xyz"


def test_distribution_names_and_advice_without_metadata(monkeypatch):
    monkeypatch.setattr(_optional, "_course_requirement", lambda dist: None)
    # None in sys.modules: importing it raises ModuleNotFoundError (even if another test imported it)
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(MissingDependencyError, match=r"images needs pillow.*pip install pillow"):
        require("PIL.Image", why="images")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install torch \(Colab ships it.*requirements.txt"):
        require("torch", why="runtime.torch_device")


def test_extra_and_version_come_from_the_installed_metadata(monkeypatch):
    requires = ["numpy>=1.24", "fastjet==3.5.2.0; extra == \"colab\"", "scipy>=1.10"]
    monkeypatch.setattr(_optional.metadata, "requires", lambda name: requires)
    assert _optional._course_requirement("fastjet") == ("fastjet==3.5.2.0", "colab")
    assert _optional._course_requirement("SciPy") == ("scipy>=1.10", None)
    assert _optional._course_requirement("pythia8mc") is None
    assert "installation is incomplete" in _optional._advice("scipy")


def test_a_broken_installed_library_keeps_its_own_error(monkeypatch):
    """The library is there but misses one of its own dependencies: that error, unchanged."""
    def broken_import(name, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'some_dependency'", name="some_dependency")

    monkeypatch.setattr(_optional.importlib, "import_module", broken_import)
    with pytest.raises(ModuleNotFoundError) as err:
        require("fastjet", why="jet clustering")
    assert not isinstance(err.value, MissingDependencyError) and err.value.name == "some_dependency"


@pytest.mark.parametrize("module, why", [("", "x"), ("numpy", ""), (None, "x"), ("numpy", "  ")])
def test_require_rejects_bad_arguments(module, why):
    with pytest.raises(ValueError, match="module name and a reason"):
        require(module, why=why)


def test_helpers_say_what_to_install(monkeypatch):
    """Helpers outside the data layer call require: a missing library gives the install line."""
    from course_utils.physics import resonances

    monkeypatch.setitem(sys.modules, "particle", None)
    with pytest.raises(MissingDependencyError, match=r"physics.resonances .* needs particle.*pip install"):
        resonances._particle(23)
    from course_utils import plotting

    monkeypatch.setitem(sys.modules, "mplhep", None)
    with pytest.raises(MissingDependencyError, match=r"needs mplhep"):
        with plotting.hep_style():
            pass


# --- every library that course_utils imports is declared somewhere -----------------------

ROOT = Path(__file__).resolve().parent.parent
#: Import name -> distribution, where they differ.
DISTRIBUTION = {"PIL": "pillow", "sklearn": "scikit-learn", "stream_unzip": "stream-unzip",
                "dask_gateway": "dask-gateway", "XRootD": "xrootd"}
#: Declared nowhere in pyproject.toml, on purpose: Colab ships torch and TensorFlow (requirements.txt
#: pins them for a laptop); the others are optional sources whose absence the code explains itself.
UNDECLARED = {"torch", "tensorflow", "keras", "kagglehub", "dask-gateway", "xrootd"}
#: Modules that are about one heavy library and import it at module level.
MODULE_LEVEL_OK = {"course_utils/models/adversarial.py": {"torch"},
                   "course_utils/models/particle_transformer.py": {"torch"}}  # loaded only when asked for


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(top-level distributions imported anywhere, those imported at module level) of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    anywhere, module_level = set(), set()
    top_nodes = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require" and node.args
              and isinstance(node.args[0], ast.Constant)):
            package = next((k.value.value for k in node.keywords if k.arg == "package"), None)
            names = [package or node.args[0].value]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "course_utils":
                continue
            dist = _norm(DISTRIBUTION.get(top, top))
            anywhere.add(dist)
            if id(node) in top_nodes:
                module_level.add(dist)
    return anywhere, module_level


def test_every_import_of_course_utils_is_declared():
    """Base dependencies cover module-level imports; every other import is in the colab extra (or UNDECLARED).

    A library missing from pyproject.toml fails a plain `pip install course_utils` (or Colab's
    first cell) on import, far from the cause.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {_norm(Requirement(r).name) for r in project["dependencies"]}
    extra = {_norm(Requirement(r).name) for r in project["optional-dependencies"]["colab"]}
    extra |= {"xgboost"}  # the extra names xgboost; requirements.txt its CPU build
    undeclared, too_early = {}, {}
    for path in sorted((ROOT / "course_utils").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        anywhere, module_level = _imports(path)
        for dist in anywhere - base - extra - UNDECLARED:
            undeclared.setdefault(dist, []).append(rel)
        for dist in module_level - base - MODULE_LEVEL_OK.get(rel, set()):
            too_early.setdefault(dist, []).append(rel)
    assert not undeclared, f"imported but in no dependency table of pyproject.toml: {undeclared}"
    assert not too_early, f"imported at module level but not a base dependency: {too_early}"
