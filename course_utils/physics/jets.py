"""Jets as sets of particles: observables, preprocessing and images, all vectorised in NumPy.

A batch of jets is a zero-padded array ``X`` of shape ``(n_jets, n_particles, 4)``
holding, for each constituent, ``(pT [GeV], y, phi [rad], PDG id)``: the format
of the Komiske-Metodiev-Thaler quark/gluon dataset
(:mod:`course_utils.datasets.quark_gluon`). Padding rows have ``pT = 0``.
Arrays with only the first three columns are accepted where the particle
identity is not needed; constituents are then taken as massless.

Observables (one row per jet, :func:`jet_observables`)
------------------------------------------------------
``multiplicity``  number of constituents;
``mass``          invariant mass of the jet (GeV), PDG masses of the constituents;
``width``         girth, ``sum_i pT_i dR_i / sum_i pT_i`` around the jet axis;
``ptd``           ``sqrt(sum_i pT_i**2) / sum_i pT_i``;
``lha``           Les Houches angularity ``sum_i z_i (dR_i / R)**0.5``;
``e2``            two-point energy correlation ``sum_{i<j} z_i z_j dR_ij``;
``c2``, ``d2``    energy-correlation ratios ``e3 / e2**2`` and ``e3 / e2**3`` (beta = 1),
                  with ``e3 = sum_{i<j<k} z_i z_j z_k dR_ij dR_ik dR_jk``.

Here ``z_i = pT_i / sum_j pT_j`` and ``dR`` is the distance in the (y, phi) plane.

Examples
--------
>>> import numpy as np
>>> from course_utils.physics import jets
>>> X = np.array([[[100.0, 0.1, 0.0, 211], [100.0, -0.1, 0.0, 22]]])
>>> round(float(jets.jet_observables(X)["width"].iloc[0]), 6)
0.1
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from course_utils.validation import check_count

__all__ = [
    "PDG_MASSES", "PDG_CHARGES", "OBSERVABLES", "check_jets", "multiplicity", "jet_four_momenta",
    "jet_kinematics", "jet_observables", "center", "rotate", "normalize_pt", "preprocess",
    "particle_features", "PARTICLE_FEATURES", "jet_images",
]

#: Masses (GeV) of the particles that are stable in a Pythia event (default decays).
PDG_MASSES: dict[int, float] = {
    22: 0.0, 11: 0.000511, 13: 0.105658, 211: 0.139570, 321: 0.493677, 130: 0.497611,
    310: 0.497611, 2212: 0.938272, 2112: 0.939565, 3122: 1.115683, 3112: 1.197449,
    3222: 1.189370, 3312: 1.32171, 3322: 1.31486, 3334: 1.67245,
}
#: Electric charge of each particle (the antiparticle, id < 0, has the opposite charge).
PDG_CHARGES: dict[int, int] = {
    22: 0, 11: -1, 13: -1, 211: 1, 321: 1, 130: 0, 310: 0, 2212: 1, 2112: 0,
    3122: 0, 3112: -1, 3222: 1, 3312: -1, 3322: 0, 3334: -1,
}
#: Columns of :func:`jet_observables`.
OBSERVABLES = ("multiplicity", "mass", "width", "ptd", "lha", "e2", "c2", "d2")

_TWO_PI = 2.0 * np.pi


def check_jets(X: Any, name: str = "X", *, need_pid: bool = False) -> np.ndarray:
    """Validate a padded batch of jets and return it as a float64 array.

    Parameters
    ----------
    X : array-like, shape (n_jets, n_particles, 4) or (n_jets, n_particles, 3)
        Constituents ``(pT, y, phi[, PDG id])``; padding rows have ``pT = 0``.
    need_pid
        Require the fourth column (PDG ids) and check that every id is known.

    Raises
    ------
    ValueError
        Wrong shape, empty batch, NaN or infinite values, negative pT, or
        particle ids that are not PDG Monte Carlo numbers.
    """
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be read as a float array: {exc}") from exc
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"{name} must have shape (n_jets, n_particles, 4) holding (pT, y, phi, PDG id) "
                         f"(or 3 columns without the id), got shape {arr.shape}")
    if need_pid and arr.shape[2] != 4:
        raise ValueError(f"{name} has no PDG id column (shape {arr.shape}): 4 columns (pT, y, phi, PDG id) needed")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): at least one jet with one particle is expected")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN or infinite value(s)")
    if (arr[..., 0] < 0).any():
        raise ValueError(f"{name} has negative pT values (column 0): min {arr[..., 0].min():.4g}")
    if arr.shape[2] == 4:
        check_pids(arr[..., 3][arr[..., 0] > 0], name)
    return arr


def check_pids(pids: np.ndarray, name: str = "X") -> None:
    """``ValueError`` unless every value is a known PDG id (an integer such as 211, -321, 22)."""
    pids = np.asarray(pids, dtype=float)
    if pids.size == 0:
        return
    if not np.array_equal(pids, np.round(pids)):
        odd = np.unique(pids[pids != np.round(pids)])[:5]
        raise ValueError(f"{name}: column 3 must hold integer PDG ids (211 for pi+, 22 for a photon...), "
                         f"got non-integer values such as {odd.tolist()}; ids remapped to small floats "
                         "(energyflow's remap_pids) are not this convention")
    known = np.array(sorted(PDG_MASSES))
    uniq = np.unique(np.abs(pids).astype(np.int64))
    unknown = uniq[~np.isin(uniq, known)]
    if unknown.size:
        raise ValueError(f"{name}: unknown PDG id(s) {unknown[:8].tolist()} in column 3; expected the PDG Monte "
                         f"Carlo numbers of stable particles, one of +/-{known.tolist()}")


def _mask(X: np.ndarray) -> np.ndarray:
    return X[..., 0] > 0


def multiplicity(X: Any) -> np.ndarray:
    """Number of constituents (``pT > 0``) of each jet, shape (n_jets,), int."""
    return _mask(check_jets(X)).sum(axis=1)


def _masses(X: np.ndarray) -> np.ndarray:
    """Mass of each constituent (GeV) from its PDG id; 0 without the id column."""
    if X.shape[2] < 4:
        return np.zeros(X.shape[:2])
    ids = np.abs(X[..., 3]).astype(np.int64)
    table = np.zeros(max(PDG_MASSES) + 1)
    for pid, m in PDG_MASSES.items():
        table[pid] = m
    return np.where(_mask(X), table[np.clip(ids, 0, len(table) - 1)], 0.0)


def _constituent_p4(X: np.ndarray) -> np.ndarray:
    """(E, px, py, pz) of each constituent, shape (n_jets, n_particles, 4); zero for padding."""
    pt, y, phi = X[..., 0], X[..., 1], X[..., 2]
    mt = np.sqrt(pt**2 + _masses(X) ** 2)
    return np.stack([mt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)], axis=-1)


def jet_four_momenta(X: Any) -> np.ndarray:
    """Sum of the constituents' four-momenta, ``(E, px, py, pz)`` in GeV, shape (n_jets, 4)."""
    X = check_jets(X)
    return _constituent_p4(X).sum(axis=1)


def _kinematics(X: np.ndarray) -> dict[str, np.ndarray]:
    E, px, py, pz = np.moveaxis(_constituent_p4(X).sum(axis=1), -1, 0)
    pt = np.hypot(px, py)
    m2 = E**2 - px**2 - py**2 - pz**2
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 * np.log((E + pz) / (E - pz))
    y = np.where(E > np.abs(pz), y, 0.0)
    phi = np.arctan2(py, px)
    return {"pt": pt, "y": y, "phi": phi, "mass": np.sqrt(np.clip(m2, 0.0, None))}


def jet_kinematics(X: Any) -> pd.DataFrame:
    """Jet ``pt`` (GeV), rapidity ``y``, azimuth ``phi`` (rad) and ``mass`` (GeV), one row per jet."""
    return pd.DataFrame(_kinematics(check_jets(X)))


def _wrap(dphi: np.ndarray) -> np.ndarray:
    """Angle differences brought into [-pi, pi)."""
    return (dphi + np.pi) % _TWO_PI - np.pi


def _correlations(z: np.ndarray, y: np.ndarray, phi: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``e2 = sum_{i<j} z_i z_j dR_ij`` and ``e3 = sum_{i<j<k} z_i z_j z_k dR_ij dR_ik dR_jk`` of a batch.

    ``e3`` is ``trace(B @ B @ B) / 6`` with ``B = diag(z) dR`` (``dR_ii = 0``
    removes every term with a repeated index).
    """
    dphi = phi[:, :, None] - phi[:, None, :]
    if np.abs(phi).max() > np.pi / 2:  # some pair may need the periodic wrap (never for real jets)
        dphi = _wrap(dphi)
    dr = np.hypot(y[:, :, None] - y[:, None, :], dphi)
    dr *= mask[:, :, None] & mask[:, None, :]
    e2 = 0.5 * np.einsum("ni,nij,nj->n", z, dr, z)
    b = z[:, :, None] * dr
    e3 = np.einsum("nij,nji->n", b @ b, b) / 6.0
    return e2, e3


def jet_observables(X: Any, R: float = 0.4, *, batch_size: int = 1024) -> pd.DataFrame:
    """The classic quark/gluon observables of each jet, from its constituents.

    Parameters
    ----------
    X : array-like, shape (n_jets, n_particles, 4)
        Zero-padded constituents ``(pT [GeV], y, phi [rad], PDG id)`` (3 columns: massless).
    R
        Jet radius, used by the angularity ``lha``.
    batch_size
        Jets per batch for the pairwise terms (memory ~ ``batch_size * n**2 * 8`` bytes).

    Returns
    -------
    pandas.DataFrame
        One row per jet, columns :data:`OBSERVABLES` (see the module docstring).
        The ratios ``c2`` and ``d2`` are 0 for jets with fewer than three
        constituents (``e3 = 0``) and for jets with ``e2 = 0``.

    Notes
    -----
    The jet axis is the direction of the summed four-momentum; constituents'
    azimuths are taken relative to it (periodicity handled). Everything is
    vectorised: no Python loop over jets. The pairwise terms are computed on
    batches of jets of similar multiplicity, each trimmed to its largest
    multiplicity, so the cost is about ``sum_jets n_i**3`` (batched matrix products).
    """
    if not R > 0:
        raise ValueError(f"R must be > 0, got {R!r}")
    batch_size = check_count(batch_size, "batch_size")
    X = check_jets(X)
    mask = _mask(X)
    # Constituents first (stable order), so that trimming the padding is a slice.
    order = np.argsort(~mask, axis=1, kind="stable")
    X = np.take_along_axis(X, order[..., None], axis=1)
    mask = _mask(X)
    n = mask.sum(axis=1)
    kin = _kinematics(X)
    pt = X[..., 0]
    sum_pt = pt.sum(axis=1)
    safe = np.where(sum_pt > 0, sum_pt, 1.0)
    z = pt / safe[:, None]
    dy = X[..., 1] - kin["y"][:, None]
    dphi = _wrap(X[..., 2] - kin["phi"][:, None])
    dr_axis = np.where(mask, np.hypot(dy, dphi), 0.0)
    e2 = np.zeros(len(X))
    e3 = np.zeros(len(X))
    by_n = np.argsort(n, kind="stable")
    # Many small matrix products: BLAS threads only add overhead (a lot of it on a busy machine).
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, len(X), batch_size):
            idx = by_n[start:start + batch_size]
            m = max(int(n[idx].max()), 1)
            # Azimuths relative to the jet axis: pairwise differences then rarely need wrapping.
            e2[idx], e3[idx] = _correlations(z[idx, :m], X[idx, :m, 1], dphi[idx, :m], mask[idx, :m])
    with np.errstate(divide="ignore", invalid="ignore"):
        c2 = np.where(e2 > 0, e3 / e2**2, 0.0)
        d2 = np.where(e2 > 0, e3 / e2**3, 0.0)
    return pd.DataFrame({
        "multiplicity": n,
        "mass": kin["mass"],
        "width": (z * dr_axis).sum(axis=1),
        "ptd": np.sqrt((pt**2).sum(axis=1)) / safe,
        "lha": (z * np.sqrt(dr_axis / R)).sum(axis=1),
        "e2": e2,
        "c2": c2,
        "d2": d2,
    })


# --------------------------------------------------------------------------- preprocessing

def center(X: Any) -> np.ndarray:
    """Shift each jet so that its pT-weighted centroid in (y, phi) is at (0, 0).

    The azimuths are first taken relative to the jet axis (periodicity handled).
    Padding rows stay zero. Returns a new array, shape as ``X``.
    """
    X = check_jets(X).copy()
    mask = _mask(X)
    kin = _kinematics(X)
    X[..., 2] = np.where(mask, _wrap(X[..., 2] - kin["phi"][:, None]), 0.0)
    pt = X[..., 0]
    w = pt / np.where(pt.sum(axis=1) > 0, pt.sum(axis=1), 1.0)[:, None]
    for col in (1, 2):
        centroid = (w * X[..., col]).sum(axis=1)
        X[..., col] = np.where(mask, X[..., col] - centroid[:, None], 0.0)
    return X


def rotate(X: Any) -> np.ndarray:
    """Rotate each (centred) jet in the (y, phi) plane so its principal axis is vertical.

    The principal axis is the main eigenvector of the pT-weighted second-moment
    matrix of (y, phi). The jet is then reflected so that the pT-weighted mean
    of ``y`` and of ``phi`` over the half-planes is non-negative (the hardest
    side of the jet is always up and right). Apply :func:`center` first.
    """
    X = check_jets(X).copy()
    mask = _mask(X)
    w, y, phi = X[..., 0], X[..., 1], X[..., 2]
    syy, spp, syp = (w * y * y).sum(1), (w * phi * phi).sum(1), (w * y * phi).sum(1)
    # Angle of the principal axis from the y axis; rotate it onto the phi axis.
    theta = 0.5 * np.arctan2(2 * syp, syy - spp)
    alpha = np.pi / 2 - theta
    c, s = np.cos(alpha)[:, None], np.sin(alpha)[:, None]
    y2, phi2 = c * y - s * phi, s * y + c * phi
    flip_y = np.where((w * y2 * np.abs(y2)).sum(1) < 0, -1.0, 1.0)[:, None]
    flip_p = np.where((w * phi2 * np.abs(phi2)).sum(1) < 0, -1.0, 1.0)[:, None]
    X[..., 1] = np.where(mask, y2 * flip_y, 0.0)
    X[..., 2] = np.where(mask, phi2 * flip_p, 0.0)
    return X


def normalize_pt(X: Any) -> np.ndarray:
    """Divide each constituent's pT by the jet's scalar pT sum: column 0 becomes ``z_i`` (sums to 1)."""
    X = check_jets(X).copy()
    s = X[..., 0].sum(axis=1, keepdims=True)
    X[..., 0] = X[..., 0] / np.where(s > 0, s, 1.0)
    return X


def preprocess(X: Any, *, centre: bool = True, rotation: bool = False, normalise: bool = True) -> np.ndarray:
    """Centre, optionally rotate, and normalise the pT of a batch of jets.

    Returns an array shaped like ``X`` with ``(z or pT, y', phi', PDG id)``.
    """
    out = check_jets(X)
    if centre:
        out = center(out)
    if rotation:
        out = rotate(out)
    if normalise:
        out = normalize_pt(out)
    return out


#: Columns of :func:`particle_features`.
PARTICLE_FEATURES = ("z", "dy", "dphi", "log_z", "charge", "photon", "charged_hadron", "neutral_hadron",
                     "electron", "muon")
_NEUTRAL_HADRONS = {130, 310, 2112, 3122, 3322}


def particle_features(X: Any) -> np.ndarray:
    """Per-particle inputs of a particle-level network, shape (n_jets, n_particles, 10), float32.

    Jets are centred and pT-normalised (:func:`preprocess`); each particle gets
    ``z``, ``dy``, ``dphi``, ``log z`` (0 for padding), its electric charge and
    a one-hot of its type (photon, charged hadron, neutral hadron, electron,
    muon), from the PDG id. Padding rows are all zero. Columns:
    :data:`PARTICLE_FEATURES`.
    """
    X = check_jets(X, need_pid=True)
    P = preprocess(X)
    mask = _mask(P)
    ids = P[..., 3].astype(np.int64)
    aid = np.abs(ids)
    sign = np.sign(ids)
    charge_table = np.zeros(max(PDG_CHARGES) + 1)
    for pid, q in PDG_CHARGES.items():
        charge_table[pid] = q
    charge = charge_table[aid] * sign
    photon = aid == 22
    electron = aid == 11
    muon = aid == 13
    neutral_h = np.isin(aid, list(_NEUTRAL_HADRONS))
    charged_h = mask & ~photon & ~electron & ~muon & ~neutral_h
    z = P[..., 0]
    log_z = np.where(mask, np.log(np.where(mask, z, 1.0)), 0.0)
    feats = np.stack([z, P[..., 1], P[..., 2], log_z, charge, photon, charged_h, neutral_h, electron, muon], axis=-1)
    feats = feats * mask[..., None]
    return feats.astype(np.float32)


def jet_images(X: Any, *, n_pixels: int = 33, extent: float = 0.4, rotation: bool = False) -> np.ndarray:
    """Jet images: the pT fraction falling in each pixel of the (y, phi) plane around the centroid.

    Parameters
    ----------
    X : array-like, shape (n_jets, n_particles, 3 or 4)
        Constituents ``(pT, y, phi[, id])``.
    n_pixels
        Pixels per side.
    extent
        Half-width of the image in y and phi (rad): pixels cover [-extent, extent].
    rotation
        Also rotate the jets (:func:`rotate`) before pixelising.

    Returns
    -------
    numpy.ndarray, shape (n_jets, n_pixels, n_pixels), float32
        ``image[j, i_y, i_phi]``: sum of ``z`` of the particles in the pixel;
        each image sums to at most 1 (particles outside the window are dropped).
    """
    n_pixels = check_count(n_pixels, "n_pixels")
    if not extent > 0:
        raise ValueError(f"extent must be > 0, got {extent!r}")
    P = preprocess(X, rotation=rotation)
    n_jets = P.shape[0]
    z, y, phi = P[..., 0], P[..., 1], P[..., 2]
    iy = np.floor((y + extent) / (2 * extent) * n_pixels).astype(np.int64)
    ip = np.floor((phi + extent) / (2 * extent) * n_pixels).astype(np.int64)
    keep = (z > 0) & (iy >= 0) & (iy < n_pixels) & (ip >= 0) & (ip < n_pixels)
    jet = np.broadcast_to(np.arange(n_jets)[:, None], z.shape)
    flat = (jet[keep] * n_pixels + iy[keep]) * n_pixels + ip[keep]
    img = np.bincount(flat, weights=z[keep], minlength=n_jets * n_pixels * n_pixels)
    return img.reshape(n_jets, n_pixels, n_pixels).astype(np.float32)
