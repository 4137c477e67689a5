"""The JetClass ROOT file layout: read, write, and the Particle Transformer's particle inputs.

A JetClass file (Qu, Li, Qian, arXiv:2202.03772; the example file
``JetClass_example_100k.root`` and the ``<Proc>_NNN.root`` files of Zenodo
record 6619768) holds one TTree, ``tree``, one entry per jet, 41 branches
(as ``tree.show()`` lists them in the ParT repository's
``notebooks/JetClass101.ipynb``):

=====================================================  ==================  ==========================================
branches                                               type                content
=====================================================  ==================  ==========================================
``part_px, part_py, part_pz, part_energy``             vector<float>       four-momentum of each particle [GeV]
``part_deta, part_dphi``                               vector<float>       Δη, Δφ of the particle to the jet axis
``part_d0val, part_d0err, part_dzval, part_dzerr``     vector<float>       track impact parameters and errors [mm]
                                                                           (0 for neutral particles)
``part_charge``                                        vector<float>       electric charge (−1, 0, +1)
``part_isChargedHadron, part_isNeutralHadron,``        vector<int32_t>     particle-flow type, one of the five is 1
``part_isPhoton, part_isElectron, part_isMuon``
``label_QCD``                                          float               one-hot class labels: exactly one of the
``label_Hbb, label_Hcc, label_Hgg, label_H4q,``        bool                ten is 1 (the file's own three types,
``label_Hqql``                                                             kept as published)
``label_Zqq, label_Wqq, label_Tbqq, label_Tbl``        int32_t
``jet_pt, jet_eta, jet_phi, jet_energy,``              float               the jet, ``jet_nparticles`` included
``jet_nparticles, jet_sdmass, jet_tau1 ... jet_tau4``                      (a float in the file)
``aux_genpart_eta, aux_genpart_phi, aux_genpart_pid,`` float               generator truth (see :class:`JetClassData`)
``aux_genpart_pt, aux_truth_match``
=====================================================  ==================  ==========================================

An RNTuple named ``tree`` with the same columns is read too.

The published full dataset puts one class in each file (``HToBB_010.root``...),
the example file mixes the ten: :func:`read` accepts any file of this layout,
whatever classes it holds, and returns the labels as one class index
(:data:`CLASSES`, the paper's order). It refuses a file that lacks branches
(naming them), has a particle branch that is not jagged (or a jet branch that
is), or a jet whose labels are not exactly one 1.

:func:`write` writes the same tree, branch names and value types with uproot.
One difference remains, which uproot cannot avoid: it stores a jagged branch as
a C array counted by an extra branch (``float[]`` counted by ``npart``), where
the published files hold ``std::vector<float>``. uproot (and ROOT) read both as
the same ``var * float32`` arrays, and :func:`read` ignores branches it does not
need, such as ``npart``.

:func:`particle_inputs` builds the 17 particle features of the Particle
Transformer with the paper's standardisation (the ParT repository's
``data/JetClass/JetClass_full.yaml``), padded to a fixed number of particles
with a mask.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from course_utils import _files
from course_utils.validation import check_count

__all__ = ["TREE", "CLASSES", "check_classes", "LABELS", "PARTICLE_BRANCHES", "LABEL_BRANCHES", "JET_BRANCHES", "AUX_BRANCHES",
           "BRANCHES", "FEATURES", "STANDARDISATION", "JetClassData", "ParticleInputs", "read", "write",
           "particle_inputs"]

TREE = "tree"
#: The ten classes, in the paper's order: the class index of a jet is its position here.
CLASSES = ("QCD", "Hbb", "Hcc", "Hgg", "H4q", "Hqql", "Zqq", "Wqq", "Tbqq", "Tbl")
#: The label branch of each class, in the same order.
LABELS = tuple(f"label_{c}" for c in CLASSES)

_F4, _I4, _B = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.bool_)
#: Particle branches (jagged: one value per particle) and the type of their values.
PARTICLE_BRANCHES: dict[str, np.dtype] = {
    **{f"part_{k}": _F4 for k in ("px", "py", "pz", "energy", "deta", "dphi", "d0val", "d0err", "dzval", "dzerr",
                                  "charge")},
    **{f"part_is{k}": _I4 for k in ("ChargedHadron", "NeutralHadron", "Photon", "Electron", "Muon")},
}
#: Label branches (one value per jet) and their types, as published: float, bool and int32.
LABEL_BRANCHES: dict[str, np.dtype] = {"label_QCD": _F4, **{f"label_{c}": _B for c in CLASSES[1:6]},
                                       **{f"label_{c}": _I4 for c in CLASSES[6:]}}
#: Jet branches (one float per jet).
JET_BRANCHES: dict[str, np.dtype] = {f"jet_{k}": _F4 for k in ("pt", "eta", "phi", "energy", "nparticles", "sdmass",
                                                               "tau1", "tau2", "tau3", "tau4")}
#: Generator-truth branches (one float per jet): never training inputs (:class:`JetClassData`).
AUX_BRANCHES: dict[str, np.dtype] = {f"aux_{k}": _F4 for k in ("genpart_eta", "genpart_phi", "genpart_pid",
                                                               "genpart_pt", "truth_match")}
#: The 41 branches of the layout, in the published order.
BRANCHES: dict[str, np.dtype] = {**PARTICLE_BRANCHES, **LABEL_BRANCHES, **JET_BRANCHES, **AUX_BRANCHES}
#: Name of the counter branch that uproot adds when it writes the jagged branches.
COUNTER = "npart"

#: The 17 particle features of the Particle Transformer, in the order of ``pf_features`` in
#: ``data/JetClass/JetClass_full.yaml`` (jet-universe/particle_transformer).
FEATURES = ("part_pt_log", "part_e_log", "part_logptrel", "part_logerel", "part_deltaR", "part_charge",
            "part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron", "part_isMuon",
            "part_d0", "part_d0err", "part_dz", "part_dzerr", "part_deta", "part_dphi")
#: ``feature: (subtract_by, multiply_by, clip_min, clip_max)`` of the features that the yaml standardises
#: (``[part_pt_log, 1.7, 0.7]`` ...; clip_min and clip_max default to -5 and 5 there); the others are
#: used as they are.
STANDARDISATION: dict[str, tuple[float, float, float, float]] = {
    "part_pt_log": (1.7, 0.7, -5.0, 5.0),
    "part_e_log": (2.0, 0.7, -5.0, 5.0),
    "part_logptrel": (-4.7, 0.7, -5.0, 5.0),
    "part_logerel": (-4.7, 0.7, -5.0, 5.0),
    "part_deltaR": (0.2, 4.0, -5.0, 5.0),
    "part_d0err": (0.0, 1.0, 0.0, 1.0),
    "part_dzerr": (0.0, 1.0, 0.0, 1.0),
}

_ROOT_MAGIC = b"root"
#: What ``tree`` may be: the published TTree, or the same columns as a ROOT RNTuple (what uproot 5.7
#: writes for ``file["tree"] = {...}``, and where ROOT is moving).
_TREE_CLASSES = ("TTree", "ROOT::RNTuple")


@dataclass(frozen=True)
class JetClassData:
    """The jets of a JetClass file, split by what they may be used for.

    Attributes
    ----------
    particles : awkward.Array, type ``n * var * {part_px: float32, ..., part_isMuon: int32}``
        The 16 ``part_*`` branches, one list of particles per jet, in the
        file's order (hardest first in the published files and the course's
        simulation). Momenta and energies in GeV, impact parameters in mm.
    jets : pandas.DataFrame, shape (n, 10)
        The ``jet_*`` branches (float32): pT, η, φ, energy [GeV], number of
        particles, soft-drop mass [GeV], N-subjettiness τ1 ... τ4.
    y : numpy.ndarray of int64, shape (n,)
        The class index, 0 ... 9, of :data:`CLASSES` (QCD, Hbb, Hcc, Hgg, H4q,
        Hqql, Zqq, Wqq, Tbqq, Tbl): the position of the one label set to 1.
    aux : pandas.DataFrame, shape (n, 5)
        The ``aux_*`` branches: the generator particle the jet was matched to
        (the resonance or top quark; the parton for QCD) with its η, φ, PDG id
        and pT, and whether the match succeeded. **Never a training input**:
        the dataset's authors say so (``notebooks/JetClass101.ipynb``: "SHOULD
        NOT be used in the training of any classifier"), because these are the
        simulation's truth, which no detector measures: the PDG id *is* the
        label (25 for every H class, 6 for the tops), and the generator pT and
        η are those of the particle that defines the class. A classifier fed
        them would learn the answer key, score near-perfectly on simulation,
        and be impossible to apply to collision data, which has no such
        branches. They are kept apart here so that no table of inputs holds
        them by accident; use them only to study a trained model (resolution,
        dependence on the true pT).
    """

    particles: Any
    jets: pd.DataFrame
    y: np.ndarray
    aux: pd.DataFrame

    def __len__(self) -> int:
        return len(self.y)

    def counts(self) -> dict[str, int]:
        """Jets per class, by class name (classes absent from the data included, with 0)."""
        n = np.bincount(self.y, minlength=len(CLASSES))
        return {c: int(k) for c, k in zip(CLASSES, n)}


def check_classes(classes: Any) -> tuple[str, ...] | None:
    """``classes`` as a tuple of known class names in the paper's order (None stays None)."""
    if classes is None:
        return None
    if isinstance(classes, str):
        classes = (classes,)
    names = tuple(classes)
    unknown = [c for c in names if c not in CLASSES]
    if unknown or not names:
        raise ValueError(f"classes must be a non-empty list of names among {list(CLASSES)}, got {names!r}")
    return tuple(c for c in CLASSES if c in names)



class ParticleInputs(NamedTuple):
    """The Particle Transformer's inputs, padded to ``P`` particles per jet.

    Attributes
    ----------
    features : numpy.ndarray of float32, shape (n, P, 17)
        The :data:`FEATURES`, standardised; zero for padded slots.
    vectors : numpy.ndarray of float32, shape (n, P, 4)
        ``(px, py, pz, E)`` [GeV] of each particle (for the pairwise features).
    points : numpy.ndarray of float32, shape (n, P, 2)
        ``(Δη, Δφ)`` to the jet axis (ParticleNet's coordinates).
    mask : numpy.ndarray of bool, shape (n, P)
        True for a real particle, False for padding.
    """

    features: np.ndarray
    vectors: np.ndarray
    points: np.ndarray
    mask: np.ndarray


def _check_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no JetClass ROOT file at {path}" + (" (it is a folder)" if path.is_dir() else ""))
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != _ROOT_MAGIC:
        raise ValueError(f"{path.name} is not a ROOT file (it starts with {magic!r}, a ROOT file with b'root'): "
                         "read() expects a JetClass file (TTree 'tree' with part_*, label_*, jet_*, aux_* branches)")
    return path


def read(path: str | os.PathLike[str], *, n: int | None = None) -> JetClassData:
    """Read a JetClass file, published (any class or mix of classes) or simulated.

    Parameters
    ----------
    path
        A ``.root`` file with the layout of the module docstring.
    n
        Read only the first ``n`` jets (``None``: all).

    Returns
    -------
    JetClassData
        Particles, jet observables, the class index ``y`` (0 ... 9, the
        order of :data:`CLASSES`) and the ``aux_*`` truth, kept apart. The
        values have the published types (float32, int32 flags).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a ROOT file; no TTree ``tree``; branches missing (listed); a
        particle branch that is not jagged or a jet branch that is; a label
        other than 0 or 1, or a jet without exactly one label set; a
        truncated or corrupt file.
    """
    import uproot

    path = _check_path(path)
    n = check_count(n, "n", min_value=0, allow_none=True)
    try:
        with uproot.open(path) as f:
            objects = {k.split(";")[0]: c for k, c in f.classnames().items()}
            if objects.get(TREE) not in _TREE_CLASSES:
                raise ValueError(f"{path.name} has no TTree {TREE!r}: it holds {objects or 'nothing'}; read() expects "
                                 "a JetClass file")
            tree = f[TREE]
            have = set(tree.keys(recursive=False))
            missing = [b for b in BRANCHES if b not in have]
            if missing:
                raise ValueError(f"{path.name}: TTree {TREE!r} lacks {len(missing)} of the 41 JetClass branches: "
                                 f"{', '.join(missing)} (it has {sorted(have)[:12]}{' ...' if len(have) > 12 else ''})")
            stop = tree.num_entries if n is None else min(n, tree.num_entries)
            arrays = tree.arrays(list(BRANCHES), entry_stop=stop, library="ak")
    except ValueError:
        raise
    except Exception as exc:  # uproot's decompression and deserialisation errors on a damaged file
        raise ValueError(f"{path.name} could not be read: truncated or corrupt file? ({type(exc).__name__}: {exc}); "
                         "delete it to fetch it again") from exc
    return _from_arrays(arrays, path.name)


def _values(x: Any, name: str, jagged: bool, where: str) -> Any:
    """The branch's values as a NumPy array (flat) or awkward array (jagged), type checked."""
    import awkward as ak

    depth = x.ndim
    if jagged and depth != 2:
        raise ValueError(f"{where}: {name} must hold one list of values per jet (vector<...>), it holds "
                         f"{ak.type(x)}")
    if not jagged and depth != 1:
        raise ValueError(f"{where}: {name} must hold one value per jet, it holds {ak.type(x)}")
    flat = ak.to_numpy(ak.flatten(x) if jagged else x)
    if flat.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {name} must be numeric, it holds {flat.dtype}")
    return x


def _from_arrays(arrays: Any, where: str) -> JetClassData:
    import awkward as ak

    parts = {}
    for b, dt in PARTICLE_BRANCHES.items():
        parts[b] = ak.values_astype(_values(arrays[b], b, True, where), dt)
    particles = ak.zip(parts)
    labels = np.stack([ak.to_numpy(_values(arrays[b], b, False, where)).astype(np.float64) for b in LABELS],
                      axis=1)
    bad = ~np.isin(labels, (0.0, 1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{where}: {LABELS[j]} of jet {i} is {labels[i, j]!r}: labels must be 0 or 1")
    total = labels.sum(axis=1)
    if np.any(total != 1):
        wrong = np.flatnonzero(total != 1)
        raise ValueError(f"{where}: {len(wrong)} jets do not have exactly one label set (jet {wrong[0]} has "
                         f"{int(total[wrong[0]])}): the ten label_* branches must be one-hot")
    y = labels.argmax(axis=1).astype(np.int64)
    jets = pd.DataFrame({b: ak.to_numpy(_values(arrays[b], b, False, where)).astype(dt)
                         for b, dt in JET_BRANCHES.items()})
    aux = pd.DataFrame({b: ak.to_numpy(_values(arrays[b], b, False, where)).astype(dt)
                        for b, dt in AUX_BRANCHES.items()})
    return JetClassData(particles, jets, y, aux)


def _check_data(data: Any) -> JetClassData:
    import awkward as ak

    if not isinstance(data, JetClassData):
        raise ValueError(f"data must be a JetClassData (as read() returns), got {type(data).__name__}")
    n = len(data.y)
    if len(data.particles) != n or len(data.jets) != n or len(data.aux) != n:
        raise ValueError(f"particles, jets, y and aux must have one row per jet: got {len(data.particles)}, "
                         f"{len(data.jets)}, {n}, {len(data.aux)}")
    fields = ak.fields(data.particles)
    if sorted(fields) != sorted(PARTICLE_BRANCHES):
        raise ValueError(f"particles must have exactly the fields {list(PARTICLE_BRANCHES)}, got {fields}")
    for frame, expected, what in ((data.jets, JET_BRANCHES, "jets"), (data.aux, AUX_BRANCHES, "aux")):
        if sorted(frame.columns) != sorted(expected):
            raise ValueError(f"{what} must have exactly the columns {list(expected)}, got {list(frame.columns)}")
    y = np.asarray(data.y)
    if y.ndim != 1 or (n and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= len(CLASSES))):
        raise ValueError(f"y must be integer class indices in [0, {len(CLASSES) - 1}], got {y[:5]!r}")
    return data


def write(data: JetClassData, path: str | os.PathLike[str], *, chunk: int = 20_000) -> Path:
    """Write jets in the JetClass layout: TTree ``tree``, the 41 branches with their published types.

    Parameters
    ----------
    data : JetClassData
        What :func:`read` returns (the class index ``y`` becomes the ten
        one-hot ``label_*`` branches, as float, bool or int32 like the
        published files).
    path
        The ROOT file to create (written to a temporary file, then renamed).
    chunk
        Jets per basket.

    Returns
    -------
    Path
        ``path``. The jagged branches are counted by an extra ``npart``
        branch (module docstring).
    """
    import awkward as ak
    import uproot

    data = _check_data(data)
    chunk = check_count(chunk, "chunk")
    n = len(data)
    if n == 0:
        raise ValueError("data holds no jet: nothing to write")
    columns: dict[str, Any] = {b: ak.values_astype(data.particles[b], dt) for b, dt in PARTICLE_BRANCHES.items()}
    y = np.asarray(data.y)
    for k, (b, dt) in enumerate(LABEL_BRANCHES.items()):
        columns[b] = (y == k).astype(dt)
    for frame, spec in ((data.jets, JET_BRANCHES), (data.aux, AUX_BRANCHES)):
        for b, dt in spec.items():
            columns[b] = frame[b].to_numpy().astype(dt)
    types = {b: columns[b].type.content if b in PARTICLE_BRANCHES else dt for b, dt in BRANCHES.items()}
    path = Path(path)
    with _files.atomic_path(path) as tmp:
        with uproot.recreate(tmp) as out:
            tree = out.mktree(TREE, types, title=TREE, counter_name=lambda branch: COUNTER)
            for start in range(0, n, chunk):
                tree.extend({b: v[start:start + chunk] for b, v in columns.items()})
    return path


def particle_inputs(data: JetClassData, *, max_particles: int = 128) -> ParticleInputs:
    """The 17 particle features of the Particle Transformer, standardised, padded, with a mask.

    The definitions and constants are those of the ParT repository's
    ``data/JetClass/JetClass_full.yaml`` (jet-universe/particle_transformer):

    * ``part_pt_log = ln pT``, ``part_e_log = ln E``, ``part_logptrel = ln(pT / pT_jet)``,
      ``part_logerel = ln(E / E_jet)``, ``part_deltaR = hypot(Δη, Δφ)``, then
      ``(x - subtract_by) * multiply_by`` clipped to [-5, 5]
      (:data:`STANDARDISATION`);
    * ``part_d0 = tanh(d0val)``, ``part_dz = tanh(dzval)`` as they are;
      ``part_d0err`` and ``part_dzerr`` clipped to [0, 1];
    * ``part_charge``, the five flags, ``part_deta``, ``part_dphi`` as they are.

    The ``max_particles`` hardest particles of each jet are kept (the
    particles are put in decreasing pT first: the published files are already
    in that order, but any file of the layout is accepted, and truncation must
    drop the softest); shorter jets are padded with zeros and
    ``mask`` False. (The yaml pads the features with ``wrap``, repeating the
    jet's particles, for training with weaver; the mask is zero there too, so a
    model that respects the mask sees the same thing. ``JetClass101.ipynb``
    pads with zeros, as here.)

    Parameters
    ----------
    data : JetClassData
    max_particles
        P, the number of particle slots (128 in the paper).

    Returns
    -------
    ParticleInputs
        ``features`` (n, P, 17), ``vectors`` (n, P, 4), ``points`` (n, P, 2), ``mask`` (n, P).
    """
    import awkward as ak

    if not isinstance(data, JetClassData):
        raise ValueError(f"data must be a JetClassData (as read() returns), got {type(data).__name__}")
    P = check_count(max_particles, "max_particles")
    p = data.particles
    p = p[ak.argsort(np.hypot(p["part_px"], p["part_py"]), axis=1, ascending=False, stable=True)]
    pt_jet = data.jets["jet_pt"].to_numpy().astype(np.float32)
    e_jet = data.jets["jet_energy"].to_numpy().astype(np.float32)

    def pad(x: Any) -> np.ndarray:
        # float32 throughout: 100,000 jets x 128 slots take 51 MB per feature
        return ak.to_numpy(ak.fill_none(ak.pad_none(ak.values_astype(x, np.float32), P, axis=1, clip=True),
                                        np.float32(0.0)))

    px, py, energy = pad(p["part_px"]), pad(p["part_py"]), pad(p["part_energy"])
    mask = pad(ak.ones_like(p["part_energy"])) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        pt = np.hypot(px, py)
        raw = {
            "part_pt_log": np.log(pt),
            "part_e_log": np.log(energy),
            "part_logptrel": np.log(pt / pt_jet[:, None]),
            "part_logerel": np.log(energy / e_jet[:, None]),
            "part_deltaR": np.hypot(pad(p["part_deta"]), pad(p["part_dphi"])),
            "part_d0": np.tanh(pad(p["part_d0val"])),
            "part_dz": np.tanh(pad(p["part_dzval"])),
        }
    cols = []
    for name in FEATURES:
        x = raw[name] if name in raw else pad(p[name])
        if name in STANDARDISATION:
            sub, mul, lo, hi = STANDARDISATION[name]
            x = np.clip((x - sub) * mul, lo, hi)
        cols.append(np.where(mask, x, np.float32(0.0)).astype(np.float32, copy=False))
    features = np.stack(cols, axis=-1).astype(np.float32)
    vectors = np.stack([px, py, pad(p["part_pz"]), energy], axis=-1).astype(np.float32)
    points = np.stack([pad(p["part_deta"]), pad(p["part_dphi"])], axis=-1).astype(np.float32)
    return ParticleInputs(features, vectors, points, mask)
