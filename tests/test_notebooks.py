"""Every notebook, executed in fast mode through the same code as `make course` (nbclient).

``make notebooks`` (part of ``make test``) runs this file with ``COURSE_FAST=1``, one
notebook per xdist worker. A cell that raises fails the test with the cell's
traceback, as nbval's lax mode would; the executed copy is kept in
``build/executed/<mode>/`` so that ``make book`` builds the site from these very
runs instead of executing every notebook a second time.
The unit run deselects it (marker ``notebook``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from course_utils import config
from course_utils.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

from _nbrun import execute  # noqa: E402

pytestmark = pytest.mark.notebook

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path):
    from nbclient.exceptions import CellExecutionError

    out_dir = config.build_dir() / "executed" / config.mode_name()
    try:
        execute(path, out_dir, timeout=900)
    except CellExecutionError as exc:  # the failing cell and its traceback, not nbclient's internals
        pytest.fail(f"{path.name}: a cell failed (executed copy in {out_dir}):\n{exc}", pytrace=False)
    assert (out_dir / path.name).is_file()
