"""CMS dimuon events of 2012 (CERN Open Data), or their Pythia 8 simulation.

Real source
-----------
CMS Open Data record 12341, ``Run2012BC_DoubleMuParked_Muons.root``
(DOI 10.7483/OPENDATA.CMS.LVG5.QT81, CC0): the muons of the Run2012B and
Run2012C DoubleMuParked data, √s = 8 TeV, 11.6 fb⁻¹, reduced to NanoAOD
format by the AOD2NanoAODOutreachTool. 2,244,449,133 bytes; one TTree
``Events`` with 61,540,413 entries and the branches

===============  ===========  ==============================================
branch           type         content
===============  ===========  ==============================================
``nMuon``        uint32       number of muons in the event
``Muon_pt``      float32[]    transverse momentum (GeV)
``Muon_eta``     float32[]    pseudorapidity
``Muon_phi``     float32[]    azimuthal angle (rad)
``Muon_mass``    float32[]    mass (GeV), the muon mass
``Muon_charge``  int32[]      electric charge, +1 or -1
===============  ===========  ==============================================

The loader reads it remotely with uproot, only the muon branches and only
the first ``n_events`` entries (about 36 bytes per event: 1 million events
are about 36 MB, never the 2 GB file), and caches that slice in the same
format. A local copy of the full file is used when present
(:func:`download` fetches it, resumably, with progress and a size check).

Simulated source
----------------
:mod:`course_utils.datasets.cms_dimuon_sim`: Pythia 8 at √s = 8 TeV plus a
detector model, written with uproot in exactly the real tree and branch
names and types, so :func:`read` parses both.

Examples
--------
>>> from course_utils.datasets import cms_dimuon
>>> ds = cms_dimuon.load()                   # doctest: +SKIP
>>> events = ds.data                         # N * var * {pt, eta, phi, mass, charge}
>>> events.pt[0]                             # the muon pTs of the first event (GeV)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import _files, config
from course_utils.datasets._fetch import mirrors as _mirrors
from course_utils.datasets._fetch import network_available
from course_utils.datasets._fetch import verify as _verify
from course_utils.datasets._registry import (
    Dataset,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    load_with_fallback,
    real_dir,
)

__all__ = ["INFO", "FILE", "TREE", "FIELDS", "BRANCH_TYPES", "MUON_MASS", "N_ENTRIES", "DF102", "RESONANCES",
           "Resonance", "FileFormatError", "read", "write_events", "load", "download", "default_n_events",
           "pdg_mass", "local_excess"]

TREE = "Events"
#: Muon fields of the events returned by :func:`read`, each read from branch ``Muon_<field>``.
FIELDS = ("pt", "eta", "phi", "mass", "charge")
#: Branch name -> NumPy dtype of its values, as in the real file.
BRANCH_TYPES = {"nMuon": np.dtype(np.uint32), "Muon_pt": np.dtype(np.float32), "Muon_eta": np.dtype(np.float32),
                "Muon_phi": np.dtype(np.float32), "Muon_mass": np.dtype(np.float32),
                "Muon_charge": np.dtype(np.int32)}
#: Muon mass written in ``Muon_mass`` (GeV, PDG).
MUON_MASS = 0.1056583755
N_ENTRIES = 61_540_413

_PATH = "eos/opendata/cms/derived-data/AOD2NanoAODOutreachTool/Run2012BC_DoubleMuParked_Muons.root"
FILE = RemoteFile(
    name="Run2012BC_DoubleMuParked_Muons.root",
    urls=(f"https://opendata.cern.ch/{_PATH}", f"root://eospublic.cern.ch//{_PATH}"),
    sha256=None,  # CERN Open Data publishes adler32 only: checked by size and by format
    size=2_244_449_133,
)

INFO = DatasetInfo(
    name="cms_dimuon",
    title="CMS Open Data 12341: Run2012B/C DoubleMuParked muons (NanoAOD)",
    provenance="CMS collaboration, CERN Open Data Portal record 12341 (2012 data, 8 TeV, 11.6/fb)",
    licence="CC0",
    citation="CMS collaboration. DoubleMuParked primary dataset in NanoAOD format from RunB and RunC of 2012. "
             "CERN Open Data Portal, record 12341. https://doi.org/10.7483/OPENDATA.CMS.LVG5.QT81",
    homepage="https://opendata.cern.ch/record/12341",
    files=(FILE,),
    doi="10.7483/OPENDATA.CMS.LVG5.QT81",
    how_to_obtain="The loader reads the first entries over HTTPS. For the whole file (2.2 GB), run "
                  "course_utils.datasets.cms_dimuon.download() or fetch "
                  f"{FILE.urls[0]} by hand into <data>/real/cms_dimuon/.",
)

#: Cut flow of the full real file measured by ROOT's tutorial df102_NanoAODDimuonAnalysis.
DF102 = {"entries": N_ENTRIES, "two_muons": 31_104_343, "opposite_charge": 24_067_843,
         "source": "ROOT tutorial df102_NanoAODDimuonAnalysis (RDataFrame cut-flow report on this file)"}

#: Seconds without an answer before a remote read is abandoned.
REMOTE_TIMEOUT = 20.0
DEFAULT_STEP = 500_000


@dataclass(frozen=True)
class Resonance:
    """A dimuon resonance: PDG id, label, and the mass windows (GeV) used to find it.

    ``window`` is where the peak is; the two ``sidebands``, on either side,
    estimate the smooth background under it (see :func:`local_excess`).
    """

    name: str
    pdgid: int
    label: str
    window: tuple[float, float]
    sidebands: tuple[tuple[float, float], tuple[float, float]]


#: The resonances of the dimuon spectrum, from the eta to the Z. The rho and omega overlap
#: (775 and 783 MeV): one window, labelled with the omega (narrow, it makes the peak).
RESONANCES = (
    Resonance("eta", 221, r"$\eta$", (0.530, 0.566), ((0.470, 0.515), (0.590, 0.635))),
    Resonance("rho/omega", 223, r"$\rho,\omega$", (0.750, 0.815), ((0.620, 0.690), (0.870, 0.940))),
    Resonance("phi", 333, r"$\phi$", (0.990, 1.050), ((0.900, 0.960), (1.080, 1.140))),
    Resonance("J/psi", 443, r"$J/\psi$", (3.00, 3.20), ((2.70, 2.90), (3.30, 3.50))),
    Resonance("psi(2S)", 100443, r"$\psi(2S)$", (3.60, 3.78), ((3.35, 3.50), (3.85, 4.00))),
    Resonance("Upsilon(1S)", 553, r"$\Upsilon(1S)$", (9.25, 9.65), ((8.40, 9.00), (10.70, 11.30))),
    Resonance("Upsilon(2S)", 100553, r"$\Upsilon(2S)$", (9.90, 10.15), ((8.40, 9.00), (10.70, 11.30))),
    Resonance("Upsilon(3S)", 200553, r"$\Upsilon(3S)$", (10.25, 10.48), ((8.40, 9.00), (10.70, 11.30))),
    Resonance("Z", 23, r"$Z$", (86.0, 96.0), ((70.0, 80.0), (102.0, 112.0))),
)


def pdg_mass(pdgid: int) -> float:
    """PDG mass in GeV, from the ``particle`` package (PDG tables it ships)."""
    from particle import Particle

    return Particle.from_pdgid(pdgid).mass / 1000.0


def default_n_events(source: str) -> int:
    """Default size by mode: entries read from the real file, or events simulated."""
    if source == "real":
        return config.scale(full=4_000_000, fast=1_000_000)
    return config.scale(full=3_000_000, fast=300_000)


# --------------------------------------------------------------------------------------------- reading

def _is_url(location: str) -> bool:
    return urllib.parse.urlsplit(location).scheme in ("http", "https", "root")


def _open_options(location: str, timeout: float) -> dict[str, Any]:
    import uproot

    scheme = urllib.parse.urlsplit(location).scheme
    if scheme in ("http", "https"):
        # uproot's own HTTP source (range requests with the standard library): fsspec's needs aiohttp.
        return {"handler": uproot.source.http.HTTPSource, "timeout": timeout}
    if scheme == "root":
        try:
            import XRootD.client  # noqa: F401
        except ImportError:
            raise DataUnavailableError("reading root:// URLs needs the XRootD Python bindings "
                                       "(pip install xrootd); use the https:// URL instead") from None
        return {"handler": uproot.source.xrootd.XRootDSource, "timeout": timeout}
    return {}


class FileFormatError(ValueError):
    """The file is not a CMS NanoAOD ROOT file: not ROOT, no ``Events`` TTree, or no ``Muon_*`` branches."""


def read(path_or_url: str | os.PathLike[str], entry_stop: int | None = None,
         step_size: int | str = DEFAULT_STEP, *, timeout: float = REMOTE_TIMEOUT,
         progress: bool = False) -> Any:
    """Read the muons of a CMS NanoAOD file (real or simulated) into an awkward Array.

    Only the five ``Muon_*`` branches are read; the file may carry any number
    of other branches (real NanoAOD files carry hundreds).

    Parameters
    ----------
    path_or_url
        A local path, or an ``https://`` / ``root://`` URL (read with range
        requests: only the needed bytes travel).
    entry_stop
        Read the first ``entry_stop`` events (``None``: all of them).
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
        (a ``ValueError``) A file that is not ROOT, has no ``Events`` TTree,
        or lacks ``Muon_*`` branches.
    ValueError
        A truncated or corrupt file; a bad ``entry_stop`` or ``step_size``.
    DataUnavailableError
        A remote file that cannot be reached or whose transfer fails midway.
    """
    import awkward as ak

    location = os.fspath(path_or_url)
    remote = _is_url(location)
    if entry_stop is not None and (isinstance(entry_stop, bool) or not isinstance(entry_stop, (int, np.integer))
                                   or entry_stop < 0):
        raise ValueError(f"entry_stop must be None or an integer >= 0, got {entry_stop!r}")
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
                                  f"b'root'): read() expects a CMS NanoAOD ROOT file such as {FILE.name}")
    branches = [f"Muon_{field}" for field in FIELDS]
    chunks, done = [], 0
    try:
        with contextlib.ExitStack() as stack:
            f = stack.enter_context(_open(location, remote, timeout))
            tree = _events_tree(f, name)
            missing = [b for b in branches if b not in tree]
            if missing:
                have = sorted(tree.keys())
                raise FileFormatError(f"{name}: the tree {TREE!r} has no branch {', '.join(missing)}: read() needs "
                                      f"the CMS NanoAOD muon branches {branches}; it has {len(have)} branches, "
                                      f"e.g. {have[:8]}")
            stop = tree.num_entries if entry_stop is None else min(int(entry_stop), tree.num_entries)
            bar = stack.enter_context(_progress(stop, name, progress))
            for chunk in tree.iterate(branches, entry_stop=stop, step_size=step_size, library="ak"):
                chunks.append(ak.zip({field: chunk[f"Muon_{field}"] for field in FIELDS}))
                done += len(chunk)
                bar.update(len(chunk))
            if not chunks:
                empty = tree.arrays(branches, entry_stop=0, library="ak")
                chunks.append(ak.zip({field: empty[f"Muon_{field}"] for field in FIELDS}))
    except (FileFormatError, DataUnavailableError):
        raise
    except Exception as exc:  # uproot's transfer, decompression and deserialisation errors
        if remote:
            raise DataUnavailableError(f"reading {location} failed after {done:,} events ({type(exc).__name__}: "
                                       f"{exc}): network failure or server error") from exc
        raise ValueError(f"{name} could not be read after {done:,} events: truncated or corrupt file? "
                         f"({type(exc).__name__}: {exc})") from exc
    return ak.concatenate(chunks) if len(chunks) > 1 else chunks[0]


@contextlib.contextmanager
def _open(location: str, remote: bool, timeout: float) -> Iterator[Any]:
    """``uproot.open`` with the right source for the URL scheme (a local path is never parsed for colons)."""
    import uproot

    try:
        f = uproot.open(location if remote else Path(location), **_open_options(location, timeout))
    except FileNotFoundError as exc:
        raise DataUnavailableError(f"{location} was not found on the server (HTTP 404)") from exc
    with f:
        yield f


def _events_tree(f: Any, name: str) -> Any:
    objects = {k.split(";")[0]: c for k, c in f.classnames().items()}
    if objects.get(TREE) != "TTree":
        raise FileFormatError(f"{name} has no TTree {TREE!r}: it holds {objects or 'nothing'}; read() expects a "
                              "CMS NanoAOD file (a TTree 'Events' with Muon_* branches)")
    return f[TREE]


def _progress(total: int, name: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"reading {name}", unit=" events", unit_scale=True, disable=not enabled)


# --------------------------------------------------------------------------------------------- writing

def write_events(path: str | os.PathLike[str], events: Any, *, chunk: int = 50_000) -> Path:
    """Write muon events to a ROOT file with the real file's tree, branch names and types.

    Parameters
    ----------
    path
        The ROOT file to create (written to a temporary file, then renamed).
    events
        awkward Array ``N * var * {pt, eta, phi, charge[, mass]}``, as :func:`read`
        returns; a missing ``mass`` is set to :data:`MUON_MASS`.
    chunk
        Events per basket.

    Returns
    -------
    Path
        ``path``: tree ``Events`` with ``nMuon`` (uint32) and ``Muon_pt``,
        ``Muon_eta``, ``Muon_phi``, ``Muon_mass`` (float32), ``Muon_charge``
        (int32) as jagged branches counted by ``nMuon``.
    """
    import awkward as ak
    import uproot

    missing = [f for f in ("pt", "eta", "phi", "charge") if f not in ak.fields(events)]
    if missing:
        raise ValueError(f"events lack the muon fields {missing}: expected N * var * {{pt, eta, phi, charge}}")
    path = Path(path)
    columns = {f"Muon_{f}": ak.values_astype(events[f] if f in ak.fields(events) else events.pt * 0 + MUON_MASS,
                                             BRANCH_TYPES[f"Muon_{f}"]) for f in FIELDS}
    with _files.atomic_path(path) as tmp:
        with uproot.recreate(tmp) as out:
            tree = out.mktree(TREE, {k: v.type.content for k, v in columns.items()}, title=TREE,
                              counter_name=lambda branch: "nMuon")
            _unsigned_counter(tree)
            for start in range(0, max(len(events), 1), chunk):
                tree.extend({k: v[start:start + chunk] for k, v in columns.items()})
    return path


def _unsigned_counter(tree: Any) -> None:
    """Make the generated counter ``nMuon`` a uint32 leaf, as in the real file.

    uproot always writes counters as int32; this changes the counter's type in
    the writer's metadata, before any entry, and rewrites the empty tree with
    uproot's own relocation step (the one it uses when a tree outgrows its
    basket capacity). Tests check the result: ``nMuon`` reads back as uint32,
    also after many baskets.
    """
    cascading = tree._cascading
    for datum in cascading._branch_data:
        if datum["kind"] == "counter":
            datum["dtype"] = np.dtype(">u4")
            datum["fTitle"] = datum["fTitle"].rsplit("/", 1)[0] + "/i"
    cascading._relocate(tree._file, tree._file.sink)


# --------------------------------------------------------------------------------------------- loading

def _slice_path(n_events: int) -> Path:
    return real_dir(INFO.name) / f"{Path(FILE.name).stem}_first{n_events}.root"


def _remote_locations() -> list[str]:
    return _mirrors(INFO.name, FILE)


def _reachable(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "root":
        return network_available(f"http://{parts.hostname}:{parts.port or 1094}/")
    return network_available(url)


def _read_real(n_events: int, path: str | os.PathLike[str] | None, verbose: bool) -> tuple[Any, Path, str]:
    if path is not None:
        return read(path, entry_stop=n_events, progress=verbose), Path(path), "local copy given by the user"
    full = real_dir(INFO.name) / FILE.name
    if full.is_file() and _verify(full, FILE) is None:
        return read(full, entry_stop=n_events, progress=verbose), full, "full local copy"
    cached = _slice_path(n_events)
    with _files.locked(cached):  # a second notebook waits, then reads the cached slice
        if cached.is_file():
            return read(cached), cached, f"cached slice of the first {n_events:,} events"
        if config.offline_mode():
            raise DataUnavailableError("the CMS file is not cached and COURSE_OFFLINE is set: no remote read tried")
        reasons = []
        for url in _remote_locations():
            if not _reachable(url):
                reasons.append(f"{url}: host unreachable")
                continue
            try:
                if verbose:
                    print(f"[{INFO.name}] reading the first {n_events:,} events of {url}")
                events = read(url, entry_stop=n_events, progress=verbose)
            except DataUnavailableError as exc:
                reasons.append(f"{url}: {exc}")
                continue
            write_events(cached, events)
            return events, cached, f"first {n_events:,} events read remotely from {url}, cached"
    raise DataUnavailableError("no copy of the CMS file could be read: " + "; ".join(reasons))


def load(source: str = "auto", *, n_events: int | None = None, seed: int = 42,
         path: str | os.PathLike[str] | None = None, verbose: bool = True) -> Dataset:
    """The CMS dimuon events, real or simulated.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the real file (a local copy, a cached slice, or a remote
        read), else the simulation, within seconds when offline.
    n_events
        Events to read (real: the first ones of the file) or to simulate;
        ``None``: :func:`default_n_events` for the mode.
    seed
        Seed of the simulation.
    path
        A local copy of the real file (or of another NanoAOD file) to read.

    Returns
    -------
    Dataset
        ``.data`` is the awkward Array of :func:`read`; ``.path`` the local
        ROOT file it came from (same format for both sources).
    """
    def load_real() -> Dataset:
        n = n_events if n_events is not None else default_n_events("real")
        events, where, how = _read_real(n, path, verbose)
        return Dataset(events, "real", INFO.name, INFO.provenance, INFO.licence, where,
                       {"n_events": len(events), "doi": INFO.doi, "how": how})

    def load_simulated() -> Dataset:
        from course_utils.datasets import cms_dimuon_sim

        n = n_events if n_events is not None else default_n_events("simulated")
        return cms_dimuon_sim.simulate(n, seed, verbose=verbose)

    return load_with_fallback(INFO.name, source, load_real, load_simulated, info=INFO, verbose=verbose)


# --------------------------------------------------------------------------------------------- full download

def download(remote: RemoteFile = FILE, *, timeout: float = 60.0, progress: bool = True,
             chunk: int = 1 << 20) -> Path:
    """Download a whole file into ``<data>/real/cms_dimuon/``, resumably, and verify it.

    An interrupted download leaves ``<name>.part``; the next call asks the
    server for the rest (HTTP range request) instead of starting again. The
    result is checked by size (and by sha256 when the registry has one), then
    renamed into place.

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    DataUnavailableError
        Offline, unreachable, or every URL failed (the reasons are listed).
    """
    dest = real_dir(INFO.name) / remote.name
    with _files.locked(dest):
        if _verify(dest, remote) is None:
            return dest
        if config.offline_mode():
            raise DataUnavailableError(f"{remote.name} is not here and COURSE_OFFLINE is set: no download tried")
        reasons = []
        for url in _mirrors(INFO.name, remote):
            if not url.startswith(("http://", "https://")):
                continue
            if not network_available(url):
                reasons.append(f"{url}: host unreachable")
                continue
            try:
                _download_resumable(url, dest, remote, timeout=timeout, progress=progress, chunk=chunk)
                return dest
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                reasons.append(f"{url}: {type(exc).__name__}: {exc}")
        raise DataUnavailableError(f"could not download {remote.name}:\n  " + "\n  ".join(reasons))


def _download_resumable(url: str, dest: Path, remote: RemoteFile, *, timeout: float, progress: bool,
                        chunk: int) -> None:
    import requests
    from tqdm.auto import tqdm

    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    if remote.size is not None and start > remote.size:
        part.unlink()
        start = 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as r:
        if r.status_code == 416:  # nothing left to send: the part is complete
            pass
        else:
            r.raise_for_status()
            if start and r.status_code != 206:  # the server ignored the range: start again
                start = 0
            length = int(r.headers.get("Content-Length", 0)) or None
            total = start + length if length else remote.size
            with open(part, "ab" if start else "wb") as f, tqdm(
                    total=total, initial=start, unit="B", unit_scale=True, desc=remote.name,
                    disable=not progress) as bar:
                for block in r.iter_content(chunk):
                    f.write(block)
                    bar.update(len(block))
    problem = _verify(part, remote)
    if problem is not None:
        if remote.size is None or part.stat().st_size >= remote.size:
            part.unlink()  # complete but wrong: never resume from it
        raise ValueError(f"downloaded file failed verification: {problem}")
    os.replace(part, dest)


# --------------------------------------------------------------------------------------------- analysis helper

def local_excess(mass: Any, window: tuple[float, float],
                 sidebands: tuple[tuple[float, float], tuple[float, float]]) -> dict[str, float]:
    """Events above a smooth background in a mass window, and their significance.

    The background density (events per GeV) is measured in the two sidebands
    and interpolated linearly to the window's centre; times the window's width
    it gives the expected background ``B``. With ``N`` events in the window,
    the significance is ``(N - B) / sqrt(N + var(B))``, where ``var(B)``
    propagates the sidebands' Poisson errors.

    Parameters
    ----------
    mass : array-like, shape (n,)
        Dimuon masses (GeV).
    window, sidebands
        ``(low, high)`` in GeV; the sidebands lie on either side of the window.

    Returns
    -------
    dict
        ``observed``, ``background``, ``background_error``, ``excess``, ``significance``.
    """
    m = np.asarray(mass, dtype=float).ravel()
    if m.size == 0:
        raise ValueError("mass is empty: no dimuon to count")
    if np.isnan(m).any():
        raise ValueError("mass contains NaN")
    (l0, l1), (r0, r1) = sidebands
    w0, w1 = window
    if not (l0 < l1 <= w0 < w1 <= r0 < r1):
        raise ValueError(f"expected left sideband < window < right sideband, got {sidebands[0]}, {window}, "
                         f"{sidebands[1]}")

    def count(lo: float, hi: float) -> int:
        return int(np.count_nonzero((m >= lo) & (m < hi)))

    n_left, n_right, n_obs = count(l0, l1), count(r0, r1), count(w0, w1)
    c_left, c_right, c_win = (l0 + l1) / 2, (r0 + r1) / 2, (w0 + w1) / 2
    t = (c_win - c_left) / (c_right - c_left)  # interpolation weight of the right sideband
    a, b = (1 - t) * (w1 - w0) / (l1 - l0), t * (w1 - w0) / (r1 - r0)
    background = a * n_left + b * n_right
    var_b = a * a * n_left + b * b * n_right
    excess = n_obs - background
    denom = np.sqrt(n_obs + var_b)
    return {"observed": float(n_obs), "background": float(background), "background_error": float(np.sqrt(var_b)),
            "excess": float(excess), "significance": float(excess / denom) if denom > 0 else 0.0}
