"""Pythia 8 for the course's simulations: one initialised generator per settings, and derived seeds.

The simulations of ``higgs``, ``lhco``, ``trackml``, ``quark_gluon`` and
``cms_dimuon`` all start Pythia the same way: read a list of settings, refuse
the first one Pythia rejects, initialise. Worker processes keep their
generators between tasks (initialising costs seconds), keyed by the settings.
``pythia8mc`` is imported only when a generator is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["new", "cached", "seed"]

_CACHE: dict[tuple[str, ...], Any] = {}


def new(settings: Iterable[str], *, what: str = "the process") -> Any:
    """A freshly initialised ``pythia8mc.Pythia`` (quiet constructor) with ``settings`` read in order.

    Raises
    ------
    RuntimeError
        When Pythia refuses a setting (named in the message) or fails to initialise ``what``.
    """
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for cmd in settings:
        if not pythia.readString(cmd):
            raise RuntimeError(f"Pythia refused the setting {cmd!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise {what} (see its messages above)")
    return pythia


def cached(settings: Iterable[str], *, what: str = "the process") -> Any:
    """Like :func:`new`, but one generator per distinct list of settings in this process (kept between tasks)."""
    key = tuple(settings)
    if key not in _CACHE:
        _CACHE[key] = new(key, what=what)
    return _CACHE[key]


def seed(*keys: int) -> int:
    """A Pythia seed in [1, 900,000,000] derived from integers (stable across runs and machines)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0]) % 900_000_000 + 1
