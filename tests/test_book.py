"""The course's website, checked in a real browser (headless Chromium driven by Playwright).

Run by ``make test-book`` after ``scripts/book.py`` has built the site; the unit
run deselects it (marker ``book``). A missing site or browser is a failure, not
a skip: this test exists to check that the site is there and works.

For every page: no JavaScript error and no failed request to the site itself;
internal links resolve; every notebook page shows its figures (as many images as
the executed notebook has PNG outputs), plotly figures are drawn and at least one
shows a tooltip on hover; exercises' solutions (code) and answers (markdown) are
folded, and an answer unfolds on a click; the Binder and Colab buttons point at the notebook's
path; the page is in French (``<html lang="fr">``); no table is wider than its column, and no element at all
(code cells included: their long lines scroll inside the cell) sticks out of the column, on a desktop and on a
phone's screen; every image has alt text, every plotly figure an accessible description (``role="img"`` and
``aria-label``), and every figure of a notebook a caption; a full-page screenshot goes to
``build/book-screenshots/``.
Once for the site: the search stems French, the glossary fills the index, the teachers' pages are there.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest

from course_utils.config import REPO_ROOT

pytestmark = pytest.mark.book

BUILD = Path(os.environ.get("COURSE_BUILD_DIR") or REPO_ROOT / "build")
SITE = BUILD / "book" / "_build" / "html"
SOURCES = BUILD / "book-src" / "notebooks"
SHOTS = BUILD / "book-screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


def _pages() -> list[str]:
    if not SITE.is_dir():
        return ["<site not built>"]
    skip = {"genindex.html", "search.html"}
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts and p.name not in skip)


def _expected_figures(page: str) -> tuple[int, int]:
    """(PNG images, plotly figures) in the executed notebook behind a page."""
    nb_path = SOURCES / Path(page).with_suffix(".ipynb").name
    if not page.startswith("notebooks/") or not nb_path.is_file():
        return 0, 0
    png = plotly = 0
    for cell in json.loads(nb_path.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            png += "image/png" in data
            html = data.get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            plotly += html.count('class="plotly-graph-div"')
    return png, plotly


def _expected_folds(page: str) -> tuple[int, int]:
    """(folded code cells, folded markdown cells) in the notebook behind a page: solutions and answers."""
    nb_path = SOURCES / Path(page).with_suffix(".ipynb").name
    if not page.startswith("notebooks/") or not nb_path.is_file():
        return 0, 0
    counts = {"code": 0, "markdown": 0}
    for cell in json.loads(nb_path.read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {})
        if meta.get("jupyter", {}).get("source_hidden") or {"hide-input", "hide-cell"} & set(meta.get("tags", [])):
            counts[cell["cell_type"]] = counts.get(cell["cell_type"], 0) + 1
    return counts["code"], counts["markdown"]


@pytest.fixture(scope="module")
def site_url():
    assert SITE.is_dir() and (SITE / "index.html").is_file(), f"no site in {SITE}: run `make book` first"
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).is_file(), "Chromium is not installed (Debian package `chromium`)"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _find_tooltip(page, figure) -> bool:
    """Move the mouse over a plotly figure's plot area until a hover label appears."""
    drag = figure.query_selector(".nsewdrag")
    if drag is None:
        return False
    figure.scroll_into_view_if_needed()
    box = drag.bounding_box()
    if not box:
        return False
    for fy in (0.5, 0.3, 0.7, 0.15, 0.85, 0.05, 0.95):
        for fx in [i / 24 for i in range(1, 24)]:
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            page.wait_for_timeout(15)   # plotly draws the label on its next frame: late on a busy machine
            if figure.query_selector(".hoverlayer .hovertext"):
                return True
    return False


#: The elements of the page's article that stick out of its column, as "tag.class (width px): text". An element
#: inside a box that scrolls or clips (a code block, a table, a plotly figure) is that box's business: the box
#: itself must fit. Code blocks whose lines are longer than the column must scroll (``overflow-x`` auto or
#: scroll), not clip (their end would be unreadable).
OVERFLOW_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('article');
  if (!article) return ['no <article> on the page'];
  const col = article.getBoundingClientRect();
  const scrolls = e => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX);
  const name = e => `${e.tagName.toLowerCase()}${e.classList.length ? '.' + [...e.classList].join('.') : ''}`;
  const found = [];
  for (const e of article.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    let p = e.parentElement, inside = false;
    while (p && p !== article) { if (scrolls(p)) { inside = true; break; } p = p.parentElement; }
    if (inside) continue;
    if (r.right > col.right + 1 || r.left < col.left - 1)
      found.push([e, `${name(e)} (${Math.round(r.width)} px in a ${Math.round(col.width)} px column): `
                     + (e.textContent || '').trim().slice(0, 50)]);
    else if (getComputedStyle(e).display !== 'inline' && !scrolls(e) && e.clientWidth
             && r.left + e.scrollWidth > col.right + 1)   // its content (a long word, a wide child) sticks out
      found.push([e, `${name(e)}'s content (${e.scrollWidth} px in a ${Math.round(col.width)} px column): `
                     + (e.textContent || '').trim().slice(0, 50)]);
  }
  // the innermost culprits only (their ancestors stick out because of them)
  const out = found.filter(([e]) => !found.some(([f]) => f !== e && e.contains(f))).map(([, text]) => text);
  for (const pre of article.querySelectorAll('pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1 && !['auto', 'scroll'].includes(getComputedStyle(pre).overflowX))
      out.push(`${name(pre)} clips its long lines (overflow-x: ${getComputedStyle(pre).overflowX}): `
               + pre.textContent.trim().slice(0, 50));
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1)
    out.push(`the page scrolls sideways (${page.scrollWidth} px wide in a ${page.clientWidth} px window)`);
  return out;
}"""

#: The viewports the overflow check runs in: the desktop one of the other checks, and a phone's.
NARROW_VIEWPORT = {"width": 400, "height": 900}

#: Pages checked, and pages where a plotly tooltip appeared on hover (filled by test_page).
CHECKED: list[str] = []
TOOLTIPS: list[str] = []


@pytest.mark.parametrize("page_path", _pages())
def test_page(page_path, site_url, browser):
    assert page_path != "<site not built>", f"no site in {SITE}: run `make book` first"
    CHECKED.append(page_path)
    errors, failed, external = [], [], []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)   # a long notebook page (math, plotly) takes a while on a busy machine

    def route(r):
        if r.request.url.startswith(site_url):
            r.continue_()
        else:  # the site must not need the network at view time
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("requestfailed", lambda req: failed.append(req.url) if req.url.startswith(site_url) else None)
    page.on("response", lambda resp: failed.append(f"{resp.status} {resp.url}")
            if resp.status >= 400 and resp.url.startswith(site_url) else None)
    page.goto(f"{site_url}/{page_path}", wait_until="load")
    page.wait_for_timeout(500)

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (page_path.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)

    # nothing wider than the column (code cells, outputs, figures, formulas): long lines scroll inside their
    # cell, not the page; checked before the mouse moves over figures, on a desktop and a phone screen
    overflow = page.evaluate(OVERFLOW_JS)
    assert not overflow, f"{page_path}: elements wider than their column: {overflow[:5]}"

    # figures
    n_png, n_plotly = _expected_figures(page_path)
    if n_png:
        shown = page.eval_on_selector_all("div.cell_output img, div.output img", "els => els.length")
        assert shown >= n_png, f"{page_path}: {shown} images shown, the notebook has {n_png} figures"
    if n_plotly:
        figures = page.query_selector_all(".plotly-graph-div")
        drawn = [f for f in figures if f.query_selector(".main-svg")]
        assert len(drawn) == n_plotly, f"{page_path}: {len(drawn)} of {n_plotly} plotly figures drawn"
        # each described for assistive technologies (its drawing is an image with alt text), with a caption
        undescribed = page.eval_on_selector_all(
            ".plotly-graph-div", "els => els.filter(e => e.getAttribute('role') !== 'img'"
            " || !(e.getAttribute('aria-label') || '').trim()"
            " || !(e.closest('figure')?.querySelector('figcaption')?.textContent || '').trim()).map(e => e.id)")
        assert not undescribed, f"{page_path}: plotly figures without alt text or caption: {undescribed}"
        # 2-D figures answer the mouse on their drag layer; 3-D scenes (WebGL) are only checked as drawn
        flat = [f for f in drawn if f.query_selector(".nsewdrag")][:3]
        if flat:
            assert any(_find_tooltip(page, f) for f in flat), f"{page_path}: no plotly tooltip on hover"
            TOOLTIPS.append(page_path)

    # French: the page's language (the theme's strings and the search follow it)
    lang = page.evaluate("document.documentElement.lang")
    assert lang == "fr", f"{page_path}: <html lang={lang!r}>, expected 'fr'"
    # tables: none wider than its column (a wide table scrolls inside it: nothing is clipped)
    wide = page.eval_on_selector_all(
        "article table", "els => els.filter(e => e.getBoundingClientRect().width"
        " > e.parentElement.getBoundingClientRect().width + 1).map(e => e.textContent.trim().slice(0, 60))")
    assert not wide, f"{page_path}: tables wider than their column: {wide}"
    # images: alt text everywhere; a notebook's figures in a <figure> with a caption
    no_alt = page.eval_on_selector_all(
        "article img", "els => els.filter(e => !(e.getAttribute('alt') || '').trim()).map(e => e.getAttribute('src'))")
    assert not no_alt, f"{page_path}: images without alt text: {no_alt}"
    uncaptioned = page.eval_on_selector_all(
        "div.cell_output img", "els => els.filter(e => { const f = e.closest('figure');"
        " return !f || !(f.querySelector('figcaption')?.textContent || '').trim(); }).length")
    assert not uncaptioned, f"{page_path}: {uncaptioned} notebook figures without a caption"

    # exercises: solutions folded by MyST-NB, answers folded by scripts/book.py; an answer opens on a click
    n_solutions, n_answers = _expected_folds(page_path)
    if n_solutions:
        folded = page.eval_on_selector_all("details.above-input", "els => els.filter(e => !e.open).length")
        assert folded == n_solutions, f"{page_path}: {folded} folded code cells, the notebook has {n_solutions}"
    answers = [d for d in page.query_selector_all("article details")
               if d.eval_on_selector(":scope > summary", "s => s.textContent.trim()") == "Réponse"]
    assert len(answers) == n_answers, f"{page_path}: {len(answers)} folded answers, the notebook has {n_answers}"
    for d in answers:
        body = d.query_selector(":scope > :not(summary)")
        assert body is not None and not d.evaluate("e => e.open") and not body.is_visible(), \
            f"{page_path}: an answer shows before it is unfolded"
    if answers:
        answers[0].query_selector(":scope > summary").click()
        assert answers[0].query_selector(":scope > :not(summary)").is_visible(), f"{page_path}: an answer does not unfold"

    # a phone's screen: the theme hides its sidebars, the column narrows, and still nothing sticks out
    page.set_viewport_size(NARROW_VIEWPORT)
    page.wait_for_timeout(300)
    overflow = page.evaluate(OVERFLOW_JS)
    assert not overflow, f"{page_path}: at {NARROW_VIEWPORT['width']} px, elements wider than their column: {overflow[:5]}"

    # internal links resolve (files that exist on the site; anchors on the page)
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    for href in hrefs:
        parts = urllib.parse.urlsplit(href)
        if not href.startswith(site_url):
            continue
        target = SITE / urllib.parse.unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        assert target.is_file(), f"{page_path}: broken link {href}"

    # launch buttons point at this notebook
    if page_path.startswith("notebooks/"):
        nb = f"notebooks/{Path(page_path).stem}.ipynb"
        binder = [h for h in hrefs if "mybinder.org/v2/gh/" in h]
        colab = [h for h in hrefs if "colab.research.google.com/github/" in h]
        assert binder and colab, f"{page_path}: no Binder or Colab link"
        for h in binder + colab:
            assert nb in urllib.parse.unquote(h), f"{page_path}: launch link {h} does not point at {nb}"
        downloads = page.eval_on_selector_all("a[href$='.ipynb']", "els => els.map(e => e.href)")
        assert any(d.startswith(site_url) and d.endswith(Path(page_path).stem + ".ipynb") for d in downloads), \
            f"{page_path}: no download link for the notebook"

    page.close()
    assert not failed, f"{page_path}: failed requests to the site: {failed}"
    assert not external, f"{page_path}: the page loads from the network at view time: {external}"
    assert not errors, f"{page_path}: JavaScript errors: {errors}"


def test_some_plotly_figure_answers_the_mouse():
    """Runs after every page (same module, no xdist): at least one plotly figure showed a tooltip."""
    notebooks = [p for p in _pages() if _expected_figures(p)[1]]
    assert notebooks, "no page of the site has a plotly figure"
    if not set(notebooks) & set(CHECKED):
        pytest.skip("the pages with plotly figures were not checked in this run (-k)")
    assert TOOLTIPS, f"no plotly tooltip appeared on any of {notebooks}"


def test_site_is_french_and_has_the_teachers_pages():
    """Search in French, the glossary's terms in the index, the syllabus, glossary and bibliography pages."""
    assert SITE.is_dir(), f"no site in {SITE}: run `make book` first"
    options = (SITE / "_static" / "documentation_options.js").read_text(encoding="utf-8")
    assert "LANGUAGE: 'fr'" in options, "the search does not use French"
    assert "FrenchStemmer" in (SITE / "_static" / "language_data.js").read_text(encoding="utf-8")
    index = (SITE / "index.html").read_text(encoding="utf-8")
    assert "Search this book" not in index and "Rechercher" in index, "the search box speaks English"
    for page in ("programme.html", "glossaire.html", "bibliographie.html"):
        assert (SITE / page).is_file(), f"no {page}"
    genindex = (SITE / "genindex.html").read_text(encoding="utf-8")
    assert "significativité" in genindex and "Tcherenkov" in genindex, "the glossary does not fill the index"
    assert "Komiske" in (SITE / "bibliographie.html").read_text(encoding="utf-8")
    assert "CC BY 4.0" in index and "MIT" in index, "the footer does not give the licences"
