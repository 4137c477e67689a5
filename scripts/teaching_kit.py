"""The teacher's front matter, generated from data written once: syllabus, glossary, bibliography.

Sources (each written once):

* ``course_utils/manifest.toml`` ``[syllabus.NN]`` and ``[plans.NAME]``: what each notebook builds on,
  assumes and introduces; example term plans (read through :mod:`course_utils.manifest`);
* ``docs/glossaire.toml``: the course's terms (French, English, definition, notebook where introduced) and
  the banned variants of its terms, with their fixes;
* ``docs/references.bib``: the papers and datasets the notebooks cite; ``docs/pour_aller_plus_loin.toml``:
  per notebook, the references to read next and why.

What it writes (idempotent: a second run changes nothing):

* in each notebook given: the title cell's ``**Prérequis :**`` paragraph (from the syllabus), the banned
  variants of the glossary's terms replaced in the prose (markdown cells, and the French text of code
  strings), and a last section ``## Pour aller plus loin`` after ``## À retenir``;
* in README.md: the syllabus between ``<!-- syllabus:start -->`` and ``<!-- syllabus:end -->``.

Usage::

    python scripts/teaching_kit.py notebooks/02_jet_tagging.ipynb ...   # fix these notebooks
    python scripts/teaching_kit.py --all                                 # every notebook
    python scripts/teaching_kit.py --readme                              # the README's syllabus
    python scripts/teaching_kit.py --check [notebooks...]                # exit 1 if anything is out of date

scripts/book.py renders the syllabus, glossary and bibliography pages from the same sources.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import textwrap
import tokenize
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's course_utils (its manifest)

from course_utils import manifest  # noqa: E402

DOCS = ROOT / "docs"
GLOSSARY = DOCS / "glossaire.toml"
BIBLIOGRAPHY = DOCS / "references.bib"
FURTHER = DOCS / "pour_aller_plus_loin.toml"
README_START, README_END = "<!-- syllabus:start -->", "<!-- syllabus:end -->"
PREREQ = "**Prérequis :** "
TAKEAWAYS = "## À retenir"
FURTHER_HEADING = "## Pour aller plus loin"
FURTHER_ID = "pour-aller-plus-loin"
NOTEBOOKS = ROOT / "notebooks"


# --------------------------------------------------------------------------------------------- syllabus
def _title(key: str) -> str:
    entries = manifest.notebooks()
    return entries[key].title if key in entries else "(en cours d'écriture)"


def _duration(key: str) -> str:
    entries = manifest.notebooks()
    return entries[key].duration if key in entries else "—"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes % 60 else f"{minutes // 60} h"


#: The milestones of the syllabus's "qui introduit quoi": (label, pattern searched in ``introduces``).
MILESTONES = (
    ("arbres de décision boostés", r"arbres.*boost"),
    ("premier réseau de neurones", r"réseau de neurones"),
    ("PyTorch", r"PyTorch"),
    ("Keras", r"Keras"),
    ("réseaux convolutifs", r"convolutif"),
    ("réseaux sur graphe", r"graphe \(|sur graphe"),
    ("modèles génératifs (VAE, GAN, flots)", r"autoencodeur variationnel"),
    ("attention et transformeurs", r"attention"),
    ("apprentissage par renforcement", r"renforcement"),
)


def prerequisites(key: str) -> str:
    """The title cell's prerequisites paragraph of notebook ``key``, from its ``[syllabus.NN]`` entry."""
    entry = manifest.syllabus()[key]
    order = manifest.recommended_order()
    parts = []
    deps = sorted(entry.builds_on, key=order.index)
    if deps:
        word = "notebook" if len(deps) == 1 else "notebooks"
        parts.append(f"{word} " + _join([f"{d} ({entry.builds_on[d]})" for d in deps]))
    if entry.maths:
        parts.append("mathématiques : " + ", ".join(entry.maths))
    if entry.ml:
        parts.append("apprentissage automatique : " + ", ".join(entry.ml))
    if entry.tools:
        parts.append("programmation : " + entry.tools)
    text = PREREQ + " ; ".join(parts) + "."
    later = [d for d in deps if d > key]
    if later:
        text += (f" Dans l'ordre recommandé du cours (voir le programme), ce notebook vient donc après "
                 f"{_join(later)}, malgré son numéro.")
    return textwrap.fill(text, width=112, break_long_words=False, break_on_hyphens=False)


def syllabus_markdown(*, figure: str | None = None, heading: str = "#") -> str:
    """The syllabus: the recommended order with prerequisites, the dependency graph, the term plans.

    ``figure``: a Markdown image of the graph (the site); ``None``: a Mermaid block (GitHub renders it).
    """
    h = heading
    entries = manifest.syllabus()
    order = list(entries)
    known = manifest.notebooks()
    total = sum(manifest.minutes(known[k].duration) for k in order if k in known)
    lines = [f"{h} Programme du cours", "",
             "Généré à partir du manifeste du cours (`course_utils/manifest.toml`, tables `[syllabus.NN]` et "
             "`[plans.NOM]`) par `python scripts/teaching_kit.py --readme` : chaque notebook y déclare une seule fois "
             "les notebooks sur lesquels il s'appuie, ce qu'il suppose connu et ce qu'il introduit. Les notebooks "
             "sont indépendants pour les **données** (aucun ne lit un fichier écrit par un autre), pas pour les "
             "**notions** : l'ordre recommandé ci-dessous place chaque notebook après ceux dont il dépend, et "
             "suit les numéros ailleurs. "
             f"En tout : {len([k for k in order if k in known])} notebooks publiés, environ {_hours(total)} de travail.",
             "", f"{h}# Ordre recommandé et prérequis", "",
             "| ordre | notebook | durée | s'appuie sur | suppose connu | introduit |", "|---|---|---|---|---|---|"]
    for rank, key in enumerate(order, 1):
        e = entries[key]
        deps = ", ".join(sorted(e.builds_on, key=order.index)) or "—"
        assumed = "; ".join([*e.maths, *e.ml, e.tools]) or "—"
        lines.append(f"| {rank} | **{key}** — {_title(key)} | {_duration(key)} | {deps} | {assumed} | "
                     f"{'; '.join(e.introduces)} |")
    lines += ["", f"{h}# Qui introduit quoi", "",
              "Le premier notebook, dans l'ordre recommandé, dont la colonne « introduit » nomme chacun des outils "
              "que les autres supposent connus :", ""]
    for label, pattern in MILESTONES:
        first = next((k for k in order if any(re.search(pattern, x, re.I) for x in entries[k].introduces)), None)
        lines.append(f"- {label} : " + (f"**{first}** — {_title(first)}" if first else "aucun notebook"))
    lines += ["", f"{h}# Carte des dépendances", "",
              "Une flèche va d'un notebook à celui qui s'appuie sur lui (le texte de chaque flèche est dans la "
              "colonne « s'appuie sur » et dans le paragraphe « Prérequis » de chaque notebook).", ""]
    if figure is not None:
        lines += [figure, ""]
    else:
        lines += ["```mermaid", "graph LR"]
        for key in order:
            lines.append(f'  n{key}["{key}"]')
        for key in order:
            for dep in sorted(entries[key].builds_on, key=order.index):
                lines.append(f"  n{dep} --> n{key}")
        lines += ["```", ""]
    lines += [f"{h}# Exemples de plans", ""]
    for plan in manifest.plans().values():
        lines += [f"**{plan.title}**", "", f"| {plan.session_name} | notebooks | durée |", "|---|---|---|"]
        for i, session in enumerate(plan.sessions, 1):
            minutes = sum(manifest.minutes(known[k].duration) for k in session if k in known)
            pending = [k for k in session if k not in known]
            note = f" (+ {', '.join(pending)} en cours d'écriture)" if pending else ""
            lines.append(f"| {i} | {', '.join(session)} | {_hours(minutes)}{note} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def dependency_figure(path: Path) -> str:
    """Draw the dependency graph (matplotlib, layered by depth) into ``path``; returns its alt text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = manifest.syllabus()
    depth: dict[str, int] = {}
    for key in entries:  # recommended order: every dependency is placed first
        depth[key] = 1 + max((depth[d] for d in entries[key].builds_on), default=-1)
    layers: dict[int, list[str]] = {}
    for key in entries:
        layers.setdefault(depth[key], []).append(key)
    pos = {k: (d, -(i - (len(ks) - 1) / 2)) for d, ks in layers.items() for i, k in enumerate(ks)}
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for key, e in entries.items():
        for dep in e.builds_on:
            (x0, y0), (x1, y1) = pos[dep], pos[key]
            ax.annotate("", xy=(x1 - 0.17, y1), xytext=(x0 + 0.17, y0),
                        arrowprops={"arrowstyle": "->", "color": "0.45", "lw": 1})
    known = manifest.notebooks()
    for key, (x, y) in pos.items():
        ax.text(x, y, key, ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "round,pad=0.35", "fc": "#dbe9f6" if key in known else "#f6e7db", "ec": "0.3"})
    ax.set_xlim(-0.5, max(layers) + 0.5)
    ax.set_ylim(-max(len(v) for v in layers.values()) / 2 - 0.2, max(len(v) for v in layers.values()) / 2 + 0.2)
    ax.set_xlabel("profondeur dans le graphe (nombre de notebooks à suivre avant)")
    ax.set_xticks(range(max(layers) + 1))
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    edges = "; ".join(f"{k} s'appuie sur {_join(sorted(e.builds_on, key=list(entries).index))}"
                      for k, e in entries.items() if e.builds_on)
    return f"Graphe des dépendances entre notebooks : {edges}."


def readme_section() -> str:
    return syllabus_markdown(heading="##")


def render_readme(text: str) -> str:
    if README_START not in text or README_END not in text:
        raise ValueError(f"README.md lacks the markers {README_START} / {README_END}")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{readme_section()}{README_END}{tail}"


# --------------------------------------------------------------------------------------------- glossary
@dataclass(frozen=True)
class Rule:
    """A banned variant of a glossary term (a regular expression) and its replacement (``re.sub``)."""

    pattern: re.Pattern
    replacement: str
    term: str
    allowed: tuple[str, ...]  # phrases in which the variant is allowed (proper names)


@lru_cache(maxsize=1)
def glossary() -> dict:
    return tomllib.loads(GLOSSARY.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    out = []
    for entry in glossary()["variant"]:
        out.append(Rule(re.compile(entry["pattern"]), entry["replacement"], entry["term"],
                        tuple(entry.get("allowed", ()))))
    return tuple(out)


_CODE_SPAN = re.compile(r"`[^`\n]*`|\]\([^)]*\)|https?://\S+|\$[^$\n]*\$|<[^>\n]*>")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1", re.M | re.S)
_ITALIC_EN = re.compile(r"(?<!\*)\*[^*\n]+\*(?!\*)")  # *batch*: the English term given as a gloss


def _protected(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _CODE_SPAN.finditer(text)]
    spans += [m.span() for m in _ITALIC_EN.finditer(text)]
    spans += [m.span() for m in _FENCE.finditer(text)]
    return spans


def _apply(text: str, rule: Rule, *, fix: bool) -> tuple[str, list[str]]:
    """Replace (or only find) ``rule``'s variants in prose ``text``, outside code, links, math and glosses."""
    if not rule.pattern.search(text):
        return text, []
    protected = _protected(text)
    for phrase in rule.allowed:
        protected += [(m.start(), m.end()) for m in re.finditer(re.escape(phrase), text)]
    found, pieces, last = [], [], 0
    for m in rule.pattern.finditer(text):
        if any(a <= m.start() < b for a, b in protected):
            continue
        found.append(m.group(0))
        pieces += [text[last:m.start()], m.expand(rule.replacement)]
        last = m.end()
    pieces.append(text[last:])
    return ("".join(pieces) if fix else text), found


_FRENCH = re.compile(r"[éèàùâêîôûçœÉÀ]|\b(le|la|les|des|du|sur|pour|avec|une|est|sont)\b")
_ENGLISH = re.compile(r"\b(the|of|and|is|are|with|for|from|this|that|to|in)\b")


def _french_strings(source: str) -> list[tuple[int, int]]:
    """Character spans of the code's string literals (f-string text included) written in French."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    for tok in tokens:
        if tok.type != tokenize.STRING:
            continue
        text = tok.string
        body = text.lstrip("rRbBuUfF")
        if body.startswith(('"""', "'''")) or not _FRENCH.search(text) \
                or len(_ENGLISH.findall(text)) > len(_FRENCH.findall(text)):
            continue  # a docstring, a key ("significance"), English text
        a = starts[tok.start[0] - 1] + tok.start[1]
        b = starts[tok.end[0] - 1] + tok.end[1]
        spans.append((a, b))
    return spans


#: A quick filter: a code cell in which no rule can match is not tokenized.
_ANY_VARIANT = re.compile(r"(?i)signific|[cč]h?[ée]renkov|réjection|rejet|efficacit|batch|\blots?\b|hyper-")


def fix_prose(cell: dict, *, fix: bool = True) -> list[str]:
    """Replace the banned variants in a cell's prose; returns what was found (``fix=False``: only find)."""
    src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    found: list[str] = []
    if cell["cell_type"] == "markdown":
        for rule in rules():
            src, hits = _apply(src, rule, fix=fix)
            found += hits
    elif cell["cell_type"] == "code" and _ANY_VARIANT.search(src):
        pieces, last = [], 0
        for a, b in _french_strings(src):   # tokenized once; every rule on each French string
            new = src[a:b]
            for rule in rules():
                new, hits = _apply(new, rule, fix=fix)
                found += hits
            pieces += [src[last:a], new]
            last = b
        pieces.append(src[last:])
        src = "".join(pieces)
    if fix:
        cell["source"] = src
    return found


# ------------------------------------------------------------------------------------------ bibliography
@lru_cache(maxsize=1)
def bib_entries() -> dict[str, dict[str, str]]:
    """``key -> fields`` of docs/references.bib (pybtex, which sphinxcontrib-bibtex uses too)."""
    from pybtex.database import parse_file

    data = parse_file(str(BIBLIOGRAPHY))
    out = {}
    for key, entry in data.entries.items():
        fields = {k.lower(): str(v) for k, v in entry.fields.items()}
        authors = [_clean(" ".join(p.last_names)) for p in entry.persons.get("author", [])]
        more = "others" in authors   # BibTeX's "and others"
        authors = [a for a in authors if a != "others"]
        fields["authors"] = authors[0] + " et al." if more or len(authors) > 2 else " et ".join(authors)
        out[key] = fields
    return out


def _clean(text: str) -> str:
    return re.sub(r"[{}]", "", text).replace("\\&", "&").replace("--", "–")


def reference_line(key: str, why: str) -> str:
    e = bib_entries()[key]
    where = ", ".join(x for x in (_clean(e.get("journal", e.get("booktitle", e.get("howpublished", "")))),
                                  e.get("year", "")) if x)
    if "doi" in e:
        link = f"[doi:{e['doi']}](https://doi.org/{e['doi']})"
    elif "eprint" in e:
        link = f"[arXiv:{e['eprint']}](https://arxiv.org/abs/{e['eprint']})"
    else:
        link = f"<{e['url']}>" if "url" in e else ""
    return f"- {_clean(e['authors'])}, *{_clean(e['title'])}*, {where}, {link} — {why}".replace(", ,", ",")


def further_reading(key: str) -> str:
    items = tomllib.loads(FURTHER.read_text(encoding="utf-8")).get(key, {}).get("read", [])
    lines = [FURTHER_HEADING, "",
             "Les références de ce notebook, dans la bibliographie du cours (`docs/references.bib`, page "
             "« Bibliographie » du site) :", ""]
    lines += [reference_line(item["cite"], item["why"]) for item in items]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ notebooks
def _key(path: Path) -> str:
    return path.name.split("_", 1)[0]


def _src(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def update_notebook(nb: dict, key: str) -> list[str]:
    """Bring notebook ``nb`` (parsed JSON) up to date, in place; returns what changed, in words."""
    changes = []
    cells = nb["cells"]
    # the prerequisites paragraph
    if key in manifest.syllabus():
        title = _src(cells[0])
        paragraphs = re.split(r"(\n\s*\n)", title)
        for i, p in enumerate(paragraphs):
            if p.startswith(PREREQ):
                new = prerequisites(key)
                if p.strip() != new:
                    paragraphs[i] = new
                    changes.append("prerequisites")
                break
        cells[0]["source"] = "".join(paragraphs)
    # the glossary's terms
    for cell in cells:
        before = _src(cell)
        found = fix_prose(cell)
        if found and _src(cell) != before:
            changes.append(f"{len(found)} variant(s) in cell {cell.get('id')}: {sorted(set(found))}")
    # "Pour aller plus loin", after "À retenir"
    if tomllib.loads(FURTHER.read_text(encoding="utf-8")).get(key):
        text = further_reading(key)
        existing = [c for c in cells if c.get("id") == FURTHER_ID]
        if existing:
            if _src(existing[0]) != text:
                existing[0]["source"] = text
                changes.append("further reading updated")
            if cells[-1] is not existing[0]:
                cells.remove(existing[0])
                cells.append(existing[0])
                changes.append("further reading moved last")
        else:
            cells.append({"cell_type": "markdown", "id": FURTHER_ID, "metadata": {}, "source": text})
            changes.append("further reading added")
    return changes


def process(paths: list[Path], *, write: bool) -> list[str]:
    report = []
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        changes = update_notebook(nb, _key(path))
        if changes:
            report.append(f"{path.name}: " + "; ".join(changes))
            if write:
                for cell in nb["cells"]:  # as Jupyter writes them: the source as a list of lines
                    cell["source"] = _src(cell).splitlines(keepends=True)
                path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every notebook of notebooks/")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's syllabus section")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is out of date")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("[0-9]*.ipynb")) if args.all else [p.resolve() for p in args.notebooks]
    status = 0
    if args.readme or args.check:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        new = render_readme(text)
        if new != text:
            if args.check:
                print("README.md: the syllabus is out of date (python scripts/teaching_kit.py --readme)")
                status = 1
            else:
                readme.write_text(new, encoding="utf-8")
                print("README.md: syllabus rewritten")
    for line in process(paths, write=not args.check):
        print(line)
        status = 1 if args.check else status
    return status


if __name__ == "__main__":
    sys.exit(main())
