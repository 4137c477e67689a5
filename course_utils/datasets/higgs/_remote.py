"""The published HIGGS file over HTTP: its first rows streamed (:func:`stream_head`), or the whole file (:func:`download`).

Both go over the mirrors with :func:`course_utils.datasets._fetch.over_mirrors`
(``COURSE_DATA_MIRROR`` first when set, then UCI). Each URL may serve the UCI
zip archive or ``HIGGS.csv.gz`` itself.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from course_utils import _files
from course_utils.datasets import _storage
from course_utils.datasets._fetch import (
    DOWNLOAD_TIMEOUT,
    download_message,
    download_resumable,
    format_mb,
    mirrors,
    over_mirrors,
    sizes_message,
    stream,
)
from course_utils.datasets._registry import DataUnavailableError, RemoteFile, real_dir
from course_utils.datasets.higgs.formats import _check_frame, _parse_lines, read
from course_utils.validation import check_count

__all__ = ["URL", "FILE", "N_TOTAL", "N_TEST", "REPORTED_SHA256", "REPORTED_SIZE", "stream_head", "head_path",
           "download", "full_path"]

DATASET = "higgs"
#: Events in the UCI file, and how many of the last ones form the conventional test set.
N_TOTAL = 11_000_000
N_TEST = 500_000

#: What public projects report for HIGGS.csv.gz (old UCI address); not verified by us (see the package docstring).
REPORTED_SHA256 = "ea302c18164d4e3d916a1e2e83a9a8d07069fa6ebc7771e4c0540d54e593b698"
REPORTED_SIZE = 2_816_407_858

URL = "https://archive.ics.uci.edu/static/public/280/higgs.zip"

FILE = RemoteFile(
    name="HIGGS.csv.gz",
    urls=(URL,),
    sha256=None,  # not published by UCI: size and format are checked instead (package docstring)
    size=None,
    archive_member="HIGGS.csv.gz",
    # for planning only, never checked: the zip as UCI's page gives it (2.6 GiB, rounded), and the size of
    # HIGGS.csv.gz that other projects report (REPORTED_SIZE)
    download_size=int(2.6 * 2**30),
    disk_size=REPORTED_SIZE,
)

#: Compressed bytes streamed per event (about; the zip holds gzip-compressed CSV lines), for the size message.
_HEAD_BYTES_PER_ROW = 256
#: Bytes per event in the cached head (29 float32 columns).
_NPY_BYTES_PER_ROW = 29 * 4

#: Bytes asked for at a time when streaming.
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


class _TruncatedStream(ValueError):
    """The stream ended before the end of its gzip or zip data: a cut transfer, most likely."""


def _zip_member_stream(chunks: Iterator[bytes], member: str) -> Iterator[bytes]:
    """The decompressed bytes of ``member`` from a zip archive read sequentially, with ``stream-unzip``.

    Members before ``member`` are read through and dropped; reading stops as
    soon as the caller stops asking, so only the beginning of the archive is
    downloaded.
    """
    from course_utils._optional import require

    unzip = require("stream_unzip", why="reading the first rows of the HIGGS zip as it downloads")
    TruncatedDataError, UnzipValueError, stream_unzip = (  # noqa: N806 - the library's names
        unzip.TruncatedDataError, unzip.UnzipValueError, unzip.stream_unzip)

    try:
        for name, _size, content in stream_unzip(chunks):
            if name.decode("utf-8", "replace").rsplit("/", 1)[-1] == member:
                yield from content
                return
            for _ in content:  # stream-unzip needs each member read through before the next
                pass
    except TruncatedDataError as exc:
        raise _TruncatedStream(f"the zip archive ends before member {member!r} was read through ({exc!r})") from exc
    except UnzipValueError as exc:
        raise ValueError(f"cannot read member {member!r} of the streamed zip archive "
                         f"({type(exc).__name__}: {exc})") from exc
    raise ValueError(f"no member {member!r} in the zip archive (reached its directory)")


def _gunzip_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress a (possibly multi-member) gzip stream given in chunks; a truncated stream raises ValueError."""
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    fed = False
    for block in chunks:
        while block:
            fed = True
            try:
                out = decomp.decompress(block)
            except zlib.error as exc:
                raise ValueError(f"corrupt gzip stream ({exc})") from exc
            if out:
                yield out
            if decomp.eof:
                block = decomp.unused_data
                decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
                fed = False
            else:
                block = b""
    if fed:
        raise _TruncatedStream("truncated gzip stream: it ends before its end-of-stream marker")


def _csv_lines(chunks: Iterator[bytes], n_rows: int) -> list[bytes]:
    """The first ``n_rows`` complete lines of a byte stream."""
    lines: list[bytes] = []
    rest = b""
    for block in chunks:
        parts = (rest + block).split(b"\n")
        rest = parts.pop()
        lines.extend(p for p in parts if p.strip())
        if len(lines) >= n_rows:
            return lines[:n_rows]
    if rest.strip():
        lines.append(rest)
    return lines


def _decompressed(url: str, timeout: float) -> Iterator[bytes]:
    """The HIGGS CSV bytes behind ``url``, whether it serves the UCI zip or ``HIGGS.csv.gz`` itself."""
    chunks = stream(url, timeout=timeout, chunk=_CHUNK)
    first = next(chunks, b"")
    body = _prepend(first, chunks)
    if first.startswith(_ZIP_MAGIC):
        return _gunzip_stream(_zip_member_stream(body, FILE.archive_member))
    if first.startswith(_GZIP_MAGIC):
        return _gunzip_stream(body)
    raise ValueError(f"{url} serves neither a zip archive nor a gzip file (first bytes {first[:8]!r})")


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def head_path(n_rows: int, data_home: str | os.PathLike[str] | None = None) -> Path:
    """Cache file of the first ``n_rows`` events: ``<data>/real/higgs/HIGGS_head_<n>.npy`` (or in ``data_home``)."""
    return real_dir(DATASET, data_home) / f"HIGGS_head_{n_rows}.npy"


def _cached_head(n_rows: int, data_home: str | os.PathLike[str] | None = None) -> Path | None:
    """The smallest cached head holding at least ``n_rows`` events, if any."""
    best = None
    for p in real_dir(DATASET, data_home).glob("HIGGS_head_*.npy"):
        try:
            n = int(p.stem.rsplit("_", 1)[1])
        except ValueError:
            continue
        if n >= n_rows and (best is None or n < best[0]):
            best = (n, p)
    return None if best is None else best[1]


def stream_head(n_rows: int, *, urls: list[str] | None = None, timeout: float = DOWNLOAD_TIMEOUT,
                progress: bool = True, data_home: str | os.PathLike[str] | None = None) -> Path:
    """The first ``n_rows`` events of ``HIGGS.csv.gz``, streamed over HTTP and cached as ``.npy``.

    Only about ``256 * n_rows`` bytes are downloaded (the compressed size of
    those lines); the archive is never stored: ``stream-unzip`` reads the zip
    sequentially and the gzip inside it is decompressed on the fly. A cached
    head with at least ``n_rows`` events is reused (and sliced by ``read``).

    Parameters
    ----------
    n_rows
        Number of events, between 1 and :data:`N_TOTAL`.
    urls
        Where to read from (default: ``COURSE_DATA_MIRROR`` if set, then UCI).
        Each may serve the UCI zip or ``HIGGS.csv.gz`` itself.
    data_home
        The cache folder, instead of ``<data>/real/higgs/``.

    Returns
    -------
    Path
        The ``.npy`` cache (float32, shape ``(n, 29)``, ``n >= n_rows``).

    Raises
    ------
    DataUnavailableError
        Offline mode, no network, or every URL failed (reasons listed).
    ValueError
        When the stream is not in the HIGGS format, or holds fewer events.
    """
    n_rows = check_count(n_rows, "n_rows", max_value=N_TOTAL)
    cached = _cached_head(n_rows, data_home)
    if cached is not None:
        return cached
    dest = head_path(n_rows, data_home)

    def attempt(url: str) -> np.ndarray | ValueError:
        try:
            return _stream_rows(url, n_rows, timeout=timeout, progress=progress)
        except _TruncatedStream:  # a cut transfer: try again, then the next mirror
            raise
        except ValueError as exc:  # not the HIGGS format: reported as such below, never a silent fallback
            return exc

    what = f"the first {n_rows:,} events of HIGGS.csv.gz"
    hint = "pass data_home=<a writable folder>" if data_home is not None else ""
    with _storage.writing(dest, f"{what} ({dest.name})", hint=hint):
        cached = _cached_head(n_rows, data_home)
        if cached is not None:
            return cached
        announce = sizes_message(DATASET, f"{what}, sizes estimated", _HEAD_BYTES_PER_ROW * n_rows,
                                 _NPY_BYTES_PER_ROW * n_rows)
        values = over_mirrors(what, urls or mirrors(DATASET, FILE), attempt, announce=announce)
        if isinstance(values, ValueError):
            raise values
        if len(values) < n_rows:
            raise ValueError(f"the stream holds only {len(values):,} events, fewer than the {n_rows:,} asked for")
        with _files.atomic_path(dest) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, values.astype(np.float32))
        _storage.share_permissions(dest)
        return dest


def _stream_rows(url: str, n_rows: int, *, timeout: float, progress: bool) -> np.ndarray:
    from tqdm.auto import tqdm

    with tqdm(total=n_rows, desc="HIGGS (premières lignes)", unit="évt", disable=not progress) as bar:
        def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
            seen = 0
            for block in chunks:
                seen += block.count(b"\n")
                bar.update(min(seen, n_rows) - bar.n)
                yield block
        lines = _csv_lines(counted(_decompressed(url, timeout)), n_rows)
    return _parse_lines(lines, f"HIGGS.csv.gz from {url}")


def full_path(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Where the whole ``HIGGS.csv.gz`` is cached (it may not be there)."""
    return real_dir(DATASET, data_home) / FILE.name


def _verify_gzip(path: Path, expected_rows: int | None, progress: bool) -> int:
    """Decompress the whole file (gzip CRC checked), check its first lines, count its rows."""
    from tqdm.auto import tqdm

    _check_frame(read(path, n=1000).to_numpy(dtype=np.float32), path.name)
    rows = 0
    try:
        with gzip.open(path, "rb") as f, tqdm(total=expected_rows, unit="évt", desc="vérification HIGGS",
                                              disable=not progress) as bar:
            while block := f.read(1 << 24):
                n = block.count(b"\n")
                rows += n
                bar.update(n)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path.name} is truncated or corrupt ({exc})") from exc
    if expected_rows is not None and rows != expected_rows:
        raise ValueError(f"{path.name} holds {rows:,} events, expected {expected_rows:,}")
    return rows


def download(*, urls: list[str] | None = None, expected_rows: int | None = N_TOTAL, timeout: float = 60.0,
             progress: bool = True) -> Path:
    """The whole ``HIGGS.csv.gz`` (about 2.8 GB), downloaded once, verified and cached.

    The archive goes to ``<data>/real/higgs/higgs.zip.part``; an interrupted
    download resumes from there on the next call (HTTP ranges). Then the size
    is checked against the server's announced length, ``HIGGS.csv.gz`` is
    extracted (refusing paths outside the folder), fully decompressed once to
    check its gzip CRC, its format and its row count, and compared with the
    checksum reported by other projects (printed, not enforced).

    Parameters
    ----------
    urls
        Where to download from (default: ``COURSE_DATA_MIRROR`` if set, then UCI).
        Each may serve the UCI zip or ``HIGGS.csv.gz`` itself.
    expected_rows
        Events the file must hold (``None``: do not check; for tests and mirrors of parts).

    Returns
    -------
    Path
        :func:`full_path`.
    """
    dest = full_path()

    def attempt(url: str) -> tuple[str, Path]:
        part = dest.parent / (url.rsplit("/", 1)[-1] + ".part")
        download_resumable(url, part, timeout=timeout, progress=progress, desc=f"HIGGS {url.rsplit('/', 1)[-1]}")
        return url, part

    if dest.is_file():
        return dest
    with _storage.writing(dest, f"{FILE.name} ({format_mb(FILE.bytes_on_disk)})"):
        if dest.is_file():
            return dest
        try:
            url, part = over_mirrors(FILE.name, urls or mirrors(DATASET, FILE), attempt,
                                     announce=download_message(DATASET, FILE))
        except DataUnavailableError as exc:
            kept = sorted(p.name for p in dest.parent.glob("*.part"))
            if kept:
                raise DataUnavailableError(f"{exc}\n  (partial file kept for a resume: {', '.join(kept)})") from exc
            raise
        with open(part, "rb") as f:
            magic = f.read(4)
        with _files.atomic_path(dest) as tmp:
            if magic.startswith(_ZIP_MAGIC):
                extracted = _files.safe_extract_zip(part, tmp.parent / (tmp.name + ".d"),
                                                    members=[FILE.archive_member])[0]
                os.replace(extracted, tmp)
                os.rmdir(extracted.parent)
            elif magic.startswith(_GZIP_MAGIC):
                os.replace(part, tmp)
            else:
                part.unlink()
                raise ValueError(f"{url} served neither a zip archive nor a gzip file")
            try:
                _verify_gzip(tmp, expected_rows, progress)
            except ValueError:
                part.unlink(missing_ok=True)
                raise
            _report_checksum(tmp)
        part.unlink(missing_ok=True)
        _storage.share_permissions(dest)
        return dest


def _report_checksum(path: Path) -> None:
    size = path.stat().st_size
    same = size == REPORTED_SIZE and _files.sha256(path) == REPORTED_SHA256
    print(f"[higgs] HIGGS.csv.gz: {size:,} bytes; "
          + ("same size and sha256 as reported by other projects" if same else
             "differs from the size/sha256 reported by other projects (UCI publishes none; format checks passed)"))
