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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.validation import check_count

__all__ = ["KEY", "JET_COLUMNS", "COLUMNS", "read", "write"]

#: The HDF5 key of the published file (``pd.read_hdf(path, "df")``).
KEY = "df"
#: The seven columns of each jet, without the ``j1``/``j2`` suffix.
JET_COLUMNS = ("px", "py", "pz", "m", "tau1", "tau2", "tau3")
#: The 15 columns of the file, in order.
COLUMNS = [*(f"{c}j1" for c in JET_COLUMNS), *(f"{c}j2" for c in JET_COLUMNS), "label"]

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def read(path: str | Path, *, n: int | None = None) -> pd.DataFrame:
    """Read a features file (published or simulated).

    Parameters
    ----------
    path
        The ``.h5`` file.
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
    if not path.is_file():
        raise FileNotFoundError(f"no LHCO features file at {path}")
    n = check_count(n, "n", allow_none=True)
    with open(path, "rb") as fh:
        head = fh.read(len(_HDF5_MAGIC))
    if head != _HDF5_MAGIC:
        raise ValueError(f"{path} is not an HDF5 file (it starts with {head!r}); expected the LHCO features file")
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
