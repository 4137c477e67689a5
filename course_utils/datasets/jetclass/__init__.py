"""JetClass: ten classes of large-radius jets, the particles of each jet (Qu, Li, Qian 2022).

Published dataset (Monte Carlo, not measured data)
--------------------------------------------------
H. Qu, C. Li, S. Qian, *Particle Transformer for Jet Tagging*, ICML 2022,
arXiv:2202.03772; dataset: Zenodo record 6619768 (doi:10.5281/zenodo.6619768),
100M training, 5M validation and 20M test jets, one class per file of 100,000
jets (``HToBB_000.root``, ``TTBarLep_010.root``...). Generated with MadGraph5
+ Pythia 8 + Delphes (CMS card): proton-proton collisions at 13 TeV, anti-kT
R = 0.8 jets with 500 < pT < 1000 GeV and |η| < 2, each signal jet matched
to its resonance with all its decay products inside the jet. The ten classes
(:data:`CLASSES`, the paper's order): QCD (light quarks and gluons),
H → b b̄, c c̄, g g, 4q, ℓ ν q q̄′, Z → q q̄, W → q q̄′, t → b q q̄′, t → b ℓ ν.

The loader reads the **example file** of the ParT repository,
``JetClass_example_100k.root`` (100,000 jets of the ten classes; its URL is
in ``notebooks/JetClass101.ipynb`` of jet-universe/particle_transformer). Its
authors publish no checksum (the training files' MD5 are in the repository's
``get_datasets.py``, not the example's): the file is verified by its format
(:func:`~course_utils.datasets.jetclass.formats.read`: ROOT, TTree ``tree``,
the 41 branches, one-hot labels). Any file of the full dataset is read by
:func:`read` as well.

Course simulation
-----------------
The ten classes re-generated with Pythia 8, a simple detector (tracks with
impact parameters from the decay vertices, calorimeter smearing) and FastJet
(:mod:`~course_utils.datasets.jetclass.simulation`), written in the published
layout (:mod:`~course_utils.datasets.jetclass.formats`).

Examples
--------
>>> from course_utils.datasets import jetclass
>>> ds = jetclass.load(n=5_000)                       # doctest: +SKIP
>>> jets = ds.data                                    # JetClassData: particles, jets, y, aux
>>> inputs = jetclass.particle_inputs(jets)           # the 17 ParT features, padded, with a mask
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from course_utils.datasets._fetch import fetch
from course_utils.datasets._registry import Dataset, DatasetInfo, RemoteFile, load_with_fallback
from course_utils.datasets.jetclass import formats
from course_utils.datasets.jetclass.formats import (
    CLASSES,
    JetClassData,
    check_classes,
    particle_inputs,
    read,
    write,
)
from course_utils.validation import check_count

__all__ = ["INFO", "FILE", "CLASSES", "SIM_JETS", "JetClassData", "read", "write", "particle_inputs", "load",
           "formats"]

#: The course simulation's default size (full mode): 5,000 jets per class. At the measured 49 jets per CPU
#: second (:data:`~course_utils.datasets.jetclass.simulation.SPEED`), about 1,000 CPU seconds: 8 to 9 minutes
#: on two free cores, within the 15-minute budget of a cache.
SIM_JETS = 50_000

FILE = RemoteFile(
    name="JetClass_example_100k.root",
    urls=("https://hqu.web.cern.ch/datasets/JetClass/example/JetClass_example_100k.root",),
    sha256=None,  # none published (module docstring): the layout and the labels are checked by read()
    size=None,
)

INFO = DatasetInfo(
    name="jetclass",
    title="JetClass, ten classes of large-radius jets for the Particle Transformer (Qu, Li, Qian)",
    provenance="JetClass example file of the ParT repository (jet-universe/particle_transformer); "
               "full dataset: Zenodo record 6619768",
    licence="MIT (the dataset card of jet-universe/jetclass on Hugging Face); the licence shown on Zenodo "
            "record 6619768 was not checked from this machine",
    citation="H. Qu, C. Li, S. Qian, 'Particle Transformer for Jet Tagging', ICML 2022, arXiv:2202.03772; "
             "dataset: H. Qu, C. Li, S. Qian, 'JetClass: A Large-Scale Dataset for Deep Learning in Jet "
             "Physics', Zenodo (2022), doi:10.5281/zenodo.6619768",
    homepage="https://github.com/jet-universe/particle_transformer",
    files=(FILE,),
    doi="10.5281/zenodo.6619768",
    how_to_obtain="Download JetClass_example_100k.root from "
                  "https://hqu.web.cern.ch/datasets/JetClass/example/JetClass_example_100k.root and place it in "
                  "<data>/real/jetclass/ (see course_utils.config.data_dir()); the full dataset (one class per "
                  "100k-jet file) is on https://zenodo.org/record/6619768, each file readable with "
                  "course_utils.datasets.jetclass.read(path).",
    made_by="Monte Carlo: MadGraph5 + Pythia 8 + Delphes (CMS card) (Qu, Li, Qian 2022), not measured data",
)


def _subset(data: JetClassData, n: int | None, seed: int, classes: tuple[str, ...] | None = None) -> JetClassData:
    """``n`` jets drawn at random with ``seed`` (all of them, in the file's order, when ``n`` is None),
    among the jets of ``classes`` only when given."""
    keep = np.arange(len(data))
    if classes is not None:
        keep = np.flatnonzero(np.isin(data.y, [CLASSES.index(c) for c in classes]))
    if n is None and classes is None:
        return data
    if n is not None and n > len(keep):
        raise ValueError(f"n={n} jets asked, the file holds {len(keep)}"
                         + ("" if classes is None else f" of the classes {list(classes)}"))
    rows = keep if n is None else keep[np.random.default_rng(seed).permutation(len(keep))[:n]]
    return JetClassData(data.particles[rows], data.jets.iloc[rows].reset_index(drop=True), data.y[rows],
                        data.aux.iloc[rows].reset_index(drop=True))


def _load_real(n: int | None, seed: int, verbose: bool, data_home: str | os.PathLike[str] | None,
               classes: tuple[str, ...] | None = None) -> Dataset:
    path = fetch(INFO.name, FILE, progress=verbose, data_home=data_home)
    data = _subset(read(path), n, seed, classes)
    return Dataset(data, "real", INFO.name, INFO.provenance, INFO.licence, path,
                   {"counts": data.counts(), "file": path.name})


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None, detector: Any = None,
         classes: Any = None) -> Dataset:
    """JetClass jets, from the published example file or the course's simulation.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the published file if cached or downloadable, else the simulation.
    n
        Number of jets (``len(ds)``). Published: ``n`` jets drawn at random
        from the 100,000 of the example file (``None``: all of them, in the
        file's order). Simulation: ``n`` jets, the ten classes in equal numbers
        (``None``: :data:`SIM_JETS`).
    seed
        Seed of the simulation, and of the random choice of the published jets.
    verbose
        Print which source was used, its provenance and licence.
    data_home
        The folder of ``JetClass_example_100k.root``, instead of
        ``<data>/real/jetclass/``; downloaded there when missing.
    detector
        The simulation's :class:`~course_utils.datasets.jetclass.simulation.Detector`
        (only with ``source="simulated"``).
    classes
        Names among :data:`CLASSES` (e.g. ``("QCD", "Tbqq")``): only the jets of
        those classes (published: drawn among them; simulation: only those
        processes generated, ``n`` shared among them). None: all ten.

    Returns
    -------
    Dataset
        ``.data`` is a :class:`JetClassData`: ``particles`` (awkward, the 16
        ``part_*`` branches), ``jets`` (the ``jet_*`` branches), ``y`` (class
        index 0 ... 9, :data:`CLASSES`) and ``aux`` (generator truth: never a
        training input). ``.details["counts"]``: jets per class.
    """
    n = check_count(n, "n", allow_none=True)
    classes = check_classes(classes)
    if detector is not None and source != "simulated":
        raise ValueError(f"detector changes the course's simulation only: use source='simulated', not {source!r}")

    def simulated() -> Dataset:
        from course_utils.datasets.jetclass import simulation

        return simulation.simulate(SIM_JETS if n is None else n, seed=seed, detector=detector, classes=classes)

    return load_with_fallback(INFO.name, source, lambda: _load_real(n, seed, verbose, data_home, classes), simulated,
                              info=INFO, verbose=verbose)
