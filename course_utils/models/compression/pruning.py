"""Pruning: global magnitude pruning, sparse storage, structured pruning (smaller dense layers)."""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from course_utils.metrics import compression as cm
from course_utils.metrics import hep
from course_utils.models.compression.tagger import TaggerData, predict_proba, train_classifier

__all__ = ["linear_layers", "prune_global", "remove_pruning", "weight_sparsity", "pruning_sweep",
           "sparse_bytes", "from_sparse_bytes", "shrink_mlp"]


def linear_layers(model: Any) -> list[Any]:
    """The ``nn.Linear`` modules of a model, in order."""
    import torch.nn as nn

    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError(f"the {type(model).__name__} has no nn.Linear layer")
    return layers


def prune_global(model: Any, sparsity: float, *, inplace: bool = False) -> Any:
    """Global unstructured magnitude pruning of every Linear weight (biases kept).

    The ``sparsity`` share of all weights with the smallest ``|w|`` is set to
    zero by a mask (``torch.nn.utils.prune``): the layers keep their shapes.
    """
    from torch.nn.utils import prune

    s = float(sparsity)
    if not 0 <= s < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    out = model if inplace else copy.deepcopy(model)
    params = [(m, "weight") for m in linear_layers(out)]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=s)
    return out


def remove_pruning(model: Any) -> Any:
    """Make pruning permanent: ``weight = weight_orig * mask``, masks dropped (in place)."""
    from torch.nn.utils import prune

    for m in linear_layers(model):
        if prune.is_pruned(m) and hasattr(m, "weight_mask"):
            prune.remove(m, "weight")
    return model


def weight_sparsity(model: Any) -> float:
    """Share of the Linear weights that are exactly zero."""
    ws = [m.weight.detach() for m in linear_layers(model)]
    return float(sum(int((w == 0).sum()) for w in ws) / sum(w.numel() for w in ws))


def pruning_sweep(model: Any, data: TaggerData, sparsities: Sequence[float], *, finetune_epochs: int = 5,
                  lr: float = 1e-3, seed: int = 42,
                  progress: bool = False) -> tuple[list[dict[str, float]], dict[float, Any]]:
    """AUC against sparsity, one-shot and iterative with fine-tuning.

    One-shot: the baseline pruned to each sparsity, not retrained. Iterative:
    sparsities in increasing order, each step pruning the previous fine-tuned
    model further, then fine-tuning ``finetune_epochs`` with the mask fixed.
    ``progress`` shows a tqdm bar over the sparsities.

    Returns
    -------
    rows, models
        One dict per sparsity (``sparsity``, ``auc_oneshot``, ``auc_finetuned``,
        ``nonzero``, ``measured_sparsity``, on the test set), and the
        fine-tuned models by sparsity (pruning made permanent).
    """
    levels = sorted(float(s) for s in sparsities)
    if not levels:
        raise ValueError("sparsities is empty")
    rows, models = [], {}
    current = copy.deepcopy(model)
    steps: Any = levels
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(levels, desc="balayage d'élagage", unit="sparsité")
    for s in steps:
        oneshot = prune_global(model, s)
        tuned = prune_global(current, s)
        if s > 0 and finetune_epochs > 0:
            train_classifier(tuned, data, epochs=finetune_epochs, lr=lr, seed=seed)
        remove_pruning(tuned)
        rows.append({
            "sparsity": s,
            "auc_oneshot": hep.auc(data.y_test, predict_proba(oneshot, data.X_test)),
            "auc_finetuned": hep.auc(data.y_test, predict_proba(tuned, data.X_test)),
            "nonzero": cm.count_nonzero(tuned),
            "measured_sparsity": weight_sparsity(tuned),
        })
        models[s] = tuned
        current = tuned
    return rows, models


def sparse_bytes(model: Any, *, bits: int = 8) -> bytes:
    """The model stored sparsely: CSR weights, ``bits``-bit values, deflate-compressed.

    Each Linear weight is stored as CSR (row pointers, column indices of the
    non-zero weights, their values). Values are kept as float32 (``bits=32``),
    float16 (``16``) or symmetric per-row int8 (``8``, one float32 scale per
    row); biases stay float32. Everything goes in one ``np.savez_compressed``
    archive, the way Deep Compression (Han et al. 2015) adds entropy coding
    after pruning and quantization. :func:`from_sparse_bytes` reads it back.
    """
    if bits not in (8, 16, 32):
        raise ValueError(f"bits must be 8, 16 or 32, got {bits!r}")
    arrays: dict[str, np.ndarray] = {}
    shapes, indptr, indices, values, scales, biases = [], [], [], [], [], []
    for m in linear_layers(model):
        w = m.weight.detach().float().cpu().numpy()
        rows, cols = np.nonzero(w)
        shapes.append(w.shape)
        indptr.append(np.searchsorted(rows, np.arange(w.shape[0] + 1)).astype(np.int32))
        indices.append(cols)
        v = w[rows, cols]
        if bits == 8:
            row_max = np.abs(w).max(axis=1)
            scale = np.where(row_max > 0, row_max / 127.0, 1.0).astype(np.float32)
            scales.append(scale)
            v = np.round(v / scale[rows]).astype(np.int8)
        values.append(v.astype({8: np.int8, 16: np.float16, 32: np.float32}[bits]))
        biases.append(np.zeros(w.shape[0], np.float32) if m.bias is None else m.bias.detach().float().numpy())
    max_cols = max(s[1] for s in shapes)
    arrays["shapes"] = np.asarray(shapes, dtype=np.int32)
    arrays["indptr"] = np.concatenate(indptr)
    arrays["indices"] = np.concatenate(indices).astype(np.uint8 if max_cols <= 256 else np.int32)
    arrays["values"] = np.concatenate(values)
    arrays["biases"] = np.concatenate(biases)
    if scales:
        arrays["scales"] = np.concatenate(scales)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def from_sparse_bytes(blob: bytes, template: Any) -> Any:
    """A dense copy of ``template`` holding the weights stored by :func:`sparse_bytes`."""
    import torch

    with np.load(io.BytesIO(blob)) as z:
        a = {k: z[k] for k in z.files}
    layers_out = copy.deepcopy(template)
    layers = linear_layers(remove_pruning(layers_out))
    if len(layers) != len(a["shapes"]):
        raise ValueError(f"the stored model has {len(a['shapes'])} layers, the template {len(layers)}")
    p = i = r = 0
    with torch.no_grad():
        for m, (n_rows, n_cols) in zip(layers, a["shapes"]):
            if tuple(m.weight.shape) != (n_rows, n_cols):
                raise ValueError(f"stored layer shape {(n_rows, n_cols)} != template {tuple(m.weight.shape)}")
            ptr = a["indptr"][p:p + n_rows + 1]
            nnz = int(ptr[-1])
            rows = np.repeat(np.arange(n_rows), np.diff(ptr))
            vals = a["values"][i:i + nnz].astype(np.float32)
            if "scales" in a:
                vals = vals * a["scales"][r:r + n_rows][rows]
            w = np.zeros((n_rows, n_cols), np.float32)
            w[rows, a["indices"][i:i + nnz].astype(np.int64)] = vals
            m.weight.copy_(torch.from_numpy(w))
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(a["biases"][r:r + n_rows]))
            p, i, r = p + n_rows + 1, i + nnz, r + n_rows
    return layers_out.eval()


def shrink_mlp(model: Any, keep: float) -> Any:
    """Structured pruning: a smaller dense MLP keeping the most important hidden neurons.

    A neuron's importance is ``||w_in||_2 * ||w_out||_2`` (its incoming weights
    and bias, times its outgoing weights). Each hidden layer keeps
    ``ceil(keep * width)`` neurons; inputs and the output are untouched. The
    result is an ``nn.Sequential`` with genuinely smaller Linear layers.
    """
    import torch
    import torch.nn as nn

    k = float(keep)
    if not 0 < k <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep!r}")
    src = remove_pruning(copy.deepcopy(model))
    if not isinstance(src, nn.Sequential) or not all(isinstance(m, (nn.Linear, nn.ReLU)) for m in src):
        raise ValueError("shrink_mlp needs an nn.Sequential of Linear and ReLU layers (as build_mlp makes)")
    layers = linear_layers(src)
    new = [copy.deepcopy(m) for m in layers]
    keep_prev = torch.arange(layers[0].in_features)
    with torch.no_grad():
        for j, m in enumerate(layers):
            w, b = m.weight[:, keep_prev], m.bias
            if j < len(layers) - 1:
                w_in = torch.cat([w, b[:, None]], dim=1).norm(dim=1)
                w_out = layers[j + 1].weight.norm(dim=0)
                n_keep = max(1, int(np.ceil(k * m.out_features)))
                rows = torch.sort(torch.topk(w_in * w_out, n_keep).indices).values
            else:
                rows = torch.arange(m.out_features)
            lin = nn.Linear(len(keep_prev), len(rows))
            lin.weight.copy_(w[rows])
            lin.bias.copy_(b[rows])
            new[j] = lin
            keep_prev = rows
    out: list[Any] = []
    for j, lin in enumerate(new):
        out.append(lin)
        if j < len(new) - 1:
            out.append(nn.ReLU())
    return nn.Sequential(*out).eval()
