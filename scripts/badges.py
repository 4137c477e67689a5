"""Generate what depends on the one repository URL setting: the README's notebook table (Colab and Binder
badges) and the notebooks' Colab install cell.

The setting is ``[project.urls] Repository`` in pyproject.toml; each notebook's title, duration,
hardware and data come from the course manifest (course_utils/manifest.toml). The first code cell of
every notebook is :func:`colab_cell`, the same everywhere (tests/test_repository.py checks it;
scripts/check_colab.py runs its pip command on Colab's stack). Usage:
    python scripts/badges.py          # rewrite the README's block and the notebooks' Colab cells
    python scripts/badges.py --check  # exit 1 if README.md or a notebook's Colab cell is out of date
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
#: Notebooks whose Colab cell is left as it is while another change edits their code (none now).
COLAB_CELL_PENDING: tuple[str, ...] = ()
sys.path.insert(0, str(ROOT))  # this checkout's course_utils (its manifest), even beside another installed copy


def repository() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["project"]["urls"]["Repository"].rstrip("/")


def slug() -> str:
    url = repository()
    prefix = "https://github.com/"
    if not url.startswith(prefix):
        raise ValueError(f"the repository URL must be on GitHub for the badges, got {url}")
    return url[len(prefix):]


def colab_badge(nb: str) -> str:
    return (f"[![Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{slug()}/blob/main/notebooks/{nb})")


def binder_badge(nb: str | None = None) -> str:
    target = f"?labpath=notebooks%2F{nb}" if nb else ""
    return f"[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{slug()}/main{target})"


def colab_cell() -> str:
    """The notebooks' first code cell: installs the course on Google Colab only (a no-op elsewhere).

    Lines stay under the notebooks' 100 columns (notebooks/ruff.toml), and the pip arguments are string
    literals in one list, which scripts/check_colab.py reads.
    """
    return ("# Install on Google Colab only (does nothing elsewhere): the course package and the\n"
            "# libraries Colab lacks, without re-pinning numpy, scipy or matplotlib.\n"
            "import subprocess\n"
            "import sys\n"
            "\n"
            'if "google.colab" in sys.modules:\n'
            "    subprocess.run(\n"
            '        [sys.executable, "-m", "pip", "install", "-q",\n'
            f'         "course_utils[colab] @ git+{repository()}.git"],\n'
            "        check=True)")


def update_colab_cells(*, write: bool) -> list[str]:
    """Names of the notebooks whose first code cell is not :func:`colab_cell`; rewrite them if ``write``."""
    import nbformat

    stale = []
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        if path.name in COLAB_CELL_PENDING:
            continue
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "code")
        if cell.source != colab_cell():
            stale.append(path.name)
            if write:
                cell.source = colab_cell()
                nbformat.write(nb, path)
    return stale


def table() -> str:
    lines = ["| notebook | sujet | durée | matériel | données | ouvrir |", "|---|---|---|---|---|---|"]
    from course_utils import manifest

    for entry in manifest.notebooks().values():
        nb, stem = entry.file, Path(entry.file).stem
        if not (ROOT / "notebooks" / nb).is_file():  # announced in the manifest before it lands
            continue
        lines.append(f"| [{stem}](notebooks/{nb}) | {entry.title} | {entry.duration} | {entry.hardware} | "
                     f"{entry.data} | {colab_badge(nb)} {binder_badge(nb)} |")
    return "\n".join(lines)


def render(readme: str) -> str:
    if START not in readme or END not in readme:
        raise ValueError(f"README.md lacks the markers {START} / {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    current = path.read_text(encoding="utf-8")
    new = render(current)
    if "--check" in argv:
        stale = update_colab_cells(write=False)
        if new != current:
            print("README.md is out of date: run python scripts/badges.py")
        if stale:
            print(f"the Colab cell of {', '.join(stale)} is out of date: run python scripts/badges.py")
        return 1 if new != current or stale else 0
    path.write_text(new, encoding="utf-8")
    update_colab_cells(write=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
