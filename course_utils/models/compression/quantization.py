"""Quantization with torch.ao.quantization: dynamic and static int8, quantization-aware training, float16."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from course_utils.models.compression.pruning import remove_pruning

__all__ = ["quantization_engine", "quantize_dynamic", "quantize_static", "prepare_qat", "convert_qat", "to_half"]


@contextlib.contextmanager
def _quiet_quantization() -> Iterator[None]:
    """Silence the deprecation notices of ``torch.ao.quantization`` (explained in notebook 06)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantize_per_tensor.*deprecated.*")
        warnings.filterwarnings("ignore", message=r".*must be in the range \[0, 255\].*")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\.quantization.*")
        yield


def quantization_engine() -> str:
    """The int8 backend for this CPU (``"x86"``, else ``"qnnpack"`` on ARM), set as torch's engine."""
    import torch

    engines = torch.backends.quantized.supported_engines
    for name in ("x86", "fbgemm", "qnnpack"):
        if name in engines:
            torch.backends.quantized.engine = name
            return name
    raise RuntimeError(f"no int8 engine in this torch build (supported: {engines})")


def quantize_dynamic(model: Any) -> Any:
    """Post-training dynamic int8: weights stored int8, activations quantized on the fly."""
    import torch
    import torch.ao.quantization as tq
    import torch.nn as nn

    quantization_engine()
    with _quiet_quantization():
        return tq.quantize_dynamic(remove_pruning(copy.deepcopy(model)).eval(), {nn.Linear}, dtype=torch.qint8)


def _fused_wrapper(model: Any, qconfig: Any, *, train: bool) -> Any:
    import torch.ao.quantization as tq
    import torch.nn as nn

    inner = remove_pruning(copy.deepcopy(model))
    if not isinstance(inner, nn.Sequential):
        raise ValueError("static quantization here needs an nn.Sequential (as build_mlp makes)")
    wrapped = tq.QuantWrapper(inner)
    pairs = [[f"module.{i}", f"module.{i + 1}"] for i in range(len(inner) - 1)
             if isinstance(inner[i], nn.Linear) and isinstance(inner[i + 1], nn.ReLU)]
    wrapped.train(train)
    wrapped.qconfig = qconfig
    fuse = tq.fuse_modules_qat if train else tq.fuse_modules
    return fuse(wrapped, pairs) if pairs else wrapped


def quantize_static(model: Any, X_calib: Any) -> Any:
    """Post-training static int8: Linear+ReLU fused, activation ranges calibrated on ``X_calib``."""
    import torch
    import torch.ao.quantization as tq

    X = np.asarray(X_calib, dtype=np.float32)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X_calib must be a non-empty (n, n_features) array, got shape {X.shape}")
    engine = quantization_engine()
    with _quiet_quantization():
        prepared = tq.prepare(_fused_wrapper(model.eval(), tq.get_default_qconfig(engine), train=False))
        with torch.inference_mode():
            prepared(torch.from_numpy(X))
        return tq.convert(prepared).eval()


def prepare_qat(model: Any) -> Any:
    """A copy prepared for quantization-aware training (fake int8 in the forward pass)."""
    import torch.ao.quantization as tq

    engine = quantization_engine()
    with _quiet_quantization():
        return tq.prepare_qat(_fused_wrapper(model, tq.get_default_qat_qconfig(engine), train=True))


def convert_qat(prepared: Any) -> Any:
    """The int8 model from a QAT-trained one."""
    import torch.ao.quantization as tq

    with _quiet_quantization():
        return tq.convert(copy.deepcopy(prepared).eval()).eval()


def to_half(model: Any) -> Any:
    """A float16 copy (inputs must be float16 too: :func:`predict_proba` does it)."""
    return remove_pruning(copy.deepcopy(model)).half().eval()
