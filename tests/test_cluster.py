"""The Dask helper of notebook 01b and the columnar dimuon selection."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from course_utils.physics import dimuon

distributed = pytest.importorskip("distributed")

from course_utils.compute import cluster  # noqa: E402


def _events(pt, eta, phi, charge):
    return ak.Array({"Muon_pt": pt, "Muon_eta": eta, "Muon_phi": phi, "Muon_charge": charge})


def test_opposite_sign_mass_by_hand():
    # event 0: two back-to-back 45 GeV muons at eta=0 -> m = 90 GeV (muon mass negligible at 1e-6)
    # event 1: same charges -> dropped; event 2: three muons -> dropped; event 3: one muon -> dropped
    ev = _events([[45.0, 45.0], [20.0, 20.0], [10.0, 10.0, 10.0], [5.0]],
                 [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0, 0.0], [0.0]],
                 [[0.0, np.pi], [0.0, np.pi], [0.0, 1.0, 2.0], [0.0]],
                 [[1, -1], [1, 1], [1, -1, 1], [1]])
    m = ak.to_numpy(dimuon.opposite_sign_mass(ev))
    assert m.shape == (1,)
    e = np.hypot(45.0, dimuon.MUON_MASS)
    assert m[0] == pytest.approx(2 * e, rel=1e-12)


def test_opposite_sign_mass_matches_vector():
    vector = pytest.importorskip("vector")
    rng = np.random.default_rng(1)
    n = 500
    pt = rng.uniform(3, 80, (n, 2))
    eta, phi = rng.uniform(-2.4, 2.4, (n, 2)), rng.uniform(-np.pi, np.pi, (n, 2))
    ev = _events(pt.tolist(), eta.tolist(), phi.tolist(), [[1, -1]] * n)
    mu = vector.array({"pt": pt, "eta": eta, "phi": phi, "mass": np.full((n, 2), dimuon.MUON_MASS)})
    expected = (mu[:, 0] + mu[:, 1]).mass
    np.testing.assert_allclose(ak.to_numpy(dimuon.opposite_sign_mass(ev)), expected, rtol=1e-9)


def test_opposite_sign_mass_rejects_missing_branches():
    with pytest.raises(ValueError, match="Muon_charge"):
        dimuon.opposite_sign_mass(ak.Array({"Muon_pt": [[1.0]], "Muon_eta": [[0.0]], "Muon_phi": [[0.0]]}))


@pytest.mark.slow
def test_local_cluster_runs_and_closes_even_on_error(monkeypatch):
    monkeypatch.delenv("COURSE_DASK_ADDRESS", raising=False)
    monkeypatch.delenv("COURSE_DASK_GATEWAY", raising=False)
    with pytest.raises(RuntimeError, match="boom"), cluster.connect(1, memory_limit="512MiB", verbose=False) as dc:
        assert dc.kind == "local" and dc.n_workers == 1
        assert dc.client.submit(sum, [1, 2, 3]).result() == 6
        peaks = cluster.worker_peak_memory_mb(dc.client)
        assert len(peaks) == 1 and all(mb > 10 for mb in peaks.values())
        raise RuntimeError("boom")
    assert dc.closed and dc.cluster.status.name == "closed"


@pytest.mark.slow
def test_connect_to_an_existing_scheduler_leaves_it_running(monkeypatch):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as external:
        monkeypatch.setenv("COURSE_DASK_ADDRESS", external.scheduler_address)
        with cluster.connect(verbose=False) as dc:
            assert dc.kind == "address" and external.scheduler_address in dc.where
            assert dc.client.submit(lambda x: x + 1, 1).result() == 2
        assert external.status.name == "running"  # ours to close, not the course's


def test_bad_arguments(monkeypatch):
    with pytest.raises(ValueError, match="n_workers"):
        cluster.connect(0)
    monkeypatch.setenv("COURSE_WORKERS", "0")
    with pytest.raises(ValueError, match="COURSE_WORKERS"):
        cluster.default_workers()
    monkeypatch.setenv("COURSE_WORKERS", "3")
    assert cluster.default_workers() == 3


def test_gateway_without_package_says_what_to_install(monkeypatch):
    import builtins

    monkeypatch.delenv("COURSE_DASK_ADDRESS", raising=False)
    monkeypatch.setenv("COURSE_DASK_GATEWAY", "https://gateway.example")
    real_import = builtins.__import__

    def no_gateway(name, *args, **kwargs):
        if name == "dask_gateway":
            raise ImportError("no dask_gateway")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gateway)
    with pytest.raises(ValueError, match="pip install dask-gateway"):
        cluster.connect(verbose=False)


@pytest.fixture
def one_local_worker(monkeypatch):
    """A fresh LocalCluster of one worker, whatever scheduler the environment names."""
    monkeypatch.delenv("COURSE_DASK_ADDRESS", raising=False)
    monkeypatch.delenv("COURSE_DASK_GATEWAY", raising=False)
    # a cluster started earlier in this process with Dask's defaults leaves the nanny's variable here
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with cluster.connect(1, memory_limit="512MiB", verbose=False) as dc:
        yield dc


@pytest.mark.slow
def test_warm_up_imports_in_every_worker(one_local_worker):
    dc = one_local_worker
    cluster.warm_up(dc.client, ("json",))
    assert all(dc.client.run(lambda: __import__("sys").modules.get("json") is not None).values())
    with pytest.raises(ModuleNotFoundError):
        cluster.warm_up(dc.client, ("no_such_module_here",))


@pytest.mark.slow
def test_settle_waits_until_the_workers_hold_no_result(one_local_worker):
    dc = one_local_worker
    kept = dc.client.submit(sum, [1, 2, 3])
    assert kept.result() == 6
    with pytest.raises(TimeoutError, match="still held"):
        cluster.settle(dc.client, timeout=0.2)  # the future is still referenced
    del kept
    cluster.settle(dc.client, timeout=10)
    assert not any(dc.client.has_what().values())



@pytest.mark.slow
def test_local_workers_do_not_get_the_nannys_malloc_trim_threshold(one_local_worker):
    import os

    dc = one_local_worker
    # read inside the worker process itself, independently of the helper
    inside = dc.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(inside.values()) == [None]
    assert cluster.worker_environ(dc.client) == {addr: {"MALLOC_TRIM_THRESHOLD_": None} for addr in inside}
    # the rest of Dask's pre-spawn environment is kept (one thread per BLAS library)
    assert all(v == {"OMP_NUM_THREADS": "1"} for v in cluster.worker_environ(dc.client, ("OMP_NUM_THREADS",)).values())
    # and the nanny, which runs in this process, did not set it here either
    assert os.environ.get("MALLOC_TRIM_THRESHOLD_") is None


@pytest.fixture
def no_malloc_trim_variable():
    """This process without MALLOC_TRIM_THRESHOLD_, before and after (a Dask nanny sets it in its own process)."""
    import os

    before = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    yield
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    if before is not None:
        os.environ["MALLOC_TRIM_THRESHOLD_"] = before


@pytest.mark.slow
def test_dask_defaults_do_set_malloc_trim_threshold(no_malloc_trim_variable):
    """The reference the course's setting is checked against: Dask's own nanny sets the variable."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40) as lc, \
            Client(lc) as client:
        assert list(cluster.worker_environ(client).values()) == [{"MALLOC_TRIM_THRESHOLD_": "65536"}]


def _allocate_mb(mb):
    import numpy as np

    return float(np.ones(mb * 2**20 // 8).sum())  # written, so resident


@pytest.mark.slow
def test_reset_peak_memory_counts_only_what_follows(one_local_worker):
    dc = one_local_worker
    dc.client.run(_allocate_mb, 150)  # a peak before the reset, freed at once
    ((rss, was_reset),) = cluster.reset_peak_memory(dc.client).values()
    if not was_reset:
        pytest.skip("this system cannot reset a process's peak memory (/proc/self/clear_refs)")
    ((peak,),) = [tuple(cluster.worker_peak_memory_mb(dc.client).values())]
    assert peak < rss + 50, f"the 150 MB allocated before the reset still count: peak {peak}, start {rss}"
    dc.client.run(_allocate_mb, 100)
    ((peak,),) = [tuple(cluster.worker_peak_memory_mb(dc.client).values())]
    assert peak - rss > 80, f"100 MB allocated after the reset are not in the peak: peak {peak}, start {rss}"
