"""`make course`: execute every notebook in order, write executed copies and HTML to build/,
then print the results table (ours beside the published references).

Usage: python scripts/run_course.py notebooks/00_*.ipynb ...   (non-zero exit if any notebook fails)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _nbrun import ROOT, execute  # noqa: E402


def main(paths: list[str]) -> int:
    from course_utils import config, report

    notebooks = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    out_dir = config.build_dir()
    failed = []
    for nb in notebooks:
        print(f"==> {nb.name} (mode: {config.mode_name()})", flush=True)
        try:
            seconds = execute(nb, out_dir, html=True)
            print(f"    done in {seconds:.0f} s -> {out_dir / nb.name}", flush=True)
        except Exception as exc:  # report every failure, then fail the command
            failed.append(nb.name)
            print(f"    FAILED: {type(exc).__name__}: {str(exc)[-2000:]}", flush=True)
    print("\n" + report.results_table())
    print(f"\nresults table written to {report.write_markdown()}")
    if failed:
        print(f"\n{len(failed)} notebook(s) failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
