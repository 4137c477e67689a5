"""Fault tests of the data layer against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import multiprocessing
import socket
import time
import zipfile

import pytest

from course_utils import _files, config
from course_utils.datasets._cache import cached_simulation
from course_utils.datasets._fetch import fetch
from course_utils.datasets._registry import Dataset, DataUnavailableError, RemoteFile, load_with_fallback

pytestmark = pytest.mark.network

CONTENT = b"28.7967,16.0021,2.6449,0.3918,0.1982,27.7004,22.011,-8.2027,40.092,81.8828,g\n" * 2000
SHA = hashlib.sha256(CONTENT).hexdigest()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(http_server):
    (http_server.root / "good.data").write_bytes(CONTENT)
    return http_server


def remote(url: str, **kw) -> RemoteFile:
    return RemoteFile(name="good.data", urls=(url,), sha256=kw.pop("sha256", SHA), size=len(CONTENT), **kw)


def test_good_download_then_cache_hit(data_dir, served):
    path = fetch("toy", remote(f"{served.url}/good.data"), progress=False)
    assert path.read_bytes() == CONTENT and path.parent == data_dir / "real" / "toy"
    n = len(served.hits)
    assert fetch("toy", remote(f"{served.url}/good.data"), progress=False) == path
    assert len(served.hits) == n  # served from the cache


def test_wrong_checksum_is_refused_and_nothing_kept(data_dir, served):
    bad = remote(f"{served.url}/good.data", sha256="0" * 64)
    with pytest.raises(DataUnavailableError, match="good.data"):
        fetch("toy", bad, retries=1, progress=False)
    assert not (data_dir / "real" / "toy" / "good.data").exists()


def test_truncated_download_is_refused(data_dir, served):
    with pytest.raises(DataUnavailableError):
        fetch("toy", remote(f"{served.url}/truncated/good.data"), retries=1, progress=False)
    assert not (data_dir / "real" / "toy" / "good.data").exists()


def test_404_then_mirror(data_dir, served):
    r = RemoteFile(name="good.data", urls=(f"{served.url}/missing/good.data", f"{served.url}/good.data"),
                   sha256=SHA, size=len(CONTENT))
    assert fetch("toy", r, progress=False).read_bytes() == CONTENT
    assert any(h.startswith("/missing/") for h in served.hits)


def test_404_only_fails_with_reason(data_dir, served):
    with pytest.raises(DataUnavailableError, match="404"):
        fetch("toy", remote(f"{served.url}/missing/good.data"), progress=False)


def test_stalling_server_times_out(data_dir, served):
    served.stall_seconds = 30
    t0 = time.monotonic()
    with pytest.raises(DataUnavailableError, match="good.data"):
        fetch("toy", remote(f"{served.url}/stall/good.data"), retries=1, timeout=1.0, progress=False)
    assert time.monotonic() - t0 < 15


def test_corrupt_cache_is_fetched_again(data_dir, served, capsys):
    cached = data_dir / "real" / "toy" / "good.data"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(CONTENT[:-7] + b"garbage")
    path = fetch("toy", remote(f"{served.url}/good.data"), progress=False)
    assert path.read_bytes() == CONTENT
    assert "corrupt" in capsys.readouterr().out


def test_offline_mode_no_request(data_dir, served, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        fetch("toy", remote(f"{served.url}/good.data"), progress=False)
    assert served.hits == []


def test_unreachable_host_fails_fast(data_dir):
    t0 = time.monotonic()
    with pytest.raises(DataUnavailableError, match="unreachable"):
        fetch("toy", remote(f"http://127.0.0.1:{_closed_port()}/good.data"), progress=False)
    assert time.monotonic() - t0 < 5


def test_mirror_env_is_tried_first(data_dir, served, monkeypatch):
    (served.root / "toy").mkdir()
    (served.root / "toy" / "good.data").write_bytes(CONTENT)
    monkeypatch.setenv("COURSE_DATA_MIRROR", served.url)
    r = remote(f"http://127.0.0.1:{_closed_port()}/nowhere.data")
    assert fetch("toy", r, progress=False).read_bytes() == CONTENT
    assert served.hits[0] == "/toy/good.data"


def test_archive_member_extracted_and_verified(data_dir, served):
    with zipfile.ZipFile(served.root / "bundle.zip", "w") as zf:
        zf.writestr("good.data", CONTENT)
        zf.writestr("README", "x")
    r = remote(f"{served.url}/bundle.zip", archive_member="good.data")
    path = fetch("toy", r, progress=False)
    assert path.read_bytes() == CONTENT
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == ["good.data"]


def test_zip_slip_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.txt", "gotcha")
    with pytest.raises(ValueError, match="outside"):
        _files.safe_extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()


def _fetch_in_child(args):
    data, url = args
    import os

    os.environ["COURSE_DATA_DIR"] = data
    from course_utils.datasets._fetch import fetch as f

    return f("toy", remote(url), progress=False).read_bytes() == CONTENT


def test_two_processes_fetch_at_once(data_dir, served):
    served.hits.clear()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        ok = pool.map(_fetch_in_child, [(str(data_dir), f"{served.url}/good.data")] * 2)
    assert ok == [True, True]
    assert served.hits.count("/good.data") == 1  # the second process found the cache


def _gen_in_child(data):
    import os

    os.environ["COURSE_DATA_DIR"] = data
    from course_utils.datasets._cache import cached_simulation as cs

    return str(cs("toy", {"n": 3}, _slow_writer))


def _slow_writer(folder):
    time.sleep(0.5)
    with open(folder / "log.txt", "a") as f:
        f.write("generated\n")
    (folder / "out.csv").write_text("1,2,3\n")


def test_simulation_cache_generates_once_across_processes(data_dir):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        folders = pool.map(_gen_in_child, [str(data_dir)] * 2)
    assert folders[0] == folders[1]
    from pathlib import Path

    assert (Path(folders[0]) / "log.txt").read_text() == "generated\n"


def test_simulation_cache_recovers_from_damage_and_failure(data_dir, capsys):
    calls = []

    def gen(folder):
        calls.append(1)
        (folder / "a.txt").write_text("abc")

    folder = cached_simulation("toy", {"n": 1}, gen)
    assert cached_simulation("toy", {"n": 1}, gen) == folder and len(calls) == 1
    (folder / "a.txt").write_text("truncated")  # size changed: damaged cache
    cached_simulation("toy", {"n": 1}, gen)
    assert len(calls) == 2 and "corrupt" in capsys.readouterr().out

    def broken(folder):
        (folder / "half.txt").write_text("x")
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        cached_simulation("toy", {"n": 2}, broken)
    leftovers = [p for p in (data_dir / "simulated" / "toy").iterdir() if p.is_dir() and p != folder]
    assert leftovers == []


def _ds(source):
    return Dataset([1], source, "toy", "prov", "CC0", config.data_dir())


def test_load_with_fallback(data_dir, capsys):
    def unavailable():
        raise DataUnavailableError("offline")

    ds = load_with_fallback("toy", "auto", unavailable, lambda: _ds("simulated"))
    out = capsys.readouterr().out
    assert ds.source == "simulated" and "simulation" in out.lower() and "SIMULATION" in out
    # most published datasets are Monte Carlo: the fall-back line says "published", not "real data"
    assert "[toy] published dataset unavailable (offline)" in out and "real data" not in out
    assert load_with_fallback("toy", "auto", lambda: _ds("real"), None).source == "real"
    with pytest.raises(DataUnavailableError, match="not available"):
        load_with_fallback("toy", "real", unavailable, lambda: _ds("simulated"))
    with pytest.raises(DataUnavailableError, match="no simulation"):
        load_with_fallback("toy", "auto", unavailable, None)
    with pytest.raises(ValueError, match="source must be one of"):
        load_with_fallback("toy", "fake", unavailable, None)


def test_fallback_without_the_simulation_stack_names_both_causes(data_dir, monkeypatch):
    """Offline on a platform without Pythia's wheel: one error that says what failed and what to do."""
    import sys

    from course_utils._optional import require

    def unavailable():
        raise DataUnavailableError("offline")

    def simulate():
        require("pythia8mc", why="the toy simulation (Pythia 8)")

    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    with pytest.raises(DataUnavailableError) as err:
        load_with_fallback("toy", "auto", unavailable, simulate, verbose=False)
    msg = str(err.value)
    assert "the published toy dataset is not available (offline)" in msg
    assert "needs pythia8mc, which is not installed" in msg
    assert "Linux x86_64 and for macOS >= 15 on Apple Silicon only" in msg and "source='real'" in msg


def test_remote_file_validation():
    with pytest.raises(ValueError, match="URL"):
        RemoteFile("x", (), None)
    with pytest.raises(ValueError, match="64 hex"):
        RemoteFile("x", ("http://a",), "abc")
