"""Compression metrics on models whose counts and sizes are known by construction."""

from __future__ import annotations

import copy
import io
import math
import warnings

import numpy as np
import pytest

from course_utils.metrics import compression as cm

torch = pytest.importorskip("torch")
nn = torch.nn


def _mlp(sizes: tuple[int, ...]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _n_linear(sizes: tuple[int, ...]) -> int:
    """Weights and biases of a chain of Linear layers, counted by hand."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _no_zero_weights(model: torch.nn.Module) -> None:
    """Weights 1, 2, 3... so that no parameter is zero and magnitudes are all distinct."""
    with torch.no_grad():
        start = 1.0
        for p in model.parameters():
            p.copy_(torch.arange(start, start + p.numel()).reshape(p.shape) / 1000)
            start += p.numel()


# --- counting parameters ------------------------------------------------------------

def test_dict_and_list_of_arrays():
    arrays = {"w": np.ones((3, 4)), "b": np.zeros(4)}
    assert cm.count_parameters(arrays) == 16
    assert cm.count_nonzero(arrays) == 12
    assert cm.count_parameters([np.ones(5), np.ones((2, 2))]) == 9
    assert set(cm.parameter_arrays(arrays)) == {"w", "b"}


@pytest.mark.parametrize("sizes", [(10, 5), (4, 8, 1), (16, 64, 32, 32, 5)])
def test_torch_linear_counts(sizes):
    model = _mlp(sizes)
    expected = _n_linear(sizes)
    assert cm.count_parameters(model) == expected
    assert cm.count_parameters(model) == sum(p.numel() for p in model.parameters())
    _no_zero_weights(model)
    assert cm.count_nonzero(model) == expected


def test_hls4ml_jet_tagger_size():
    # The hls4ml jet tagger 16-64-32-32-5 has 4,389 parameters (Duarte et al. 2018).
    assert cm.count_parameters(_mlp((16, 64, 32, 32, 5))) == 4389


def test_pruned_module_counts_effective_weights_once():
    from torch.nn.utils import prune

    layer = nn.Linear(10, 20)  # 200 weights + 20 biases
    _no_zero_weights(layer)
    prune.l1_unstructured(layer, "weight", amount=50)
    assert "weight_mask" in dict(layer.named_buffers())
    assert cm.count_parameters(layer) == 220  # the mask is not a parameter
    assert cm.count_nonzero(layer) == 170
    # independent count: the effective weight torch computes
    assert cm.count_nonzero(layer) == int((layer.weight != 0).sum() + (layer.bias != 0).sum())
    prune.remove(layer, "weight")
    assert cm.count_parameters(layer) == 220
    assert cm.count_nonzero(layer) == 170


def test_global_pruning_nonzero():
    from torch.nn.utils import prune

    model = _mlp((8, 32, 16, 1))
    _no_zero_weights(model)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    n_weights = sum(m.weight.numel() for m in linears)
    prune.global_unstructured([(m, "weight") for m in linears], pruning_method=prune.L1Unstructured, amount=0.75)
    assert cm.count_parameters(model) == _n_linear((8, 32, 16, 1))
    assert cm.count_nonzero(model) == _n_linear((8, 32, 16, 1)) - round(0.75 * n_weights)


def test_batchnorm_buffers_are_counted_but_not_the_step_counter():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6))
    # 30 (linear) + 12 (gamma, beta) + 12 (running mean and variance); num_batches_tracked is an int
    assert cm.count_parameters(model) == 30 + 12 + 12


def test_quantized_models_count_like_the_float_model():
    import torch.ao.quantization as tq

    sizes = (10, 64, 1)
    model = _mlp(sizes).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dynamic = tq.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)

        class Wrapped(nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.quant, self.inner, self.dequant = tq.QuantStub(), inner, tq.DeQuantStub()

            def forward(self, x):
                return self.dequant(self.inner(self.quant(x)))

        wrapped = Wrapped(_mlp(sizes)).eval()
        wrapped.qconfig = tq.get_default_qconfig("x86")
        wrapped = tq.fuse_modules(wrapped, [["inner.0", "inner.1"]])
        prepared = tq.prepare(wrapped)
        assert cm.count_parameters(prepared) == _n_linear(sizes)  # observers are not parameters
        prepared(torch.randn(64, 10))
        static = tq.convert(prepared)
    assert cm.count_parameters(dynamic) == _n_linear(sizes)
    assert cm.count_parameters(static) == _n_linear(sizes)
    # the dequantized int8 weights are close to the float ones
    w_float = model[0].weight.detach().numpy()
    w_int8 = cm.parameter_arrays(dynamic)["0.weight"]
    assert np.abs(w_int8 - w_float).max() <= np.abs(w_float).max() / 127 + 1e-6


def test_half_and_bfloat16_models():
    model = _mlp((8, 16, 1))
    assert cm.count_parameters(model.half()) == _n_linear((8, 16, 1))
    assert cm.count_parameters(_mlp((8, 16, 1)).to(torch.bfloat16)) == _n_linear((8, 16, 1))


def test_onnx_initializers():
    onnx = pytest.importorskip("onnx")
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4), "w")
    b = numpy_helper.from_array(np.ones(4, dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])],
        initializer=[w, b],
    )
    model = helper.make_model(graph)
    assert cm.count_parameters(model) == 16
    assert cm.count_nonzero(model) == 15  # w holds one zero
    assert cm.serialized_size(model) == len(model.SerializeToString())


def test_unknown_or_empty_models_are_refused():
    with pytest.raises(ValueError, match="cannot read parameters"):
        cm.count_parameters(object())
    with pytest.raises(ValueError, match="no parameters"):
        cm.count_parameters({})
    with pytest.raises(ValueError, match="no parameters"):
        cm.count_parameters(nn.ReLU())


# --- sizes ---------------------------------------------------------------------

def test_serialized_size_of_bytes_and_files(tmp_path):
    assert cm.serialized_size(b"\x00" * 123) == 123
    path = tmp_path / "m.bin"
    path.write_bytes(b"x" * 4567)
    assert cm.serialized_size(path) == 4567
    assert cm.serialized_size(str(path)) == 4567
    with pytest.raises(FileNotFoundError):
        cm.serialized_size(tmp_path / "absent.bin")


def test_serialized_size_of_arrays_holds_the_raw_bytes():
    arrays = {"w": np.ones((100, 100), dtype=np.float32), "b": np.ones(100, dtype=np.float64)}
    raw = 100 * 100 * 4 + 100 * 8
    size = cm.serialized_size(arrays)
    assert raw < size < raw + 1024  # npz: raw bytes plus small headers, no compression


def test_serialized_size_of_torch_matches_torch_save(tmp_path):
    model = nn.Linear(500, 400)  # 200,400 float32 parameters = 801,600 bytes
    # torch.save names the archive's folder after the file; in memory it is "archive"
    path = tmp_path / "archive.pt"
    torch.save(model.state_dict(), path)
    assert cm.serialized_size(model) == path.stat().st_size
    assert 801_600 < cm.serialized_size(model) < 801_600 + 4096
    # float16 halves it, up to the container's overhead
    ratio = cm.compression_ratio(model, copy.deepcopy(model).half(), by="bytes")
    assert 1.95 < ratio <= 2.0


def test_serialized_size_int8_is_about_four_times_smaller():
    import torch.ao.quantization as tq

    model = nn.Sequential(nn.Linear(512, 512))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = tq.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    ratio = cm.compression_ratio(model, q, by="bytes")
    assert 3.5 < ratio < 4.0  # 4 bytes -> 1 byte per weight, float biases and headers kept


# --- ratios and drops ---------------------------------------------------------------

def test_compression_ratio_numbers_and_models():
    assert cm.compression_ratio(1000, 100) == pytest.approx(10.0)
    assert cm.compression_ratio(np.int64(50), 2.5) == pytest.approx(20.0)
    big, small = _mlp((10, 100, 1)), _mlp((10, 10, 1))
    assert cm.compression_ratio(big, small) == pytest.approx(_n_linear((10, 100, 1)) / _n_linear((10, 10, 1)))


def test_compression_ratio_nonzero_after_pruning():
    from torch.nn.utils import prune

    layer = nn.Linear(100, 10, bias=False)
    _no_zero_weights(layer)
    original = cm.count_nonzero(layer)
    prune.l1_unstructured(layer, "weight", amount=0.9)
    assert cm.compression_ratio(original, layer, by="nonzero") == pytest.approx(10.0)
    assert cm.compression_ratio(original, layer, by="parameters") == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf"), True, "big", None])
def test_compression_ratio_bad_numbers(bad):
    with pytest.raises(ValueError):
        cm.compression_ratio(100, bad)


def test_compression_ratio_unknown_by():
    with pytest.raises(ValueError, match="unknown by"):
        cm.compression_ratio(10, 5, by="flops")


def test_accuracy_drop_hand_worked():
    d = cm.accuracy_drop(0.80, 0.76)
    assert d["absolute"] == pytest.approx(0.04)
    assert d["relative"] == pytest.approx(0.05)
    # a compressed model can be better: the drop is negative
    assert cm.accuracy_drop(0.764, 0.766)["absolute"] == pytest.approx(-0.002)
    assert cm.accuracy_drop(1.0, 1.0)["absolute"] == 0


@pytest.mark.parametrize("base, compressed", [(76.4, 76.2), (0.764, 76.2), (76.4, 0.762)])
def test_accuracy_drop_refuses_percentages(base, compressed):
    with pytest.raises(ValueError, match="percentage"):
        cm.accuracy_drop(base, compressed)


@pytest.mark.parametrize("base, compressed", [(-0.1, 0.5), (0.9, 1.5e3), (float("nan"), 0.5), (0.0, 0.0), ("a", 0.5)])
def test_accuracy_drop_bad_values(base, compressed):
    with pytest.raises(ValueError):
        cm.accuracy_drop(base, compressed)


# --- latency and speedup -------------------------------------------------------------

class _FakeClock:
    """``perf_counter`` replacement: each call of ``tick`` advances time by the next step."""

    def __init__(self, steps):
        self.now = 0.0
        self.steps = list(steps)
        self.calls = 0

    def perf_counter(self):
        return self.now

    def tick(self):
        self.calls += 1
        self.now += self.steps.pop(0)


def test_latency_statistics_against_numpy(monkeypatch):
    timed = [0.004, 0.001, 0.003, 0.002, 0.010]
    clock = _FakeClock([99.0, 99.0] + timed)  # two warm-up calls, their time must be ignored
    monkeypatch.setattr(cm.time, "perf_counter", clock.perf_counter)
    out = cm.latency(clock.tick, runs=5, warmup=2)
    monkeypatch.undo()
    assert clock.calls == 7
    assert out["median"] == pytest.approx(np.median(timed))
    assert out["mean"] == pytest.approx(np.mean(timed))
    assert out["std"] == pytest.approx(np.std(timed))
    assert out["p10"] == pytest.approx(np.percentile(timed, 10))
    assert out["p90"] == pytest.approx(np.percentile(timed, 90))
    assert out["min"] == pytest.approx(0.001) and out["max"] == pytest.approx(0.010)
    assert out["runs"] == 5


def test_latency_repeat_inner_gives_time_per_call(monkeypatch):
    clock = _FakeClock([0.002] * 12)
    monkeypatch.setattr(cm.time, "perf_counter", clock.perf_counter)
    out = cm.latency(clock.tick, runs=3, warmup=0, repeat_inner=4)
    monkeypatch.undo()
    assert clock.calls == 12
    assert out["median"] == pytest.approx(0.002)
    assert out["std"] == pytest.approx(0.0)


def test_latency_real_clock():
    import time

    out = cm.latency(lambda: time.sleep(0.002), runs=3, warmup=1)
    assert out["min"] >= 0.0019
    assert out["p10"] <= out["median"] <= out["p90"]


@pytest.mark.parametrize("kwargs", [{"runs": 0}, {"runs": -5}, {"runs": 2.5}, {"runs": True},
                                    {"warmup": -1}, {"warmup": 1.5}, {"repeat_inner": 0}])
def test_latency_bad_settings(kwargs):
    with pytest.raises(ValueError):
        cm.latency(lambda: None, **kwargs)


def test_latency_with_no_runs_says_so():
    with pytest.raises(ValueError, match=r"runs must be an integer >= 1, got 0 \(int\)"):
        cm.latency(lambda: None, runs=0)


def test_latency_needs_a_callable():
    with pytest.raises(ValueError, match="callable"):
        cm.latency(42)


def test_speedup():
    assert cm.speedup(0.006, 0.002) == pytest.approx(3.0)
    assert cm.speedup({"median": 2e-3, "mean": 9.0}, {"median": 4e-3}) == pytest.approx(0.5)
    for bad in (0, -1e-3, float("nan")):
        with pytest.raises(ValueError):
            cm.speedup(1e-3, bad)


# --- comparable outputs --------------------------------------------------------------

def test_check_same_output_accepts_equal_shapes():
    cm.check_same_output(np.zeros((10, 1)), np.ones((10, 1)))
    base = _mlp((4, 8, 2))
    x = torch.randn(7, 4)
    cm.check_same_output(base(x), _mlp((4, 3, 2))(x))


@pytest.mark.parametrize("a, b", [((10, 1), (10,)), ((10, 2), (10, 1)), ((10, 5), (9, 5))])
def test_check_same_output_rejects_other_shapes(a, b):
    with pytest.raises(ValueError, match="must match"):
        cm.check_same_output(np.zeros(a), np.zeros(b))


def test_check_same_output_rejects_a_model_answering_another_question():
    x = torch.randn(3, 16)
    with pytest.raises(ValueError, match=r"\(3, 5\)"):
        cm.check_same_output(_mlp((16, 64, 5))(x), _mlp((16, 8, 1))(x))


def test_check_same_output_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        cm.check_same_output(np.zeros((0, 1)), np.zeros((0, 1)))


def test_metrics_do_not_import_torch_at_module_level():
    import subprocess
    import sys

    code = "import sys, course_utils.metrics.compression; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_sizes_are_plain_ints():
    model = nn.Linear(3, 2)
    for value in (cm.count_parameters(model), cm.count_nonzero(model), cm.serialized_size(model)):
        assert isinstance(value, int)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    assert not math.isnan(cm.compression_ratio(buf.getbuffer().nbytes, model, by="bytes"))
