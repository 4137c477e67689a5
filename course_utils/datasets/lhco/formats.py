"""The LHC Olympics 2020 R&D high-level features file, ``events_anomalydetection_v2.features.h5``.

A pandas HDF5 file (written by ``DataFrame.to_hdf``, read by
``pandas.read_hdf``, which needs PyTables), one key, ``"df"``, in pandas'
*fixed* format (one float64 block, ``df/block0_values``), one row per event
and 15 columns (:data:`COLUMNS`):

* ``pxj1, pyj1, pzj1`` [GeV]: momentum of the leading jet (highest pT);
* ``mj1`` [GeV]: its mass;
* ``tau1j1, tau2j1, tau3j1``: its N-subjettiness τ₁, τ₂, τ₃ (β = 1);
* the same seven for the second jet (``...j2``);
* ``label``: 1.0 for the W′ → X Y signal, 0.0 for QCD (float, like the rest).

The published file has 1,100,000 rows: the 1,000,000 QCD events first, then
the 100,000 signal events. Jets are anti-kT, R = 1.

``read`` parses both the published file and the course's simulation
(:mod:`~course_utils.datasets.lhco.simulation`), which :func:`write` produces
in exactly this layout.

The raw-event layout
--------------------
The features file is a derived product: the R&D dataset itself
(``events_anomalydetection_v2.h5``, Zenodo 4536377; ``events_anomalydetection.h5``,
Zenodo 2629073) and the three black boxes (``events_LHCO2020_BlackBox*.h5``) are
published as **raw events**: a pandas HDF5 file, key ``"df"``, one row per event
and 2100 columns, up to :data:`RAW_PARTICLES` = 700 particles × (pT [GeV], η, φ),
zero-padded, plus, in the R&D file only, a 2101st column: the label (1 signal,
0 QCD). The black boxes have no label.

:func:`read_events` parses that layout and computes the features of the
features file from the particles with the course's FastJet and N-subjettiness
code (:func:`course_utils.physics.dijets.dijet_features`: anti-kT R = 1, the two
leading jets, their momenta, masses and τ₁, τ₂, τ₃), so that it returns the
same table as :func:`read` (``label`` is NaN for a black box). :func:`read`
recognises the layout by its number of columns and hands raw files to
:func:`read_events`. :func:`write_events` writes the raw layout (the course's
simulation can produce it: :func:`~course_utils.datasets.lhco.simulation.simulate_events`).
PyTables (``tables``) reads both layouts, through pandas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.physics.dijets import dijet_features
from course_utils.validation import check_count

__all__ = ["KEY", "JET_COLUMNS", "COLUMNS", "RAW_PARTICLES", "RAW_COLUMNS", "layout", "read", "write",
           "read_events", "write_events"]

#: The HDF5 key of the published file (``pd.read_hdf(path, "df")``).
KEY = "df"
#: The seven columns of each jet, without the ``j1``/``j2`` suffix.
JET_COLUMNS = ("px", "py", "pz", "m", "tau1", "tau2", "tau3")
#: The 15 columns of the file, in order.
COLUMNS = [*(f"{c}j1" for c in JET_COLUMNS), *(f"{c}j2" for c in JET_COLUMNS), "label"]

#: Particles per event in the raw-event layout.
RAW_PARTICLES = 700
#: Columns of the raw layout without the label: (pT, η, φ) of particle 0, then 1, ... (2100).
RAW_COLUMNS = 3 * RAW_PARTICLES

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _open_checked(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"no LHCO file at {path}")
    with open(path, "rb") as fh:
        head = fh.read(len(_HDF5_MAGIC))
    if head != _HDF5_MAGIC:
        raise ValueError(f"{path} is not an HDF5 file (it starts with {head!r}); expected an LHCO file")


def _shape(store: pd.HDFStore, path: Path) -> tuple[int, list]:
    """Rows and column names of the key ``"df"`` (without reading the rows)."""
    keys = [k.lstrip("/") for k in store.keys()]
    if KEY not in keys:
        raise ValueError(f"{path} has no key {KEY!r} (it has {keys}): not an LHCO file")
    storer = store.get_storer(KEY)
    nrows = int(storer.nrows) if getattr(storer, "is_table", False) else int(storer.shape[0])
    return nrows, list(store.select(KEY, start=0, stop=1).columns)


def layout(path: str | Path) -> str:
    """Which LHCO layout a file has: ``"features"`` (15 columns), ``"raw"`` (2101) or ``"raw-unlabelled"`` (2100).

    A file with some of the features file's columns is ``"features"`` (:func:`read` then
    says which columns are missing).

    Raises
    ------
    FileNotFoundError, ValueError
        No file; not HDF5; no key ``"df"``; another number of columns.
    """
    path = Path(path)
    _open_checked(path)
    try:
        with pd.HDFStore(path, mode="r") as store:
            _, columns = _shape(store, path)
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"cannot read {path} as a pandas HDF5 file ({type(exc).__name__}: {exc}); "
                         "the file may be truncated") from exc
    if len(columns) in (RAW_COLUMNS, RAW_COLUMNS + 1):
        return "raw" if len(columns) == RAW_COLUMNS + 1 else "raw-unlabelled"
    if len(columns) == len(COLUMNS) or set(columns) & set(COLUMNS):
        return "features"  # read() says which columns are missing or unexpected
    raise ValueError(f"{path}: {len(columns)} columns; expected {len(COLUMNS)} (features file) or "
                     f"{RAW_COLUMNS} / {RAW_COLUMNS + 1} (raw events, with or without the label)")


def read(path: str | Path, *, n: int | None = None) -> pd.DataFrame:
    """Read a features file (published or simulated), or compute it from a raw-event file.

    Parameters
    ----------
    path
        The ``.h5`` file: a features file, or raw events (2100 or 2101
        columns), which :func:`read_events` turns into features.
    n
        Read only the first ``n`` rows (``None``: all). The published file is
        sorted by label (background first), so a head is background only:
        :func:`~course_utils.datasets.lhco.load` samples both classes instead.

    Returns
    -------
    pandas.DataFrame, shape (rows, 15)
        Columns :data:`COLUMNS`, float64; ``label`` is 0.0 or 1.0.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an HDF5 file, no ``"df"`` key, wrong columns, NaN or labels other
        than 0 and 1.
    """
    path = Path(path)
    n = check_count(n, "n", allow_none=True)
    if layout(path) != "features":
        return read_events(path, n=n)
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = [k.lstrip("/") for k in store.keys()]
            if KEY not in keys:
                raise ValueError(f"{path} has no key {KEY!r} (it has {keys}): not an LHCO features file")
            storer = store.get_storer(KEY)
            if getattr(storer, "is_table", False):
                df = store.select(KEY, stop=None if n is None else int(n))
            else:
                df = store.get(KEY)
                if n is not None:
                    df = df.iloc[: int(n)]
    except ValueError:
        raise
    except Exception as exc:  # PyTables raises its own errors on damaged files
        raise ValueError(f"cannot read {path} as a pandas HDF5 file ({type(exc).__name__}: {exc}); "
                         "the file may be truncated: delete it to fetch it again") from exc
    if list(df.columns) != COLUMNS:
        missing = [c for c in COLUMNS if c not in df.columns]
        extra = [c for c in df.columns if c not in COLUMNS]
        raise ValueError(f"{path}: columns differ from the LHCO features layout (missing {missing}, "
                         f"unexpected {extra}); expected {COLUMNS}")
    df = df.astype(np.float64).reset_index(drop=True)
    if not np.all(np.isfinite(df.to_numpy())):
        raise ValueError(f"{path} holds NaN or infinite values")
    bad = ~df["label"].isin([0.0, 1.0])
    if bad.any():
        raise ValueError(f"{path}: labels must be 0 or 1, found {sorted(df.loc[bad, 'label'].unique())[:5]}")
    return df


def write(df: pd.DataFrame, path: str | Path) -> Path:
    """Write events in the published file's layout (key ``"df"``, fixed format, float64).

    Parameters
    ----------
    df : pandas.DataFrame
        The :data:`COLUMNS` (any order; other columns are refused).
    path
        Where to write (overwritten).

    Returns
    -------
    Path
        ``path``.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if sorted(df.columns) != sorted(COLUMNS):
        raise ValueError(f"df must have exactly the columns {COLUMNS}, got {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("df is empty: nothing to write")
    out = df[COLUMNS].astype(np.float64).reset_index(drop=True)
    if not np.all(np.isfinite(out.to_numpy())):
        raise ValueError("df holds NaN or infinite values")
    if not out["label"].isin([0.0, 1.0]).all():
        raise ValueError("label must be 0 or 1")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_hdf(path, key=KEY, mode="w", format="fixed")
    return path


def _check_raw_columns(columns: list, path: Path) -> bool:
    if len(columns) not in (RAW_COLUMNS, RAW_COLUMNS + 1):
        raise ValueError(f"{path}: {len(columns)} columns, expected {RAW_COLUMNS} (black box) or "
                         f"{RAW_COLUMNS + 1} (R&D, with the label) in the raw-event layout")
    return len(columns) == RAW_COLUMNS + 1


def read_events(path: str | Path, *, n: int | None = None, start: int = 0, chunk: int = 10_000,
                r: float = 1.0, progress: bool = False) -> pd.DataFrame:
    """Read raw LHCO events and compute the features file's 15 columns from their particles.

    Parameters
    ----------
    path
        A raw-event file: key ``"df"``, 2100 columns (a black box) or 2101 (the
        R&D file: the last column is the label).
    n
        Events to read (``None``: all, from ``start``).
    start
        First event (row) to read.
    chunk
        Events read and clustered at a time (memory: about ``chunk`` × 17 kB).
    r
        Anti-kT radius (1 in the LHCO).
    progress
        Show a tqdm bar over the chunks.

    Returns
    -------
    pandas.DataFrame, shape (rows, 15)
        Columns :data:`COLUMNS`, as :func:`read` returns them: the leading jet
        (highest pT) first. ``label`` is NaN when the file has none (black box).
        Events without two jets of at least three constituents are left out;
        ``df.attrs`` says how many (``"dropped"``), which rows of the file
        were kept (``"rows"``), the layout and whether there are labels.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`read`; also a label other than 0/1, negative pT, or NaN.
    """
    path = Path(path)
    _open_checked(path)
    n = check_count(n, "n", allow_none=True)
    start = check_count(start, "start", min_value=0)
    chunk = check_count(chunk, "chunk")
    feats, labels, rows = [], [], []
    try:
        with pd.HDFStore(path, mode="r") as store:
            nrows, columns = _shape(store, path)
            labelled = _check_raw_columns(columns, path)
            stop = nrows if n is None else min(nrows, start + n)
            starts = range(start, stop, chunk)
            if progress:
                from tqdm.auto import tqdm
                starts = tqdm(starts, desc=f"{path.name} : jets (FastJet)")
            for lo in starts:
                block = store.select(KEY, start=lo, stop=min(lo + chunk, stop)).to_numpy(dtype=np.float64)
                if not np.all(np.isfinite(block)):
                    raise ValueError(f"{path}: rows {lo}-{lo + len(block)} hold NaN or infinite values")
                parts = block[:, :RAW_COLUMNS].reshape(len(block), RAW_PARTICLES, 3)
                f, kept = dijet_features(parts[..., 0], parts[..., 1], parts[..., 2], r=r)
                feats.append(f)
                rows.append(lo + np.flatnonzero(kept))
                if labelled:
                    lab = block[:, RAW_COLUMNS]
                    if not np.isin(lab, (0.0, 1.0)).all():
                        raise ValueError(f"{path}: labels (column {RAW_COLUMNS}) must be 0 or 1, found "
                                         f"{sorted(set(lab[~np.isin(lab, (0.0, 1.0))]))[:5]}")
                    labels.append(lab[kept])
    except (ValueError, FileNotFoundError):
        raise
    except Exception as exc:  # PyTables raises its own errors on damaged files
        raise ValueError(f"cannot read {path} as a pandas HDF5 file ({type(exc).__name__}: {exc}); "
                         "the file may be truncated") from exc
    f = np.concatenate(feats) if feats else np.empty((0, len(COLUMNS) - 1))
    df = pd.DataFrame(f, columns=COLUMNS[:-1])
    df["label"] = np.concatenate(labels) if labelled and labels else np.nan
    read_rows = np.concatenate(rows) if rows else np.zeros(0, int)
    df.attrs.update({"layout": "raw", "labelled": bool(labelled), "rows": read_rows,
                     "dropped": int((stop - start) - len(read_rows)) if stop > start else 0})
    return df


def write_events(particles: np.ndarray, path: str | Path, *, labels: np.ndarray | None = None) -> Path:
    """Write events in the published raw layout (key ``"df"``, 2100 or 2101 columns, fixed format).

    Parameters
    ----------
    particles : numpy.ndarray, shape (n_events, n_particles, 3)
        (pT [GeV], η, φ) of each particle; rows with pT = 0 are padding. More
        than :data:`RAW_PARTICLES` particles: the 700 of highest pT are kept.
    path
        Where to write (overwritten).
    labels : numpy.ndarray of 0/1, shape (n_events,), optional
        The truth (a 2101st column, as in the R&D file); ``None``: no label
        column (as in the black boxes).

    Returns
    -------
    Path
        ``path``.
    """
    p = np.asarray(particles, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 3:
        raise ValueError(f"particles must have shape (n_events, n_particles, 3) with (pT, eta, phi), got {p.shape}")
    if len(p) == 0:
        raise ValueError("particles is empty: nothing to write")
    if not np.all(np.isfinite(p)) or np.any(p[..., 0] < 0):
        raise ValueError("particles hold NaN, infinite values or negative pT")
    if p.shape[1] > RAW_PARTICLES:
        order = np.argsort(-p[..., 0], axis=1, kind="stable")[:, :RAW_PARTICLES]
        p = np.take_along_axis(p, order[..., None], axis=1)
    out = np.zeros((len(p), RAW_PARTICLES, 3))
    out[:, : p.shape[1]] = p
    out[out[..., 0] == 0] = 0.0  # padding is all zeros
    table = out.reshape(len(p), RAW_COLUMNS)
    if labels is not None:
        lab = np.asarray(labels, dtype=np.float64)
        if lab.shape != (len(p),) or not np.isin(lab, (0.0, 1.0)).all():
            raise ValueError(f"labels must be {len(p)} values 0 or 1, got shape {lab.shape}")
        table = np.hstack([table, lab[:, None]])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(table).to_hdf(path, key=KEY, mode="w", format="fixed", complevel=1, complib="zlib")
    return path
