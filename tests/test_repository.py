"""Checks on the repository itself: pinned environment, notebooks' shape, generated docs up to date."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def test_requirements_pinned_and_commented():
    """One exact version per package and platform, and a comment naming who uses it.

    Colab's extra and the CPU-only Binder environment are checked in tests/test_install.py.
    """
    from packaging.requirements import Requirement

    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines
    seen = set()
    for ln in lines:
        req = Requirement(ln.split("#", 1)[0])
        ops = [spec.operator for spec in req.specifier]
        assert ops == ["=="], f"not pinned exactly: {ln}"
        assert "#" in ln and ln.split("#", 1)[1].strip(), f"no comment saying which notebooks use it: {ln}"
        key = (req.name.lower(), str(req.marker))
        assert key not in seen, f"pinned twice: {ln}"
        seen.add(key)
    # The readme says which build of torch a plain `pip install -r requirements.txt` gets.
    readme = (ROOT / "README.md").read_text()
    assert "download.pytorch.org/whl/cpu" in readme and "nvidia" in readme


@pytest.fixture(scope="module")
def badges():
    """scripts/badges.py, which writes the README's badges and the notebooks' Colab cell."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("badges", ROOT / "scripts" / "badges.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def repo_url():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _src(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_introduction.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_without_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} has stored outputs: run nbstripout"
            assert cell.get("execution_count") is None, f"{path.name} has execution counts: run nbstripout"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_skeleton(path, repo_url, badges):
    cells = _cells(path)
    title = _src(cells[0])
    assert cells[0]["cell_type"] == "markdown" and title.startswith("# "), "first cell: the title"
    slug = repo_url.removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{slug}/blob/main/notebooks/{path.name}" in title, "Colab badge"
    assert f"mybinder.org/v2/gh/{slug}/main?labpath=notebooks%2F{path.name}" in title, "Binder badge"
    assert "À la fin de ce notebook, vous saurez" in title
    code = [c for c in cells if c["cell_type"] == "code"]
    first = _src(code[0])
    assert 'if "google.colab" in sys.modules:' in first and f"{repo_url}.git" in first, "standard Colab cell"
    assert "==" not in first.split("google.colab", 1)[1], "the Colab cell must not pin versions"
    if path.name not in badges.COLAB_CELL_PENDING:
        assert first == badges.colab_cell(), "the Colab cell differs: run python scripts/badges.py"
    markdown = "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown")
    assert "Exercice" in markdown and "À retenir" in markdown
    all_code = "\n".join(_src(c) for c in code)
    assert "assert " in all_code, "a notebook asserts what its models learned"
    assert "report.record(" in all_code, "a notebook records its key results"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_code_hygiene(path):
    stems = {p.stem for p in NOTEBOOKS} - {path.stem}
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        src = _src(cell)
        assert "/kaggle/" not in src and "/content/" not in src, "platform path in code"
        if "keras" in src.lower():
            assert not re.search(r"\blr\s*=", src), "Keras ignores lr=: use learning_rate="
        assert "WideDeepModel" not in src, "keras.experimental.WideDeepModel is gone in Keras 3"
        for other in stems:
            assert f'"{other}"' not in src and f"/{other}/" not in src, f"reads {other}'s files"


def test_readme_and_catalogue_up_to_date():
    for script in ("badges.py", "catalogue.py"):
        res = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--check"],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
    readme = (ROOT / "README.md").read_text()
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.name}" in readme, f"{nb.name} missing from README"


def test_catalogue_lists_every_dataset_module():
    from course_utils import datasets

    folder = ROOT / "course_utils" / "datasets"
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    assert set(datasets.registry()) == modules & set(datasets.DATASETS)
    for name, info in datasets.registry().items():
        assert info.licence and info.citation and info.provenance, name
