"""The helpers of notebook 06 (course_utils.models.compression) on small synthetic taggers."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from course_utils.metrics import compression as cm  # noqa: E402
from course_utils.metrics import hep  # noqa: E402
from course_utils.models import compression as cmp  # noqa: E402


def _toy(n: int = 1200, seed: int = 0, shift: float = 2.0) -> cmp.TaggerData:
    """Two Gaussian classes in 5 features; the first two separate them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 5)) * [3.0, 0.5, 1.0, 10.0, 1.0] + [100.0, 0.0, 0.0, 50.0, 0.0]
    X[:, 0] += shift * 3.0 * y
    X[:, 1] -= shift * 0.5 * y
    return cmp.TaggerData.from_arrays(X, y, ["a", "b", "c", "d", "e"], seed=seed)


@pytest.fixture(scope="module")
def toy():
    return _toy()


@pytest.fixture(scope="module")
def trained(toy):
    torch.manual_seed(0)
    model = cmp.build_mlp(toy.n_features, (32, 16))
    cmp.train_classifier(model, toy, epochs=8, lr=5e-3)
    return model


# --- data --------------------------------------------------------------------------

def test_split_sizes_stratified_and_standardised(toy):
    d = toy.details
    assert (d["n_train"], d["n_val"], d["n_test"]) == (720, 240, 240)
    for y in (toy.y_train, toy.y_val, toy.y_test):
        assert abs(y.mean() - np.concatenate([toy.y_train, toy.y_val, toy.y_test]).mean()) < 0.02
    np.testing.assert_allclose(toy.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(toy.X_train.std(axis=0), 1, atol=1e-4)
    assert toy.X_train.dtype == np.float32 and toy.y_train.dtype == np.int64
    # the statistics are the training set's: un-standardising gives the raw values back
    assert len(d["mean"]) == 5 and d["mean"][0] > 90


def test_split_is_reproducible_and_fingerprinted():
    a, b, c = _toy(seed=1), _toy(seed=1), _toy(seed=2)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


@pytest.mark.parametrize("features, y, names, message", [
    (np.ones((4, 2)), [0, 1, 0], ["a", "b"], "shape"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), [0, 1], ["a", "b"], "NaN"),
    (np.ones((4, 2)), [1, 1, 1, 1], ["a", "b"], "both labels"),
    (np.ones((4, 2)), [0, 1, 2, 1], ["a", "b"], "both labels"),
    (np.ones((4, 2)), [0, 1, 0, 1], ["a"], "feature names"),
    (np.ones((0, 2)), [], ["a", "b"], "non-empty"),
])
def test_bad_arrays_are_refused(features, y, names, message):
    with pytest.raises(ValueError, match=message):
        cmp.TaggerData.from_arrays(features, y, names)


def test_bad_fractions_are_refused():
    with pytest.raises(ValueError, match="fractions"):
        cmp.TaggerData.from_arrays(np.ones((10, 1)), [0, 1] * 5, ["a"], fractions=(0.6, 0.5))


# --- models and training -------------------------------------------------------------

def test_build_mlp_shapes_and_counts():
    model = cmp.build_mlp(8, (128, 128, 64))
    assert cm.count_parameters(model) == 8 * 128 + 128 + 128 * 128 + 128 + 128 * 64 + 64 + 64 + 1
    assert model(torch.zeros(3, 8)).shape == (3, 1)
    with pytest.raises(ValueError, match="positive"):
        cmp.build_mlp(8, (16, 0))


def test_training_learns_and_is_reproducible(toy):
    torch.manual_seed(0)
    a, b = cmp.build_mlp(5, (16,)), cmp.build_mlp(5, (16,))
    b.load_state_dict(a.state_dict())
    history = cmp.train_classifier(a, toy, epochs=20, lr=1e-2, seed=3)
    cmp.train_classifier(b, toy, epochs=20, lr=1e-2, seed=3)
    assert set(history) == {"loss", "val_loss", "auc", "val_auc"} and len(history["loss"]) == 20
    assert hep.auc(toy.y_test, cmp.predict_proba(a, toy.X_test)) > 0.9
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_progress_bars_show_and_change_nothing(toy, trained, capsys):
    # the bars (tqdm, on stderr) show the epochs, sparsities and latency rounds; the results are the same
    torch.manual_seed(1)
    a, b = cmp.build_mlp(5, (8,)), cmp.build_mlp(5, (8,))
    b.load_state_dict(a.state_dict())
    quiet = cmp.train_classifier(a, toy, epochs=3, seed=2)
    assert "époque" not in capsys.readouterr().err
    shown = cmp.train_classifier(b, toy, epochs=3, seed=2, progress="élève")
    err = capsys.readouterr().err
    assert "élève" in err and "3/3" in err and "auc_val" in err
    assert quiet == shown
    rows_quiet, _ = cmp.pruning_sweep(trained, toy, [0.0, 0.5], finetune_epochs=1)
    rows_shown, _ = cmp.pruning_sweep(trained, toy, [0.0, 0.5], finetune_epochs=1, progress=True)
    assert "balayage" in capsys.readouterr().err and rows_quiet == rows_shown
    cmp.measure_variants([_variant("base", trained, toy)], data=toy, batch_sizes=(1, 8), runs=2, warmup=0,
                         progress=True)
    err = capsys.readouterr().err
    assert "lot de 1" in err and "lot de 8" in err


def test_restore_best_keeps_the_best_validation_epoch(toy):
    model = cmp.build_mlp(5, (16,))
    history = cmp.train_classifier(model, toy, epochs=6, lr=0.5)  # a learning rate that makes it unstable
    import torch.nn.functional as F

    with torch.no_grad():
        final = float(F.binary_cross_entropy_with_logits(model(torch.from_numpy(toy.X_val)),
                                                         torch.from_numpy(toy.y_val).float()[:, None]))
    assert final == pytest.approx(min(history["val_loss"]), rel=1e-5)


def test_training_restores_the_thread_count(toy):
    before = torch.get_num_threads()
    cmp.train_classifier(cmp.build_mlp(5, (4,)), toy, epochs=1)
    assert torch.get_num_threads() == before


def test_distillation_follows_the_teacher(toy, trained):
    student = cmp.build_mlp(5, (4,))
    cmp.train_classifier(student, toy, epochs=30, lr=1e-2, teacher=trained, alpha=0.0, temperature=1.0)
    p_t = cmp.predict_proba(trained, toy.X_test)
    p_s = cmp.predict_proba(student, toy.X_test)
    assert np.corrcoef(p_t, p_s)[0, 1] > 0.95
    with pytest.raises(ValueError, match="alpha"):
        cmp.train_classifier(student, toy, epochs=1, alpha=1.5)
    with pytest.raises(ValueError, match="epochs"):
        cmp.train_classifier(student, toy, epochs=0)


def test_predict_proba_shapes_and_half_models(toy, trained):
    p = cmp.predict_proba(trained, toy.X_test, batch_size=7)
    assert p.shape == (len(toy.X_test),) and ((p >= 0) & (p <= 1)).all()
    p_half = cmp.predict_proba(cmp.to_half(trained), toy.X_test)
    assert np.abs(p_half - p).max() < 5e-3
    with pytest.raises(ValueError, match="shape"):
        cmp.predict_proba(trained, toy.X_test[0])


# --- the cached baseline ---------------------------------------------------------------

def test_baseline_is_trained_once_then_read(data_dir, toy, capsys):
    model, info = cmp.baseline_tagger(toy, hidden=(8,), epochs=2, progress=True)
    assert "modèle de référence" in capsys.readouterr().err
    assert not info["cached"]
    path = info["path"]
    assert path.startswith(str(data_dir / "models" / "quark_gluon_mlp"))
    again, info2 = cmp.baseline_tagger(toy, hidden=(8,), epochs=2)
    assert info2["cached"] and info2["path"] == path
    assert info2["history"] == info["history"]
    for a, b in zip(model.parameters(), again.parameters()):
        torch.testing.assert_close(a, b)
    # other settings: another model, another file
    _, info3 = cmp.baseline_tagger(toy, hidden=(8,), epochs=3)
    assert info3["path"] != path and not info3["cached"]


def test_baseline_training_is_reproducible(data_dir, toy, monkeypatch, tmp_path):
    torch.rand(7)  # whatever the global random state, the same settings give the same model
    first, _ = cmp.baseline_tagger(toy, hidden=(8,), epochs=2, verbose=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "elsewhere"))
    torch.rand(3)
    second, info = cmp.baseline_tagger(toy, hidden=(8,), epochs=2, verbose=False)
    assert not info["cached"]
    for a, b in zip(first.parameters(), second.parameters()):
        torch.testing.assert_close(a, b)


def test_corrupt_cached_baseline_is_trained_again(data_dir, toy, capsys):
    _, info = cmp.baseline_tagger(toy, hidden=(8,), epochs=2)
    with open(info["path"], "r+b") as f:
        f.truncate(100)
    model, info2 = cmp.baseline_tagger(toy, hidden=(8,), epochs=2)
    assert not info2["cached"]
    assert "unreadable" in capsys.readouterr().out
    assert hep.auc(toy.y_test, cmp.predict_proba(model, toy.X_test)) > 0.8
    assert cmp.baseline_tagger(toy, hidden=(8,), epochs=2)[1]["cached"]


# --- pruning -----------------------------------------------------------------------

@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9])
def test_prune_global_reaches_the_sparsity_and_leaves_the_original(trained, sparsity):
    before = copy.deepcopy(trained.state_dict())
    pruned = cmp.prune_global(trained, sparsity)
    n_weights = sum(m.weight.numel() for m in cmp.linear_layers(trained))
    assert cmp.weight_sparsity(pruned) == pytest.approx(round(sparsity * n_weights) / n_weights)
    n_bias = sum(m.bias.numel() for m in cmp.linear_layers(trained))
    assert cm.count_nonzero(pruned) == n_weights - round(sparsity * n_weights) + n_bias
    for k, v in trained.state_dict().items():
        torch.testing.assert_close(v, before[k])
    # global: the kept weights are the largest in absolute value, all layers together
    kept = torch.cat([m.weight.detach().abs().flatten() for m in cmp.linear_layers(pruned)])
    orig = torch.cat([m.weight.detach().abs().flatten() for m in cmp.linear_layers(trained)])
    if sparsity > 0:
        assert orig[kept == 0].max() <= orig[kept != 0].min()


def test_prune_global_bad_sparsity(trained):
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="sparsity"):
            cmp.prune_global(trained, bad)
    with pytest.raises(ValueError, match="no nn.Linear"):
        cmp.prune_global(nn.ReLU(), 0.5)


def test_remove_pruning_keeps_the_values(trained, toy):
    pruned = cmp.prune_global(trained, 0.7)
    p = cmp.predict_proba(pruned, toy.X_test)
    cmp.remove_pruning(pruned)
    assert not any(name.endswith("_mask") for name, _ in pruned.named_buffers())
    np.testing.assert_allclose(cmp.predict_proba(pruned, toy.X_test), p)
    assert cmp.weight_sparsity(pruned) == pytest.approx(0.7, abs=1e-3)


def test_pruning_sweep(trained, toy):
    rows, models = cmp.pruning_sweep(trained, toy, [0.9, 0.0, 0.5], finetune_epochs=1)
    assert [r["sparsity"] for r in rows] == [0.0, 0.5, 0.9]
    for r in rows:
        assert r["measured_sparsity"] == pytest.approx(r["sparsity"], abs=1e-3)
        assert not any(n.endswith("_mask") for n, _ in models[r["sparsity"]].named_buffers())
    base_auc = hep.auc(toy.y_test, cmp.predict_proba(trained, toy.X_test))
    assert rows[0]["auc_oneshot"] == pytest.approx(base_auc)
    with pytest.raises(ValueError, match="empty"):
        cmp.pruning_sweep(trained, toy, [])


def test_sparse_bytes_round_trip(trained, toy):
    from scipy import sparse

    pruned = cmp.remove_pruning(cmp.prune_global(trained, 0.8))
    exact = cmp.from_sparse_bytes(cmp.sparse_bytes(pruned, bits=32), trained)
    for a, b in zip(cmp.linear_layers(pruned), cmp.linear_layers(exact)):
        torch.testing.assert_close(a.weight, b.weight, rtol=0, atol=0)
        torch.testing.assert_close(a.bias, b.bias, rtol=0, atol=0)
    approx8 = cmp.from_sparse_bytes(cmp.sparse_bytes(pruned, bits=8), trained)
    for a, b in zip(cmp.linear_layers(pruned), cmp.linear_layers(approx8)):
        w = a.weight.detach().numpy()
        step = np.abs(w).max(axis=1, keepdims=True) / 127
        assert (np.abs(b.weight.detach().numpy() - w) <= step / 2 + 1e-7).all()
        assert ((b.weight.detach().numpy() == 0) == (w == 0)).all()  # same sparsity pattern as scipy's CSR
        assert sparse.csr_matrix(w).nnz == int((b.weight != 0).sum())
    p = cmp.predict_proba(approx8, toy.X_test)
    assert abs(hep.auc(toy.y_test, p) - hep.auc(toy.y_test, cmp.predict_proba(pruned, toy.X_test))) < 0.01


def test_sparse_bytes_shrink_with_sparsity_and_bits(trained):
    sizes = {s: len(cmp.sparse_bytes(cmp.remove_pruning(cmp.prune_global(trained, s)), bits=32))
             for s in (0.0, 0.5, 0.9)}
    assert sizes[0.0] > sizes[0.5] > sizes[0.9]
    # int8 values carry one float32 scale per row: they pay off once rows hold enough weights
    m = cmp.remove_pruning(cmp.prune_global(cmp.build_mlp(16, (128, 128)), 0.5))
    assert len(cmp.sparse_bytes(m, bits=32)) > len(cmp.sparse_bytes(m, bits=16)) > len(cmp.sparse_bytes(m, bits=8))
    with pytest.raises(ValueError, match="bits"):
        cmp.sparse_bytes(m, bits=4)


def test_from_sparse_bytes_checks_the_template(trained):
    blob = cmp.sparse_bytes(trained)
    with pytest.raises(ValueError, match="layers"):
        cmp.from_sparse_bytes(blob, cmp.build_mlp(5, (32,)))
    with pytest.raises(ValueError, match="shape"):
        cmp.from_sparse_bytes(blob, cmp.build_mlp(5, (32, 8)))


def test_shrink_mlp_keeps_everything_at_keep_1(trained, toy):
    same = cmp.shrink_mlp(trained, 1.0)
    np.testing.assert_allclose(cmp.predict_proba(same, toy.X_test), cmp.predict_proba(trained, toy.X_test),
                               rtol=1e-5, atol=1e-6)


def test_shrink_mlp_sizes_and_drops_dead_neurons():
    model = cmp.build_mlp(4, (10, 6))
    with torch.no_grad():
        model[0].weight[3] = 0  # neuron 3 of the first hidden layer has no input ...
        model[0].bias[3] = 0
        model[2].weight[:, 7] = 0  # ... and neuron 7 no output: both are useless
    small = cmp.shrink_mlp(model, 0.8)
    assert [m.out_features for m in cmp.linear_layers(small)] == [8, 5, 1]
    assert cm.count_parameters(small) == 4 * 8 + 8 + 8 * 5 + 5 + 5 + 1
    # the first hidden layer kept exactly the 8 live neurons, unchanged and in order
    x = torch.randn(50, 4)
    alive = [i for i in range(10) if i not in (3, 7)]
    torch.testing.assert_close(torch.relu(small[0](x)), torch.relu(model[0](x))[:, alive])
    assert small(x).shape == model(x).shape


def test_shrink_mlp_bad_input():
    with pytest.raises(ValueError, match="keep"):
        cmp.shrink_mlp(cmp.build_mlp(4, (8,)), 0.0)
    with pytest.raises(ValueError, match="Sequential"):
        cmp.shrink_mlp(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)), 0.5)


# --- quantization ------------------------------------------------------------------

def test_quantized_variants_agree_with_float(trained, toy):
    p = cmp.predict_proba(trained, toy.X_test)
    variants = {"dynamic": cmp.quantize_dynamic(trained),
                "static": cmp.quantize_static(trained, toy.X_train[:300])}
    qat = cmp.prepare_qat(trained)
    cmp.train_classifier(qat, toy, epochs=1, lr=1e-4)
    variants["qat"] = cmp.convert_qat(qat)
    for name, q in variants.items():
        pq = cmp.predict_proba(q, toy.X_test)
        cm.check_same_output(p, pq)
        assert np.abs(pq - p).max() < 0.1, name
        assert abs(hep.auc(toy.y_test, pq) - hep.auc(toy.y_test, p)) < 0.02, name
        assert cm.count_parameters(q) == cm.count_parameters(trained), name
    # the float model is untouched
    np.testing.assert_allclose(cmp.predict_proba(trained, toy.X_test), p)


def test_int8_is_smaller_for_a_large_model():
    model = cmp.build_mlp(64, (256, 256))
    ratio = cm.compression_ratio(model, cmp.quantize_dynamic(model), by="bytes")
    assert 3.0 < ratio < 4.0
    assert cm.compression_ratio(model, cmp.to_half(model), by="bytes") == pytest.approx(2.0, rel=0.03)


def test_quantize_static_needs_calibration_data(trained):
    with pytest.raises(ValueError, match="X_calib"):
        cmp.quantize_static(trained, np.zeros((0, 5)))


def test_quantization_engine():
    assert cmp.quantization_engine() in torch.backends.quantized.supported_engines
    assert torch.backends.quantized.engine == cmp.quantization_engine()


# --- ONNX ----------------------------------------------------------------------------

def test_onnx_export_run_and_quantize(tmp_path, toy):
    pytest.importorskip("onnxruntime")
    model = cmp.build_mlp(toy.n_features, (256, 256))
    cmp.train_classifier(model, toy, epochs=1)
    path = cmp.export_onnx(model, tmp_path / "m.onnx", toy.n_features)
    assert path.is_file() and not list(tmp_path.glob("*.data")), "one self-contained file"
    runner = cmp.onnx_runner(cmp.onnx_session(path, threads=1), toy.X_test)
    p_torch = cmp.predict_proba(model, toy.X_test)
    np.testing.assert_allclose(runner.predict(toy.X_test), p_torch, atol=1e-5)
    assert runner.call(7)()[0].shape == (7, 1)  # dynamic batch size
    qpath = cmp.quantize_onnx(path, tmp_path / "q.onnx")
    assert 2.5 < cm.serialized_size(path) / cm.serialized_size(qpath) < 4.1
    assert not (tmp_path / "q.pre.onnx").exists()
    pq = cmp.onnx_runner(cmp.onnx_session(qpath), toy.X_test).predict(toy.X_test)
    assert np.abs(pq - p_torch).max() < 0.1


# --- benchmark -----------------------------------------------------------------------

def _variant(name, model, toy):
    return cmp.Variant(name, cmp.torch_runner(model, toy.X_test), stored=model, params=model, technique="t",
                       stored_as="torch.save")


def test_measure_variants_and_table(trained, toy):
    small = cmp.build_mlp(5, (4,))
    cmp.train_classifier(small, toy, epochs=5, lr=1e-2)
    results = cmp.measure_variants([_variant("base", trained, toy), _variant("small", small, toy)], data=toy,
                                   batch_sizes=(1, 64), runs=3, warmup=1)
    r = results[0]
    assert r.n_parameters == cm.count_parameters(trained) and r.size_bytes == cm.serialized_size(trained)
    assert r.auc == pytest.approx(hep.auc(toy.y_test, cmp.predict_proba(trained, toy.X_test)))
    assert set(r.latency) == {1, 64} and r.latency[1]["runs"] == 3
    assert r.threads == torch.get_num_threads()
    # the working point: about half of the quarks pass (threshold set on the validation set)
    assert 0.35 < r.signal_efficiency < 0.65 and r.background_rejection > 1
    table = cmp.benchmark_table(results, baseline="base")
    assert table.loc["base", "compression (bytes)"] == 1 and table.loc["base", "ΔAUC"] == 0
    assert table.loc["base", "speedup b=1"] == 1
    assert table.loc["small", "compression (bytes)"] == pytest.approx(r.size_bytes / results[1].size_bytes)
    assert table.loc["small", "ΔAUC"] == pytest.approx(r.auc - results[1].auc)
    assert not table.select_dtypes("number").isna().any().any()


def test_measure_variants_bad_input(trained, toy):
    v = _variant("base", trained, toy)
    with pytest.raises(ValueError, match="unique"):
        cmp.measure_variants([v, v], data=toy, runs=1)
    with pytest.raises(ValueError, match="Variant objects"):
        cmp.measure_variants([trained], data=toy, runs=1)
    with pytest.raises(ValueError, match="no variant"):
        cmp.measure_variants([], data=toy)


def test_compare_latency_interleaves_and_summarises(monkeypatch):
    order = []
    fns = {"a": lambda: order.append("a"), "b": lambda: order.append("b"), "c": lambda: order.append("c")}
    out = cmp.compare_latency(fns, runs=20, warmup=2)
    assert set(out) == {"a", "b", "c"} and all(v["runs"] == 20 for v in out.values())
    timed = order[3 * 3:]  # warm-up: 2 + 1 calls each (cm.latency with runs=1 after warmup=2)
    assert len(timed) == 60
    rounds = [timed[i:i + 3] for i in range(0, 60, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds), "every round runs each function once"
    assert len({tuple(r) for r in rounds}) > 1, "the order changes between rounds"
    for v in out.values():
        assert v["min"] <= v["p10"] <= v["median"] <= v["p90"] <= v["max"]
    with pytest.raises(ValueError, match="empty"):
        cmp.compare_latency({})
    with pytest.raises(ValueError, match="runs"):
        cmp.compare_latency(fns, runs=0)


def test_compare_latency_sees_a_slower_function():
    import time

    out = cmp.compare_latency({"fast": lambda: None, "slow": lambda: time.sleep(0.002)}, runs=5, warmup=1)
    assert out["slow"]["min"] >= 0.0019 > out["fast"]["median"]
    assert cm.speedup(out["slow"], out["fast"]) > 10


def test_benchmark_table_takes_measurements_only(trained, toy):
    r = cmp.measure_variants([_variant("base", trained, toy)], data=toy, batch_sizes=(1,), runs=1, warmup=0)[0]
    with pytest.raises(ValueError, match="VariantResult"):
        cmp.benchmark_table([r, {"name": "typed by hand", "auc": 0.99}])
    with pytest.raises(ValueError, match="same name"):
        cmp.benchmark_table([r, r])
    with pytest.raises(ValueError, match="baseline"):
        cmp.benchmark_table([r], baseline="absent")
    with pytest.raises(ValueError, match="no result"):
        cmp.benchmark_table([])


def test_pareto_front_hand_worked():
    cost = [1, 2, 3, 4, 2]
    score = [0.5, 0.7, 0.6, 0.9, 0.7]
    # (3, 0.6) is dominated by (2, 0.7); the two equal points (2, 0.7) do not dominate each other
    np.testing.assert_array_equal(cmp.pareto_front(cost, score), [True, True, False, True, True])
    with pytest.raises(ValueError):
        cmp.pareto_front([1, 2], [0.5])
    with pytest.raises(ValueError):
        cmp.pareto_front([1, math.nan], [0.5, 0.6])


def test_module_does_not_import_torch_at_import():
    import subprocess
    import sys

    code = "import sys, course_utils.models.compression; sys.exit('torch' in sys.modules or 'onnx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


_TWO_PROCESSES = """
import sys
import numpy as np
from course_utils.models import compression as cmp
rng = np.random.default_rng(0)
y = rng.integers(0, 2, 600)
X = rng.normal(size=(600, 3)) + 2.0 * y[:, None]
data = cmp.TaggerData.from_arrays(X, y, ["a", "b", "c"])
model, info = cmp.baseline_tagger(data, hidden=(8,), epochs=3, verbose=False)
w = float(sum(p.detach().double().sum() for p in model.parameters()))
print(f"RESULT {int(info['cached'])} {w!r}")
"""


@pytest.mark.slow
def test_two_processes_train_the_baseline_once(data_dir):
    import os
    import subprocess
    import sys

    env = dict(os.environ, COURSE_DATA_DIR=str(data_dir))
    procs = [subprocess.Popen([sys.executable, "-c", _TWO_PROCESSES], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    results = [line.split()[1:] for out, _ in outs for line in out.splitlines() if line.startswith("RESULT")]
    assert sorted(r[0] for r in results) == ["0", "1"], "one process trains, the other reads its cache"
    assert results[0][1] == results[1][1], "both hold the same weights"
    files = list((data_dir / "models" / "quark_gluon_mlp").glob("*.pt"))
    assert len(files) == 1 and not list(files[0].parent.glob("*.part"))
