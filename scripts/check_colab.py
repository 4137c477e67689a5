"""Check the notebooks' first cell on Colab's stack (`make check-colab`).

Resolving the ``colab`` extra against PyPI (tests/test_install.py) does not prove
that the course runs on Colab: Colab's preinstalled packages are older than the
course's pins (pandas 2.2, scikit-learn 1.6, numpy 2.0, IPython 7...). This check
rebuilds that stack and runs the course on it:

1. a Python 3.12 virtual environment (Colab's Python) in ``build/colab-venv``,
   holding Colab's preinstalled packages at Colab's versions
   (``scripts/colab_packages.txt``: its header says where and when they were read);
2. a wheel of ``course_utils`` built from the working tree, installed with the
   ``[colab]`` extra by the pip command of the notebooks' first cell (read from the
   notebooks, the git URL replaced by the wheel's path);
3. the notebooks 00, 01, 03b, 04 and 07 executed in fast mode and offline
   (``COURSE_FAST=1``, ``COURSE_OFFLINE=1``) in that environment, each in an empty
   working folder outside the checkout with its own ``COURSE_DATA_DIR`` and
   ``COURSE_BUILD_DIR`` under ``build/colab/``, so that ``course_utils`` comes from
   the installed wheel (a last cell, added to the executed copy, asserts it).

It fails when a notebook fails, when the first cell is not the same in every
notebook, or when the install replaces one of the packages Colab's users must
keep (numpy, scipy, matplotlib, pandas, scikit-learn, torch, tensorflow, keras:
replacing them costs a runtime restart or gigabytes). Other packages that the
install upgrades or downgrades are listed.

The environment is cached: it is rebuilt only when the package list or the
Python version change (torch and TensorFlow are about 3 GB; pip's own cache keeps
the downloads). What the first cell installed stays there while the ``[project]``
dependencies of ``pyproject.toml`` are unchanged; when they change, the
environment is put back to Colab's versions before the first cell's install.
Without a Python 3.12 (``COLAB_PYTHON``, ``python3.12`` or a pyenv 3.12) the check
is skipped with a message, and exits 0.

Usage::

    python scripts/check_colab.py [NOTEBOOK ...]      # default: the five notebooks above
    COLAB_PYTHON=/path/to/python3.12 make check-colab

This file only uses the standard library: it runs under any Python 3.11+, and
under the environment's Python to execute one notebook (``--execute``).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "scripts" / "colab_packages.txt"
VENV = ROOT / "build" / "colab-venv"
WORK = ROOT / "build" / "colab"
STAMP = VENV / ".colab-key"
COURSE_STAMP = VENV / ".course-key"
BASE_FREEZE = VENV / "colab-base-freeze.txt"
NOTEBOOKS = ["00_introduction", "01_cern_open_data", "03b_gamma_ray_pytorch", "04_higgs_wide_deep",
             "07_tracking_gnn"]
#: Colab's packages that the first cell must leave as they are.
KEEP = ["numpy", "scipy", "matplotlib", "pandas", "scikit-learn", "torch", "tensorflow", "keras"]
#: Added to the executed copy: the kernel imported course_utils from the environment, not the checkout.
CHECK_CELL = """\
import json, sys
import course_utils
assert course_utils.__file__.startswith(sys.prefix), ("course_utils is not the installed wheel", course_utils.__file__)
print(json.dumps({"python": sys.version.split()[0], "prefix": sys.prefix, "course_utils": course_utils.__file__}))
"""


def say(msg: str) -> None:
    print(f"check-colab: {msg}", flush=True)


def find_python() -> str | None:
    """A Python 3.12 interpreter: ``$COLAB_PYTHON``, ``python3.12`` on the PATH, or pyenv's 3.12."""
    candidates = [os.environ.get("COLAB_PYTHON", ""), shutil.which("python3.12") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted((pyenv_root / "versions").glob("3.12*/bin/python3.12"), reverse=True)]
    for cand in filter(None, candidates):
        try:  # a pyenv shim exists even when 3.12 is not selected: ask it
            out = subprocess.run([cand, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == "True":
            return cand
    return None


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def env_key(python: str) -> str:
    """What Colab's environment depends on: the package list and the Python."""
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    return hashlib.sha256(PACKAGES.read_bytes() + version.encode()).hexdigest()[:16]


def course_key() -> str:
    """What the first cell's install depends on: the ``[project]`` dependencies of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {"dependencies": project.get("dependencies", []),
            "optional": project.get("optional-dependencies", {})}
    return hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()[:16]


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def freeze(vpy: Path) -> dict[str, str]:
    out = subprocess.run([vpy, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         capture_output=True, text=True, check=True).stdout
    return {_norm(d["name"]): d["version"] for d in json.loads(out)}


def build_env(python: str, key: str) -> Path:
    """Colab's preinstalled packages in ``build/colab-venv`` (kept while ``key`` is unchanged)."""
    vpy = VENV / "bin" / "python"
    if STAMP.is_file() and STAMP.read_text().strip() == key and vpy.exists():
        say(f"reusing {VENV.relative_to(ROOT)} (key {key})")
        return vpy
    say(f"building {VENV.relative_to(ROOT)} with Colab's packages (key {key}; torch and TensorFlow: a few GB)")
    shutil.rmtree(VENV, ignore_errors=True)
    run([python, "-m", "venv", VENV])
    pip = [vpy, "-m", "pip", "--disable-pip-version-check"]
    pin = next(ln for ln in PACKAGES.read_text().splitlines() if ln.startswith("pip=="))
    run([*pip, "install", "-q", pin])  # Colab's pip, which the first cell runs
    run([*pip, "install", "-q", "-r", PACKAGES])
    # The kernel nbclient starts: this environment's Python (Colab's kernel is its own Python too).
    run([vpy, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3", "--display-name", "Colab check"])
    BASE_FREEZE.write_text(json.dumps(freeze(vpy), indent=1, sort_keys=True))
    STAMP.write_text(key + "\n")
    return vpy


def _pip_args(source: str) -> list[str] | None:
    """The string arguments after ``pip`` in the first ``[..., "pip", ...]`` list of ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List) and any(isinstance(e, ast.Constant) and e.value == "pip" for e in node.elts):
            args = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            return args[args.index("pip") + 1:]
    return None


def first_cell_install(nb_paths: list[Path]) -> list[str]:
    """pip's arguments in the notebooks' first code cell (the same in every notebook)."""
    found: dict[tuple[str, ...] | None, list[str]] = {}
    for path in nb_paths:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        source = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        args = _pip_args(source)
        found.setdefault(tuple(args) if args else None, []).append(path.name)
    if None in found:
        raise SystemExit(f"check-colab: no pip command in the first cell of {found[None]}")
    if len(found) != 1:
        raise SystemExit("check-colab: the notebooks' first cells install different things: "
                         + "; ".join(f"{list(a)} in {names}" for a, names in found.items()))
    return list(next(iter(found)))


def build_wheel(vpy: Path) -> Path:
    """A wheel of course_utils built from a copy of the working tree (setuptools writes beside its sources)."""
    src, wheels = WORK / "src", WORK / "wheel"
    for folder in (src, wheels):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "course_utils", src / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    run([vpy, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, src])
    (wheel,) = wheels.glob("course_utils-*.whl")
    return wheel


def reset_to_colab(vpy: Path) -> None:
    """Undo an earlier first-cell install: remove what it added, put back Colab's versions."""
    before = json.loads(BASE_FREEZE.read_text())
    after = freeze(vpy)
    added = sorted(set(after) - set(before))
    changed = [f"{name}=={v}" for name, v in sorted(before.items()) if after.get(name) != v]
    say(f"resetting to Colab's packages: removing {len(added)}, reinstalling {len(changed)}")
    if added:
        run([vpy, "-m", "pip", "uninstall", "-y", "-q", *added])
    if changed:
        run([vpy, "-m", "pip", "install", "-q", "--no-deps", *changed])
    if freeze(vpy) != before:
        raise SystemExit("check-colab: could not reset the environment; remove build/colab-venv")


def install_course(vpy: Path, pip_args: list[str], wheel: Path) -> None:
    """The first cell's pip command, with the wheel in place of the git URL.

    The packages it installs stay for the next run while pyproject.toml's dependencies are
    unchanged; when they change, the environment is first put back to Colab's state.
    """
    args = [re.sub(r"@\s*\S+$", f"@ {wheel.as_uri()}", a) if "course_utils" in a and "@" in a else a
            for a in pip_args]
    if not any(wheel.as_uri() in a for a in args):
        raise SystemExit(f"check-colab: the first cell does not install course_utils from a URL: {pip_args}")
    key = course_key()
    if not (COURSE_STAMP.is_file() and COURSE_STAMP.read_text().strip() == key):
        reset_to_colab(vpy)
    COURSE_STAMP.unlink(missing_ok=True)
    subprocess.run([vpy, "-m", "pip", "uninstall", "-y", "-q", "course_utils"], check=False)
    run([vpy, "-m", "pip", *args])
    COURSE_STAMP.write_text(key + "\n")


def changed_packages(vpy: Path) -> list[str]:
    """Print Colab's packages that the install replaced; return those of :data:`KEEP` among them."""
    before = json.loads(BASE_FREEZE.read_text())
    after = freeze(vpy)
    changed = {name: (v, after.get(name)) for name, v in before.items() if after.get(name) != v}
    lines = [f"{name} {old} -> {new or 'removed'}" for name, (old, new) in sorted(changed.items())]
    say("the first cell changed these preinstalled packages: " + (", ".join(lines) or "none"))
    return [ln for ln in lines if _norm(ln.split()[0]) in KEEP]


def execute(path: Path, out_dir: Path, timeout: int = 1800) -> None:
    """Run one notebook in this Python's kernel (called with ``--execute`` under the environment's Python)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": os.getcwd()}})
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)


def run_notebook(vpy: Path, path: Path) -> float | None:
    """Execute ``path`` in an empty folder outside the checkout, offline and in fast mode.

    Returns the seconds it took, or None when a cell failed (the executed copy is
    in ``build/colab/run/<name>/executed/``).
    """
    base = WORK / "run" / path.stem
    shutil.rmtree(base, ignore_errors=True)
    cwd = base / "content"  # Colab's working folder: nothing of the checkout in it
    for sub in (cwd, base / "data", base / "build", base / "jupyter", base / "ipython"):
        sub.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "MPLBACKEND", "JUPYTER_PATH", "VIRTUAL_ENV", "COURSE_DEVICE")}
    env.update(COURSE_FAST="1", COURSE_OFFLINE="1", COURSE_DATA_DIR=str(base / "data"),
               COURSE_BUILD_DIR=str(base / "build"), JUPYTER_DATA_DIR=str(base / "jupyter"),
               IPYTHONDIR=str(base / "ipython"), PYDEVD_DISABLE_FILE_VALIDATION="1", PATH=f"{vpy.parent}{os.pathsep}{env.get('PATH', '')}")
    t0 = time.perf_counter()
    res = subprocess.run([vpy, Path(__file__).resolve(), "--execute", path, base / "executed"], cwd=cwd, env=env)
    elapsed = time.perf_counter() - t0
    if res.returncode:
        return None
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook names or paths (default: 00, 01, 03b, 04, 07)")
    parser.add_argument("--execute", nargs=2, metavar=("NOTEBOOK", "OUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute:
        execute(Path(args.execute[0]), Path(args.execute[1]))
        return 0

    python = find_python()
    if python is None:
        say("SKIPPED: no Python 3.12 here (Colab's Python). Install one, or set COLAB_PYTHON=/path/to/python3.12.")
        return 0
    names = args.notebooks or NOTEBOOKS
    paths = [Path(n) if n.endswith(".ipynb") else ROOT / "notebooks" / f"{n}.ipynb" for n in names]
    paths = [p.resolve() for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"check-colab: no such notebook: {missing}")
    all_notebooks = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    pip_args = first_cell_install(all_notebooks)

    t0 = time.perf_counter()
    vpy = build_env(python, env_key(python))
    t_env = time.perf_counter() - t0
    wheel = build_wheel(vpy)
    install_course(vpy, pip_args, wheel)
    failures = [f"the first cell replaces {ln} (Colab's users must keep it)" for ln in changed_packages(vpy)]
    t_install = time.perf_counter() - t0 - t_env
    times = {}
    for path in paths:
        say(f"running {path.name} (fast mode, offline)")
        seconds = run_notebook(vpy, path)
        if seconds is None:
            executed = WORK / "run" / path.stem / "executed" / path.name
            failures.append(f"{path.name} failed on Colab's stack (executed copy: {executed.relative_to(ROOT)})")
        else:
            times[path.stem] = seconds
            say(f"{path.name}: {seconds:.0f} s")
    total = time.perf_counter() - t0
    say(f"environment {t_env:.0f} s, first-cell install {t_install:.0f} s, notebooks "
        + ", ".join(f"{k.split('_')[0]} {v:.0f} s" for k, v in times.items()) + f"; total {total:.0f} s")
    if failures:
        say("FAILED:\n  " + "\n  ".join(failures))
        return 1
    say("passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.exit(f"check-colab: failed (exit status {exc.returncode}): {' '.join(map(str, exc.cmd))}")
