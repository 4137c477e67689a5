"""A Dask cluster with the course's defaults: local by default, remote with no code change (notebook 01b).

The same analysis code runs on:

* a ``LocalCluster`` sized to this machine (one single-threaded worker process
  per core, a stated memory limit per worker) — the default;
* a running scheduler when ``COURSE_DASK_ADDRESS`` is set (``tcp://host:8786``,
  an analysis facility's scheduler, a ``dask-jobqueue`` cluster on a batch system);
* a ``dask-gateway`` cluster when ``COURSE_DASK_GATEWAY`` is set (the gateway's
  address, as on coffea-casa or a Pangeo hub; needs the ``dask-gateway`` package).

No scheduler or pool of the course's own: this only starts or connects to
Dask's, and prints where the work runs and the dashboard's link.

Examples
--------
>>> from course_utils.compute import cluster
>>> with cluster.connect(n_workers=2) as dc:        # doctest: +SKIP
...     total = dc.client.submit(sum, [1, 2, 3]).result()
"""

from __future__ import annotations

import logging
import os
import weakref
from dataclasses import dataclass, field
from typing import Any

from course_utils._optional import require

__all__ = ["CourseCluster", "connect", "default_workers", "settle", "warm_up", "worker_peak_memory_mb",
           "worker_environ", "reset_peak_memory", "NANNY_ENV_DROPPED"]

#: Memory limit of each local worker (Dask pauses, then restarts, a worker that passes it).
DEFAULT_MEMORY_LIMIT = "1GiB"

#: Variables that Dask's nanny would set in each worker's environment before starting it
#: (``distributed.nanny.pre-spawn-environ``) and that the course's local workers do not get.
#: ``MALLOC_TRIM_THRESHOLD_=65536`` makes glibc hand freed memory back to the system at once;
#: setting it also switches off glibc's adaptive ``mmap`` threshold, so every array above
#: 128 KiB is mapped and unmapped again, page faults included. An analysis that allocates
#: many large short-lived arrays (awkward, NumPy) then runs about 1.3 times slower in a plain
#: process given the same variable. A variable already in this process's environment is still
#: inherited by the workers: one set on purpose, or one that a cluster started with Dask's
#: defaults earlier in this process left there (the nanny sets it in its own process too).
NANNY_ENV_DROPPED = ("MALLOC_TRIM_THRESHOLD_",)


def default_workers() -> int:
    """One worker per core (``COURSE_WORKERS`` overrides, as for the simulations)."""
    raw = os.environ.get("COURSE_WORKERS", "").strip()
    n = int(raw) if raw else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"COURSE_WORKERS must be >= 1, got {raw!r}")
    return n


@dataclass
class CourseCluster:
    """A Dask client and, when the course started it, its cluster (closed by :meth:`close`).

    Attributes
    ----------
    client
        The ``distributed.Client``: ``dask.compute`` and ``.compute()`` use it.
    kind
        ``"local"``, ``"address"`` or ``"gateway"``.
    where
        One line saying where the work runs.
    """

    client: Any
    kind: str
    where: str
    cluster: Any = None
    _closed: bool = field(default=False, repr=False)

    @property
    def dashboard_link(self) -> str | None:
        return getattr(self.client, "dashboard_link", None)

    @property
    def n_workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def close(self) -> None:
        """Close the client, and the cluster if the course started it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> CourseCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect(n_workers: int | None = None, *, memory_limit: str | int = DEFAULT_MEMORY_LIMIT,
            address: str | None = None, verbose: bool = True) -> CourseCluster:
    """Start a local Dask cluster, or connect to the one the environment names.

    Parameters
    ----------
    n_workers
        Local workers (``None``: one per core, :func:`default_workers`). Ignored
        when connecting to a remote scheduler, whose size its owner sets.
    memory_limit
        Memory limit of each local worker (``"1GiB"``, or bytes).
    address
        A scheduler address; default ``COURSE_DASK_ADDRESS``. When neither it nor
        ``COURSE_DASK_GATEWAY`` is set, a ``LocalCluster`` is started.
    verbose
        Print where the work runs and the dashboard's link.

    Returns
    -------
    CourseCluster
        Use it as a context manager (``with connect() as dc:``) so that the
        cluster is closed even when the code inside fails.
    """
    distributed = require("distributed", why="cluster.connect (a Dask cluster)")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    address = address or os.environ.get("COURSE_DASK_ADDRESS", "").strip() or None
    gateway = os.environ.get("COURSE_DASK_GATEWAY", "").strip() or None
    if n_workers is not None and n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    if address:
        client = Client(address, timeout="20s")
        dc = CourseCluster(client, "address", f"scheduler {address} ({len(client.scheduler_info()['workers'])} "
                                              "workers, sized by its owner)")
    elif gateway:
        try:
            from dask_gateway import Gateway
        except ImportError as exc:
            raise ValueError("COURSE_DASK_GATEWAY is set but dask-gateway is not installed: "
                             "pip install dask-gateway (the version of the gateway server)") from exc
        cluster = Gateway(gateway).new_cluster()
        cluster.scale(n_workers or default_workers())
        dc = CourseCluster(cluster.get_client(), "gateway", f"dask-gateway {gateway}", cluster)
    else:
        import dask

        n = n_workers or default_workers()
        # silence_logs: a worker's heartbeat that meets a scheduler already closing logs an ERROR with its
        # traceback (a loaded machine, a cluster closed); a failed task still raises in the client.
        # ``None`` removes a variable from the nanny's pre-spawn environment (distributed.nanny._get_env_variables);
        # the nannies read it when they are created, inside this block, and keep it for restarts.
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": None for name in NANNY_ENV_DROPPED}):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                                   dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
        client = Client(cluster)
        limit = cluster.workers[next(iter(cluster.workers))].memory_manager.memory_limit if cluster.workers else 0
        dc = CourseCluster(client, "local", f"LocalCluster on this machine: {n} worker process(es) x 1 thread, "
                                            f"memory limit {limit / 2**30:.1f} GiB each", cluster)
    # closed at interpreter exit too (a notebook whose cell failed before dc.close())
    weakref.finalize(dc, CourseCluster.close, dc)
    if verbose:
        print(f"Dask : {dc.where}")
        print(f"tableau de bord : {dc.dashboard_link}")
    return dc


def _import(modules: tuple[str, ...]) -> list[str]:
    import importlib

    return [importlib.import_module(m).__name__ for m in modules]


def warm_up(client: Any, modules: tuple[str, ...] = ("awkward", "uproot", "hist", "dask_awkward")) -> None:
    """Import the analysis libraries in every worker now, so that a timing does not count them.

    A fresh worker process imports uproot, awkward and hist on its first task (a second or
    more); measured throughputs would otherwise include that one-time cost.
    """
    client.run(_import, tuple(modules))


def settle(client: Any, timeout: float = 30.0) -> None:
    """Wait until the workers hold no result, so that the same graph can be timed again.

    ``dask.compute`` returns as soon as the result reaches the client; the workers release
    the task results a little later. Computing the same graph again before that finds them
    still in memory and times nothing: the keys of a graph do not change between two runs.

    Raises
    ------
    TimeoutError
        When results are still held after ``timeout`` seconds (a future kept somewhere).
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        held = [key for keys in client.has_what().values() for key in keys]
        if not held:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(held)} result(s) still held by the workers after {timeout} s, "
                               f"e.g. {held[0]!r}: is a future still referenced?")
        time.sleep(0.01)


def _environ(names: tuple[str, ...]) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in names}


def worker_environ(client: Any, names: tuple[str, ...] = NANNY_ENV_DROPPED) -> dict[str, dict[str, str | None]]:
    """The value of each environment variable in ``names`` inside each worker (``None``: not set).

    Returns
    -------
    dict
        ``{worker address: {name: value or None}}``.
    """
    return client.run(_environ, tuple(names))


def _peak_rss_mb() -> float:
    import resource
    import sys

    # Linux: the process's own high-water mark (VmHWM). getrusage's ru_maxrss also holds the
    # resident memory of the process it was forked from at its exec (a worker spawned by a
    # Jupyter kernel would report the kernel's size), and a reset does not lower that part.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def worker_peak_memory_mb(client: Any) -> dict[str, float]:
    """Peak resident memory (MB) of each worker process since it started, or since :func:`reset_peak_memory`.

    Read inside each worker: ``VmHWM`` of ``/proc/self/status`` on Linux, else ``getrusage``'s
    ``ru_maxrss``.
    """
    return {addr: round(mb, 1) for addr, mb in client.run(_peak_rss_mb).items()}


def _rss_now_and_reset() -> tuple[float, bool]:
    import psutil

    rss = psutil.Process().memory_info().rss / 2**20
    try:  # Linux: "5" resets the process's peak resident memory (VmHWM, and ru_maxrss with it)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return rss, False
    return rss, _peak_rss_mb() <= rss + 1.0


def reset_peak_memory(client: Any) -> dict[str, tuple[float, bool]]:
    """Start a peak-memory measurement in each worker: its resident memory now, and reset its peak.

    The peak that :func:`worker_peak_memory_mb` reads afterwards, minus the memory
    returned here, is what the computation in between needed above the worker's
    baseline (its imports, its first pass). Without a reset the peak since the
    process started would mostly measure the imports, whatever the computation did.

    Returns
    -------
    dict
        ``{worker address: (resident MB now, whether the peak was reset)}``. The reset
        needs Linux (``/proc/self/clear_refs``); elsewhere the peak keeps counting from
        the worker's start, so the difference may hold the imports' own peak too.
    """
    return client.run(_rss_now_and_reset)
