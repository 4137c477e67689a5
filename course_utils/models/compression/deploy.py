"""Deployment: ONNX export (torch.export-based exporter), ONNX Runtime sessions and int8 quantization."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

from course_utils._optional import require
from course_utils.models.compression.pruning import remove_pruning

__all__ = ["export_onnx", "quantize_onnx", "onnx_session"]


def export_onnx(model: Any, path: str | Path, n_inputs: int) -> Path:
    """Export to ONNX (torch.export-based exporter), one self-contained file, dynamic batch size."""
    import logging

    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = remove_pruning(copy.deepcopy(model)).float().eval()
    x = torch.zeros(2, int(n_inputs))
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)  # "torchvision is not installed" notices
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(src, (x,), str(path), input_names=["x"], output_names=["logit"],
                              dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                              external_data=False, verbose=False)
    finally:
        log.setLevel(level)
    return path


def quantize_onnx(src: str | Path, dst: str | Path) -> Path:
    """ONNX Runtime's dynamic int8 quantization of an ONNX file (after its pre-processing)."""
    import logging

    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = Path(src), Path(dst)
    pre = dst.with_suffix(".pre.onnx")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        ort_quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
        pre.unlink(missing_ok=True)
    return dst


def onnx_session(path: str | Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session using ``threads`` threads (default: torch's number)."""
    ort = require("onnxruntime", why="compression.deploy.onnx_session (ONNX inference)")
    import torch

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads or torch.get_num_threads())
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
