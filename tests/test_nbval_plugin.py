"""The nbval plugin of tests/conftest.py: executed copies written from nbval's own run.

An inner pytest session (pytester, in a subprocess) runs `--nbval-lax` on small notebooks with
this repository's conftest.py, as `make notebooks` does, and the copies it writes are read back.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

pytest_plugins = ["pytester"]


def _notebook(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# titre")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def _run(pytester, tmp_path, monkeypatch, *names: str):
    build = tmp_path / "build"
    monkeypatch.setenv("COURSE_BUILD_DIR", str(build))
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as a user's shell might: the kernel must not inherit it
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
                                           *names, timeout=300)
    return result, build / "executed" / "fast"


@pytest.mark.slow
def test_two_cells_one_failing(pytester, tmp_path, monkeypatch):
    """The passing cell keeps its output, the failing cell its error; the notebook fails; a copy is written."""
    _notebook(pytester.path / "nb_fail.ipynb",
              ["print('bonjour')\n6 * 7", "raise ValueError('cassé exprès')", "print('jamais exécutée')"])
    result, out = _run(pytester, tmp_path, monkeypatch, "nb_fail.ipynb")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*cassé exprès*"])
    copy = nbformat.read(out / "nb_fail.ipynb", as_version=4)
    first, second, third = (c for c in copy.cells if c.cell_type == "code")
    assert [o.output_type for o in first.outputs] == ["stream", "execute_result"]
    assert first.outputs[0].text == "bonjour\n" and first.outputs[1].data["text/plain"] == "42"
    assert second.outputs[-1].output_type == "error" and second.outputs[-1].ename == "ValueError"
    assert third.outputs == [] and third.execution_count is None, "the cell after a failure is skipped"
    assert copy.metadata["course"]["mode"] == "fast" and copy.metadata["course"]["complete"] is False
    nbformat.validate(copy)


@pytest.mark.slow
def test_passing_notebook_copy_has_inline_figures(pytester, tmp_path, monkeypatch):
    """A passing notebook's copy is complete and holds its figure as PNG (inline backend, not Agg)."""
    _notebook(pytester.path / "nb_ok.ipynb",
              ["import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()", "x = 1"])
    _notebook(pytester.path / "nb_other.ipynb", ["print(2 + 2)"])
    result, out = _run(pytester, tmp_path, monkeypatch, "nb_ok.ipynb", "nb_other.ipynb")
    result.assert_outcomes(passed=3)
    copy = nbformat.read(out / "nb_ok.ipynb", as_version=4)
    assert copy.metadata["course"]["complete"] is True
    assert any("image/png" in o.get("data", {}) for o in copy.cells[1].outputs), "figure drawn inline"
    other = nbformat.read(out / "nb_other.ipynb", as_version=4)
    assert other.cells[1].outputs[0].text == "4\n"
    nbformat.validate(copy)


@pytest.mark.slow
def test_progress_bar_state_is_kept(pytester, tmp_path, monkeypatch):
    """A tqdm widget's final state reaches the copy, so that the site can print the finished bar."""
    _notebook(pytester.path / "nb_bar.ipynb",
              ["from tqdm.auto import tqdm\nfor _ in tqdm(range(5), desc='étapes'):\n    pass"])
    result, out = _run(pytester, tmp_path, monkeypatch, "nb_bar.ipynb")
    result.assert_outcomes(passed=1)
    copy = nbformat.read(out / "nb_bar.ipynb", as_version=4)
    view = next(o.data["application/vnd.jupyter.widget-view+json"] for o in copy.cells[1].outputs
                if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
    state = copy.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    import sys

    sys.path.insert(0, str(CONFTEST.parent.parent / "scripts"))
    from book import widget_text

    text = widget_text(view["model_id"], state)
    assert text is not None and text.replace("\u2007", " ").startswith("étapes: 100%") and "5/5" in text, text
