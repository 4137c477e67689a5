"""The only HTTP code of the course: verified downloads over mirrors.

* :func:`fetch`: a published file, downloaded once with pooch, sha256-verified,
  cached under ``<data>/real/<dataset>/``; a corrupt cached file is fetched again.
* :func:`over_mirrors`: the one mirror loop ("cached? offline? for each mirror:
  try, collect the reasons, else raise"), for loaders that read remotely
  (uproot over HTTP, a streamed head of a large file) instead of downloading.
* :func:`download_resumable`: one resumable download (HTTP ranges) for files of
  several GB.
* :func:`stream`: the body of a URL in chunks, for loaders that read only the
  beginning of a large file (the HIGGS head).
* :func:`fetch_kaggle`: a Kaggle dataset or competition file through the
  optional ``kagglehub`` package, when credentials are configured.

No other module of ``course_utils.datasets`` imports ``requests``, ``pooch`` or
``kagglehub``.

Before a file is downloaded, :func:`download_message` prints what it will
cost, from the registry: "téléchargement : X Mo à télécharger, Y Mo sur le
disque" (:func:`over_mirrors`'s ``announce``, used by every download path).

A file already cached and valid is read without a lock and without writing
anything, so that a read-only data folder works (a class server); a download
takes the per-user lock of :mod:`course_utils.datasets._storage`, and a
download into a read-only folder fails at once with a message that says which
variable to set (:class:`~course_utils.datasets._storage.ReadOnlyDataError`).

``COURSE_DATA_MIRROR=http://host/path`` adds a mirror tried first, where files
are at ``<mirror>/<dataset>/<file name>`` (a classroom server, for instance).
Whether to retry a mirror is decided by the HTTP status code: 4xx answers
(not found, forbidden) are final for that mirror, others are retried.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import socket
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

from course_utils import _files, config
from course_utils.datasets import _storage
from course_utils.datasets._registry import DataUnavailableError, RemoteFile, real_dir

__all__ = ["PROBE_TIMEOUT", "DOWNLOAD_TIMEOUT", "KAGGLE_TIMEOUT", "network_available", "mirrors", "verify",
           "is_cached", "http_status", "format_mb", "size_texts", "download_message", "sizes_message", "over_mirrors", "fetch", "download_resumable", "stream", "kagglehub_installed", "kaggle_credentials",
           "fetch_kaggle"]

T = TypeVar("T")

#: Seconds to wait for a TCP connection when probing the network.
PROBE_TIMEOUT = 3.0
#: Seconds without data before a download is abandoned.
DOWNLOAD_TIMEOUT = 30.0
#: Seconds without data before a Kaggle download is abandoned.
KAGGLE_TIMEOUT = 60.0


def verify(path: Path, remote: RemoteFile) -> str | None:
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


def is_cached(dataset: str, remote: RemoteFile, *, data_home: str | os.PathLike[str] | None = None) -> bool:
    """True when the file is in the cache (or ``data_home``) with the right size and checksum."""
    return verify(real_dir(dataset, data_home) / remote.name, remote) is None


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


def mirrors(dataset: str, remote: RemoteFile) -> list[str]:
    """The URLs to try for a file, in order: ``COURSE_DATA_MIRROR`` first when set."""
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


def http_status(exc: BaseException) -> int | None:
    """The HTTP status code carried by a ``requests`` error (``None`` when there is none)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return int(status) if status is not None else None


def _final(exc: BaseException) -> bool:
    """A client error (4xx other than 408/429) will not change on a retry."""
    status = http_status(exc)
    return status is not None and 400 <= status < 500 and status not in (408, 429)


def format_mb(n_bytes: int | None, *, approx: bool = False) -> str:
    """Bytes as French megabytes (10**6 bytes): ``"1,5 Mo"``; ``None``: ``"taille inconnue"``.

    ``approx``: a publisher's rounded figure, shown as such with three significant
    digits (``"≈ 2 790 Mo"``).
    """
    if n_bytes is None:
        return "taille inconnue"
    mb = n_bytes / 1e6
    if approx:
        rounded = float(f"{mb:.3g}")  # three significant digits
        digits = max(0, 2 - math.floor(math.log10(rounded)))
        return "≈ " + f"{rounded:,.{digits}f}".replace(",", " ").replace(".", ",") + " Mo"
    return f"{mb:,.1f}".replace(",", " ").replace(".", ",") + " Mo"


def size_texts(remote: RemoteFile) -> tuple[str, str]:
    """``(to fetch, on disk)`` of :func:`format_mb` for a registry file; publishers' figures marked "≈"."""
    return (format_mb(remote.bytes_to_fetch, approx=remote.download_size is not None),
            format_mb(remote.bytes_on_disk, approx=remote.size is None))


def download_message(dataset: str, remote: RemoteFile) -> str:
    """What a download of ``remote`` costs, from the registry, printed before it starts.

    ``"[magic] téléchargement : 1,5 Mo à télécharger, 1,5 Mo sur le disque (magic04.data)"``;
    a size the registry does not know reads ``"taille inconnue"``, a publisher's
    rounded figure ``"≈ 2 790 Mo"``.
    """
    to_fetch, on_disk = size_texts(remote)
    return f"[{dataset}] téléchargement : {to_fetch} à télécharger, {on_disk} sur le disque ({remote.name})"


def sizes_message(dataset: str, what: str, to_fetch: int | None, on_disk: int | None) -> str:
    """The line of :func:`download_message` for a download that is not a registry file (estimated sizes)."""
    return (f"[{dataset}] téléchargement : {format_mb(to_fetch, approx=True)} à télécharger, "
            f"{format_mb(on_disk, approx=True)} sur le disque ({what})")


def over_mirrors(what: str, urls: list[str], attempt: Callable[[str], T], *, retries: int = 2,
                 announce: str | None = None) -> T:
    """``attempt(url)`` for each URL in turn until one succeeds; the reasons of every failure otherwise.

    Parameters
    ----------
    what
        What is fetched, for messages (``"HIGGS.csv.gz"``).
    urls
        Mirrors, in order (see :func:`mirrors`). Unreachable hosts are skipped
        after a short probe, so an offline machine fails in seconds.
    attempt
        Does the work for one URL and returns its result; any exception counts
        as a failure of that mirror.
    retries
        Tries per mirror; a 4xx status ends a mirror's tries at once.
    announce
        Printed once, just before the first attempt (not when offline or when
        no host answers): :func:`download_message` for a download.

    Raises
    ------
    DataUnavailableError
        ``COURSE_OFFLINE`` is set, or every mirror failed (each reason listed).
    """
    if config.offline_mode():
        raise DataUnavailableError(f"{what} is not cached and COURSE_OFFLINE is set: no download tried")
    reasons = []
    for url in urls:
        if not network_available(url):
            reasons.append(f"{url}: host unreachable")
            continue
        for n in range(1, retries + 1):
            if announce is not None:
                print(announce)
                announce = None
            try:
                return attempt(url)
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                reasons.append(f"{url} (try {n}): {type(exc).__name__}: {exc}")
                if _final(exc):
                    break
                if n < retries:
                    time.sleep(min(2.0, 0.5 * n))
    raise DataUnavailableError(f"could not obtain {what}:\n  " + "\n  ".join(reasons))


def fetch(dataset: str, remote: RemoteFile, *, retries: int = 2, timeout: float = DOWNLOAD_TIMEOUT,
          progress: bool = True, data_home: str | os.PathLike[str] | None = None) -> Path:
    """The verified local path of a real file, downloading it when needed.

    A valid cached file is returned without a lock and without writing
    anything (a read-only data folder works). A cached file with the wrong size
    or checksum is removed and fetched again. Each mirror is tried ``retries``
    times. Concurrent downloaders wait on a per-user lock, and the file
    appears atomically. ``data_home``: the folder to look in and download
    into, instead of ``<data>/real/<dataset>/``. Before downloading, the sizes
    from the registry are printed (:func:`download_message`).

    Raises
    ------
    ReadOnlyDataError
        The file is missing (or corrupt) and its folder is read-only: the
        message says which variable to set. A :class:`DataUnavailableError`.
    DataUnavailableError
        Offline mode, no network, or every mirror failed (the reasons are listed).
    """
    dest = real_dir(dataset, data_home) / remote.name
    problem = verify(dest, remote)
    if problem is None:
        return dest
    what = f"{remote.name} ({format_mb(remote.bytes_on_disk)})" if problem == "missing" else \
        f"a valid {remote.name} (the copy there is corrupt: {problem})"
    hint = "pass data_home=<a writable folder>" if data_home is not None else ""
    with _storage.writing(dest, what, hint=hint):
        problem = verify(dest, remote)  # another process may have fetched it while we waited
        if problem is None:
            return dest
        if problem != "missing":
            print(f"[{dataset}] cached {remote.name} is corrupt ({problem}): removed, fetching it again")
            dest.unlink()

        def attempt(url: str) -> Path:
            _fetch_one(url, dest, remote, timeout=timeout, progress=progress)
            return dest

        return over_mirrors(remote.name, mirrors(dataset, remote), attempt, retries=retries,
                            announce=download_message(dataset, remote))


def _fetch_one(url: str, dest: Path, remote: RemoteFile, *, timeout: float, progress: bool) -> None:
    if remote.archive_member is None:
        _download(url, dest, remote.sha256, timeout, progress)
    else:
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            archive = Path(tmp) / "archive.zip"
            _download(url, archive, None, timeout, progress)
            extracted = _files.safe_extract_zip(archive, Path(tmp) / "x", members=[remote.archive_member])[0]
            os.replace(extracted, dest)
    problem = verify(dest, remote)
    if problem is not None:
        dest.unlink(missing_ok=True)
        raise ValueError(f"downloaded file failed verification: {problem}")
    _storage.share_permissions(dest)  # pooch's temporary files are private: a shared folder must be readable


def download_resumable(url: str, part: Path, *, timeout: float = 60.0, progress: bool = True,
                       expected_size: int | None = None, desc: str | None = None, chunk: int = 1 << 20) -> int:
    """Download ``url`` into ``part``, continuing from its current size (HTTP range); return its size.

    An interrupted download leaves ``part`` behind; the next call asks the server
    for the rest. A server that ignores the range makes it start again.

    Raises
    ------
    OSError
        The transfer stopped before the announced length (call again to resume).
    requests.HTTPError
        The server answered with an error status.
    """
    import requests
    from tqdm.auto import tqdm

    part = Path(part)
    part.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.is_file() else 0
    if expected_size is not None and start > expected_size:
        part.unlink()
        start = 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as resp:
        if resp.status_code == 416:  # nothing left to send: the part is complete
            return start
        resp.raise_for_status()
        if start and resp.status_code != 206:  # the server ignored the range: start again
            start = 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length is not None else expected_size
        with open(part, "ab" if start else "wb") as f, tqdm(
                total=total, initial=start, unit="B", unit_scale=True, desc=desc or url.rsplit("/", 1)[-1],
                disable=not progress) as bar:
            for block in resp.iter_content(chunk):
                f.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size != total:
        raise OSError(f"download stopped at {size:,} of {total:,} bytes (call again to resume)")
    return size


def stream(url: str, *, timeout: float = DOWNLOAD_TIMEOUT, chunk: int = 1 << 16) -> Iterator[bytes]:
    """The body of ``url`` in chunks of about ``chunk`` bytes; stop iterating to stop the download.

    Raises
    ------
    requests.HTTPError
        The server answered with an error status (:func:`http_status` reads it).
    """
    import requests

    with requests.get(url, stream=True, timeout=timeout) as resp:
        resp.raise_for_status()
        yield from resp.iter_content(chunk)


def kagglehub_installed() -> bool:
    """Whether the optional ``kagglehub`` package can be imported (it is not imported here)."""
    return importlib.util.find_spec("kagglehub") is not None


def kaggle_credentials() -> bool:
    """Whether Kaggle credentials are configured (environment variables, ``kaggle.json`` or ``access_token``)."""
    if os.environ.get("KAGGLE_API_TOKEN") or (os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")):
        return True
    conf = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")
    return (conf / "kaggle.json").is_file() or (conf / "access_token").is_file()


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def fetch_kaggle(handle: str, *, kind: Literal["dataset", "competition"] = "dataset", path: str | None = None,
                 timeout: float = KAGGLE_TIMEOUT, announce: str | None = None) -> Path:
    """Download a Kaggle dataset (or one file of a competition) with the optional ``kagglehub`` package.

    ``kagglehub`` keeps its own cache (``~/.cache/kagglehub``), so a second
    call returns at once.

    Parameters
    ----------
    handle
        ``"owner/dataset"`` for a dataset, the competition's name for a competition.
    kind
        ``"dataset"`` (``kagglehub.dataset_download``) or ``"competition"``
        (``kagglehub.competition_download``, whose rules must have been
        accepted on kaggle.com).
    path
        One file of the dataset or competition (``"train_sample.zip"``); ``None``: all of it.
    timeout
        Seconds without data before the download is abandoned.
    announce
        Printed just before the download starts (:func:`download_message`).

    Returns
    -------
    Path
        Where ``kagglehub`` put the files.

    Raises
    ------
    DataUnavailableError
        ``COURSE_OFFLINE`` is set, ``kagglehub`` is not installed, no
        credentials, kaggle.com unreachable, or the download failed: each
        says which, in seconds when offline.
    """
    if kind not in ("dataset", "competition"):
        raise ValueError(f"kind must be one of ('dataset', 'competition'), got {kind!r} ({type(kind).__name__})")
    if config.offline_mode():
        raise DataUnavailableError("COURSE_OFFLINE is set, so no download is tried")
    if not kagglehub_installed():
        raise DataUnavailableError("the optional package kagglehub is not installed")
    if not kaggle_credentials():
        raise DataUnavailableError("kagglehub has no Kaggle credentials (KAGGLE_USERNAME/KAGGLE_KEY or kaggle.json)")
    if not network_available("https://www.kaggle.com"):
        raise DataUnavailableError("www.kaggle.com is unreachable")
    import kagglehub

    if announce is not None:
        print(announce)
    try:
        with _socket_timeout(timeout):
            if kind == "dataset":
                out = kagglehub.dataset_download(handle, path=path) if path else kagglehub.dataset_download(handle)
            else:
                out = kagglehub.competition_download(handle, path=path) if path else \
                    kagglehub.competition_download(handle)
    except Exception as exc:  # noqa: BLE001 - any failure means: not available this way
        raise DataUnavailableError(f"kagglehub failed: {type(exc).__name__}: {exc}") from exc
    return Path(out)
