"""Particle-cloud taggers of notebook 11: a laptop-sized Particle Transformer, a PFN, ParticleNet-lite.

Notebook 11 writes attention by hand in its cells first; these classes repeat it
for the trainings, the ablation, the attention maps and the transfer to
quark/gluon jets:

* :class:`ParticleTransformer`: particle attention blocks whose attention scores
  receive a bias computed from the pairwise features of every particle pair
  (``ln kT, ln z, ln ΔR, ln m²``, :func:`pair_features_torch`), then
  class-attention blocks that read the set into one learned class token (Qu, Li,
  Qian, arXiv:2202.03772); ``pair_dim=0`` removes the interaction features (the
  paper's ablation);
* :class:`ParticleFlowNetwork`: the DeepSets/PFN of notebook 02 (a per-particle
  network, a masked sum, a jet-level network);
* :class:`ParticleNetLite`: EdgeConv on the k nearest neighbours (Qu and Gouskos,
  arXiv:1902.08570), in pure PyTorch;
* :func:`fit` and :func:`predict_proba`: training (AdamW, cross-entropy, the
  weights of the best validation-loss epoch restored) and the class
  probabilities;
* :func:`quark_gluon_inputs`: the quark/gluon jets of notebook 02 (Komiske
  layout) turned into the same 17 inputs as JetClass, so that a model
  pre-trained on JetClass reads them.

Beyond the API agreed for notebook 11 (issue 26), and not changing it:
:meth:`ParticleTransformer.class_attention_maps`, :func:`n_parameters`,
``History.epoch_seconds``, ``fit(..., schedule="cosine" | "constant")`` and
``ParticleNetLite(..., dropout=0.0)``.

Every model has the one signature ``forward(features, vectors, points, mask)``,
the four fields of :class:`~course_utils.datasets.jetclass.formats.ParticleInputs`:
``features`` (N, P, F) float, ``vectors`` (N, P, 4) ``(px, py, pz, E)`` [GeV],
``points`` (N, P, 2) ``(Δη, Δφ)``, ``mask`` (N, P) bool, True for a real particle.
The PFN uses only ``features``; the ParT adds ``vectors`` (pair features);
ParticleNet-lite adds ``points`` (its first neighbourhoods). Padded particles
never change the output: their keys are masked with a large negative number
added to the attention logits (not ``-inf``, so that a jet with no particle at
all gives finite logits rather than NaN), they are excluded from the
neighbours, sums and means, and no layer uses batch statistics of padded slots.

This module imports torch: it is loaded only when asked for
(``from course_utils.models import particle_transformer``). Seed torch
(``torch.manual_seed``) before building a model for reproducible weights;
``fit(seed=...)`` seeds the shuffling and the dropout.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.datasets.jetclass.formats import JetClassData, ParticleInputs, particle_inputs
from course_utils.physics.jets import PDG_CHARGES, check_jets
from course_utils.validation import check_count, check_number, check_seed

__all__ = ["pair_features_torch", "ParticleTransformer", "ParticleFlowNetwork", "ParticleNetLite", "History",
           "fit", "predict_proba", "n_parameters", "quark_gluon_inputs"]

_EPS = 1e-8


def _neg(dtype: torch.dtype) -> float:
    """A large negative logit bias that stays finite in ``dtype`` (so masked rows give no NaN)."""
    return max(-1e9, torch.finfo(dtype).min / 4)


# ----------------------------------------------------------------------------------------------------------------------
# pair features


def _pair_values(vi: torch.Tensor, vj: torch.Tensor, eps: float) -> torch.Tensor:
    """``(ln kT, ln z, ln ΔR, ln m²)`` of the pairs of four-vectors ``vi`` and ``vj`` (..., 4) -> (..., 4)."""
    def kin(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        px, py, pz, e = v.unbind(-1)
        rap = 0.5 * torch.log1p(2.0 * pz / (e - pz).clamp(min=1e-20))
        return torch.sqrt(px * px + py * py), rap, torch.atan2(py, px)

    pti, rapi, phii = kin(vi)
    ptj, rapj, phij = kin(vj)
    dphi = torch.remainder(phii - phij + math.pi, 2 * math.pi) - math.pi
    delta = torch.sqrt((rapi - rapj) ** 2 + dphi ** 2)
    ptmin = torch.minimum(pti, ptj)
    ln_delta = torch.log(delta.clamp(min=eps))
    ln_kt = torch.log((ptmin * delta).clamp(min=eps))
    ln_z = torch.log((ptmin / (pti + ptj).clamp(min=eps)).clamp(min=eps))
    s = vi + vj
    ln_m2 = torch.log((s[..., 3] ** 2 - (s[..., :3] ** 2).sum(-1)).clamp(min=eps))
    return torch.stack([ln_kt, ln_z, ln_delta, ln_m2], dim=-1)


def pair_features_torch(vectors: torch.Tensor, mask: torch.Tensor, *, eps: float = _EPS) -> torch.Tensor:
    """The ParT pairwise features of every particle pair, in torch (dense, for inspection and tests).

    The same as :func:`course_utils.physics.pairs.pair_features`, on tensors:
    ``(ln kT, ln z, ln ΔR, ln m²)`` with the clamps of the paper's code, zero
    where either particle is padding. (The model itself computes them only for
    the real pairs ``i >= j`` of each batch, which is cheaper.)

    Parameters
    ----------
    vectors : torch.Tensor, shape (N, P, 4)
        ``(px, py, pz, E)`` [GeV].
    mask : torch.Tensor of bool, shape (N, P)

    Returns
    -------
    torch.Tensor, shape (N, P, P, 4), the dtype of ``vectors``.
    """
    if vectors.ndim != 3 or vectors.shape[-1] != 4:
        raise ValueError(f"vectors must have shape (N, P, 4) holding (px, py, pz, E), got {tuple(vectors.shape)}")
    if mask.shape != vectors.shape[:2]:
        raise ValueError(f"mask must have shape {tuple(vectors.shape[:2])}, got {tuple(mask.shape)}")
    mask = mask.bool()
    v = vectors.masked_fill(~mask[..., None], 0.0)
    p = v.shape[1]
    out = _pair_values(v[:, :, None, :].expand(-1, -1, p, -1), v[:, None, :, :].expand(-1, p, -1, -1), eps)
    both = mask[:, :, None] & mask[:, None, :]
    return out.masked_fill(~both[..., None], 0.0)


class _BatchNorm(nn.Module):
    """Batch normalisation of (M, C) rows (the real pairs), falling back to the running statistics when M < 2."""

    def __init__(self, n: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("running_var", torch.ones(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, var = self.running_mean, self.running_var
        m = x.shape[0]
        if self.training and m > 1:
            mean, var = x.mean(0), x.var(0, unbiased=False)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach() * m / (m - 1), self.momentum)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class _PairEmbedding(nn.Module):
    """Pair features -> batch norm -> a pointwise MLP -> one attention bias per head (U in the paper).

    Computed only for the real pairs with ``i >= j`` (the features are
    symmetric), then written into a dense (N, heads, P, P) tensor, zero
    elsewhere (those entries are masked or unused).
    """

    def __init__(self, pair_dim: int, hidden: Sequence[int], heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = _BatchNorm(pair_dim)
        layers: list[nn.Module] = []
        n_in = pair_dim
        for h in hidden:
            layers += [nn.Linear(n_in, check_count(h, "pair_hidden width")), nn.GELU()]
            n_in = h
        layers.append(nn.Linear(n_in, heads))
        self.mlp = nn.Sequential(*layers)

    def forward(self, vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, p = mask.shape
        keep = mask[:, :, None] & mask[:, None, :] & torch.ones(p, p, dtype=torch.bool, device=mask.device).tril()
        b, i, j = keep.nonzero(as_tuple=True)
        with torch.no_grad():
            u = _pair_values(vectors[b, i], vectors[b, j], _EPS)
        w = self.mlp(self.norm(u))  # (M, heads)
        out = w.new_zeros(n, p, p, self.heads)
        out[b, i, j] = w
        off = i != j  # the diagonal once, so that its gradient is not counted twice
        out[b[off], j[off], i[off]] = w[off]
        return out.permute(0, 3, 1, 2)  # (N, H, P, P)


# ----------------------------------------------------------------------------------------------------------------------
# attention blocks


class _Attention(nn.Module):
    """Multi-head scaled dot-product attention with an additive bias (padding mask and pair interactions).

    ``bias`` has shape (N * heads, n_queries, n_keys) and is added to the scaled scores before the softmax.
    """

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, query: torch.Tensor, context: torch.Tensor, bias: torch.Tensor,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        n, nq, c = query.shape
        nk = context.shape[1]
        q = self.q(query).view(n, nq, self.heads, self.head_dim).transpose(1, 2)
        k, v = self.kv(context).view(n, nk, 2, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        # written out rather than F.scaled_dot_product_attention: with a float bias that needs a gradient, torch
        # runs the same arithmetic on CPU plus checks for fully masked rows, which the finite bias makes unnecessary
        scores = torch.baddbmm(bias,  # (N * heads, nq, nk), built once per forward pass
                               q.reshape(n * self.heads, nq, self.head_dim),
                               k.reshape(n * self.heads, nk, self.head_dim).transpose(1, 2),
                               alpha=1.0 / math.sqrt(self.head_dim))
        w = scores.softmax(-1).view(n, self.heads, nq, nk)
        out = F.dropout(w, self.dropout, self.training) @ v
        return self.proj(out.transpose(1, 2).reshape(n, nq, c)), (w if need_weights else None)


class _Block(nn.Module):
    """A pre-norm transformer block: attention (with a bias) then an MLP, each with a residual."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(round(mlp_ratio * dim))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.norm1(x)
        a, w = self.attn(h, h, bias, need_weights)
        x = x + self.drop(a)
        return x + self.drop(self.mlp(self.norm2(x))), w


class _ClassBlock(_Block):
    """A class-attention block (CaiT, as in ParT): the class token attends to itself and the particles."""

    def forward(self, cls: torch.Tensor, x: torch.Tensor, bias: torch.Tensor,  # type: ignore[override]
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        u = self.norm1(torch.cat([cls, x], dim=1))
        a, w = self.attn(u[:, :1], u, bias, need_weights)
        cls = cls + self.drop(a)
        return cls + self.drop(self.mlp(self.norm2(cls))), w


def _check_forward(features: torch.Tensor, vectors: torch.Tensor | None, points: torch.Tensor | None,
                   mask: torch.Tensor, n_features: int) -> torch.Tensor:
    if features.ndim != 3 or features.shape[-1] != n_features:
        raise ValueError(f"features must have shape (N, P, {n_features}), got {tuple(features.shape)}")
    if mask.shape != features.shape[:2]:
        raise ValueError(f"mask must have shape {tuple(features.shape[:2])} (N, P), got {tuple(mask.shape)}")
    if vectors is not None and vectors.shape != (*features.shape[:2], 4):
        raise ValueError(f"vectors must have shape {(*features.shape[:2], 4)}, got {tuple(vectors.shape)}")
    if points is not None and points.shape != (*features.shape[:2], 2):
        raise ValueError(f"points must have shape {(*features.shape[:2], 2)}, got {tuple(points.shape)}")
    return mask.bool()


class ParticleTransformer(nn.Module):
    """A laptop-sized Particle Transformer (Qu, Li, Qian, arXiv:2202.03772).

    Each particle's features are embedded (a two-layer MLP to ``dim``), then
    ``blocks`` particle attention blocks (pre-norm; multi-head attention whose
    logits get ``U``, a per-head bias computed from the pairwise features of
    every particle pair by a pointwise MLP, plus the padding mask; then an MLP),
    then ``class_blocks`` class-attention blocks in which a learned class token
    attends to itself and to the particles, then a layer norm and a linear layer
    to the class logits.

    What differs from the paper's ParT (2.14 M parameters): ``dim`` 64 instead of
    128, 4 heads instead of 8, 3 particle blocks instead of 8, 1 class block
    instead of 2, the MLP ratio 2 instead of 4 (512/128), an embedding of 64-64
    instead of 128-512-128, a pair embedding of 32 instead of 64-64-64 (without
    its batch normalisation after each layer), no extra layer norms inside the
    blocks (NormFormer-style in the paper) nor head scaling, no input batch
    normalisation (the features are standardised already); about 1.4e5
    parameters at the defaults. The attention mechanism, the four pair
    features and the class attention are the paper's.

    Parameters
    ----------
    n_features
        F, the particle features (17 for :data:`~course_utils.datasets.jetclass.formats.FEATURES`).
    n_classes
        Number of classes (10 for JetClass, 2 for quark/gluon).
    dim, heads, blocks, class_blocks
        Embedding width, attention heads (``dim`` divisible by ``heads``),
        particle blocks and class-attention blocks.
    pair_dim
        4: the interaction bias from the four pair features; 0: none (the
        ablation: plain attention with the padding mask only).
    pair_hidden
        Hidden widths of the pair MLP.
    dropout
        Dropout in the attention weights, the MLPs and the residual branches.
    mlp_ratio
        Hidden width of each block's MLP over ``dim``.
    """

    def __init__(self, n_features: int = 17, n_classes: int = 10, *, dim: int = 64, heads: int = 4, blocks: int = 3,
                 class_blocks: int = 1, pair_dim: int = 4, pair_hidden: Sequence[int] = (32,), dropout: float = 0.0,
                 mlp_ratio: float = 2) -> None:
        super().__init__()
        self.n_features = check_count(n_features, "n_features")
        self.n_classes = check_count(n_classes, "n_classes", min_value=2)
        dim, heads = check_count(dim, "dim"), check_count(heads, "heads")
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        check_count(blocks, "blocks", min_value=0)
        check_count(class_blocks, "class_blocks")
        if pair_dim not in (0, 4):
            raise ValueError(f"pair_dim must be 4 (the four pair features) or 0 (no interaction), got {pair_dim!r}")
        check_number(dropout, "dropout", min_value=0.0, max_value=0.9)
        check_number(mlp_ratio, "mlp_ratio", min_value=0.25)
        self.heads, self.pair_dim = heads, pair_dim
        self.embed = nn.Sequential(nn.Linear(n_features, dim), nn.GELU(), nn.Linear(dim, dim))
        self.pair_embed = _PairEmbedding(pair_dim, tuple(pair_hidden), heads) if pair_dim else None
        self.blocks = nn.ModuleList([_Block(dim, heads, mlp_ratio, dropout) for _ in range(blocks)])
        self.class_blocks = nn.ModuleList([_ClassBlock(dim, heads, mlp_ratio, dropout) for _ in range(class_blocks)])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def _run(self, features: torch.Tensor, vectors: torch.Tensor, points: torch.Tensor | None, mask: torch.Tensor,
             maps: list[torch.Tensor] | None = None, cls_maps: list[torch.Tensor] | None = None) -> torch.Tensor:
        mask = _check_forward(features, vectors if self.pair_embed is not None else None, points, mask,
                              self.n_features)
        n, p = mask.shape
        neg = _neg(features.dtype)
        keys = torch.zeros(n, 1, 1, p, dtype=features.dtype, device=features.device).masked_fill(
            ~mask[:, None, None, :], neg)
        bias = keys if self.pair_embed is None else keys + self.pair_embed(vectors, mask)
        bias = bias.expand(n, self.heads, p, p).reshape(n * self.heads, p, p)
        x = self.embed(features).masked_fill(~mask[..., None], 0.0)
        for block in self.blocks:
            x, w = block(x, bias, maps is not None)
            if maps is not None:
                maps.append(w)
        cls = self.cls_token.expand(n, -1, -1)
        cls_keys = torch.cat([torch.zeros_like(keys[..., :1]), keys], dim=-1)  # the class token is always a key
        cls_keys = cls_keys.expand(n, self.heads, 1, p + 1).reshape(n * self.heads, 1, p + 1)
        for block in self.class_blocks:
            cls, w = block(cls, x, cls_keys, cls_maps is not None)
            if cls_maps is not None:
                cls_maps.append(w[:, :, 0])
        return self.head(self.norm(cls[:, 0]))

    def forward(self, features: torch.Tensor, vectors: torch.Tensor, points: torch.Tensor | None,
                mask: torch.Tensor) -> torch.Tensor:
        """Class logits, shape (N, n_classes), from the four :class:`ParticleInputs` tensors (``points`` unused)."""
        return self._run(features, vectors, points, mask)

    @torch.no_grad()
    def attention_maps(self, features: torch.Tensor, vectors: torch.Tensor, points: torch.Tensor | None,
                       mask: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every particle block, each of shape (N, heads, P, P).

        ``[:, h, i, j]`` is how much particle ``i`` (the query) takes from
        particle ``j`` (the key) in head ``h``: each row sums to 1 over the real
        particles and is 0 on padded keys (in a jet with at least one particle).
        Call ``model.eval()`` first when the model has dropout. Accepts tensors
        or the NumPy arrays of a :class:`ParticleInputs` (``model.attention_maps(*inputs)``).
        """
        maps: list[torch.Tensor] = []
        self._run(*self._tensors(features, vectors, points, mask), maps)
        return maps

    @torch.no_grad()
    def class_attention_maps(self, features: torch.Tensor, vectors: torch.Tensor, points: torch.Tensor | None,
                             mask: torch.Tensor) -> list[torch.Tensor]:
        """The class token's attention weights in every class-attention block, each of shape (N, heads, P + 1).

        ``[:, h, 0]`` is the weight of the class token on itself, ``[:, h, 1 + j]``
        its weight on particle ``j`` (0 for padding); each row sums to 1: which
        particles the jet's summary reads.
        """
        maps: list[torch.Tensor] = []
        self._run(*self._tensors(features, vectors, points, mask), cls_maps=maps)
        return maps

    def _tensors(self, *arrays: Any) -> list[Any]:
        """NumPy arrays (a ParticleInputs of jetclass.particle_inputs) as tensors on the model's device."""
        device = self.head.weight.device
        return [a if a is None or isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a), device=device)
                for a in arrays]


class ParticleFlowNetwork(nn.Module):
    """A particle-flow network (Komiske, Metodiev, Thaler, arXiv:1810.05165): Φ per particle, masked sum, F.

    Parameters
    ----------
    n_features, n_classes
        Particle features F and classes.
    phi
        Widths of the per-particle network Φ (ReLU); the last is the latent size.
    f
        Widths of the jet-level network F (ReLU), then a linear layer to the logits.
    dropout
        Dropout after each layer of F.
    """

    def __init__(self, n_features: int = 17, n_classes: int = 10, *, phi: Sequence[int] = (64, 64, 64),
                 f: Sequence[int] = (64, 64), dropout: float = 0.0) -> None:
        super().__init__()
        self.n_features = check_count(n_features, "n_features")
        self.n_classes = check_count(n_classes, "n_classes", min_value=2)
        if not phi:
            raise ValueError("phi needs at least one layer width")
        check_number(dropout, "dropout", min_value=0.0, max_value=0.9)
        layers: list[nn.Module] = []
        n_in = n_features
        for h in phi:
            layers += [nn.Linear(n_in, check_count(h, "phi width")), nn.ReLU()]
            n_in = h
        self.phi = nn.Sequential(*layers)
        layers = []
        for h in f:
            layers += [nn.Linear(n_in, check_count(h, "f width")), nn.ReLU(), nn.Dropout(dropout)]
            n_in = h
        layers.append(nn.Linear(n_in, n_classes))
        self.f = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor, vectors: torch.Tensor | None, points: torch.Tensor | None,
                mask: torch.Tensor) -> torch.Tensor:
        """Class logits (N, n_classes); ``vectors`` and ``points`` are unused (one signature for all models)."""
        mask = _check_forward(features, None, None, mask, self.n_features)
        latent = (self.phi(features) * mask[..., None].to(features.dtype)).sum(1)
        return self.f(latent)


class _EdgeConv(nn.Module):
    """EdgeConv: an MLP on (x_i, x_j - x_i) of the k nearest valid neighbours j, averaged, plus a shortcut."""

    def __init__(self, n_in: int, widths: Sequence[int], k: int) -> None:
        super().__init__()
        self.k = k
        widths = [check_count(w, "channel width") for w in widths]
        # the first layer W [x_i, x_j - x_i] + b is computed as (W_1 - W_2) x_i + W_2 x_j + b: per particle, not per
        # edge (k times fewer products), then gathered
        self.first = nn.Linear(2 * n_in, widths[0])
        layers: list[nn.Module] = [nn.ReLU()]
        m = widths[0]
        for w in widths[1:]:
            layers += [nn.Linear(m, w), nn.ReLU()]
            m = w
        self.mlp = nn.Sequential(*layers)
        self.shortcut = nn.Linear(n_in, m)
        self.n_out = m

    def forward(self, coords: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, p, _ = x.shape
        k = min(self.k, p - 1)
        d = torch.cdist(coords, coords)
        eye = torch.eye(p, dtype=torch.bool, device=x.device)[None]
        d = d.masked_fill(~mask[:, None, :] | eye, math.inf)  # padding and the particle itself are not neighbours
        dist, idx = d.topk(k, dim=-1, largest=False)  # (N, P, k)
        valid = torch.isfinite(dist).to(x.dtype)[..., None]
        c = x.shape[-1]
        w1, w2 = self.first.weight[:, :c], self.first.weight[:, c:]
        a = F.linear(x, w1 - w2, self.first.bias)  # (N, P, C')
        b = F.linear(x, w2)
        rows = torch.arange(n, device=x.device)[:, None, None]
        e = self.mlp(a[:, :, None, :] + b[rows, idx]) * valid  # (N, P, k, C'')
        agg = e.sum(2) / valid.sum(2).clamp(min=1.0)
        out = F.relu(agg + self.shortcut(x))
        return out.masked_fill(~mask[..., None], 0.0)


class ParticleNetLite(nn.Module):
    """ParticleNet-lite (Qu and Gouskos, arXiv:1902.08570): EdgeConv blocks on k nearest neighbours.

    The first block finds each particle's neighbours in ``points`` (Δη, Δφ),
    the next ones in the feature space of the previous block (a dynamic graph,
    as ParticleNet); padded particles are never neighbours. Then a mean over the
    real particles, a hidden layer of ``fc`` units and the logits. The paper's
    ParticleNet-Lite has k = 7, channels (32, 32, 32), (64, 64, 64) and fc 128;
    ParticleNet (366 k parameters) k = 16 and three blocks up to 256 channels.
    Unlike the paper, no batch normalisation (its statistics would include
    the padded slots).

    Parameters
    ----------
    n_features, n_classes
        Particle features F and classes.
    k
        Neighbours per particle (fewer in jets with fewer particles).
    channels
        Widths of each EdgeConv block's edge MLP.
    fc
        Width of the hidden layer before the logits.
    dropout
        Dropout after that layer.
    """

    def __init__(self, n_features: int = 17, n_classes: int = 10, *, k: int = 8,
                 channels: Sequence[Sequence[int]] = ((32, 32, 32), (64, 64, 64)), fc: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.n_features = check_count(n_features, "n_features")
        self.n_classes = check_count(n_classes, "n_classes", min_value=2)
        k = check_count(k, "k")
        if not channels or not all(len(c) for c in channels):
            raise ValueError(f"channels must be a non-empty list of non-empty width lists, got {channels!r}")
        check_number(dropout, "dropout", min_value=0.0, max_value=0.9)
        self.edge_convs = nn.ModuleList()
        n_in = n_features
        for widths in channels:
            conv = _EdgeConv(n_in, widths, k)
            self.edge_convs.append(conv)
            n_in = conv.n_out
        self.fc = nn.Sequential(nn.Linear(n_in, check_count(fc, "fc")), nn.ReLU(), nn.Dropout(dropout),
                                nn.Linear(fc, n_classes))

    def forward(self, features: torch.Tensor, vectors: torch.Tensor | None, points: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Class logits (N, n_classes); ``vectors`` is unused, ``points`` (N, P, 2) are the first block's coordinates."""
        if points is None:
            raise ValueError("ParticleNetLite needs points (N, P, 2), the (Δη, Δφ) of each particle")
        mask = _check_forward(features, None, points, mask, self.n_features)
        x = features.masked_fill(~mask[..., None], 0.0)
        coords = points
        for conv in self.edge_convs:
            x = conv(coords, x, mask)
            coords = x
        w = mask[..., None].to(x.dtype)
        pooled = (x * w).sum(1) / w.sum(1).clamp(min=1.0)
        return self.fc(pooled)


# ----------------------------------------------------------------------------------------------------------------------
# training and inference


def n_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass
class History:
    """What :func:`fit` measured, one value per epoch run.

    Attributes
    ----------
    train_loss, val_loss, val_acc
        Mean cross-entropy on the training batches (with dropout), on the
        validation set (evaluation mode) and the validation accuracy.
    best_epoch
        Index (from 0) of the epoch with the lowest validation loss, whose
        weights the model holds after :func:`fit`.
    seconds
        Wall time of the whole training.
    epoch_seconds
        Wall time of each epoch (training and validation).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)


def _inputs(inputs: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a ParticleInputs (or any 4-tuple in its order) and return float32/bool arrays."""
    if isinstance(inputs, torch.Tensor) or not isinstance(inputs, tuple) or len(inputs) != 4:
        raise ValueError(f"{name} must be a ParticleInputs (features, vectors, points, mask), as "
                         f"jetclass.particle_inputs or quark_gluon_inputs return, got {type(inputs).__name__}")
    arrays = [a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a) for a in inputs]
    features, vectors, points, mask = arrays
    if features.ndim != 3 or features.shape[0] == 0 or features.shape[1] == 0:
        raise ValueError(f"{name}.features must have shape (n_jets, P, F) with n_jets, P >= 1, got {features.shape}")
    n, p = features.shape[:2]
    for a, what, shape in ((vectors, "vectors", (n, p, 4)), (points, "points", (n, p, 2)), (mask, "mask", (n, p))):
        if a.shape != shape:
            raise ValueError(f"{name}.{what} must have shape {shape} to match features {features.shape}, got {a.shape}")
    for a, what in ((features, "features"), (vectors, "vectors"), (points, "points")):
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{name}.{what} must be numeric, got dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name}.{what} holds {int((~np.isfinite(a)).sum())} NaN or infinite value(s)")
    if mask.dtype != np.bool_ and not np.isin(mask, (0, 1)).all():
        raise ValueError(f"{name}.mask must be boolean (True for a real particle)")
    return (features.astype(np.float32, copy=False), vectors.astype(np.float32, copy=False),
            points.astype(np.float32, copy=False), mask.astype(bool, copy=False))


def _labels(y: Any, n: int, n_classes: int | None, name: str) -> np.ndarray:
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one class index per jet, got {y.shape}")
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    hi = n_classes if n_classes is not None else None
    if y.min() < 0 or (hi is not None and y.max() >= hi):
        raise ValueError(f"{name} must hold class indices in [0, {hi if hi else 'n_classes'}), "
                         f"got values from {y.min()} to {y.max()}")
    return y


def _device(device: Any) -> torch.device:
    if device is None:
        from course_utils.runtime import torch_device

        return torch_device()
    return torch.device(device)


def _batch(tensors: tuple[torch.Tensor, ...], idx: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """One batch on ``device``, cut to the particle slots that any of its jets uses (faster attention)."""
    features, vectors, points, mask = (t[idx] for t in tensors)
    used = torch.nonzero(mask.any(0))
    p = int(used.max()) + 1 if len(used) else 1
    return [t[:, :p].to(device, non_blocking=True) for t in (features, vectors, points, mask)]


def _evaluate(model: nn.Module, tensors: tuple[torch.Tensor, ...], y: torch.Tensor | None, batch_size: int,
              device: torch.device, loss_fn: nn.Module | None) -> tuple[np.ndarray, float]:
    model.eval()
    logits, total = [], 0.0
    n = len(tensors[0])
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = torch.arange(start, min(start + batch_size, n))
            out = model(*_batch(tensors, idx, device))
            if loss_fn is not None and y is not None:
                total += float(loss_fn(out, y[idx].to(device))) * len(idx)
            logits.append(out.float().cpu())
    return torch.cat(logits).numpy(), total / n


def fit(model: nn.Module, train: ParticleInputs, y_train: Any, val: ParticleInputs, y_val: Any, *, epochs: int,
        lr: float = 1e-3, batch_size: int = 256, seed: int = 0, device: Any = None, weight_decay: float = 0.0,
        patience: int | None = None, progress: bool = True, class_weights: Any = None,
        schedule: str = "cosine") -> History:
    """Train ``model`` with AdamW and cross-entropy, keeping the weights of the best validation-loss epoch.

    Parameters
    ----------
    model
        Any of this module's models (``forward(features, vectors, points, mask)``).
    train, val : ParticleInputs
        Inputs of the training and validation jets
        (:func:`~course_utils.datasets.jetclass.formats.particle_inputs`,
        :func:`quark_gluon_inputs`).
    y_train, y_val : array_like of int, shape (n,)
        Class indices.
    epochs
        Maximum number of passes over ``train``.
    lr, weight_decay
        AdamW's learning rate and weight decay.
    batch_size
        Jets per step. Each batch is cut to the particle slots its jets use.
    seed
        Seeds the shuffling and the dropout (not the initial weights: seed
        torch before building the model).
    device
        A torch device; ``None``: :func:`course_utils.runtime.torch_device`.
    patience
        Stop after this many epochs without a lower validation loss (``None``: never).
    progress
        Show a tqdm bar over epochs.
    class_weights : array_like, shape (n_classes,), optional
        Weights of the cross-entropy per class.
    schedule
        ``"cosine"``: the learning rate follows a cosine from ``lr`` to 0 over
        ``epochs``; ``"constant"``.

    Returns
    -------
    History
        Per-epoch losses and accuracy, the best epoch, the wall time. The model
        is left on ``device``, in evaluation mode, with the best epoch's weights.
    """
    from tqdm.auto import tqdm

    epochs = check_count(epochs, "epochs")
    batch_size = check_count(batch_size, "batch_size")
    seed = check_seed(seed)
    check_number(lr, "lr", min_value=0.0)
    check_number(weight_decay, "weight_decay", min_value=0.0)
    patience = check_count(patience, "patience", allow_none=True)
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    n_classes = getattr(model, "n_classes", None)
    tr = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in _inputs(train, "train"))
    va = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in _inputs(val, "val"))
    if tr[0].shape[-1] != va[0].shape[-1]:
        raise ValueError(f"train and val have different numbers of features: {tr[0].shape[-1]} and {va[0].shape[-1]}")
    ytr = torch.from_numpy(_labels(y_train, len(tr[0]), n_classes, "y_train"))
    yva = torch.from_numpy(_labels(y_val, len(va[0]), n_classes, "y_val"))
    device = _device(device)
    model.to(device)
    weight = None
    if class_weights is not None:
        cw = np.asarray(class_weights, dtype=np.float32)
        if cw.ndim != 1 or (n_classes is not None and len(cw) != n_classes) or not (cw > 0).all():
            raise ValueError(f"class_weights must be {n_classes or 'n_classes'} positive numbers, got {cw!r}")
        weight = torch.from_numpy(cw).to(device)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(ytr)
    steps = epochs * math.ceil(n / batch_size)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if schedule == "cosine"
             else torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0))
    history = History()
    best_loss, best_state, since = math.inf, None, 0
    t0 = time.perf_counter()
    bar = tqdm(range(epochs), desc=type(model).__name__, disable=not progress)
    for epoch in bar:
        te = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            out = model(*_batch(tr, idx, device))
            loss = loss_fn(out, ytr[idx].to(device))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the training loss became {float(loss)} at epoch {epoch}: lower lr?")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        logits, val_loss = _evaluate(model, va, yva, 1024, device, loss_fn)
        history.train_loss.append(total / n)
        history.val_loss.append(val_loss)
        history.val_acc.append(float((logits.argmax(1) == yva.numpy()).mean()))
        history.epoch_seconds.append(time.perf_counter() - te)
        if val_loss < best_loss:
            best_loss, since, history.best_epoch = val_loss, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since += 1
        bar.set_postfix(train=f"{history.train_loss[-1]:.3f}", val=f"{val_loss:.3f}",
                        acc=f"{history.val_acc[-1]:.3f}")
        if patience is not None and since >= patience:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - t0
    return history


def predict_proba(model: nn.Module, inputs: ParticleInputs, *, batch_size: int = 1024,
                  device: Any = None) -> np.ndarray:
    """Class probabilities (softmax of the logits) of every jet, shape (n, n_classes), float64.

    The model is run in evaluation mode, without gradients, on ``device``
    (``None``: where its parameters are); its training mode is restored.
    """
    batch_size = check_count(batch_size, "batch_size")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tensors = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in _inputs(inputs, "inputs"))
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    else:
        device = torch.device(device)
        model.to(device)
    was_training = model.training
    logits, _ = _evaluate(model, tensors, None, batch_size, device, None)
    model.train(was_training)
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------------------------------------------------
# quark/gluon jets as JetClass inputs



def quark_gluon_inputs(X: Any, *, max_particles: int = 128) -> ParticleInputs:
    """The quark/gluon jets of notebook 02 as the 17 JetClass inputs of the Particle Transformer.

    Follows the ParT repository's ``utils/convert_qg_datasets.py`` (the paper's
    quark/gluon benchmark, table 4): particles massless with ``η = y``,
    ``px = pT cos φ``, ``py = pT sin φ``, ``pz = pT sinh y``, ``E = pT cosh y``;
    the jet is the sum of all its particles; ``part_deta = η − η_jet`` and
    ``part_dphi = φ − φ_jet`` (wrapped), as the course's JetClass simulation
    (the converter also flips ``part_deta`` by the sign of ``η_jet``, which
    JetClass does not: we keep the JetClass convention, so that a model
    pre-trained on JetClass reads the same thing); the type flags from the PDG
    id (charged hadrons 211, 321, 2212, and the other charged baryons of
    Pythia's stable list; neutral hadrons 130, 2112 and the other neutral
    ones; photons 22, electrons 11, muons 13) and the charge from it
    (:data:`course_utils.physics.jets.PDG_CHARGES`). Then exactly the
    transforms of :func:`~course_utils.datasets.jetclass.formats.particle_inputs`
    (logarithms, :data:`~course_utils.datasets.jetclass.formats.STANDARDISATION`).

    The quark/gluon files hold no tracks: the impact parameters and their
    errors are 0 for every particle, and the standardisation maps them to 0
    (``tanh(0) = 0``, ``clip(0, 0, 1) = 0``). The paper's own quark/gluon inputs
    have no impact parameter at all (the ``kinpid`` features); a 17-feature
    model pre-trained on JetClass sees, on these jets, what it sees for
    neutral particles.

    Parameters
    ----------
    X : array_like, shape (n_jets, M, 4)
        ``(pT [GeV], y, φ, PDG id)`` per particle, zero-padded (``pT = 0``), as
        :func:`course_utils.datasets.quark_gluon.formats.read` returns.
    max_particles
        P: the hardest ``P`` particles are kept (sorted by pT here).

    Returns
    -------
    ParticleInputs
        ``features`` (n, P, 17), ``vectors`` (n, P, 4), ``points`` (n, P, 2), ``mask`` (n, P).
    """
    X = check_jets(X, need_pid=True)
    P = check_count(max_particles, "max_particles")
    order = np.argsort(-X[..., 0], axis=1, kind="stable")
    X = np.take_along_axis(X, order[..., None], axis=1)
    full_mask = X[..., 0] > 0
    if not full_mask.any(axis=1).all():
        raise ValueError(f"X has {int((~full_mask.any(axis=1)).sum())} jet(s) without any particle (pT > 0)")
    pt, rap, phi, pid = (X[..., i] for i in range(4))
    px, py = pt * np.cos(phi), pt * np.sin(phi)
    pz, e = pt * np.sinh(rap), pt * np.cosh(rap)
    jpx, jpy, jpz, je = (np.where(full_mask, a, 0.0).sum(1) for a in (px, py, pz, e))
    jpt = np.hypot(jpx, jpy)
    jeta = np.arcsinh(jpz / jpt)
    jphi = np.arctan2(jpy, jpx)
    # The particles as the branches of a JetClass file, then the JetClass reader's own transforms.
    import awkward as ak
    import pandas as pd

    counts = full_mask.sum(1)
    keep = full_mask                       # particles are sorted: the real ones come first
    aid = np.abs(pid[keep]).astype(np.int64)
    charge = np.array([PDG_CHARGES.get(int(a), 0) for a in aid], dtype=np.float64) * np.sign(pid[keep])
    photon, electron, muon = aid == 22, aid == 11, aid == 13
    hadron = ~photon & ~electron & ~muon
    deta = rap - jeta[:, None]
    dphi = (phi - jphi[:, None] + np.pi) % (2 * np.pi) - np.pi
    zeros = np.zeros(int(counts.sum()))
    flat = {"part_px": px[keep], "part_py": py[keep], "part_pz": pz[keep], "part_energy": e[keep],
            "part_deta": deta[keep], "part_dphi": dphi[keep],
            "part_d0val": zeros, "part_d0err": zeros, "part_dzval": zeros, "part_dzerr": zeros,
            "part_charge": charge,
            "part_isChargedHadron": hadron & (charge != 0), "part_isNeutralHadron": hadron & (charge == 0),
            "part_isPhoton": photon, "part_isElectron": electron, "part_isMuon": muon}
    particles = ak.zip({name: ak.unflatten(np.asarray(v, dtype=np.int32 if v.dtype == bool else np.float64),
                                           counts) for name, v in flat.items()})
    jets = pd.DataFrame({"jet_pt": jpt, "jet_energy": je}).astype(np.float32)
    data = JetClassData(particles, jets, np.zeros(len(X), dtype=np.int64), pd.DataFrame(index=range(len(X))))
    return particle_inputs(data, max_particles=P)
