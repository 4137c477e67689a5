"""The CMS dimuon data layer: reading NanoAOD files, the simulation, remote reads and downloads.

Remote paths are tested against servers on 127.0.0.1: the shared ``http_server``
fixture (Python's SimpleHTTPRequestHandler, which ignores ``Range`` headers) for
the full download, and ``range_server`` below (single byte ranges, HTTP 206),
what uproot needs to read a file remotely, for the remote read and for resuming.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from course_utils.datasets import cms_dimuon, cms_dimuon_sim
from course_utils.datasets._registry import DataUnavailableError, RemoteFile

BRANCHES = ["nMuon", "Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"]


# ----------------------------------------------------------------------------------------- fixtures

def _toy_events(n: int = 50, seed: int = 0) -> ak.Array:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 5, n)
    k = int(counts.sum())
    return ak.unflatten(ak.zip({"pt": rng.uniform(3, 80, k), "eta": rng.uniform(-2.4, 2.4, k),
                                "phi": rng.uniform(-np.pi, np.pi, k), "charge": rng.choice([-1, 1], k)}), counts)


def _nanoaod_like(path: Path, events: ak.Array, *, muons: bool = True) -> Path:
    """A TTree 'Events' like a real NanoAOD file: many branches besides the muons."""
    n = len(events)
    rng = np.random.default_rng(1)
    electrons = ak.unflatten(rng.uniform(5, 50, 2 * n), np.full(n, 2))
    with uproot.recreate(path) as f:
        data = {"run": np.full(n, 195013, np.uint32), "luminosityBlock": np.arange(n, dtype=np.uint32),
                "event": np.arange(n, dtype=np.uint64), "HLT_Mu17_Mu8": np.ones(n, bool),
                "PV_npvs": rng.integers(1, 30, n).astype(np.int32), "Electron_pt": electrons}
        if muons:
            data.update({f"Muon_{k}": ak.values_astype(events[k], np.float32) for k in ("pt", "eta", "phi")})
            data["Muon_mass"] = ak.values_astype(events.pt * 0 + cms_dimuon.MUON_MASS, np.float32)
            data["Muon_charge"] = ak.values_astype(events.charge, np.int32)
            data["Muon_dxy"] = ak.values_astype(events.pt * 0.001, np.float32)
        f.mktree("Events", {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()},
                 counter_name=lambda b: "n" + b.split("_")[0])
        f["Events"].extend(data)
        f.mktree("Runs", {"run": np.uint32})
    return path


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory) -> Path:
    """A small simulated file, generated in this process."""
    path = tmp_path_factory.mktemp("sim") / "sim.root"
    return cms_dimuon_sim.generate(path, 10_000, seed=7, workers=1)


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves ``server.root`` with single byte ranges (206); multi-range requests get the whole file.

    After ``server.fail_after`` GET requests, it closes connections without answering.
    """

    def log_message(self, *args):
        pass

    def translate_path(self, path):
        return str(Path(self.server.root) / path.lstrip("/").split("?")[0])

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.hits.append(self.headers.get("Range"))
        if self.server.fail_after is not None and len(self.server.hits) > self.server.fail_after:
            self.close_connection = True
            return
        path = Path(self.translate_path(self.path))
        spec = self.headers.get("Range", "")
        if not path.is_file() or not spec.startswith("bytes=") or "," in spec:
            return super().do_GET()
        body = path.read_bytes()
        first, _, last = spec[len("bytes="):].partition("-")
        start, stop = int(first), min(int(last) + 1 if last else len(body), len(body))
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
def range_server(tmp_path):
    root = tmp_path / "www-range"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    server.daemon_threads = True
    server.root, server.hits, server.fail_after = root, [], None
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------------------- the file format

def test_simulated_file_has_the_real_tree_branch_names_and_types(sim_file):
    with uproot.open(sim_file) as f:
        assert {k.split(";")[0]: c for k, c in f.classnames().items()} == {"Events": "TTree"}
        tree = f["Events"]
        assert tree.keys() == BRANCHES
        types = {b: tree[b].typename for b in BRANCHES}
        assert types == {"nMuon": "uint32_t", "Muon_pt": "float[]", "Muon_eta": "float[]", "Muon_phi": "float[]",
                         "Muon_mass": "float[]", "Muon_charge": "int32_t[]"}
        for b in BRANCHES[1:]:
            assert tree[b].interpretation.content.from_dtype == cms_dimuon.BRANCH_TYPES[b].newbyteorder(">")
            assert tree[b].member("fLeaves")[0].member("fLeafCount").member("fName") == "nMuon"
        arrays = tree.arrays(BRANCHES)
        assert arrays["nMuon"].type.content == ak.types.NumpyType("uint32")
        assert ak.all(arrays["nMuon"] == ak.num(arrays["Muon_pt"]))
        assert ak.all(arrays["Muon_charge"] ** 2 == 1)
        assert np.allclose(ak.flatten(arrays["Muon_mass"]), cms_dimuon.MUON_MASS)
        assert tree.num_entries == 10_000


def test_write_then_read_round_trip(tmp_path):
    events = _toy_events(100)
    path = cms_dimuon.write_events(tmp_path / "toy.root", events, chunk=3)  # 34 baskets: the tree is relocated
    with uproot.open(path) as f:
        assert f["Events"]["nMuon"].typename == "uint32_t" and f["Events"]["Muon_pt"].num_baskets == 34
    back = cms_dimuon.read(path)
    assert str(back.type) == "100 * var * {pt: float32, eta: float32, phi: float32, mass: float32, charge: int32}"
    assert ak.all(ak.num(back) == ak.num(events))
    for field in ("pt", "eta", "phi"):
        assert np.allclose(ak.flatten(back[field]), ak.flatten(events[field]).to_numpy().astype(np.float32))
    assert ak.all(back.charge == events.charge)


def test_read_nanoaod_file_with_many_more_branches(tmp_path):
    events = _toy_events(40)
    path = _nanoaod_like(tmp_path / "nano.root", events)
    assert len(uproot.open(path)["Events"].keys()) > 10
    got = cms_dimuon.read(path)
    assert ak.fields(got) == list(cms_dimuon.FIELDS) and len(got) == 40
    assert np.allclose(ak.flatten(got.pt), ak.flatten(events.pt).to_numpy().astype(np.float32))
    assert ak.all(got.charge == events.charge)


def test_entry_stop_and_step_size(tmp_path):
    path = cms_dimuon.write_events(tmp_path / "toy.root", _toy_events(50))
    full = cms_dimuon.read(path)
    part = cms_dimuon.read(path, entry_stop=17, step_size=5)
    assert len(part) == 17 and ak.all(ak.flatten(part.pt) == ak.flatten(full.pt[:17]))
    assert len(cms_dimuon.read(path, entry_stop=10_000)) == 50
    assert len(cms_dimuon.read(path, entry_stop=0)) == 0
    with pytest.raises(ValueError, match="entry_stop"):
        cms_dimuon.read(path, entry_stop=-1)
    with pytest.raises(ValueError, match="step_size"):
        cms_dimuon.read(path, step_size=0)


# ----------------------------------------------------------------------------------------- bad input

def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no ROOT file"):
        cms_dimuon.read(tmp_path / "nope.root")
    with pytest.raises(FileNotFoundError, match="folder"):
        cms_dimuon.read(tmp_path)


def test_file_that_is_not_root(tmp_path):
    path = tmp_path / "fake.root"
    path.write_text("run,event,pt\n1,2,3.0\n")
    with pytest.raises(cms_dimuon.FileFormatError, match="not a ROOT file"):
        cms_dimuon.read(path)


def test_tree_without_muon_branches(tmp_path):
    path = _nanoaod_like(tmp_path / "electrons.root", _toy_events(10), muons=False)
    with pytest.raises(cms_dimuon.FileFormatError, match=r"no branch Muon_pt, Muon_eta.*Electron_pt"):
        cms_dimuon.read(path)


def test_file_without_events_tree(tmp_path):
    path = tmp_path / "other.root"
    with uproot.recreate(path) as f:
        f.mktree("Muons", {"pt": np.float32})
    with pytest.raises(cms_dimuon.FileFormatError, match=r"no TTree 'Events'.*Muons"):
        cms_dimuon.read(path)


def test_truncated_file(tmp_path):
    good = cms_dimuon.write_events(tmp_path / "good.root", _toy_events(2000))
    bad = tmp_path / "truncated.root"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        cms_dimuon.read(bad)


def test_write_events_needs_the_muon_fields(tmp_path):
    with pytest.raises(ValueError, match="charge"):
        cms_dimuon.write_events(tmp_path / "x.root", ak.zip({"pt": ak.Array([[1.0]])}))


# ----------------------------------------------------------------------------------------- the simulation

def _os_pair_mass(events: ak.Array) -> np.ndarray:
    """Mass of the opposite-charge pairs in events with exactly two muons (independent of the module's code)."""
    two = events[(ak.num(events) == 2)]
    two = two[ak.sum(two.charge, axis=1) == 0]
    pt, eta, phi = (ak.to_numpy(two[f]).astype(float) for f in ("pt", "eta", "phi"))
    m = cms_dimuon.MUON_MASS
    e = np.sqrt((pt * np.cosh(eta)) ** 2 + m**2)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.sqrt(e.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2)


@pytest.mark.parametrize("component, pdgid, tolerance", [
    ("charmonium", 443, 0.01), ("bottomonium", 553, 0.01), ("drell_yan", 23, 0.015),
    ("eta", 221, 0.01), ("omega", 223, 0.01), ("phi", 333, 0.01),
])
def test_generated_resonances_sit_at_their_pdg_mass(component, pdgid, tolerance):
    out = cms_dimuon_sim.generate_component(component, 1500, seed=3)
    assert len(out["counts"]) == 1500 and out["counts"].sum() == len(out["pt"])
    events = ak.unflatten(ak.zip({k: out[k] for k in ("pt", "eta", "phi", "charge")}), out["counts"])
    mass = _os_pair_mass(events)
    m0 = cms_dimuon.pdg_mass(pdgid)
    near = mass[np.abs(mass - m0) < 0.1 * m0]
    assert len(near) > 0.5 * len(mass)
    counts, edges = np.histogram(near, bins=40, range=(0.9 * m0, 1.1 * m0))
    peak = 0.5 * (edges[counts.argmax()] + edges[counts.argmax() + 1])
    assert abs(peak - m0) < tolerance * m0, (component, peak, m0)
    if component in ("charmonium", "bottomonium"):  # narrow states: the width is the detector resolution
        core = near[np.abs(near - m0) < 0.05 * m0]
        assert 0.004 * m0 < np.std(core) < 0.025 * m0


def test_every_resonance_is_in_the_simulated_spectrum(sim_file):
    mass = _os_pair_mass(cms_dimuon.read(sim_file))
    for res in cms_dimuon.RESONANCES:
        assert res.window[0] < cms_dimuon.pdg_mass(res.pdgid) < res.window[1]
        assert cms_dimuon.local_excess(mass, res.window, res.sidebands)["significance"] > 3, res.name


def test_resolution_model():
    assert cms_dimuon_sim.resolution(np.array([0.0, -0.5, 0.9]))[0] == pytest.approx(0.010)
    assert cms_dimuon_sim.resolution(np.array([2.4, -2.4])) == pytest.approx([0.020, 0.020])
    assert cms_dimuon_sim.resolution(np.array([1.65])) == pytest.approx([0.015])


@pytest.mark.slow
def test_same_seed_same_file_whatever_the_workers(tmp_path):
    a = cms_dimuon.read(cms_dimuon_sim.generate(tmp_path / "a.root", 600, seed=5, workers=1))
    b = cms_dimuon.read(cms_dimuon_sim.generate(tmp_path / "b.root", 600, seed=5, workers=2))
    c = cms_dimuon.read(cms_dimuon_sim.generate(tmp_path / "c.root", 600, seed=6, workers=1))
    assert ak.all(ak.num(a) == ak.num(b)) and ak.all(ak.flatten(a.pt) == ak.flatten(b.pt))
    assert not (len(ak.flatten(a.pt)) == len(ak.flatten(c.pt)) and ak.all(ak.flatten(a.pt) == ak.flatten(c.pt)))
    timing = cms_dimuon_sim.timing(tmp_path / "b.root")
    assert timing["workers"] == 2 and sum(v["events"] for v in timing["components"].values()) == 600


def test_bad_simulation_arguments():
    with pytest.raises(ValueError, match="unknown component"):
        cms_dimuon_sim.generate_component("higgs", 10, 1)
    with pytest.raises(ValueError, match="n_events"):
        cms_dimuon_sim.simulate(3)


# ----------------------------------------------------------------------------------------- loading

def test_auto_falls_back_to_the_simulation_offline(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_WORKERS", "1")
    ds = cms_dimuon.load("auto", n_events=500)
    assert ds.source == "simulated" and len(ds.data) == 500 and ds.path.is_file()
    out = capsys.readouterr().out
    assert "real data unavailable" in out and "SIMULATION" in out
    with pytest.raises(DataUnavailableError, match="(?s)real cms_dimuon dataset is not available.*download"):
        cms_dimuon.load("real", n_events=500)
    again = cms_dimuon.load("simulated", n_events=500, verbose=False)  # from the cache
    assert again.path == ds.path and ak.all(ak.num(again.data) == ak.num(ds.data))


@pytest.mark.network
def test_unreachable_server_fails_within_seconds(data_dir, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(cms_dimuon, "_remote_locations",
                        lambda: [f"https://127.0.0.1:{port}/x.root", f"root://127.0.0.1:{port}//x.root"])
    t0 = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="unreachable"):
        cms_dimuon._read_real(100, None, verbose=False)
    assert time.perf_counter() - t0 < 10


def test_local_copy_given_by_the_user(data_dir, tmp_path):
    path = _nanoaod_like(tmp_path / "mine.root", _toy_events(30))
    ds = cms_dimuon.load("real", path=str(path), n_events=20, verbose=False)
    assert ds.source == "real" and len(ds.data) == 20 and ds.path == path


# ----------------------------------------------------------------------------------------- remote reads (HTTP)

@pytest.mark.network
def test_remote_read_over_http_with_range_requests(tmp_path, range_server):
    local = _nanoaod_like(range_server.root / "nano.root", _toy_events(300))
    got = cms_dimuon.read(f"{range_server.url}/nano.root", entry_stop=120, step_size=50)
    want = cms_dimuon.read(local, entry_stop=120)
    assert len(got) == 120 and ak.all(ak.flatten(got.pt) == ak.flatten(want.pt))
    assert any(h and h.startswith("bytes=") for h in range_server.hits)


@pytest.mark.network
def test_remote_failure_midway_is_a_clear_error(tmp_path, range_server):
    _nanoaod_like(range_server.root / "nano.root", _toy_events(300))
    range_server.fail_after = 3
    with pytest.raises(DataUnavailableError, match="nano.root"):
        cms_dimuon.read(f"{range_server.url}/nano.root", timeout=5)


@pytest.mark.network
def test_remote_404_and_server_without_ranges(tmp_path, range_server, http_server):
    with pytest.raises(DataUnavailableError, match="not found"):
        cms_dimuon.read(f"{range_server.url}/missing.root", timeout=5)
    cms_dimuon.write_events(http_server.root / "toy.root", _toy_events(20))
    with pytest.raises(DataUnavailableError, match="toy.root"):  # SimpleHTTPRequestHandler answers 200, not 206
        cms_dimuon.read(f"{http_server.url}/toy.root", timeout=5)


@pytest.mark.network
def test_load_real_reads_remotely_once_then_from_the_cached_slice(data_dir, range_server, monkeypatch):
    _nanoaod_like(range_server.root / "nano.root", _toy_events(200))
    monkeypatch.setattr(cms_dimuon, "_remote_locations", lambda: [f"{range_server.url}/nano.root"])
    ds = cms_dimuon.load("real", n_events=80, verbose=False)
    assert ds.source == "real" and len(ds.data) == 80
    assert ds.path.parent == data_dir / "real" / "cms_dimuon" and ds.path.is_file()
    n_hits = len(range_server.hits)
    again = cms_dimuon.load("auto", n_events=80, verbose=False)
    assert len(range_server.hits) == n_hits and again.source == "real"
    assert ak.all(ak.flatten(again.data.pt) == ak.flatten(ds.data.pt))


# ----------------------------------------------------------------------------------------- full download

def _remote_file(url: str, content: bytes, **kw) -> RemoteFile:
    return RemoteFile(name="big.root", urls=(url,), sha256=kw.pop("sha256", hashlib.sha256(content).hexdigest()),
                      size=len(content))


@pytest.fixture
def content() -> bytes:
    return np.random.default_rng(0).bytes(300_000)


@pytest.mark.network
def test_download_verified_then_cached(data_dir, http_server, content):
    (http_server.root / "big.root").write_bytes(content)
    remote = _remote_file(f"{http_server.url}/big.root", content)
    path = cms_dimuon.download(remote, progress=False)
    assert path == data_dir / "real" / "cms_dimuon" / "big.root" and path.read_bytes() == content
    n = len(http_server.hits)
    assert cms_dimuon.download(remote, progress=False) == path and len(http_server.hits) == n


@pytest.mark.network
def test_download_wrong_checksum_leaves_nothing(data_dir, http_server, content):
    (http_server.root / "big.root").write_bytes(content)
    remote = _remote_file(f"{http_server.url}/big.root", content, sha256="0" * 64)
    with pytest.raises(DataUnavailableError, match="sha256"):
        cms_dimuon.download(remote, progress=False)
    folder = data_dir / "real" / "cms_dimuon"
    assert not (folder / "big.root").exists() and not (folder / "big.root.part").exists()


@pytest.mark.network
def test_interrupted_download_resumes_with_a_range_request(data_dir, http_server, range_server, content):
    (http_server.root / "big.root").write_bytes(content)
    (range_server.root / "big.root").write_bytes(content)
    with pytest.raises(DataUnavailableError, match="big.root"):  # the server closes halfway
        cms_dimuon.download(_remote_file(f"{http_server.url}/truncated/big.root", content), progress=False,
                            chunk=8192)
    part = data_dir / "real" / "cms_dimuon" / "big.root.part"
    assert 0 < part.stat().st_size < len(content)
    kept = part.stat().st_size
    path = cms_dimuon.download(_remote_file(f"{range_server.url}/big.root", content), progress=False)
    assert path.read_bytes() == content and not part.exists()
    assert range_server.hits == [f"bytes={kept}-"]


@pytest.mark.network
def test_server_ignoring_ranges_restarts_the_download(data_dir, http_server, content):
    (http_server.root / "big.root").write_bytes(content)
    part = data_dir / "real" / "cms_dimuon" / "big.root.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage" * 100)
    path = cms_dimuon.download(_remote_file(f"{http_server.url}/big.root", content), progress=False)
    assert path.read_bytes() == content


def test_download_offline(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        cms_dimuon.download(progress=False)


# ----------------------------------------------------------------------------------------- analysis helpers

def test_local_excess_hand_worked():
    # sidebands [0, 1) and [3, 4) hold 10 events each, the window [1.5, 2.5) holds 30
    mass = np.concatenate([np.linspace(0.05, 0.95, 10), np.linspace(3.05, 3.95, 10), np.linspace(1.55, 2.45, 30)])
    got = cms_dimuon.local_excess(mass, (1.5, 2.5), ((0.0, 1.0), (3.0, 4.0)))
    # B = 0.5 * 10 + 0.5 * 10 = 10, var(B) = 0.25 * 10 + 0.25 * 10 = 5, Z = 20 / sqrt(30 + 5)
    assert got["observed"] == 30 and got["background"] == pytest.approx(10)
    assert got["background_error"] == pytest.approx(np.sqrt(5))
    assert got["significance"] == pytest.approx(20 / np.sqrt(35))
    # a linear background: uneven sidebands still interpolate it exactly
    flat = np.random.default_rng(0).uniform(0, 10, 200_000)
    z = cms_dimuon.local_excess(flat, (4.0, 5.0), ((1.0, 3.0), (6.0, 6.5)))
    assert abs(z["significance"]) < 4 and z["background"] == pytest.approx(20_000, rel=0.03)


def test_local_excess_bad_input():
    with pytest.raises(ValueError, match="empty"):
        cms_dimuon.local_excess([], (1, 2), ((0, 1), (2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        cms_dimuon.local_excess([1.0, np.nan], (1, 2), ((0, 1), (2, 3)))
    with pytest.raises(ValueError, match="sideband"):
        cms_dimuon.local_excess([1.0], (1, 2), ((1.5, 3), (2, 3)))


def test_pdg_masses_and_registry():
    assert cms_dimuon.pdg_mass(443) == pytest.approx(3.0969, abs=1e-4)
    assert cms_dimuon.pdg_mass(23) == pytest.approx(91.19, abs=0.01)
    assert cms_dimuon.INFO.licence == "CC0" and cms_dimuon.FILE.size == 2_244_449_133
    assert any(u.startswith("root://") for u in cms_dimuon.FILE.urls)
    assert cms_dimuon.DF102["two_muons"] / cms_dimuon.DF102["entries"] == pytest.approx(0.5054, abs=1e-4)
