"""Generate the README's notebook table (Colab and Binder badges) from the one repository URL setting.

The setting is ``[project.urls] Repository`` in pyproject.toml. Usage:
    python scripts/badges.py          # rewrite the block between the markers in README.md
    python scripts/badges.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"

#: file stem -> (title, duration, hardware, data)
NOTEBOOKS = {
    "00_introduction": ("Introduction : carte du cours, environnement, données", "20 min", "CPU", "MAGIC"),
    "01_cern_open_data": ("CERN Open Data : uproot, awkward, spectre dimuon de CMS", "1 h 30", "CPU",
                          "CMS Open Data (CC0) / simulation Pythia 8"),
    "01b_cern_open_data_dask": ("CERN Open Data sur un cluster : la même analyse avec Dask", "45 min", "CPU",
                                "CMS Open Data (CC0) / simulation Pythia 8, plusieurs fichiers"),
    "02_jet_tagging": ("Étiquetage de jets quark/gluon : des observables aux réseaux de particules", "2 h",
                       "CPU (GPU utile)", "Komiske et al. (Zenodo) / Pythia 8 + FastJet"),
    "03a_gamma_ray_preprocessing_ml": ("Astronomie gamma (1) : prétraitement et modèles classiques", "1 h 30",
                                       "CPU", "MAGIC (UCI, CC BY 4.0) / simulation de caméra"),
    "03b_gamma_ray_pytorch": ("Astronomie gamma (2) : un réseau PyTorch", "1 h 30", "CPU",
                              "MAGIC (UCI, CC BY 4.0) / simulation de caméra"),
    "04_higgs_wide_deep": ("Boson de Higgs : Wide & Deep sur TPU, GPU ou CPU", "1 h 30", "CPU, GPU ou TPU",
                           "HIGGS (UCI, CC BY 4.0) / Pythia 8 + FastJet"),
    "05_tumour_benchmark": ("Banc d'essai de classifieurs d'IRM : métriques et équilibrage", "1 h 30",
                            "CPU (GPU utile)", "Kaggle (CC0) / images synthétiques"),
    "06_model_compression": ("Compression de modèles : élagage, quantification, distillation", "1 h 30", "CPU",
                             "jets quark/gluon"),
    "07_tracking_gnn": ("Trajectographie avec des réseaux de graphes (TrackML)", "2 h", "CPU (GPU utile)",
                        "TrackML (Zenodo, Kaggle) / Pythia 8 + hélices dans un solénoïde"),
    "08_anomaly_detection": ("Détection d'anomalies sur des dijets du LHC : fabriquer le signal avec Pythia", "2 h",
                             "CPU", "LHC Olympics 2020 (Zenodo) / Pythia 8 + FastJet"),
    "09_generative_calorimeter": ("Modèles génératifs pour simuler un calorimètre : VAE, flot, diffusion", "2 h",
                                  "CPU (GPU utile)", "CaloChallenge 2022 (Zenodo) / paramétrisation GFlash"),
    "10_systematics_adversarial": ("Incertitudes systématiques : pivot adversarial, inversion du gradient, DisCo",
                                   "2 h", "CPU", "jets quark/gluon (Pythia/Herwig, Zenodo) / Pythia 8, α_s varié"),
}


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
    for stem, (title, duration, hardware, data) in NOTEBOOKS.items():
        nb = f"{stem}.ipynb"
        if not (ROOT / "notebooks" / nb).is_file():  # announced here before it lands
            continue
        lines.append(f"| [{stem}](notebooks/{nb}) | {title} | {duration} | {hardware} | {data} | "
                     f"{colab_badge(nb)} {binder_badge(nb)} |")
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
