"""MAGIC gamma-ray telescope events: ten Hillas parameters per shower image.

Real source
-----------
UCI Machine Learning Repository, dataset 159 "MAGIC Gamma Telescope"
(R. Bock, 2004, DOI 10.24432/C52C8B, CC BY 4.0): ``magic04.data``, 19,020 rows,
comma-separated, no header, 10 features then the class ``g`` (gamma, signal) or
``h`` (hadron, background); 12,332 g and 6,688 h. The UCI files are themselves
Monte-Carlo events of the MAGIC collaboration (CORSIKA), not telescope data.

Simulated source
----------------
A Cherenkov-camera simulation of the course (:mod:`course_utils.datasets.magic_sim`),
written as ``magic04.data``.

Examples
--------
>>> from course_utils.datasets import magic
>>> ds = magic.load()              # doctest: +SKIP
>>> df = ds.data                   # pandas DataFrame, columns FEATURES + ["class"]
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.datasets._fetch import fetch
from course_utils.datasets._registry import Dataset, DatasetInfo, RemoteFile, load_with_fallback, real_dir

__all__ = ["INFO", "FEATURES", "COLUMNS", "CLASSES", "read", "load"]

#: The ten Hillas features, in file order (lengths in mm, angles in degrees).
FEATURES = ["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym",
            "fM3Long", "fM3Trans", "fAlpha", "fDist"]
COLUMNS = [*FEATURES, "class"]
#: Class labels as written in the file.
CLASSES = {"g": "gamma (signal)", "h": "hadron (background)"}

FILE = RemoteFile(
    name="magic04.data",
    urls=("https://archive.ics.uci.edu/static/public/159/magic+gamma+telescope.zip",),
    sha256="e9314b7ebd4b4b59a3b3d65f7316663963777b16a46786877651dbbaa640b36a",
    size=1_477_391,
    archive_member="magic04.data",
)

INFO = DatasetInfo(
    name="magic",
    title="MAGIC Gamma Telescope (UCI 159)",
    provenance="UCI Machine Learning Repository, dataset 159 (R. Bock, 2004)",
    licence="CC BY 4.0",
    citation="Bock, R. (2004). MAGIC Gamma Telescope [Dataset]. UCI Machine Learning Repository. "
             "https://doi.org/10.24432/C52C8B",
    homepage="https://archive.ics.uci.edu/dataset/159/magic+gamma+telescope",
    files=(FILE,),
    doi="10.24432/C52C8B",
    how_to_obtain="Download the zip from https://archive.ics.uci.edu/dataset/159/magic+gamma+telescope and "
                  "place magic04.data in <data>/real/magic/ (see course_utils.config.data_dir()).",
)


def read(path: str | Path) -> pd.DataFrame:
    """Parse a ``magic04.data`` file (real or simulated).

    Parameters
    ----------
    path
        The file: 11 comma-separated fields per line, the last ``g`` or ``h``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FEATURES` (float64) and ``class`` (``"g"``/``"h"``).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        On a wrong field count, a non-numeric or non-finite value, or an
        unknown class label: the message names the line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no MAGIC data file at {path}")
    values: list[list[float]] = []
    labels: list[str] = []
    with open(path, encoding="ascii", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
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


def _load_real() -> Dataset:
    path = fetch(INFO.name, FILE)
    df = read(path)
    return Dataset(df, "real", INFO.name, INFO.provenance, INFO.licence, path,
                   {"n_events": len(df), "doi": INFO.doi})


def _simulate(n_events: int | None, seed: int) -> Dataset:
    # imported here: magic_sim imports this module (FEATURES, read)
    from course_utils.datasets.magic_sim import simulate

    return simulate(n_events, seed)


def load(source: str = "auto", *, n_events: int | None = None, seed: int = 42,
         verbose: bool = True) -> Dataset:
    """The MAGIC events, real or simulated.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the real file if cached or downloadable, else the simulation.
    n_events
        Number of simulated events (default 19,020, as the real file; ignored for the real data).
    seed
        Seed of the simulation.

    Returns
    -------
    Dataset
        ``.data`` is the DataFrame of :func:`read`.
    """
    return load_with_fallback(INFO.name, source, _load_real, lambda: _simulate(n_events, seed), info=INFO,
                              verbose=verbose)


def cached_real_path() -> Path:
    """Where the real file is cached (it may not be there)."""
    return real_dir(INFO.name) / FILE.name
