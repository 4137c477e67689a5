"""Shared fixtures: an isolated data directory and a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import pytest

from course_utils.config import REPO_ROOT

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


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
    """Serves files from ``server.root``, plus fault paths.

    * ``/stall/<name>``: sends the headers and a few bytes, then stalls;
    * ``/truncated/<name>``: announces the full length, sends half and closes;
    * ``/missing/<name>``: 404.
    """

    def log_message(self, *args):  # keep test output clean
        pass

    def translate_path(self, path):
        return str(Path(self.server.root) / path.lstrip("/").split("?")[0])

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.hits.append(self.path)
        parts = self.path.lstrip("/").split("/", 1)
        if parts[0] == "missing":
            self.send_error(404, "not here")
            return
        if parts[0] in ("stall", "truncated") and len(parts) == 2:
            body = (Path(self.server.root) / parts[1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if parts[0] == "truncated":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body[:10])
            self.wfile.flush()
            deadline = time.monotonic() + self.server.stall_seconds
            while time.monotonic() < deadline and not self.server.stopping:
                time.sleep(0.05)
            return
        super().do_GET()


@pytest.fixture
def http_server(tmp_path):
    """A threaded HTTP server on 127.0.0.1 serving ``server.root`` (a tmp folder).

    Yields an object with ``root`` (Path), ``url`` (base URL) and ``hits``
    (requested paths). Stalls last at most ``stall_seconds`` (default 20 s).
    """
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.root = root
    server.hits = []
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
