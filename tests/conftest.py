"""Shared fixtures (an isolated data directory, a local HTTP server on 127.0.0.1, the real files of
../shared) and, at the end, the plugin that writes nbval's executed copies of the notebooks."""

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
    """A fresh, empty COURSE_DATA_DIR (and build and lock dirs) for one test."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(d))
    monkeypatch.setenv("COURSE_LOCK_DIR", str(tmp_path / "locks"))
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


# --- nbval: the executed copies of the notebooks -----------------------------------------------
# `make notebooks` runs `pytest --nbval-lax notebooks/ -p conftest` (this file loaded as a plugin,
# tests/ on PYTHONPATH): nbval executes each notebook in its own kernel, one test item per code
# cell. The hooks below collect the outputs nbval receives for each cell and, once a notebook's
# last cell has run, write `build/executed/<mode>/<name>.ipynb`, from which `make book` builds
# the site (no notebook runs twice in `make test`). After a cell fails, the rest of its notebook
# is skipped: their errors would only repeat the first one. They do nothing without --nbval(-lax).


def _nbval_active(config) -> bool:
    return bool(getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False))


def pytest_configure(config):
    if not _nbval_active(config):
        return
    import sys

    scripts = str(REPO_ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    from _nbrun import kernel_env

    # nbval starts each kernel with this process's environment: inline figures (no MPLBACKEND),
    # plotly also as HTML, exactly as make course's kernels (scripts/_nbrun.py).
    env = kernel_env()
    os.environ.pop("MPLBACKEND", None)
    os.environ.update(env)
    config._course_notebooks = {}  # notebook path -> {"cells": {index: outputs}, "start": t, "failed": bool}


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell_num")


def _record(item):
    return item.config._course_notebooks.setdefault(
        str(item.parent.path), {"cells": {}, "widgets": {}, "start": time.perf_counter(), "failed": False})


def pytest_runtest_setup(item):
    if not (_nbval_active(item.config) and _is_nbval_cell(item)):
        return
    record = _record(item)
    if record["failed"]:
        pytest.skip("an earlier cell of this notebook failed")
    notebook = item.parent
    if not getattr(notebook, "_course_tapped", False):
        # nbval reads the kernel's messages and drops the widgets' (comm) ones: keep their state, so
        # that a progress bar's final text reaches the copy, as nbclient's copies keep it.
        read = notebook.get_kernel_message

        def tapped(timeout=None, stream="iopub"):
            msg = read(timeout=timeout, stream=stream)
            if stream == "iopub" and msg.get("msg_type") in ("comm_open", "comm_msg"):
                data = msg["content"].get("data", {})
                if msg["msg_type"] == "comm_open" or data.get("method") == "update":
                    record["widgets"].setdefault(msg["content"]["comm_id"], {}).update(data.get("state", {}))
            return msg

        notebook.get_kernel_message = tapped
        notebook._course_tapped = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not (_nbval_active(item.config) and _is_nbval_cell(item)) or call.when != "call":
        return
    record = _record(item)
    record["cells"][item.cell_num] = list(item.test_outputs or [])
    if outcome.get_result().failed:
        record["failed"] = True


def pytest_runtest_teardown(item, nextitem):
    if not (_nbval_active(item.config) and _is_nbval_cell(item)):
        return
    if nextitem is None or getattr(nextitem, "parent", None) is not item.parent:
        _write_executed(item.config, item.parent.path)


def pytest_sessionfinish(session):
    if _nbval_active(session.config):
        for path in list(getattr(session.config, "_course_notebooks", {})):
            _write_executed(session.config, Path(path))


def _write_executed(config, path: Path) -> Path | None:
    """Write the notebook at ``path`` with the outputs nbval received, into build/executed/<mode>/."""
    import nbformat

    from course_utils import config as course_config

    record = config._course_notebooks.pop(str(path), None)
    if record is None:
        return None
    nb = nbformat.read(path, as_version=4)
    count = 0
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        outputs = record["cells"].get(index)
        if outputs is None:
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = [_as_output(o, count) for o in outputs]
    nb.metadata["course"] = {"mode": course_config.mode_name(),
                             "seconds": round(time.perf_counter() - record["start"], 1),
                             "executed_by": "nbval", "complete": not record["failed"]
                             and len(record["cells"]) == len(code_cells)}
    if record["widgets"]:  # the layout nbclient writes (store_widget_state)
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "state": {key: {"model_name": state.get("_model_name"), "model_module": state.get("_model_module"),
                            "model_module_version": state.get("_model_module_version"), "state": state}
                      for key, state in record["widgets"].items()},
            "version_major": 2, "version_minor": 0}}
    out_dir = course_config.build_dir() / "executed" / course_config.mode_name()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    tmp = target.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, target)  # atomic: the site never reads half a notebook
    return target


def _as_output(out, count: int):
    """nbval's message-shaped output -> a valid nbformat output."""
    import nbformat

    kind = out.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=out.get("name", "stdout"), text=out.get("text", ""))
    if kind == "error":
        return nbformat.v4.new_output("error", ename=out.get("ename", ""), evalue=out.get("evalue", ""),
                                      traceback=list(out.get("traceback", [])))
    if kind == "execute_result":
        return nbformat.v4.new_output("execute_result", data=out.get("data", {}),
                                      metadata=out.get("metadata", {}), execution_count=count)
    return nbformat.v4.new_output("display_data", data=out.get("data", {}), metadata=out.get("metadata", {}))
