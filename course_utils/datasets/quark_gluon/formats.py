"""The published ``QG_jets*.npz`` layout: read one file, write one file.

Each file (Komiske, Metodiev, Thaler; Zenodo 3164691 for Pythia, 3066475 for
Herwig) is a NumPy ``.npz`` archive holding

* ``X``: float64 array of shape (n_jets, M, 4), the constituents ``(pT [GeV],
  y, phi [rad], PDG id)`` of each jet, zero-padded to the largest multiplicity
  M of the file, hardest constituent first;
* ``y``: the labels, 1 = quark, 0 = gluon.

The course's simulation is written with :func:`write`, so that :func:`read`
parses both sources. This module imports neither the loader nor the simulation.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.physics.jets import check_jets
from course_utils.validation import check_count

__all__ = ["read", "write", "pad", "trim"]


def read(path: str | Path, *, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``QG_jets*.npz`` file (published or simulated).

    Parameters
    ----------
    path
        An ``.npz`` file holding ``X`` (n_jets, M, 4) and ``y`` (n_jets,).
    n
        Keep only the first ``n`` jets (all when ``None``); the padding columns
        that none of them uses are dropped.

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
        other than 0/1, NaN, negative pT, a fourth column that does not hold
        PDG ids, or a bad ``n`` (the message says which).
    """
    n = check_count(n, "n", allow_none=True)
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
    if n is not None:
        X, y = trim(X[:n]), y[:n]
    labels = np.unique(y)
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(f"{path.name}: labels must be 1 (quark) or 0 (gluon), found {labels[:10].tolist()}")
    check_jets(X, name=path.name)
    return X, y.astype(np.int64)


def write(data: tuple[Any, Any], path: str | Path) -> Path:
    """Write ``(X, y)`` as a published-layout ``.npz`` file (compressed) and return its path.

    Parameters
    ----------
    data
        ``(X, y)``: ``X`` of shape (n_jets, M, 4) holding ``(pT [GeV], y, phi [rad],
        PDG id)`` zero-padded, ``y`` of shape (n_jets,) with 1 = quark, 0 = gluon.
    path
        Target file (``.npz``); its folder must exist.

    Raises
    ------
    ValueError
        The same checks as :func:`read`: what is written can be read back.
    """
    try:
        X, y = data
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data must be a pair (X, y), got {type(data).__name__}") from exc
    path = Path(path)
    X = check_jets(X, name="X", need_pid=True)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must have shape ({len(X)},) to match X, got {y.shape}")
    if not np.isin(np.unique(y), [0, 1]).all():
        raise ValueError(f"y must hold 1 (quark) or 0 (gluon), found {np.unique(y)[:10].tolist()}")
    if path.suffix != ".npz":
        raise ValueError(f"the published layout is a .npz file, got {path.name!r}")
    np.savez_compressed(path, X=X, y=y.astype(np.int64))
    return path


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


def trim(X: np.ndarray) -> np.ndarray:
    """Drop the padding columns that no jet uses (keeps at least one column)."""
    if len(X) == 0:
        return X
    m = int((X[..., 0] > 0).sum(axis=1).max())
    return X[:, :max(m, 1)]
