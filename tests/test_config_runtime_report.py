"""config, runtime, report and the light import of course_utils."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest

from course_utils import config, report, runtime


def test_import_is_light():
    # course_utils.models.adversarial is left out on purpose: its classes are torch modules, and only
    # notebook 10, which trains them, imports it.
    code = ("import course_utils, course_utils.datasets, course_utils.metrics, course_utils.config, sys, pkgutil; "
            "import course_utils.compute.cluster, course_utils.compute.tfdata, course_utils.validation; "
            "import course_utils.models.compression, course_utils.models.cwola; "
            "import course_utils.metrics.generative, course_utils.metrics.sideband_fit; "
            "import course_utils.physics as p; [__import__(f'course_utils.physics.{m.name}') "
            "for m in pkgutil.iter_modules(p.__path__)]; "
            "from course_utils import datasets as d; [getattr(d, n) for n in d.DATASETS]; "
            "heavy = [m for m in ('torch', 'tensorflow', 'dask', 'distributed') if m in sys.modules]; "
            "assert not heavy, f'heavy import: {heavy}'")
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


def test_mode_is_chosen_on_binder_and_small_machines(monkeypatch):
    for v in ("COURSE_FAST", *config.BINDER_VARIABLES):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(config, "memory_limit_bytes", lambda: 24 * 2**30)
    assert not config.fast_mode() and config.mode_reason() == "par défaut"
    monkeypatch.setenv("BINDER_LAUNCH_HOST", "https://mybinder.org/")
    assert config.fast_mode() and "Binder" in config.mode_reason()
    monkeypatch.setenv("COURSE_FAST", "0")  # the learner asks for the full mode: it wins
    assert not config.fast_mode() and config.mode_reason() == "COURSE_FAST=0"
    monkeypatch.setattr(config, "memory_limit_bytes", lambda: 2 * 2**30)  # ... with a warning on 2 GB
    assert not config.fast_mode() and config.mode_reason().startswith("COURSE_FAST=0 ; attention : 2.0 Go")
    monkeypatch.setattr(config, "memory_limit_bytes", lambda: 24 * 2**30)
    monkeypatch.delenv("COURSE_FAST")
    monkeypatch.delenv("BINDER_LAUNCH_HOST")
    monkeypatch.setattr(config, "memory_limit_bytes", lambda: 3 * 2**30)
    assert config.fast_mode() and "3.0 Go de mémoire" in config.mode_reason()
    monkeypatch.setattr(config, "memory_limit_bytes", lambda: None)  # unknown: the full mode
    assert not config.fast_mode()


def test_memory_limit_reads_the_cgroup_then_the_ram():
    limit = config.memory_limit_bytes()
    assert limit is None or limit > 2**28, limit


def test_first_cell_says_the_mode_and_how_to_change_it(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    text = runtime.format_environment({"python": "3.11", "platform": "linux", "cpu_count": 2,
                                       "mode": config.mode_name(), "mode_reason": config.mode_reason()})
    assert "mode rapide (COURSE_FAST=1 ; pour en changer : os.environ['COURSE_FAST'] = '0'" in text


def test_data_dir_override(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "d"))
    assert config.data_dir() == tmp_path / "d" and (tmp_path / "d").is_dir()
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "b"))
    assert config.build_dir() == tmp_path / "b" and (tmp_path / "b").is_dir()


def test_in_checkout_needs_the_course_pyproject(tmp_path):
    assert config.in_checkout()  # the tests run from a clone
    assert not config.in_checkout(tmp_path)
    (tmp_path / "course_utils").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "some_other_project"\n')
    assert not config.in_checkout(tmp_path), "another project's pyproject.toml beside site-packages"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "course_utils"\n')
    assert config.in_checkout(tmp_path)


def test_defaults_outside_a_checkout(tmp_path, monkeypatch):
    """Installed from a wheel: caches in the per-user cache folder, results in ./build."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(config, "REPO_ROOT", site)
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_BUILD_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    if sys.platform.startswith("linux"):
        assert config.data_dir() == tmp_path / "cache" / "course_utils"
    assert not config.data_dir().is_relative_to(site)
    assert config.build_dir() == tmp_path / "build"
    assert sorted(p.name for p in site.iterdir()) == [], "nothing is written beside the package"


def test_defaults_in_a_checkout(tmp_path, monkeypatch):
    (tmp_path / "course_utils").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "course_utils"\n')
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_BUILD_DIR", raising=False)
    assert config.data_dir() == tmp_path / "data" and config.build_dir() == tmp_path / "build"


def test_set_seed_reproducible():
    config.set_seed(3)
    a = np.random.rand(3)
    config.set_seed(3)
    np.testing.assert_array_equal(a, np.random.rand(3))
    for bad in (-1, 1.5, "7", True):
        with pytest.raises(ValueError):
            config.set_seed(bad)


def test_describe_environment_reads_this_machine():
    info = runtime.describe_environment()
    assert info["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert info["cpu_count"] == os.cpu_count()
    assert info["libraries"]["numpy"] == np.__version__
    text = runtime.format_environment({**info, "mode": "fast", "data_dir": "/x"})
    assert f"Python {info['python']}" in text and "mode rapide" in text and f"{os.cpu_count()} CPU" in text


def test_describe_environment_lists_gpus_and_tpu(tmp_path, monkeypatch):
    """GPU names come from nvidia-smi's CSV; a TPU runtime is seen from its variables."""
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'NVIDIA H200'\necho 'NVIDIA H200'\n")
    smi.chmod(0o755)
    monkeypatch.setattr(runtime.shutil, "which", lambda name: str(smi) if name == "nvidia-smi" else None)
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    info = runtime.describe_environment()
    assert info["gpus"] == ["NVIDIA H200", "NVIDIA H200"] and info["tpu"] is True
    text = runtime.format_environment(info)
    assert "2 GPU (NVIDIA H200)" in text and "TPU" in text
    monkeypatch.setattr(runtime.shutil, "which", lambda name: None)
    monkeypatch.delenv("COLAB_TPU_ADDR")
    monkeypatch.setattr(runtime, "_safe_listdir", lambda path: [])
    info = runtime.describe_environment()
    assert info["gpus"] == [] and info["tpu"] is False and "GPU" not in runtime.format_environment(info)


def test_library_versions_counts_cpu_builds(monkeypatch):
    real = runtime.importlib.metadata.version

    def version(name):
        if name == "xgboost":
            raise runtime.importlib.metadata.PackageNotFoundError(name)
        return "3.2.0" if name == "xgboost-cpu" else real(name)

    monkeypatch.setattr(runtime.importlib.metadata, "version", version)
    got = runtime.library_versions(("xgboost", "numpy", "no-such-distribution"))
    assert got == {"xgboost": "3.2.0", "numpy": np.__version__, "no-such-distribution": None}


@pytest.fixture
def fake_accelerators(monkeypatch):
    """Pretend which torch devices exist: ``fake_accelerators(cuda=True, mps=False)``."""
    torch = pytest.importorskip("torch")
    monkeypatch.delenv("COURSE_DEVICE", raising=False)

    def set_(cuda: bool, mps: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_


def test_torch_device_prefers_cuda_then_mps_then_cpu(fake_accelerators):
    fake_accelerators(cuda=True, mps=True)
    assert runtime.torch_device().type == "cuda"
    fake_accelerators(cuda=False, mps=True)
    assert runtime.torch_device().type == "mps"
    fake_accelerators(cuda=False, mps=False)
    assert runtime.torch_device().type == "cpu"
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available"):
        runtime.torch_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        runtime.torch_device("tpu")


def test_torch_device_honours_course_device(fake_accelerators, monkeypatch):
    fake_accelerators(cuda=True, mps=False)
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert runtime.torch_device().type == "cpu", "COURSE_DEVICE=cpu times a GPU machine's CPU"
    assert runtime.torch_device("cuda").type == "cuda", "an explicit argument wins"
    monkeypatch.setenv("COURSE_DEVICE", "mps")
    with pytest.raises(ValueError, match="'mps' was asked for"):
        runtime.torch_device()


def test_tf_strategy_cpu(capsys):
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    strategy = runtime.tf_strategy()
    gpus = tf.config.list_physical_devices("GPU")
    assert strategy.num_replicas_in_sync == max(1, len(gpus))
    assert ("the CPU" in capsys.readouterr().out) == (not gpus)


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
