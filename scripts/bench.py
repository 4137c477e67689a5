"""`make bench` / `make bench-full`: each notebook in its own process, wall time and peak memory.

Peak memory is the largest sum of the resident set sizes (RSS) of the runner,
its kernel and the kernel's children (simulation workers), sampled every 0.1 s.
Writes build/bench-<mode>.json and prints a table with the machine's core count
and, per notebook, whether it is within the budget of its mode on 2 cores:
fast mode (COURSE_FAST=1, what the tests run) 90 s from an empty cache and 2 GB, full mode 900 s.

Usage: python scripts/bench.py [--empty-cache] [--full] [--keep DIR] notebooks/*.ipynb
  --empty-cache  each notebook starts from an empty data cache (simulations included)
  --full         full mode (COURSE_FAST unset) instead of fast mode
  --keep DIR     also write each executed copy to DIR (to read the figures the timed run reached)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

#: Per mode: (wall-time budget in s, peak-memory budget in MB or None for no budget).
BUDGETS: dict[str, tuple[float, float | None]] = {"fast": (90, 2048), "full": (900, None)}


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_one(nb: Path, env: dict[str, str], keep: Path | None = None) -> dict:
    cmd = [sys.executable, str(ROOT / "scripts" / "_nbrun.py"), str(nb), *([str(keep)] if keep else [])]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss(ps))
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    return {"notebook": nb.name, "ok": proc.returncode == 0, "wall_s": round(wall, 1),
            "peak_mb": round(peak / 2**20), "tail": out[-1500:] if proc.returncode else ""}


def _title(nb: Path) -> str:
    """The notebook's title in the course manifest ("" for a notebook it does not list)."""
    from course_utils import manifest

    try:
        return manifest.notebook(nb.name).title
    except ValueError:
        return ""


def within_budget(row: dict, mode: str) -> bool:
    """True when a notebook ran within its mode's wall-time (and memory) budget."""
    seconds, megabytes = BUDGETS[mode]
    return row["wall_s"] <= seconds and (megabytes is None or row["peak_mb"] <= megabytes)


def format_table(rows: list[dict], mode: str) -> str:
    """The Markdown table of a run: notebook, ok, wall time, peak RSS, within budget."""
    seconds, megabytes = BUDGETS[mode]
    budget = f"{seconds:.0f} s" + (f" / {megabytes:.0f} MB" if megabytes is not None else "")
    lines = [f"| notebook | ok | wall (s) | peak RSS (MB) | within {budget} |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['notebook']} | {'yes' if r['ok'] else 'NO'} | {r['wall_s']:.0f} | {r['peak_mb']} | "
                     f"{'yes' if within_budget(r, mode) else 'NO'} |")
    total = sum(r["wall_s"] for r in rows)
    lines.append(f"| total | {sum(r['ok'] for r in rows)}/{len(rows)} | {total:.0f} | "
                 f"{max((r['peak_mb'] for r in rows), default=0)} | |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--empty-cache", action="store_true")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR")
    args = ap.parse_args()
    notebooks = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    rows = []
    for nb in notebooks:
        env = dict(os.environ)
        if args.full:
            env.pop("COURSE_FAST", None)
        else:
            env["COURSE_FAST"] = "1"
        tmp = None
        if args.empty_cache:
            tmp = tempfile.TemporaryDirectory(prefix="bench-data-")
            env["COURSE_DATA_DIR"] = tmp.name
            env["COURSE_BUILD_DIR"] = str(Path(tmp.name) / "build")
        title = _title(nb)
        print(f"==> {nb.name}" + (f" ({title})" if title else ""), flush=True)
        row = {**run_one(nb, env, args.keep), "title": title}
        rows.append(row)
        print(f"    {'ok' if row['ok'] else 'FAILED'}  {row['wall_s']:.0f} s  {row['peak_mb']} MB", flush=True)
        if row["tail"]:
            print(row["tail"])
        if tmp is not None:
            tmp.cleanup()
    mode = "full" if args.full else "fast"
    result = {"cores": os.cpu_count(), "mode": mode, "budget": BUDGETS[mode],
              "empty_cache": args.empty_cache, "date": time.strftime("%Y-%m-%d %H:%M"), "notebooks": rows}
    from course_utils import config

    out = config.build_dir() / f"bench-{mode}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\n{os.cpu_count()} cores, mode {mode}, empty cache: {args.empty_cache}")
    print(format_table(rows, mode))
    print(f"\nwritten to {out}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
