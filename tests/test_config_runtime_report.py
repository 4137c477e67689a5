"""config, runtime, report and the light import of course_utils."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys

import numpy as np
import pytest

from course_utils import config, report, runtime


def test_import_is_light():
    code = ("import course_utils, course_utils.datasets, course_utils.metrics, course_utils.config, sys; "
            "import course_utils.jets, course_utils.hillas, course_utils.compression, course_utils.tfdata; "
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_modes(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert config.fast_mode() and config.mode_name() == "fast" and config.scale(10, 2) == 2
    monkeypatch.setenv("COURSE_FAST", "0")
    assert not config.fast_mode() and config.scale(10, 2) == 10
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        config.fast_mode()
    monkeypatch.setenv("COURSE_OFFLINE", "yes")
    assert config.offline_mode()


def test_data_dir_override(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "d"))
    assert config.data_dir() == tmp_path / "d" and (tmp_path / "d").is_dir()


def test_set_seed_reproducible():
    config.set_seed(3)
    a = np.random.rand(3)
    config.set_seed(3)
    np.testing.assert_array_equal(a, np.random.rand(3))
    for bad in (-1, 1.5, "7", True):
        with pytest.raises(ValueError):
            config.set_seed(bad)


def test_describe_environment_cpu_only():
    info = runtime.describe_environment()
    assert info["cpu_count"] >= 1 and info["python"].count(".") == 2
    assert info["libraries"]["numpy"] == np.__version__
    text = runtime.format_environment({**info, "mode": "fast", "data_dir": "/x"})
    assert "mode: fast" in text and "CPU" in text


def test_torch_device_cpu():
    torch = pytest.importorskip("torch")
    assert runtime.torch_device("cpu") == torch.device("cpu")
    assert runtime.torch_device().type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown device"):
        runtime.torch_device("tpu")


def test_tf_strategy_cpu(capsys):
    pytest.importorskip("tensorflow")
    strategy = runtime.tf_strategy()
    assert strategy.num_replicas_in_sync >= 1
    assert "strategy" in capsys.readouterr().out


def test_record_and_table(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    report.record("02", auc=np.float64(0.85), pfn=report.vs(0.88, 0.90, "Komiske et al. 2019"))
    report.record("02", acc=0.8)
    data = json.loads((tmp_path / "results.json").read_text())
    assert set(data["02"]["metrics"]) == {"auc", "pfn", "acc"}
    table = report.results_table()
    assert "| 02 |" in table and "Komiske" in table and "0.88" in table
    assert report.write_markdown().read_text().count("| 02 |") == 3
    with pytest.raises(ValueError, match="source"):
        report.vs(1, 2, None)
    with pytest.raises(ValueError, match="NaN"):
        report.record("02", bad=float("nan"))
    with pytest.raises(ValueError, match="at least one"):
        report.record("02")


def _record_many(args):
    build, i = args
    import os

    os.environ["COURSE_BUILD_DIR"] = build
    from course_utils import report as r

    for j in range(10):
        r.record(f"nb{i}", **{f"m{j}": float(j)})


def test_record_parallel_processes_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_record_many, [(str(tmp_path), i) for i in range(4)])
    data = json.loads((tmp_path / "results.json").read_text())
    assert sorted(data) == [f"nb{i}" for i in range(4)]
    assert all(len(data[k]["metrics"]) == 10 for k in data)


def test_tf_strategy_tpu_failure_falls_back_with_reason(monkeypatch, capsys):
    pytest.importorskip("tensorflow")
    monkeypatch.setenv("COURSE_TRY_TPU", "1")
    strategy = runtime.tf_strategy()
    out = capsys.readouterr().out
    assert "no TPU via TPUClusterResolver" in out and "default strategy" in out
    assert strategy.num_replicas_in_sync == 1
