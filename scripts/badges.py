"""Generate the README's notebook table (Colab and Binder badges) from the one repository URL setting.

The setting is ``[project.urls] Repository`` in pyproject.toml; each notebook's title, duration,
hardware and data come from the course manifest (course_utils/manifest.toml). Usage:
    python scripts/badges.py          # rewrite the block between the markers in README.md
    python scripts/badges.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
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
        if new != current:
            print("README.md is out of date: run python scripts/badges.py")
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
