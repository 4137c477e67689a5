"""Pythia 8 for the course's simulations: one initialised generator per settings, and derived seeds.

The simulations of ``higgs``, ``lhco``, ``trackml``, ``quark_gluon`` and
``cms_dimuon`` all start Pythia the same way: read a list of settings, refuse
the first one Pythia rejects, initialise. Worker processes keep their
generators between tasks (initialising costs seconds), keyed by the settings.
``higgs`` and ``lhco`` also share :func:`generate_selected`, the loop that
runs generation tasks until enough events pass their selection.
``pythia8mc`` is imported only when a generator is built.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from course_utils.datasets._cache import parallel_map
from course_utils.validation import check_count

__all__ = ["new", "cached", "seed", "generate_selected"]

_CACHE: dict[tuple[str, ...], Any] = {}


def new(settings: Iterable[str], *, what: str = "the process") -> Any:
    """A freshly initialised ``pythia8mc.Pythia`` (quiet constructor) with ``settings`` read in order.

    Raises
    ------
    RuntimeError
        When Pythia refuses a setting (named in the message) or fails to initialise ``what``.
    """
    from course_utils._optional import require

    pythia8mc = require("pythia8mc", why="the course's event generation (Pythia 8)")
    pythia = pythia8mc.Pythia("", False)
    for cmd in settings:
        if not pythia.readString(cmd):
            raise RuntimeError(f"Pythia refused the setting {cmd!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise {what} (see its messages above)")
    return pythia


def cached(settings: Iterable[str], *, what: str = "the process") -> Any:
    """Like :func:`new`, but one generator per distinct list of settings in this process (kept between tasks)."""
    key = tuple(settings)
    if key not in _CACHE:
        _CACHE[key] = new(key, what=what)
    return _CACHE[key]


def seed(*keys: int) -> int:
    """A Pythia seed in [1, 900,000,000] derived from integers (stable across runs and machines)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0]) % 900_000_000 + 1


def generate_selected(wanted: Mapping[str, int], *, processes: Mapping[str, int], max_events: int,
                      task: Callable[[tuple], tuple[np.ndarray, int, float]],
                      make_task: Callable[[str, int], tuple], chunk: int, acceptance_guess: Mapping[str, float],
                      margin: float, desc: str, workers: int | None = None, group: bool = False,
                      ) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """Run generation tasks in parallel until ``wanted[process]`` events of each process pass the selection.

    Each round plans, per process, enough tasks of ``chunk`` generated events
    for the events still missing (from ``acceptance_guess`` at first, then
    from the acceptance measured so far, times ``margin``), runs them with
    :func:`~course_utils.datasets._cache.parallel_map`, and stops when every
    process has enough. Task ``k`` (1, 2, ... per process) is
    ``make_task(process, k)``; its first element must be the process. The
    result depends on the tasks' seeds only, not on the number of workers.

    Parameters
    ----------
    wanted
        Selected events wanted per process (each an integer in [1, ``max_events``]).
    processes
        The known processes (name -> label).
    task
        Worker function: a task -> (selected rows, events generated, CPU seconds).
    desc
        Progress-bar label (later rounds add "(complément)").
    group
        Run the tasks of one process and round one after the other in a single
        worker call (the processes with most tasks first), so that each
        process's generator is initialised once per round instead of once per
        worker: for small samples, where initialisation dominates. The result is
        the same (each task keeps its seed).

    Returns
    -------
    dict
        Per process: the first ``wanted`` selected rows, and statistics
        (``generated``, ``selected``, ``acceptance``, ``cpu_s`` summed over
        workers, ``ms_per_event``, ``ms_per_selected_event``).
    """
    for process, n in wanted.items():
        if process not in processes:
            raise ValueError(f"unknown process {process!r}: expected one of {list(processes)}")
        check_count(n, f"the number of {process} events", max_value=max_events)
    parts: dict[str, list[np.ndarray]] = {p: [] for p in wanted}
    done = {p: 0 for p in wanted}  # tasks planned so far
    cpu = {p: 0.0 for p in wanted}
    for round_ in range(50):
        tasks = []
        for process, n in wanted.items():
            have = sum(len(x) for x in parts[process])
            if have >= n:
                continue
            acc = acceptance_guess[process] if not done[process] else max(have / (done[process] * chunk), 0.01)
            n_tasks = math.ceil((n - have) / (chunk * acc) * margin)
            tasks += [make_task(process, done[process] + k + 1) for k in range(n_tasks)]
            done[process] += n_tasks
        if not tasks:
            break
        label = desc if round_ == 0 else f"{desc} (complément)"
        if group:
            bundles: dict[str, list[tuple]] = {}
            for args in tasks:
                bundles.setdefault(args[0], []).append(args)
            ordered = sorted(bundles.values(), key=len, reverse=True)
            tasks = [args for bundle in ordered for args in bundle]
            results = [r for rs in parallel_map(functools.partial(_run_bundle, task), ordered, desc=label,
                                                workers=workers) for r in rs]
        else:
            results = parallel_map(task, tasks, desc=label, workers=workers)
        for args, (rows, _n, seconds) in zip(tasks, results):
            parts[args[0]].append(rows)
            cpu[args[0]] += seconds
    else:  # pragma: no cover - only with an absurd selection
        raise RuntimeError("the selection keeps almost no event: check the detector settings")
    out = {}
    for process, n in wanted.items():
        rows = np.concatenate(parts[process])
        generated = done[process] * chunk
        out[process] = (rows[:n], {"generated": generated, "selected": len(rows),
                                   "acceptance": len(rows) / generated, "cpu_s": cpu[process],
                                   "ms_per_event": 1000 * cpu[process] / generated,
                                   "ms_per_selected_event": 1000 * cpu[process] / max(len(rows), 1)})
    return out


def _run_bundle(task: Callable[[tuple], Any], bundle: list[tuple]) -> list[Any]:
    """The tasks of one bundle (:func:`generate_selected` with ``group=True``), in order, in one worker."""
    return [task(args) for args in bundle]
