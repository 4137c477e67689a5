"""One skeleton in every notebook, so that a learner always knows where they are.

The skeleton is the one ``../shared/STYLE.md`` describes ("A notebook"), with the course's French headings:

* the **title cell**: ``# NN — Titre``, the Colab and Binder badges, the objectives ("À la fin de ce notebook,
  vous saurez"), then the prerequisites and the estimated duration, each in its own paragraph (so that they
  render on two lines): ``**Prérequis :** …`` and ``**Durée estimée :** 1 h 30``, the duration written as the
  course manifest writes it ("1 h 30", "2 h", "45 min") and equal to the notebook's ``duration`` there;
* the ``##`` headings, in this order and no other: ``## 0. Mise en place``; the notebook's own sections
  ``## 1. …`` to ``## k. …``; ``## k+1. Comparaison avec les résultats publiés`` (every notebook but 00, which
  trains no model); ``## k+2. Vérifications``; ``## k+3. Exercices``; ``## À retenir``, unnumbered; then
  ``## Pour aller plus loin``, unnumbered and last (the references to read next, written by
  ``scripts/teaching_kit.py`` from ``docs/pour_aller_plus_loin.toml``);
* the Vérifications section holds a ``### Résultats enregistrés`` subsection, and every ``report.record``
  call is in it;
* the Exercices section opens with :data:`FOLDING`, the same sentence everywhere, and each ``### Exercice``
  has a folded solution cell: folded with its outputs, which hold the generated answer (``jupyter.source_hidden``
  and ``jupyter.outputs_hidden`` in Jupyter, the ``hide-cell`` tag on the course website); every folded cell of
  a notebook (solutions and the answers' markdown) is folded that way.

``test_skeleton_catches_*`` run the check on small synthetic notebooks, so that it is seen to fail.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from course_utils import manifest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
STYLE = ROOT.parent / "shared" / "STYLE.md"

SETUP = "Mise en place"
COMPARISON = "Comparaison avec les résultats publiés"
CHECKS = "Vérifications"
EXERCISES = "Exercices"
TAKEAWAYS = "À retenir"
FURTHER = "Pour aller plus loin"
RECORDED = "Résultats enregistrés"
#: STYLE.md's items of "A notebook" (its bold names) -> the heading that the notebooks give them.
STYLE_HEADINGS = {
    "Setup cell": SETUP,
    "Comparison with published results": COMPARISON,
    "Checks": CHECKS,
    "Exercices": EXERCISES,
    "À retenir": TAKEAWAYS,
}
#: The first paragraph of every Exercices section.
FOLDING = ("Essayez d'abord sans regarder la solution (cellule repliée : cliquez pour la déplier) ; écrivez "
           "votre réponse dans une nouvelle cellule au-dessus.")
#: Notebooks without a model, hence without a comparison with published results.
NO_COMPARISON = {"00"}
DURATION = re.compile(r"\d+ h( \d{2})?|\d+ min")
NUMBERED = re.compile(r"(\d+)\. (\S.*)")


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _headings(markdown: str) -> list[tuple[int, str]]:
    """(level, text) of the ATX headings of a markdown cell, outside fenced code blocks."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (m := re.match(r"(#{1,6}) (.*\S)", line)):
            found.append((len(m.group(1)), m.group(2).strip()))
    return found


def _folded(cell: dict) -> bool:
    """Folded with its outputs: in Jupyter (source and outputs hidden) and on the site (``hide-cell``)."""
    meta = cell.get("metadata", {})
    jupyter = meta.get("jupyter", {})
    outputs = cell["cell_type"] != "code" or bool(jupyter.get("outputs_hidden"))
    return bool(jupyter.get("source_hidden")) and outputs and "hide-cell" in meta.get("tags", [])


def skeleton_problems(nb: dict, key: str, duration: str) -> list[str]:
    """What breaks the course's skeleton in the notebook ``nb`` (parsed JSON) of manifest key ``key``."""
    problems = []
    cells = nb["cells"]
    if not DURATION.fullmatch(duration):
        problems.append(f"manifest duration {duration!r} is not written like '1 h 30', '2 h' or '45 min'")

    # --- the title cell
    title = _source(cells[0]) if cells and cells[0]["cell_type"] == "markdown" else ""
    paragraphs = _paragraphs(title)
    if not paragraphs or not re.fullmatch(rf"# {re.escape(key)} — \S.*", paragraphs[0].splitlines()[0]):
        problems.append(f"title cell: the first line must be '# {key} — Titre'")
    badges = next((i for i, p in enumerate(paragraphs) if "colab-badge.svg" in p and "mybinder.org" in p), None)
    goals = next((i for i, p in enumerate(paragraphs) if p.startswith("**À la fin de ce notebook, vous saurez")),
                 None)
    prereq = next((i for i, p in enumerate(paragraphs) if p.startswith("**Prérequis :** ")), None)
    if badges is None or goals is None or prereq is None or not badges < goals < prereq:
        problems.append("title cell: title, badges, objectives ('À la fin de ce notebook, vous saurez'), "
                        "then '**Prérequis :** …', in this order")
    expected = f"**Durée estimée :** {duration}"
    if prereq is None or prereq + 1 >= len(paragraphs) or paragraphs[prereq + 1] != expected:
        problems.append(f"title cell: the paragraph after the prerequisites must be exactly {expected!r} "
                        "(the manifest's duration, on its own line)")
    if prereq is not None and "**Durée estimée" in paragraphs[prereq]:
        problems.append("title cell: prerequisites and duration on the same line")

    # --- the ## headings, in order; where the sections start
    level2 = []   # (cell index, heading text)
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            level2 += [(i, text) for level, text in _headings(_source(cell)) if level == 2]
    texts = [t for _, t in level2]
    if not texts or texts[-1] != FURTHER:
        problems.append(f"the last ## heading must be '## {FURTHER}' (unnumbered), right after '## {TAKEAWAYS}' "
                        "(python scripts/teaching_kit.py writes it)")
    else:
        texts = texts[:-1]
    if FURTHER in texts:
        problems.append(f"'## {FURTHER}' appears twice or not last")
    tail = ([COMPARISON] if key not in NO_COMPARISON else []) + [CHECKS, EXERCISES]
    if not texts or texts[-1] != TAKEAWAYS:
        problems.append(f"the last ## heading before '## {FURTHER}' must be '## {TAKEAWAYS}' (unnumbered)")
    numbered = texts[:-1] if texts and texts[-1] == TAKEAWAYS else texts
    parsed = [NUMBERED.fullmatch(t) for t in numbered]
    for t, m in zip(numbered, parsed):
        if m is None:
            problems.append(f"'## {t}': every ## heading but '## {TAKEAWAYS}' is numbered 'N. Titre'")
    if all(parsed) and numbered:
        numbers = [int(m.group(1)) for m in parsed]
        names = [m.group(2) for m in parsed]
        if numbers != list(range(len(numbers))):
            problems.append(f"## sections numbered {numbers}: expected 0, 1, 2… in order")
        if names[0] != SETUP:
            problems.append(f"the first ## heading must be '## 0. {SETUP}', not '## {numbered[0]}'")
        if len(names) < len(tail) + 2 or names[-len(tail):] != tail:
            problems.append(f"the last numbered sections must be {tail}, got {names[-len(tail):]}")
        own = names[1:-len(tail)] if len(names) > len(tail) else []
        for name in own:
            if name in (SETUP, COMPARISON, CHECKS, EXERCISES, TAKEAWAYS) or name.startswith(RECORDED):
                problems.append(f"'{name}' appears among the notebook's own sections")
    if TAKEAWAYS in texts[:-1]:
        problems.append(f"'## {TAKEAWAYS}' appears twice or not last")

    def section(name: str) -> tuple[int, int] | None:
        """Cell range [start, end) of the ## section `name` (the cell of its heading included)."""
        for j, (i, t) in enumerate(level2):
            m = NUMBERED.fullmatch(t)
            if (m and m.group(2) == name) or t == name:
                return i, (level2[j + 1][0] if j + 1 < len(level2) else len(cells))
        return None

    # --- Vérifications: the recorded results are its ### subsection, and every report.record is there
    recorded_at = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                   and (3, RECORDED) in _headings(_source(c))]
    checks = section(CHECKS)
    others = [t for i, c in enumerate(cells) if c["cell_type"] == "markdown"
              for level, t in _headings(_source(c)) if RECORDED.lower() in t.lower() and (level, t) != (3, RECORDED)]
    if others:
        problems.append(f"'{RECORDED}' must be the ### subsection '### {RECORDED}', not {others}")
    if len(recorded_at) != 1 or checks is None or not checks[0] <= recorded_at[0] < checks[1]:
        problems.append(f"one '### {RECORDED}' subsection, inside '{CHECKS}'")
    elif checks is not None:
        recording = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "report.record(" in _source(c)]
        outside = [i for i in recording if not recorded_at[0] < i < checks[1]]
        if not recording or outside:
            problems.append(f"every report.record(...) call belongs in '### {RECORDED}' (cells {outside})")

    # --- Exercices: the same folding sentence first; a folded solution under each exercise
    exercises = section(EXERCISES)
    if exercises is not None:
        first = _source(cells[exercises[0]])
        body = _paragraphs(first)[1:]   # after the heading
        if not body or " ".join(body[0].split()) != FOLDING:
            problems.append(f"the Exercices section must open with the sentence: {FOLDING!r}")
        starts = [i for i in range(*exercises) if cells[i]["cell_type"] == "markdown"
                  and any(level == 3 and t.startswith("Exercice") for level, t in _headings(_source(cells[i])))]
        if not starts:
            problems.append("no '### Exercice …' in the Exercices section")
        for a, b in zip(starts, [*starts[1:], exercises[1]]):
            if not any(cells[i]["cell_type"] == "code" and _folded(cells[i]) for i in range(a, b)):
                problems.append(f"exercise at cell {a}: no folded solution cell "
                                "(source_hidden, outputs_hidden, hide-cell)")
    for i, cell in enumerate(cells):
        hidden = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden")
        if hidden and not _folded(cell):
            problems.append(f"cell {i} is folded in Jupyter but not with its outputs and on the site "
                            "(source_hidden, outputs_hidden for code, the hide-cell tag)")
    return problems


def _key(path: Path) -> str:
    return path.name.split("_", 1)[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_skeleton(path):
    entries = {e.file: e for e in manifest.notebooks().values()}
    assert path.name in entries, f"{path.name} has no entry in course_utils/manifest.toml"
    entry = entries[path.name]
    assert entry.key == _key(path)
    problems = skeleton_problems(json.loads(path.read_text(encoding="utf-8")), entry.key, entry.duration)
    assert not problems, f"{path.name}:\n- " + "\n- ".join(problems)


def test_headings_are_style_md_skeleton():
    """The headings checked here are STYLE.md's items of "A notebook", in its order."""
    if not STYLE.is_file():
        pytest.skip(f"{STYLE} is not beside this checkout")
    text = STYLE.read_text(encoding="utf-8")
    part = text.split("## A notebook", 1)[1].split("\n## ", 1)[0]
    items = re.findall(r"^\d+\. \*\*(.+?)\*\*", part, flags=re.M)
    assert [i for i in items if i in STYLE_HEADINGS] == list(STYLE_HEADINGS), (
        f"STYLE.md's skeleton is {items}: update STYLE_HEADINGS (and the notebooks) to match")
    checked = [SETUP, COMPARISON, CHECKS, EXERCISES, TAKEAWAYS]
    assert list(STYLE_HEADINGS.values()) == checked


# --- the check must fail on notebooks that break the rule ----------------------------------------------------

def _md(text: str, **meta) -> dict:
    return {"cell_type": "markdown", "metadata": meta, "source": text}


def _code(text: str, *, folded: bool = False) -> dict:
    meta = {"jupyter": {"source_hidden": True, "outputs_hidden": True}, "tags": ["hide-cell"]} if folded else {}
    return {"cell_type": "code", "metadata": meta, "source": text, "outputs": [], "execution_count": None}


TITLE = ("# 99 — Un notebook d'essai\n\n"
         "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](x) "
         "[![Binder](https://mybinder.org/badge_logo.svg)](y)\n\n"
         "**À la fin de ce notebook, vous saurez :**\n- essayer.\n\n"
         "**Prérequis :** aucun.\n\n"
         "**Durée estimée :** 1 h 30")


def _good() -> dict:
    return {"cells": [
        _md(TITLE),
        _md("## 0. Mise en place"), _code("import sys"),
        _md("## 1. La méthode"), _code("x = 1"),
        _md("## 2. Comparaison avec les résultats publiés"), _code("print(x)"),
        _md("## 3. Vérifications"), _code("assert x == 1"),
        _md("### Résultats enregistrés"), _code("report.record('99', x=x)"),
        _md(f"## 4. Exercices\n\n{FOLDING}\n\n### Exercice 1\nFaites-le."), _code("# Solution", folded=True),
        _md("## À retenir\n\n- tout."),
        _md("## Pour aller plus loin\n\n- un article."),
    ]}


def test_skeleton_accepts_the_synthetic_notebook():
    assert skeleton_problems(_good(), "99", "1 h 30") == []


def _edit(cell: int, old: str, new: str):
    def change(nb):
        src = nb["cells"][cell]["source"]
        assert old in src
        nb["cells"][cell]["source"] = src.replace(old, new)
    return change


def _delete(cell: int):
    def change(nb):
        del nb["cells"][cell]
    return change


def _unfold(nb):
    nb["cells"][12]["metadata"] = {}


def _outputs_shown(nb):
    """The solution's code is folded but its outputs (the generated answer) show: the old folding."""
    nb["cells"][12]["metadata"] = {"jupyter": {"source_hidden": True}, "tags": ["hide-input"]}


BROKEN = {
    "setup unnumbered": _edit(1, "## 0. Mise en place", "## Mise en place"),
    "setup numbered 1": _edit(1, "## 0. Mise en place", "## 1. Mise en place"),
    "numbering gap": _edit(3, "## 1. La méthode", "## 2. La méthode"),
    "comparison renamed": _edit(5, "Comparaison avec les résultats publiés", "Ce que disent les publications"),
    "no comparison": _delete(5),
    "checks renamed": _edit(7, "## 3. Vérifications", "## 3. Vérifications et résultats enregistrés"),
    "recorded results as a section": _edit(9, "### Résultats enregistrés", "## 4. Résultats enregistrés"),
    "record outside the subsection": _edit(8, "assert x == 1", "report.record('99', y=1)"),
    "exercises unnumbered": _edit(11, "## 4. Exercices", "## Exercices"),
    "no folding sentence": _edit(11, FOLDING, "Bon courage."),
    "solution not folded": _unfold,
    "solution's answer visible": _outputs_shown,
    "takeaways numbered": _edit(13, "## À retenir", "## 5. À retenir"),
    "prerequisites and duration on one line": _edit(0, "aucun.\n\n**Durée", "aucun.\n**Durée"),
    "duration written otherwise": _edit(0, "1 h 30", "1h30"),
    "duration not the manifest's": _edit(0, "1 h 30", "2 h"),
    "title without its number": _edit(0, "# 99 — ", "# "),
    "no further reading": _delete(14),
    "further reading before the takeaways": _edit(13, "## À retenir", "## Pour aller plus loin"),
    "takeaways after the further reading": _edit(14, "## Pour aller plus loin", "## À retenir"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_skeleton_catches_a_broken_notebook(name):
    nb = copy.deepcopy(_good())
    BROKEN[name](nb)
    assert skeleton_problems(nb, "99", "1 h 30"), f"'{name}' was not caught"


def test_skeleton_catches_a_badly_written_manifest_duration():
    nb = _good()
    nb["cells"][0]["source"] = nb["cells"][0]["source"].replace("1 h 30", "90 minutes")
    assert any("manifest duration" in p for p in skeleton_problems(nb, "99", "90 minutes"))


def test_skeleton_notebook_00_has_no_comparison():
    nb = _good()
    del nb["cells"][5:7]
    for i, (old, new) in {7: ("## 3.", "## 2."), 11: ("## 4.", "## 3.")}.items():
        nb["cells"][i - 2]["source"] = nb["cells"][i - 2]["source"].replace(old, new)
    nb["cells"][0]["source"] = nb["cells"][0]["source"].replace("# 99", "# 00")
    assert skeleton_problems(nb, "00", "1 h 30") == []
    assert skeleton_problems(nb, "99", "1 h 30"), "a notebook with a model must compare with published results"
