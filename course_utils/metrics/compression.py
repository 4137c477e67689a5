"""Figures of merit for model compression.

Models may be torch modules, Keras models, ONNX ``ModelProto`` objects, or
plain collections of arrays (a ``dict`` of name -> array, or a list). Nothing
is imported from torch or TensorFlow here: models are recognised by what they
offer (``state_dict``, ``get_weights``, ``SerializeToString``).

* compression ratio = original parameters / compressed parameters (or bytes / bytes);
* accuracy drop = base - compressed, absolute and relative to the base;
* latency = median over repeated timed runs after a warm-up; speedup = base / compressed.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import validation
from course_utils._optional import require

__all__ = ["parameter_arrays", "count_parameters", "count_nonzero", "serialized_size",
           "compression_ratio", "accuracy_drop", "latency", "speedup", "check_same_output"]


def _torch_arrays(model: Any) -> list[tuple[str, np.ndarray]]:
    """Named parameter arrays of a torch module (see :func:`parameter_arrays`)."""
    import torch

    def to_numpy(t: Any) -> np.ndarray:
        t = t.detach().cpu()
        if t.dtype == torch.bfloat16:  # NumPy has no bfloat16
            t = t.float()
        return t.numpy()

    # Quantization bookkeeping is not a parameter: the observers and fake-quantizers
    # of a prepared (QAT) model, and the scale / zero point of converted modules.
    skip_prefixes: list[str] = []
    quantized: list[tuple[str, Any]] = []
    for name, mod in model.named_modules():
        kind = type(mod).__module__
        if name and kind.startswith(("torch.ao.quantization.", "torch.quantization.")):
            skip_prefixes.append(name + ".")
        elif kind.startswith("torch.ao.nn.") and ".quantized" in kind:  # also fused (intrinsic) modules
            quantized.append((name, mod))
    skip_names = {f"{n}.{leaf}".lstrip(".") for n, _ in quantized for leaf in ("scale", "zero_point")}

    sd = model.state_dict()
    items: list[tuple[str, np.ndarray]] = []
    for name, t in sd.items():
        if name.endswith("_mask") or name in skip_names or name.startswith(tuple(skip_prefixes)):
            continue
        if not hasattr(t, "detach"):
            continue  # packed params of quantized modules: read from the modules below
        if getattr(t, "is_quantized", False):
            t = t.dequantize()
        if name.endswith("_orig"):
            name = name[: -len("_orig")]
            mask = sd.get(name + "_mask")
            t = t * mask if mask is not None else t
        if t.is_floating_point() or t.is_complex():
            items.append((name, to_numpy(t)))
    for name, mod in quantized:
        prefix = f"{name}." if name else ""
        for leaf in ("weight", "bias"):
            getter = getattr(mod, leaf, None)
            if not callable(getter):
                continue
            value = getter()
            if value is None:
                continue
            if getattr(value, "is_quantized", False):
                value = value.dequantize()
            items.append((prefix + leaf, to_numpy(value)))
    return items


def parameter_arrays(model: Any) -> dict[str, np.ndarray]:
    """The model's parameters as NumPy arrays, by name.

    * torch: the floating-point entries of ``state_dict()`` (parameters and
      float buffers such as batch-norm statistics). A pruned module counts its
      effective weights once (``weight_orig * weight_mask``; the ``*_mask``
      buffers are not parameters). A quantized module (``torch.ao.nn.quantized``,
      dynamic or static) counts its weight and bias, dequantized; its scale and
      zero point, like the observers of a model prepared for quantization-aware
      training, are bookkeeping and are not counted. Not counted either:
      quantized modules that keep their weights in other, non-float forms
      (embeddings, custom kernels).
    * Keras: ``model.weights``.
    * ONNX ``ModelProto``: every initializer of the graph (for a model quantized
      by ONNX Runtime this includes its scales and zero points).
    * ``dict`` of name -> array, or a list of arrays: as given.

    Returns
    -------
    dict
        Name -> array; raises ``ValueError`` for an unknown kind of model or a
        model without parameters.
    """
    if isinstance(model, Mapping):
        items: Any = model.items()
    elif isinstance(model, (list, tuple)):
        items = ((str(i), a) for i, a in enumerate(model))
    elif hasattr(model, "state_dict") and hasattr(model, "named_modules"):
        items = _torch_arrays(model)
    elif hasattr(model, "graph") and hasattr(model.graph, "initializer"):
        numpy_helper = require("onnx.numpy_helper", why="metrics.compression (weights of an ONNX model)",
                               package="onnx")

        items = ((init.name, numpy_helper.to_array(init)) for init in model.graph.initializer)
    elif hasattr(model, "weights") and hasattr(model, "count_params"):
        items = ((getattr(w, "path", getattr(w, "name", str(i))), np.asarray(w))
                 for i, w in enumerate(model.weights))
    else:
        raise ValueError(
            f"cannot read parameters from a {type(model).__name__}: expected a torch module, "
            "a Keras model, an ONNX ModelProto, a dict of arrays or a list of arrays"
        )
    out = {str(k): np.asarray(v) for k, v in items}
    if not out:
        raise ValueError(f"the {type(model).__name__} has no parameters")
    return out


def count_parameters(model: Any) -> int:
    """Total number of parameters (weights and biases)."""
    return int(sum(a.size for a in parameter_arrays(model).values()))


def count_nonzero(model: Any) -> int:
    """Number of parameters that are not exactly zero (what pruning removes)."""
    return int(sum(np.count_nonzero(a) for a in parameter_arrays(model).values()))


def serialized_size(model: Any) -> int:
    """Size in bytes of the model as it would be stored.

    * ``str`` / ``Path``: the file's size;
    * ``bytes``: its length;
    * ONNX ``ModelProto``: ``len(SerializeToString())``;
    * torch module: ``torch.save(state_dict)`` into memory;
    * Keras model: ``model.save(...keras)`` into a temporary file;
    * dict/list of arrays: ``np.savez`` into memory (no compression).
    """
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}")
        return path.stat().st_size
    if isinstance(model, (bytes, bytearray)):
        return len(model)
    if hasattr(model, "SerializeToString"):
        return len(model.SerializeToString())
    if hasattr(model, "state_dict"):
        import torch

        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        return buf.getbuffer().nbytes
    if hasattr(model, "save") and hasattr(model, "count_params"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            model.save(path)
            return path.stat().st_size
    arrays = parameter_arrays(model)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getbuffer().nbytes


def _positive_number(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive number or a model, got {value!r}") from exc
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be positive and finite, got {v}")
    return v


def compression_ratio(original: Any, compressed: Any, *, by: str = "parameters") -> float:
    """How many times smaller the compressed model is.

    Parameters
    ----------
    original, compressed
        Numbers (parameter counts or byte sizes) or models.
    by : {"parameters", "nonzero", "bytes"}
        What is compared when models are given: all parameters, non-zero
        parameters, or the serialized size.
    """
    counters: dict[str, Callable[[Any], int]] = {
        "parameters": count_parameters, "nonzero": count_nonzero, "bytes": serialized_size,
    }
    if by not in counters:
        raise ValueError(f"unknown by={by!r}: expected one of {sorted(counters)}")

    def size(x: Any, name: str) -> float:
        if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
            return _positive_number(x, name)
        return _positive_number(counters[by](x), name)

    return size(original, "original") / size(compressed, "compressed")


def accuracy_drop(base: float, compressed: float) -> dict[str, float]:
    """Absolute and relative loss of a score in [0, 1] (accuracy, AUC...).

    A value above 1 (a percentage) is refused with a message. ``absolute = base
    - compressed`` (positive means worse), ``relative = absolute / base``.
    """
    b = validation.check_fraction(base, "base", percent_hint=True)
    c = validation.check_fraction(compressed, "compressed", percent_hint=True)
    if b == 0:
        raise ValueError("base score is 0: the relative drop is undefined")
    return {"absolute": b - c, "relative": (b - c) / b}


def latency(fn: Callable[[], Any], *, runs: int = 50, warmup: int = 5,
            repeat_inner: int = 1) -> dict[str, float]:
    """Time a call: warm-up calls first, then ``runs`` timed calls.

    Parameters
    ----------
    fn
        A callable with no argument, e.g. ``lambda: model(x)``.
    runs
        Timed calls (at least 1).
    warmup
        Untimed calls first (caches, lazy initialisation, JIT).
    repeat_inner
        Calls per timed sample, for very fast functions; times are per call.

    Returns
    -------
    dict
        Seconds per call: ``median``, ``mean``, ``std``, ``p10``, ``p90``,
        ``min``, ``max``; and ``runs``.
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    runs = validation.check_count(runs, "runs")
    repeat_inner = validation.check_count(repeat_inner, "repeat_inner")
    warmup = validation.check_count(warmup, "warmup", min_value=0)
    for _ in range(int(warmup)):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(repeat_inner):
            fn()
        samples.append((time.perf_counter() - t0) / repeat_inner)
    arr = np.asarray(samples)
    return {
        "median": float(np.median(arr)),
        "mean": float(arr.mean()),
        "std": float(statistics.pstdev(samples)) if runs > 1 else 0.0,
        "p10": float(np.percentile(arr, 10)),
        "p90": float(np.percentile(arr, 90)),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "runs": float(runs),
    }


def speedup(base_latency: Any, compressed_latency: Any) -> float:
    """``base / compressed`` of two latencies (seconds, or :func:`latency` dicts: medians)."""
    def value(x: Any, name: str) -> float:
        return _positive_number(x["median"] if isinstance(x, Mapping) else x, name)

    return value(base_latency, "base_latency") / value(compressed_latency, "compressed_latency")


def check_same_output(base_output: Any, compressed_output: Any) -> None:
    """``ValueError`` unless the two models' outputs on the same input have one shape.

    A compressed model is only comparable with its original when it answers
    the same question: same batch size, same number of outputs.
    """
    a = np.asarray(base_output.detach().cpu() if hasattr(base_output, "detach") else base_output)
    b = np.asarray(compressed_output.detach().cpu() if hasattr(compressed_output, "detach") else compressed_output)
    if a.shape != b.shape:
        raise ValueError(
            f"the compressed model's output has shape {b.shape}, the original's {a.shape}: "
            "they must match to compare the two"
        )
    if a.size == 0:
        raise ValueError("the model outputs are empty")
