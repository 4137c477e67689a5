"""The MAGIC data layer: the file format, the published file, download, corrupt cache, offline fall-back."""

from __future__ import annotations

import hashlib
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from course_utils.datasets import DataUnavailableError, RemoteFile, magic
from course_utils.datasets.magic import formats

GOOD_LINES = [
    "28.7967,16.0021,2.6449,0.3918,0.1982,27.7004,22.011,-8.2027,40.092,81.8828,g",
    "31.6036,11.7235,2.5185,0.5303,0.3773,26.2722,23.8238,-9.9574,6.3609,205.261,g",
    "162.052,136.031,4.0612,0.0374,0.0187,116.741,-64.858,-45.216,76.96,256.788,h",
]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


# --- formats.read() ---------------------------------------------------------------------------------------

def test_read_parses_a_small_file(tmp_path):
    df = formats.read(write(tmp_path / "m.data", GOOD_LINES))
    assert list(df.columns) == magic.COLUMNS
    assert df.shape == (3, 11)
    assert df["class"].tolist() == ["g", "g", "h"]
    assert df.loc[2, "fLength"] == pytest.approx(162.052)
    assert df[magic.FEATURES].dtypes.eq("float64").all()


def test_read_skips_blank_lines(tmp_path):
    df = formats.read(write(tmp_path / "m.data", [GOOD_LINES[0], "", GOOD_LINES[1]]))
    assert len(df) == 2


def test_read_first_n_events_only(tmp_path):
    path = write(tmp_path / "m.data", [*GOOD_LINES, "1,2,3,g"])  # a bad line after the first three
    df = formats.read(path, n=2)
    assert len(df) == 2 and df["fLength"].tolist() == pytest.approx([28.7967, 31.6036])
    assert len(formats.read(path, n=3)) == 3
    with pytest.raises(ValueError, match="line 4"):
        formats.read(path, n=4)
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="n must be an integer >= 1 or None"):
            formats.read(path, n=bad)


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
        formats.read(path)


def test_read_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        formats.read(tmp_path / "nope.data")
    with pytest.raises(ValueError, match="no event"):
        formats.read(write(tmp_path / "empty.data", [""]))


# --- formats.write() --------------------------------------------------------------------------------------

def test_write_uses_the_uci_number_format(tmp_path):
    table = pd.DataFrame([[0.168, 231.90281, -8.20269, 3.1, 0.0, -0.00001, 1e-5, 12.0, 0.12346, 1000.5]],
                         columns=formats.FEATURES)
    table["class"] = "h"
    text = formats.write(table, tmp_path / "m.data").read_bytes()
    assert text == b"0.168,231.9028,-8.2027,3.1,0,0,0,12,0.1235,1000.5,h\n"  # hand-formatted as UCI does
    back = formats.read(tmp_path / "m.data")
    np.testing.assert_allclose(back[formats.FEATURES].to_numpy(), table[formats.FEATURES].to_numpy(), atol=5e-5)


def test_write_then_read_a_small_file(tmp_path):
    df = formats.read(write(tmp_path / "m.data", GOOD_LINES))
    formats.write(df, tmp_path / "again.data")
    assert (tmp_path / "again.data").read_text() == (tmp_path / "m.data").read_text()


def test_write_refuses_bad_tables(tmp_path):
    good = formats.read(write(tmp_path / "m.data", GOOD_LINES))
    bad = good.copy()
    bad.loc[0, "fLength"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        formats.write(bad, tmp_path / "x.data")
    bad = good.copy()
    bad.loc[0, "class"] = "x"
    with pytest.raises(ValueError, match="class"):
        formats.write(bad, tmp_path / "x.data")
    with pytest.raises(ValueError, match="lacks"):
        formats.write(good.drop(columns="fAlpha"), tmp_path / "x.data")
    with pytest.raises(ValueError, match="empty"):
        formats.write(good.iloc[:0], tmp_path / "x.data")
    with pytest.raises(ValueError, match="DataFrame"):
        formats.write(good.to_numpy(), tmp_path / "x.data")
    assert not (tmp_path / "x.data").exists()


# --- the real file (../shared) ----------------------------------------------------------------------------

def test_real_file_as_documented(shared_magic):
    df = formats.read(shared_magic)
    assert df.shape == (19_020, 11)
    assert df["class"].value_counts().to_dict() == {"g": 12_332, "h": 6_688}
    assert df.iloc[0, :10].tolist() == pytest.approx([28.7967, 16.0021, 2.6449, 0.3918, 0.1982, 27.7004, 22.011,
                                                      -8.2027, 40.092, 81.8828])
    assert hashlib.sha256(shared_magic.read_bytes()).hexdigest() == magic.FILE.sha256
    assert shared_magic.stat().st_size == magic.FILE.size
    assert list(df["class"].iloc[12_330:12_334]) == ["g", "g", "h", "h"]  # every gamma before the first hadron


def test_write_gives_the_real_file_back_byte_for_byte(shared_magic, tmp_path):
    path = formats.write(formats.read(shared_magic), tmp_path / "magic04.data")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == magic.FILE.sha256


def test_real_file_in_the_cache_is_loaded(data_dir, shared_magic, capsys):
    dest = data_dir / "real" / "magic"
    dest.mkdir(parents=True)
    shutil.copy(shared_magic, dest / "magic04.data")
    ds = magic.load()  # auto: the cached real file wins
    assert ds.source == "real" and len(ds.data) == 19_020
    assert ds.path == magic.cached_real_path()
    out = capsys.readouterr().out
    assert "CC BY 4.0" in out and "Monte Carlo: CORSIKA" in out  # the published file is itself simulated
    pd.testing.assert_frame_equal(magic.load(n=19_020, verbose=False).data, ds.data)


def test_a_subset_of_the_real_file_keeps_both_classes(data_dir, shared_magic):
    dest = data_dir / "real" / "magic"
    dest.mkdir(parents=True)
    shutil.copy(shared_magic, dest / "magic04.data")
    full = formats.read(shared_magic)
    ds = magic.load("real", n=1_000, seed=3, verbose=False)
    sub = ds.data
    assert len(sub) == 1_000 and ds.details["n_file"] == 19_020
    assert 0.55 < (sub["class"] == "g").mean() < 0.75  # 12,332 / 19,020 = 0.648: not the first 1,000 rows (all g)
    assert (sub["class"].iloc[:-1].to_numpy() <= sub["class"].iloc[1:].to_numpy()).all()  # file order: g, then h
    assert sub.merge(full.drop_duplicates()).shape[0] == 1_000  # rows of the file (which holds a few duplicates)
    pd.testing.assert_frame_equal(magic.load("real", n=1_000, seed=3, verbose=False).data, sub)
    assert not magic.load("real", n=1_000, seed=4, verbose=False).data.equals(sub)


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
def test_wrong_checksum_is_refused_then_auto_falls_back(data_dir, http_server, monkeypatch):
    url = serve_zip(http_server, "magic.zip", ("\n".join(GOOD_LINES) + "\n").encode())
    monkeypatch.setattr(magic, "FILE", RemoteFile("magic04.data", (url,), "0" * 64, None, "magic04.data"))
    with pytest.raises(DataUnavailableError, match="verification"):
        magic.load(source="real", verbose=False)
    assert not (data_dir / "real" / "magic" / "magic04.data").exists()
    ds = magic.load(source="auto", n=120, verbose=False)
    assert ds.source == "simulated" and len(ds.data) == 120


def test_registry_entry_says_how_the_published_file_was_made():
    from course_utils import datasets

    assert datasets.registry()["magic"] is magic.INFO
    assert magic.INFO.made_by.startswith("Monte Carlo") and "not measured" in magic.INFO.made_by
