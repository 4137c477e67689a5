"""The HIGGS benchmark of Baldi, Sadowski and Whiteson: 21 low-level and 7 high-level features per event.

Real source
-----------
UCI Machine Learning Repository, dataset 280 "HIGGS" (Baldi, Sadowski, Whiteson,
Nature Communications 5, 4308 (2014), arXiv:1402.4735; DOI 10.24432/C5V312;
CC BY 4.0): ``HIGGS.csv.gz`` (2.8 GB) inside the zip archive
``https://archive.ics.uci.edu/static/public/280/higgs.zip``. 11,000,000 events,
one per line, comma-separated, **no header**, values written in scientific
notation (``8.692932128906250000e-01``, float32 values printed with 18 digits):
the label (1 signal, 0 background), then the 21 low-level features
(:data:`LOW_LEVEL`) and the 7 high-level ones (:data:`HIGH_LEVEL`). The last
500,000 lines are the test set by convention. The features are scaled: the
transverse momenta, the missing energy, the masses and the b-tags are divided
by a constant close to their mean, so that they are of order 1; pseudorapidities
and azimuthal angles are left as they are.

Two ways to get it:

* :func:`stream_head` reads only the first ``n`` events over HTTP (the zip and
  the gzip inside it are decompressed on the fly, nothing else is kept) and
  caches them in a compact ``.npy`` file (float32, which loses nothing: the
  file's values are float32 numbers). This is what :func:`load` uses.
* :func:`download` fetches the whole archive (2.6 GiB): resumable
  (an interrupted download restarts where it stopped), with a progress bar and
  a size check against the server's announced length, then extracts
  ``HIGGS.csv.gz`` safely and checks its format.

**Checksum.** UCI publishes no checksum for this archive or the file inside it,
and we could not download it to compute one ourselves, so the registry entry
has no sha256: files are verified by their size (against the HTTP length) and
their format (gzip integrity, 29 numeric columns, labels 0/1, row count).
Several public projects report ``sha256 = ea302c18…593b698`` and a size of
2,816,407,858 bytes for ``HIGGS.csv.gz`` from the older UCI address
(:data:`REPORTED_SHA256`, :data:`REPORTED_SIZE`); :func:`download` prints
whether the file matches them, but does not reject a file that differs.

Simulated source
----------------
The paper's signal and background generated with Pythia 8 and clustered with
FastJet, with a simple detector model and the same features
(:mod:`course_utils.datasets.higgs_sim`), written in exactly this file format.

Examples
--------
>>> from course_utils.datasets import higgs
>>> ds = higgs.load(n_events=20_000)                    # doctest: +SKIP
>>> df = ds.data                                         # label + 28 features
>>> X_low, X_high = df[higgs.LOW_LEVEL], df[higgs.HIGH_LEVEL]   # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import _files, config
from course_utils.datasets._fetch import DOWNLOAD_TIMEOUT, network_available
from course_utils.datasets._fetch import mirrors as _mirrors
from course_utils.datasets._registry import (
    Dataset,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    load_with_fallback,
    real_dir,
)

__all__ = [
    "INFO", "FILE", "LOW_LEVEL", "HIGH_LEVEL", "FEATURES", "COLUMNS", "N_TOTAL", "N_TEST",
    "read", "write", "stream_head", "head_path", "download", "full_path", "load", "default_n_events",
]

#: The 21 low-level features, in file order: what the detector measures.
LOW_LEVEL = [
    "lepton_pT", "lepton_eta", "lepton_phi",
    "missing_energy_magnitude", "missing_energy_phi",
    *[f"jet_{i}_{v}" for i in range(1, 5) for v in ("pt", "eta", "phi", "b-tag")],
]
#: The 7 high-level features, in file order: invariant masses built by physicists.
HIGH_LEVEL = ["m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb"]
#: All 28 features, in file order.
FEATURES = [*LOW_LEVEL, *HIGH_LEVEL]
#: The 29 columns of a HIGGS file: the label (1 signal, 0 background), then the features.
COLUMNS = ["label", *FEATURES]

#: Events in the UCI file, and how many of the last ones form the conventional test set.
N_TOTAL = 11_000_000
N_TEST = 500_000

#: What public projects report for HIGGS.csv.gz (old UCI address); not verified by us (see module docstring).
REPORTED_SHA256 = "ea302c18164d4e3d916a1e2e83a9a8d07069fa6ebc7771e4c0540d54e593b698"
REPORTED_SIZE = 2_816_407_858

URL = "https://archive.ics.uci.edu/static/public/280/higgs.zip"

FILE = RemoteFile(
    name="HIGGS.csv.gz",
    urls=(URL,),
    sha256=None,  # not published by UCI: size and format are checked instead (module docstring)
    size=None,
    archive_member="HIGGS.csv.gz",
)

INFO = DatasetInfo(
    name="higgs",
    title="HIGGS (UCI 280), Baldi, Sadowski & Whiteson 2014",
    provenance="UCI Machine Learning Repository, dataset 280 (Baldi, Sadowski, Whiteson 2014; "
               "MadGraph 5 + Pythia + Delphes simulation)",
    licence="CC BY 4.0",
    citation="Baldi, P., Sadowski, P. & Whiteson, D. Searching for exotic particles in high-energy physics "
             "with deep learning. Nature Communications 5, 4308 (2014), arXiv:1402.4735. Dataset: "
             "https://doi.org/10.24432/C5V312",
    homepage="https://archive.ics.uci.edu/dataset/280/higgs",
    files=(FILE,),
    doi="10.24432/C5V312",
    how_to_obtain="Download https://archive.ics.uci.edu/static/public/280/higgs.zip (2.6 GiB), extract "
                  "HIGGS.csv.gz and place it in <data>/real/higgs/ (see course_utils.config.data_dir()); or "
                  "call course_utils.datasets.higgs.download(), which resumes interrupted downloads.",
)

#: Bytes asked for at a time when streaming.
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


def default_n_events(source: str = "real") -> int:
    """Events :func:`load` reads or simulates when ``n_events`` is not given.

    Real data (cheap to stream): 10,000 in fast mode, 200,000 otherwise.
    Simulation (about 12 ms of CPU per selected event without multi-parton
    interactions, 46 ms with them): 5,000 in fast mode, 40,000 otherwise.
    """
    if source not in ("real", "simulated"):
        raise ValueError(f"source must be 'real' or 'simulated', got {source!r}")
    if source == "real":
        return config.scale(full=200_000, fast=10_000)
    return config.scale(full=40_000, fast=5_000)


# ----------------------------------------------------------------------------- reading and writing


def _check_frame(values: np.ndarray, name: str, first_line: int = 1) -> None:
    """Validate a (n, 29) array parsed from a HIGGS file; raise ValueError naming the problem."""
    if values.ndim != 2 or values.shape[1] != len(COLUMNS):
        ncol = values.shape[1] if values.ndim == 2 else "?"
        raise ValueError(f"{name}: {ncol} columns, expected {len(COLUMNS)} (the label, then 21 low-level and "
                         f"7 high-level features)")
    if len(values) == 0:
        raise ValueError(f"{name} holds no event")
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name}, line {first_line + row}: missing, non-numeric or infinite value in column "
                         f"{col + 1} ({COLUMNS[col]}): a line with too few fields?")
    labels = values[:, 0]
    bad_label = (labels != 0) & (labels != 1)
    if bad_label.any():
        row = int(np.flatnonzero(bad_label)[0])
        raise ValueError(f"{name}, line {first_line + row}: label {labels[row]!r}, expected 0 (background) or "
                         f"1 (signal) in the first column")


def _frame(values: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(values[:, 1:].astype(np.float32, copy=False), columns=FEATURES)
    df.insert(0, "label", values[:, 0].astype(np.int8))
    return df


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _has_header(path: Path, gzipped: bool) -> bool:
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="ascii", errors="replace") as f:
        first = f.readline()
    return first.split(",", 1)[0].strip().strip('"').lower() == "label"


def read(path: str | os.PathLike[str], nrows: int | None = None) -> pd.DataFrame:
    """Parse a HIGGS file: ``HIGGS.csv.gz`` (real or simulated), a plain ``.csv``, or a cached ``.npy``.

    Parameters
    ----------
    path
        The file. CSV files have no header (a first line starting with
        ``label`` is accepted and skipped) and 29 comma-separated numbers
        per line; gzip files (recognised by their first bytes) are
        decompressed on the fly.
    nrows
        Read only the first ``nrows`` events (``None``: all).

    Returns
    -------
    pandas.DataFrame, shape (n_events, 29)
        ``label`` (int8, 1 = signal) then the 28 :data:`FEATURES` (float32),
        in the file's order.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        A line with the wrong number of fields, a non-numeric value, a label
        other than 0 or 1, an empty file, or a truncated / corrupt gzip
        stream: the message names the file, and the line when it can.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no HIGGS file at {path}")
    if nrows is not None and (isinstance(nrows, bool) or int(nrows) != nrows or nrows < 1):
        raise ValueError(f"nrows must be a positive integer or None, got {nrows!r}")
    if path.suffix == ".npy":
        values = np.load(path, mmap_mode="r")
        values = np.array(values[:nrows] if nrows else values, dtype=np.float32)
        _check_frame(values, path.name)
        return _frame(values)
    skip = 0
    gzipped = _is_gzip(path)
    try:
        skip = 1 if _has_header(path, gzipped) else 0
        # float32 loses nothing: the UCI values are float32 numbers printed with 18 digits
        values = pd.read_csv(path, header=None, skiprows=skip, nrows=nrows, dtype=np.float32,
                             compression="gzip" if gzipped else None).to_numpy()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path.name} is truncated or corrupt ({type(exc).__name__}: {exc}): the gzip stream "
                         f"ends early or is damaged; delete the file and download it again") from exc
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path.name}: a line has the wrong number of fields, expected {len(COLUMNS)} "
                         f"({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path.name} holds no event") from exc
    except ValueError as exc:  # a field that is not a number
        raise ValueError(f"{path.name}: non-numeric value ({exc})") from exc
    _check_frame(values, path.name, first_line=1 + skip)
    return _frame(values)


def write(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write events in the UCI format: no header, label first, floats as ``%.18e``, gzip if ``.gz``.

    Values are rounded to float32 first, as in the UCI file (whose numbers
    are float32 values printed with 18 digits).

    Parameters
    ----------
    df : pandas.DataFrame
        Holds :data:`COLUMNS` (extra columns are ignored); labels must be 0 or 1.
    path
        Destination, written atomically.

    Returns
    -------
    Path
        ``path``.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"cannot write a HIGGS file: missing columns {missing}")
    values = df[COLUMNS].to_numpy(dtype=np.float32).astype(np.float64)
    _check_frame(values, "the DataFrame to write")
    path = Path(path)
    buf = io.StringIO()
    np.savetxt(buf, values, fmt="%.18e", delimiter=",")
    data = buf.getvalue().encode("ascii")
    with _files.atomic_write(path, "wb") as f:
        if path.suffix == ".gz":
            # no name, mtime=0: the same events always give the same bytes
            with gzip.GzipFile(filename="", fileobj=f, mode="wb", compresslevel=6, mtime=0) as gz:
                gz.write(data)
        else:
            f.write(data)
    return path


# ----------------------------------------------------------------------------- streaming the first rows


class _TruncatedStream(ValueError):
    """The stream ended before the end of its gzip or zip data: a cut transfer, most likely."""


def _http_chunks(url: str, *, timeout: float) -> Iterator[bytes]:
    """Yield the body of ``url`` in chunks; raise on HTTP errors."""
    import requests

    with requests.get(url, stream=True, timeout=timeout) as resp:
        resp.raise_for_status()
        yield from resp.iter_content(_CHUNK)


def _zip_member_stream(chunks: Iterator[bytes], member: str) -> Iterator[bytes]:
    """The decompressed bytes of ``member`` from a zip archive read sequentially (no seeking).

    Reads local file headers from the start of the archive: members before
    ``member`` are skipped (their sizes must be in their headers).
    """
    buf = bytearray()
    it = iter(chunks)

    def need(n: int) -> None:
        while len(buf) < n:
            try:
                buf.extend(next(it))
            except StopIteration:
                raise _TruncatedStream(f"the zip archive ends before member {member!r} was found or read") from None

    while True:
        need(30)
        if bytes(buf[:4]) != _ZIP_MAGIC:
            raise ValueError(f"no member {member!r} in the zip archive (reached its directory)")
        _, flags, method, _, _, _, csize, _, name_len, extra_len = struct.unpack("<HHHHHIIIHH", bytes(buf[4:30]))
        need(30 + name_len + extra_len)
        name = bytes(buf[30:30 + name_len]).decode("utf-8", "replace")
        del buf[:30 + name_len + extra_len]
        if name.rsplit("/", 1)[-1] == member:
            break
        if flags & 0x08 or csize == 0xFFFFFFFF:
            raise ValueError(f"cannot skip member {name!r} of a streamed zip (size not in its header)")
        need(csize)
        del buf[:csize]
    if method not in (0, 8):
        raise ValueError(f"zip member {member!r} uses compression method {method}: only stored (0) and "
                         f"deflate (8) are supported")
    rest = itertools.chain([bytes(buf)] if buf else [], it)
    if method == 0:
        yield from rest
        return
    decomp = zlib.decompressobj(-15)
    for block in rest:
        out = decomp.decompress(block)
        if out:
            yield out
        if decomp.eof:
            return
    raise _TruncatedStream(f"zip member {member!r} is truncated (its deflate stream has no end)")


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


def _parse_lines(lines: list[bytes], name: str) -> np.ndarray:
    if lines and lines[0].split(b",", 1)[0].strip().strip(b'"').lower() == b"label":
        lines = lines[1:]
    text = b"\n".join(lines)
    try:
        values = pd.read_csv(io.BytesIO(text), header=None, dtype=np.float32).to_numpy()
    except pd.errors.ParserError as exc:
        raise ValueError(f"{name}: a line has the wrong number of fields, expected {len(COLUMNS)} ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{name} holds no event") from exc
    except ValueError as exc:
        raise ValueError(f"{name}: non-numeric value ({exc})") from exc
    _check_frame(values, name)
    return values


def _decompressed(url: str, timeout: float) -> Iterator[bytes]:
    """The HIGGS CSV bytes behind ``url``, whether it serves the UCI zip or ``HIGGS.csv.gz`` itself."""
    chunks = _http_chunks(url, timeout=timeout)
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


def head_path(n_rows: int) -> Path:
    """Cache file of the first ``n_rows`` events: ``<data>/real/higgs/HIGGS_head_<n>.npy``."""
    return real_dir(INFO.name) / f"HIGGS_head_{n_rows}.npy"


def _cached_head(n_rows: int) -> Path | None:
    """The smallest cached head holding at least ``n_rows`` events, if any."""
    best = None
    for p in real_dir(INFO.name).glob("HIGGS_head_*.npy"):
        try:
            n = int(p.stem.rsplit("_", 1)[1])
        except ValueError:
            continue
        if n >= n_rows and (best is None or n < best[0]):
            best = (n, p)
    return None if best is None else best[1]


def stream_head(n_rows: int, *, urls: list[str] | None = None, timeout: float = DOWNLOAD_TIMEOUT,
                progress: bool = True) -> Path:
    """The first ``n_rows`` events of ``HIGGS.csv.gz``, streamed over HTTP and cached as ``.npy``.

    Only about ``256 * n_rows`` bytes are downloaded (the compressed size of
    those lines); the archive is never stored. A cached head with at least
    ``n_rows`` events is reused (and sliced by :func:`read`).

    Parameters
    ----------
    n_rows
        Number of events, between 1 and :data:`N_TOTAL`.
    urls
        Where to read from (default: ``COURSE_DATA_MIRROR`` if set, then UCI).
        Each may serve the UCI zip or ``HIGGS.csv.gz`` itself.

    Returns
    -------
    Path
        The ``.npy`` cache (float32, shape ``(n, 29)``, ``n >= n_rows``).

    Raises
    ------
    DataUnavailableError
        Offline mode, no network, or every URL failed (reasons listed).
    ValueError
        When the stream is not in the HIGGS format.
    """
    if isinstance(n_rows, bool) or int(n_rows) != n_rows or not 1 <= n_rows <= N_TOTAL:
        raise ValueError(f"n_rows must be an integer in [1, {N_TOTAL:,}], got {n_rows!r}")
    n_rows = int(n_rows)
    cached = _cached_head(n_rows)
    if cached is not None:
        return cached
    dest = head_path(n_rows)
    with _files.locked(dest):
        cached = _cached_head(n_rows)
        if cached is not None:
            return cached
        if config.offline_mode():
            raise DataUnavailableError("HIGGS is not cached and COURSE_OFFLINE is set: no download tried")
        reasons = []
        for url in urls or _mirrors(INFO.name, FILE):
            if not network_available(url):
                reasons.append(f"{url}: host unreachable")
                continue
            try:
                values = _stream_rows(url, n_rows, timeout=timeout, progress=progress)
            except _TruncatedStream as exc:  # a cut transfer: try the next URL
                reasons.append(f"{url}: {exc}")
                continue
            except ValueError:  # not the HIGGS format: say so, do not fall back silently
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                reasons.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            if len(values) < n_rows:
                raise ValueError(f"{url} holds only {len(values):,} events, fewer than the {n_rows:,} asked for")
            with _files.atomic_path(dest) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, values.astype(np.float32))
            return dest
        raise DataUnavailableError("could not stream HIGGS.csv.gz: " + "; ".join(reasons))


def _stream_rows(url: str, n_rows: int, *, timeout: float, progress: bool) -> np.ndarray:
    from tqdm.auto import tqdm

    lines: list[bytes] = []
    with tqdm(total=n_rows, desc="HIGGS (premières lignes)", unit="évt", disable=not progress) as bar:
        def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
            seen = 0
            for block in chunks:
                seen += block.count(b"\n")
                bar.update(min(seen, n_rows) - bar.n)
                yield block
        lines = _csv_lines(counted(_decompressed(url, timeout)), n_rows)
    return _parse_lines(lines, f"HIGGS.csv.gz from {url}")


# ----------------------------------------------------------------------------- full download


def full_path() -> Path:
    """Where the whole ``HIGGS.csv.gz`` is cached (it may not be there)."""
    return real_dir(INFO.name) / FILE.name


def _resumable_download(url: str, part: Path, *, timeout: float, progress: bool) -> int:
    """Download ``url`` into ``part``, continuing from its current size; return the total size."""
    import requests
    from tqdm.auto import tqdm

    start = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    with requests.get(url, stream=True, timeout=timeout, headers=headers) as resp:
        if resp.status_code == 416:  # nothing left to send: the part file is complete
            return start
        resp.raise_for_status()
        if start and resp.status_code != 206:  # the server ignored the range: start again
            start = 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        mode = "ab" if start else "wb"
        with open(part, mode) as f, tqdm(total=total, initial=start, unit="B", unit_scale=True,
                                         desc=f"HIGGS {url.rsplit('/', 1)[-1]}", disable=not progress) as bar:
            for block in resp.iter_content(1 << 20):
                f.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size != total:
        raise OSError(f"download stopped at {size:,} of {total:,} bytes (call download() again to resume)")
    return size


def _verify_gzip(path: Path, expected_rows: int | None, progress: bool) -> int:
    """Decompress the whole file (gzip CRC checked), check its first lines, count its rows."""
    from tqdm.auto import tqdm

    _check_frame(read(path, nrows=1000).to_numpy(dtype=np.float32), path.name)
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
    with _files.locked(dest):
        if dest.is_file():
            return dest
        if config.offline_mode():
            raise DataUnavailableError("HIGGS.csv.gz is not cached and COURSE_OFFLINE is set: no download tried")
        reasons = []
        for url in urls or _mirrors(INFO.name, FILE):
            if not network_available(url):
                reasons.append(f"{url}: host unreachable")
                continue
            part = dest.parent / (url.rsplit("/", 1)[-1] + ".part")
            try:
                _resumable_download(url, part, timeout=timeout, progress=progress)
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                reasons.append(f"{url}: {type(exc).__name__}: {exc} (partial file kept for a resume)")
                continue
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
            return dest
        raise DataUnavailableError("could not download HIGGS.csv.gz: " + "; ".join(reasons))


def _report_checksum(path: Path) -> None:
    size = path.stat().st_size
    same = size == REPORTED_SIZE and _files.sha256(path) == REPORTED_SHA256
    print(f"[higgs] HIGGS.csv.gz: {size:,} bytes; "
          + ("same size and sha256 as reported by other projects" if same else
             "differs from the size/sha256 reported by other projects (UCI publishes none; format checks passed)"))


# ----------------------------------------------------------------------------- loading


def _load_real(n_events: int) -> Dataset:
    full = full_path()
    if full.is_file():
        path = full
    else:
        path = stream_head(n_events)
    df = read(path, nrows=n_events)
    if len(df) < n_events:
        raise ValueError(f"{path.name} holds {len(df):,} events, fewer than the {n_events:,} asked for")
    return Dataset(df, "real", INFO.name, INFO.provenance, INFO.licence, path,
                   {"n_events": len(df), "doi": INFO.doi, "rows": f"the first {len(df):,} of {N_TOTAL:,}"})


def _simulate(n_events: int, seed: int, mpi: bool | None) -> Dataset:
    # imported here: higgs_sim imports this module, and needs pythia8mc and fastjet
    from course_utils.datasets.higgs_sim import simulate

    return simulate(n_events, seed=seed, mpi=mpi)


def load(source: str = "auto", *, n_events: int | None = None, seed: int = 42, mpi: bool | None = None,
         verbose: bool = True) -> Dataset:
    """HIGGS events, real or simulated.

    Parameters
    ----------
    source : {"auto", "real", "simulated"}
        ``"auto"``: the real file (cached, or its first lines streamed from
        UCI), else the course's Pythia simulation.
    n_events
        Number of events (default: :func:`default_n_events` of the source
        used). Real data: the first ``n_events`` lines of the file (the full
        file when it was fetched with :func:`download`, else a streamed head).
    seed
        Seed of the simulation (ignored for the real data).
    mpi
        Multi-parton interactions in the simulation; ``None``: off in fast mode
        (3 to 4 times faster), on otherwise.

    Returns
    -------
    Dataset
        ``.data`` is the DataFrame of :func:`read` (``label`` + 28 features).
    """
    if n_events is not None and (isinstance(n_events, bool) or int(n_events) != n_events
                                 or not 1 <= n_events <= N_TOTAL):
        raise ValueError(f"n_events must be an integer in [1, {N_TOTAL:,}] or None, got {n_events!r}")

    def real() -> Dataset:
        return _load_real(default_n_events("real") if n_events is None else int(n_events))

    def simulated() -> Dataset:
        return _simulate(default_n_events("simulated") if n_events is None else int(n_events), seed, mpi)

    return load_with_fallback(INFO.name, source, real, simulated, info=INFO, verbose=verbose)
