"""`make course`: execute every notebook in order, write executed copies and HTML to build/,
then print the results table (ours beside the published references).

Prints, per notebook, its wall time and the running total, so that a class sees
where it stands. Usage: python scripts/run_course.py notebooks/00_*.ipynb ...
(non-zero exit if any notebook fails).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _nbrun import ROOT, execute  # noqa: E402


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def main(paths: list[str]) -> int:
    from course_utils import config, report

    notebooks = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    out_dir = config.build_dir()
    print(f"{len(notebooks)} notebook(s), mode {config.mode_name()}, executed copies in {out_dir}", flush=True)
    failed = []
    start = time.perf_counter()
    for i, nb in enumerate(notebooks, 1):
        print(f"==> [{i}/{len(notebooks)}] {nb.name}", flush=True)
        t0 = time.perf_counter()
        try:
            execute(nb, out_dir, html=True)
            status = "done"
        except Exception as exc:  # report every failure, then fail the command
            failed.append(nb.name)
            status = "FAILED"
            print(f"    FAILED: {type(exc).__name__}: {str(exc)[-2000:]}", flush=True)
        took, total = time.perf_counter() - t0, time.perf_counter() - start
        print(f"    {status} in {_minutes(took)}  (total {_minutes(total)}) -> {out_dir / nb.name}", flush=True)
    print(f"\n{len(notebooks)} notebook(s) in {_minutes(time.perf_counter() - start)}"
          + (f"; {len(failed)} failed: {', '.join(failed)}" if failed else ""))
    print("\n" + report.results_table())
    print(f"\n(results table written to {report.write_markdown()})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
