"""Cached simulations, and the worker pool that generates them.

A simulation is generated once per set of parameters into
``<data>/simulated/<dataset>/<key>/`` (atomic and locked: two notebooks asking
for the same simulation at once generate it once), then read like the
published files. A complete cache is read without a lock and without writing
anything, so that a read-only data folder prepared by ``make data`` works (a
class server); a simulation missing from a read-only folder is not generated
(it could not be cached, and a full-size one would cost minutes and memory per
student): :class:`~course_utils.datasets._storage.ReadOnlyDataError` says so,
and which variable to set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from course_utils.datasets import _storage
from course_utils.datasets._registry import simulated_dir

__all__ = ["cached_simulation", "n_workers", "parallel_map"]


def _key(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cached_simulation(dataset: str, params: dict[str, Any], generate: Callable[[Path], None],
                      *, version: str = "1") -> Path:
    """The folder of a simulation with these parameters, generating it once.

    Parameters
    ----------
    dataset
        Dataset name (cache folder ``simulated/<dataset>/``).
    params
        Everything that changes the output (sizes, seed...): the cache key.
    generate
        ``generate(folder)`` writes the files into an empty temporary folder; the
        folder is renamed into place only when it returns, so a crash or a
        second process never leaves a half-written cache.
    version
        Bump it when the generator changes, to invalidate old caches.

    Returns
    -------
    Path
        The folder holding the generated files and a ``manifest.json``.

    Raises
    ------
    ReadOnlyDataError
        The simulation is not cached and the data folder is read-only (the
        message says which variable to set).
    """
    key_params = {"version": version, **params}
    final = simulated_dir(dataset) / _key(key_params)
    manifest = final / "manifest.json"
    if manifest.is_file() and _manifest_ok(final, manifest):  # reading needs no lock: caches appear atomically
        return final
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    with _storage.writing(final, f"the {dataset} simulation ({shown}; cache {final.name})"):
        if manifest.is_file() and _manifest_ok(final, manifest):
            return final
        if final.exists():
            print(f"[{dataset}] incomplete or corrupt simulation cache {final.name}: generated again")
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            generate(tmp)
            files = {p.relative_to(tmp).as_posix(): p.stat().st_size
                     for p in sorted(tmp.rglob("*")) if p.is_file()}
            if not files:
                raise RuntimeError(f"the {dataset} simulation wrote no file")
            (tmp / "manifest.json").write_text(json.dumps(
                {"dataset": dataset, "params": key_params, "files": files,
                 "created": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2, default=str))
            _storage.share_permissions(tmp)  # mkdtemp's folder is private: a shared cache must be readable
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def _manifest_ok(folder: Path, manifest: Path) -> bool:
    try:
        files = json.loads(manifest.read_text())["files"]
    except (OSError, ValueError, KeyError):
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in files.items())


def n_workers(n_tasks: int | None = None) -> int:
    """Worker processes for a simulation: one per core (``COURSE_WORKERS`` overrides)."""
    raw = os.environ.get("COURSE_WORKERS", "").strip()
    n = int(raw) if raw else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"COURSE_WORKERS must be >= 1, got {raw!r}")
    return max(1, min(n, n_tasks)) if n_tasks else n


def parallel_map(fn: Callable[..., Any], tasks: list[Any], *, desc: str, workers: int | None = None) -> list[Any]:
    """``[fn(t) for t in tasks]`` over worker processes, in order, with a progress bar.

    ``fn`` must be a module-level function (it is sent to fresh ``spawn``
    processes, safe even when torch or TensorFlow threads run in the notebook).
    With one worker it runs in this process.
    """
    from tqdm.auto import tqdm

    workers = n_workers(len(tasks)) if workers is None else max(1, min(workers, len(tasks)))
    if workers == 1:
        return [fn(t) for t in tqdm(tasks, desc=desc)]
    import concurrent.futures as cf
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    results: list[Any] = [None] * len(tasks)
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        for fut in tqdm(cf.as_completed(futures), total=len(tasks), desc=desc):
            results[futures[fut]] = fut.result()
    return results
