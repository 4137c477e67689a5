"""Safe file operations: atomic writes, locks, checksums, safe extraction."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from filelock import FileLock

__all__ = ["sha256", "atomic_path", "atomic_write", "locked", "safe_extract_zip"]

#: How long a process waits for another one holding the same lock (seconds).
LOCK_TIMEOUT = 1800


def sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an inter-process lock tied to ``path`` (a ``<path>.lock`` file beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=timeout):
        yield


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Readers never see a half-written file: either the old one or the new one.
    On error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` only when the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def safe_extract_zip(archive: str | os.PathLike[str], dest: str | os.PathLike[str],
                     members: list[str] | None = None) -> list[Path]:
    """Extract a zip archive, refusing any member that would land outside ``dest``.

    Raises
    ------
    ValueError
        When a member's path is absolute or climbs out with ``..`` (a "zip slip").
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    with zipfile.ZipFile(archive) as zf:
        names = members if members is not None else [n for n in zf.namelist() if not n.endswith("/")]
        for name in names:
            target = (dest / name).resolve()
            if not target.is_relative_to(dest) or Path(name).is_absolute():
                raise ValueError(
                    f"archive {Path(archive).name} holds a member {name!r} that would be written outside "
                    f"{dest}: refused"
                )
        for name in names:
            target = (dest / name).resolve()
            with zf.open(name) as src, atomic_write(target, "wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
            out.append(target)
    return out
