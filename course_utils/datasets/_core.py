"""The data layer shared by every dataset: registry entries, downloads, caches, fall-back.

One loader, two sources
-----------------------
Each dataset module offers ``load(source="auto" | "real" | "simulated", ...)``
built on :func:`load_with_fallback`:

* ``"real"`` reads the public dataset from the cache, or downloads it (pooch,
  sha256-verified, retried over mirrors); offline it fails with a message that
  says how to obtain the data;
* ``"simulated"`` reads (or generates once, then caches) the course's own
  simulation, written in exactly the real file format;
* ``"auto"`` tries the real dataset and falls back to the simulation within
  seconds when it cannot be had (no network, ``COURSE_OFFLINE=1``, a server error).

Caches live under ``config.data_dir()``: ``real/<dataset>/`` and
``simulated/<dataset>/<key>/``. Writes are atomic and locked, so two notebooks
loading the same dataset at once never corrupt a cache. A cached file whose
checksum is wrong is detected, removed and fetched again.

``COURSE_DATA_MIRROR=http://host/path`` adds a mirror tried first, where files
are at ``<mirror>/<dataset>/<file name>`` (a classroom server, for instance).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from course_utils import _files, config

__all__ = [
    "RemoteFile", "DatasetInfo", "Dataset", "DataUnavailableError",
    "real_dir", "simulated_dir", "is_cached", "fetch", "network_available",
    "cached_simulation", "load_with_fallback", "SOURCES",
]

SOURCES = ("auto", "real", "simulated")

#: Seconds to wait for a TCP connection when probing the network.
PROBE_TIMEOUT = 3.0
#: Seconds without data before a download is abandoned.
DOWNLOAD_TIMEOUT = 30.0


class DataUnavailableError(RuntimeError):
    """The real dataset cannot be obtained here (offline, server error, bad checksum)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a public dataset.

    Parameters
    ----------
    name
        File name in the cache (``magic04.data``).
    urls
        Where to download it, tried in order (mirrors).
    sha256
        Expected SHA-256 of the file itself (``None`` only for files whose
        content is checked otherwise).
    size
        Expected size in bytes, or ``None``.
    archive_member
        When the URLs serve a zip archive, the member that is this file.
    """

    name: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None
    archive_member: str | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError(f"{self.name}: at least one URL is needed")
        if self.sha256 is not None and len(self.sha256) != 64:
            raise ValueError(f"{self.name}: sha256 must be 64 hex digits, got {self.sha256!r}")


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry: what the real dataset is and where it comes from."""

    name: str
    title: str
    provenance: str
    licence: str
    citation: str
    homepage: str
    files: tuple[RemoteFile, ...] = ()
    doi: str | None = None
    how_to_obtain: str = ""

    def file(self, name: str) -> RemoteFile:
        for f in self.files:
            if f.name == name:
                return f
        raise ValueError(f"dataset {self.name!r} has no file {name!r}: it has {[f.name for f in self.files]}")


@dataclass
class Dataset:
    """What a loader returns: the data, and where they come from.

    Attributes
    ----------
    data
        The loaded data (a DataFrame, arrays...), as the module documents.
    source
        ``"real"`` or ``"simulated"``.
    provenance, licence
        One line each, printed by the loader.
    path
        The file or folder the data were read from.
    details
        Anything else worth knowing (simulation parameters, number of events).
    """

    data: Any
    source: Literal["real", "simulated"]
    name: str
    provenance: str
    licence: str
    path: Path
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        kind = "données réelles" if self.source == "real" else "SIMULATION du cours"
        return f"[{self.name}] {kind} | {self.provenance} | licence : {self.licence} | {self.path}"

    def __repr__(self) -> str:
        return f"Dataset({self.summary()})"


def real_dir(dataset: str) -> Path:
    """Cache folder of a real dataset: ``<data>/real/<dataset>``."""
    return config.data_dir() / "real" / dataset


def simulated_dir(dataset: str) -> Path:
    """Cache folder of a dataset's simulations: ``<data>/simulated/<dataset>``."""
    return config.data_dir() / "simulated" / dataset


def _verify(path: Path, remote: RemoteFile) -> str | None:
    """``None`` when ``path`` matches the expected size and checksum, else the reason."""
    if not path.is_file():
        return "missing"
    if remote.size is not None and path.stat().st_size != remote.size:
        return f"size {path.stat().st_size} bytes, expected {remote.size}"
    if remote.sha256 is not None:
        digest = _files.sha256(path)
        if digest != remote.sha256:
            return f"sha256 {digest[:12]}…, expected {remote.sha256[:12]}…"
    return None


def is_cached(dataset: str, remote: RemoteFile) -> bool:
    """True when the file is in the cache with the right size and checksum."""
    return _verify(real_dir(dataset) / remote.name, remote) is None


def network_available(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether a TCP connection to the URL's host opens within ``timeout`` seconds."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return True
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _mirrors(dataset: str, remote: RemoteFile) -> list[str]:
    urls = list(remote.urls)
    mirror = os.environ.get("COURSE_DATA_MIRROR", "").strip()
    if mirror:
        leaf = remote.archive_member and urls[0].rsplit("/", 1)[-1] or remote.name
        urls.insert(0, f"{mirror.rstrip('/')}/{dataset}/{leaf}")
    return urls


def _download(url: str, target: Path, known_hash: str | None, timeout: float, progress: bool) -> None:
    import pooch

    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
    pooch.retrieve(url, known_hash=None if known_hash is None else f"sha256:{known_hash}",
                   fname=target.name, path=target.parent, downloader=downloader, progressbar=progress)


def fetch(dataset: str, remote: RemoteFile, *, retries: int = 2, timeout: float = DOWNLOAD_TIMEOUT,
          progress: bool = True) -> Path:
    """The verified local path of a real file, downloading it when needed.

    A cached file with the wrong size or checksum is removed and fetched again.
    Each mirror is tried ``retries`` times. Concurrent callers wait on a lock,
    and the file appears atomically.

    Raises
    ------
    DataUnavailableError
        Offline mode, no network, or every mirror failed (the reasons are listed).
    """
    dest = real_dir(dataset) / remote.name
    with _files.locked(dest):
        problem = _verify(dest, remote)
        if problem is None:
            return dest
        if problem != "missing":
            print(f"[{dataset}] cached {remote.name} is corrupt ({problem}): removed, fetching it again")
            dest.unlink()
        if config.offline_mode():
            raise DataUnavailableError(f"{remote.name} is not cached and COURSE_OFFLINE is set: no download tried")
        reasons = []
        for url in _mirrors(dataset, remote):
            if not network_available(url):
                reasons.append(f"{url}: host unreachable")
                continue
            for attempt in range(1, retries + 1):
                try:
                    _fetch_one(url, dest, remote, timeout=timeout, progress=progress)
                    return dest
                except Exception as exc:  # noqa: BLE001 - every failure is reported below
                    reasons.append(f"{url} (try {attempt}): {type(exc).__name__}: {exc}")
                    if "404" in str(exc) or "403" in str(exc):
                        break
                    time.sleep(min(2.0, 0.5 * attempt))
        raise DataUnavailableError(f"could not download {remote.name}:\n  " + "\n  ".join(reasons))


def _fetch_one(url: str, dest: Path, remote: RemoteFile, *, timeout: float, progress: bool) -> None:
    if remote.archive_member is None:
        _download(url, dest, remote.sha256, timeout, progress)
    else:
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            archive = Path(tmp) / "archive.zip"
            _download(url, archive, None, timeout, progress)
            extracted = _files.safe_extract_zip(archive, Path(tmp) / "x", members=[remote.archive_member])[0]
            os.replace(extracted, dest)
    problem = _verify(dest, remote)
    if problem is not None:
        dest.unlink(missing_ok=True)
        raise ValueError(f"downloaded file failed verification: {problem}")


def _key(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cached_simulation(dataset: str, params: dict[str, Any], generate: Callable[[Path], None],
                      *, version: str = "1") -> Path:
    """The folder of a simulation with these parameters, generating it once.

    Parameters
    ----------
    dataset
        Dataset name (cache folder ``simulated/<dataset>/``).
    params
        Everything that changes the output (sizes, seed...): the cache key.
    generate
        ``generate(folder)`` writes the files into an empty temporary folder; the
        folder is renamed into place only when it returns, so a crash or a
        second process never leaves a half-written cache.
    version
        Bump it when the generator changes, to invalidate old caches.

    Returns
    -------
    Path
        The folder holding the generated files and a ``manifest.json``.
    """
    key_params = {"version": version, **params}
    final = simulated_dir(dataset) / _key(key_params)
    manifest = final / "manifest.json"
    with _files.locked(final):
        if manifest.is_file() and _manifest_ok(final, manifest):
            return final
        if final.exists():
            print(f"[{dataset}] incomplete or corrupt simulation cache {final.name}: generated again")
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            generate(tmp)
            files = {p.relative_to(tmp).as_posix(): p.stat().st_size
                     for p in sorted(tmp.rglob("*")) if p.is_file()}
            if not files:
                raise RuntimeError(f"the {dataset} simulation wrote no file")
            (tmp / "manifest.json").write_text(json.dumps(
                {"dataset": dataset, "params": key_params, "files": files,
                 "created": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2, default=str))
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def _manifest_ok(folder: Path, manifest: Path) -> bool:
    try:
        files = json.loads(manifest.read_text())["files"]
    except (OSError, ValueError, KeyError):
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in files.items())


def load_with_fallback(name: str, source: str, load_real: Callable[[], Dataset],
                       load_simulated: Callable[[], Dataset] | None, *, info: DatasetInfo | None = None,
                       verbose: bool = True) -> Dataset:
    """Resolve ``source`` and return the dataset, printing which source was used.

    Parameters
    ----------
    name
        Dataset name, for messages.
    source : {"auto", "real", "simulated"}
        ``"auto"`` tries the real data and falls back to the simulation.
    load_real, load_simulated
        Loaders for each source. ``load_real`` raises :class:`DataUnavailableError`
        when the data cannot be had; ``load_simulated`` may be ``None`` when no
        simulation exists.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: expected one of {SOURCES}")
    how = f"\n{info.how_to_obtain}" if info is not None and info.how_to_obtain else ""
    if source == "simulated":
        if load_simulated is None:
            raise ValueError(f"no simulation exists for {name!r} (yet): use source='real'")
        ds = load_simulated()
    elif source == "real":
        try:
            ds = load_real()
        except DataUnavailableError as exc:
            raise DataUnavailableError(f"the real {name} dataset is not available: {exc}{how}") from exc
    else:
        try:
            ds = load_real()
        except DataUnavailableError as exc:
            if load_simulated is None:
                raise DataUnavailableError(
                    f"the real {name} dataset is not available ({exc}) and no simulation exists yet{how}"
                ) from exc
            if verbose:
                lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
                first = " ".join(lines[:2]) + (f" (+{len(lines) - 2} more)" if len(lines) > 2 else "")
                print(f"[{name}] real data unavailable ({first}): using the course's simulation instead")
            ds = load_simulated()
    if verbose:
        print(ds.summary())
    return ds


def n_workers(n_tasks: int | None = None) -> int:
    """Worker processes for a simulation: one per core (``COURSE_WORKERS`` overrides)."""
    raw = os.environ.get("COURSE_WORKERS", "").strip()
    n = int(raw) if raw else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"COURSE_WORKERS must be >= 1, got {raw!r}")
    return max(1, min(n, n_tasks)) if n_tasks else n


def parallel_map(fn: Callable[..., Any], tasks: list[Any], *, desc: str, workers: int | None = None) -> list[Any]:
    """``[fn(t) for t in tasks]`` over worker processes, in order, with a progress bar.

    ``fn`` must be a module-level function (it is sent to fresh ``spawn``
    processes, safe even when torch or TensorFlow threads run in the notebook).
    With one worker it runs in this process.
    """
    from tqdm.auto import tqdm

    workers = n_workers(len(tasks)) if workers is None else max(1, min(workers, len(tasks)))
    if workers == 1:
        return [fn(t) for t in tqdm(tasks, desc=desc)]
    import concurrent.futures as cf
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    results: list[Any] = [None] * len(tasks)
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        for fut in tqdm(cf.as_completed(futures), total=len(tasks), desc=desc):
            results[futures[fut]] = fut.result()
    return results
