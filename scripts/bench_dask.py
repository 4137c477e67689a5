"""Throughput and memory of notebook 01b's Dask analysis: 1 and 2 workers against one process.

Usage: python scripts/bench_dask.py [--files 8] [--events-per-file 500000] [--step 500000] [--repeats 3]

The dataset is the course's CMS simulation written as several NanoAOD files with
distinct seeds (distinct events, generated once and cached). For each size (half
the files, then all of them) it times, on the same files and in one run:
``uproot.iterate`` in this process, then Dask with 1 and with 2 workers (a fresh
LocalCluster each, and no other cluster running), checks that every histogram is
identical, and prints events/s. As in notebook 01b, the graph is optimised once on
the client (timed apart), each configuration makes one untimed first pass, then
``--repeats`` timed passes: the median is reported, with the range, and each ratio
of throughputs with its interval (``uncertainty.verdict`` on the log-throughputs,
Welch over the repeats).

It also prints, on all the files:

* the compute time of one task in a worker (task stream) against the time of one
  partition in this process, the per-task overhead that the workers add;
* one plain process with and without ``MALLOC_TRIM_THRESHOLD_=65536`` (the variable
  Dask's nanny gives its workers by default, and ``cluster.connect`` does not), each
  in a fresh subprocess, to measure what that variable costs here;
* the workers' peak memory above their start during the timed passes;

and ends with what the full 61.5 M-event file would take, here and on 100 workers
(an estimate, assumptions printed). Run it on a quiet machine: the figures of a
loaded machine say nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def _paths(args):
    from course_utils.datasets import cms_dimuon

    return [str(cms_dimuon.load("simulated", n=args.events_per_file, seed=s, verbose=False).path)
            for s in range(1, args.files + 1)]


def _single(files, step):
    import hist
    import numpy as np
    import uproot

    from course_utils.physics import dimuon

    h = hist.Hist(hist.axis.Variable(np.geomspace(0.25, 300, 800), name="m"))
    for chunk in uproot.iterate([f"{p}:Events" for p in files], list(dimuon.BRANCHES), step_size=step):
        h.fill(dimuon.opposite_sign_mass(chunk))
    return h


def _plain_child(args) -> int:
    """In a subprocess: time the plain process on all the files (first pass untimed); print JSON."""
    files = _paths(args)
    _single(files, args.step)
    seconds = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        _single(files, args.step)
        seconds.append(time.perf_counter() - t0)
    print(json.dumps(seconds))
    return 0


def _plain_in_subprocess(args, malloc_trim: str | None) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    if malloc_trim is not None:
        env["MALLOC_TRIM_THRESHOLD_"] = malloc_trim
    out = subprocess.run([sys.executable, __file__, "--plain-child", "--files", str(args.files),
                          "--events-per-file", str(args.events_per_file), "--step", str(args.step),
                          "--repeats", str(args.repeats)], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--events-per-file", type=int, default=500_000)
    parser.add_argument("--step", type=int, default=500_000, help="events per partition")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per configuration")
    parser.add_argument("--plain-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain_child:
        return _plain_child(args)

    import dask
    import dask_awkward as dak
    import hist
    import hist.dask
    import numpy as np
    import uproot
    from dask.distributed import get_task_stream
    from dask.utils import key_split

    from course_utils import config
    from course_utils.compute import cluster
    from course_utils.datasets import cms_dimuon
    from course_utils.metrics import uncertainty
    from course_utils.physics import dimuon

    branches = list(dimuon.BRANCHES)
    axis = hist.axis.Variable(np.geomspace(0.25, 300, 800), name="m")
    paths = _paths(args)

    def timed(run, before=lambda: None):
        run()  # the first pass, untimed
        seconds = []
        for _ in range(args.repeats):
            before()
            t0 = time.perf_counter()
            out = run()
            seconds.append(time.perf_counter() - t0)
        return np.array(seconds), out

    def ratio(fast, slow):
        """Ratio of the throughputs' geometric means and its 95 % interval, from the per-repeat seconds."""
        v = uncertainty.verdict(np.log(slow), np.log(fast), paired=False)  # log(rate) = log(n) - log(s)
        return v.outcome, tuple(float(np.exp(x)) for x in (v.interval.estimate, v.interval.low, v.interval.high))

    rows, seconds_of, task_s = [], {}, {}
    for files in (paths[: max(1, len(paths) // 2)], paths):
        n_events = args.events_per_file * len(files)
        s, h_ref = timed(lambda files=files: _single(files, args.step))
        seconds_of[n_events, "plain"] = s
        rows.append({"events": n_events, "how": "one process (uproot.iterate)", "optimise_s": 0.0,
                     "events_per_s": n_events / np.median(s), "range": [n_events / s.max(), n_events / s.min()],
                     "peak_above_start_mb": None, "seconds": s.tolist()})
        for n_workers in (1, 2):
            with cluster.connect(n_workers, verbose=False) as dc:
                ev = uproot.dask({p: "Events" for p in files}, filter_name=branches, step_size=args.step)
                lazy = hist.dask.Hist(axis).fill(dak.map_partitions(dimuon.opposite_sign_mass, ev))
                cluster.warm_up(dc.client)
                t0 = time.perf_counter()
                (optimized,) = dask.optimize(lazy)
                optimise = time.perf_counter() - t0

                def settle_and_reset(c=dc.client):
                    cluster.settle(c)
                    settle_and_reset.start = cluster.reset_peak_memory(c)

                with get_task_stream(client=dc.client) as stream:
                    # between passes, the previous results released: the same keys are not reused
                    s, (h,) = timed(lambda o=optimized: dask.compute(o, optimize_graph=False),
                                    before=settle_and_reset)
                peak = cluster.worker_peak_memory_mb(dc.client)
                above = max(peak[w] - settle_and_reset.start[w][0] for w in peak)
            if not np.array_equal(h.values(), h_ref.values()):
                raise SystemExit("the Dask histogram differs from the single-process one")
            computed = sorted((st["start"], st["stop"] - st["start"]) for r in stream.data for st in r["startstops"]
                              if st["action"] == "compute" and key_split(r["key"]) == "hist-on-block")
            task_s[n_events, n_workers] = [d for _, d in computed[ev.npartitions:]]  # not the first pass
            seconds_of[n_events, n_workers] = s
            rows.append({"events": n_events, "how": f"Dask, {n_workers} worker(s)", "optimise_s": optimise,
                         "events_per_s": n_events / np.median(s), "range": [n_events / s.max(), n_events / s.min()],
                         "peak_above_start_mb": above, "seconds": s.tolist()})

    print(f"| events | how | graph optimisation (s) | events/s (median of {args.repeats}) | range | "
          "peak above start, largest worker (MB) |\n|---|---|---|---|---|---|")
    for r in rows:
        peak = "" if r["peak_above_start_mb"] is None else f"{r['peak_above_start_mb']:.0f}"
        print(f"| {r['events']:,} | {r['how']} | {r['optimise_s']:.2f} | {r['events_per_s']:,.0f} | "
              f"{r['range'][0]:,.0f}-{r['range'][1]:,.0f} | {peak} |")
    n_all = rows[-1]["events"]
    plain_s, one_s, two_s = (seconds_of[n_all, k] for k in ("plain", 1, 2))
    print()
    for name, fast, slow in (("2 workers / 1 worker", two_s, one_s), ("2 workers / one process", two_s, plain_s),
                             ("1 worker / one process", one_s, plain_s)):
        outcome, (r, lo, hi) = ratio(fast, slow)
        word = {"A": "faster", "B": "slower", "=": "not distinguishable"}[outcome]
        print(f"{name}: {r:.2f}x [{lo:.2f}, {hi:.2f}] (95 %, Welch on log-throughputs): {word}")
    n_part = len(paths) * -(-args.events_per_file // args.step)
    per_partition_here = float(np.median(plain_s)) / n_part
    for n_workers in (1, 2):
        t = task_s[n_all, n_workers]
        print(f"one task in a worker ({n_workers} worker(s)): median {np.median(t):.3f} s over {len(t)} tasks; "
              f"one partition in this process: {per_partition_here:.3f} s (median pass / {n_part} partitions)")
    plain_default = _plain_in_subprocess(args, None)
    plain_trim = _plain_in_subprocess(args, "65536")
    outcome, (r, lo, hi) = ratio(np.array(plain_default), np.array(plain_trim))
    print(f"one plain process (subprocess), without / with MALLOC_TRIM_THRESHOLD_=65536: throughput ratio "
          f"{r:.2f}x [{lo:.2f}, {hi:.2f}] ({np.median(plain_default):.2f} s vs {np.median(plain_trim):.2f} s, "
          f"medians)")

    two, one = n_all / np.median(two_s), n_all / np.median(one_s)
    n_full = cms_dimuon.N_ENTRIES
    print(f"\nEstimate for the full file ({n_full:,} events), assuming the per-worker rate measured here holds "
          f"(reading does not become the bottleneck) and 80 % scaling efficiency on 100 workers:")
    print(f"  this machine, 2 workers: {n_full / two / 60:.1f} min; 100 workers: {n_full / (80 * one) / 60:.2f} min")
    out = config.build_dir() / "bench-dask.json"
    out.write_text(json.dumps({"rows": rows, "plain_subprocess_s": plain_default,
                               "plain_subprocess_malloc_trim_s": plain_trim,
                               "task_s": {f"{n}_{w}": t for (n, w), t in task_s.items()}}, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
