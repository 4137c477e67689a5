"""The TrackML file layout: one event is four CSV files, plus the detector description.

An event ``event000001000`` is the files ``event000001000-hits.csv``,
``-cells.csv``, ``-particles.csv`` and ``-truth.csv`` (each possibly gzipped,
``.csv.gz``), with the columns and types of the challenge's own library
(``trackml-library``, ``trackml/dataset.py``):

* hits: ``hit_id, x, y, z`` (mm), ``volume_id, layer_id, module_id``;
* cells: ``hit_id, ch0, ch1`` (channel numbers on the module), ``value`` (charge);
* particles: ``particle_id, particle_type`` (PDG code; absent in some
  releases), ``vx, vy, vz`` (mm), ``px, py, pz`` (GeV), ``q`` (charge), ``nhits``;
* truth: ``hit_id, particle_id`` (0 = noise), ``tx, ty, tz`` (true position,
  mm), ``tpx, tpy, tpz`` (true momentum at the hit, GeV), ``weight`` (the
  score's weight, summing to 1 over the event).

``detectors.csv`` describes each module (centre, rotation, size, pitch); some
copies carry an extra unnamed leading index column, which :func:`read_detectors`
drops.

This module reads and writes that layout; it imports neither the simulation nor
the package ``__init__``.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import pandas as pd

from course_utils.validation import check_count

__all__ = ["TABLES", "DTYPES", "OPTIONAL", "DETECTOR_COLUMNS", "EventTables", "event_prefix", "list_events",
           "read", "read_detectors", "write", "write_detectors"]

#: The four tables of an event, in the order :func:`read` returns them.
TABLES = ("hits", "cells", "particles", "truth")

#: Columns and dtypes of each table (the challenge library's ``DTYPES``).
DTYPES: dict[str, dict[str, str]] = {
    "hits": {"hit_id": "int32", "x": "float32", "y": "float32", "z": "float32",
             "volume_id": "int32", "layer_id": "int32", "module_id": "int32"},
    "cells": {"hit_id": "int32", "ch0": "int32", "ch1": "int32", "value": "float32"},
    "particles": {"particle_id": "int64", "particle_type": "int32", "vx": "float32", "vy": "float32",
                  "vz": "float32", "px": "float32", "py": "float32", "pz": "float32", "q": "int32",
                  "nhits": "int32"},
    "truth": {"hit_id": "int32", "particle_id": "int64", "tx": "float32", "ty": "float32", "tz": "float32",
              "tpx": "float32", "tpy": "float32", "tpz": "float32", "weight": "float32"},
}
#: Columns that some releases lack.
OPTIONAL = {"particles": ("particle_type",)}

#: Columns of ``detectors.csv``.
DETECTOR_COLUMNS = ["volume_id", "layer_id", "module_id", "cx", "cy", "cz",
                    "rot_xu", "rot_xv", "rot_xw", "rot_yu", "rot_yv", "rot_yw", "rot_zu", "rot_zv", "rot_zw",
                    "module_t", "module_minhu", "module_maxhu", "module_hv", "pitch_u", "pitch_v"]

_EVENT_RE = re.compile(r"^event(\d{9})$")


class EventTables(tuple):
    """``(hits, cells, particles, truth)``, also reachable by name (``ev.hits``)."""

    __slots__ = ()

    def __new__(cls, hits: pd.DataFrame, cells: pd.DataFrame, particles: pd.DataFrame,
                truth: pd.DataFrame) -> EventTables:
        return super().__new__(cls, (hits, cells, particles, truth))

    hits = property(lambda self: self[0])
    cells = property(lambda self: self[1])
    particles = property(lambda self: self[2])
    truth = property(lambda self: self[3])


def event_prefix(event_id: int) -> str:
    """``event000001000`` for 1000: the common prefix of an event's files."""
    check_count(event_id, "event_id", min_value=0, max_value=10**9 - 1)
    return f"event{int(event_id):09d}"


def _split_event_path(event_path: str | Path) -> tuple[Path, str]:
    """Folder and prefix from ``.../event000001000`` or ``.../event000001000-hits.csv[.gz]``."""
    p = Path(event_path)
    name = p.name
    for table in TABLES:
        for ext in (".csv", ".csv.gz"):
            if name.endswith(f"-{table}{ext}"):
                name = name[: -len(f"-{table}{ext}")]
    if not _EVENT_RE.match(name):
        raise ValueError(f"{event_path}: expected an event path like .../event000001000 "
                         f"(the word 'event' and 9 digits), got the name {p.name!r}")
    return p.parent, name


def _table_file(folder: Path, prefix: str, table: str) -> Path:
    for ext in (".csv", ".csv.gz"):
        f = folder / f"{prefix}-{table}{ext}"
        if f.is_file():
            return f
    raise FileNotFoundError(f"{folder / prefix}: no file {prefix}-{table}.csv or {prefix}-{table}.csv.gz "
                            f"in {folder}")


def list_events(folder: str | Path) -> list[Path]:
    """Every event in ``folder`` (paths ``folder/event<9 digits>``, sorted), found by their hits files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    names = set()
    for f in folder.iterdir():
        m = re.match(r"^(event\d{9})-hits\.csv(\.gz)?$", f.name)
        if m:
            names.add(m.group(1))
    return [folder / n for n in sorted(names)]


def _read_csv(path: Path, table: str, nrows: int | None) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, nrows=nrows)
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: unreadable or truncated {table} file ({type(exc).__name__}: {exc})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a TrackML {table} CSV ({type(exc).__name__}: {exc})") from exc
    return _checked(df, path, table)


def _checked(df: pd.DataFrame, path: Path | str, table: str) -> pd.DataFrame:
    expected = DTYPES[table]
    optional = OPTIONAL.get(table, ())
    missing = [c for c in expected if c not in df.columns and c not in optional]
    if missing:
        raise ValueError(f"{path}: the {table} table lacks the columns {missing}: it has {list(df.columns)}, "
                         f"expected {list(expected)}")
    cols = [c for c in expected if c in df.columns]
    df = df[cols]
    if df.isna().any().any():
        bad = [c for c in cols if df[c].isna().any()]
        raise ValueError(f"{path}: empty or non-numeric values in the {table} columns {bad} (truncated file?)")
    try:
        return df.astype({c: expected[c] for c in cols})
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: the {table} columns do not have the expected types {expected}: {exc}") from exc


def read(event_path: str | Path, *, n: int | None = None,
         tables: tuple[str, ...] = TABLES) -> EventTables:
    """Read one TrackML event: ``hits, cells, particles, truth``.

    Parameters
    ----------
    event_path
        ``folder/event000001000`` (or any one of its files); each table may be
        ``.csv`` or ``.csv.gz``.
    n
        Read only the first ``n`` rows of each table (to peek at a file);
        ``None`` reads everything.
    tables
        The tables to read; the others come back empty (with their columns).

    Returns
    -------
    EventTables
        A 4-tuple of DataFrames with the challenge library's dtypes (int32 ids,
        float32 coordinates in mm and momenta in GeV, int64 ``particle_id``);
        ``particles`` has no ``particle_type`` column when the file has none.

    Raises
    ------
    FileNotFoundError
        A table's file is missing.
    ValueError
        Wrong columns, truncated gzip, non-numeric values, or a bad name.
    """
    n = check_count(n, "n", allow_none=True)
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown tables {unknown}: expected some of {TABLES}")
    folder, prefix = _split_event_path(event_path)
    out = []
    for table in TABLES:
        if table in tables:
            out.append(_read_csv(_table_file(folder, prefix, table), table, None if n is None else int(n)))
        else:
            out.append(pd.DataFrame({c: pd.Series(dtype=t) for c, t in DTYPES[table].items()}))
    return EventTables(*out)


def read_detectors(path: str | Path) -> pd.DataFrame:
    """Read ``detectors.csv`` (or ``.csv.gz``), dropping the leading index column some copies carry.

    Returns
    -------
    DataFrame
        The :data:`DETECTOR_COLUMNS`: ids as int32, the rest as float64 (mm).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no detector file {path}")
    try:
        df = pd.read_csv(path)
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: unreadable detectors file ({type(exc).__name__}: {exc})") from exc
    extra = [c for c in df.columns if c not in DETECTOR_COLUMNS]
    if extra and (df.columns[0] == extra[0]) and (str(extra[0]).startswith("Unnamed") or extra[0] in ("", "index")):
        df = df.drop(columns=[extra[0]])
    missing = [c for c in DETECTOR_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: detectors table lacks the columns {missing}: it has {list(df.columns)}")
    df = df[DETECTOR_COLUMNS]
    if df.isna().any().any():
        raise ValueError(f"{path}: empty values in the detectors table (truncated file?)")
    return df.astype({"volume_id": "int32", "layer_id": "int32", "module_id": "int32"})


def write(tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame], folder: str | Path,
          event_id: int, *, compress: bool = False) -> Path:
    """Write one event's four tables as ``folder/event<9 digits>-<table>.csv[.gz]``.

    Parameters
    ----------
    tables
        ``(hits, cells, particles, truth)`` with the :data:`DTYPES` columns
        (``particle_type`` optional).
    folder
        Created if needed.
    event_id
        The event number (the 9 digits).
    compress
        Write ``.csv.gz`` instead of ``.csv``.

    Returns
    -------
    Path
        ``folder/event<9 digits>``, the path :func:`read` takes.
    """
    if len(tables) != 4:
        raise ValueError(f"expected the four tables (hits, cells, particles, truth), got {len(tables)} objects")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = event_prefix(event_id)
    for table, df in zip(TABLES, tables):
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"the {table} table must be a DataFrame, got {type(df).__name__}")
        df = _checked(df, f"{prefix}-{table}", table)
        ext = ".csv.gz" if compress else ".csv"
        # 7 significant digits keep every float32 exactly
        df.to_csv(folder / f"{prefix}-{table}{ext}", index=False, float_format="%.7g")
    return folder / prefix


def write_detectors(detectors: pd.DataFrame, path: str | Path) -> Path:
    """Write ``detectors.csv`` with the :data:`DETECTOR_COLUMNS` (no index column)."""
    missing = [c for c in DETECTOR_COLUMNS if c not in detectors.columns]
    if missing:
        raise ValueError(f"the detectors table lacks the columns {missing}: it has {list(detectors.columns)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    detectors[DETECTOR_COLUMNS].to_csv(path, index=False, float_format="%.7g")
    return path
