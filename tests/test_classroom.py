"""The classroom kit (scripts/classroom.py): nbgrader markers, the student edition, the autograder.

* Without a kernel, on every notebook: each folded solution cell and each exercise carries its nbgrader
  marker, each exercise has checks in scripts/classroom_checks.toml, the names the checks read are bound by
  the exercise's solution and nowhere else (else the untouched student edition would score), and the
  student edition holds no line of a solution.
* On a toy notebook (``slow``, seconds): full marks, zero, a solved exercise, a raising cell and an endless loop, and
  the CSV and HTML table with the reason for each lost point.
* On notebooks 00 and 01 (``slow``: several fast-mode runs each): the same scenarios with the real checks.
  ``make classroom-check`` runs them on every notebook.
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
#: The two notebooks whose scenarios run in make test: the cheapest in fast mode with 2 and 3 exercises.
IN_MAKE_TEST = ("00_introduction", "01_cern_open_data")
#: Notebooks that other sessions were editing when the kit came: the lead runs
#: `python scripts/classroom.py mark notebooks/{01b,07,08,09,11}_*.ipynb` after merging them, then empties this
#: set. Until then, a notebook here is skipped while it carries no nbgrader marker at all.
PENDING: set[str] = set()
#: Seconds an exercise cell may run in the scenarios after the teacher's (the solutions take < 5 s).
LOOP_LIMIT = 15


def _load():
    spec = importlib.util.spec_from_file_location("classroom", ROOT / "scripts" / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["classroom"] = module
    spec.loader.exec_module(module)
    return module


classroom = _load()


@pytest.fixture(scope="module")
def checks():
    return classroom.load_checks()


def _read(path: Path):
    nb = nbformat.read(path, as_version=4)
    if path.stem.split("_")[0] in PENDING and not any("nbgrader" in c.metadata for c in nb.cells):
        pytest.skip(f"pending: python scripts/classroom.py mark notebooks/{path.name}")
    return nb


# ----------------------------------------------------------------------------------- every notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:3].rstrip("_") for p in NOTEBOOKS])
def test_notebook_is_an_assignment(path, checks):
    """Markers on every exercise and solution cell, checks for every exercise, names bound only there."""
    nb = _read(path)
    found = classroom.problems(nb, path.stem, checks) + classroom.name_problems(nb, path.stem, checks)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:3].rstrip("_") for p in NOTEBOOKS])
def test_markers_are_generated(path):
    """The committed markers are what `classroom.py mark` writes, and marking twice changes nothing."""
    nb = _read(path)
    assert not classroom.mark(copy.deepcopy(nb)), f"run: python scripts/classroom.py mark {path.relative_to(ROOT)}"
    bare = copy.deepcopy(nb)
    for cell in bare.cells:
        cell.metadata.pop("nbgrader", None)
    classroom.mark(bare)
    assert not classroom.mark(bare)
    assert [c.metadata for c in bare.cells] == [c.metadata for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:3].rstrip("_") for p in NOTEBOOKS])
def test_student_edition(path, checks):
    """No solution line, one starter per exercise naming what the grader reads, no hidden test, no output."""
    nb = _read(path)
    if classroom.problems(nb, path.stem, checks):
        pytest.skip("not an assignment yet (see test_notebook_is_an_assignment)")
    teacher = classroom.teacher_edition(nb, path.stem, checks)
    student = classroom.student_edition(teacher, path.stem, checks)
    solution_lines = {ln.strip() for c in nb.cells if classroom._is_solution(c) and c.cell_type == "code"
                      for ln in c.source.splitlines() if ln.strip() and not ln.strip().startswith("#")}
    student_code = [c for c in student.cells if c.cell_type == "code"]
    body = {ln.strip() for c in nb.cells if c.cell_type == "code" and not classroom._is_solution(c)
            for ln in c.source.splitlines()}
    leaked = {ln.strip() for c in student_code for ln in c.source.splitlines()} & (solution_lines - body)
    assert not leaked, f"solution lines in the student edition: {sorted(leaked)[:5]}"
    starters = [c for c in student_code if classroom._is_solution(c)]
    assert len(starters) == len(checks[path.stem])
    for cell in starters:
        ex = checks[path.stem][int(classroom._grade_id(cell)[2:].split("-")[0])]
        assert "Votre code ici" in cell.source
        assert all(f"# {name} = ..." in cell.source for name in ex.names)
    tests = [c for c in student_code if classroom._is_test(c)]
    assert len(tests) == sum(e.points for e in checks[path.stem].values())
    assert not any(classroom.BEGIN_HIDDEN in c.source for c in student.cells)
    assert all(classroom.BEGIN_HIDDEN in c.source for c in teacher.cells if classroom._is_test(c))
    assert not any(c.outputs for c in student_code)
    assert not any(c.source.strip() == "#### Solution" for c in student.cells)
    text = " ".join(" ".join(c.source.split()) for c in student.cells if c.cell_type == "markdown")
    assert classroom.FOLDING not in text and classroom.STUDENT_FOLDING in text
    for cell in student.cells:
        if cell.cell_type == "markdown" and classroom._is_solution(cell):
            assert cell.source == classroom.TEXT_STUB
    for edition in (nb, teacher, student):
        assert classroom.nbgrader_problems(edition) == []


# ------------------------------------------------------------------------------------ the markers
def _toy():
    """A notebook with a body and three exercises, each with its folded solution."""
    new = nbformat.v4
    folded = {"jupyter": {"source_hidden": True, "outputs_hidden": True}, "tags": ["hide-cell"]}
    cells = [new.new_markdown_cell("# 99 — Jouet"),
             new.new_code_cell("import numpy as np\nx = np.arange(10)"),
             new.new_markdown_cell(f"## 1. Exercices\n\n{classroom.FOLDING}\n\n### Exercice 1\nLa somme."),
             new.new_code_cell("# Solution\ntotal = int(x.sum())", metadata=copy.deepcopy(folded)),
             new.new_markdown_cell("La somme vaut 45.", metadata=copy.deepcopy(folded)),
             new.new_markdown_cell("### Exercice 2\nLes carrés."),
             new.new_code_cell("# Your code here: x ** 2"),
             new.new_markdown_cell("#### Solution"),
             new.new_code_cell("squares = x ** 2", metadata=copy.deepcopy(folded)),
             new.new_markdown_cell("### Exercice 3\nLa moyenne."),
             new.new_code_cell("mean = x.mean()", metadata=copy.deepcopy(folded)),
             new.new_markdown_cell("## À retenir\n\n- rien")]
    nb = new.new_notebook(cells=cells)
    classroom.mark(nb)
    return nb


TOY_CHECKS = {"99_toy": {
    1: classroom.Exercise(1, {"total": "int"}, [{"expr": "total == 45", "why": "total doit valoir 45"}]),
    2: classroom.Exercise(2, {"squares": "array (10,)"}, [
        {"expr": "np.shape(squares) == (10,)", "why": "squares : 10 valeurs"},
        {"expr": "np.array_equal(squares, x ** 2)", "why": "squares n'est pas x ** 2"}]),
    3: classroom.Exercise(3, {"mean": "float"}, [{"expr": "abs(mean - 4.5) < 1e-12", "why": "mean : 4,5"}]),
}}


def test_markers_and_problems_on_a_toy():
    nb = _toy()
    ids = [classroom._grade_id(c) for c in nb.cells]
    assert ids == [None, None, "ex1", "ex1-solution", "ex1-answer", "ex2", None, None, "ex2-solution", "ex3",
                   "ex3-solution", None]
    assert classroom.problems(nb, "99_toy", TOY_CHECKS) == []
    assert classroom.nbgrader_problems(nb) == []
    bad = copy.deepcopy(nb)
    bad.cells[4].metadata["nbgrader"]["grade"] = False        # a markdown solution that is not graded
    bad.cells[8].metadata["nbgrader"]["grade_id"] = "ex1"     # a duplicate id
    assert len(classroom.nbgrader_problems(bad)) == 2
    assert classroom.name_problems(nb, "99_toy", TOY_CHECKS) == []
    unmarked = copy.deepcopy(nb)
    del unmarked.cells[3].metadata["nbgrader"]
    assert any("without an nbgrader marker" in p for p in classroom.problems(unmarked, "99_toy", TOY_CHECKS))
    fewer = {"99_toy": {k: v for k, v in TOY_CHECKS["99_toy"].items() if k != 3}}
    assert any("exercise 3: no check" in p for p in classroom.problems(nb, "99_toy", fewer))
    shadowed = copy.deepcopy(nb)
    shadowed.cells[1].source += "\nmean = 4.5"
    assert any("'mean' is also bound" in p for p in classroom.name_problems(shadowed, "99_toy", TOY_CHECKS))


def test_answer_prose_gets_its_own_folded_cell():
    """Prose that opens the next prompt (or À retenir) is an answer: split off, folded, marked, stubbed."""
    nb = _toy()
    nb.cells[5].source = "Les carrés croissent.\n\n" + nb.cells[5].source       # before Exercice 2
    nb.cells[11].source = "La moyenne vaut 4,5.\n\n" + nb.cells[11].source     # before À retenir
    assert classroom.mark(nb) and not classroom.mark(nb)
    answers = [c for c in nb.cells if "-answer" in (classroom._grade_id(c) or "")]
    assert [(classroom._grade_id(c), c.source) for c in answers] == [
        ("ex1-answer", "La somme vaut 45."), ("ex1-answer-2", "Les carrés croissent."),
        ("ex3-answer", "La moyenne vaut 4,5.")]
    assert all(c.metadata["jupyter"]["source_hidden"] and "hide-cell" in c.metadata["tags"] for c in answers)
    assert nb.cells[-1].source.startswith("## À retenir")
    student = classroom.student_edition(classroom.teacher_edition(nb, "99_toy", TOY_CHECKS), "99_toy", TOY_CHECKS)
    text = " ".join(c.source for c in student.cells)
    assert "croissent" not in text and "4,5." not in text and "45." not in text


# ------------------------------------------------------------------------------------ the grader
@pytest.mark.slow
def test_grading_a_toy(tmp_path):
    """Full marks, zero, and one solved / one raising / one looping exercise; the CSV and HTML table."""
    nb = _toy()
    teacher = classroom.teacher_edition(nb, "99_toy", TOY_CHECKS)
    student = classroom.student_edition(teacher, "99_toy", TOY_CHECKS)
    assert "# Your code here: x ** 2" in student.cells[[classroom._grade_id(c) for c in student.cells]
                                                       .index("ex2-solution")].source
    mixed = classroom.with_answers(student, teacher, {1: classroom.RAISE, 2: None, 3: classroom.LOOP})
    both = classroom.with_answers(student, teacher, {1: [classroom.RAISE, classroom.LOOP], 2: None})
    results = []
    for name, sub in (("teacher", teacher), ("student", student), ("mixed", mixed), ("both", both)):
        (tmp_path / "subs" / name).mkdir(parents=True)
        nbformat.write(sub, tmp_path / "subs" / name / "99_toy.ipynb")
        results += classroom.grade_one(tmp_path / "subs" / name / "99_toy.ipynb", name,
                                       teachers={"99_toy": teacher}, cell_timeout=60, exercise_timeout=2)
    got = {(r.student, r.exercise): r.points for r in results}
    assert got == {("teacher", 1): 1, ("teacher", 2): 2, ("teacher", 3): 1,
                   ("student", 1): 0, ("student", 2): 0, ("student", 3): 0,
                   ("mixed", 1): 0, ("mixed", 2): 2, ("mixed", 3): 0,
                   ("both", 1): 0, ("both", 2): 2, ("both", 3): 0}
    why = {(r.student, r.exercise): " ".join(r.reasons) for r in results}
    assert "RuntimeError" in why[("mixed", 1)] and "limite de temps (2 s)" in why[("mixed", 3)]
    assert "RuntimeError" in why[("both", 1)] and "limite de temps (2 s)" in why[("both", 1)]
    assert "squares n'est pas défini" in why[("student", 2)]
    classroom.write_table(results, tmp_path / "grades")
    with open(tmp_path / "grades" / "grades.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and {r["étudiant"] for r in rows} == {"teacher", "student", "mixed", "both"}
    assert next(r for r in rows if r["étudiant"] == "mixed" and r["exercice"] == "3")["points"] == "0"
    page = (tmp_path / "grades" / "grades.html").read_text(encoding="utf-8")
    assert page.count("<tr>") == 5 and "2/4" in page and "limite de temps" in page


@pytest.mark.slow
def test_code_that_ignores_the_interrupt(tmp_path):
    """Stopped at the notebook's limit, with its kernel: every exercise lost, with the reason."""
    nb = _toy()
    teacher = classroom.teacher_edition(nb, "99_toy", TOY_CHECKS)
    student = classroom.student_edition(teacher, "99_toy", TOY_CHECKS)
    stubborn = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n")
    sub = classroom.with_answers(student, teacher, {1: None, 3: stubborn})
    (tmp_path / "s").mkdir()
    nbformat.write(sub, tmp_path / "s" / "99_toy.ipynb")
    results = classroom.grade_one(tmp_path / "s" / "99_toy.ipynb", "s", teachers={"99_toy": teacher},
                                  cell_timeout=60, exercise_timeout=2, notebook_timeout=6)
    assert [r.points for r in results] == [0, 0, 0]
    assert all("limite du notebook (6 s)" in r.reasons[0] for r in results)
    unreadable = tmp_path / "s" / "broken" / "99_toy.ipynb"
    unreadable.parent.mkdir()
    unreadable.write_text("{not json")
    results = classroom.grade_one(unreadable, "broken", teachers={"99_toy": teacher}, cell_timeout=60,
                                  exercise_timeout=2)
    assert [r.max_points for r in results] == [1, 2, 1] and "illisible" in results[0].reasons[0]


def test_prepare_data_fills_only_these_notebooks_caches(monkeypatch):
    """Before any timed run: the notebooks' own samples, fast and offline; a failure is reported, not raised."""
    import types

    from course_utils import manifest

    calls = []

    def fake(name, fail=False):
        def load(**kwargs):
            calls.append((name, kwargs, os.environ.get("COURSE_FAST"), os.environ.get("COURSE_OFFLINE")))
            if fail:
                raise OSError("no space left")
        return types.SimpleNamespace(load=load)

    monkeypatch.setitem(sys.modules, "course_utils.datasets.toy_a", fake("toy_a"))
    monkeypatch.setitem(sys.modules, "course_utils.datasets.toy_b", fake("toy_b", fail=True))
    monkeypatch.setitem(sys.modules, "course_utils.datasets.toy_c", fake("toy_c"))
    samples = [("toy_a", {"n": 5}, ["00", "04"]), ("toy_b", {}, ["04"]), ("toy_c", {"n": 9}, ["11"])]
    monkeypatch.setattr(manifest, "prepared_samples", lambda mode=None: samples if mode == "fast" else [])
    monkeypatch.setenv("COURSE_FAST", "0")
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    failed = classroom.prepare_data(["04_higgs_wide_deep", "01b_cern_open_data_dask"])
    assert calls == [("toy_a", {"n": 5, "verbose": False}, "1", "1"), ("toy_b", {"verbose": False}, "1", "1")]
    assert failed == ["toy_b: OSError: no space left"]
    assert os.environ["COURSE_FAST"] == "0" and "COURSE_OFFLINE" not in os.environ, "the environment is restored"


def test_find_submissions(tmp_path):
    for rel in ("alice/00_introduction.ipynb", "bob/devoir1/00_introduction.ipynb",
                "bob/.ipynb_checkpoints/00_introduction.ipynb", "stray.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    assert [(s, p.relative_to(tmp_path).as_posix()) for s, p in classroom.find_submissions(tmp_path)] == [
        ("alice", "alice/00_introduction.ipynb"), ("bob", "bob/devoir1/00_introduction.ipynb")]


# ------------------------------------------------------------------------- two notebooks, for real
SCENARIOS = [(stem, name) for stem in IN_MAKE_TEST
             for name in classroom.scenarios(sorted(classroom.load_checks()[stem]))]


@pytest.mark.slow
@pytest.mark.parametrize("stem,name", SCENARIOS, ids=[f"{s[:2]}-{n}" for s, n in SCENARIOS])
def test_scenario(stem, name, tmp_path, monkeypatch):
    """Teacher full marks; student zero and runs; solved, raising and looping exercises score alone."""
    monkeypatch.setenv("COURSE_FAST", "1")
    limit = 600 if name == "teacher" else LOOP_LIMIT
    found = classroom.run_scenario(ROOT / "notebooks" / f"{stem}.ipynb", name, tmp_path,
                                   cell_timeout=600, exercise_timeout=limit)
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_the_interrupt_spares_the_processes_the_notebook_started():
    """A looping cell, interrupted, stops alone: a child process of the kernel (a Dask worker) lives on."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import subprocess, sys\n"
                                          "child = subprocess.Popen([sys.executable, '-c', "
                                          "'import time; time.sleep(120)'])"),
                nbformat.v4.new_code_cell("while True:\n    pass"),
                nbformat.v4.new_code_cell("alive = child.poll() is None\nchild.kill()\nprint('alive', alive)")]
    classroom.execute(nb, cell_timeout=5, exercise_timeout=5)
    assert nb.cells[1].outputs and nb.cells[1].outputs[0].get("ename") == "KeyboardInterrupt"
    assert "alive True" in nb.cells[2].outputs[0]["text"]
