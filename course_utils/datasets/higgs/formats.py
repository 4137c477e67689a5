"""The HIGGS file format of UCI: read and write ``HIGGS.csv.gz`` (and plain CSV, and the cached ``.npy`` heads).

One event per line, comma-separated, **no header**, values written in
scientific notation (``8.692932128906250000e-01``, float32 values printed
with 18 digits): the label (1 signal, 0 background), then the 21 low-level
features (:data:`LOW_LEVEL`) and the 7 high-level ones (:data:`HIGH_LEVEL`).
The features are scaled: the transverse momenta, the missing energy, the
masses and the b-tags are divided by a constant close to their mean, so
that they are of order 1; pseudorapidities and azimuthal angles are left as
they are.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import _files
from course_utils.validation import check_count

__all__ = ["LOW_LEVEL", "HIGH_LEVEL", "FEATURES", "COLUMNS", "read", "write"]

#: The 21 low-level features, in file order: what the detector measures.
LOW_LEVEL = [
    "lepton_pT", "lepton_eta", "lepton_phi",
    "missing_energy_magnitude", "missing_energy_phi",
    *[f"jet_{i}_{v}" for i in range(1, 5) for v in ("pt", "eta", "phi", "b-tag")],
]
#: The 7 high-level features, in file order: invariant masses built by physicists.
HIGH_LEVEL = ["m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb"]
#: All 28 features, in file order.
FEATURES = [*LOW_LEVEL, *HIGH_LEVEL]
#: The 29 columns of a HIGGS file: the label (1 signal, 0 background), then the features.
COLUMNS = ["label", *FEATURES]

_GZIP_MAGIC = b"\x1f\x8b"


def _check_frame(values: np.ndarray, name: str, first_line: int = 1) -> None:
    """Validate a (n, 29) array parsed from a HIGGS file; raise ValueError naming the problem."""
    if values.ndim != 2 or values.shape[1] != len(COLUMNS):
        ncol = values.shape[1] if values.ndim == 2 else "?"
        raise ValueError(f"{name}: {ncol} columns, expected {len(COLUMNS)} (the label, then 21 low-level and "
                         f"7 high-level features)")
    if len(values) == 0:
        raise ValueError(f"{name} holds no event")
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name}, line {first_line + row}: missing, non-numeric or infinite value in column "
                         f"{col + 1} ({COLUMNS[col]}): a line with too few fields?")
    labels = values[:, 0]
    bad_label = (labels != 0) & (labels != 1)
    if bad_label.any():
        row = int(np.flatnonzero(bad_label)[0])
        raise ValueError(f"{name}, line {first_line + row}: label {labels[row]!r}, expected 0 (background) or "
                         f"1 (signal) in the first column")


def _frame(values: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(values[:, 1:].astype(np.float32, copy=False), columns=FEATURES)
    df.insert(0, "label", values[:, 0].astype(np.int8))
    return df


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _has_header(path: Path, gzipped: bool) -> bool:
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="ascii", errors="replace") as f:
        first = f.readline()
    return first.split(",", 1)[0].strip().strip('"').lower() == "label"


def _check_n(n: object) -> None:
    check_count(n, "n", allow_none=True)


def read(path: str | os.PathLike[str], *, n: int | None = None) -> pd.DataFrame:
    """Parse a HIGGS file: ``HIGGS.csv.gz`` (real or simulated), a plain ``.csv``, or a cached ``.npy``.

    Parameters
    ----------
    path
        The file. CSV files have no header (a first line starting with
        ``label`` is accepted and skipped) and 29 comma-separated numbers
        per line; gzip files (recognised by their first bytes) are
        decompressed on the fly.
    n
        Read only the first ``n`` events (``None``: all).

    Returns
    -------
    pandas.DataFrame, shape (n_events, 29)
        ``label`` (int8, 1 = signal) then the 28 :data:`FEATURES` (float32),
        in the file's order.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        A line with the wrong number of fields, a non-numeric value, a label
        other than 0 or 1, an empty file, or a truncated / corrupt gzip
        stream: the message names the file, and the line when it can.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no HIGGS file at {path}")
    _check_n(n)
    if path.suffix == ".npy":
        values = np.load(path, mmap_mode="r")
        values = np.array(values[:n] if n else values, dtype=np.float32)
        _check_frame(values, path.name)
        return _frame(values)
    skip = 0
    gzipped = _is_gzip(path)
    try:
        skip = 1 if _has_header(path, gzipped) else 0
        # float32 loses nothing: the UCI values are float32 numbers printed with 18 digits
        values = pd.read_csv(path, header=None, skiprows=skip, nrows=n, dtype=np.float32,
                             compression="gzip" if gzipped else None).to_numpy()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path.name} is truncated or corrupt ({type(exc).__name__}: {exc}): the gzip stream "
                         f"ends early or is damaged; delete the file and download it again") from exc
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path.name}: a line has the wrong number of fields, expected {len(COLUMNS)} "
                         f"({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path.name} holds no event") from exc
    except ValueError as exc:  # a field that is not a number
        raise ValueError(f"{path.name}: non-numeric value ({exc})") from exc
    _check_frame(values, path.name, first_line=1 + skip)
    return _frame(values)


def _parse_lines(lines: list[bytes], name: str) -> np.ndarray:
    """Lines of a HIGGS CSV (bytes, a header line allowed) -> validated float32 array (n, 29)."""
    if lines and lines[0].split(b",", 1)[0].strip().strip(b'"').lower() == b"label":
        lines = lines[1:]
    text = b"\n".join(lines)
    try:
        values = pd.read_csv(io.BytesIO(text), header=None, dtype=np.float32).to_numpy()
    except pd.errors.ParserError as exc:
        raise ValueError(f"{name}: a line has the wrong number of fields, expected {len(COLUMNS)} ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{name} holds no event") from exc
    except ValueError as exc:
        raise ValueError(f"{name}: non-numeric value ({exc})") from exc
    _check_frame(values, name)
    return values


def write(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write events in the UCI format: no header, label first, floats as ``%.18e``, gzip if ``.gz``.

    Values are rounded to float32 first, as in the UCI file (whose numbers
    are float32 values printed with 18 digits).

    Parameters
    ----------
    df : pandas.DataFrame
        Holds :data:`COLUMNS` (extra columns are ignored); labels must be 0 or 1.
    path
        Destination, written atomically.

    Returns
    -------
    Path
        ``path``.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"write expects a pandas DataFrame with the columns {COLUMNS[:3]}..., "
                         f"got {type(df).__name__}")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"cannot write a HIGGS file: missing columns {missing}")
    values = df[COLUMNS].to_numpy(dtype=np.float32).astype(np.float64)
    _check_frame(values, "the DataFrame to write")
    path = Path(path)
    buf = io.StringIO()
    np.savetxt(buf, values, fmt="%.18e", delimiter=",")
    data = buf.getvalue().encode("ascii")
    with _files.atomic_write(path, "wb") as f:
        if path.suffix == ".gz":
            # no name, mtime=0: the same events always give the same bytes
            with gzip.GzipFile(filename="", fileobj=f, mode="wb", compresslevel=6, mtime=0) as gz:
                gz.write(data)
        else:
            f.write(data)
    return path
