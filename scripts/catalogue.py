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

Les tailles viennent du même registre, et chaque chargeur les affiche avant un téléchargement
(« téléchargement : X Mo à télécharger, Y Mo sur le disque »). « À télécharger » est ce qui passe par le
réseau (l'archive, quand le fichier est servi dans une archive zip : l'archive et le fichier extrait
coexistent le temps de l'extraction) ; « sur le disque » est ce que le cache garde. 1 Mo = 10⁶ octets.
« inconnue » : une taille que nous n'avons pas pu établir d'ici ; nous ne l'inventons pas. Un chargeur ne
télécharge que les fichiers dont il a besoin (par exemple `quark_gluon` : un fichier par tranche de 100 000
jets), et `cms_dimuon` et `higgs` lisent par défaut le début du fichier à distance, sans le télécharger en
entier.
"""


def _sizes(remote) -> tuple[str, str]:
    """``(to fetch, on disk)`` as the loaders print them, "inconnue" where the registry has no figure."""
    from course_utils.datasets._fetch import size_texts

    return tuple(t.replace("taille inconnue", "inconnue") for t in size_texts(remote))


def _total(values: list[int | None], approx: bool) -> str:
    """The sum of the known sizes (≈ when one of them is a publisher's rounded figure), and how many are unknown."""
    from course_utils.datasets._fetch import format_mb

    known = [v for v in values if v is not None]
    unknown = len(values) - len(known)
    if not known:
        return "inconnue"
    text = format_mb(sum(known), approx=approx)
    return f"{text} + {unknown} inconnue{'s' if unknown > 1 else ''}" if unknown else text


def _fetch_total(files) -> str:
    return _total([f.bytes_to_fetch for f in files], any(f.download_size is not None for f in files))


def _disk_total(files) -> str:
    return _total([f.bytes_on_disk for f in files], any(f.size is None and f.disk_size for f in files))


def _summary(registry: dict) -> list[str]:
    lines = ["\n## Tailles : le total\n",
             "Tous les fichiers publiés de chaque jeu (ce que `make data` ne télécharge pas forcément en entier).\n",
             "| jeu | fichiers | à télécharger | sur le disque |", "|---|---|---|---|"]
    files = [f for info in registry.values() for f in info.files]
    for name, info in registry.items():
        lines.append(f"| `{name}` | {len(info.files)} | {_fetch_total(info.files)} | {_disk_total(info.files)} |")
    lines.append(f"| **total** | {len(files)} | {_fetch_total(files)} | {_disk_total(files)} |")
    return lines


def render() -> str:
    from course_utils import datasets

    registry = datasets.registry()
    from course_utils.datasets._registry import SIMULATION_LICENCE

    parts = [HEADER, f"Licence des simulations du cours, pour tous les jeux : {SIMULATION_LICENCE}.\n",
             *_summary(registry)]
    for name, info in registry.items():
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
            parts.append("\n| fichier | à télécharger | sur le disque | taille vérifiée (octets) | sha256 | URL |\n"
                         "|---|---|---|---|---|---|")
            for f in info.files:
                size = f"{f.size:,}".replace(",", " ") if f.size else "—"
                member = f" (dans l'archive, membre `{f.archive_member}`)" if f.archive_member else ""
                to_fetch, on_disk = _sizes(f)
                parts.append(f"| `{f.name}`{member} | {to_fetch} | {on_disk} | {size} | "
                             f"`{f.sha256 or 'non publié'}` | {f.urls[0]} |")
            if len(info.files) > 1:
                parts.append(f"| **total** | {_fetch_total(info.files)} | {_disk_total(info.files)} | | | |")
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
