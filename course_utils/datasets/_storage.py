"""Where the data layer writes: per-user locks, and a clear error when the data folder is read-only.

A class server shares one prepared data folder with every student, read-only
(``COURSE_DATA_DIR`` points at it). So:

* reading never locks nor writes: a file (or a simulation cache) that is
  already there and valid is read as it is;
* only a writer (a download, a simulation being cached) takes a lock, and the
  lock file lives in a per-user folder (:func:`course_utils.config.lock_dir`,
  ``COURSE_LOCK_DIR``), never beside the data;
* a writer that finds its folder read-only raises :class:`ReadOnlyDataError`
  at once, saying what is missing and which variable to set;
* what a writer puts in a data folder gets the permissions of an ordinary
  file (:func:`share_permissions`): temporary files (``mkstemp``, pooch's
  downloads) are private to their owner, and a folder prepared by a teacher
  must be readable by the students.

Locks are per user: two users writing into one shared writable folder at once
are not coordinated (the teacher prepares the shared folder alone).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from course_utils import config
from course_utils._files import LOCK_TIMEOUT
from course_utils.datasets._registry import DataUnavailableError

__all__ = ["ReadOnlyDataError", "lock_path", "locked", "writable", "require_writable", "writing",
           "share_permissions"]

#: What the read-only error advises, besides its own hint.
ADVICE = ("set COURSE_DATA_DIR to a writable folder (for example a folder of your own), or ask your teacher "
          "to run `make data` into the shared folder for this mode (`COURSE_FAST=1 make data` for the fast mode)")

#: ``errno`` values that mean "this folder cannot be written".
READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


class ReadOnlyDataError(DataUnavailableError):
    """Data must be written into a folder that is read-only here (a class's shared data folder).

    A :class:`DataUnavailableError`, so that ``source="auto"`` falls back to the
    simulation when the published file cannot be downloaded into a read-only folder.
    """


def _existing_ancestor(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def writable(path: str | os.PathLike[str]) -> bool:
    """Whether files can be created in ``path`` (a folder), or in its nearest existing parent when it is missing.

    ``os.access`` sees both a read-only mount (``EROFS``, even for root) and
    folder permissions (for a user who is not root).
    """
    return os.access(_existing_ancestor(Path(path)), os.W_OK)


def require_writable(folder: str | os.PathLike[str], what: str, *, hint: str = "") -> None:
    """Raise :class:`ReadOnlyDataError` when ``folder`` cannot be written.

    Parameters
    ----------
    folder
        Where ``what`` would be written.
    what
        What is missing there, for the message (``"magic04.data (1.5 MB)"``).
    hint
        A first piece of advice particular to the caller (``"pass data_home=..."``),
        before :data:`ADVICE`.
    """
    folder = Path(folder)
    if writable(folder):
        return
    advice = f"{hint}; or {ADVICE}" if hint else ADVICE
    raise ReadOnlyDataError(
        f"{what} is not in {folder}, and {_existing_ancestor(folder)} is read-only here, so it cannot be "
        f"written there: {advice}"
    )


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of ``path``: in :func:`course_utils.config.lock_dir`, named by a hash of the absolute path."""
    path = Path(path).absolute()
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return config.lock_dir() / f"{digest}-{path.name}.lock"


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the inter-process lock of ``path`` (a file in the per-user lock folder; nothing beside ``path``)."""
    with FileLock(str(lock_path(path)), timeout=timeout):
        yield


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share_permissions(path: str | os.PathLike[str]) -> None:
    """Give ``path`` (and, for a folder, everything in it) the modes of ordinary new files and folders.

    ``0o666`` for files and ``0o777`` for folders, less the process's umask:
    with the usual umask 022, readable by every user, writable by the owner.
    Temporary files and folders (``mkstemp``, ``mkdtemp``, pooch's downloads)
    are created private (0600, 0700); renamed into a shared data folder as
    they are, the students could not read what the teacher prepared.
    """
    mask = _umask()
    path = Path(path)
    for p in [path, *(path.rglob("*") if path.is_dir() else ())]:
        if p.is_symlink():
            continue
        p.chmod((0o777 if p.is_dir() else 0o666) & ~mask)


@contextlib.contextmanager
def writing(path: str | os.PathLike[str], what: str, *, hint: str = "") -> Iterator[None]:
    """Check that ``path``'s folder can be written (:func:`require_writable`), create it, then hold ``path``'s lock.

    For every code path that writes into a data folder: a read-only folder
    fails at once with the clear message, before any download or simulation.
    """
    require_writable(Path(path).parent, what, hint=hint)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        yield
