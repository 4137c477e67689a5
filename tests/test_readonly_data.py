"""A read-only data folder (a class server): reading works, writing fails clearly, locks go elsewhere.

The loaders run in a subprocess that sees ``COURSE_DATA_DIR`` read-only, in two ways (each test runs in both
where it can, and is skipped, saying why, where it cannot):

* ``mount``: a read-only bind mount of the folder onto itself, in a private
  mount namespace (``unshare -rm``): a real read-only file system (``EROFS``),
  even for root;
* ``permissions``: the folder's write permissions removed, the subprocess run
  as a user who does not own it: ``nobody`` (``setpriv``) when the tests run
  as root (root ignores permissions), else the test's own user.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import SHARED_DATA

import course_utils
from course_utils.datasets import DataUnavailableError, fetch, magic
from course_utils.datasets._fetch import download_message, format_mb
from course_utils.datasets._registry import RemoteFile
from course_utils.datasets._storage import ReadOnlyDataError, lock_path, require_writable, writable

#: The folder holding the ``course_utils`` under test, for the subprocess.
PACKAGE_ROOT = Path(course_utils.__file__).resolve().parent.parent

_MOUNT_SCRIPT = 'mount --bind -o ro "$0" "$0" && exec "$@"'
_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _mount_problem(folder: Path) -> str | None:
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", _MOUNT_SCRIPT, str(folder), "sh", "-c",
                            'touch "$0/.probe" 2>/dev/null && exit 1; exit 0', str(folder)],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0 or (folder / ".probe").exists():
        return f"`unshare -rm` + `mount --bind -o ro` failed here ({probe.stderr.strip()[:200]})"
    return None


def _permissions_problem(folder: Path) -> str | None:
    if not _is_root():
        return None
    if shutil.which("setpriv") is None:
        return "running as root (which ignores permissions) and no setpriv to run as nobody"
    probe = subprocess.run([*_NOBODY, sys.executable, "-c", f"import sys; sys.path.insert(0, {str(PACKAGE_ROOT)!r}); "
                            "import course_utils"], capture_output=True, text=True, timeout=60, cwd=folder)
    if probe.returncode != 0:
        return f"nobody cannot run this Python and course_utils ({probe.stderr.strip()[-200:]})"
    return None


@pytest.fixture(params=["mount", "permissions"])
def readonly(request, tmp_path):
    """``run(folder, code)``: run ``code`` in a Python subprocess that sees ``folder`` read-only.

    Create the data folder under ``run.base`` (a folder that the subprocess's
    user can read). ``code`` prints one JSON line last; ``run`` returns ``(that
    object, stdout)``. The environment: ``COURSE_DATA_DIR=folder``,
    ``COURSE_LOCK_DIR`` a writable folder, ``COURSE_OFFLINE=1`` (no download is
    ever tried).
    """
    mode = request.param
    base = tmp_path
    if mode == "permissions" and _is_root():  # nobody must reach the folder: not under root's 0700 tmp folder
        base = Path(tempfile.mkdtemp(prefix="course-readonly-"))
        base.chmod(0o755)
    problem = _mount_problem(base) if mode == "mount" else _permissions_problem(base)
    if problem is not None:
        pytest.skip(f"no read-only folder by {mode} here: {problem}")
    locks = base / "locks"
    locks.mkdir()
    locks.chmod(0o777)
    restore: list[tuple[Path, int]] = []

    def run(folder: Path, code: str) -> tuple[dict, str]:
        env = {**os.environ, "COURSE_DATA_DIR": str(folder), "COURSE_LOCK_DIR": str(locks),
               "COURSE_OFFLINE": "1", "PYTHONPATH": str(PACKAGE_ROOT), "COURSE_WORKERS": "1",
               "HOME": str(locks), "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("COURSE_DATA_MIRROR", None)
        cmd = [sys.executable, "-c", textwrap.dedent(code)]
        if mode == "mount":
            cmd = ["unshare", "-rm", "sh", "-c", _MOUNT_SCRIPT, str(folder), *cmd]
        else:
            for p in [folder, *folder.rglob("*")]:
                if p.is_dir():
                    restore.append((p, p.stat().st_mode))
                    p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
            if _is_root():
                cmd = [*_NOBODY, *cmd]
        before = sorted(str(p) for p in folder.rglob("*"))
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=base)
        assert proc.returncode == 0, f"the read-only run failed ({mode}):\n{proc.stdout}\n{proc.stderr}"
        assert sorted(str(p) for p in folder.rglob("*")) == before, "something was written into the folder"
        return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stdout

    run.mode = mode
    run.base = base
    yield run
    for p, mode_bits in reversed(restore):
        p.chmod(mode_bits)
    if base != tmp_path:
        shutil.rmtree(base, ignore_errors=True)


def _published_magic(folder: Path) -> str:
    """Put the published magic04.data (or, without ../shared, a fixture) in ``folder``; return the code that
    points the registry at the fixture (empty for the real file)."""
    target = folder / "real" / "magic" / magic.FILE.name
    target.parent.mkdir(parents=True)
    real = SHARED_DATA / "magic04" / "magic04.data"
    if real.is_file():
        shutil.copyfile(real, target)
        return ""
    df = magic.simulate(300, seed=1).data
    magic.write(df, target)
    content = target.read_bytes()
    return (f"magic.FILE = RemoteFile(magic.FILE.name, magic.FILE.urls, {hashlib.sha256(content).hexdigest()!r}, "
            f"{len(content)}, magic.FILE.archive_member)\n")


def test_published_file_is_read_from_a_read_only_folder(readonly):
    folder = readonly.base / "class"
    patch = _published_magic(folder)
    expected = len(magic.read(folder / "real" / "magic" / magic.FILE.name))
    out, stdout = readonly(folder, f"""
        import json
        from course_utils.datasets import magic
        from course_utils.datasets._registry import RemoteFile
        {patch}
        ds = magic.load(source="real")
        print(json.dumps({{"source": ds.source, "n": len(ds), "path": str(ds.path)}}))
    """)
    assert out == {"source": "real", "n": expected, "path": str(folder / "real" / "magic" / magic.FILE.name)}
    assert "téléchargement" not in stdout  # nothing was downloaded


def test_missing_published_file_in_a_read_only_folder_is_a_clear_error(readonly):
    folder = readonly.base / "class"
    (folder / "real").mkdir(parents=True)
    out, _ = readonly(folder, """
        import json
        from course_utils.datasets import magic
        try:
            magic.load(source="real")
        except Exception as exc:
            print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
    """)
    assert out["type"] == "DataUnavailableError"  # load_with_fallback's wrapper; the cause is ReadOnlyDataError
    message = out["message"]
    assert "magic04.data" in message and "read-only" in message and "COURSE_DATA_DIR" in message
    assert "make data" in message and "COURSE_OFFLINE" not in message  # read-only is said before offline


def test_simulation_cache_is_read_from_a_read_only_folder(tmp_path, monkeypatch, readonly):
    folder = readonly.base / "class"
    folder.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))  # the teacher prepares, in a writable folder
    monkeypatch.setenv("COURSE_LOCK_DIR", str(tmp_path / "teacher-locks"))
    prepared = magic.load(source="simulated", n=400, seed=3, verbose=False)
    digest = hashlib.sha256(prepared.path.read_bytes()).hexdigest()
    assert not any(p.suffix == ".lock" for p in folder.rglob("*")), "a lock file was left beside the data"

    out, stdout = readonly(folder, """
        import hashlib, json
        from course_utils.datasets import magic
        ds = magic.load(source="simulated", n=400, seed=3, verbose=False)
        auto = magic.load(source="auto", n=400, seed=3)  # no published file: the prepared simulation
        try:
            magic.load(source="simulated", n=401, seed=3, verbose=False)
            error = None
        except Exception as exc:
            error = {"type": type(exc).__name__, "message": str(exc)}
        print(json.dumps({"source": ds.source, "n": len(ds), "sha": hashlib.sha256(ds.path.read_bytes()).hexdigest(),
                          "auto": [auto.source, str(auto.path)], "error": error}))
    """)
    assert out["source"] == "simulated" and out["n"] == 400 and out["sha"] == digest
    assert out["auto"] == ["simulated", str(prepared.path)]
    assert "read-only" in stdout  # auto said why the published file was not used
    assert out["error"]["type"] == "ReadOnlyDataError"
    message = out["error"]["message"]
    assert "magic simulation" in message and "'n': 401" not in message and "n=401" in message
    assert "read-only" in message and "COURSE_DATA_DIR" in message and "make data" in message


def test_writability_check_and_message(tmp_path, monkeypatch):
    assert writable(tmp_path / "not" / "yet" / "there")  # judged on the nearest existing parent
    monkeypatch.setattr("course_utils.datasets._storage.writable", lambda path: False)
    with pytest.raises(ReadOnlyDataError, match=r"x\.data is not in .* read-only here.*COURSE_DATA_DIR"):
        require_writable(tmp_path, "x.data")
    with pytest.raises(ReadOnlyDataError, match=r"pass data_home=.*; or set COURSE_DATA_DIR"):
        require_writable(tmp_path, "x.data", hint="pass data_home=<a writable folder>")


def test_lock_files_are_per_user_never_beside_the_data(data_dir, tmp_path):
    target = data_dir / "real" / "magic" / "magic04.data"
    lock = lock_path(target)
    assert lock.parent == tmp_path / "locks"  # COURSE_LOCK_DIR, set by the data_dir fixture
    assert lock.name.endswith("-magic04.data.lock")
    assert lock_path(data_dir / "real" / "other" / "magic04.data") != lock  # one lock per data path


# --- sizes, printed before a download --------------------------------------------------------------------------


def test_format_mb():
    assert format_mb(1_477_391) == "1,5 Mo"
    assert format_mb(2_244_449_133) == "2 244,4 Mo"
    assert format_mb(None) == "taille inconnue"


def test_remote_file_sizes():
    plain = RemoteFile("a", ("http://x/a",), None, size=1_000_000)
    assert (plain.bytes_to_fetch, plain.bytes_on_disk) == (1_000_000, 1_000_000)
    member = RemoteFile("a", ("http://x/a.zip",), None, size=1_000_000, archive_member="a")
    assert (member.bytes_to_fetch, member.bytes_on_disk) == (None, 1_000_000)  # the zip's size is not the file's
    planned = RemoteFile("a", ("http://x/a.zip",), None, archive_member="a", download_size=3, disk_size=5)
    assert (planned.bytes_to_fetch, planned.bytes_on_disk) == (3, 5)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="download_size must be a positive number of bytes"):
            RemoteFile("a", ("http://x/a",), None, download_size=bad)


def test_loader_prints_the_sizes_before_a_download(data_dir, http_server, shared_magic, monkeypatch, capsys):
    content = shared_magic.read_bytes()
    (http_server.root / "magic04.data").write_bytes(content)
    served = RemoteFile(magic.FILE.name, (f"{http_server.url}/magic04.data",), magic.FILE.sha256, len(content),
                        download_size=len(content) + 100_000)  # as if an archive: a different figure, to tell apart
    monkeypatch.setattr(magic, "FILE", served)
    ds = magic.load(source="real", verbose=False)
    out = capsys.readouterr().out
    assert "[magic] téléchargement : ≈ 1,58 Mo à télécharger, 1,5 Mo sur le disque (magic04.data)" in out
    assert out.startswith("[magic] téléchargement")  # the first thing printed, before the download
    assert ds.source == "real" and http_server.hits == ["/magic04.data"]
    assert not list(data_dir.rglob("*.lock"))  # the download's lock was not beside the data
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(ds.path.stat().st_mode) == 0o666 & ~umask  # readable by others (pooch's file was 0600)

    capsys.readouterr()
    magic.load(source="real", verbose=False)  # cached: nothing downloaded, nothing announced
    assert "téléchargement" not in capsys.readouterr().out and len(http_server.hits) == 1


def test_no_size_line_when_nothing_is_downloaded(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    remote = RemoteFile("x.data", ("http://127.0.0.1:9/x.data",), None, size=10)
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        fetch("toy", remote)
    assert "téléchargement" not in capsys.readouterr().out
    assert download_message("toy", remote) == "[toy] téléchargement : 0,0 Mo à télécharger, 0,0 Mo sur le disque (x.data)"
