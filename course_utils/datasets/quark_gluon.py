"""Quark and gluon jets: the constituents of each jet, labelled 1 (quark) or 0 (gluon).

Real source
-----------
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
checked against the sha256 that the energyflow package lists.

Simulated source
----------------
The same generation reproduced with Pythia 8 and FastJet
(:mod:`course_utils.datasets.quark_gluon_sim`), written in the same format.

Examples
--------
>>> from course_utils.datasets import quark_gluon
>>> ds = quark_gluon.load(n_jets=10_000)      # doctest: +SKIP
>>> X, y = ds.data                            # (10000, M, 4), (10000,)
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from course_utils.datasets._fetch import fetch
from course_utils.datasets._registry import Dataset, DatasetInfo, RemoteFile, load_with_fallback

__all__ = ["INFO", "FILES", "JETS_PER_FILE", "MAX_JETS", "CLASSES", "read", "load", "files_needed", "pad"]

#: Jets in each real file, and in the whole real dataset.
JETS_PER_FILE = 100_000
MAX_JETS = 2_000_000
#: Label meaning.
CLASSES = {1: "quark", 0: "gluon"}

_ZENODO = "https://zenodo.org/record/3164691/files/{}?download=1"
_DROPBOX = "https://www.dropbox.com/s/{}/{}?dl=1"
# File names, Dropbox link keys and sha256, in file order, as listed by the energyflow
# package (energyflow/data/qg_jets.json, "pythia" / "nobc").
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

#: The 20 real files, in order: the first ``k`` hold the first ``k * 100000`` jets.
FILES: tuple[RemoteFile, ...] = tuple(
    RemoteFile(name=name, urls=(_ZENODO.format(name), _DROPBOX.format(key, name)), sha256=digest)
    for name, key, digest in _TABLE
)

INFO = DatasetInfo(
    name="quark_gluon",
    title="Pythia 8 quark and gluon jets for Energy Flow (Komiske, Metodiev, Thaler)",
    provenance="Zenodo 10.5281/zenodo.3164691, Pythia 8.226 Z+jet samples of arXiv:1810.05165",
    licence="CC BY 4.0",
    citation="P. T. Komiske, E. M. Metodiev, J. Thaler, 'Energy Flow Networks: Deep Sets for Particle Jets', "
             "JHEP 01 (2019) 121, arXiv:1810.05165; samples: doi:10.5281/zenodo.3164691",
    homepage="https://zenodo.org/record/3164691",
    files=FILES,
    doi="10.5281/zenodo.3164691",
    how_to_obtain="Download QG_jets.npz (and QG_jets_1.npz, ... for more than 100,000 jets) from "
                  "https://zenodo.org/record/3164691 and place them in <data>/real/quark_gluon/ "
                  "(see course_utils.config.data_dir()); or set COURSE_DATA_MIRROR to a server holding "
                  "<mirror>/quark_gluon/QG_jets.npz.",
)


def read(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``QG_jets*.npz`` file (real or simulated).

    Parameters
    ----------
    path
        An ``.npz`` file holding ``X`` (n_jets, M, 4) and ``y`` (n_jets,).

    Returns
    -------
    X : numpy.ndarray, shape (n_jets, M, 4), float64
        Constituents ``(pT [GeV], y, phi [rad], PDG id)``, zero-padded.
    y : numpy.ndarray, shape (n_jets,), int64
        1 = quark, 0 = gluon.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        A corrupt or truncated file, missing arrays, a wrong shape, labels
        other than 0/1, NaN, negative pT, or a fourth column that does not hold
        PDG ids (the message says which).
    """
    from course_utils.jets import check_jets

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no quark/gluon file at {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path.name} is not a readable .npz file (corrupt or truncated download?): "
                         "it is not a zip archive. Delete it and load again.")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = set(f.files)
            X = np.asarray(f["X"], dtype=np.float64) if "X" in names else None
            y = np.asarray(f["y"]) if "y" in names else None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{path.name} is not a readable .npz file (corrupt or truncated download?): {exc}. "
                         "Delete it and load again.") from exc
    if X is None or y is None:
        missing = sorted({"X", "y"} - names)
        raise ValueError(f"{path.name} lacks the array(s) {missing}: a QG_jets file holds 'X' (n_jets, M, 4) "
                         f"and 'y' (n_jets,); it has {sorted(names)}")
    if X.ndim != 3 or X.shape[2] != 4:
        raise ValueError(f"{path.name}: X must have shape (n_jets, M, 4) holding (pT, y, phi, PDG id), "
                         f"got {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{path.name}: y must have shape ({len(X)},) to match X, got {y.shape}")
    if len(y) == 0:
        raise ValueError(f"{path.name} holds no jet")
    labels = np.unique(y)
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(f"{path.name}: labels must be 1 (quark) or 0 (gluon), found {labels[:10].tolist()}")
    check_jets(X, name=path.name)
    return X, y.astype(np.int64)


def pad(arrays: list[np.ndarray]) -> np.ndarray:
    """Stack padded jet arrays of shapes (n_i, M_i, 4) into (sum n_i, max M_i, 4), zero-padding."""
    if not arrays:
        raise ValueError("nothing to stack: give at least one array")
    m = max(a.shape[1] for a in arrays)
    out = np.zeros((sum(len(a) for a in arrays), m, arrays[0].shape[2]), dtype=arrays[0].dtype)
    start = 0
    for a in arrays:
        out[start:start + len(a), :a.shape[1]] = a
        start += len(a)
    return out


def _trim(X: np.ndarray) -> np.ndarray:
    """Drop the padding columns that no jet uses."""
    m = int((X[..., 0] > 0).sum(axis=1).max())
    return X[:, :max(m, 1)]


def files_needed(n_jets: int) -> tuple[RemoteFile, ...]:
    """The real files holding the first ``n_jets`` jets (100,000 per file)."""
    _check_n_jets(n_jets)
    if n_jets > MAX_JETS:
        raise ValueError(f"n_jets={n_jets} exceeds the {MAX_JETS:,} jets of the real dataset")
    return FILES[:math.ceil(n_jets / JETS_PER_FILE)]


def _check_n_jets(n_jets: object) -> int:
    if isinstance(n_jets, bool) or not isinstance(n_jets, (int, np.integer)):
        raise ValueError(f"n_jets must be a positive integer, got {n_jets!r}")
    if n_jets < 1:
        raise ValueError(f"n_jets must be >= 1, got {n_jets}")
    return int(n_jets)


def _load_real(n_jets: int, verbose: bool) -> Dataset:
    Xs, ys, paths = [], [], []
    remaining = n_jets
    for remote in files_needed(n_jets):
        path = fetch(INFO.name, remote, progress=verbose)
        X, y = read(path)
        Xs.append(X[:remaining])
        ys.append(y[:remaining])
        paths.append(path)
        remaining -= len(Xs[-1])
        if remaining <= 0:
            break
    X = _trim(pad(Xs))
    y = np.concatenate(ys)
    if len(y) < n_jets:
        raise ValueError(f"the real files hold only {len(y)} jets, {n_jets} were asked for")
    return Dataset((X, y), "real", INFO.name, INFO.provenance, INFO.licence, paths[0].parent,
                   {"n_jets": len(y), "n_quark": int(y.sum()), "n_gluon": int(len(y) - y.sum()),
                    "files": [p.name for p in paths], "doi": INFO.doi})


def load(source: str = "auto", *, n_jets: int, seed: int = 42, verbose: bool = True) -> Dataset:
    """Quark and gluon jets, real or simulated.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the real files if cached or downloadable, else the simulation.
    n_jets
        Number of jets. Real data: the first ``n_jets`` of the files (about half
        quarks); simulation: ``ceil(n/2)`` quark and ``floor(n/2)`` gluon jets, shuffled.
    seed
        Seed of the simulation (the real data do not depend on it).
    verbose
        Print which source was used, its provenance and licence.

    Returns
    -------
    Dataset
        ``.data`` is ``(X, y)``: ``X`` float64 of shape (n_jets, M, 4) holding
        ``(pT [GeV], y, phi [rad], PDG id)`` zero-padded, ``y`` int64 of shape
        (n_jets,), 1 = quark, 0 = gluon.
    """
    n_jets = _check_n_jets(n_jets)
    if source in ("auto", "real") and n_jets > MAX_JETS:
        raise ValueError(f"n_jets={n_jets} exceeds the {MAX_JETS:,} jets of the real dataset")

    def simulated() -> Dataset:
        from course_utils.datasets import quark_gluon_sim

        return quark_gluon_sim.load_simulated(n_jets, seed=seed)

    return load_with_fallback(INFO.name, source, lambda: _load_real(n_jets, verbose), simulated,
                              info=INFO, verbose=verbose)
