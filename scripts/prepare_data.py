"""`make data`: prepare every dataset cache ahead of time (real when reachable, else simulated).

Exactly the samples that the course manifest (``course_utils/manifest.toml``) lists for the
current mode, with the same ``load()`` arguments as the notebooks, each distinct call once
(``course_utils.manifest.prepared_samples``); progress bars come from the loaders themselves.
Run it once before a class so that the notebooks start instantly.

Usage: python scripts/prepare_data.py [--dry-run]   (--dry-run: print the calls, load nothing)
"""

from __future__ import annotations

import importlib
import sys
import time


def _describe(dataset: str, kwargs: dict, notebooks: list[str]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k != "verbose")
    return f"{dataset}.load({args}) for notebook(s) {', '.join(notebooks)}"


def main(argv: list[str]) -> int:
    from course_utils import config, manifest

    calls = manifest.prepared_samples()
    print(f"mode {config.mode_name()}: {len(calls)} load() call(s) from the course manifest")
    failed = []
    for dataset, kwargs, notebooks in calls:
        what = _describe(dataset, kwargs, notebooks)
        if "--dry-run" in argv:
            print(f"[{dataset}] {what}")
            continue
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"course_utils.datasets.{dataset}").load(**kwargs)
            print(f"[{dataset}] ready in {time.perf_counter() - t0:.0f} s: {what}")
        except Exception as exc:  # keep preparing the others
            failed.append(dataset)
            print(f"[{dataset}] FAILED: {type(exc).__name__}: {exc} ({what})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
