"""Execute one notebook with nbclient (used by run_course.py and bench.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_utils import config

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, out_dir: Path | None = None, timeout: int = 1800, html: bool = False) -> float:
    """Run the notebook in its own kernel; write the executed copy (and HTML) to ``out_dir``.

    Returns the wall time in seconds. Raises ``nbclient.exceptions.CellExecutionError``
    when a cell fails.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - t0
        nb.metadata["course"] = {"mode": config.mode_name(), "seconds": round(elapsed, 1)}
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out_dir / path.name)
            if html:
                from nbconvert import HTMLExporter

                body, _ = HTMLExporter().from_notebook_node(nb)
                (out_dir / path.with_suffix(".html").name).write_text(body, encoding="utf-8")
    return elapsed


if __name__ == "__main__":
    target = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    print(f"{target.name}: {execute(target, out):.1f} s")
