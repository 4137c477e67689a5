"""The teacher's front matter: syllabus, glossary, bibliography (scripts/teaching_kit.py and their data).

* the syllabus (``[syllabus.NN]`` and ``[plans.NAME]`` in course_utils/manifest.toml) covers every notebook,
  has no cycle, and its term plans never schedule a notebook before one it builds on;
* README.md's syllabus section is the generated one;
* every notebook is up to date with the kit: its prerequisites paragraph is generated from the syllabus, its
  prose uses the glossary's terms (no banned variant: "significance", "Cherenkov", "réjection", "batch" in
  French prose, "lot" for anything but a batch…), and it ends with the generated "Pour aller plus loin";
* the bibliography holds every arXiv paper the notebooks cite, and every reference the notebooks recommend.

``test_*_catches_*`` show the checks failing on small synthetic inputs.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

from course_utils import manifest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.fixture(scope="module")
def kit():
    spec = importlib.util.spec_from_file_location("teaching_kit", ROOT / "scripts" / "teaching_kit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["teaching_kit"] = module   # its dataclass needs its module registered
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------- syllabus
def test_every_notebook_has_a_syllabus_entry():
    missing = sorted(set(manifest.notebooks()) - set(manifest.syllabus()))
    assert not missing, f"notebooks {missing} have no [syllabus.NN] table in course_utils/manifest.toml"


def test_recommended_order_follows_the_dependencies():
    order = manifest.recommended_order()
    for key, entry in manifest.syllabus().items():
        for dep in entry.builds_on:
            assert order.index(dep) < order.index(key), (key, dep)
    assert order.index("03b") < order.index("02"), "02 assumes a first network, which 03b introduces"


def test_plans_respect_the_dependencies():
    plans = manifest.plans()
    assert len(plans) >= 2
    for plan in plans.values():
        listed = [k for session in plan.sessions for k in session]
        assert len(listed) == len(set(listed)), f"{plan.name}: a notebook is scheduled twice"


def _data() -> dict:
    return tomllib.loads((ROOT / "course_utils" / "manifest.toml").read_text(encoding="utf-8"))


def test_syllabus_catches_a_cycle():
    data = copy.deepcopy(_data())
    data["syllabus"]["03a"]["builds_on"]["02"] = "a cycle: 02 -> 03b -> 03a -> 02"
    with pytest.raises(ValueError, match="cycle"):
        manifest._parse_syllabus(data)


def test_syllabus_catches_an_unknown_prerequisite():
    data = copy.deepcopy(_data())
    data["syllabus"]["02"]["builds_on"]["99"] = "nothing"
    with pytest.raises(ValueError, match="99"):
        manifest._parse_syllabus(data)


def test_plans_catch_a_notebook_before_its_prerequisite(monkeypatch):
    data = copy.deepcopy(_data())
    data["plans"]["master"]["sessions"][3], data["plans"]["master"]["sessions"][2] = \
        data["plans"]["master"]["sessions"][2], data["plans"]["master"]["sessions"][3]   # 02 before 03b
    monkeypatch.setattr(manifest, "_default_data", lambda: data)
    with pytest.raises(ValueError, match="before"):
        manifest.plans()


def test_readme_syllabus_is_generated(kit):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert kit.render_readme(text) == text, "README.md's syllabus is out of date: python scripts/teaching_kit.py --readme"
    assert "```mermaid" in text


def test_prerequisites_say_the_real_order(kit):
    text = kit.prerequisites("02")
    assert "03b" in text and "malgré son numéro" in text
    assert "malgré" not in kit.prerequisites("03b")


# ------------------------------------------------------------------------------------ notebooks up to date
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_up_to_date_with_the_kit(kit, path):
    """Prerequisites from the syllabus, the glossary's terms, "Pour aller plus loin" last."""
    changes = kit.process([path], write=False)
    assert not changes, (f"{changes}\nrun: python scripts/teaching_kit.py notebooks/{path.name} "
                         "(then check the diff: a replaced word may need its sentence re-read)")


# --------------------------------------------------------------------------------------------- glossary
def test_glossary_is_well_formed(kit):
    data = kit.glossary()
    terms = data["term"]
    assert len(terms) >= 40
    keys = set(manifest.syllabus())
    for t in terms:
        assert set(t) == {"fr", "en", "definition", "notebook"}, t
        assert t["notebook"] in keys, t
    fr = [t["fr"] for t in terms]
    assert len(fr) == len(set(fr)), "a French term twice"
    named = set(fr)
    for v in data["variant"]:
        assert v["term"] in named, f"variant of {v['term']!r}, which is not a glossary term"
        re.compile(v["pattern"])


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": text, "outputs": [], "execution_count": None}


CAUGHT = {  # prose -> the fixed prose
    "la significance d'Asimov": "la significativité d'Asimov",
    "Un télescope Cherenkov et la lumière Čerenkov": "Un télescope Tcherenkov et la lumière Tcherenkov",
    "La réjection du bruit de fond": "Le rejet du bruit de fond",
    "et de la **réjection** mesurée": "et du **rejet** mesuré",
    "une réjection infinie": "un rejet infini",
    "l'efficacité du signal": "l'efficacité de signal",
    "on choisit sur le lot de validation, on rapporte sur le lot\nde test": (
        "on choisit sur le jeu de validation, on rapporte sur le jeu\nde test"),
    "en trois lots : entraînement, validation, test": "en trois jeux : entraînement, validation, test",
    "chaque batch de 256 exemples": "chaque lot de 256 exemples",
    "les hyper-paramètres": "les hyperparamètres",
}
KEPT = [  # allowed: code, links, glosses, proper names, lots that are batches
    "la taille de lot (`batch_size`)", "un lot (*batch*)", "le Cherenkov Telescope Array",
    "[lien](https://example.org/significance)", "100 lots d'entraînement par époque", "un mini-lot",
    "le nombre de lots de validation",
]


@pytest.mark.parametrize("prose", CAUGHT)
def test_glossary_catches_and_fixes_a_variant(kit, prose):
    cell = _md(prose)
    assert kit.fix_prose(copy.deepcopy(cell), fix=False), f"{prose!r}: not caught"
    kit.fix_prose(cell)
    assert cell["source"] == CAUGHT[prose]
    assert not kit.fix_prose(copy.deepcopy(cell), fix=False), "the fix is not idempotent"


@pytest.mark.parametrize("prose", KEPT)
def test_glossary_keeps_allowed_uses(kit, prose):
    assert not kit.fix_prose(_md(prose), fix=False), prose


def test_glossary_reads_french_strings_only_in_code(kit):
    cell = _code('x = df["significance"]\n'
                 'def f():\n    """Asimov significance of the cut."""\n'
                 'print(f"la significance vaut {x}")\n')
    found = kit.fix_prose(cell)
    assert found == ["significance"]
    assert 'df["significance"]' in cell["source"] and "Asimov significance of" in cell["source"]
    assert 'f"la significativité vaut {x}"' in cell["source"]


# ------------------------------------------------------------------------------------------ bibliography
def test_bibliography_has_every_cited_arxiv_paper(kit):
    eprints = {e.get("eprint") for e in kit.bib_entries().values()}
    missing = {}
    for path in NOTEBOOKS:
        text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"])
        for found in re.findall(r"arXiv:\s?(\d{4}\.\d{4,5})", text):
            if found not in eprints:
                missing.setdefault(found, []).append(path.name)
    assert not missing, f"cited in the notebooks but not in docs/references.bib: {missing}"


def test_further_reading_cites_the_bibliography(kit):
    data = tomllib.loads(kit.FURTHER.read_text(encoding="utf-8"))
    keys = set(kit.bib_entries())
    assert set(data) <= set(manifest.syllabus())
    for nb, entry in data.items():
        for item in entry["read"]:
            assert item["cite"] in keys, (nb, item["cite"])
            assert item["why"].strip()
    assert set(manifest.notebooks()) <= set(data), "a notebook without references to read next"


# --------------------------------------------------------------------------------------------- licences
def test_one_licence_for_the_course_content_and_simulations():
    """MIT for the code, CC BY 4.0 for the content and the simulated data, one string for every simulation."""
    from course_utils.datasets._registry import SIMULATION_LICENCE

    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    content = (ROOT / "LICENSE-CONTENT.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in content and "creativecommons.org/licenses/by/4.0" in content
    assert SIMULATION_LICENCE.startswith("CC BY 4.0")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "LICENSE-CONTENT.md" in readme and "(LICENSE)" in readme
    assert SIMULATION_LICENCE in (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "course_utils" / "datasets").glob("*/simulation.py")):
        text = path.read_text(encoding="utf-8")
        assert "SIMULATION_LICENCE" in text, f"{path.parent.name}: a simulation without the course's licence"
        assert not re.search(r"licen[cs]e\s*=\s*[\"']", text), f"{path.parent.name}: a licence written by hand"
