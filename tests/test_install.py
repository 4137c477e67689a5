"""How the course installs: Colab's extra, the CPU-only Binder environment, a wheel outside a checkout.

The resolution tests ask PyPI what pip would install (``pip install --dry-run
--report`` with ``--only-binary=:all:``: wheels only, nothing downloaded but
metadata) for another platform than this machine's; they are skipped when PyPI
cannot be reached. They carry the marker ``pypi``: ``make unit`` leaves them out (it stays
offline), ``make check-install`` runs them (``.ci/run`` does, after ``make test``).
pip's own configuration is set aside so that only PyPI
answers (no local wheel folder can hide a missing wheel).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: Colab and Binder run Linux x86_64 with glibc >= 2.35: every manylinux tag up to 2_35 fits.
LINUX_X86_64 = [f"manylinux_2_{minor}_x86_64" for minor in range(35, 4, -1)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirement_lines(path: Path) -> list[str]:
    """Requirement and option lines of a requirements file, comments stripped."""
    lines = []
    for raw in path.read_text().splitlines():
        line = re.split(r"\s#", " " + raw, maxsplit=1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _requirements() -> list[Requirement]:
    return [Requirement(ln) for ln in _requirement_lines(ROOT / "requirements.txt") if not ln.startswith("-")]


def _environment_yml() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _pip_section(env: dict) -> list[str]:
    sections = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict) and "pip" in dep]
    assert len(sections) == 1, "environment.yml has one pip section"
    return sections[0]


def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def pypi():
    if not _reachable("pypi.org"):
        pytest.skip("PyPI is unreachable from here")


def _resolve(requirements: list[str], python: str, tmp: Path, platforms=LINUX_X86_64) -> dict[str, str]:
    """What pip would install from PyPI, wheels only, for CPython ``python`` on ``platforms``.

    Returns ``{normalized name: version}``; fails the test with pip's message when
    something has no wheel there or the pins conflict.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT", "PIP_NO_INDEX")}
    env["PIP_CONFIG_FILE"] = os.devnull
    req_file = tmp / "requirements.in"
    req_file.write_text("\n".join(requirements) + "\n")
    report = tmp / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--report", str(report), "--only-binary=:all:", "--python-version", python,
           "--target", str(tmp / "target"), "--index-url", "https://pypi.org/simple",
           *[arg for p in platforms for arg in ("--platform", p)], "-r", str(req_file)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"pip cannot install these from wheels for Python {python}:\n{res.stderr[-3000:]}"
    items = json.loads(report.read_text())["install"]
    for item in items:
        assert item["download_info"]["url"].endswith(".whl"), item["download_info"]["url"]
    resolved = {_norm(i["metadata"]["name"]): i["metadata"]["version"] for i in items}
    _REQUIRES.clear()
    _REQUIRES.update({_norm(i["metadata"]["name"]): {_norm(Requirement(r).name) for r in
                                                       i["metadata"].get("requires_dist", [])
                                                       if "extra ==" not in r} for i in items})
    return resolved


#: For the last resolution: each package -> the names it requires (outside extras).
_REQUIRES: dict[str, set[str]] = {}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- Colab: the `colab` extra ------------------------------------------------------------


def test_colab_extra_is_bounded_and_tested_versions():
    """Every entry is exact or bounded above; exact ones are the versions the course tests."""
    pins = {r.name.lower(): str(r.specifier) for r in _requirements()}
    extra = [Requirement(dep) for dep in _pyproject()["project"]["optional-dependencies"]["colab"]]
    assert extra
    for req in extra:
        ops = {spec.operator for spec in req.specifier}
        assert ops & {"==", "<", "<="}, f"{req}: no upper bound, pip may pick a release without a wheel"
        if "==" in ops:
            assert pins.get(req.name.lower()) == str(req.specifier), (
                f"{req}: requirements.txt tests {pins.get(req.name.lower())}")
    assert str(next(r for r in extra if r.name == "pythia8mc").specifier) == "==8.317.2", \
        "pythia8mc 8.318.0 is a source archive only"


@pytest.mark.slow
@pytest.mark.pypi
def test_colab_extra_resolves_to_wheels_for_python_312(pypi, tmp_path):
    project = _pyproject()["project"]
    resolved = _resolve(project["dependencies"] + project["optional-dependencies"]["colab"], "3.12", tmp_path)
    assert resolved["pythia8mc"] == "8.317.2" and resolved["fastjet"] == "3.5.2.0"


# --- Binder: environment.yml, CPU only ---------------------------------------------------


def test_environment_yml_states_pins_once_and_asks_for_cpu_builds():
    env = _environment_yml()
    conda = [dep for dep in env["dependencies"] if isinstance(dep, str)]
    assert sorted(conda) == ["pip", "python=3.11"], "every other package comes from requirements.txt"
    pip = _pip_section(env)
    assert "-r requirements.txt" in pip
    assert f"--extra-index-url {CPU_INDEX}" in pip, "torch must come from PyTorch's CPU index"
    assert not [ln for ln in pip if not ln.startswith("-")], f"versions stated a second time: {pip}"
    # requirements.txt: the xgboost build without nvidia-nccl wherever it has wheels, one version
    for platform, wanted in (("linux", "xgboost-cpu"), ("win32", "xgboost-cpu"), ("darwin", "xgboost")):
        chosen = [r for r in _requirements() if r.name.startswith("xgboost")
                  and (r.marker is None or r.marker.evaluate({"sys_platform": platform}))]
        assert [r.name for r in chosen] == [wanted], (platform, chosen)
    versions = {str(r.specifier) for r in _requirements() if r.name.startswith("xgboost")}
    assert len(versions) == 1, f"xgboost and xgboost-cpu at different versions: {versions}"


def _binder_requirements() -> list[str]:
    """environment.yml's pip section with its `-r` files inlined (as pip reads them), without `-e .`."""
    out = []

    def add(lines, base):
        for line in lines:
            if line.startswith("-r "):
                path = base / line[3:].strip()
                add(_requirement_lines(path), path.parent)
            elif line not in ("-e .", "."):
                out.append(line)

    add(_pip_section(_environment_yml()), ROOT)
    return out


@pytest.mark.slow
@pytest.mark.pypi
def test_binder_environment_pulls_no_nvidia_wheel(pypi, tmp_path):
    """Everything Binder installs, resolved against PyPI for Linux x86_64: no nvidia-* package.

    torch comes from PyPI here only if PyTorch's CPU index is unreachable; then it is
    left to test_binder_torch_is_the_cpu_build (PyPI's torch is the CUDA build).
    """
    lines = _binder_requirements()
    cpu_index = _reachable("download.pytorch.org")
    if not cpu_index:
        lines = [ln for ln in lines if not ln.startswith(("torch==", "--extra-index-url"))]
    resolved = _resolve(lines, "3.11", tmp_path)
    assert "xgboost-cpu" in resolved and "xgboost" not in resolved
    nvidia = sorted(name for name in resolved if name.startswith("nvidia"))
    if not cpu_index and "torch" in resolved:
        # a package that needs torch (zuko) made pip take PyPI's CUDA torch: on Binder the CPU
        # index serves torch instead, and the CPU build requires no nvidia wheel. What must not
        # happen is an nvidia wheel that some other package asks for.
        nvidia = [n for n in nvidia if any(n in req for pkg, req in _REQUIRES.items()
                                           if pkg != "torch" and not pkg.startswith("nvidia"))]
    assert not nvidia, f"Binder would install CUDA wheels: {nvidia}"
    if "torch" in resolved and cpu_index:
        assert resolved["torch"].endswith("+cpu"), resolved["torch"]


@pytest.mark.slow
@pytest.mark.pypi
def test_binder_torch_is_the_cpu_build(tmp_path):
    if not (_reachable("pypi.org") and _reachable("download.pytorch.org")):
        pytest.skip("PyPI or PyTorch's CPU index is unreachable from here")
    torch_pin = next(ln for ln in _binder_requirements() if ln.startswith("torch=="))
    resolved = _resolve([f"--extra-index-url {CPU_INDEX}", torch_pin], "3.11", tmp_path)
    assert resolved["torch"].endswith("+cpu")
    assert not [name for name in resolved if name.startswith("nvidia")]


# --- a wheel installed outside a checkout (Colab's first cell) ---------------------------

SNIPPET = """
import json, sys
from course_utils import config
print(json.dumps({"package": config.__file__, "in_checkout": config.in_checkout(),
                  "data": str(config.data_dir()), "build": str(config.build_dir())}))
"""


@pytest.mark.slow
def test_wheel_install_keeps_data_and_results_out_of_site_packages(tmp_path):
    """Build the wheel, install it (not editable) into a fresh venv, run from another folder."""
    src = tmp_path / "src"  # build from a copy: setuptools writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT / "course_utils", src / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []  # else: from PyPI
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--quiet",
                    "-w", str(wheels), str(src)], check=True)
    (wheel,) = wheels.glob("course_utils-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # A venv made from a venv sees the base interpreter's packages, not the course's: point to them.
    # Lines of a .pth file join sys.path after site-packages, so the wheel installed there wins.
    course_site = [p for p in sys.path if p.endswith("site-packages")]
    (site / "course_packages.pth").write_text("\n".join(course_site) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True)

    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "COURSE_DATA_DIR", "COURSE_BUILD_DIR")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")  # where platformdirs puts the per-user cache on Linux

    def run(extra_env=None):
        res = subprocess.run([python, "-c", SNIPPET], cwd=elsewhere, env={**env, **(extra_env or {})},
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout.splitlines()[-1])

    got = run()
    assert Path(got["package"]).is_relative_to(site), f"not the installed wheel: {got['package']}"
    assert got["in_checkout"] is False
    assert not Path(got["data"]).is_relative_to(site) and not Path(got["build"]).is_relative_to(site)
    if sys.platform.startswith("linux"):
        assert Path(got["data"]) == tmp_path / "xdg-cache" / "course_utils"
    assert Path(got["build"]) == elsewhere / "build"
    assert (elsewhere / "build").is_dir() and Path(got["data"]).is_dir()

    overridden = run({"COURSE_DATA_DIR": str(tmp_path / "d"), "COURSE_BUILD_DIR": str(tmp_path / "b")})
    assert (overridden["data"], overridden["build"]) == (str(tmp_path / "d"), str(tmp_path / "b"))
