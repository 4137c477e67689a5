"""`make course`, `make bench` and the Makefile: figures in the executed copies, composed targets."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
MAKE = shutil.which("make")


def _script(name: str):
    """Import scripts/<name>.py as a module (scripts/ is not a package)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(f"course_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"),
        nbformat.v4.new_code_cell("import plotly.graph_objects as go\n"
                                  "go.Figure(go.Scatter(x=[0, 1], y=[1, 0], name='courbe-de-test'))"),
        nbformat.v4.new_code_cell("from course_utils import report\nreport.record('zz_build_test', auc=0.5)"),
    ]
    nbformat.write(nb, path)
    return path


def test_kernel_env_drops_agg_and_adds_plotly_html(monkeypatch):
    nbrun = _script("_nbrun")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("COURSE_FAST", "1")
    env = nbrun.kernel_env()
    assert "MPLBACKEND" not in env, "a kernel with Agg draws no figure into the notebook"
    assert env["COURSE_FAST"] == "1", "the rest of the environment reaches the kernel"
    assert "notebook" in env["PLOTLY_RENDERER"].split("+"), "nbconvert needs plotly's HTML output"


@pytest.mark.slow
def test_make_course_path_keeps_figures(tmp_path, monkeypatch, capsys):
    """A notebook executed as `make course` does it holds PNG figures, and its HTML the plotly figure."""
    nb = _tiny_notebook(tmp_path / "99_figures.ipynb")
    build = tmp_path / "build"
    monkeypatch.setenv("COURSE_BUILD_DIR", str(build))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as an old Makefile or a user's shell would set it
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    failing = tmp_path / "98_fails.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise RuntimeError('cassé')")],
                                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                     "language": "python"}}), failing)
    run_course = _script("run_course")

    assert run_course.main([str(nb), str(failing)]) == 1, "a failing notebook fails make course"
    out = capsys.readouterr().out
    assert "2 notebook(s) in" in out and "1 failed: 98_fails.ipynb" in out
    assert "RuntimeError" in out and (build / failing.name).exists(), "the failing copy is kept to read"

    executed = nbformat.read(build / nb.name, as_version=4)
    mimes = [set(o.get("data", {})) for c in executed.cells for o in c.get("outputs", [])]
    assert sum("image/png" in m for m in mimes) == 1, mimes
    assert any("application/vnd.plotly.v1+json" in m for m in mimes), mimes
    html = (build / "99_figures.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "Plotly.newPlot" in html and '"name":"courbe-de-test"' in html, "plotly figure missing from the HTML"
    # per-notebook time and running total, then the results table
    assert "[1/2] 99_figures.ipynb" in out and "[2/2] 98_fails.ipynb" in out
    assert out.count("(total 0 min") == 2, "each notebook's time and the running total"
    last = [ln for ln in out.splitlines() if ln.strip()][-2:]
    assert last[0].startswith("| zz_build_test | fast | auc | 0.5") and last[1].startswith("(results table written"), \
        "ends with the results table"


def _fake_venv(tmp_path: Path) -> Path:
    """A copy of the Makefile whose .venv is a stand-in: its 'python' records the environment."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "requirements.txt").touch()
    (tmp_path / "pyproject.toml").touch()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_x.ipynb").touch()
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "python"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = -c ]; then exec "{sys.executable}" "$@"; fi\n'
                    'env > "$(dirname "$0")/../env.txt"\n')
    fake.chmod(0o755)
    (tmp_path / "requirements-dev.txt").touch()
    (tmp_path / ".venv" / ".installed").touch()
    (tmp_path / ".venv" / ".installed-dev").touch()
    return tmp_path


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_course_does_not_export_agg(tmp_path):
    repo = _fake_venv(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    res = subprocess.run([MAKE, "course"], cwd=repo, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    seen = dict(line.split("=", 1) for line in (repo / ".venv" / "env.txt").read_text().splitlines() if "=" in line)
    assert "MPLBACKEND" not in seen, "the Makefile exports MPLBACKEND to the notebooks' kernels"


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_refuses_another_python(tmp_path):
    """Python 3.11 and 3.12 are accepted; 3.13 (or 3.10) stops before any environment is made."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "requirements.txt").touch()
    (tmp_path / "pyproject.toml").touch()

    def fake(version: str) -> Path:
        path = tmp_path / f"python{version}"
        major, minor = version.split(".")
        path.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "Python {version}.1" && exit 0\n'
                        f'exec "{sys.executable}" -c "import sys; sys.exit(({major}, {minor}) not in ((3, 11), (3, 12)))"\n')
        path.chmod(0o755)
        return path

    res = subprocess.run([MAKE, "setup", f"PYTHON={fake('3.13')}"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode != 0
    assert "needs Python 3.11 or 3.12" in res.stdout and "Python 3.13.1" in res.stdout, res.stdout + res.stderr
    assert not (tmp_path / ".venv").exists(), "no environment is created with the wrong Python"
    for version in ("3.11", "3.12"):
        ok = subprocess.run([MAKE, "python-version", f"PYTHON={fake(version)}"], cwd=tmp_path,
                            capture_output=True, text=True)
        assert ok.returncode == 0, ok.stdout + ok.stderr


def _dry_run(repo: Path, target: str) -> list[str]:
    """The commands `make <target>` would run, less the Python version check (one per goal)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    res = subprocess.run([MAKE, "--no-print-directory", "-n", target], cwd=repo, capture_output=True, text=True,
                         env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    lines, in_check = [], False
    for ln in (ln.strip() for ln in res.stdout.splitlines() if ln.strip()):
        in_check = in_check or ln.startswith("if [ -x .venv/bin/python ]")
        if not in_check:
            lines.append(ln)
        in_check = in_check and ln != "exit 1; }"
    return lines


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_test_is_lint_unit_notebooks_book(tmp_path):
    repo = _fake_venv(tmp_path)
    test = _dry_run(repo, "test")
    expected = (_dry_run(repo, "lint") + _dry_run(repo, "unit") + _dry_run(repo, "notebooks")
                + _dry_run(repo, "test-book"))
    assert test == expected, "make test runs exactly the recipes of lint, unit, notebooks and test-book"
    assert any("ruff check" in ln for ln in test) and any("lint-imports" in ln for ln in test)
    nbval = [ln for ln in test if ln.startswith("COURSE_FAST=1") and "--nbval-lax" in ln]
    assert nbval and nbval[0].endswith(" notebooks"), "nbval executes every notebook, in fast mode"
    assert "--dist loadfile" in nbval[0] and "-p conftest" in nbval[0], "a notebook's cells on one worker; copies kept"
    assert any("scripts/book.py" in ln for ln in test) and any("tests/test_book.py" in ln for ln in test)
    fast = _dry_run(repo, "unit-fast")
    assert any('-m "not slow and not book and not pypi"' in ln for ln in fast)
    unit = _dry_run(repo, "unit")
    assert not any(" -m \"" in ln or " -m '" in ln for ln in unit), "make unit keeps pyproject's default: no book, no PyPI"
    assert any("-m pypi" in ln for ln in _dry_run(repo, "check-install"))
    assert any("scripts/bench.py --full" in ln for ln in _dry_run(repo, "bench-full"))
    assert not any("--full" in ln for ln in _dry_run(repo, "bench"))


def test_bench_budgets_per_mode():
    bench = _script("bench")
    slow_small = {"notebook": "a.ipynb", "ok": True, "wall_s": 400.0, "peak_mb": 900}
    quick_big = {"notebook": "b.ipynb", "ok": True, "wall_s": 60.0, "peak_mb": 3000}
    assert not bench.within_budget(slow_small, "fast") and bench.within_budget(slow_small, "full")
    assert not bench.within_budget(quick_big, "fast") and bench.within_budget(quick_big, "full")
    assert not bench.within_budget({**slow_small, "wall_s": 901.0}, "full")
    table = bench.format_table([slow_small, quick_big], "fast").splitlines()
    assert table[0] == "| notebook | ok | wall (s) | peak RSS (MB) | within 90 s / 2048 MB |"
    assert table[2] == "| a.ipynb | yes | 400 | 900 | NO |"
    assert table[-1] == "| total | 2/2 | 460 | 3000 | |"
    assert "within 900 s |" in bench.format_table([slow_small], "full")


def _answer_cell(text: str, **metadata) -> dict:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata.update(metadata)
    return json.loads(json.dumps(cell))  # plain JSON, as clean_notebook reads it


FOLDED = {"jupyter": {"source_hidden": True}, "tags": ["hide-input"]}


def test_fold_markdown_folds_answers_only():
    """An answer folded in Jupyter is folded on the site; other cells are left alone."""
    book = _script("book")
    answer = "Pourquoi ? Le **conditionnement** : $\\sigma(z)$.\n\n- un point\n- un autre"
    folded = book.fold_markdown(_answer_cell(answer, **FOLDED))
    assert folded["source"] == f"<details>\n<summary>Réponse</summary>\n\n{answer}\n\n</details>"
    # either marker alone folds: Jupyter's metadata, or a MyST-NB tag
    for metadata in ({"jupyter": {"source_hidden": True}}, {"tags": ["hide-input"]}, {"tags": ["hide-cell"]}):
        assert book.fold_markdown(_answer_cell("x", **metadata))["source"].startswith("<details>"), metadata
    plain = _answer_cell("## 7. Exercices\n\nEssayez d'abord.")
    assert book.fold_markdown(plain) is plain
    assert book.fold_markdown(_answer_cell("x", tags=["hide-output"]))["source"] == "x"
    code = json.loads(json.dumps(nbformat.v4.new_code_cell("# Solution\nx = 1", metadata=FOLDED)))
    assert book.fold_markdown(code) is code, "code cells are folded by MyST-NB itself"
    # the input is not modified; a list of lines is joined
    cell = _answer_cell("", **FOLDED)
    cell["source"] = ["Ligne 1\n", "ligne 2"]
    assert book.fold_markdown(cell)["source"].endswith("Ligne 1\nligne 2\n\n</details>")
    assert cell["source"] == ["Ligne 1\n", "ligne 2"]


def test_fold_markdown_refuses_a_heading():
    book = _script("book")
    with pytest.raises(ValueError, match="heading"):
        book.fold_markdown(_answer_cell("### Réponse\n\ntexte", **FOLDED))
    # a '#' inside a code block is not a heading
    fenced = "Voir :\n\n```python\n# a comment\nx = 1\n```"
    assert "# a comment" in book.fold_markdown(_answer_cell(fenced, **FOLDED))["source"]


def test_fold_markdown_renders_folded_with_markdown_it():
    """The folded answer stays Markdown inside a closed <details> (markdown-it, the parser under MyST)."""
    from markdown_it import MarkdownIt

    book = _script("book")
    source = book.fold_markdown(_answer_cell("Un *écart* de $x$ :\n\n- a\n- b", **FOLDED))["source"]
    rendered = MarkdownIt("commonmark").render(source)
    assert rendered.startswith("<details>\n<summary>Réponse</summary>\n<p>Un <em>écart</em>")
    assert "<li>a</li>" in rendered and rendered.rstrip().endswith("</details>")


def test_clean_notebook_folds_answers(tmp_path):
    """clean_notebook, which prepares each executed notebook for the site, folds its answers."""
    book = _script("book")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("### Exercice 1\nFaites-le."),
                nbformat.v4.new_code_cell("# Solution\nx = 1", metadata=FOLDED),
                nbformat.v4.new_markdown_cell("Parce que.", metadata=FOLDED)]
    src, dest = tmp_path / "src.ipynb", tmp_path / "dest.ipynb"
    nbformat.write(nb, src)
    book.clean_notebook(src, dest)
    cells = json.loads(dest.read_text(encoding="utf-8"))["cells"]
    assert ["".join(c["source"]) for c in cells[:2]] == ["### Exercice 1\nFaites-le.", "# Solution\nx = 1"]
    assert cells[2]["source"] == "<details>\n<summary>Réponse</summary>\n\nParce que.\n\n</details>"
    assert cells[2]["metadata"] == FOLDED, "the metadata stays (Jupyter still folds the downloaded copy)"


def _plotly_json(fig) -> dict:
    return json.loads(fig.to_json())  # plain JSON, as the executed notebook stores it


def test_plotly_description_reads_the_figure():
    """A plotly figure's alt text: its title, axis titles (2-D and 3-D) and series, from the layout; in French."""
    go = pytest.importorskip("plotly.graph_objects")
    book = _script("book")
    fig = go.Figure([go.Scatter(x=[0, 1], y=[1, 0], name="BDT (AUC = 0.812)", mode="lines"),
                     go.Scatter(x=[0, 1], y=[0, 1], name="hasard", mode="lines")])
    fig.update_layout(title="Courbes ROC <b>du jeu de test</b>", xaxis_title="efficacité de signal ε<sub>S</sub>",
                      yaxis_title="rejet du bruit de fond 1/ε_B")
    alt, caption = book.plotly_description(_plotly_json(fig), "fig.show()", "Le texte au-dessus.")
    assert caption == "Courbes ROC du jeu de test"
    assert alt == ("Figure interactive : Courbes ROC du jeu de test (axes : efficacité de signal εS, "
                   "rejet du bruit de fond 1/ε_B) ; courbes : BDT (AUC = 0.812), hasard")
    scene = go.Figure(go.Scatter3d(x=[1], y=[2], z=[3], mode="markers"))
    scene.update_layout(title={"text": "Hits d'un événement"},
                        scene={"xaxis_title": "z [mm]", "yaxis_title": "x [mm]", "zaxis_title": "y [mm]"})
    alt, _ = book.plotly_description(_plotly_json(scene), "", "")
    assert alt == "Figure interactive : Hits d'un événement (axes : z [mm], x [mm], y [mm]) ; points en 3D"
    # nothing in the layout: the cell's literals, then the markdown above, as for matplotlib figures
    bare = _plotly_json(go.Figure(go.Bar(x=["a"], y=[1])))
    alt, caption = book.plotly_description(bare, "fig.update_layout(title='Les AUC de test par modèle')", "")
    assert (alt, caption) == ("Figure interactive : Les AUC de test par modèle ; barres", "Les AUC de test par modèle")
    alt, caption = book.plotly_description(bare, "fig.show()", "## 3. Résultats\n\nUn mot. Les AUC de test :")
    assert (alt, caption) == ("Figure interactive : Les AUC de test ; barres", "Les AUC de test")


def test_plotly_figure_html_is_described_and_fits_its_column():
    """The site's HTML of a plotly figure: role="img" and aria-label on its drawing, a caption, no fixed width."""
    import html.parser

    go = pytest.importorskip("plotly.graph_objects")
    book = _script("book")
    fig = _plotly_json(go.Figure(go.Scatter(x=[0, 1], y=[1, 0]), layout={"width": 800, "height": 500}))
    page = book.plotly_figure_html(fig, 'Figure interactive : "ROC" <test>', "Courbes ROC", plotlyjs=False)

    class Parser(html.parser.HTMLParser):
        graph: dict | None = None
        caption = ""
        in_caption = False

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if "plotly-graph-div" in (attrs.get("class") or ""):
                self.graph = attrs
            self.in_caption = tag == "figcaption"

        def handle_endtag(self, tag):
            self.in_caption = False

        def handle_data(self, data):
            if self.in_caption:
                self.caption += data

    parser = Parser()
    parser.feed(page)
    assert page.startswith('<figure class="plotly-figure">') and page.endswith("</figure>")
    assert parser.graph["role"] == "img" and parser.graph["aria-label"] == 'Figure interactive : "ROC" <test>'
    assert parser.caption == "Courbes ROC"
    assert '"width":800' not in page and "800px" not in page, "the fixed width would overflow the column"
    assert '"height":500' in page and '"responsive": true' in page
    assert fig["layout"]["width"] == 800, "the notebook's figure is not modified"
