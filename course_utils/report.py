"""The course results table: each notebook records its key numbers.

``record("03a", rf_accuracy=0.88)`` merges the values into
``build/results.json`` (atomic write under a file lock, so notebooks running in
parallel never lose each other's results). A published reference can be given
beside a value with :func:`vs`::

    record("02", pfn_auc=vs(0.87, 0.90, "Komiske et al., arXiv:1810.05165, table 2"))

``python -m course_utils.report`` prints the table and writes ``build/results.md``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from course_utils import _files, config

__all__ = ["vs", "record", "load_results", "results_table", "write_markdown"]


def vs(value: float, reference: float | str | None, source: str | None) -> dict[str, Any]:
    """A measured value with the published reference it is compared with."""
    if reference is not None and not source:
        raise ValueError("a reference value needs its source (paper, table)")
    return {"value": value, "reference": reference, "source": source}


def _results_path() -> Path:
    return config.build_dir() / "results.json"


def _clean(name: str, value: Any) -> dict[str, Any]:
    entry = dict(value) if isinstance(value, dict) else {"value": value, "reference": None, "source": None}
    v = entry.get("value")
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"metric {name!r}: value must be a number or a string, got {type(v).__name__}")
    if isinstance(v, float) and math.isnan(v):
        raise ValueError(f"metric {name!r} is NaN: nothing meaningful to record")
    entry["value"] = v
    return entry


def record(notebook: str, **metrics: Any) -> dict[str, Any]:
    """Merge ``metrics`` into the results of ``notebook`` in ``build/results.json``.

    Parameters
    ----------
    notebook
        Short notebook name, e.g. ``"01"`` or ``"01_cern_open_data"``.
    **metrics
        Numbers or strings, or :func:`vs` dicts carrying a reference and its source.

    Returns
    -------
    dict
        What was recorded for this notebook (all its metrics so far).
    """
    if not notebook or not isinstance(notebook, str):
        raise ValueError(f"notebook must be a non-empty string, got {notebook!r}")
    if not metrics:
        raise ValueError("record() needs at least one metric, e.g. record('01', auc=0.9)")
    cleaned = {k: _clean(k, v) for k, v in metrics.items()}
    path = _results_path()
    with _files.locked(path):
        data = load_results(path)
        nb = data.setdefault(notebook, {"mode": config.mode_name(), "metrics": {}})
        nb["mode"] = config.mode_name()
        nb["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        nb["metrics"].update(cleaned)
        with _files.atomic_write(path) as f:
            json.dump(data, f, indent=2, ensure_ascii=False, sort_keys=True)
    return nb


def load_results(path: str | Path | None = None) -> dict[str, Any]:
    """The recorded results (empty dict when nothing was recorded yet)."""
    path = Path(path) if path is not None else _results_path()
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); delete it to start a new table") from exc


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def results_table(results: dict[str, Any] | None = None) -> str:
    """The results as a Markdown table: notebook, mode, metric, ours, reference, source."""
    results = load_results() if results is None else results
    lines = ["| notebook | mode | metric | ours | reference | source |",
             "|---|---|---|---|---|---|"]
    for nb in sorted(results):
        for name, m in sorted(results[nb].get("metrics", {}).items()):
            lines.append(f"| {nb} | {results[nb].get('mode', '?')} | {name} | {_fmt(m.get('value'))} | "
                         f"{_fmt(m.get('reference'))} | {m.get('source') or '—'} |")
    return "\n".join(lines)


def write_markdown(path: str | Path | None = None) -> Path:
    """Write :func:`results_table` to ``build/results.md`` (or ``path``)."""
    path = Path(path) if path is not None else config.build_dir() / "results.md"
    text = "# Résultats du cours\n\nMesurés lors de l'exécution des notebooks, à côté des valeurs publiées.\n\n"
    with _files.atomic_write(path) as f:
        f.write(text + results_table() + "\n")
    return path


if __name__ == "__main__":  # pragma: no cover - exercised by `make course`
    print(results_table())
    print(f"\nwritten to {write_markdown()}")
