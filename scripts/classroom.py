"""The classroom kit: nbgrader markers, a student edition, an autograder.

The format is nbgrader's (https://nbgrader.readthedocs.io, schema version 3), so that a teacher can
also hand the editions to nbgrader itself:

* each ``### Exercice N`` prompt is a read-only cell (``grade_id = "exN"``, ``locked``);
* each folded solution cell of an exercise is an autograded answer (``solution: true``,
  ``grade_id = "exN-solution"``, ``"exN-solution-2"``...); the whole cell is the solution, so the
  course's source stays free of ``### BEGIN SOLUTION`` lines; the student edition replaces it by a
  starter cell, the answers' folded markdown by a text stub (what nbgrader's ``ClearSolutions`` does);
* each check of ``scripts/classroom_checks.toml`` becomes an autograder test cell worth one point
  (``grade: true``, ``locked``, ``grade_id = "exN-check-K"``), its ``assert`` inside
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (removed in the student edition, put back
  when grading, as nbgrader's ``ClearHiddenTests`` and ``OverwriteCells`` do).

A test cell scores its point when it runs without error (nbgrader's rule). Grading executes each
submission with nbclient (the engine of nbgrader's ``Execute``) in its own kernel, fast mode,
offline, each exercise cell under a time limit (interrupted, then the next cells run).

Commands (see the Makefile):

    python scripts/classroom.py mark notebooks/NN_*.ipynb       # add the markers (idempotent)
    python scripts/classroom.py build [--out build/classroom]    # student/, teacher/, autograder/
    python scripts/classroom.py grade SUBMISSIONS [--out DIR]    # grades.csv and grades.html
    python scripts/classroom.py check [NOTEBOOK...]              # the kit's own scenarios
"""

from __future__ import annotations

import argparse
import copy
import csv
import html
import json
import os
import re
import signal
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CHECKS = Path(__file__).resolve().parent / "classroom_checks.toml"
SCHEMA = 3
EXERCISES = "Exercices"
EXERCISE = re.compile(r"^### Exercice (\d+)\b", re.MULTILINE)
SECTION = re.compile(r"^## (?:\d+\. )?(.*\S)", re.MULTILINE)
#: The Exercices section's first paragraph in the course, and its student-edition replacement.
FOLDING = ("Essayez d'abord sans regarder la solution (cellule repliée : cliquez pour la déplier) ; écrivez "
           "votre réponse dans une nouvelle cellule au-dessus.")
STUDENT_FOLDING = ("Écrivez votre code dans la cellule « Votre code ici » sous chaque énoncé, en gardant les noms "
                   "qu'elle indique : le correcteur les lit. Les cellules « Vérification » sont remplies à la "
                   "correction ; votre notebook doit s'exécuter de haut en bas.")
FOLDING_RE = re.compile(r"\s+".join(map(re.escape, FOLDING.split())))
TEXT_STUB = "*Votre réponse ici.*"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


# --------------------------------------------------------------------------------------- markers
def _nbgrader(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
              points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution}
    if points is not None:
        meta["points"] = points
    return meta


def _folded(cell) -> bool:
    return "hide-cell" in cell.metadata.get("tags", [])


def exercise_section(nb) -> tuple[int, int] | None:
    """[start, end) of the ``## N. Exercices`` section's cells, or None."""
    start = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        heads = SECTION.findall(cell.source)
        if start is None and EXERCISES in heads:
            start = i
        elif start is not None and heads:
            return start, i
    return (start, len(nb.cells)) if start is not None else None


def exercise_of_cells(nb) -> dict[int, int]:
    """Cell index -> exercise number, for every cell of the Exercices section after a prompt."""
    span = exercise_section(nb)
    owner: dict[int, int] = {}
    if span is None:
        return owner
    current = None
    for i in range(*span):
        cell = nb.cells[i]
        if cell.cell_type == "markdown" and (found := EXERCISE.findall(cell.source)):
            current = int(found[-1])
        if current is not None:
            owner[i] = current
    return owner


HEADING = re.compile(r"^(### Exercice \d+\b|## )", re.MULTILINE)


def split_answers(nb) -> int:
    """Move an answer's prose out of the next exercise's prompt (or out of ``## À retenir``) into its own
    folded markdown cell, just before; the number of cells split.

    An exercise's answer sometimes opens the cell of the next prompt; in its own folded cell, it is an
    answer that the student edition removes. Idempotent: once split, the prompt starts with its heading.
    """
    span = exercise_section(nb)
    if span is None:
        return 0
    start, end = span
    split = 0
    for i in range(min(end, len(nb.cells) - 1), start, -1):
        cell = nb.cells[i]
        if cell.cell_type != "markdown" or not (m := HEADING.search(cell.source)) or m.start() == 0:
            continue
        answer, rest = cell.source[:m.start()].strip(), cell.source[m.start():]
        if i == end and not rest.startswith("## "):
            continue
        if not answer:
            cell.source = rest
            continue
        new = nbformat.v4.new_markdown_cell(answer, id=f"{cell.get('id', str(i))}-answer"[:64])
        new.metadata.update({"jupyter": {"source_hidden": True}, "tags": ["hide-cell"]})
        cell.source = rest
        nb.cells.insert(i, new)
        split += 1
    return split


def mark(nb) -> bool:
    """Add nbgrader's metadata to each exercise's prompt, solution and answer cells; True if changed.

    Idempotent: the metadata is recomputed from the cells' positions and tags each time.
    """
    before = json.dumps([c.metadata for c in nb.cells], sort_keys=True)
    if split_answers(nb):
        before = None
    owner = exercise_of_cells(nb)
    counts: dict[tuple[int, str], int] = {}
    for i, ex in owner.items():
        cell = nb.cells[i]
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "markdown" and EXERCISE.search(cell.source):
            cell.metadata["nbgrader"] = _nbgrader(f"ex{ex}", locked=True)
        elif _folded(cell):
            # a folded markdown answer: nbgrader's "manually graded answer" (markdown solution cells
            # must be grade cells), worth 0 points in the automatic scale
            kind = "solution" if cell.cell_type == "code" else "answer"
            k = counts[(ex, kind)] = counts.get((ex, kind), 0) + 1
            grade_id = f"ex{ex}-{kind}" + (f"-{k}" if k > 1 else "")
            cell.metadata["nbgrader"] = (_nbgrader(grade_id, solution=True) if kind == "solution" else
                                         _nbgrader(grade_id, solution=True, grade=True, points=0))
    return json.dumps([c.metadata for c in nb.cells], sort_keys=True) != before


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def _is_test(cell) -> bool:
    """An autograder test cell: graded, not a solution, code."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]*$")


def nbgrader_problems(nb) -> list[str]:
    """The rules of nbgrader's metadata validator (schema 3), checked without nbgrader installed."""
    found, ids = [], set()
    keys = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum",
            "cell_type"}
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        if meta.get("schema_version") != SCHEMA or not {"grade", "locked", "solution"} <= set(meta):
            found.append(f"cell {i}: nbgrader metadata without schema_version 3, grade, locked, solution")
        if set(meta) - keys:
            found.append(f"cell {i}: unknown nbgrader keys {sorted(set(meta) - keys)}")
        grade, solution, locked = meta.get("grade"), meta.get("solution"), meta.get("locked")
        if grade or solution or locked:
            gid = meta.get("grade_id", "")
            if not gid or not GRADE_ID.match(gid):
                found.append(f"cell {i}: bad grade_id {gid!r}")
            if gid in ids:
                found.append(f"cell {i}: duplicate grade_id {gid!r}")
            ids.add(gid)
        if grade and not (isinstance(meta.get("points"), (int, float)) and meta["points"] >= 0):
            found.append(f"cell {i}: grade cell without points")
        if cell.cell_type == "markdown" and bool(grade) != bool(solution):
            found.append(f"cell {i}: a markdown grade cell must also be a solution cell, and conversely")
    return found


# ---------------------------------------------------------------------------------------- checks
@dataclass
class Exercise:
    """One exercise's starter names and checks, from classroom_checks.toml."""

    number: int
    names: dict[str, str]
    checks: list[dict] = field(default_factory=list)
    #: names that the notebook's other cells also bind, with checks that their values there fail
    shared: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        return len(self.checks)

    def starter(self, hints: list[str]) -> str:
        lines = [f"# Exercice {self.number} — Votre code ici", "# Le correcteur lit ces noms :"]
        lines += [f"# {name} = ...  # {shape}" for name, shape in self.names.items()]
        lines += hints
        return "\n".join(lines) + "\n"


def load_checks(path: Path = CHECKS) -> dict[str, dict[int, Exercise]]:
    """Notebook stem -> exercise number -> Exercise."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, dict[int, Exercise]] = {}
    for stem, exercises in data.items():
        out[stem] = {}
        for key, spec in exercises.items():
            number = int(key.removeprefix("ex"))
            out[stem][number] = Exercise(number, dict(spec.get("names", {})), list(spec.get("check", [])),
                                         tuple(spec.get("shared", ())))
    return out


def test_cell(stem: str, ex: Exercise, k: int, check: dict):
    """The autograder test cell of one check (one point), its assert between hidden-test markers."""
    code = check.get("setup", "").rstrip()
    assert_line = f"assert {check['expr']}, {check['why']!r}"
    body = "\n".join(filter(None, [code, assert_line]))
    source = (f"# Vérification {k} de l'exercice {ex.number} (1 point) : remplie à la correction.\n"
              f"{BEGIN_HIDDEN}\n{body}\n{END_HIDDEN}\n")
    cell = nbformat.v4.new_code_cell(source, id=f"{stem[:2]}-ex{ex.number}-check-{k}")
    cell.metadata["nbgrader"] = _nbgrader(f"ex{ex.number}-check-{k}", grade=True, locked=True, points=1)
    cell.metadata["tags"] = ["hide-cell"]
    return cell


def problems(nb, stem: str, checks: dict[str, dict[int, Exercise]]) -> list[str]:
    """What keeps the notebook from being an assignment: unmarked solutions, exercises without checks."""
    found = []
    owner = exercise_of_cells(nb)
    numbers = sorted(set(owner.values()))
    if not numbers:
        return [f"{stem}: no '### Exercice N' in the Exercices section"]
    for i, ex in owner.items():
        cell = nb.cells[i]
        if _folded(cell) and not _is_solution(cell):
            found.append(f"{stem} cell {i} (exercise {ex}): folded solution without an nbgrader marker "
                         "(run: python scripts/classroom.py mark)")
        if cell.cell_type == "markdown" and EXERCISE.search(cell.source) and _grade_id(cell) != f"ex{ex}":
            found.append(f"{stem} cell {i}: exercise {ex} prompt without its nbgrader marker")
    for ex in numbers:
        if not any(_is_solution(nb.cells[i]) and nb.cells[i].cell_type == "code"
                   for i, e in owner.items() if e == ex):
            found.append(f"{stem} exercise {ex}: no solution cell marked")
        spec = checks.get(stem, {}).get(ex)
        if spec is None or not spec.checks:
            found.append(f"{stem} exercise {ex}: no check in {CHECKS.name}")
    for ex in set(checks.get(stem, {})) - set(numbers):
        found.append(f"{stem}: {CHECKS.name} has checks for exercise {ex}, which the notebook lacks")
    return found


def _assigned(source: str) -> set[str]:
    """Names a cell binds (assignments, for targets, def, class, import), IPython magics skipped."""
    import ast

    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out


def _loaded(expr: str) -> set[str]:
    import ast

    return {n.id for n in ast.walk(ast.parse(expr)) if isinstance(n, ast.Name)}


def name_problems(nb, stem: str, checks: dict[str, dict[int, Exercise]]) -> list[str]:
    """Without running anything: each name the grader reads is bound by its exercise's solution only.

    A name that the notebook's other cells also bind would let the untouched student edition score;
    a name the checks read from the solution but that the starter does not list would be a riddle.
    """
    found = []
    owner = exercise_of_cells(nb)
    by_exercise: dict[int, set[str]] = {}
    elsewhere: set[str] = set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if i in owner and _is_solution(cell):
            by_exercise.setdefault(owner[i], set()).update(_assigned(cell.source))
        else:
            elsewhere |= _assigned(cell.source)
    for ex, spec in checks.get(stem, {}).items():
        mine = by_exercise.get(ex, set())
        for name in spec.names:
            if name not in mine:
                found.append(f"{stem} exercise {ex}: the solution does not bind {name!r}")
            if name in elsewhere and name not in spec.shared:
                found.append(f"{stem} exercise {ex}: {name!r} is also bound outside the solution cells")
        for check in spec.checks:
            for name in _loaded(check["expr"]) | _loaded(check.get("setup", "") or "0"):
                if name in mine and name not in spec.names and name not in elsewhere:
                    found.append(f"{stem} exercise {ex}: the check reads {name!r}, which the starter "
                                 "does not list")
    return found


# -------------------------------------------------------------------------------------- editions
def teacher_edition(nb, stem: str, checks: dict[str, dict[int, Exercise]]):
    """The full notebook with each exercise's test cells after its last cell (nbgrader's source)."""
    nb = copy.deepcopy(nb)
    owner = exercise_of_cells(nb)
    last = {ex: i for i, ex in owner.items()}
    for ex in sorted(last, key=last.get, reverse=True):
        spec = checks[stem][ex]
        cells = [test_cell(stem, spec, k, c) for k, c in enumerate(spec.checks, start=1)]
        nb.cells[last[ex] + 1:last[ex] + 1] = cells
    return nb


def _comment_only(cell) -> bool:
    lines = [ln.strip() for ln in cell.source.splitlines() if ln.strip()]
    return cell.cell_type == "code" and bool(lines) and all(ln.startswith("#") for ln in lines)


def strip_hidden(source: str) -> str:
    return re.sub(rf"{re.escape(BEGIN_HIDDEN)}.*?{re.escape(END_HIDDEN)}\n?", "", source, flags=re.S)


def student_edition(teacher, stem: str, checks: dict[str, dict[int, Exercise]]):
    """Solutions replaced by starters, answers by a stub, hidden tests removed, outputs cleared."""
    nb = copy.deepcopy(teacher)
    owner = exercise_of_cells(nb)
    hints: dict[int, list[str]] = {}
    keep = []
    solved: set[int] = set()
    for i, cell in enumerate(nb.cells):
        ex = owner.get(i)
        if ex is not None and _is_solution(cell) and cell.cell_type == "code":
            solved.add(ex)
        if ex is not None and not _grade_id(cell):
            if cell.cell_type == "markdown" and cell.source.strip() == "#### Solution":
                continue
            if cell.cell_type == "markdown" and ex in solved:   # prose between or after solutions
                continue
            if _comment_only(cell):          # the course's own "Your code here" hint: into the starter
                hints.setdefault(ex, []).extend(cell.source.strip().splitlines())
                continue
        keep.append(cell)
    nb.cells = keep
    done: set[int] = set()
    out = []
    for cell in nb.cells:
        gid = _grade_id(cell) or ""
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            ex = int(gid[2:].split("-")[0])
            if ex in done:
                continue                      # one starter per exercise
            done.add(ex)
            cell.source = checks[stem][ex].starter(hints.get(ex, []))
        elif meta.get("solution"):                # a markdown answer
            cell.source = TEXT_STUB
        elif meta.get("grade"):
            cell.source = strip_hidden(cell.source)
        if cell.cell_type == "markdown":
            cell.source = FOLDING_RE.sub(STUDENT_FOLDING, cell.source)
        if meta:                                  # starters, stubs and checks are shown unfolded
            cell.metadata.pop("jupyter", None)
            if "tags" in cell.metadata:
                cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "hide-cell"]
        out.append(cell)
    nb.cells = out
    return clear_outputs(nb)


def clear_outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


README = """# Le kit de l'enseignant

Généré par `make classroom` (`scripts/classroom.py`) à partir des notebooks et de
`scripts/classroom_checks.toml` : ne pas modifier à la main.

- `student/` : les notebooks à distribuer. Sous chaque énoncé, une cellule « Votre code ici » nomme
  les variables que le correcteur lira, avec leur forme ; les réponses rédigées sont remplacées par
  « Votre réponse ici » ; les cellules « Vérification » sont vides (elles sont remplies à la
  correction). Chaque notebook s'exécute de haut en bas tel quel.
- `teacher/` : les notebooks complets, solutions et vérifications comprises.
- `autograder/checks.json` : par exercice, les noms lus, les vérifications et leurs points.

## Corriger

Rangez les copies rendues ainsi : `copies/<étudiant>/NN_nom.ipynb` (sous-dossiers permis,
comme `submitted/<étudiant>/<devoir>/` de nbgrader), puis :

    make grade SUBMISSIONS=copies

Chaque copie s'exécute dans son propre noyau, en mode rapide, hors ligne ; chaque cellule des
exercices est interrompue après `EXERCISE_TIMEOUT` secondes (120 par défaut), toute la copie après
30 minutes. Les données des notebooks corrigés sont préparées d'abord (comme `make data`, en mode
rapide), hors du temps accordé aux copies : la première correction peut donc prendre plus longtemps. Le résultat, dans `copies-grades/` : `grades.csv` (une ligne par étudiant et exercice,
avec la raison de chaque point perdu), `grades.html` (le tableau étudiant × exercice) et
`executed/` (les copies exécutées, pour relire).

## Barème

Un point par vérification : une vérification réussit quand sa cellule s'exécute sans erreur. Les
réponses rédigées valent 0 point dans ce barème automatique ; notez-les à la main si vous le
souhaitez.

| notebook | exercices | points |
|---|---|---|
{table}

## Format

Les marqueurs sont ceux de nbgrader (métadonnées `nbgrader` des cellules, schéma 3 ; tests cachés
entre `### BEGIN HIDDEN TESTS` et `### END HIDDEN TESTS`) : les notebooks de `teacher/` peuvent
servir de notebooks « source » à nbgrader (`nbgrader generate_assignment`, `nbgrader autograde`),
qui remplace alors les solutions par son propre texte d'amorce.
"""


def notebook_paths(names: list[str] | None) -> list[Path]:
    if not names:
        return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    out = []
    for name in names:
        p = Path(name)
        out.append(p if p.suffix == ".ipynb" and p.exists() else
                   next(iter(sorted(NOTEBOOKS.glob(f"{name}*.ipynb"))), p))
    return out


def build(out: Path, paths: list[Path]) -> None:
    """build/classroom/{teacher,student,autograder}/."""
    checks = load_checks()
    errors = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        errors += problems(nb, path.stem, checks)
    if errors:
        sys.exit("classroom: cannot build:\n  " + "\n  ".join(errors))
    for sub in ("teacher", "student", "autograder"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    summary = {}
    for path in paths:
        nb = clear_outputs(nbformat.read(path, as_version=4))
        teacher = teacher_edition(nb, path.stem, checks)
        nbformat.write(teacher, out / "teacher" / path.name)
        nbformat.write(student_edition(teacher, path.stem, checks), out / "student" / path.name)
        summary[path.stem] = {f"ex{n}": {"points": e.points, "names": e.names, "checks": e.checks}
                              for n, e in sorted(checks[path.stem].items())}
    (out / "autograder" / "checks.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
    total = {stem: sum(e["points"] for e in exs.values()) for stem, exs in summary.items()}
    (out / "LISEZMOI.md").write_text(README.format(
        table="\n".join(f"| {stem} | {len(summary[stem])} | {total[stem]} |" for stem in summary)),
        encoding="utf-8")
    print(f"classroom: {len(paths)} notebooks -> {out}/teacher, {out}/student, {out}/autograder/checks.json")


# --------------------------------------------------------------------------------------- grading
@dataclass
class Result:
    """One exercise of one submission."""

    student: str
    notebook: str
    exercise: int
    points: float
    max_points: float
    reasons: list[str]


def _error_text(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}".strip()
    return None


def prepare(submission, teacher) -> tuple:
    """nbgrader's OverwriteCells: test cells come from the teacher's edition; missing ones appended."""
    nb = copy.deepcopy(submission)
    tests = {_grade_id(c): c for c in teacher.cells if _is_test(c)}
    seen = set()
    for i, cell in enumerate(nb.cells):
        gid = _grade_id(cell)
        if gid in tests:
            nb.cells[i] = copy.deepcopy(tests[gid])
            seen.add(gid)
    nb.cells += [copy.deepcopy(c) for gid, c in tests.items() if gid not in seen]
    return clear_outputs(nb), tests


def _kernel_only_interrupt():
    """A kernel manager whose interrupt (a cell over its time limit) reaches the kernel process alone.

    jupyter_client signals the kernel's whole process group, so the processes a notebook started stop
    too: in 01b, a student's infinite loop, interrupted, also killed the Dask cluster's workers, and the
    next exercise, correct, waited for them until its own limit (it lost its points).
    """
    from jupyter_client.manager import AsyncKernelManager

    class KernelOnlyInterrupt(AsyncKernelManager):
        async def interrupt_kernel(self) -> None:
            process = getattr(self.provisioner, "process", None)
            if (self.kernel_spec is not None and self.kernel_spec.interrupt_mode == "signal"
                    and process is not None and hasattr(signal, "SIGINT") and os.name == "posix"):
                os.kill(process.pid, signal.SIGINT)
                return
            await super().interrupt_kernel()

    return KernelOnlyInterrupt


def execute(nb, *, cell_timeout: int, exercise_timeout: int) -> float:
    """Run ``nb`` in its own kernel (fast mode, offline); exercise cells under ``exercise_timeout``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _nbrun import kernel_env
    from nbclient import NotebookClient

    span = exercise_section(nb)
    exercise_cells = {id(c) for c in nb.cells[span[0]:]} if span else set()
    env = kernel_env()
    env.update(COURSE_FAST="1", COURSE_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                            kernel_manager_class=_kernel_only_interrupt(), timeout=cell_timeout,
                            timeout_func=lambda c: exercise_timeout if id(c) in exercise_cells
                            else cell_timeout,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - t0


def _timed_out(cell, limit: int) -> bool:
    meta = cell.metadata.get("execution", {})
    err = _error_text(cell) or ""
    return err.startswith("KeyboardInterrupt") or ("timed out" in err.lower() and bool(meta))


def score(nb, stem: str, student: str, limit: int) -> list[Result]:
    """Points per exercise of an executed notebook: one point per test cell that ran without error."""
    owner = exercise_of_cells(nb)
    results = {}
    for ex in sorted(set(owner.values())):
        idx = [i for i, e in owner.items() if e == ex]
        tests = [i for i in idx if _is_test(nb.cells[i])]
        work = [i for i in idx if nb.cells[i].cell_type == "code" and not _is_test(nb.cells[i])]
        context = []
        for i in work:
            err = _error_text(nb.cells[i])
            if err and _timed_out(nb.cells[i], limit):
                context.append(f"cellule arrêtée à sa limite de temps ({limit} s)")
            elif err:
                context.append(f"la cellule de l'exercice lève {err.splitlines()[0][:120]}")
        points, reasons = 0.0, []
        for i in tests:
            err = _error_text(nb.cells[i])
            pts = nb.cells[i].metadata["nbgrader"].get("points", 1)
            if err is None:
                points += pts
            else:
                missing = re.match(r"NameError: name '(\w+)' is not defined", err)
                text = (f"{missing.group(1)} n'est pas défini" if missing
                        else err.removeprefix("AssertionError: "))
                reasons.append(f"−{pts:g} ({_grade_id(nb.cells[i])}) : {text[:200]}")
        max_points = sum(nb.cells[i].metadata["nbgrader"].get("points", 1) for i in tests)
        if points < max_points and context:
            reasons.insert(0, " ; ".join(dict.fromkeys(context)))
        results[ex] = Result(student, stem, ex, points, max_points, reasons)
    return list(results.values())


def execute_isolated(nb, *, cell_timeout: int, exercise_timeout: int, notebook_timeout: int):
    """:func:`execute` in a child process killed after ``notebook_timeout`` s; the executed notebook or None.

    The per-cell limits interrupt the kernel (KeyboardInterrupt); code that ignores the interrupt is
    stopped here, with its kernel (ipykernel exits when its parent process dies).
    """
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="classroom-") as tmp:
        src, dst = Path(tmp) / "in.ipynb", Path(tmp) / "out.ipynb"
        nbformat.write(nb, src)
        cmd = [sys.executable, str(Path(__file__).resolve()), "execute", str(src), str(dst),
               "--cell-timeout", str(cell_timeout), "--exercise-timeout", str(exercise_timeout)]
        try:
            subprocess.run(cmd, timeout=notebook_timeout, check=False)
        except subprocess.TimeoutExpired:
            return None
        return nbformat.read(dst, as_version=4) if dst.exists() else None


def _all_lost(stem: str, student: str, teacher, reason: str) -> list[Result]:
    owner = exercise_of_cells(teacher)
    return [Result(student, stem, ex, 0.0,
                   sum(teacher.cells[i].metadata["nbgrader"].get("points", 1)
                       for i, e in owner.items() if e == ex and _is_test(teacher.cells[i])), [reason])
            for ex in sorted(set(owner.values()))]


def grade_one(path: Path, student: str, *, teachers: dict, cell_timeout: int, exercise_timeout: int,
              notebook_timeout: int = 1800, keep: Path | None = None) -> list[Result]:
    """Grade one submission in its own kernel (and process): points and reasons per exercise."""
    stem = path.stem
    t0 = time.perf_counter()
    try:
        submission = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file loses every exercise, with the reason
        return _all_lost(stem, student, teachers[stem], f"notebook illisible ({type(err).__name__})")
    nb, _ = prepare(submission, teachers[stem])
    executed = execute_isolated(nb, cell_timeout=cell_timeout, exercise_timeout=exercise_timeout,
                                notebook_timeout=notebook_timeout)
    if executed is None:
        results = _all_lost(stem, student, teachers[stem],
                            f"exécution arrêtée à la limite du notebook ({notebook_timeout} s)")
    else:
        if keep is not None:
            (keep / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(executed, keep / student / path.name)
        results = score(executed, stem, student, exercise_timeout)
        span = exercise_section(executed)
        body_errors = [i for i in range(span[0] if span else len(executed.cells))
                       if _error_text(executed.cells[i])]
        for r in results:
            if body_errors and r.points < r.max_points:
                r.reasons.append(f"le notebook lève une erreur avant les exercices (cellule {body_errors[0]})")
    got = sum(r.points for r in results)
    print(f"  {student}/{path.name}: {got:g}/{sum(r.max_points for r in results):g} "
          f"in {time.perf_counter() - t0:.0f} s", flush=True)
    return results


def teachers_for(stems) -> dict:
    checks = load_checks()
    out = {}
    for stem in stems:
        path = NOTEBOOKS / f"{stem}.ipynb"
        if path.exists() and stem in checks:
            out[stem] = teacher_edition(clear_outputs(nbformat.read(path, as_version=4)), stem, checks)
    return out


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """(student, notebook) pairs: FOLDER/<student>/[.../]NN_name.ipynb (nbgrader's submitted/ layout)."""
    pairs = []
    for path in sorted(folder.rglob("[0-9]*.ipynb")):
        rel = path.relative_to(folder)
        if ".ipynb_checkpoints" in rel.parts or len(rel.parts) < 2:
            continue
        pairs.append((rel.parts[0], path))
    return pairs


def write_table(results: list[Result], out: Path) -> None:
    """grades.csv (one row per student and exercise) and grades.html (student x exercise)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["étudiant", "notebook", "exercice", "points", "sur", "raisons des points perdus"])
        for r in results:
            w.writerow([r.student, r.notebook, r.exercise, f"{r.points:g}", f"{r.max_points:g}",
                        " | ".join(r.reasons)])
    students = sorted({r.student for r in results})
    columns = sorted({(r.notebook, r.exercise) for r in results})
    cell = {(r.student, r.notebook, r.exercise): r for r in results}
    rows = []
    for s in students:
        tds, total, total_max = [], 0.0, 0.0
        for nbk, ex in columns:
            r = cell.get((s, nbk, ex))
            if r is None:
                tds.append("<td>—</td>")
                continue
            total, total_max = total + r.points, total_max + r.max_points
            why = "".join(f"<li>{html.escape(x)}</li>" for x in r.reasons)
            tds.append(f"<td><b>{r.points:g}/{r.max_points:g}</b>"
                       + (f"<ul>{why}</ul>" if why else "") + "</td>")
        rows.append(f"<tr><th>{html.escape(s)}</th>{''.join(tds)}<td><b>{total:g}/{total_max:g}</b></td></tr>")
    head = "".join(f"<th>{html.escape(n)}<br>exercice {e}</th>" for n, e in columns)
    page = ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Notes</title>"
            "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px;"
            "vertical-align:top;font-size:90%}ul{margin:0;padding-left:1em}</style></head><body>"
            f"<h1>Notes</h1><table><tr><th>étudiant</th>{head}<th>total</th></tr>{''.join(rows)}"
            "</table></body></html>\n")
    (out / "grades.html").write_text(page, encoding="utf-8")


def prepare_data(stems) -> list[str]:
    """Fill the fast-mode caches of these notebooks' datasets (``make data``'s samples), before any timed run.

    On a cold cache, a notebook simulates its data inside its data cell; on a busy machine that cell can
    outlive the limit of a cell outside the exercises (600 s: notebook 04's HIGGS simulation did), and every
    exercise of the submission would be lost for a reason that is not the student's. Offline, as grading is:
    the course's simulation where no published file is cached. Returns the failures (the notebooks then meet
    them again, and the grades say so).
    """
    import importlib

    from course_utils import manifest

    keys = {stem.split("_")[0] for stem in stems}
    saved = {k: os.environ.get(k) for k in ("COURSE_FAST", "COURSE_OFFLINE")}
    os.environ.update(COURSE_FAST="1", COURSE_OFFLINE="1")
    failed = []
    try:
        for dataset, kwargs, notebooks in manifest.prepared_samples(mode="fast"):
            if not keys & set(notebooks):
                continue
            t0 = time.perf_counter()
            try:
                importlib.import_module(f"course_utils.datasets.{dataset}").load(**{**kwargs, "verbose": False})
            except Exception as err:  # noqa: BLE001 - reported; the notebook meets it again and says so
                failed.append(f"{dataset}: {type(err).__name__}: {err}")
                continue
            print(f"  data: {dataset} ready in {time.perf_counter() - t0:.0f} s (notebooks {', '.join(notebooks)})",
                  flush=True)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    for f in failed:
        print(f"  data: {f}", flush=True)
    return failed


def grade(folder: Path, out: Path, *, cell_timeout: int, exercise_timeout: int,
          notebook_timeout: int = 1800) -> list[Result]:
    pairs = find_submissions(folder)
    teachers = teachers_for({p.stem for _, p in pairs})
    prepare_data(teachers)
    results: list[Result] = []
    for student, path in pairs:
        if path.stem not in teachers:
            print(f"  {student}/{path.name}: not a notebook of the course, skipped")
            continue
        results += grade_one(path, student, teachers=teachers, cell_timeout=cell_timeout,
                             exercise_timeout=exercise_timeout, notebook_timeout=notebook_timeout,
                             keep=out / "executed")
    write_table(results, out)
    print(f"classroom: {len(pairs)} submissions -> {out}/grades.csv, {out}/grades.html")
    return results


# ------------------------------------------------------------------------------------- scenarios
LOOP = "while True:  # never ends\n    pass\n"
RAISE = "raise RuntimeError('this submission raises')\n"


def with_answers(student, teacher, answers: dict[int, str | list[str] | None]):
    """The student edition with exercise N's starter replaced by the given cell(s); None: the teacher's."""
    nb = copy.deepcopy(student)
    solutions: dict[int, list] = {}
    for cell in teacher.cells:
        if _is_solution(cell) and cell.cell_type == "code":
            solutions.setdefault(int(_grade_id(cell)[2:].split("-")[0]), []).append(cell)
    out = []
    for cell in nb.cells:
        if _is_solution(cell) and cell.cell_type == "code":
            ex = int(_grade_id(cell)[2:].split("-")[0])
            if ex in answers:
                if answers[ex] is None:
                    out += [copy.deepcopy(c) for c in solutions[ex]]
                    continue
                sources = [answers[ex]] if isinstance(answers[ex], str) else answers[ex]
                cell.source = sources[0]
                out.append(cell)
                out += [nbformat.v4.new_code_cell(src) for src in sources[1:]]   # cells a student adds
                continue
        out.append(cell)
    nb.cells = out
    return nb


def scenarios(numbers: list[int]) -> dict[str, tuple[dict | None, set[int]]]:
    """Submission name -> (answers, exercises expected to score), for the kit's own checks.

    Three runs per notebook: the teacher's edition (full marks), the untouched student edition (zero, and
    it runs), and one submission where one exercise is solved, one raises and one loops forever (with
    two exercises, the first raises, then loops in a cell the student added; the second is solved).
    """
    first, last = numbers[0], numbers[-1]
    if len(numbers) >= 3:
        mixed = ({first: None, numbers[1]: RAISE, last: LOOP}, {first})
    else:
        mixed = ({first: [RAISE, LOOP], last: None}, {last})
    return {"teacher": (None, set(numbers)), "student": ({}, set()), "mixed": mixed}


def run_scenario(path: Path, name: str, out: Path, *, cell_timeout: int, exercise_timeout: int,
                 checks: dict | None = None) -> list[str]:
    """Grade one of :func:`scenarios` for one notebook; the problems found (empty: as expected)."""
    checks = checks or load_checks()
    stem = path.stem
    nb = clear_outputs(nbformat.read(path, as_version=4))
    errs = problems(nb, stem, checks)
    if errs:
        return errs
    teacher = teacher_edition(nb, stem, checks)
    student = student_edition(teacher, stem, checks)
    numbers = sorted(checks[stem])
    answers, expected = scenarios(numbers)[name]
    sub = teacher if answers is None else with_answers(student, teacher, answers)
    sub_dir = out / "submissions" / name
    sub_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(sub, sub_dir / path.name)
    results = grade_one(sub_dir / path.name, name, teachers={stem: teacher}, cell_timeout=cell_timeout,
                        exercise_timeout=exercise_timeout, keep=out / "executed")
    found = []
    got = {r.exercise: r.points for r in results}
    want = {n: checks[stem][n].points if n in expected else 0 for n in numbers}
    if got != want:
        found.append(f"{stem} [{name}]: points {got}, expected {want}: "
                     + "; ".join(f"ex{r.exercise}: {r.reasons}" for r in results if r.reasons))
    executed = nbformat.read(out / "executed" / name / path.name, as_version=4)
    span = exercise_section(executed)
    broken = [i for i, c in enumerate(executed.cells)
              if _error_text(c) and not _is_test(c)
              and (span is None or i < span[0] or name in ("teacher", "student"))]
    if broken:
        found.append(f"{stem} [{name}]: cells {broken} raise: {_error_text(executed.cells[broken[0]])}")
    for ex, answer in (answers or {}).items():
        r = next(r for r in results if r.exercise == ex)
        for source in [answer] if isinstance(answer, str) else answer or []:
            word = {LOOP: "limite de temps", RAISE: "lève RuntimeError"}[source]
            if not any(word in x for x in r.reasons):
                found.append(f"{stem} [{name}]: exercise {ex}'s reasons do not say {word!r}: {r.reasons}")
    return found


def check(paths: list[Path], out: Path, *, cell_timeout: int) -> int:
    """For each notebook: teacher = full marks, student = zero and runs, solved/raising/looping exercises.

    The looping scenarios' exercise cells get a limit from the teacher run's slowest solution cell.
    """
    checks = load_checks()
    failures = []
    for path in paths:
        prepare_data([path.stem])
        found = run_scenario(path, "teacher", out, cell_timeout=cell_timeout, exercise_timeout=cell_timeout,
                             checks=checks)
        failures += found
        if found and "no check" in " ".join(found):
            continue
        limit = exercise_limit(out / "executed" / "teacher" / path.name, cell_timeout)
        for name in list(scenarios(sorted(checks[path.stem])))[1:]:
            failures += run_scenario(path, name, out, cell_timeout=cell_timeout, exercise_timeout=limit,
                                     checks=checks)
    for f in failures:
        print("FAIL", f)
    print(f"classroom-check: {len(paths)} notebooks, {len(failures)} failures")
    return 1 if failures else 0


def exercise_limit(executed: Path, cap: int) -> int:
    """Three times the slowest solution cell of the teacher's run, at least 10 s, at most ``cap``."""
    nb = nbformat.read(executed, as_version=4)
    slowest = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("execution", {})
        if _is_solution(cell) and "iopub.execute_input" in meta and "shell.execute_reply" in meta:
            from datetime import datetime
            t0 = datetime.fromisoformat(meta["iopub.execute_input"].replace("Z", "+00:00"))
            t1 = datetime.fromisoformat(meta["shell.execute_reply"].replace("Z", "+00:00"))
            slowest = max(slowest, (t1 - t0).total_seconds())
    return int(min(cap, max(10, 3 * slowest + 5)))


# ------------------------------------------------------------------------------------------- cli
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("mark", help="add nbgrader's markers to the notebooks (idempotent)")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--check", action="store_true", help="only say which notebooks would change")
    p = sub.add_parser("build", help="the teacher, student and autograder editions")
    p.add_argument("notebooks", nargs="*")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "classroom")
    p = sub.add_parser("grade", help="grade a folder of submissions: SUBMISSIONS/<student>/NN_name.ipynb")
    p.add_argument("submissions", type=Path)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell outside the exercises")
    p.add_argument("--exercise-timeout", type=int, default=120, help="seconds per exercise cell")
    p.add_argument("--notebook-timeout", type=int, default=1800,
                   help="seconds per submission, for code that ignores the interrupt")
    p = sub.add_parser("execute", help="(internal) execute one notebook for grade")
    p.add_argument("source", type=Path)
    p.add_argument("target", type=Path)
    p.add_argument("--cell-timeout", type=int, required=True)
    p.add_argument("--exercise-timeout", type=int, required=True)
    p = sub.add_parser("check", help="teacher full marks, student zero, solved/raising/looping exercises")
    p.add_argument("notebooks", nargs="*")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "classroom-check")
    p.add_argument("--cell-timeout", type=int, default=600)
    args = parser.parse_args(argv)
    if args.command == "mark":
        changed = []
        for name in args.notebooks:
            path = Path(name)
            nb = nbformat.read(path, as_version=4)
            if mark(nb):
                changed.append(path.name)
                if not args.check:
                    nbformat.write(nb, path)
        print(f"classroom mark: {len(changed)} notebooks {'to change' if args.check else 'changed'}"
              + (f": {', '.join(changed)}" if changed else ""))
        return 1 if args.check and changed else 0
    if args.command == "build":
        build(args.out, notebook_paths(args.notebooks))
        return 0
    if args.command == "grade":
        grade(args.submissions, args.out or args.submissions.parent / f"{args.submissions.name}-grades",
              cell_timeout=args.cell_timeout, exercise_timeout=args.exercise_timeout,
              notebook_timeout=args.notebook_timeout)
        return 0
    if args.command == "execute":
        nb = nbformat.read(args.source, as_version=4)
        try:
            execute(nb, cell_timeout=args.cell_timeout, exercise_timeout=args.exercise_timeout)
        finally:
            nbformat.write(nb, args.target)
        return 0
    return check(notebook_paths(args.notebooks), args.out, cell_timeout=args.cell_timeout)


if __name__ == "__main__":
    sys.exit(main())
