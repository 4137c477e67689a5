"""The CMS NanoAOD file format of the muons: read (TTree or RNTuple, local or remote) and write.

A NanoAOD file holds ``Events``, either a TTree (the 2012 Open Data file,
and what :func:`write` produces) or a ROOT RNTuple (``ROOT::RNTuple``, where
CMS and the Open Data portal are moving), with one entry per collision and
hundreds of branches (fields). :func:`read` takes only the muons:

===============  ===========  ==============================================
branch           type         content
===============  ===========  ==============================================
``nMuon``        uint32       number of muons in the event (int32 in files
                              that :func:`write` produces: uproot writes
                              counters as int32; the reader ignores it)
``Muon_pt``      float32[]    transverse momentum (GeV)
``Muon_eta``     float32[]    pseudorapidity
``Muon_phi``     float32[]    azimuthal angle (rad)
``Muon_mass``    float32[]    mass (GeV), the muon mass
``Muon_charge``  int32[]      electric charge, +1 or -1
===============  ===========  ==============================================

Remote files (``https://``, ``root://``) are read with range requests: only
the muon branches' bytes travel. HTTP goes through uproot's default source,
``fsspec`` with ``aiohttp``.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import _files
from course_utils.datasets._registry import DataUnavailableError
from course_utils.validation import check_count

__all__ = ["TREE", "FIELDS", "BRANCH_TYPES", "MUON_MASS", "REMOTE_TIMEOUT", "DEFAULT_STEP", "FileFormatError",
           "read", "write"]

TREE = "Events"
#: Muon fields of the events returned by :func:`read`, each read from branch ``Muon_<field>``.
FIELDS = ("pt", "eta", "phi", "mass", "charge")
#: Branch name -> NumPy dtype of its values, as in the real file.
BRANCH_TYPES = {"nMuon": np.dtype(np.uint32), "Muon_pt": np.dtype(np.float32), "Muon_eta": np.dtype(np.float32),
                "Muon_phi": np.dtype(np.float32), "Muon_mass": np.dtype(np.float32),
                "Muon_charge": np.dtype(np.int32)}
#: Muon mass written in ``Muon_mass`` (GeV, PDG 2024; ``particle`` gives the same).
MUON_MASS = 0.1056583755
#: Seconds without an answer before a remote read is abandoned.
REMOTE_TIMEOUT = 20.0
#: Events per chunk when reading.
DEFAULT_STEP = 500_000
#: Classes of ``Events`` that :func:`read` accepts.
_EVENT_CLASSES = ("TTree", "ROOT::RNTuple")


class FileFormatError(ValueError):
    """The file is not a CMS NanoAOD ROOT file: not ROOT, no ``Events`` TTree or RNTuple, or no ``Muon_*``."""


def _is_url(location: str) -> bool:
    return urllib.parse.urlsplit(location).scheme in ("http", "https", "root")


def _open_options(location: str, timeout: float) -> dict[str, Any]:
    scheme = urllib.parse.urlsplit(location).scheme
    if scheme in ("http", "https"):
        # uproot's default HTTP source: fsspec with aiohttp; a stalled socket fails after `timeout` seconds
        from course_utils._optional import require

        aiohttp = require("aiohttp", why="reading a ROOT file over HTTPS (uproot through fsspec)")
        return {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=None, sock_connect=timeout,
                                                                   sock_read=timeout)}}
    if scheme == "root":
        try:
            import XRootD.client  # noqa: F401
        except ImportError:
            raise DataUnavailableError("reading root:// URLs needs the XRootD Python bindings "
                                       "(pip install xrootd); use the https:// URL instead") from None
        return {"timeout": timeout}
    return {}


def _check_n(n: Any) -> None:
    check_count(n, "n", min_value=0, allow_none=True)


def read(path_or_url: str | os.PathLike[str], *, n: int | None = None, step_size: int | str = DEFAULT_STEP,
         timeout: float = REMOTE_TIMEOUT, progress: bool = False) -> Any:
    """Read the muons of a CMS NanoAOD file (TTree or RNTuple, real or simulated) into an awkward Array.

    Only the five ``Muon_*`` branches are read; the file may carry any number
    of other branches (real NanoAOD files carry hundreds).

    Parameters
    ----------
    path_or_url
        A local path, or an ``https://`` / ``root://`` URL (read with range
        requests: only the needed bytes travel).
    n
        Read the first ``n`` events (``None``: all of them).
    step_size
        Events per chunk (or a size such as ``"100 MB"``): the file is read
        chunk by chunk, which bounds the temporary memory and lets a remote
        read show its progress.
    timeout
        Seconds without an answer before a remote read fails.
    progress
        Show a progress bar.

    Returns
    -------
    awkward.Array
        Type ``N * var * {pt: float32, eta: float32, phi: float32, mass:
        float32, charge: int32}``: one list of muons per event; pT and mass in
        GeV, phi in radians.

    Raises
    ------
    FileNotFoundError
        A local path that does not exist.
    FileFormatError
        (a ``ValueError``) A file that is not ROOT, has no ``Events`` TTree or
        RNTuple, or lacks ``Muon_*`` branches.
    ValueError
        A truncated or corrupt file; a bad ``n`` or ``step_size``.
    DataUnavailableError
        A remote file that cannot be reached, is not on the server, or whose
        transfer fails midway.
    """
    import awkward as ak

    location = os.fspath(path_or_url)
    remote = _is_url(location)
    _check_n(n)
    if isinstance(step_size, (int, np.integer)) and step_size < 1:
        raise ValueError(f"step_size must be >= 1 event (or a size like '100 MB'), got {step_size!r}")
    if not remote and not Path(location).is_file():
        where = Path(location)
        raise FileNotFoundError(f"no ROOT file at {where}" + (" (it is a folder)" if where.is_dir() else ""))
    name = location.rsplit("/", 1)[-1]
    if not remote:
        with open(location, "rb") as fh:
            magic = fh.read(4)
        if magic != b"root":
            raise FileFormatError(f"{name} is not a ROOT file (it starts with {magic!r}, a ROOT file with "
                                  f"b'root'): read() expects a CMS NanoAOD ROOT file")
    branches = [f"Muon_{field}" for field in FIELDS]
    chunks, done = [], 0
    try:
        with contextlib.ExitStack() as stack:
            f = stack.enter_context(_open(location, remote, timeout))
            events = _events(f, name)
            have = set(events.keys(recursive=False))  # recursive keys() of a wide RNTuple take seconds
            missing = [b for b in branches if b not in have]
            if missing:
                raise FileFormatError(f"{name}: {TREE!r} has no branch {', '.join(missing)}: read() needs the CMS "
                                      f"NanoAOD muon branches {branches}; it has {len(have)} branches, "
                                      f"e.g. {sorted(have)[:8]}")
            stop = events.num_entries if n is None else min(int(n), events.num_entries)
            bar = stack.enter_context(_progress(stop, name, progress))
            if stop > 0:
                for chunk in events.iterate(branches, entry_stop=stop, step_size=step_size, library="ak"):
                    chunks.append(_muons(chunk))
                    done += len(chunk)
                    bar.update(len(chunk))
            if not chunks:
                chunks.append(_muons(events.arrays(branches, entry_start=0, entry_stop=0)))
    except (FileFormatError, DataUnavailableError):
        raise
    except Exception as exc:  # uproot's transfer, decompression and deserialisation errors
        if remote:
            raise DataUnavailableError(f"reading {location} failed after {done:,} events ({type(exc).__name__}: "
                                       f"{exc}): network failure or server error") from exc
        raise ValueError(f"{name} could not be read after {done:,} events: truncated or corrupt file? "
                         f"({type(exc).__name__}: {exc})") from exc
    return ak.concatenate(chunks) if len(chunks) > 1 else chunks[0]


def _muons(chunk: Any) -> Any:
    import awkward as ak

    return ak.zip({field: chunk[f"Muon_{field}"] for field in FIELDS})


@contextlib.contextmanager
def _open(location: str, remote: bool, timeout: float) -> Iterator[Any]:
    """``uproot.open`` with the right options for the URL scheme (a local path is never parsed for colons)."""
    import uproot

    try:
        f = uproot.open(location if remote else Path(location), **_open_options(location, timeout))
    except FileNotFoundError as exc:
        if not remote:
            raise
        raise DataUnavailableError(f"{location} is not on the server ({type(exc).__name__}: {exc})") from exc
    with f:
        yield f


def _events(f: Any, name: str) -> Any:
    objects = {k.split(";")[0]: c for k, c in f.classnames().items()}
    if objects.get(TREE) not in _EVENT_CLASSES:
        raise FileFormatError(f"{name} has no TTree or RNTuple {TREE!r}: it holds {objects or 'nothing'}; read() "
                              "expects a CMS NanoAOD file ('Events' with Muon_* branches)")
    return f[TREE]


def _progress(total: int, name: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"reading {name}", unit=" events", unit_scale=True, disable=not enabled)


def write(events: Any, path: str | os.PathLike[str], *, chunk: int = 50_000) -> Path:
    """Write muon events to a ROOT file with the real file's tree and branch names.

    Parameters
    ----------
    events
        awkward Array ``N * var * {pt, eta, phi, charge[, mass]}``, as :func:`read`
        returns; a missing ``mass`` is set to :data:`MUON_MASS`.
    path
        The ROOT file to create (written to a temporary file, then renamed).
    chunk
        Events per basket.

    Returns
    -------
    Path
        ``path``: TTree ``Events`` with ``Muon_pt``, ``Muon_eta``, ``Muon_phi``,
        ``Muon_mass`` (float32) and ``Muon_charge`` (int32) as jagged branches
        counted by ``nMuon``. uproot writes the counter as int32, where the
        real file has uint32; :func:`read` does not read it.
    """
    import awkward as ak
    import uproot

    fields = ak.fields(events)
    missing = [f for f in ("pt", "eta", "phi", "charge") if f not in fields]
    if missing:
        raise ValueError(f"events lack the muon fields {missing}: expected N * var * {{pt, eta, phi, charge}}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 event, got {chunk}")
    path = Path(path)
    columns = {f"Muon_{f}": ak.values_astype(events[f] if f in fields else events.pt * 0 + MUON_MASS,
                                             BRANCH_TYPES[f"Muon_{f}"]) for f in FIELDS}
    with _files.atomic_path(path) as tmp:
        with uproot.recreate(tmp) as out:
            tree = out.mktree(TREE, {k: v.type.content for k, v in columns.items()}, title=TREE,
                              counter_name=lambda branch: "nMuon")
            for start in range(0, max(len(events), 1), chunk):
                tree.extend({k: v[start:start + chunk] for k, v in columns.items()})
    return path
