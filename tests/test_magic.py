"""The MAGIC loader: parsing errors, the real file, download, corrupt cache, offline fall-back."""

from __future__ import annotations

import hashlib
import shutil
import zipfile

import pytest

from course_utils.datasets import DataUnavailableError, RemoteFile, magic

GOOD_LINES = [
    "28.7967,16.0021,2.6449,0.3918,0.1982,27.7004,22.011,-8.2027,40.092,81.8828,g",
    "31.6036,11.7235,2.5185,0.5303,0.3773,26.2722,23.8238,-9.9574,6.3609,205.261,g",
    "162.052,136.031,4.0612,0.0374,0.0187,116.741,-64.858,-45.216,76.96,256.788,h",
]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


# --- read() -----------------------------------------------------------------------------------------------

def test_read_parses_a_small_file(tmp_path):
    df = magic.read(write(tmp_path / "m.data", GOOD_LINES))
    assert list(df.columns) == magic.COLUMNS
    assert df.shape == (3, 11)
    assert df["class"].tolist() == ["g", "g", "h"]
    assert df.loc[2, "fLength"] == pytest.approx(162.052)
    assert df[magic.FEATURES].dtypes.eq("float64").all()


def test_read_skips_blank_lines(tmp_path):
    df = magic.read(write(tmp_path / "m.data", [GOOD_LINES[0], "", GOOD_LINES[1]]))
    assert len(df) == 2


@pytest.mark.parametrize("bad, message", [
    ("1,2,3,g", "line 2: 4 fields, expected 11"),
    (GOOD_LINES[0][:-2] + ",1.0,g", "line 2: 12 fields"),
    (GOOD_LINES[0].replace("16.0021", "abc"), "line 2: non-numeric value 'abc'"),
    (GOOD_LINES[0][:-1] + "x", "line 2: unknown class 'x'"),
    (GOOD_LINES[0].replace("16.0021", "nan"), "line 2: NaN or infinite"),
    (GOOD_LINES[0].replace("16.0021", "inf"), "line 2: NaN or infinite"),
])
def test_read_names_the_bad_line(tmp_path, bad, message):
    path = write(tmp_path / "m.data", [GOOD_LINES[0], bad, GOOD_LINES[1]])
    with pytest.raises(ValueError, match=message):
        magic.read(path)


def test_read_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        magic.read(tmp_path / "nope.data")
    with pytest.raises(ValueError, match="no event"):
        magic.read(write(tmp_path / "empty.data", [""]))


# --- the real file (../shared) ----------------------------------------------------------------------------

def test_real_file_as_documented(shared_magic):
    df = magic.read(shared_magic)
    assert df.shape == (19_020, 11)
    assert df["class"].value_counts().to_dict() == {"g": 12_332, "h": 6_688}
    assert df.iloc[0, :10].tolist() == pytest.approx([28.7967, 16.0021, 2.6449, 0.3918, 0.1982, 27.7004, 22.011,
                                                      -8.2027, 40.092, 81.8828])
    assert hashlib.sha256(shared_magic.read_bytes()).hexdigest() == magic.FILE.sha256
    assert shared_magic.stat().st_size == magic.FILE.size


def test_real_file_in_the_cache_is_loaded(data_dir, shared_magic, capsys):
    dest = data_dir / "real" / "magic"
    dest.mkdir(parents=True)
    shutil.copy(shared_magic, dest / "magic04.data")
    ds = magic.load()  # auto: the cached real file wins
    assert ds.source == "real" and len(ds.data) == 19_020
    assert ds.path == magic.cached_real_path()
    assert "CC BY 4.0" in capsys.readouterr().out


# --- download from a local server ---------------------------------------------------------------------------

def serve_zip(server, name, content: bytes, member="magic04.data"):
    path = server.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, content)
        zf.writestr("magic04.names", "description")
    return f"{server.url}/{name}"


@pytest.fixture
def small_remote(http_server, monkeypatch):
    """magic.FILE pointing to a zip of a small valid file on the local server."""
    content = ("\n".join(GOOD_LINES) + "\n").encode()
    url = serve_zip(http_server, "magic.zip", content)
    remote = RemoteFile("magic04.data", (url,), hashlib.sha256(content).hexdigest(), len(content), "magic04.data")
    monkeypatch.setattr(magic, "FILE", remote)
    return remote


@pytest.mark.network
def test_download_extracts_and_verifies(data_dir, small_remote, http_server):
    ds = magic.load(source="real", verbose=False)
    assert ds.source == "real" and len(ds.data) == 3
    assert (data_dir / "real" / "magic" / "magic04.data").read_bytes().count(b"\n") == 3
    assert http_server.hits == ["/magic.zip"]
    magic.load(source="real", verbose=False)
    assert http_server.hits == ["/magic.zip"]  # cached: no second download


@pytest.mark.network
def test_real_zip_through_the_mirror_setting(data_dir, shared_magic, http_server, monkeypatch):
    # the registry entry as it is (UCI's checksum), served by a classroom mirror
    serve_zip(http_server, "magic/magic+gamma+telescope.zip", shared_magic.read_bytes())
    monkeypatch.setenv("COURSE_DATA_MIRROR", http_server.url)
    ds = magic.load(source="real", verbose=False)
    assert ds.source == "real" and len(ds.data) == 19_020
    assert http_server.hits == ["/magic/magic+gamma+telescope.zip"]


@pytest.mark.network
def test_corrupt_cache_is_fetched_again(data_dir, small_remote, http_server, capsys):
    cached = data_dir / "real" / "magic" / "magic04.data"
    cached.parent.mkdir(parents=True)
    cached.write_text(GOOD_LINES[0] + "\n")  # truncated: wrong size and checksum
    ds = magic.load(source="real", verbose=False)
    assert len(ds.data) == 3
    assert "corrupt" in capsys.readouterr().out
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == small_remote.sha256


@pytest.mark.network
def test_wrong_checksum_is_refused_then_auto_falls_back(data_dir, http_server, monkeypatch):
    url = serve_zip(http_server, "magic.zip", ("\n".join(GOOD_LINES) + "\n").encode())
    monkeypatch.setattr(magic, "FILE", RemoteFile("magic04.data", (url,), "0" * 64, None, "magic04.data"))
    with pytest.raises(DataUnavailableError, match="verification"):
        magic.load(source="real", verbose=False)
    assert not (data_dir / "real" / "magic" / "magic04.data").exists()
    ds = magic.load(source="auto", n_events=120, verbose=False)
    assert ds.source == "simulated" and len(ds.data) == 120


def test_offline_without_cache(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="place magic04.data"):
        magic.load(source="real")
    ds = magic.load(n_events=100, seed=4)
    assert ds.source == "simulated" and len(ds.data) == 100
    out = capsys.readouterr().out
    assert "using the course's simulation" in out and "SIMULATION" in out


def test_unknown_source():
    with pytest.raises(ValueError, match="unknown source"):
        magic.load(source="both")
