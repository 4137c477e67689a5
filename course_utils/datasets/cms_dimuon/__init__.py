"""CMS dimuon events of 2012 (CERN Open Data), or the course's Pythia 8 simulation of them.

Published dataset
-----------------
CMS Open Data record 12341, ``Run2012BC_DoubleMuParked_Muons.root``
(DOI 10.7483/OPENDATA.CMS.LVG5.QT81, CC0): the muons of the Run2012B and
Run2012C DoubleMuParked data, √s = 8 TeV, 11.6 fb⁻¹, **measured** by the CMS
detector and reduced to NanoAOD format by the AOD2NanoAODOutreachTool.
2,244,449,133 bytes; one TTree ``Events`` with 61,540,413 entries and the
muon branches described in :mod:`.formats`.

The loader reads it remotely with uproot, only the muon branches and only
the first ``n`` entries (about 36 bytes per event: 1 million events are
about 36 MB, never the 2 GB file), and caches that slice in the same format.
A local copy of the full file is used when present (:func:`download` fetches
it, resumably, with progress and a size check).

Course simulation
-----------------
:mod:`.simulation`: Pythia 8 at √s = 8 TeV plus a detector model, written
with :func:`.formats.write` in the real tree and branch names and types, so
:func:`.formats.read` parses both.

Examples
--------
>>> from course_utils.datasets import cms_dimuon
>>> ds = cms_dimuon.load()                   # doctest: +SKIP
>>> events = ds.data                         # N * var * {pt, eta, phi, mass, charge}
>>> events.pt[0]                             # the muon pTs of the first event (GeV)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from course_utils import config
from course_utils.datasets import _storage
from course_utils.datasets._fetch import (
    download_message,
    download_resumable,
    format_mb,
    mirrors,
    over_mirrors,
    verify,
)
from course_utils.datasets._registry import (
    Dataset,
    DatasetInfo,
    RemoteFile,
    load_with_fallback,
    real_dir,
)
from course_utils.datasets.cms_dimuon.formats import (
    BRANCH_TYPES,
    FIELDS,
    MUON_MASS,
    TREE,
    FileFormatError,
    read,
    write,
)
from course_utils.validation import check_choice, check_count

__all__ = ["INFO", "FILE", "TREE", "FIELDS", "BRANCH_TYPES", "MUON_MASS", "N_ENTRIES", "DF102", "FileFormatError",
           "read", "write", "load", "download", "default_n"]

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
    made_by="measured: CMS detector, 2012 proton collisions at 8 TeV (Run2012B/C DoubleMuParked), real data",
)

#: Cut flow of the full real file measured by ROOT's tutorial df102_NanoAODDimuonAnalysis.
DF102 = {"entries": N_ENTRIES, "two_muons": 31_104_343, "opposite_charge": 24_067_843,
         "source": "ROOT tutorial df102_NanoAODDimuonAnalysis (RDataFrame cut-flow report on this file)"}


def default_n(source: str) -> int:
    """Default size by mode: entries read from the real file, or events simulated."""
    check_choice(source, "source", ("real", "simulated"))
    if source == "real":
        return config.scale(full=4_000_000, fast=1_000_000)
    return config.scale(full=3_000_000, fast=300_000)


def _slice_path(n: int, data_home: str | os.PathLike[str] | None = None) -> Path:
    return real_dir(INFO.name, data_home) / f"{Path(FILE.name).stem}_first{n}.root"


def _remote_locations() -> list[str]:
    return mirrors(INFO.name, FILE)


def _read_real(n: int, data_home: str | os.PathLike[str] | None, verbose: bool) -> tuple[Any, Path, str]:
    full = real_dir(INFO.name, data_home) / FILE.name
    if full.is_file() and verify(full, FILE) is None:
        return read(full, n=n, progress=verbose), full, "full local copy"
    cached = _slice_path(n, data_home)
    if cached.is_file():  # slices are written atomically: reading needs no lock (a read-only folder works)
        return read(cached), cached, f"cached slice of the first {n:,} events"
    hint = "pass data_home=<a writable folder>" if data_home is not None else ""
    with _storage.writing(cached, f"the slice {cached.name} of the first {n:,} events", hint=hint):
        # a second notebook waits, then reads the cached slice
        if cached.is_file():
            return read(cached), cached, f"cached slice of the first {n:,} events"

        def attempt(url: str) -> tuple[Any, str]:
            if verbose:
                print(f"[{INFO.name}] reading the first {n:,} events of {url}")
            return read(url, n=n, progress=verbose), url

        # one try per mirror: a failed remote read of a large slice is not worth repeating
        events, url = over_mirrors(f"the CMS file {FILE.name}", _remote_locations(), attempt, retries=1)
        write(events, cached)
        _storage.share_permissions(cached)
        return events, cached, f"first {n:,} events read remotely from {url}, cached"


def load(source: Literal["auto", "real", "simulated"] = "auto", *, n: int | None = None, seed: int = 42,
         verbose: bool = True, data_home: str | os.PathLike[str] | None = None) -> Dataset:
    """The CMS dimuon events: the published dataset or the course simulation.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the real file (a local copy, a cached slice, or a remote
        read), else the simulation, within seconds when offline.
    n
        Events (``len(ds)``) to read (real: the first ones of the file) or to
        simulate; ``None``: :func:`default_n` for the mode.
    seed
        Seed of the simulation; the published events do not depend on it
        (the first ``n`` of the file).
    verbose
        Print the source used and show progress bars.
    data_home
        The folder of the published file, instead of ``<data>/real/cms_dimuon/``:
        the whole file (``Run2012BC_DoubleMuParked_Muons.root``, checked by
        size) is read there when present, else a slice of its first ``n``
        events cached there, else those events are read remotely and cached
        there. To read another NanoAOD file, use :func:`read`.

    Returns
    -------
    Dataset
        ``.data`` is the awkward Array of :func:`.formats.read`; ``.path`` the
        local ROOT file it came from (same format for both sources).
    """
    n = check_count(n, "n", allow_none=True)

    def load_real() -> Dataset:
        size = n if n is not None else default_n("real")
        events, where, how = _read_real(size, data_home, verbose)
        return Dataset(events, "real", INFO.name, INFO.provenance, INFO.licence, where,
                       {"doi": INFO.doi, "how": how})

    def load_simulated() -> Dataset:
        from course_utils.datasets.cms_dimuon import simulation

        return simulation.simulate(n if n is not None else default_n("simulated"), seed=seed, verbose=verbose)

    return load_with_fallback(INFO.name, source, load_real, load_simulated, info=INFO, verbose=verbose)


def download(remote: RemoteFile = FILE, *, timeout: float = 60.0, progress: bool = True,
             chunk: int = 1 << 20) -> Path:
    """Download a whole file into ``<data>/real/cms_dimuon/``, resumably, and verify it.

    An interrupted download leaves ``<name>.part``; the next call asks the
    server for the rest (HTTP range request) instead of starting again. The
    result is checked by size (and by sha256 when the registry has one), then
    renamed into place. Only ``http(s)://`` mirrors are used. ``chunk``
    (bytes) is what is read and written at a time: a cut transfer loses at
    most the chunk it was receiving.

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
    part = dest.with_name(dest.name + ".part")

    def attempt(url: str) -> Path:
        download_resumable(url, part, timeout=timeout, progress=progress, expected_size=remote.size,
                           desc=remote.name, chunk=chunk)
        problem = verify(part, remote)
        if problem is not None:
            if remote.size is None or part.stat().st_size >= remote.size:
                part.unlink()  # complete but wrong: never resume from it
            raise ValueError(f"downloaded file failed verification: {problem}")
        os.replace(part, dest)
        _storage.share_permissions(dest)
        return dest

    if verify(dest, remote) is None:
        return dest
    with _storage.writing(dest, f"{remote.name} ({format_mb(remote.bytes_on_disk)})"):
        if verify(dest, remote) is None:
            return dest
        urls = [u for u in mirrors(INFO.name, remote) if u.startswith(("http://", "https://"))]
        return over_mirrors(remote.name, urls, attempt, announce=download_message(INFO.name, remote))
