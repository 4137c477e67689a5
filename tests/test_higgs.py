"""The HIGGS data layer (format, streaming, download), its simulation, and the TFRecord helper."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from course_utils.datasets import DataUnavailableError, higgs
from course_utils.datasets.higgs import _generator, _remote, simulation
from course_utils.physics import kinematics

N_COLS = 29


# ----------------------------------------------------------------------------- helpers


def _rows(n: int, seed: int = 0) -> np.ndarray:
    """``n`` events in the UCI layout: label, then 28 float32 features of plausible size."""
    rng = np.random.default_rng(seed)
    values = rng.normal(1.0, 0.5, size=(n, N_COLS)).astype(np.float32)
    values[:, 0] = rng.integers(0, 2, n)
    return values


def _csv_bytes(values: np.ndarray, header: bool = False) -> bytes:
    buf = io.StringIO()
    if header:
        buf.write(",".join(higgs.COLUMNS) + "\n")
    np.savetxt(buf, values.astype(np.float64), fmt="%.18e", delimiter=",")
    return buf.getvalue().encode()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes each member's sizes after its data (a data descriptor)."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data.extend(b)
        return len(b)


def _zip(member_bytes: bytes, method: int = zipfile.ZIP_STORED, extra_first: bool = False,
         streamed: bool = False) -> bytes:
    out = _Unseekable() if streamed else io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        if extra_first:
            zf.writestr("README.txt", b"a member before the data file\n" * 100)
        if streamed:
            with zf.open("HIGGS.csv.gz", "w") as member:
                member.write(member_bytes)
        else:
            zf.writestr("HIGGS.csv.gz", member_bytes)
    return bytes(out.data) if streamed else out.getvalue()


# ----------------------------------------------------------------------------- columns and format


def test_column_lists_follow_the_paper():
    assert len(higgs.LOW_LEVEL) == 21 and len(higgs.HIGH_LEVEL) == 7
    assert higgs.COLUMNS == ["label", *higgs.LOW_LEVEL, *higgs.HIGH_LEVEL]
    assert higgs.LOW_LEVEL[:5] == ["lepton_pT", "lepton_eta", "lepton_phi", "missing_energy_magnitude",
                                   "missing_energy_phi"]
    assert higgs.LOW_LEVEL[5:9] == ["jet_1_pt", "jet_1_eta", "jet_1_phi", "jet_1_b-tag"]
    assert higgs.LOW_LEVEL[-1] == "jet_4_b-tag"
    assert higgs.HIGH_LEVEL == ["m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb"]


def test_read_real_format_rows(tmp_path):
    # Two lines exactly as the UCI file writes them: no header, label first, 18-digit scientific notation.
    values = _rows(2)
    path = tmp_path / "HIGGS.csv.gz"
    path.write_bytes(_gz(_csv_bytes(values)))
    text = gzip.decompress(path.read_bytes()).decode()
    assert not text[0].isalpha() and "e+00" in text.splitlines()[0]
    df = higgs.read(path)
    assert list(df.columns) == higgs.COLUMNS
    assert df["label"].dtype == np.int8 and set(df["label"]) <= {0, 1}
    np.testing.assert_array_equal(df[higgs.FEATURES].to_numpy(), values[:, 1:])  # float32: nothing lost
    np.testing.assert_array_equal(df["label"].to_numpy(), values[:, 0])


def test_read_plain_csv_header_and_nrows(tmp_path):
    values = _rows(10)
    path = tmp_path / "higgs.csv"
    path.write_bytes(_csv_bytes(values, header=True))
    df = higgs.read(path, n=4)
    assert len(df) == 4
    np.testing.assert_array_equal(df[higgs.FEATURES].to_numpy(), values[:4, 1:])


def test_write_is_the_uci_format_and_round_trips(tmp_path):
    values = _rows(5, seed=3)
    frame = pd.DataFrame(values[:, 1:], columns=higgs.FEATURES)
    frame.insert(0, "label", values[:, 0].astype(int))
    path = higgs.write(frame, tmp_path / "out.csv.gz")
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert len(lines) == 5 and len(lines[0].split(",")) == N_COLS
    assert all(field.count("e") == 1 for field in lines[0].split(","))
    assert float(lines[0].split(",")[1]) == float(np.float32(values[0, 1]))
    back = higgs.read(path)
    np.testing.assert_array_equal(back.to_numpy(dtype=np.float32), values)
    # deterministic bytes: the same events give the same file
    again = higgs.write(frame, tmp_path / "again.csv.gz")
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("case, message", [
    ("28 columns", "columns"),
    ("30 fields on a line", "fields"),
    ("label 2", "label"),
    ("text value", "non-numeric"),
    ("empty", "no event"),
])
def test_read_rejects_bad_content(tmp_path, case, message):
    values = _rows(4)
    if case == "28 columns":
        data = _csv_bytes(values[:, :28])
    elif case == "30 fields on a line":
        lines = _csv_bytes(values).decode().splitlines()
        lines[2] += ",1.0"
        data = ("\n".join(lines) + "\n").encode()
    elif case == "label 2":
        values[3, 0] = 2
        data = _csv_bytes(values)
    elif case == "text value":
        lines = _csv_bytes(values).decode().splitlines()
        fields = lines[1].split(",")
        fields[5] = "abc"
        lines[1] = ",".join(fields)
        data = ("\n".join(lines) + "\n").encode()
    else:
        data = b""
    path = tmp_path / "HIGGS.csv.gz"
    path.write_bytes(_gz(data))
    with pytest.raises(ValueError, match=message):
        higgs.read(path)


def test_label_error_names_the_line(tmp_path):
    values = _rows(6)
    values[4, 0] = -1
    path = tmp_path / "h.csv"
    path.write_bytes(_csv_bytes(values))
    with pytest.raises(ValueError, match=r"line 5: label"):
        higgs.read(path)


def test_read_missing_file_and_bad_nrows(tmp_path):
    with pytest.raises(FileNotFoundError):
        higgs.read(tmp_path / "nope.csv.gz")
    path = tmp_path / "small.csv"
    path.write_bytes(_csv_bytes(_rows(2)))
    with pytest.raises(ValueError, match="n must"):
        higgs.read(path, n=0)


# ----------------------------------------------------------------------------- streaming the first rows


@pytest.mark.network
@pytest.mark.parametrize("layout", ["zip-stored", "zip-deflate", "zip-second-member", "zip-data-descriptors",
                                    "gzip"])
def test_stream_head_reads_only_what_it_needs(data_dir, http_server, monkeypatch, layout):
    values = _rows(3000, seed=1)
    gz = _gz(_csv_bytes(values))
    name = "HIGGS.csv.gz" if layout == "gzip" else "higgs.zip"
    body = {
        "zip-stored": lambda: _zip(gz),
        "zip-deflate": lambda: _zip(gz, zipfile.ZIP_DEFLATED),
        "zip-second-member": lambda: _zip(gz, extra_first=True),
        # written to a stream: every member's sizes come after its data, the member before included
        "zip-data-descriptors": lambda: _zip(gz, zipfile.ZIP_DEFLATED, extra_first=True, streamed=True),
        "gzip": lambda: gz,
    }[layout]()
    (http_server.root / name).write_bytes(body)
    url = f"{http_server.url}/{name}"
    received = []
    real_chunks = _remote.stream

    def counting(*args, **kwargs):
        for block in real_chunks(*args, **kwargs):
            received.append(len(block))
            yield block

    monkeypatch.setattr(_remote, "stream", counting)
    path = higgs.stream_head(500, urls=[url], progress=False)
    assert sum(received) < len(body) / 2, "only the beginning of the file is downloaded"
    assert path == higgs.head_path(500) and path.suffix == ".npy"
    cached = np.load(path)
    assert cached.dtype == np.float32 and cached.shape == (500, N_COLS)
    np.testing.assert_array_equal(cached, values[:500])
    df = higgs.read(path, n=200)
    assert list(df.columns) == higgs.COLUMNS and len(df) == 200
    # a smaller request reuses the cache: no new download
    hits = len(http_server.hits)
    assert higgs.stream_head(100, urls=[url], progress=False) == path
    assert len(http_server.hits) == hits


@pytest.mark.network
def test_stream_head_failures(data_dir, http_server, monkeypatch):
    values = _rows(2000)
    (http_server.root / "HIGGS.csv.gz").write_bytes(_gz(_csv_bytes(values)))
    # a transfer cut in the middle: nothing cached, the reason is given
    with pytest.raises(DataUnavailableError, match="IncompleteRead|truncated|broken"):
        higgs.stream_head(1999, urls=[f"{http_server.url}/truncated/HIGGS.csv.gz"], progress=False)
    assert not list((data_dir / "real" / "higgs").glob("*.npy"))
    # the HTTP transfer completes but the gzip stream inside is cut: also a transfer problem, not cached
    blob = _gz(_csv_bytes(values))
    (http_server.root / "cut.csv.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataUnavailableError, match="truncated gzip"):
        higgs.stream_head(1999, urls=[f"{http_server.url}/cut.csv.gz"], progress=False)
    # 404
    with pytest.raises(DataUnavailableError, match="404"):
        higgs.stream_head(10, urls=[f"{http_server.url}/missing/HIGGS.csv.gz"], progress=False)
    # fewer rows than asked for
    with pytest.raises(ValueError, match="only 2,000 events"):
        higgs.stream_head(5000, urls=[f"{http_server.url}/HIGGS.csv.gz"], progress=False)
    # not the HIGGS format: a file with 11 columns
    (http_server.root / "other.csv.gz").write_bytes(_gz(b"1,2,3,4,5,6,7,8,9,10,g\n" * 10))
    with pytest.raises(ValueError, match="fields|columns|non-numeric"):
        higgs.stream_head(5, urls=[f"{http_server.url}/other.csv.gz"], progress=False)
    # offline: no request at all
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    hits = len(http_server.hits)
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        higgs.stream_head(10, urls=[f"{http_server.url}/HIGGS.csv.gz"], progress=False)
    assert len(http_server.hits) == hits


@pytest.mark.network
def test_load_real_through_a_mirror_and_auto_fallback(data_dir, http_server, monkeypatch):
    values = _rows(300, seed=2)
    (http_server.root / "higgs").mkdir()
    (http_server.root / "higgs" / "higgs.zip").write_bytes(_zip(_gz(_csv_bytes(values))))
    monkeypatch.setenv("COURSE_DATA_MIRROR", http_server.url)
    ds = higgs.load("real", n=120, verbose=False)
    assert ds.source == "real" and len(ds.data) == 120
    np.testing.assert_array_equal(ds.data[higgs.FEATURES].to_numpy(), values[:120, 1:])
    # offline, "auto" falls back to the simulation (stubbed here: the real one is tested below)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    calls = []

    def fake_sim(n, seed, mpi):
        calls.append(n)
        return higgs.Dataset(ds.data.head(n), "simulated", "higgs", "stub", "-", ds.path)

    monkeypatch.setattr(higgs, "_simulate", fake_sim)
    out = higgs.load("auto", n=500, verbose=False)
    assert out.source == "simulated" and calls == [500]
    with pytest.raises(DataUnavailableError, match="how|Download"):
        higgs.load("real", n=500, verbose=False)


# ----------------------------------------------------------------------------- full download


@pytest.mark.network
def test_download_resumes_extracts_and_verifies(data_dir, http_server, capsys):
    values = _rows(700, seed=4)
    archive = _zip(_gz(_csv_bytes(values)))
    (http_server.root / "higgs.zip").write_bytes(archive)
    # an earlier download stopped after 1,000 bytes
    part = data_dir / "real" / "higgs" / "higgs.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(archive[:1000])
    path = higgs.download(urls=[f"{http_server.url}/higgs.zip"], expected_rows=700, progress=False)
    assert path == higgs.full_path() and path.name == "HIGGS.csv.gz"
    assert http_server.ranges[-1] == "bytes=1000-", "the download must resume, not start again"
    assert not part.exists()
    assert "differs from the size/sha256 reported" in capsys.readouterr().out
    np.testing.assert_array_equal(higgs.read(path).to_numpy(dtype=np.float32), values)
    # load() now reads the full file, whatever the number of events asked for
    ds = higgs.load("real", n=50, verbose=False)
    assert ds.path == path and len(ds.data) == 50


@pytest.mark.network
def test_download_failures(data_dir, http_server):
    values = _rows(400, seed=5)
    gz = _gz(_csv_bytes(values))
    (http_server.root / "HIGGS.csv.gz").write_bytes(gz)
    with pytest.raises(DataUnavailableError, match="partial file kept"):
        higgs.download(urls=[f"{http_server.url}/truncated/HIGGS.csv.gz"], expected_rows=400, progress=False)
    assert not higgs.full_path().exists()
    # wrong number of rows: refused, nothing cached
    with pytest.raises(ValueError, match="400 events, expected 500"):
        higgs.download(urls=[f"{http_server.url}/HIGGS.csv.gz"], expected_rows=500, progress=False)
    assert not higgs.full_path().exists()


def test_registry_entry_says_no_checksum_is_published():
    assert higgs.INFO.licence == "CC BY 4.0" and higgs.INFO.doi == "10.24432/C5V312"
    assert higgs.FILE.urls[0] == "https://archive.ics.uci.edu/static/public/280/higgs.zip"
    assert higgs.FILE.archive_member == "HIGGS.csv.gz" and higgs.FILE.sha256 is None
    assert higgs.INFO.made_by.startswith("Monte Carlo") and "not measured" in higgs.INFO.made_by
    assert "no sha256" in higgs.__doc__ or "no checksum" in higgs.__doc__.lower()


# ----------------------------------------------------------------------------- features


def _p4(pt, eta, phi):
    return np.array([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])


def _m(*vs):
    t = np.sum(vs, axis=0)
    return float(np.sqrt(max(t[0] ** 2 - t[1] ** 2 - t[2] ** 2 - t[3] ** 2, 0.0)))


def test_neutrino_pz_of_a_true_w_decay():
    # when a true W decay is given, one of the two solutions is the true pz and the mass is exactly m_W
    w_nu = _p4(30.0, 0.7, 1.0)
    w_lep_dir = _p4(1.0, -0.2, 2.5)
    # scale the lepton so that m(l, nu) = m_W: m^2 = 2 E_l E_nu (1 - cos theta) is linear in the lepton energy
    lep_w = w_lep_dir * simulation.M_W**2 / _m(w_lep_dir, w_nu) ** 2
    lepton = kinematics.massless([np.hypot(lep_w[1], lep_w[2])], [-0.2], [2.5])
    pz = kinematics.neutrino_pz(lepton, np.array([w_nu[1]]), np.array([w_nu[2]]))[0]
    nu = np.array([np.sqrt(w_nu[1] ** 2 + w_nu[2] ** 2 + pz**2), w_nu[1], w_nu[2], pz])
    assert _m(lep_w, nu) == pytest.approx(simulation.M_W, rel=1e-6)


def _event(jets, lepton=(50.0, 0.3, 0.1), met=(40.0, -2.0)):
    row = [*lepton, *met]
    for pt, eta, phi, tag in jets:
        row += [pt, eta, phi, tag]
    return np.array(row, dtype=float)


def test_high_level_features_hand_worked_masses():
    # b-tagged jets 1 and 3 back to back at eta = 0: m_bb = 2 pT; untagged jets 2 and 4 form the W
    jets = [(60.0, 0.0, 0.0, 1), (50.0, 0.5, 1.0, 0), (60.0, 0.0, np.pi, 1), (30.0, -1.0, -2.0, 0)]
    low = _event(jets)[None, :]
    hl = simulation.high_level_features(low)[0]
    m = dict(zip(higgs.HIGH_LEVEL, hl))
    assert m["m_bb"] == pytest.approx(120.0)
    # massless two-body mass: m^2 = 2 pT1 pT2 (cosh(d eta) - cos(d phi))
    expected_jj = np.sqrt(2 * 50 * 30 * (np.cosh(1.5) - np.cos(3.0)))
    assert m["m_jj"] == pytest.approx(expected_jj)
    # m_lv: the W mass constraint can be met here
    assert m["m_lv"] == pytest.approx(simulation.M_W, rel=1e-6)
    # m_wwbb: the mass of everything, computed independently
    lep = _p4(50.0, 0.3, 0.1)
    pz = kinematics.neutrino_pz(kinematics.massless([50.0], [0.3], [0.1]), np.array([40 * np.cos(-2.0)]),
                                np.array([40 * np.sin(-2.0)]))[0]
    nu = np.array([np.sqrt(40**2 + pz**2), 40 * np.cos(-2.0), 40 * np.sin(-2.0), pz])
    vecs = [_p4(pt, eta, phi) for pt, eta, phi, _ in jets]
    assert m["m_wwbb"] == pytest.approx(_m(lep, nu, *vecs))
    assert m["m_wbb"] == pytest.approx(_m(lep, nu, vecs[0], vecs[2]))
    # the top pairing: the one whose two masses are closest to m_t
    w = vecs[1] + vecs[3]
    pairings = [(_m(w, vecs[0]), _m(lep, nu, vecs[2])), (_m(w, vecs[2]), _m(lep, nu, vecs[0]))]
    best = min(pairings, key=lambda p: (p[0] - simulation.M_TOP) ** 2 + (p[1] - simulation.M_TOP) ** 2)
    assert (m["m_jjj"], m["m_jlv"]) == pytest.approx(best)


def test_high_level_features_without_tags_use_the_leading_jets():
    jets = [(90.0, 0.1, 0.0, 0), (70.0, -0.4, 2.0, 0), (50.0, 1.2, -1.0, 0), (30.0, 0.0, 3.0, 0)]
    hl = dict(zip(higgs.HIGH_LEVEL, simulation.high_level_features(_event(jets)[None, :])[0]))
    v = [_p4(pt, eta, phi) for pt, eta, phi, _ in jets]
    assert hl["m_bb"] == pytest.approx(_m(v[0], v[1]))
    assert hl["m_jj"] == pytest.approx(_m(v[2], v[3]))


def test_high_level_features_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        simulation.high_level_features(np.zeros((3, 20)))
    bad = _event([(60.0, 0.0, 0.0, 1)] * 4)[None, :]
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        simulation.high_level_features(bad)


def test_high_level_features_equal_the_first_releases_numpy_code():
    """The features moved onto ``vector`` (course_utils.physics.kinematics) give the very same numbers as the
    NumPy code of the first release (kept in tests/_higgs_features_v1.py): cached simulations stay valid."""
    spec = importlib.util.spec_from_file_location("_higgs_features_v1", __file__.replace("test_higgs.py",
                                                                                         "_higgs_features_v1.py"))
    old = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = old
    spec.loader.exec_module(old)
    rng = np.random.default_rng(5)
    n = 20_000
    low = np.empty((n, 21))
    low[:, 0], low[:, 1], low[:, 2] = rng.uniform(20, 300, n), rng.uniform(-2.5, 2.5, n), rng.uniform(-3.1, 3.1, n)
    low[:, 3], low[:, 4] = rng.uniform(0, 300, n), rng.uniform(-3.1, 3.1, n)
    for k in range(4):
        low[:, 5 + 4 * k] = np.sort(rng.uniform(20, 400, n))[::-1] if k == 0 else rng.uniform(20, 400, n)
        low[:, 6 + 4 * k], low[:, 7 + 4 * k] = rng.uniform(-2.5, 2.5, n), rng.uniform(-3.1, 3.1, n)
        low[:, 8 + 4 * k] = rng.integers(0, 2, n)
    np.testing.assert_array_equal(simulation.high_level_features(low), old.high_level_features(low))


def test_scale_features_divides_momenta_masses_and_tags_only():
    x = np.ones((2, 28)) * 100.0
    scaled = simulation.scale_features(x)
    for i, name in enumerate(higgs.FEATURES):
        if "eta" in name or "phi" in name:
            assert scaled[0, i] == 100.0
        else:
            assert scaled[0, i] == pytest.approx(100.0 / simulation.SCALES[name])
    with pytest.raises(ValueError, match="shape"):
        simulation.scale_features(np.ones((2, 27)))


def test_heavy_flavour_from_pdg_codes():
    codes = np.array([511, -521, 5122, 553, 421, -4122, 443, 5103, 4301, 211, 5, 25, 35])
    np.testing.assert_array_equal(_generator._heavy_flavour(codes), [5, 5, 5, 5, 4, 4, 4, 0, 0, 0, 0, 0, 0])


def test_pythia_settings_follow_the_hints():
    sig = simulation.pythia_settings("signal", mpi=False, seed=5)
    assert "Higgs:useBSM = on" in sig and "HiggsBSM:gg2H2 = on" in sig
    assert "35:onMode = off" in sig and sum("35:addChannel" in s for s in sig) == 2
    assert not any("oneChannel" in s for s in sig)
    assert "35:m0 = 425.0" in sig and "37:m0 = 325.0" in sig and "Beams:eCM = 8000." in sig
    assert "PartonLevel:MPI = off" in sig and "Random:seed = 5" in sig
    bkg = simulation.pythia_settings("background")
    assert "Top:gg2ttbar = on" in bkg and "PartonLevel:MPI = on" in bkg
    with pytest.raises(ValueError, match="process"):
        simulation.pythia_settings("ttbar")
    with pytest.raises(ValueError, match="seed"):
        simulation.pythia_settings("signal", seed=0)


def test_detector_refuses_impossible_settings():
    with pytest.raises(ValueError, match="probability"):
        simulation.Detector(btag_b=1.5)
    with pytest.raises(ValueError, match="min_jets"):
        simulation.Detector(min_jets=3)
    with pytest.raises(ValueError, match="min_btags"):
        simulation.Detector(min_btags=5)
    with pytest.raises(ValueError, match="number of signal events"):
        simulation.generate(0, "signal")
    with pytest.raises(ValueError, match="process"):
        simulation.generate(10, "ttbar")


# ----------------------------------------------------------------------------- the simulation itself


@pytest.mark.slow
def test_generate_selects_what_the_paper_selects_and_is_deterministic():
    low, stats = simulation.generate(30, "signal", seed=11, mpi=False, workers=1)
    assert low.shape == (30, 21) and stats["generated"] >= 250
    assert 0.05 < stats["acceptance"] < 0.5
    assert np.all(low[:, 0] > 20) and np.all(np.abs(low[:, 1]) < 2.5)  # the lepton
    jet_pt = low[:, [5, 9, 13, 17]]
    assert np.all(jet_pt > 20) and np.all(np.diff(jet_pt, axis=1) <= 0)  # four jets, by decreasing pT
    assert np.all(np.abs(low[:, [6, 10, 14, 18]]) < 2.5)
    tags = low[:, [8, 12, 16, 20]]
    assert set(np.unique(tags)) <= {0.0, 1.0} and np.all(tags.sum(axis=1) >= 2)
    # the same seed gives the same events, whatever the number of worker processes
    again, _ = simulation.generate(30, "signal", seed=11, mpi=False, workers=2)
    np.testing.assert_array_equal(low, again)
    other, _ = simulation.generate(30, "signal", seed=12, mpi=False, workers=1)
    assert not np.array_equal(low, other)


@pytest.mark.slow
def test_simulate_writes_the_uci_format_and_caches(data_dir):
    ds = simulation.simulate(40, seed=3, mpi=False)
    assert ds.source == "simulated" and ds.path.name == "HIGGS.csv.gz"
    lines = gzip.decompress(ds.path.read_bytes()).decode().splitlines()
    assert len(lines) == 40 and all(len(line.split(",")) == N_COLS for line in lines)
    assert lines[0].startswith(("0.000000000000000000e+00,", "1.000000000000000000e+00,"))
    df = ds.data
    assert list(df.columns) == higgs.COLUMNS and int(df["label"].sum()) == 20
    # the scaled momenta and masses are of order 1, as in the UCI file
    means = df[["lepton_pT", "jet_1_pt", "m_bb", "m_wwbb"]].mean()
    assert ((means > 0.5) & (means < 2.0)).all(), means
    assert ds.details["signal"]["selected"] >= 20 and ds.details["mpi"] is False
    manifest = json.loads((ds.path.parent / "manifest.json").read_text())
    assert manifest["params"]["n_events"] == 40
    # cached: a second call generates nothing
    mtime = ds.path.stat().st_mtime_ns
    again = higgs.load("simulated", n=40, seed=3, mpi=False, verbose=False)
    assert again.path == ds.path and ds.path.stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(again.data, df)


# ----------------------------------------------------------------------------- TFRecords


@pytest.mark.slow
def test_tfrecords_round_trip(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from course_utils.compute import tfdata

    rng = np.random.default_rng(0)
    x = rng.normal(size=(103, 28)).astype(np.float32)
    y = rng.integers(0, 2, 103)
    files = tfdata.write_tfrecords(x, y, tmp_path / "tfr" / "train", n_shards=4)
    assert [f.name for f in files] == [f"train-{k:05d}-of-00004.tfrecord" for k in range(4)]
    spec = tfdata.feature_spec(28)
    ds = tf.data.TFRecordDataset([str(f) for f in files]).map(lambda r: tf.io.parse_single_example(r, spec))
    got = list(ds.as_numpy_iterator())
    np.testing.assert_array_equal(np.stack([g["features"] for g in got]), x)
    np.testing.assert_array_equal(np.array([g["label"] for g in got]), y.astype(np.float32))
    with pytest.raises(ValueError, match="labels"):
        tfdata.write_tfrecords(x, np.full(103, 2), tmp_path / "bad")
    with pytest.raises(ValueError, match="n_shards"):
        tfdata.write_tfrecords(x, y, tmp_path / "bad", n_shards=0)
    with pytest.raises(ValueError, match="NaN"):
        tfdata.write_tfrecords(np.full((2, 3), np.nan), [0, 1], tmp_path / "bad")
