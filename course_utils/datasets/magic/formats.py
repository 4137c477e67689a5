"""The ``magic04.data`` file of UCI dataset 159: read it, write it.

Layout (``magic04.names``): one event per line, no header, 11 comma-separated
fields: the ten Hillas features (:data:`FEATURES`, lengths in mm, angles in
degrees, ``fSize`` in log10 of photo-electrons), then the class, ``g`` (gamma,
signal) or ``h`` (hadron, background). Numbers have at most four decimals,
trailing zeros dropped (``0.168``, ``231.9028``, ``3.11``). The published file and the course's
simulation are both written in this layout, so :func:`read` parses both.

Examples
--------
>>> from course_utils.datasets.magic import formats
>>> df = formats.read("magic04.data", n=100)          # doctest: +SKIP
>>> formats.write(df, "copy.data")                     # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.physics.hillas import FEATURES
from course_utils.validation import check_count

__all__ = ["FILE_NAME", "FEATURES", "COLUMNS", "CLASSES", "read", "write"]

#: Name of the file, published and simulated.
FILE_NAME = "magic04.data"
#: Columns of :func:`read`: the ten features (:data:`course_utils.physics.hillas.FEATURES`), then the class.
COLUMNS = [*FEATURES, "class"]
#: Class labels as written in the file.
CLASSES = {"g": "gamma (signal)", "h": "hadron (background)"}


def read(path: str | Path, *, n: int | None = None) -> pd.DataFrame:
    """Parse a ``magic04.data`` file (published or simulated).

    Parameters
    ----------
    path
        The file: 11 comma-separated fields per line, the last ``g`` or ``h``.
    n
        Read only the first ``n`` events (``None``: all). Both the published
        file and the simulation list every gamma before the first hadron, so
        the first rows are all gammas: draw a random subset yourself (as
        ``magic.load(n=...)`` does) when you need both classes.

    Returns
    -------
    pandas.DataFrame, shape (n_events, 11)
        Columns :data:`FEATURES` (float64) and ``class`` (``"g"``/``"h"``).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        On a wrong field count, a non-numeric or non-finite value, or an
        unknown class label: the message names the line; on a file without
        any event; on an ``n`` that is not a positive integer.
    """
    n = check_count(n, "n", allow_none=True)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no MAGIC data file at {path}")
    values: list[list[float]] = []
    labels: list[str] = []
    with open(path, encoding="ascii", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            if n is not None and len(values) >= n:
                break
            line = line.strip()
            if not line:
                continue
            fields = line.split(",")
            if len(fields) != len(COLUMNS):
                raise ValueError(f"{path.name}, line {lineno}: {len(fields)} fields, expected {len(COLUMNS)} "
                                 f"(10 features and the class): {line[:80]!r}")
            label = fields[-1].strip()
            if label not in CLASSES:
                raise ValueError(f"{path.name}, line {lineno}: unknown class {label!r}, expected 'g' or 'h'")
            try:
                row = [float(x) for x in fields[:-1]]
            except ValueError:
                bad = next(x for x in fields[:-1] if not _is_float(x))
                raise ValueError(f"{path.name}, line {lineno}: non-numeric value {bad!r}") from None
            if not all(math.isfinite(v) for v in row):
                raise ValueError(f"{path.name}, line {lineno}: NaN or infinite value")
            values.append(row)
            labels.append(label)
    if not values:
        raise ValueError(f"{path.name} holds no event")
    df = pd.DataFrame(np.asarray(values), columns=FEATURES)
    df["class"] = labels
    return df


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def write(table: pd.DataFrame, path: str | Path) -> Path:
    """Write events as ``magic04.data``: the ten features and the class, comma-separated, no header.

    Features are written as in the published file: rounded to four decimals,
    trailing zeros dropped, lines ending with ``\\n``. Writing what
    :func:`read` read from the published file gives it back byte for byte.

    Parameters
    ----------
    table : pandas.DataFrame, shape (n_events, ...)
        Columns :data:`COLUMNS` at least (others are ignored).
    path
        The file to write (replaced if it exists).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        When a column is missing, the table is empty, a feature is NaN or
        infinite, or a class is not ``g`` or ``h``.
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame with the columns {COLUMNS}, got {type(table).__name__}")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}: magic04.data needs {COLUMNS}")
    if len(table) == 0:
        raise ValueError("table is empty: magic04.data needs at least one event")
    values = table[FEATURES].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("table holds NaN or infinite features: refusing to write them")
    if not table["class"].isin(["g", "h"]).all():
        raise ValueError("class must be 'g' or 'h' on every row")
    path = Path(path)
    lines = [",".join([*map(_number, row), label]) for row, label in zip(values.tolist(), table["class"])]
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _number(value: float) -> str:
    """A number as UCI wrote it: four decimals, trailing zeros (and a bare point) dropped, no ``-0``."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
