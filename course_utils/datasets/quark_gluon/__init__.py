"""Quark and gluon jets: the constituents of each jet, labelled 1 (quark) or 0 (gluon).

Published dataset (Monte Carlo, not measured data)
--------------------------------------------------
Komiske, Metodiev and Thaler, *Energy Flow Networks: Deep Sets for Particle
Jets*, JHEP 01 (2019) 121, arXiv:1810.05165. Pythia 8.226 samples on Zenodo
(DOI 10.5281/zenodo.3164691, CC BY 4.0): 2,000,000 jets in 20 files of 100,000
(``QG_jets.npz``, ``QG_jets_1.npz``, ... ``QG_jets_19.npz``). Each file holds

* ``X``: float64 array of shape (100000, M, 4), the constituents ``(pT [GeV],
  y, phi [rad], PDG id)`` of each jet, zero-padded to the largest multiplicity
  M of the file;
* ``y``: the labels, 1 = quark (u, d, s), 0 = gluon.

Jets: pp at 14 TeV, Z(->nu nu) + g and Z(->nu nu) + (u, d, s), anti-kT R = 0.4
on the final-state particles except neutrinos, pT in [500, 550] GeV, |y| < 1.7.
Only the files needed for the requested number of jets are downloaded, each
checked against the sha256 that the energyflow package lists
(``energyflow/data/qg_jets.json``).

The same jets generated with Herwig 7.1.4 (Zenodo 10.5281/zenodo.3066475, same
layout, ``QG_jets_herwig_0.npz`` ... ``_19.npz``) are the field's standard
generator systematic ("Pythia vs Herwig"): ``load(generator="herwig")``.

Course simulation
-----------------
The Pythia generation reproduced with Pythia 8 and FastJet
(:mod:`~course_utils.datasets.quark_gluon.simulation`), written in the same
layout (:mod:`~course_utils.datasets.quark_gluon.formats`). Its ``settings``
(extra Pythia settings, such as the shower's alpha_s) give samples that differ
only by a nuisance parameter.

Examples
--------
>>> from course_utils.datasets import quark_gluon
>>> ds = quark_gluon.load(n=10_000)                   # doctest: +SKIP
>>> X, y = ds.data                                    # (10000, M, 4), (10000,)
>>> alt = quark_gluon.load("simulated", n=2_000,
...                        settings={"TimeShower:alphaSvalue": 0.118})  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from course_utils.datasets._fetch import fetch
from course_utils.datasets._registry import Dataset, DatasetInfo, RemoteFile, load_with_fallback
from course_utils.datasets.quark_gluon import formats, simulation
from course_utils.datasets.quark_gluon.formats import read, write
from course_utils.validation import check_count

__all__ = ["INFO", "FILES", "HERWIG_FILES", "GENERATORS", "JETS_PER_FILE", "MAX_JETS", "CLASSES",
           "read", "write", "load", "files_needed", "formats", "simulation"]

#: Jets in each real file, and in the whole real dataset.
JETS_PER_FILE = 100_000
MAX_JETS = 2_000_000
#: Label meaning.
CLASSES = {1: "quark", 0: "gluon"}

_ZENODO = "https://zenodo.org/record/3164691/files/{}?download=1"
_DROPBOX = "https://www.dropbox.com/s/{}/{}?dl=1"
_ZENODO_HERWIG = "https://zenodo.org/record/3066475/files/{}?download=1"
# File names, Dropbox link keys and sha256, in file order, as listed by the energyflow
# package (energyflow/data/qg_jets.json, "pythia" / "nobc"; "herwig" / "nobc" below).
_TABLE = (
    ("QG_jets.npz", "fclsl7pukcpobsb", "3f27a02eab06e8b83ccc9d25638021e6e24c9361341730961f9d560dee12c257"),
    ("QG_jets_1.npz", "ztzd1a6lkmgovuy", "648e49cd59b5353e0064e7b1a3388d9c2f4a454d3ca67afaa8d0344c836ecb35"),
    ("QG_jets_2.npz", "jzgc9e786tbk1m5", "09f7b16fa7edb312c0f652bb8504de45f082c4193df65204d693155017272fe9"),
    ("QG_jets_3.npz", "tiwz2ck3wnzvlcr", "7dc9a50bb38e9f6fc1f11db18f9bd04f72823c944851746b848dee0bba808537"),
    ("QG_jets_4.npz", "3miwek1n0brbd2i", "3e6217aad8e0502f5ce3b6371c61396dfc48a6cf4f26ee377cc7b991b1d2b543"),
    ("QG_jets_5.npz", "tsq80wc6ngen9kn", "b5b7d742b2599bcbe1d7a639895bca64c28da513dc3620b0e5bbb5801f8c88fd"),
    ("QG_jets_6.npz", "5oba2h15ufa57ie", "7d31bc48c15983401e0dbe8fd5ee938c3809d9ee3c909f4adab6daf8b73c14f1"),
    ("QG_jets_7.npz", "npl6b2rts82r1ya", "cec0d7b2afa9d955543c597f9b7f3b3767812a68b2401ec870caf3a2ceb98401"),
    ("QG_jets_8.npz", "7pldxfqdb4n0kaw", "e984620f57abe06fc5d0b063f9f84ba54bd3e8c295d2b2419a7b1c6175079ed4"),
    ("QG_jets_9.npz", "isw4clv7n370nfb", "6e3b69196995d6eb3b8e7af874e2b9f93d904624f7a7a73b8ff39f151e3bd189"),
    ("QG_jets_10.npz", "prw7myb889v2y12", "fa3d386f230b806058ff17e5bd77326ff4bf01d72aa5eb3325c1df2a8825927c"),
    ("QG_jets_11.npz", "10r4ydro3e6nsmc", "acd49ab7bea8f72ecf699a9a898bccacc8730474259d68406656a5a43d407fb0"),
    ("QG_jets_12.npz", "42p10sv9jedmtn0", "2edd55b8bc30c686a0637855e1ba068586eb97041e8114d5540d96db2a7a2e17"),
    ("QG_jets_13.npz", "crqdeg4arjti7cy", "7276a8a0e573f9795a47f9d5addc10d2af903c2a0ffa5c848a720ccae93daa90"),
    ("QG_jets_14.npz", "1e7ss2quxhkbhwy", "2068ecfa912e94cd3ce7273b7c77af0bbd5ec57940997e7483b56f03434a6869"),
    ("QG_jets_15.npz", "psje9feje43buc7", "41a732ce6321dd593214225b03fb87329607ccae768c705e3896ffecc28bfcca"),
    ("QG_jets_16.npz", "8qw5bcswgrr9fl1", "9d68caeb18f3ccf127b9032f52e63ee011c4381293a3a503f894e5c0741ae215"),
    ("QG_jets_17.npz", "gcdp98bgupfk05x", "086053ca611bb04d97fa0b6509b4ffb6955421b067c7b277498f0e5188879331"),
    ("QG_jets_18.npz", "jvgt17z1ufxz1ly", "cdc595f5fedef7db9411a9f93f2786f110073b4d17a523700f625846588b1e44"),
    ("QG_jets_19.npz", "gbbfvy2e0slmm8v", "d07781139320ae134ce4824bc0cefa43fd5003cd97cdf3aed90d4fb12fad8a1d"),
)

_HERWIG_TABLE = (
    ("QG_jets_herwig_0.npz", "xizexr2tjq2bm59", "0527349778c0ab2f7da268975fb9e7c0705c88d60f2c478401d941b9913f4d44"),
    ("QG_jets_herwig_1.npz", "ym675q2ui3ik3n9", "65ef3b4cced4e2618c2bf8f3c66ef707dbd7a9740825f93549732d64e60d7ea8"),
    ("QG_jets_herwig_2.npz", "qic6ejl27y6vpqj", "f13dab1937e40d0c05b97e9813fb4dda5156a8f6b4e41a89cc13821d02a60f58"),
    ("QG_jets_herwig_3.npz", "ea5a9wruo7sf3zy", "7b55e26262f2c156b15014b796d0a7e7a5254a982170f45cf2d9857b1f23b5f7"),
    ("QG_jets_herwig_4.npz", "5iz5q2pjcys74tb", "3a5006da4a05192636a74fc818256fce215970c626719738cae9f82e3f068646"),
    ("QG_jets_herwig_5.npz", "6zha7fka0dl7t30", "2601564aee41aa5851392d6b3d12021f978fa17199e42dde004e35d1175055ea"),
    ("QG_jets_herwig_6.npz", "vljp5nhoocv2zmf", "2c1fc34e99816a0bb5a84f68fa42f6314252521f6b32384a118cdec872ea97a1"),
    ("QG_jets_herwig_7.npz", "vzzl5yv9esro811", "4b05f17acb046ad50232987003b89a91800cc713eefd81142ffeb42259369fb2"),
    ("QG_jets_herwig_8.npz", "74u8y4afe1jqiyw", "150cbe132a2ee3178ba3a93a6b1733b3498b728db91f572295b6213d287ec1f7"),
    ("QG_jets_herwig_9.npz", "ra7hdq23qy7lgia", "7d74c90843c751ade4cac47f6c2505da8bcbaf8645bc3f9870bdca481ff805fd"),
    ("QG_jets_herwig_10.npz", "plhupkzt3ap2v6i", "e2b9072da8436618c602fbcf2409fe9be9a46dea7cff1fcc36f1ba8fefa6842d"),
    ("QG_jets_herwig_11.npz", "jy76a7tk1p7b5mq", "c69f499b7ea09029da7e78dcc527feca6b1680685e3c9a481db292d5518e3f1c"),
    ("QG_jets_herwig_12.npz", "cd4bqzk1xhg92tp", "db25d85d3a35978c607f9b5b0b52f4140c984eb5a5ab236cbf3e6eb34ead761c"),
    ("QG_jets_herwig_13.npz", "5g5rbyowni149y4", "9a51ddd383e32154fc504ddcb138e54f0f1bd35079fe5cfa9139839c229cd78e"),
    ("QG_jets_herwig_14.npz", "uxcgkrz4jhwdnya", "be0fa462ea907d36972c8573b9a2f6bcdf5cf66648fa397739d12ecb677948e5"),
    ("QG_jets_herwig_15.npz", "brgeiph0rhooffx", "7b17400c6867243e8137bd97e0f9743682a5d8c772685a6654f42f1fa2731960"),
    ("QG_jets_herwig_16.npz", "jvcw8th5t6ngsk1", "4c484f6508180c0e4e4a5c90b37d1b15cc67afaa3c5998306e8e633848ce6dfc"),
    ("QG_jets_herwig_17.npz", "hlgksqbpuw3wuo3", "d1f9baf3a3a148080d1735130f6b18f0f598991a8d886eff3c427b2e2265fce1"),
    ("QG_jets_herwig_18.npz", "yjvnt2z0h1zhvns", "bb70219d78e1d92091efacbf933da632670c8318d00777e4144d9a0c782e5749"),
    ("QG_jets_herwig_19.npz", "8qzs744mx383n2i", "94975b3d999868485780d2d9e4330273aa8f0db4b9a7f6094d360f637659a264"),
)

#: Exact sizes in bytes where we could establish them: Git LFS pointers of public repositories that
#: commit these files (apapaefs/KSU_FirstYearScholars25-26, SreenandanS/Hepsim_Eval_2026) record each
#: file's size beside a sha256 equal to energyflow's above. The other files' sizes are unknown here.
_SIZES = {
    "QG_jets.npz": 106_689_379, "QG_jets_1.npz": 106_477_587, "QG_jets_2.npz": 106_490_468,
    "QG_jets_3.npz": 106_428_597, "QG_jets_4.npz": 106_565_182, "QG_jets_5.npz": 106_582_696,
}

#: The 20 published Pythia files, in order: the first ``k`` hold the first ``k * 100000`` jets.
FILES: tuple[RemoteFile, ...] = tuple(
    RemoteFile(name=name, urls=(_ZENODO.format(name), _DROPBOX.format(key, name)), sha256=digest,
               size=_SIZES.get(name))
    for name, key, digest in _TABLE
)
#: The 20 published Herwig 7.1.4 files (Zenodo 3066475), same layout and order.
HERWIG_FILES: tuple[RemoteFile, ...] = tuple(
    RemoteFile(name=name, urls=(_ZENODO_HERWIG.format(name), _DROPBOX.format(key, name)), sha256=digest)
    for name, key, digest in _HERWIG_TABLE
)
#: The published samples, by generator.
GENERATORS = ("pythia", "herwig")

INFO = DatasetInfo(
    name="quark_gluon",
    title="Pythia 8 quark and gluon jets for Energy Flow (Komiske, Metodiev, Thaler)",
    provenance="Zenodo 10.5281/zenodo.3164691, Pythia 8.226 Z+jet samples of arXiv:1810.05165",
    licence="CC BY 4.0",
    citation="P. T. Komiske, E. M. Metodiev, J. Thaler, 'Energy Flow Networks: Deep Sets for Particle Jets', "
             "JHEP 01 (2019) 121, arXiv:1810.05165; samples: doi:10.5281/zenodo.3164691",
    homepage="https://zenodo.org/record/3164691",
    files=FILES + HERWIG_FILES,
    doi="10.5281/zenodo.3164691",
    how_to_obtain="Download QG_jets.npz (and QG_jets_1.npz, ... for more than 100,000 jets) from "
                  "https://zenodo.org/record/3164691 (Herwig: QG_jets_herwig_0.npz, ... from "
                  "https://zenodo.org/record/3066475) and place them in <data>/real/quark_gluon/ "
                  "(see course_utils.config.data_dir()); or set COURSE_DATA_MIRROR to a server holding "
                  "<mirror>/quark_gluon/QG_jets.npz.",
    made_by="Monte Carlo: Pythia 8.226, anti-kT R=0.4 jets (Komiske, Metodiev, Thaler 2019), not measured data; "
            "Herwig 7.1.4 for the generator='herwig' files",
)


def files_needed(n: int, generator: str = "pythia") -> tuple[RemoteFile, ...]:
    """The published files holding the first ``n`` jets (100,000 per file) of one generator."""
    n = _check_n(n)
    files = _files(generator)
    if n > MAX_JETS:
        raise ValueError(f"n={n} exceeds the {MAX_JETS:,} jets of the published dataset")
    return files[:math.ceil(n / JETS_PER_FILE)]


def _files(generator: str) -> tuple[RemoteFile, ...]:
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}: the published samples are {GENERATORS}")
    return FILES if generator == "pythia" else HERWIG_FILES


def _check_n(n: object) -> int:
    n = check_count(n, "n", allow_none=True)
    return JETS_PER_FILE if n is None else n


def _load_real(n: int, generator: str, verbose: bool, data_home: str | os.PathLike[str] | None) -> Dataset:
    Xs, ys, paths = [], [], []
    remaining = n
    for remote in files_needed(n, generator):
        path = fetch(INFO.name, remote, progress=verbose, data_home=data_home)
        X, y = read(path, n=remaining)
        Xs.append(X)
        ys.append(y)
        paths.append(path)
        remaining -= len(y)
        if remaining <= 0:
            break
    X = formats.trim(formats.pad(Xs))
    y = np.concatenate(ys)
    if len(y) < n:
        raise ValueError(f"the published files hold only {len(y)} jets, {n} were asked for")
    doi = INFO.doi if generator == "pythia" else "10.5281/zenodo.3066475"
    return Dataset((X, y), "real", INFO.name, f"{INFO.provenance}" if generator == "pythia" else
                   "Zenodo 10.5281/zenodo.3066475, Herwig 7.1.4 Z+jet samples (Komiske, Metodiev, Thaler)",
                   INFO.licence, paths[0].parent,
                   {"n_quark": int(y.sum()), "n_gluon": int(len(y) - y.sum()),
                    "files": [p.name for p in paths], "generator": generator},
                   made_by="Monte Carlo: Pythia 8.226" if generator == "pythia" else "Monte Carlo: Herwig 7.1.4",
                   doi=doi)


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None, settings: Mapping[str, Any] | None = None, generator: str = "pythia",
         setup: simulation.Setup = simulation.DEFAULT) -> Dataset:
    """Quark and gluon jets, from the published dataset or the course's simulation.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the published files if cached or downloadable, else the simulation.
    n
        Number of jets (``None``: 100,000, one published file; the simulation
        needs an explicit ``n``, 100,000 jets take about an hour on 2 cores). Published: the
        first ``n`` jets of the files (about half quarks); simulation:
        ``ceil(n/2)`` quark and ``floor(n/2)`` gluon jets, shuffled.
        ``len(ds)`` counts the jets.
    seed
        Seed of the simulation; the published jets do not depend on it (the
        first ``n`` of the files).
    verbose
        Print which source was used, its provenance and licence.
    data_home
        The folder of the published ``.npz`` files, instead of
        ``<data>/real/quark_gluon/``; the missing ones are downloaded there.
    settings
        Extra Pythia settings of the simulation, the nuisance parameters
        (``{"TimeShower:alphaSvalue": 0.118}``): only with ``source="simulated"``,
        since the published files were generated once with fixed settings.
    generator : {"pythia", "herwig"}
        Which published sample: Pythia 8.226 or Herwig 7.1.4. The course
        simulates only Pythia: ``"herwig"`` has no simulated fallback.
    setup
        Process and selection of the simulation (:data:`simulation.DEFAULT`).

    Returns
    -------
    Dataset
        ``.data`` is ``(X, y)``: ``X`` float64 of shape (n, M, 4) holding
        ``(pT [GeV], y, phi [rad], PDG id)`` zero-padded, ``y`` int64 of shape
        (n,), 1 = quark, 0 = gluon.

    Raises
    ------
    ValueError
        A bad ``n``, an unknown generator, ``settings`` with a source other
        than ``"simulated"``, ``generator="herwig"`` with ``source="simulated"``.
    DataUnavailableError
        The published files cannot be had (``source="real"``, or Herwig).
    """
    n_given = n
    n = _check_n(n)
    _files(generator)
    extra = simulation.check_settings(settings)
    if extra and source != "simulated":
        raise ValueError(f"settings={extra} change the course's simulation only (the published files were "
                         f"generated once): use source='simulated', not {source!r}")
    if source in ("auto", "real") and n > MAX_JETS:
        raise ValueError(f"n={n} exceeds the {MAX_JETS:,} jets of the published dataset")
    if generator == "herwig" and source == "simulated":
        raise ValueError("the course simulates Pythia only: for a generator systematic offline, vary a Pythia "
                         "setting instead (settings={'TimeShower:alphaSvalue': ...})")

    def simulated() -> Dataset:
        if n_given is None:
            raise ValueError("the course's simulation needs an explicit number of jets: load(..., n=2000) "
                             "(100,000 jets, the size of one published file, take about an hour on 2 cores)")
        return simulation.simulate(n, seed=seed, settings=extra, setup=setup, verbose=verbose)

    return load_with_fallback(INFO.name, source, lambda: _load_real(n, generator, verbose, data_home),
                              simulated if generator == "pythia" else None, info=INFO, verbose=verbose)
