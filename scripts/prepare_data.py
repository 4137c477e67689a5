"""`make data`: prepare every dataset cache ahead of time (real when reachable, else simulated).

Each dataset module's ``load()`` is called with its default size for the
current mode; progress bars come from the loaders themselves. Run it once
before a class so that the notebooks start instantly.
"""

from __future__ import annotations

import importlib
import sys
import time


def _arguments() -> dict[str, dict]:
    """Loader arguments that match what the notebooks ask for, in the current mode."""
    from course_utils import config

    return {
        "magic": {"n": 19_020},  # 03a/03b: the size of the real file
        "quark_gluon": {"n": config.scale(full=40_000, fast=1_600)},  # 02 and 06
        "brain_mri": {"image_size": config.scale(full=64, fast=48)},  # 05
        "trackml": {"n": config.scale(full=80, fast=16), "pileup": config.scale(full=20, fast=5)},  # 07
        "calo": {"n": config.scale(full=40_000, fast=7_500)},  # 09: training + reference showers
    }


def _extras() -> list[tuple[str, dict]]:
    """Samples beyond each dataset's default: notebook 10's second shower alpha_s, 01b's files."""
    from course_utils import config

    alpha_s = {"source": "simulated", "n": config.scale(full=20_000, fast=1_600), "seed": 42,
               "settings": {"TimeShower:alphaSvalue": 0.150}}
    files = [("cms_dimuon", {"source": "simulated", "n": config.scale(full=500_000, fast=50_000), "seed": seed,
                             "verbose": False}) for seed in range(1, config.scale(full=8, fast=4) + 1)]
    return [("quark_gluon", alpha_s), *files]


def main() -> int:
    from course_utils import datasets

    arguments = _arguments()

    failed = []
    for name in datasets.DATASETS:
        try:
            module = importlib.import_module(f"course_utils.datasets.{name}")
        except ModuleNotFoundError:
            print(f"[{name}] no loader yet: skipped")
            continue
        t0 = time.perf_counter()
        try:
            module.load(**arguments.get(name, {}))
            print(f"[{name}] ready in {time.perf_counter() - t0:.0f} s")
        except Exception as exc:  # keep preparing the others
            failed.append(name)
            print(f"[{name}] FAILED: {type(exc).__name__}: {exc}")
    for name, kwargs in _extras():
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"course_utils.datasets.{name}").load(**kwargs)
            print(f"[{name}] extra sample {kwargs.get('settings') or kwargs.get('seed')} ready in "
                  f"{time.perf_counter() - t0:.0f} s")
        except Exception as exc:  # keep preparing the others
            failed.append(name)
            print(f"[{name}] extra sample FAILED: {type(exc).__name__}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
