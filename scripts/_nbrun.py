"""Execute one notebook with nbclient (used by run_course.py and bench.py).

The executed copy and its HTML must hold every figure:

- matplotlib draws with IPython's inline backend: ``MPLBACKEND`` is removed from
  the kernel's environment (with ``Agg``, ``plt.show()`` draws nothing);
- plotly figures get an HTML copy beside plotly's own mime type
  (``PLOTLY_RENDERER=plotly_mimetype+notebook``): nbconvert cannot render the mime
  type alone, and ``notebook`` embeds plotly.js once, so the HTML reads offline.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_utils import config

ROOT = Path(__file__).resolve().parent.parent


#: Plotly renderers for executed copies: JupyterLab shows the first, nbconvert's HTML the second.
PLOTLY_RENDERER = "plotly_mimetype+notebook"


def kernel_env() -> dict[str, str]:
    """This process's environment for the kernel: no ``MPLBACKEND``, plotly also as HTML."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env["PLOTLY_RENDERER"] = PLOTLY_RENDERER
    return env


def execute(path: Path, out_dir: Path | None = None, timeout: int = 1800, html: bool = False) -> float:
    """Run the notebook in its own kernel; write the executed copy (and HTML) to ``out_dir``.

    Returns the wall time in seconds. Raises ``nbclient.exceptions.CellExecutionError``
    when a cell fails (the executed copy is written all the same).
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute(env=kernel_env())
    finally:
        elapsed = time.perf_counter() - t0
        nb.metadata["course"] = {"mode": config.mode_name(), "seconds": round(elapsed, 1)}
        if out_dir is not None:
            out_dir = Path(out_dir)
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
