"""course_utils._optional.require: a missing optional library is reported as what to install."""

from __future__ import annotations

import sys

import pytest

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
    monkeypatch.setitem(sys.modules, "PIL", None)  # None in sys.modules: import raises ModuleNotFoundError
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
