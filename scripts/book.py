"""`make book`: the course as a website (Jupyter Book 1, Sphinx), from the executed notebooks.

Usage: python scripts/book.py [--mode fast|full] [--no-execute] [notebooks...]

1. Executed notebooks: an executed copy is reused when it is newer than its source
   and was run in the same mode (``make course`` writes full-mode copies to
   ``build/``, ``make test`` writes fast-mode copies to ``build/executed/fast/``);
   otherwise the notebook is executed here (``--no-execute`` refuses to).
2. ``build/book-src/`` is assembled: home page from the README, the data
   catalogue, the results table, the notebooks in order, ``_config.yml`` and
   ``_toc.yml`` with the Binder/Colab launch buttons derived from the one
   repository URL (``[project.urls] Repository`` in pyproject.toml).
3. ``jupyter-book build -W`` (warnings are errors) writes ``build/book/_build/html``.

Why Jupyter Book 1 and not 2: version 2 (mystmd) downloads its site theme from
api.mystmd.org at build time, and the course must build its site offline. Version 1
is pure Python (Sphinx + sphinx-book-theme) and builds without any network.
What the pages load at view time: nothing from the network. MathJax 3 is
served from the site itself (copied from the ``django-static-mathjax`` wheel)
and plotly.js is served from the site too (copied from the plotly package), loaded by the pages that have
plotly figures.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _nbrun import ROOT, execute  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
PLOTLY_MATHJAX_CDN = re.compile(r'<script src="https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^"]*"></script>')


def repository_url() -> str:
    """The one repository URL setting of the course."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["urls"]["Repository"]


def executed_copy(nb: Path, mode: str, build: Path, allow_execute: bool) -> Path:
    """An executed copy of ``nb`` in ``mode``, reused when fresh, else executed now."""
    candidates = [build / "executed" / mode / nb.name]
    if mode == "full":
        candidates.insert(0, build / nb.name)  # make course's copies
    for path in candidates:
        if path.is_file() and path.stat().st_mtime >= nb.stat().st_mtime:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
            if meta.get("course", {}).get("mode") == mode:
                shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                print(f"    {nb.name}: reusing {shown}", flush=True)
                return path
    if not allow_execute:
        raise SystemExit(f"{nb.name}: no fresh executed copy in {mode} mode and --no-execute was given")
    out_dir = build / "executed" / mode
    env_fast = os.environ.get("COURSE_FAST")
    os.environ["COURSE_FAST"] = "1" if mode == "fast" else "0"
    try:
        seconds = execute(nb, out_dir)
    finally:
        if env_fast is None:
            os.environ.pop("COURSE_FAST", None)
        else:
            os.environ["COURSE_FAST"] = env_fast
    print(f"    {nb.name}: executed in {seconds:.0f} s", flush=True)
    return out_dir / nb.name


BADGES = {  # the launch badges, drawn locally so that a page needs no network to show them
    "https://colab.research.google.com/assets/colab-badge.svg": ("colab-badge.svg", "Ouvrir dans Colab", "#f9ab00"),
    "https://mybinder.org/badge_logo.svg": ("binder-badge.svg", "Lancer sur Binder", "#579aca"),
}


def badge_svg(text: str, colour: str) -> str:
    width = 8 + 7 * len(text)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{text}">'
            f'<rect width="{width}" height="20" rx="3" fill="{colour}"/>'
            f'<text x="{width / 2}" y="14" fill="#fff" font-family="Verdana,sans-serif" font-size="11" '
            f'text-anchor="middle">{text}</text></svg>')


def local_badges(text: str, prefix: str) -> str:
    for url, (name, _, _) in BADGES.items():
        text = text.replace(url, f"{prefix}badges/{name}")
    return text


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def widget_text(model_id: str, state: dict) -> str | None:
    """The final state of a tqdm progress bar widget, as tqdm prints it in a terminal."""
    box = state.get(model_id, {}).get("state", {})
    children = [c.removeprefix("IPY_MODEL_") for c in box.get("children", [])]
    if len(children) != 3:
        return None
    left, bar, right = (state.get(c, {}).get("state", {}) for c in children)
    value, maximum = bar.get("value"), bar.get("max")
    filled = int(10 * value / maximum) if value is not None and maximum else 0
    strip = re.compile(r"<[^>]+>")
    return html.unescape(f"{strip.sub('', left.get('value', ''))}|{'█' * filled}{' ' * (10 - filled)}|"
                         f"{strip.sub('', right.get('value', ''))}")


#: The cell metadata that folds a cell in Jupyter (``jupyter.source_hidden``) or on the site (tags).
FOLD_TAGS = frozenset({"hide-input", "hide-cell"})
ANSWER_SUMMARY = "Réponse"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1", re.M | re.S)
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)", re.M)


def is_folded(cell: dict) -> bool:
    """Whether a notebook cell is folded: ``jupyter.source_hidden`` set, or a ``hide-input``/``hide-cell`` tag."""
    meta = cell.get("metadata", {})
    return bool(meta.get("jupyter", {}).get("source_hidden")) or bool(FOLD_TAGS & set(meta.get("tags", [])))


def fold_markdown(cell: dict, summary: str = ANSWER_SUMMARY) -> dict:
    """A folded markdown cell (an exercise's answer) as a folded ``<details>`` block on the site.

    MyST-NB folds code cells by their tags but ignores the tags of markdown cells, so the
    answer under a folded solution would show unfolded on the page. Its text is wrapped in
    ``<details><summary>Réponse</summary> … </details>``; the blank lines around it keep the
    text Markdown (math, emphasis, code) for MyST and for Jupyter alike. Other cells are
    returned unchanged.

    Parameters
    ----------
    cell : dict
        A notebook cell (nbformat 4, as JSON): ``cell_type``, ``metadata``, ``source``
        (a string or a list of lines).
    summary : str
        The text of the fold's handle.

    Returns
    -------
    dict
        A new cell; the input is not modified.

    Raises
    ------
    ValueError
        If a folded markdown cell holds a heading: a section cannot start inside a fold
        (the heading belongs in a cell of its own, above the answer).
    """
    if cell.get("cell_type") != "markdown" or not is_folded(cell):
        return cell
    text = _text(cell.get("source", "")).strip()
    if _HEADING.search(_FENCE.sub("", text)):
        raise ValueError(f"folded markdown cell {cell.get('id', '?')!r} holds a heading: a section cannot "
                         "start inside a fold; put the heading in a cell of its own above the answer")
    folded = f"<details>\n<summary>{html.escape(summary)}</summary>\n\n{text}\n\n</details>"
    return {**cell, "source": folded}


_FIGURE_TEXT = re.compile(
    r"""(?P<kw>set_title|suptitle|set_xlabel|set_ylabel|\btitle|\bxlabel|\bylabel|xaxis_title|yaxis_title)"""
    r"""\s*[(=]\s*f?(["'])((?:(?!\2).)+)\2""")
_TITLES = ("set_title", "suptitle", "title")


_GREEK = {"varepsilon": "ε", "epsilon": "ε", "sigma": "σ", "lambda": "λ", "eta": "η", "phi": "φ", "Delta": "Δ",
          "sqrt": "√", "tau": "τ", "beta": "β", "alpha": "α", "pi": "π", "mu": "μ", "chi": "χ", "gamma": "γ"}


def _plain(text: str) -> str:
    """Figure text without f-string fields, LaTeX commands or Markdown markup, on one line."""
    text = text.replace("\\\\", "\\")   # the source of a string literal: \\sqrt is \sqrt
    text = re.sub(r"\\([a-zA-Z]+)", lambda m: _GREEK.get(m.group(1), ""), text).replace("$", "")
    text = re.sub(r"\{([^{}]*)\}", lambda m: m.group(1) if re.fullmatch(r"\w{1,3}", m.group(1)) else "…", text)
    text = re.sub(r"[{}*`#]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", text)
    return " ".join(text.split())


def _source_texts(source: str) -> tuple[list[str], list[str]]:
    """(titles, axis labels) that a code cell's source writes as string literals."""
    titles, axes = [], []
    for m in _FIGURE_TEXT.finditer(source):
        text = _plain(m.group(3))
        letters = len(re.findall(r"[^\W\d_]", text))
        if letters < 6 or ("…" in text and letters < 15) or text in titles or text in axes:
            continue  # mostly computed (an f-string's fields): it says nothing without its values
        (titles if m.group("kw") in _TITLES else axes).append(text)
    return titles, axes


def _describe(titles: list[str], axes: list[str], context: str, kind: str = "Figure") -> tuple[str, str]:
    """(alt text, caption) from titles and axis labels; without titles, the last sentence of ``context``."""
    prose = re.sub(r"^#+ .*$", "", context, flags=re.M).strip()
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", prose) if s.strip()]
    sentence = _plain(sentences[-1]).rstrip(" :") if sentences else ""   # the text just above: what it shows
    if len(sentence) > 200:
        sentence = sentence[:200].rsplit(" ", 1)[0] + " …"
    caption = " ; ".join(titles) or sentence or "Figure produite par la cellule ci-dessus."
    alt = f"{kind} : " + " ; ".join(titles or [sentence or "sortie graphique de la cellule"])
    if axes:
        alt += " (axes : " + ", ".join(axes) + ")"
    return alt, caption


def figure_description(source: str, context: str) -> tuple[str, str]:
    """(alt text, caption) of the figures a code cell draws, from its titles and axis labels.

    The titles (``set_title``, ``suptitle``, ``title=``) make the caption, titles and axis labels the alt
    text; a cell without them is described by the last sentence of the markdown cell above it.
    """
    return _describe(*_source_texts(source), context)


def _layout_text(value) -> str:
    """A plotly title (a string, or a dict with ``text``) as plain text: no HTML tags, no LaTeX."""
    text = value.get("text", "") if isinstance(value, dict) else value or ""
    text = re.sub(r"<br\s*/?>", " ", str(text), flags=re.I)
    return _plain(html.unescape(re.sub(r"<[^>]+>", "", text)))


#: What the alt text calls a plotly trace type (the legend's names follow it).
_TRACE_KINDS = {"scatter": "courbes ou points", "scattergl": "courbes ou points", "bar": "barres",
                "scatter3d": "points en 3D", "histogram": "histogrammes", "heatmap": "carte de couleurs"}
_MAX_SERIES = 8


def _trace_kind(trace: dict) -> str:
    kind = trace.get("type", "scatter")
    mode = trace.get("mode", "")
    if kind in ("scatter", "scattergl") and "lines" in mode and "markers" not in mode:
        return "courbes"
    if kind in ("scatter", "scattergl") and "markers" in mode and "lines" not in mode:
        return "points"
    return _TRACE_KINDS.get(kind, kind)


def plotly_description(fig: dict, source: str, context: str) -> tuple[str, str]:
    """(alt text, caption) of a plotly figure: the rules of :func:`figure_description`, read from the figure.

    The title and the axis titles come from the figure's layout (``title``, ``xaxis*``/``yaxis*``,
    ``scene*.{x,y,z}axis``), so computed values are there as drawn; what the layout lacks comes from the
    cell's source, then from the markdown above, as for matplotlib. The alt text ends with the kind of
    traces and the legend's series (up to eight), which a sighted reader reads on the figure.

    Parameters
    ----------
    fig : dict
        The figure as plotly's JSON (``application/vnd.plotly.v1+json``): ``data`` and ``layout``.
    source : str
        The code cell that drew it.
    context : str
        The markdown cell above the code cell.

    Returns
    -------
    tuple of str
        The alt text ("Figure interactive : …") and the caption.
    """
    layout = fig.get("layout") or {}
    titles = [t for t in [_layout_text(layout.get("title"))] if t]
    axes: list[str] = []
    for key in sorted(layout):
        if re.fullmatch(r"[xy]axis\d*", key):
            axes.append(_layout_text((layout[key] or {}).get("title")))
        elif re.fullmatch(r"scene\d*", key):
            axes += [_layout_text(((layout[key] or {}).get(f"{a}axis") or {}).get("title")) for a in "xyz"]
    axes = list(dict.fromkeys(a for a in axes if a))
    src_titles, src_axes = _source_texts(source)
    alt, caption = _describe(titles or src_titles, axes or src_axes, context, kind="Figure interactive")
    traces = [t for t in fig.get("data") or [] if isinstance(t, dict)]
    kinds = " et ".join(dict.fromkeys(_trace_kind(t) for t in traces))
    names = list(dict.fromkeys(n for n in (_layout_text(t.get("name")) for t in traces) if n))
    if names:
        alt += f" ; {kinds} : " + ", ".join(names[:_MAX_SERIES]) + (", …" if len(names) > _MAX_SERIES else "")
    elif kinds:
        alt += f" ; {kinds}"
    return alt, caption


def plotly_figure_html(fig: dict, alt: str, caption: str, *, plotlyjs: str | bool) -> str:
    """The HTML of a plotly figure on the site: interactive, fitted to its column, described.

    The figure is drawn responsive (its layout's fixed ``width`` is dropped, so that it follows the page's
    column instead of overflowing it; its height stays). Its drawing area (the ``plotly-graph-div``) is an
    image for assistive technologies (``role="img"``, ``aria-label``: the alt text); the whole sits in a
    ``<figure>`` with the caption, as the notebooks' other figures do. Mouse interaction is unchanged.
    """
    import plotly.io as pio

    fig = {**fig, "layout": {k: v for k, v in (fig.get("layout") or {}).items() if k != "width"}}
    div = pio.to_html(fig, include_plotlyjs=plotlyjs, include_mathjax=False, full_html=False,
                      default_width="100%", config={"responsive": True})
    div = div.replace('class="plotly-graph-div"',
                      f'class="plotly-graph-div" role="img" aria-label="{html.escape(alt, quote=True)}"', 1)
    return (f'<figure class="plotly-figure">\n{div}\n'
            f"<figcaption>{html.escape(caption)}</figcaption>\n</figure>")


def describe_figures(cell: dict, context: str) -> None:
    """Give a code cell's image outputs an alt text and a caption (MyST-NB's ``mystnb`` cell metadata)."""
    if not any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
        return
    alt, caption = figure_description(_text(cell.get("source", "")), context)
    meta = cell.setdefault("metadata", {}).setdefault("mystnb", {})
    meta.setdefault("image", {}).setdefault("alt", alt)
    meta.setdefault("figure", {}).setdefault("caption", caption)


def clean_notebook(src: Path, dest: Path) -> bool:
    """Copy an executed notebook for the site, so that its page needs no network at view time.

    * plotly figures (``application/vnd.plotly.v1+json``) become HTML that draws them with
      the site's own copy of plotly.js, fitted to the column, with alt text and a caption
      (:func:`plotly_figure_html`); the CDN MathJax script plotly adds is removed;
    * progress-bar widgets become their final text (the widget view would need require.js
      and the widget manager from a CDN);
    * the Colab/Binder badge images point at local copies;
    * folded markdown cells (the answers under folded solutions) are folded on the page too
      (:func:`fold_markdown`).

    Returns whether the notebook has plotly figures.
    """
    nb = json.loads(src.read_text(encoding="utf-8"))
    widgets = nb.get("metadata", {}).pop("widgets", {})
    state = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    has_plotly = False
    nb["cells"] = [fold_markdown(cell) for cell in nb.get("cells", [])]
    previous_text = ""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = local_badges(_text(cell["source"]), "../")
            previous_text = _text(cell["source"])
        if cell["cell_type"] != "code":
            continue
        describe_figures(cell, previous_text)
        # plotly's notebook renderer embeds plotly.js in an output of its own: the site serves one copy
        cell["outputs"] = [out for out in cell.get("outputs", []) if not (
            "window.PlotlyConfig" in _text(out.get("data", {}).get("text/html", ""))
            and "plotly-graph-div" not in _text(out.get("data", {}).get("text/html", "")))]
        for out in cell["outputs"]:
            data = out.get("data", {})
            view = data.pop("application/vnd.jupyter.widget-view+json", None)
            if view is not None:
                text = widget_text(view.get("model_id", ""), state)
                if text:
                    data["text/plain"] = text
            fig = data.pop("application/vnd.plotly.v1+json", None)
            if fig is not None:
                alt, caption = plotly_description(fig, _text(cell.get("source", "")), previous_text)
                data["text/html"] = plotly_figure_html(fig, alt, caption,
                                                       plotlyjs="../plotly.min.js" if not has_plotly else False)
                has_plotly = True
            elif "text/html" in data:
                data["text/html"] = PLOTLY_MATHJAX_CDN.sub("", _text(data["text/html"]))
    dest.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return has_plotly


def notebook_title(nb: Path) -> str:
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0]
    return first.lstrip("# ").strip()


def home_page(readme: str, built: set[str], url: str) -> str:
    """The README as the site's home page: links to files become links to pages.

    A notebook left out of this build (``make book`` on a subset) is linked on GitHub.
    """
    text = local_badges(readme.replace("](data/README.md)", "](donnees.md)"), "")

    def link(m: re.Match) -> str:
        name = m.group(1)
        return m.group(0) if name in built else f"]({url}/blob/main/notebooks/{name})"

    text = re.sub(r"\]\((LICENSE[^)]*)\)", lambda m: f"]({url}/blob/main/{m.group(1)})", text)
    # the README's syllabus (a Mermaid graph for GitHub) is a page of its own on the site, with a drawn graph
    text = re.sub(r"<!-- syllabus:start -->.*?<!-- syllabus:end -->",
                  "Le programme du cours (ordre recommandé, prérequis, carte des dépendances, exemples de plans) est "
                  "sur la page [Programme du cours](programme.md).", text, flags=re.S)
    return re.sub(r"\]\(notebooks/([^)#]+\.ipynb)\)", link, text)


#: The licences, in every page's footer (LICENSE, LICENSE-CONTENT.md).
FOOTER_LICENCE = ("Texte, figures et données simulées : licence CC BY 4.0 ; code : licence MIT "
                  "(fichiers LICENSE-CONTENT.md et LICENSE du dépôt).")

#: The search box's placeholder (sphinx-book-theme's default is English whatever the language).
SEARCH_TEXT = "Rechercher dans le cours…"

#: The site's own style: nothing wider than the column. Tables and code blocks (cells' code and outputs) scroll
#: inside it, long cells wrap, long words of the prose (URLs, inline code) break rather than push the page
#: sideways on a narrow screen; plotly figures follow the column (scripts/book.py drops their fixed width).
CSS = """\
.bd-article { overflow-wrap: break-word; }
.bd-article table { display: block; max-width: 100%; overflow-x: auto; }
.bd-article table td, .bd-article table th { white-space: normal; overflow-wrap: break-word; }
.bd-article table td img { display: inline-block; margin: 1px 0; }
.bd-article code.literal, .bd-article code.literal span.pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.bd-article pre { max-width: 100%; overflow-x: auto; }
.bd-article div.cell_output { max-width: 100%; overflow-x: auto; }
.bd-article figure figcaption { font-size: 0.9em; }
.bd-article figure.plotly-figure { margin: 0.5em 0 1em; max-width: 100%; }
"""


def config_yaml(url: str, mode: str) -> str:
    slug = url.removeprefix("https://github.com/")
    return f"""# Written by scripts/book.py: edit the script, not this file.
title: "Apprentissage automatique pour la physique des particules et la science"
author: "Les auteurs du cours"
copyright: "2026"
language: fr
only_build_toc_files: true
execute:
  execute_notebooks: "off"
html:
  use_repository_button: true
  use_issues_button: false
  use_edit_page_button: false
  home_page_in_navbar: true
  extra_footer: "Notebooks exécutés en mode {'rapide' if mode == 'fast' else 'complet'} ; chaque nombre a été calculé à la construction du site. {FOOTER_LICENCE}"
repository:
  url: {url}
  branch: main
  path_to_book: ""
launch_buttons:
  notebook_interface: jupyterlab
  binderhub_url: "https://mybinder.org"
  colab_url: "https://colab.research.google.com"
parse:
  myst_enable_extensions: [dollarmath, amsmath, colon_fence, html_image]
bibtex_bibfiles: [references.bib]
sphinx:
  config:
    language: fr                       # <html lang="fr">, the theme's French strings, French search stemming
    html_static_path: ["_static"]
    html_css_files: ["cours.css"]
    html_search_language: fr
    bibtex_default_style: plain
    bibtex_reference_style: author_year
    html_show_copyright: false
    mathjax_path: "../mathjax/tex-chtml.js"
    html_extra_path: ["_extra"]
    html_favicon: "_extra/favicon.svg"
    suppress_warnings: ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]
    nb_merge_streams: true
    nb_code_prompt_show: "Afficher la solution"
    nb_code_prompt_hide: "Masquer la solution"
# {slug}
"""


def toc_yaml(notebooks: list[Path]) -> str:
    lines = ["# Written by scripts/book.py.", "format: jb-book", "root: index", "parts:",
             "  - caption: Les notebooks", "    chapters:"]
    lines += [f"      - file: notebooks/{nb.stem}" for nb in notebooks]
    lines += ["  - caption: Pour les enseignants", "    chapters:", "      - file: programme", "      - file: glossaire",
              "      - file: bibliographie"]
    lines += ["  - caption: Référence", "    chapters:", "      - file: donnees", "      - file: resultats"]
    return "\n".join(lines) + "\n"


def _kit():
    import teaching_kit

    return teaching_kit


def syllabus_page(dest: Path) -> str:
    """The syllabus, its dependency graph drawn into ``dest`` (a PNG beside the page)."""
    kit = _kit()
    alt = kit.dependency_figure(dest / "programme-dependances.png")
    figure = (f"```{{figure}} programme-dependances.png\n:alt: {alt}\n\nLes notebooks du cours et leurs dépendances "
              "(en orange : en cours d'écriture).\n```")
    return kit.syllabus_markdown(figure=figure)


def glossary_page() -> str:
    """The glossary as a Sphinx glossary: each term also fills the site's index."""
    terms = sorted(_kit().glossary()["term"], key=lambda t: t["fr"].lower())
    lines = ["# Glossaire", "",
             "Les termes du cours, en français et en anglais, avec le notebook où chacun est introduit "
             "(`docs/glossaire.toml`). Les notebooks n'emploient qu'un terme pour une chose : un test échoue sur "
             "les variantes proscrites (« significance » pour significativité, « Cherenkov » pour Tcherenkov, "
             "« lot » pour autre chose qu'un lot d'exemples…). Chaque terme figure aussi dans "
             "l'{ref}`index <genindex>`.", "", "```{glossary}"]
    for term in terms:
        lines += [term["fr"], f"  *{term['en']}* — {term['definition']} (introduit dans le notebook {term['notebook']})",
                  ""]
    lines.append("```")
    return "\n".join(lines) + "\n"


def bibliography_page() -> str:
    return ("# Bibliographie\n\nLes articles et les jeux de données que citent les notebooks (`docs/references.bib`) ; "
            "chaque notebook finit par une section « Pour aller plus loin » qui en choisit quelques-uns.\n\n"
            "```{bibliography}\n:all:\n```\n")


def results_page(build: Path) -> str:
    from course_utils import report

    results = report.load_results(build / "results.json")
    table = report.results_table(results) if results else "*Aucun résultat enregistré : lancez `make course`.*"
    return ("# Résultats du cours\n\nLes métriques que chaque notebook a enregistrées (`report.record`) lors de "
            "l'exécution qui a construit ce site, à côté des valeurs publiées et de leur source.\n\n" + table + "\n")


def mathjax_static(dest: Path) -> None:
    """MathJax 3 (es5 build), served by the site itself (from the ``django-static-mathjax`` wheel)."""
    import mathjax

    src = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (dest / "tex-chtml.js").is_file():
        shutil.copytree(src, dest, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("fast", "full"), default=os.environ.get("BOOK_MODE", "fast") or "fast")
    parser.add_argument("--no-execute", action="store_true", help="fail rather than execute a notebook")
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)

    build = Path(os.environ.get("COURSE_BUILD_DIR") or ROOT / "build")
    os.environ.setdefault("COURSE_BUILD_DIR", str(build))
    notebooks = [Path(p).resolve() for p in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    src = build / "book-src"
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    print(f"==> executed notebooks ({args.mode} mode)", flush=True)
    for nb in notebooks:
        clean_notebook(executed_copy(nb, args.mode, build, not args.no_execute), src / "notebooks" / nb.name)
    (src / "_extra").mkdir()
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", src / "_extra" / "plotly.min.js")
    (src / "_extra" / "favicon.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#579aca"/></svg>',
        encoding="utf-8")

    url = repository_url()
    (src / "_config.yml").write_text(config_yaml(url, args.mode), encoding="utf-8")
    (src / "_toc.yml").write_text(toc_yaml(notebooks), encoding="utf-8")
    (src / "index.md").write_text(home_page((ROOT / "README.md").read_text(encoding="utf-8"),
                                                  {nb.name for nb in notebooks}, url), encoding="utf-8")
    (src / "donnees.md").write_text((ROOT / "data" / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    (src / "resultats.md").write_text(results_page(build), encoding="utf-8")
    (src / "programme.md").write_text(syllabus_page(src), encoding="utf-8")
    (src / "glossaire.md").write_text(glossary_page(), encoding="utf-8")
    (src / "bibliographie.md").write_text(bibliography_page(), encoding="utf-8")
    shutil.copy(ROOT / "docs" / "references.bib", src / "references.bib")
    (src / "_static").mkdir()
    (src / "_static" / "cours.css").write_text(CSS, encoding="utf-8")
    mathjax_static(src / "_extra" / "mathjax")
    (src / "badges").mkdir()
    for name, text, colour in BADGES.values():
        (src / "badges" / name).write_text(badge_svg(text, colour), encoding="utf-8")

    # Jupyter Book writes the Sphinx configuration; Sphinx builds with warnings as errors.
    # sphinx-thebe (live code cells) is left out: it declares its settings twice on every
    # page (a JavaScript error) and would load thebe from a CDN; Binder and Colab buttons remain.
    bindir = Path(sys.executable).parent
    subprocess.run([str(bindir / "jupyter-book"), "config", "sphinx", str(src)], check=True, cwd=ROOT)
    with open(src / "conf.py", "a", encoding="utf-8") as f:
        f.write("\nextensions = [e for e in extensions if e != 'sphinx_thebe']\n"
                "html_context = {**globals().get('html_context', {}), 'default_mode': 'light'}  # an empty mode logs a console error\n"
                f"html_theme_options = {{**html_theme_options, 'search_bar_text': {SEARCH_TEXT!r}}}  # French\n")
    out = build / "book" / "_build" / "html"
    if out.exists():
        shutil.rmtree(out)
    print("==> sphinx-build (warnings are errors)", flush=True)
    res = subprocess.run([str(bindir / "sphinx-build"), "-b", "html", "-W", "-n", "--keep-going", "-q",
                          str(src), str(out)], cwd=ROOT)
    if res.returncode != 0:
        return res.returncode
    print(f"site: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
