"""The CMS dimuon data layer: reading NanoAOD files (TTree and RNTuple, real and simulated), the simulation,
remote reads and downloads.

Remote paths are tested against the shared ``http_server`` fixture on 127.0.0.1,
which answers byte ranges (HTTP 206) as uproot's fsspec source needs, and has a
``/norange/`` path that ignores them. The real NanoAOD files come from
``../shared/data/cms_nanoaod`` (skipped when absent).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import socket
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from course_utils.datasets import cms_dimuon
from course_utils.datasets._registry import DataUnavailableError, RemoteFile
from course_utils.datasets.cms_dimuon import formats, simulation
from course_utils.physics import resonances

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
    return simulation.generate(path, 10_000, seed=7, workers=1)


# ----------------------------------------------------------------------------------------- the file format

def test_simulated_file_has_the_real_tree_branch_names_and_types(sim_file):
    with uproot.open(sim_file) as f:
        assert {k.split(";")[0]: c for k, c in f.classnames().items()} == {"Events": "TTree"}
        tree = f["Events"]
        assert tree.keys() == BRANCHES
        types = {b: tree[b].typename for b in BRANCHES}
        # the real file's counter nMuon is uint32; uproot writes counters as int32 and read() never reads it
        assert types == {"nMuon": "int32_t", "Muon_pt": "float[]", "Muon_eta": "float[]", "Muon_phi": "float[]",
                         "Muon_mass": "float[]", "Muon_charge": "int32_t[]"}
        for b in BRANCHES[1:]:
            assert tree[b].interpretation.content.from_dtype == cms_dimuon.BRANCH_TYPES[b].newbyteorder(">")
            assert tree[b].member("fLeaves")[0].member("fLeafCount").member("fName") == "nMuon"
        arrays = tree.arrays(BRANCHES)
        assert ak.all(arrays["nMuon"] == ak.num(arrays["Muon_pt"]))
        assert ak.all(arrays["Muon_charge"] ** 2 == 1)
        assert np.allclose(ak.flatten(arrays["Muon_mass"]), cms_dimuon.MUON_MASS)
        assert tree.num_entries == 10_000


def test_write_then_read_round_trip(tmp_path):
    events = _toy_events(100)
    path = cms_dimuon.write(events, tmp_path / "toy.root", chunk=3)
    with uproot.open(path) as f:
        assert f["Events"]["Muon_pt"].num_baskets == 34
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


def test_n_and_step_size(tmp_path):
    path = cms_dimuon.write(_toy_events(50), tmp_path / "toy.root")
    full = cms_dimuon.read(path)
    part = cms_dimuon.read(path, n=17, step_size=5)
    assert len(part) == 17 and ak.all(ak.flatten(part.pt) == ak.flatten(full.pt[:17]))
    assert len(cms_dimuon.read(path, n=10_000)) == 50
    assert len(cms_dimuon.read(path, n=0)) == 0
    with pytest.raises(ValueError, match="n must"):
        cms_dimuon.read(path, n=-1)
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
    with pytest.raises(cms_dimuon.FileFormatError, match=r"no TTree or RNTuple 'Events'.*Muons"):
        cms_dimuon.read(path)


def test_write_needs_the_muon_fields(tmp_path):
    with pytest.raises(ValueError, match="charge"):
        cms_dimuon.write(ak.zip({"pt": ak.Array([[1.0]])}), tmp_path / "x.root")
    with pytest.raises(ValueError, match="muon fields"):
        cms_dimuon.write(np.zeros(3), tmp_path / "x.root")


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
    out = simulation.generate_component(component, 1500, seed=3)
    assert len(out["counts"]) == 1500 and out["counts"].sum() == len(out["pt"])
    events = ak.unflatten(ak.zip({k: out[k] for k in ("pt", "eta", "phi", "charge")}), out["counts"])
    mass = _os_pair_mass(events)
    m0 = resonances.pdg_mass(pdgid)
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
    for res in resonances.RESONANCES:
        assert res.window[0] < resonances.pdg_mass(res.pdgid) < res.window[1]
        assert resonances.local_excess(mass, res.window, res.sidebands)["significance"] > 3, res.name


def test_resolution_model():
    assert simulation.resolution(np.array([0.0, -0.5, 0.9]))[0] == pytest.approx(0.010)
    assert simulation.resolution(np.array([2.4, -2.4])) == pytest.approx([0.020, 0.020])
    assert simulation.resolution(np.array([1.65])) == pytest.approx([0.015])


@pytest.mark.slow
def test_same_seed_same_file_whatever_the_workers(tmp_path):
    a = cms_dimuon.read(simulation.generate(tmp_path / "a.root", 600, seed=5, workers=1))
    b = cms_dimuon.read(simulation.generate(tmp_path / "b.root", 600, seed=5, workers=2))
    c = cms_dimuon.read(simulation.generate(tmp_path / "c.root", 600, seed=6, workers=1))
    assert ak.all(ak.num(a) == ak.num(b)) and ak.all(ak.flatten(a.pt) == ak.flatten(b.pt))
    assert not (len(ak.flatten(a.pt)) == len(ak.flatten(c.pt)) and ak.all(ak.flatten(a.pt) == ak.flatten(c.pt)))
    timing = simulation.timing(tmp_path / "b.root")
    assert timing["workers"] == 2 and sum(v["events"] for v in timing["components"].values()) == 600


def test_bad_simulation_arguments():
    with pytest.raises(ValueError, match="unknown component"):
        simulation.generate_component("higgs", 10, 1)
    with pytest.raises(ValueError, match="n must"):
        simulation.simulate(3)
    with pytest.raises(ValueError, match="n must"):
        cms_dimuon.load("simulated", n=0)
    with pytest.raises(ValueError, match="source"):
        cms_dimuon.default_n("kaggle")


# ----------------------------------------------------------------------------------------- loading


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


def test_whole_file_in_data_home(data_dir, tmp_path, monkeypatch):
    path = _nanoaod_like(tmp_path / cms_dimuon.FILE.name, _toy_events(30))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError):  # not the published size: not taken for the whole file
        cms_dimuon.load("real", data_home=tmp_path, n=20, verbose=False)
    monkeypatch.setattr(cms_dimuon, "FILE", dataclasses.replace(cms_dimuon.FILE, size=path.stat().st_size))
    ds = cms_dimuon.load("real", data_home=tmp_path, n=20, verbose=False)
    assert ds.source == "real" and len(ds) == 20 and ds.path == path and ds.details["how"] == "full local copy"


# ----------------------------------------------------------------------------------------- remote reads (HTTP)

@pytest.mark.network
def test_remote_read_over_http_with_range_requests(http_server):
    local = _nanoaod_like(http_server.root / "nano.root", _toy_events(300))
    got = cms_dimuon.read(f"{http_server.url}/nano.root", n=120, step_size=50)
    want = cms_dimuon.read(local, n=120)
    assert len(got) == 120 and ak.all(ak.flatten(got.pt) == ak.flatten(want.pt))
    assert any(r and r.startswith("bytes=") for r in http_server.ranges)


@pytest.mark.network
def test_remote_read_goes_through_fsspec_and_aiohttp(http_server, monkeypatch):
    import fsspec.implementations.http as fsspec_http

    _nanoaod_like(http_server.root / "nano.root", _toy_events(30))
    opened = []
    real_init = fsspec_http.HTTPFileSystem.__init__

    def spy(self, *args, **kwargs):
        opened.append(kwargs.get("client_kwargs", {}))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(fsspec_http.HTTPFileSystem, "__init__", spy)
    fsspec_http.HTTPFileSystem.clear_instance_cache()
    assert len(cms_dimuon.read(f"{http_server.url}/nano.root", timeout=7)) == 30
    assert opened and opened[0]["timeout"].sock_read == 7  # the supported path, with our timeout


@pytest.mark.network
def test_remote_failure_midway_is_a_clear_error(http_server):
    _nanoaod_like(http_server.root / "nano.root", _toy_events(300))
    http_server.fail_after = 3
    with pytest.raises(DataUnavailableError, match="nano.root"):
        cms_dimuon.read(f"{http_server.url}/nano.root", timeout=5)


@pytest.mark.network
def test_remote_404_and_server_without_ranges(http_server):
    with pytest.raises(DataUnavailableError, match="not on the server"):
        cms_dimuon.read(f"{http_server.url}/missing/nano.root", timeout=5)
    cms_dimuon.write(_toy_events(20), http_server.root / "toy.root")
    with pytest.raises(DataUnavailableError, match="toy.root"):  # answers 200 with the whole file, not 206
        cms_dimuon.read(f"{http_server.url}/norange/toy.root", timeout=5)


@pytest.mark.network
def test_load_real_reads_remotely_once_then_from_the_cached_slice(data_dir, http_server, monkeypatch):
    _nanoaod_like(http_server.root / "nano.root", _toy_events(200))
    monkeypatch.setattr(cms_dimuon, "_remote_locations",
                        lambda: [f"{http_server.url}/missing/nano.root", f"{http_server.url}/nano.root"])
    ds = cms_dimuon.load("real", n=80, verbose=False)
    assert ds.source == "real" and len(ds.data) == 80 and "127.0.0.1" in ds.details["how"]
    assert ds.path.parent == data_dir / "real" / "cms_dimuon" and ds.path.is_file()
    n_hits = len(http_server.hits)
    again = cms_dimuon.load("auto", n=80, verbose=False)
    assert len(http_server.hits) == n_hits and again.source == "real"
    assert ak.all(ak.flatten(again.data.pt) == ak.flatten(ds.data.pt))


# ----------------------------------------------------------------------------------------- real NanoAOD files
#
# uproot 5.7's RNTuple reader looks fields up in a time quadratic in their number: the first read of the
# 1,313-field real RNTuple takes about 10 s on the course's busy 2-core machine. So each file is read once here.

@pytest.fixture(scope="module")
def real_files(shared_nanoaod) -> dict[str, dict]:
    """Each real file read twice, once by ``cms_dimuon.read`` (in chunks) and once by uproot directly."""
    out = {}
    for kind, path in shared_nanoaod.items():
        with uproot.open(path) as f:
            events = f["Events"]
            direct = events.arrays(["event", "nMuon", *(f"Muon_{k}" for k in formats.FIELDS)])
            out[kind] = {"class": f.classnames()["Events;1"], "direct": direct, "path": path,
                         "muon_branches": {k for k in events.keys(recursive=False) if k.startswith("Muon_")},
                         "read": cms_dimuon.read(path, step_size=3)}  # several chunks
    return out


def test_real_ttree_and_rntuple_nanoaod_are_read(real_files):
    assert {k: v["class"] for k, v in real_files.items()} == {"ttree": "TTree", "rntuple": "ROOT::RNTuple"}
    assert len(real_files["ttree"]["read"]) == 200 and len(real_files["rntuple"]["read"]) == 10
    for kind, got in real_files.items():
        events, direct = got["read"], got["direct"]
        assert str(events.type.content) == "var * {pt: float32, eta: float32, phi: float32, mass: float32, " \
                                           "charge: int32}"
        assert ak.all(ak.num(events) == direct["nMuon"]), kind  # the file's counter agrees with the muon lists
        for field in formats.FIELDS:
            assert ak.all(ak.flatten(events[field]) == ak.flatten(direct[f"Muon_{field}"])), (kind, field)
        assert ak.all(events.charge ** 2 == 1) and ak.all(np.abs(events.mass - formats.MUON_MASS) < 1e-3)
        assert ak.sum(ak.num(events)) > 0


def test_real_ttree_and_rntuple_agree_on_the_muon_branches(real_files):
    """The two files hold different events (2015 ttbar samples: event numbers 227291401... in the TTree,
    44727241... in the RNTuple), so they are compared where they can be: the same muon branches with the same
    types, a counter that matches every event, and physical values."""
    tree, rnt = real_files["ttree"], real_files["rntuple"]
    assert set(tree["direct"]["event"].to_list()).isdisjoint(rnt["direct"]["event"].to_list())
    assert {f"Muon_{k}" for k in formats.FIELDS} <= tree["muon_branches"] & rnt["muon_branches"]
    assert tree["muon_branches"] == rnt["muon_branches"]
    for name in (f"Muon_{k}" for k in formats.FIELDS):
        assert tree["direct"][name].type.content == rnt["direct"][name].type.content, name
    # the counter's type differs between real files (what read() ignores): uint32 in the TTree, int64 in the RNTuple
    assert tree["direct"]["nMuon"].type.content == ak.types.NumpyType("uint32")
    assert rnt["direct"]["nMuon"].type.content == ak.types.NumpyType("int64")
    for got in (tree, rnt):
        assert ak.min(ak.flatten(got["read"].pt)) > 0 and ak.max(np.abs(ak.flatten(got["read"].eta))) < 2.5
    assert tree["read"].type.content == rnt["read"].type.content


def test_real_file_read_in_part(real_files):
    path = real_files["ttree"]["path"]
    part = cms_dimuon.read(path, n=17, step_size=5)
    assert len(part) == 17 and ak.all(ak.flatten(part.pt) == ak.flatten(real_files["ttree"]["read"].pt[:17]))


def test_simulated_file_reads_like_the_real_ones(real_files, sim_file):
    sim = cms_dimuon.read(sim_file, n=100)
    assert sim.type.content == real_files["ttree"]["read"].type.content
    with uproot.open(sim_file) as f, uproot.open(real_files["ttree"]["path"]) as g:
        for name in (f"Muon_{k}" for k in formats.FIELDS):
            assert f["Events"][name].typename == g["Events"][name].typename, name
        assert g["Events"]["nMuon"].typename == "uint32_t" and f["Events"]["nMuon"].typename == "int32_t"


def test_load_reads_a_real_file_in_data_home(data_dir, real_files, tmp_path, monkeypatch):
    real = Path(real_files["ttree"]["path"])
    (tmp_path / cms_dimuon.FILE.name).symlink_to(real)
    monkeypatch.setattr(cms_dimuon, "FILE", dataclasses.replace(cms_dimuon.FILE, size=real.stat().st_size))
    ds = cms_dimuon.load("real", data_home=tmp_path, n=6, verbose=False)
    assert ds.source == "real" and len(ds) == 6 and ds.made_by.startswith("measured")
    assert ak.all(ak.flatten(ds.data.pt) == ak.flatten(real_files["ttree"]["read"].pt[:6]))


@pytest.mark.network
@pytest.mark.slow
def test_real_rntuple_read_remotely(http_server, real_files):
    shutil.copy(real_files["rntuple"]["path"], http_server.root / "nano_rntuple.root")  # a tmp folder
    got = cms_dimuon.read(f"{http_server.url}/nano_rntuple.root", n=7)
    want = real_files["rntuple"]["read"][:7]
    assert ak.all(ak.num(got) == ak.num(want)) and ak.all(ak.flatten(got.pt) == ak.flatten(want.pt))
    assert any(r and r.startswith("bytes=") for r in http_server.ranges)


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
def test_download_404_is_final_for_that_mirror(data_dir, http_server, content):
    (http_server.root / "big.root").write_bytes(content)
    remote = RemoteFile(name="big.root", urls=(f"{http_server.url}/missing/big.root", f"{http_server.url}/big.root"),
                        sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    assert cms_dimuon.download(remote, progress=False).read_bytes() == content
    assert http_server.hits.count("/missing/big.root") == 1  # a 404 is not retried


@pytest.mark.network
def test_interrupted_download_resumes_with_a_range_request(data_dir, http_server, content):
    (http_server.root / "big.root").write_bytes(content)
    with pytest.raises(DataUnavailableError, match="big.root"):  # the server closes halfway
        cms_dimuon.download(_remote_file(f"{http_server.url}/truncated/big.root", content), progress=False,
                            chunk=8192)
    part = data_dir / "real" / "cms_dimuon" / "big.root.part"
    assert 0 < part.stat().st_size < len(content)
    kept = part.stat().st_size
    http_server.ranges.clear()
    path = cms_dimuon.download(_remote_file(f"{http_server.url}/big.root", content), progress=False)
    assert path.read_bytes() == content and not part.exists()
    assert http_server.ranges == [f"bytes={kept}-"]


@pytest.mark.network
def test_server_ignoring_ranges_restarts_the_download(data_dir, http_server, content):
    (http_server.root / "big.root").write_bytes(content)
    part = data_dir / "real" / "cms_dimuon" / "big.root.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage" * 100)
    path = cms_dimuon.download(_remote_file(f"{http_server.url}/norange/big.root", content), progress=False)
    assert path.read_bytes() == content
    assert http_server.ranges == ["bytes=700-"]  # asked to resume, got the whole file, started again


def test_download_offline(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE"):
        cms_dimuon.download(progress=False)


# ----------------------------------------------------------------------------------------- registry

def test_registry_entry():
    assert cms_dimuon.INFO.licence == "CC0" and cms_dimuon.FILE.size == 2_244_449_133
    assert cms_dimuon.INFO.made_by.startswith("measured: CMS detector")
    assert any(u.startswith("root://") for u in cms_dimuon.FILE.urls)
    assert cms_dimuon.DF102["two_muons"] / cms_dimuon.DF102["entries"] == pytest.approx(0.5054, abs=1e-4)


def test_dask_reads_only_the_muon_branches_of_a_real_nanoaod(shared_nanoaod):
    """Notebook 01b's column projection on a real NanoAOD with hundreds of branches: dask-awkward asks
    uproot for the four branches the selection uses, and the masses equal those of an eager read."""
    import dask
    import dask_awkward as dak

    from course_utils.physics import dimuon

    path = shared_nanoaod["ttree"]
    with uproot.open(path) as f:
        n_branches = len(f["Events"].keys(recursive=False))
        eager = f["Events"].arrays(list(dimuon.BRANCHES))
    assert n_branches > 900
    events = uproot.dask({str(path): "Events"}, step_size=50)  # every branch, lazily
    masses = dak.map_partitions(dimuon.opposite_sign_mass, events)
    read = {c for cols in dak.report_necessary_columns(masses).values() for c in cols}
    assert read == set(dimuon.BRANCHES), read
    (got,) = dask.compute(masses, scheduler="sync")
    assert ak.all(got == dimuon.opposite_sign_mass(eager))
