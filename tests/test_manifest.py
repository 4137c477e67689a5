"""The course manifest (course_utils/manifest.toml): its API, and the notebooks' sizes read from it only.

The static check reads every notebook's code cells with ``ast`` and fails when a notebook

* passes a size to a dataset's ``load()`` (``n=``, ``image_size=``, ``pileup=``) that is a number, a
  ``config.scale(...)``, or a name not taken from ``manifest.size``/``manifest.load_args``;
* gives an ``epochs=``/``max_epochs=`` argument, or a size-like name (``N_JETS``, ``EPOCHS``...), a number
  chosen by ``config.scale(...)`` or written as a literal;
* reads a size that its manifest entry does not list, or leaves one of its entry's sizes unread.

``test_scan_catches_*`` run the check on crafted notebooks, so that it is seen to fail.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest

from course_utils import manifest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
DATASETS = ("brain_mri", "calo", "cms_dimuon", "higgs", "jetclass", "lhco", "magic", "quark_gluon", "trackml")
#: Keyword arguments of a dataset's load() that are sizes.
LOAD_SIZES = {"n", "image_size", "pileup"}
#: Keyword arguments of any call that are sizes.
EPOCH_ARGS = {"epochs", "max_epochs"}
#: A notebook's size parameters, upper case by convention (batch sizes, learning rates, folds and timing runs
#: are not sizes: they stay in the notebooks; lower-case names are derived values or references).
SIZE_NAME = re.compile(r"EPOCH|^N_|IMAGE_SIZE|PILEUP|EVENTS|JETS|SHOWERS|^BIG$|^BUDGET$")
NOT_SIZE = re.compile(r"BATCH|FOLD")
MANIFEST_CALLS = {"size", "load_args"}


# --- the API -------------------------------------------------------------------------------------------


def test_every_notebook_has_one_entry():
    files = {entry.file for entry in manifest.notebooks().values()}
    assert files == {p.name for p in NOTEBOOKS}
    for key, entry in manifest.notebooks().items():
        assert entry.file.split("_", 1)[0] == key, (key, entry.file)
        assert entry.title and entry.duration and entry.hardware and entry.data
        for sample in entry.datasets.values():
            assert sample.dataset in DATASETS, (key, sample)


def test_size_follows_the_mode(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert manifest.size("07", "trackml.n") == 20 == manifest.size("07", "trackml.n", mode="fast")
    monkeypatch.setenv("COURSE_FAST", "0")
    assert manifest.size("07", "trackml.n") == 66
    assert manifest.size("03a", "magic.n", mode="fast") == manifest.size("03a", "magic.n", mode="full") == 19_020
    assert manifest.size("03a", "events", mode="full") is None          # "all"
    assert manifest.size("07", "epochs", mode="fast") == 40
    assert manifest.notebook("07_tracking_gnn.ipynb") is manifest.notebook("07")


def test_load_args_leave_per_source_sizes_to_the_loader():
    assert manifest.load_args("02", "quark_gluon", mode="fast") == {"n": 1_600, "seed": 42}
    assert manifest.load_args("04", "higgs", mode="full") == {"seed": 42}
    assert manifest.size("04", "higgs.n", mode="full", source="real") == 200_000
    with pytest.raises(ValueError, match="depends on the source"):
        manifest.size("04", "higgs.n", mode="full")
    assert manifest.load_args("10", "quark_gluon", mode="full") == {"n": 40_000, "seed": 42}


@pytest.mark.parametrize("call, message", [
    (lambda: manifest.notebook("99"), "not in the manifest"),
    (lambda: manifest.size("07", "trackml.nope"), "no dataset argument"),
    (lambda: manifest.size("07", "epoch"), "no size 'epoch'"),
    (lambda: manifest.size("07", "epochs", mode="quick"), "mode must be"),
    (lambda: manifest.size("04", "higgs.n", source="measured"), "source must be"),
    (lambda: manifest.load_args("07", "calo"), "no dataset sample"),
])
def test_bad_requests_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("body, message", [
    ("", "no \\[notebooks.NN\\]"),
    ('[notebooks.00]\ntitle = "t"\n', "lacks"),
    ('[notebooks.00]\nfile="f"\ntitle="t"\nduration="d"\nhardware="h"\ndata="x"\nfoo=1\n', "unknown keys"),
    ('[notebooks.00]\nfile="f"\ntitle="t"\nduration="d"\nhardware="h"\ndata="x"\n'
     '[notebooks.00.sizes]\nepochs = { full = 3 }\n', "exactly the keys"),
    ('[notebooks.00]\nfile="f"\ntitle="t"\nduration="d"\nhardware="h"\ndata="x"\n'
     '[notebooks.00.sizes]\nepochs = "many"\n', "a size is a number"),
    ('[notebooks.00]\nfile="f"\ntitle="t"\nduration="d"\nhardware="h"\ndata="x"\n'
     '[notebooks.00.sizes]\nepochs = { real = 1, simulated = 2 }\n', "only a loader argument"),
])
def test_malformed_manifest_is_refused(tmp_path, body, message):
    path = tmp_path / "manifest.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        manifest.read(path)


def test_prepared_samples_cover_each_load_once():
    calls = manifest.prepared_samples("fast")
    idents = [(d, json.dumps(kw, sort_keys=True)) for d, kw, _ in calls]
    assert len(idents) == len(set(idents))
    qg = [(kw, nbs) for d, kw, nbs in calls if d == "quark_gluon" and "settings" not in kw]
    assert ({"n": 1_600, "seed": 42}, ["02", "06", "10"]) in qg         # one cache, three notebooks
    assert ({"n": 300, "seed": 42}, ["11"]) in qg                       # notebook 11's smaller transfer sample
    files = [kw["seed"] for d, kw, _ in calls if d == "cms_dimuon" and kw.get("source") == "simulated"]
    assert files == manifest.size("01b", "cms_dimuon.seeds", mode="fast")
    assert not any(nbs == ["00"] and kw.get("n") == 500 for _, kw, nbs in calls)  # prepare = false


def test_package_data_declared():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "manifest.toml" in data["tool"]["setuptools"]["package-data"]["course_utils"]


# --- sizes that the loaders decide from the source: the manifest and the loader agree ------------------


@pytest.mark.parametrize("fast", ["0", "1"])
def test_loader_defaults_agree_with_the_manifest(monkeypatch, fast):
    from course_utils.datasets import cms_dimuon, higgs
    from course_utils.datasets.brain_mri import simulation as mri_simulation

    monkeypatch.setenv("COURSE_FAST", fast)
    for source in manifest.SOURCES:
        assert cms_dimuon.default_n(source) == manifest.size("01", "cms_dimuon.n", source=source)
        assert higgs.default_n(source) == manifest.size("04", "higgs.n", source=source)
    assert sum(mri_simulation.split_sizes(None)) == manifest.size("05", "brain_mri.n", source="simulated")


# --- the static scan --------------------------------------------------------------------------------------


def _code(nb: dict) -> str:
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    # IPython magics and shell lines are not Python
    return "\n".join("\n".join(ln for ln in "".join(c["source"]).splitlines() if not ln.lstrip().startswith(("%", "!")))
                     for c in cells)


def _is_manifest_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MANIFEST_CALLS
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "manifest")


def _has_number_or_scale(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, (int, float)) and not isinstance(sub.value, bool):
            return True
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "scale":
            return True
    return False


def _from_manifest(node: ast.AST, bound: dict[str, list[ast.AST]]) -> bool:
    """True when every name in ``node`` is bound from a manifest call, and no number is written in it.

    A function's parameter counts as bound (``bound[name] == []``): its default and its callers are checked.
    """
    if any(_is_manifest_call(sub) for sub in ast.walk(node)) and not _has_number_or_scale(node):
        return True
    if _has_number_or_scale(node):
        return False
    names = [sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)]
    return bool(names) and all(
        name in bound and all(any(_is_manifest_call(s) for s in ast.walk(v)) for v in bound[name]) for name in names)


def _bindings(tree: ast.AST) -> dict[str, list[ast.AST]]:
    """Every name's assigned values; a function parameter with no assignment maps to []."""
    bound: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        bound.setdefault(name.id, []).append(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.arg not in bound:
            bound[node.arg] = []
    return bound


def scan(code: str, key: str, entries: dict[str, manifest.Notebook] | None = None) -> list[str]:
    """Sizes in a notebook's code that do not come from its manifest entry ``key`` (one message each)."""
    entries = manifest.notebooks() if entries is None else entries
    tree = ast.parse(code)
    bound = _bindings(tree)
    problems = []
    used: set[str] = set()
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            is_load = (isinstance(func, ast.Attribute) and func.attr == "load" and isinstance(func.value, ast.Name)
                       and func.value.id in DATASETS)
            for kw in node.keywords:
                if (is_load and kw.arg in LOAD_SIZES) or kw.arg in EPOCH_ARGS:
                    if not _from_manifest(kw.value, bound):
                        problems.append(f"{where}: {ast.unparse(node.func)}({kw.arg}={ast.unparse(kw.value)}) "
                                        "is not read from the manifest")
            if is_load and any(not isinstance(a, ast.Constant) or not isinstance(a.value, str) for a in node.args):
                problems.append(f"{where}: {ast.unparse(node)}: sizes go by keyword, from the manifest")
            if _is_manifest_call(node):
                args = [a.value if isinstance(a, ast.Constant) else None for a in node.args[:2]]
                if args[0] != key:
                    problems.append(f"{where}: {ast.unparse(node)} reads another notebook's entry (this is {key})")
                    continue
                entry = entries[key]
                name = args[1]
                if func.attr == "load_args":
                    if name not in entry.datasets:
                        problems.append(f"{where}: {ast.unparse(node)}: no sample {name!r} in the manifest")
                    used.add(name)
                else:
                    sample, dot, arg = (name or "").partition(".")
                    ok = (sample in entry.datasets and arg in entry.datasets[sample].args) if dot else name in entry.sizes
                    if not ok:
                        problems.append(f"{where}: {ast.unparse(node)}: {name!r} is not in the manifest")
                    used.add(sample if dot else name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call | ast.Constant | ast.BinOp):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for name in names:
                if SIZE_NAME.search(name) and not NOT_SIZE.search(name) and _has_number_or_scale(node.value) \
                        and not _from_manifest(node.value, bound):
                    if isinstance(node.value, ast.Call) and not (isinstance(node.value.func, ast.Attribute)
                                                                 and node.value.func.attr == "scale"):
                        continue   # len(...), min(n, len(x)): derived, not written
                    problems.append(f"{where}: {name} = {ast.unparse(node.value)} is a size written in the notebook")
        elif isinstance(node, ast.arguments):
            for arg, default in zip(node.args[len(node.args) - len(node.defaults):] + node.kwonlyargs,
                                    node.defaults + node.kw_defaults):
                if default is not None and arg.arg in EPOCH_ARGS and not _from_manifest(default, bound):
                    problems.append(f"{where}: default {arg.arg}={ast.unparse(default)} is not read from the manifest")
    entry = entries[key]
    unread = (set(entry.datasets) | set(entry.sizes)) - used
    problems += [f"manifest entry {key}: {name!r} is never read by the notebook" for name in sorted(unread)]
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_sizes_come_from_the_manifest(path):
    key = path.stem.split("_", 1)[0]
    problems = scan(_code(json.loads(path.read_text(encoding="utf-8"))), key)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


GOOD = """
from course_utils import manifest
N_JETS = manifest.size("02", "quark_gluon.n")
ds = quark_gluon.load(**manifest.load_args("02", "quark_gluon"))
again = quark_gluon.load(n=N_JETS, seed=42)
fit(model, epochs=manifest.size("02", "epochs_cnn"))
fit(model, epochs=manifest.size("02", "epochs_pfn"))
sizes = manifest.size("02", "learning_curve")
"""


def test_scan_accepts_sizes_read_from_the_manifest():
    assert scan(GOOD, "02") == []


@pytest.mark.parametrize("change, message", [
    ('again = quark_gluon.load(n=20000, seed=42)', "is not read from the manifest"),
    ('again = quark_gluon.load(n=config.scale(full=20_000, fast=1_600))', "is not read from the manifest"),
    ('N_JETS = 20_000\nagain = quark_gluon.load(n=N_JETS)', "is not read from the manifest"),
    ('again = quark_gluon.load(n=2 * N_JETS)', "is not read from the manifest"),
    ('ds = brain_mri.load(image_size=64)', "is not read from the manifest"),
    ('N_EVENTS = config.scale(full=80, fast=16)', "a size written in the notebook"),
    ('fit(model, epochs=config.scale(full=12, fast=8))', "is not read from the manifest"),
    ('fit(model, epochs=30)', "is not read from the manifest"),
    ('fit(model, epochs=3 * N_JETS)', "is not read from the manifest"),
    ("def train(x, epochs):\n    fit(x, epochs=epochs)\ntrain(1, epochs=5)", "train(epochs=5)"),
    ('def train(x, *, epochs=config.scale(full=60, fast=15)):\n    pass', "default epochs="),
    ('EPOCHS = 12', "a size written in the notebook"),
    ('x = manifest.size("02", "epochs_gnn")', "not in the manifest"),
    ('x = manifest.size("07", "epochs")', "another notebook's entry"),
    ('x = manifest.load_args("02", "calo")', "no sample 'calo'"),
])
def test_scan_catches_sizes_written_in_a_notebook(change, message):
    problems = scan(GOOD + change + "\n", "02")
    assert any(message in p for p in problems), problems


def test_scan_catches_a_size_the_notebook_never_reads():
    code = GOOD.replace('fit(model, epochs=manifest.size("02", "epochs_pfn"))\n', "")
    assert scan(code, "02") == ["manifest entry 02: 'epochs_pfn' is never read by the notebook"]


def test_scan_reads_a_crafted_notebook_file(tmp_path):
    """End to end on a notebook file: a literal n=20000 in a load call fails."""
    cells = [{"cell_type": "code", "source": textwrap.dedent(GOOD), "metadata": {}, "outputs": [],
              "execution_count": None},
             {"cell_type": "code", "source": "%matplotlib inline\nds = quark_gluon.load(n=20000)\n", "metadata": {},
              "outputs": [], "execution_count": None}]
    path = tmp_path / "02_crafted.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    problems = scan(_code(json.loads(path.read_text())), "02")
    assert problems == ["line 9: quark_gluon.load(n=20000) is not read from the manifest"]


# --- the other readers: the title cells, `make data` ------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_title_cell_states_the_manifest_duration(path):
    """The title cell's duration line is the manifest's, as written there (tests/test_notebook_skeleton.py
    checks the rest of the title cell)."""
    title = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    found = re.search(r"^\*\*Durée estimée :\*\* (.*)$", title, flags=re.M)
    assert found, f"{path.name}: no '**Durée estimée :**' line in the title cell"
    assert found.group(1) == manifest.notebook(path.name).duration


def test_make_data_prepares_the_manifest_samples(monkeypatch, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("prepare_data", ROOT / "scripts" / "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("COURSE_FAST", "1")
    assert module.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "trackml.load(n=20, pileup=5) for notebook(s) 07" in out
    assert "quark_gluon.load(n=1600, seed=42) for notebook(s) 02, 06, 10" in out
    assert "magic.load(n=500)" not in out                      # the offline demonstration of 00 is not prepared
    assert out.count(".load(") == len(manifest.prepared_samples("fast"))


def test_manifest_is_the_lowest_layer():
    """course_utils.manifest imports config only: no dataset, no torch, no TensorFlow."""
    import subprocess
    import sys

    code = ("import sys; from course_utils import manifest; manifest.notebooks(); "
            "print(sorted(m for m in sys.modules if m.startswith(('course_utils.', 'torch', 'tensorflow'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['course_utils.config', 'course_utils.manifest']"
