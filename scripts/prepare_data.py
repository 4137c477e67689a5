"""`make data`: prepare every dataset cache ahead of time (real when reachable, else simulated).

Each dataset module's ``load()`` is called with its default size for the
current mode; progress bars come from the loaders themselves. Run it once
before a class so that the notebooks start instantly.
"""

from __future__ import annotations

import importlib
import sys
import time


def main() -> int:
    from course_utils import datasets

    failed = []
    for name in datasets.DATASETS:
        try:
            module = importlib.import_module(f"course_utils.datasets.{name}")
        except ModuleNotFoundError:
            print(f"[{name}] no loader yet: skipped")
            continue
        prepare = getattr(module, "prepare", None) or module.load
        t0 = time.perf_counter()
        try:
            prepare()
            print(f"[{name}] ready in {time.perf_counter() - t0:.0f} s")
        except Exception as exc:  # keep preparing the others
            failed.append(name)
            print(f"[{name}] FAILED: {type(exc).__name__}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
