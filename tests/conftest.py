"""Shared fixtures: an isolated data directory and a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import threading
import time
from pathlib import Path

import pytest

from course_utils.config import REPO_ROOT

#: Real data files beside the checkout (``../shared/data``), never copied into the project;
#: ``COURSE_SHARED_DATA`` points elsewhere (a git worktree, for instance).
SHARED_DATA = Path(os.environ.get("COURSE_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh, empty COURSE_DATA_DIR (and build dir) for one test."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(d))
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    return d


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from ``server.root`` with single byte ranges, plus fault paths.

    * ``Range: bytes=a-b`` (one range) on a file: ``206 Partial Content`` with
      ``Content-Range``; a start past the end: ``416``; several ranges: the whole file;
    * ``/norange/<name>``: a server that ignores ``Range`` (always 200, the whole file);
    * ``/stall/<name>``: sends the headers and a few bytes, then stalls;
    * ``/truncated/<name>``: announces the full length, sends half and closes;
    * ``/missing/<name>``: 404;
    * after ``server.fail_after`` GET requests (when set), connections close without an answer.
    """

    def log_message(self, *args):  # keep test output clean
        pass

    def translate_path(self, path):
        return str(Path(self.server.root) / path.lstrip("/").split("?")[0])

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.hits.append(self.path)
        self.server.ranges.append(self.headers.get("Range"))
        if self.server.fail_after is not None and len(self.server.hits) > self.server.fail_after:
            self.close_connection = True
            return
        parts = self.path.lstrip("/").split("/", 1)
        if parts[0] == "missing":
            self.send_error(404, "not here")
            return
        if parts[0] in ("stall", "truncated", "norange") and len(parts) == 2:
            body = (Path(self.server.root) / parts[1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if parts[0] == "norange":
                self.wfile.write(body)
            elif parts[0] == "truncated":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.wfile.write(body[:10])
                self.wfile.flush()
                deadline = time.monotonic() + self.server.stall_seconds
                while time.monotonic() < deadline and not self.server.stopping:
                    time.sleep(0.05)
            return
        path = Path(self.translate_path(self.path))
        spec = self.headers.get("Range", "")
        if not path.is_file() or not spec.startswith("bytes=") or "," in spec:
            super().do_GET()
            return
        self._send_range(path.read_bytes(), spec[len("bytes="):])

    def do_HEAD(self):  # noqa: N802 - what fsspec asks first, for the size
        parts = self.path.lstrip("/").split("/", 1)
        if parts[0] == "missing":
            self.send_error(404, "not here")
            return
        if parts[0] in ("stall", "truncated", "norange") and len(parts) == 2:
            target = Path(self.server.root) / parts[1]
            if not target.is_file():
                self.send_error(404, "not here")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(target.stat().st_size))
            self.end_headers()
            return
        super().do_HEAD()

    def _send_range(self, body: bytes, spec: str) -> None:
        first, _, last = spec.partition("-")
        if first:
            start, stop = int(first), min(int(last) + 1 if last else len(body), len(body))
        else:  # a suffix range: the last N bytes
            start, stop = max(len(body) - int(last), 0), len(body)
        if start >= len(body):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(body)}")
        self.send_header("Content-Length", str(stop - start))
        self.end_headers()
        self.wfile.write(body[start:stop])


@pytest.fixture
def http_server(tmp_path):
    """A threaded HTTP server on 127.0.0.1 serving ``server.root`` (a tmp folder), byte ranges included.

    Yields an object with ``root`` (Path), ``url`` (base URL), ``hits`` (the
    paths of GET requests), ``ranges`` (their ``Range`` headers, ``None`` when
    absent), ``fail_after`` (``None``, or the number of GET requests answered
    before the server closes connections) and ``stall_seconds`` (how long
    ``/stall/`` lasts at most, default 20 s). Fault paths: see ``_Handler``.
    """
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.root = root
    server.hits = []
    server.ranges = []
    server.fail_after = None
    server.stall_seconds = 20.0
    server.stopping = False
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping = True
        server.shutdown()
        server.server_close()


@pytest.fixture
def shared_magic() -> Path:
    """The verified real MAGIC file in ../shared (skip when absent)."""
    path = SHARED_DATA / "magic04" / "magic04.data"
    if not path.is_file():
        pytest.skip("../shared/data/magic04 is absent: real-data test skipped")
    return path


@pytest.fixture(scope="session")
def shared_nanoaod() -> dict[str, Path]:
    """The two real CMS Open Data NanoAOD files in ../shared (skip when absent): ``ttree`` and ``rntuple``."""
    folder = SHARED_DATA / "cms_nanoaod"
    files = {"ttree": folder / "nanoAOD_2015_CMS_Open_Data_ttbar.root",
             "rntuple": folder / "cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root"}
    if not all(p.is_file() for p in files.values()):
        pytest.skip("../shared/data/cms_nanoaod is absent: real NanoAOD tests skipped")
    return files
