"""Write data/README.md, the data catalogue, from the registry in course_utils.datasets.

Usage: python scripts/catalogue.py [--check]   (--check: exit 1 if data/README.md is out of date)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEADER = """# Catalogue des données

Ce dossier contient les caches des jeux de données (ignorés par git) : `real/<jeu>/` pour les fichiers réels
téléchargés et vérifiés, `simulated/<jeu>/<clé>/` pour les simulations du cours (une clé par jeu de paramètres).
Ce fichier est généré à partir du registre de `course_utils.datasets` par `python scripts/catalogue.py`.

Chaque chargeur `load(source="auto")` lit les données réelles si elles sont en cache ou téléchargeables,
sinon la simulation du cours, écrite au même format de fichier. Les fichiers réels sont vérifiés par leur
SHA-256 (ou, quand l'éditeur n'en publie pas, par leur taille et leur format, comme indiqué ci-dessous).
"""


def render() -> str:
    from course_utils import datasets

    parts = [HEADER]
    for name, info in datasets.registry().items():
        parts.append(f"\n## `{name}` — {info.title}\n")
        parts.append(f"- provenance : {info.provenance}")
        parts.append(f"- licence : {info.licence}")
        if info.doi:
            parts.append(f"- DOI : {info.doi}")
        parts.append(f"- page : {info.homepage}")
        parts.append(f"- citation : {info.citation}")
        if info.how_to_obtain:
            parts.append(f"- obtenir les données à la main : {info.how_to_obtain}")
        if info.files:
            parts.append("\n| fichier | taille (octets) | sha256 | URL |\n|---|---|---|---|")
            for f in info.files:
                size = f"{f.size:,}".replace(",", " ") if f.size else "—"
                member = f" (dans l'archive, membre `{f.archive_member}`)" if f.archive_member else ""
                parts.append(f"| `{f.name}`{member} | {size} | `{f.sha256 or 'non publié'}` | {f.urls[0]} |")
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    path = ROOT / "data" / "README.md"
    text = render()
    if "--check" in argv:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print("data/README.md is out of date: run python scripts/catalogue.py")
            return 1
        return 0
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
