"""Throughput and memory of notebook 01b's Dask analysis: 1 and 2 workers against one process.

Usage: python scripts/bench_dask.py [--files 8] [--events-per-file 500000] [--step 500000]

The dataset is the course's CMS simulation written as several NanoAOD files with
distinct seeds (distinct events, generated once and cached). For each size (half
the files, then all of them) it times, on the same files and in one run:
``uproot.iterate`` in this process, then Dask with 1 and with 2 workers (a fresh
LocalCluster each), checks that every histogram is identical, and prints events/s
and the peak resident memory of each worker. As in notebook 01b, the graph is
optimised once on the client (timed apart), each configuration makes one untimed
first pass, then ``--repeats`` timed passes: the median is reported, with the range. It ends with what the full 61.5 M-event
file would take, here and on 100 workers (an estimate, assumptions printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--events-per-file", type=int, default=500_000)
    parser.add_argument("--step", type=int, default=500_000, help="events per partition")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per configuration")
    args = parser.parse_args(argv)

    import dask
    import dask_awkward as dak
    import hist
    import hist.dask
    import numpy as np
    import uproot

    from course_utils import config
    from course_utils.compute import cluster
    from course_utils.datasets import cms_dimuon
    from course_utils.physics import dimuon

    branches = list(dimuon.BRANCHES)
    axis = hist.axis.Variable(np.geomspace(0.25, 300, 800), name="m")
    paths = [str(cms_dimuon.load("simulated", n=args.events_per_file, seed=s, verbose=False).path)
             for s in range(1, args.files + 1)]

    def single(files):
        h = hist.Hist(axis)
        for chunk in uproot.iterate([f"{p}:Events" for p in files], branches, step_size=args.step):
            h.fill(dimuon.opposite_sign_mass(chunk))
        return h

    def timed(run, before=lambda: None):
        run()  # the first pass, untimed
        seconds = []
        for _ in range(args.repeats):
            before()
            t0 = time.perf_counter()
            out = run()
            seconds.append(time.perf_counter() - t0)
        return np.median(seconds), min(seconds), max(seconds), out

    rows = []
    for files in (paths[: max(1, len(paths) // 2)], paths):
        n_events = args.events_per_file * len(files)
        med, lo, hi, h_ref = timed(lambda files=files: single(files))
        rows.append({"events": n_events, "how": "one process (uproot.iterate)", "optimise_s": 0.0,
                     "events_per_s": n_events / med, "range": [n_events / hi, n_events / lo],
                     "peak_mb_per_worker": None})
        for n_workers in (1, 2):
            with cluster.connect(n_workers, verbose=False) as dc:
                ev = uproot.dask({p: "Events" for p in files}, filter_name=branches, step_size=args.step)
                lazy = hist.dask.Hist(axis).fill(dak.map_partitions(dimuon.opposite_sign_mass, ev))
                cluster.warm_up(dc.client)
                t0 = time.perf_counter()
                (optimized,) = dask.optimize(lazy)
                optimise = time.perf_counter() - t0
                # between passes, the previous results released: the same keys are not reused
                med, lo, hi, (h,) = timed(lambda o=optimized: dask.compute(o, optimize_graph=False),
                                          before=lambda c=dc.client: cluster.settle(c))
                peak = max(cluster.worker_peak_memory_mb(dc.client).values())
            if not np.array_equal(h.values(), h_ref.values()):
                raise SystemExit("the Dask histogram differs from the single-process one")
            rows.append({"events": n_events, "how": f"Dask, {n_workers} worker(s)", "optimise_s": optimise,
                         "events_per_s": n_events / med, "range": [n_events / hi, n_events / lo],
                         "peak_mb_per_worker": peak})

    print(f"| events | how | graph optimisation (s) | events/s (median of {args.repeats}) | range | "
          "peak MB per worker |\n|---|---|---|---|---|---|")
    for r in rows:
        peak = "" if r["peak_mb_per_worker"] is None else f"{r['peak_mb_per_worker']:.0f}"
        print(f"| {r['events']:,} | {r['how']} | {r['optimise_s']:.2f} | {r['events_per_s']:,.0f} | "
              f"{r['range'][0]:,.0f}-{r['range'][1]:,.0f} | {peak} |")
    big = [r for r in rows if r["events"] == rows[-1]["events"]]
    plain, one, two = (r["events_per_s"] for r in big)
    print(f"\n2 workers / 1 worker: {two / one:.2f}x; 2 workers / one process: {two / plain:.2f}x "
          f"(medians); peak memory per worker, half -> all the files: "
          f"{rows[2]['peak_mb_per_worker']:.0f} -> {rows[5]['peak_mb_per_worker']:.0f} MB (2 workers)")
    n_full = cms_dimuon.N_ENTRIES
    print(f"Estimate for the full file ({n_full:,} events), assuming the per-worker rate measured here holds "
          f"(reading does not become the bottleneck) and 80 % scaling efficiency on 100 workers:")
    print(f"  this machine, 2 workers: {n_full / two / 60:.1f} min; 100 workers: {n_full / (80 * one) / 60:.2f} min")
    out = config.build_dir() / "bench-dask.json"
    out.write_text(json.dumps(rows, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
