"""The course manifest: each notebook's title, duration, hardware, datasets and sizes, written once.

The values live in ``course_utils/manifest.toml`` (package data: a wheel carries it). The notebooks read
their sizes from here, ``make data`` prepares exactly the datasets listed here for the current mode, and
the README table is generated from the titles and durations. ``tests/test_manifest.py`` fails when a
notebook loads a size that is written anywhere else.

Examples
--------
>>> from course_utils import manifest
>>> manifest.notebook("07").title
'Trajectographie avec des réseaux de graphes (TrackML)'
>>> manifest.size("07", "trackml.n", mode="fast")      # a loader argument: "<sample>.<argument>"
16
>>> manifest.size("07", "epochs", mode="full")         # one of the notebook's own sizes
30
>>> manifest.load_args("02", "quark_gluon", mode="fast")
{'n': 1600, 'seed': 42}
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from course_utils import config

__all__ = ["MODES", "SOURCES", "Sample", "Notebook", "Syllabus", "Plan", "read", "notebooks", "notebook", "size",
           "load_args", "prepared_samples", "syllabus", "plans", "recommended_order", "minutes"]

#: The two modes of the course (``config.mode_name()``).
MODES = ("full", "fast")
#: The sources a loader may fall back between; a size written per source is decided by the loader.
SOURCES = ("real", "simulated")
#: Written in the manifest for "every event of the source" (``None`` for the loaders).
ALL = "all"
_NOTEBOOK_TEXT = ("file", "title", "duration", "hardware", "data")
_SAMPLE_META = ("dataset", "prepare")


@dataclass(frozen=True)
class Sample:
    """One ``load()`` call of a notebook: the dataset, and its arguments as written (per mode or per source)."""

    name: str
    dataset: str
    args: dict[str, Any]
    prepare: bool = True


@dataclass(frozen=True)
class Notebook:
    """A notebook's entry: what the README shows, and its sizes as written (per mode)."""

    key: str
    file: str
    title: str
    duration: str
    hardware: str
    data: str
    datasets: dict[str, Sample] = field(default_factory=dict)
    sizes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Syllabus:
    """What a notebook assumes and introduces (``[syllabus.NN]``): the syllabus and the dependency graph.

    ``builds_on`` maps each notebook it assumes to what it takes from it, in the order written.
    """

    key: str
    builds_on: dict[str, str]
    maths: tuple[str, ...]
    ml: tuple[str, ...]
    tools: str
    introduces: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """An example term plan (``[plans.NAME]``): sessions, each a list of notebook keys."""

    name: str
    title: str
    session_name: str
    sessions: tuple[tuple[str, ...], ...]


def _is_per(value: Any, keys: tuple[str, ...]) -> bool:
    return isinstance(value, dict) and set(value) == set(keys)


def _check_value(value: Any, where: str) -> None:
    """A size is a number, a list of numbers, "all", or a table of those per mode or per source."""
    if isinstance(value, dict) and (set(value) & set(MODES) or set(value) & set(SOURCES)):
        if not (_is_per(value, MODES) or _is_per(value, SOURCES)):
            raise ValueError(f"manifest: {where} = {value!r}: a per-mode value needs exactly the keys "
                             f"{list(MODES)}, a per-source value exactly {list(SOURCES)}")
        for k, v in value.items():
            _check_value(v, f"{where}.{k}")
    elif isinstance(value, str) and value != ALL:
        raise ValueError(f"manifest: {where} = {value!r}: a size is a number or {ALL!r}")


def _parse(data: dict[str, Any]) -> dict[str, Notebook]:
    entries = data.get("notebooks")
    if not isinstance(entries, dict) or not entries:
        raise ValueError("manifest: no [notebooks.NN] table")
    out = {}
    for key, entry in entries.items():
        missing = [k for k in _NOTEBOOK_TEXT if not isinstance(entry.get(k), str) or not entry[k]]
        if missing:
            raise ValueError(f"manifest: notebook {key!r} lacks {missing}")
        unknown = set(entry) - {*_NOTEBOOK_TEXT, "datasets", "sizes"}
        if unknown:
            raise ValueError(f"manifest: notebook {key!r} has unknown keys {sorted(unknown)}")
        samples = {}
        for name, raw in entry.get("datasets", {}).items():
            args = {k: v for k, v in raw.items() if k not in _SAMPLE_META}
            for arg in ("n", "image_size", "pileup", "seeds"):
                if arg in args:
                    _check_value(args[arg], f"{key}.datasets.{name}.{arg}")
            samples[name] = Sample(name, raw.get("dataset", name), args, bool(raw.get("prepare", True)))
        sizes = dict(entry.get("sizes", {}))
        for name, value in sizes.items():
            if isinstance(value, dict) and _is_per(value, SOURCES):
                raise ValueError(f"manifest: {key}.sizes.{name}: only a loader argument may depend on the source")
            _check_value(value, f"{key}.sizes.{name}")
        clash = set(sizes) & set(samples)
        if clash:
            raise ValueError(f"manifest: notebook {key!r}: {sorted(clash)} both a size and a dataset sample")
        out[key] = Notebook(key, *(entry[k] for k in _NOTEBOOK_TEXT), samples, sizes)
    return out


def read(path: str | Path | None = None) -> dict[str, Notebook]:
    """Parse a manifest file (default: the course's ``manifest.toml``), notebooks by key ("00", "01b", ...)."""
    if path is None:
        return _default()
    return _parse(tomllib.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _default() -> dict[str, Notebook]:
    text = resources.files("course_utils").joinpath("manifest.toml").read_text(encoding="utf-8")
    return _parse(tomllib.loads(text))


def notebooks() -> dict[str, Notebook]:
    """Every notebook of the manifest, in the course's order."""
    return dict(_default())


def notebook(key: str) -> Notebook:
    """One notebook's entry, by its number (``"07"``, ``"01b"``) or its file name."""
    entries = _default()
    if key in entries:
        return entries[key]
    for entry in entries.values():
        if key in (entry.file, Path(entry.file).stem):
            return entry
    raise ValueError(f"notebook {key!r} is not in the manifest: expected one of {sorted(entries)}")


def _mode(mode: str | None) -> str:
    if mode is None:
        return config.mode_name()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    return mode


def _resolve(value: Any, mode: str, source: str | None, where: str) -> Any:
    if _is_per(value, MODES):
        return _resolve(value[mode], mode, source, where)
    if _is_per(value, SOURCES):
        if source is None:
            raise ValueError(f"{where} depends on the source ({value}): the loader decides it; "
                             f"pass source='real' or source='simulated' to read it")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, got {source!r}")
        return _resolve(value[source], mode, source, where)
    return None if value == ALL else value


def size(key: str, name: str, *, mode: str | None = None, source: str | None = None) -> Any:
    """A size of notebook ``key`` in the current mode (or ``mode``).

    Parameters
    ----------
    key
        The notebook: ``"07"``.
    name
        ``"<sample>.<argument>"`` for a ``load()`` argument (``"trackml.n"``), else one of the
        notebook's own sizes (``"epochs"``).
    mode
        ``"full"`` or ``"fast"``; default: the current mode (``COURSE_FAST``).
    source
        ``"real"`` or ``"simulated"``, for a size that the loader decides from the source it finds.

    Returns
    -------
    int, list or None
        ``None`` where the manifest says ``"all"`` (every event of the source).
    """
    entry, mode = notebook(key), _mode(mode)
    sample, dot, arg = name.partition(".")
    if dot:
        if sample not in entry.datasets or arg not in entry.datasets[sample].args:
            known = [f"{s}.{a}" for s, smp in entry.datasets.items() for a in smp.args]
            raise ValueError(f"notebook {entry.key} has no dataset argument {name!r} in the manifest: "
                             f"expected one of {known}")
        return _resolve(entry.datasets[sample].args[arg], mode, source, f"{entry.key}: {name}")
    if name not in entry.sizes:
        raise ValueError(f"notebook {entry.key} has no size {name!r} in the manifest: expected one of "
                         f"{sorted(entry.sizes)} (or '<sample>.<argument>')")
    return _resolve(entry.sizes[name], mode, source, f"{entry.key}: {name}")


def load_args(key: str, sample: str, *, mode: str | None = None) -> dict[str, Any]:
    """Keyword arguments of one sample's ``load()`` in the current mode (or ``mode``).

    Sizes that the loader decides from the source (written per source) are left out, and so are
    ``seeds`` (one load per seed: pass ``seed=``); ``"all"`` becomes ``None``.
    """
    entry, mode = notebook(key), _mode(mode)
    if sample not in entry.datasets:
        raise ValueError(f"notebook {entry.key} has no dataset sample {sample!r} in the manifest: expected one "
                         f"of {sorted(entry.datasets)}")
    out = {}
    for arg, value in entry.datasets[sample].args.items():
        if arg == "seeds" or _is_per(value, SOURCES):
            continue
        out[arg] = _resolve(value, mode, None, f"{entry.key}: {sample}.{arg}")
    return out


def prepared_samples(mode: str | None = None) -> list[tuple[str, dict[str, Any], list[str]]]:
    """What ``make data`` prepares: ``(dataset, load kwargs, notebooks)``, each distinct call once.

    A sample with ``seeds`` gives one call per seed; samples with ``prepare = false`` are skipped.
    """
    mode = _mode(mode)
    calls: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
    for entry in _default().values():
        for sample in entry.datasets.values():
            if not sample.prepare:
                continue
            kwargs = load_args(entry.key, sample.name, mode=mode)
            seeds = sample.args.get("seeds")
            for seed in (_resolve(seeds, mode, None, "seeds") if seeds is not None else [None]):
                call = dict(kwargs) if seed is None else {**kwargs, "seed": seed, "verbose": False}
                ident = f"{sample.dataset} {sorted(call.items(), key=lambda kv: kv[0])!r}"
                calls.setdefault(ident, (sample.dataset, call, []))[2].append(entry.key)
    return list(calls.values())


_SYLLABUS_KEYS = {"builds_on", "maths", "ml", "tools", "introduces"}


def _parse_syllabus(data: dict[str, Any]) -> dict[str, Syllabus]:
    entries = data.get("syllabus")
    if not isinstance(entries, dict) or not entries:
        raise ValueError("manifest: no [syllabus.NN] table")
    out = {}
    for key, entry in entries.items():
        if set(entry) != _SYLLABUS_KEYS:
            raise ValueError(f"manifest: syllabus {key!r} has keys {sorted(entry)}, expected {sorted(_SYLLABUS_KEYS)}")
        builds_on = entry["builds_on"]
        if not isinstance(builds_on, dict) or not all(isinstance(v, str) and v for v in builds_on.values()):
            raise ValueError(f"manifest: syllabus {key!r}: builds_on must map notebook keys to what is taken from them")
        if not entry["introduces"]:
            raise ValueError(f"manifest: syllabus {key!r}: introduces is empty")
        out[key] = Syllabus(key, dict(builds_on), tuple(entry["maths"]), tuple(entry["ml"]), entry["tools"],
                            tuple(entry["introduces"]))
    for key, entry in out.items():
        unknown = sorted(set(entry.builds_on) - set(out))
        if unknown:
            raise ValueError(f"manifest: syllabus {key!r} builds on {unknown}, which have no [syllabus] entry")
    _topological(out)  # raises on a cycle
    return out


def _topological(entries: dict[str, Syllabus]) -> list[str]:
    """Kahn's algorithm; among the notebooks ready at each step, the smallest number first."""
    remaining = {k: set(e.builds_on) for k, e in entries.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(k for k, deps in remaining.items() if not deps)
        if not ready:
            raise ValueError(f"manifest: the syllabus's builds_on has a cycle among {sorted(remaining)}")
        order.append(ready[0])
        del remaining[ready[0]]
        for deps in remaining.values():
            deps.discard(ready[0])
    return order


@lru_cache(maxsize=1)
def _default_data() -> dict[str, Any]:
    return tomllib.loads(resources.files("course_utils").joinpath("manifest.toml").read_text(encoding="utf-8"))


def syllabus() -> dict[str, Syllabus]:
    """Every notebook's syllabus entry, by key, in the recommended order (planned notebooks included).

    A key with a syllabus entry but no ``[notebooks.NN]`` entry is a notebook being written.
    """
    entries = _parse_syllabus(_default_data())
    return {k: entries[k] for k in _topological(entries)}


def recommended_order() -> list[str]:
    """The notebooks in the order to take them: every notebook after those it builds on, else by number.

    >>> order = recommended_order()
    >>> order.index("03b") < order.index("02")     # 02 assumes a first network, which 03b introduces
    True
    """
    return list(syllabus())


def plans() -> dict[str, Plan]:
    """The example term plans (``[plans.NAME]``), each checked against the syllabus's dependencies."""
    entries = _parse_syllabus(_default_data())
    out = {}
    for name, raw in _default_data().get("plans", {}).items():
        sessions = tuple(tuple(s) for s in raw["sessions"])
        seen: set[str] = set()
        for session in sessions:
            for key in session:
                if key not in entries:
                    raise ValueError(f"manifest: plan {name!r} lists {key!r}, which has no [syllabus] entry")
                missing = sorted(set(entries[key].builds_on) - seen)
                if missing:
                    raise ValueError(f"manifest: plan {name!r} schedules {key} before {missing}, which it builds on")
                seen.add(key)
        out[name] = Plan(name, raw["title"], raw["session_name"], sessions)
    return out


def minutes(duration: str) -> int:
    """Minutes in a duration written as the manifest writes it: ``"1 h 30"``, ``"2 h"``, ``"45 min"``.

    >>> minutes("1 h 30"), minutes("2 h"), minutes("45 min")
    (90, 120, 45)
    """
    import re

    match = re.fullmatch(r"(?:(\d+) h)?(?: ?(\d+)(?: min)?)?", duration.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"duration {duration!r} is not written like '1 h 30', '2 h' or '45 min'")
    hours, mins = (int(g) if g else 0 for g in match.groups())
    return 60 * hours + mins
