"""Where the course installs: the README's platform table, requirements.txt's markers, Python 3.11 and 3.12.

Offline tests check how a wheel's tags are read and what the markers say; the tests
with the marker ``pypi`` (``make check-install``) ask PyPI which wheels the pinned
versions have today and fail when the README's table or the markers drift from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import platforms as P  # noqa: E402
from test_install import _reachable, _resolve  # noqa: E402


def _pin(name: str) -> Requirement:
    return next(r for r in P.pins() if P._norm(r.name) == name)


# --- offline -------------------------------------------------------------------------------


@pytest.mark.parametrize("filename, platform, python, expected", [
    ("x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "linux-x86_64", "3.11", True),
    ("x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "linux-x86_64", "3.12", False),
    ("x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "linux-aarch64", "3.11", False),
    ("x-1-cp312-cp312-manylinux_2_39_x86_64.whl", "linux-x86_64", "3.12", False),  # newer glibc than 2.35
    ("x-1-cp312-cp312-macosx_15_0_arm64.whl", "macos-arm64-15", "3.12", True),
    ("x-1-cp312-cp312-macosx_15_0_arm64.whl", "macos-arm64-14", "3.12", False),
    ("x-1-cp311-cp311-macosx_11_0_universal2.whl", "macos-x86_64", "3.11", True),
    ("x-1-cp311-cp311-win_amd64.whl", "windows", "3.11", True),
    ("x-1-cp39-abi3-win_amd64.whl", "windows", "3.12", True),
    ("x-1-cp313-abi3-win_amd64.whl", "windows", "3.12", False),
    ("x-1-py3-none-any.whl", "macos-x86_64", "3.12", True),
])
def test_wheel_tags_are_read_per_platform(filename, platform, python, expected):
    assert P.has_wheel([filename], P.PLATFORMS[platform], python) is expected


def test_pythia_marker_keeps_it_where_its_wheels_are():
    """requirements.txt installs Pythia on Linux x86_64 and macOS >= 15 arm64 only (its wheels, PyPI)."""
    marker = _pin("pythia8mc").marker
    assert marker is not None
    kept = {key for key, p in P.PLATFORMS.items() for py in P.PYTHONS if marker.evaluate(p.markers(py))}
    assert kept == {"linux-x86_64", "macos-arm64-15"}


def test_verdicts_from_a_made_up_index():
    reqs = [Requirement("a==1"), Requirement("pythia8mc==1 ; sys_platform == 'linux' and platform_machine == 'x86_64'"), Requirement("fastjet==1")]
    available = {"a": ["a-1-py3-none-any.whl"],
                 "pythia8mc": ["pythia8mc-1-cp311-cp311-manylinux_2_17_x86_64.whl"],
                 "fastjet": ["fastjet-1-cp311-cp311-manylinux_2_17_x86_64.whl", "fastjet-1-cp311-cp311-win_amd64.whl"]}
    assert P.verdict(reqs, available, P.PLATFORMS["linux-x86_64"], "3.11") == "cours complet"
    assert P.verdict(reqs, available, P.PLATFORMS["windows"], "3.11") == "données publiées seulement (sans `pythia8mc`)"
    assert P.verdict(reqs, available, P.PLATFORMS["linux-aarch64"], "3.11") == "non : sans wheel pour `fastjet`"
    assert P.verdict(reqs, available, P.PLATFORMS["linux-x86_64"], "3.12") == \
        "non : sans wheel pour `pythia8mc`, `fastjet`"


def test_readme_has_the_table_with_every_row():
    text = P.readme_table()
    for label, _, _, _ in P.ROWS:
        assert f"| {label} |" in text
    assert "WSL2" in text and "Colab" in text and "Binder" in text and "JupyterHub" in text


# --- against PyPI ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pypi_wheels():
    if not _reachable("pypi.org"):
        pytest.skip("PyPI is unreachable from here")
    return P.wheels(P.pins())


@pytest.mark.pypi
def test_readme_table_is_what_pypi_says(pypi_wheels):
    fresh = P.table(P.pins(), pypi_wheels)
    assert P.readme_table() == fresh, (
        "the README's platform table differs from PyPI's wheels today: run "
        f"`python scripts/platforms.py --write` and read the diff\n{fresh}")


@pytest.mark.pypi
def test_simulation_markers_match_the_wheels(pypi_wheels):
    """Each simulation pin is installed exactly where it has a wheel (a marker elsewhere, no compile)."""
    for name in P.SIMULATION:
        req = _pin(name)
        for key, platform in P.PLATFORMS.items():
            for py in P.PYTHONS:
                installed = req.marker is None or req.marker.evaluate(platform.markers(py))
                wheel = P.has_wheel(pypi_wheels[name], platform, py)
                assert installed == wheel, f"{name} on {key}, Python {py}: marker {installed}, wheel {wheel}"


#: Packages that pull torch: with PyPI only, pip would resolve PyPI's CUDA torch for them.
TORCH_USERS = {"torch", "zuko", "torch-geometric", "skorch"}


@pytest.mark.slow
@pytest.mark.pypi
@pytest.mark.parametrize("python", P.PYTHONS)
def test_requirements_resolve_to_wheels_on_linux(python, tmp_path, pypi_wheels):
    """requirements.txt resolves from PyPI's wheels for Python 3.11 and 3.12 (Linux x86_64).

    torch comes from PyTorch's CPU index on Linux (make setup), often unreachable from a
    test machine, and PyPI's CUDA build pulls GB of nvidia wheels: torch and the three
    packages that require it are checked by their own wheels instead (torch's for this
    Python; the others pure Python).
    """
    lines = [ln for ln in P.requirement_lines() if P._norm(Requirement(ln).name) not in TORCH_USERS]
    resolved = _resolve(lines, python, tmp_path)
    assert resolved["pythia8mc"] == "8.317.2" and resolved["tensorflow"] == "2.21.0"
    linux = P.PLATFORMS["linux-x86_64"]
    for name in TORCH_USERS:
        assert P.has_wheel(pypi_wheels[name], linux, python), f"{name} has no wheel for Python {python}"
