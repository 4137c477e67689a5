"""Classifiers that do not learn what the simulation gets wrong (notebook 10).

Notebook 10 writes each technique in its cells first; these helpers repeat
them for the sweeps over the strength ``lam`` of the constraint:

* :class:`GradientReversal` / :func:`grad_reverse`: the gradient reversal layer
  of Ganin and Lempitsky (arXiv:1409.7495), identity forward, gradient times
  ``-alpha`` backward;
* :func:`distance_correlation_loss`: the differentiable squared distance
  correlation that DisCo (Kasieczka and Shih, arXiv:2001.05310) adds to the loss;
* :class:`Tagger`: a small fully connected classifier (features, then a head);
* :func:`train_robust`: one training with ``method`` = ``"plain"``, ``"pivot"``
  (a categorical adversary predicting the nuisance from the score of background
  events, alternating updates, Louppe, Kagan and Cranmer, arXiv:1611.01046),
  ``"grl"`` (a domain classifier on the hidden representation behind a gradient
  reversal layer, one optimiser, as in domain adaptation) or ``"disco"``;
* :func:`predict`: the scores of a trained tagger.

This module imports torch: it is loaded only when asked for
(``from course_utils.models import adversarial``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["GradientReversal", "grad_reverse", "distance_correlation_loss", "Tagger", "METHODS",
           "train_robust", "predict"]

#: The training methods of :func:`train_robust`.
METHODS = ("plain", "pivot", "grl", "disco")


class GradientReversal(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by ``-alpha`` in the backward pass."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, alpha: float) -> torch.Tensor:  # noqa: D102
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return -ctx.alpha * grad, None


def grad_reverse(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``x`` unchanged, but the gradient that flows back through it is multiplied by ``-alpha``."""
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    return GradientReversal.apply(x, float(alpha))


def distance_correlation_loss(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Squared distance correlation of two 1-D tensors, differentiable (DisCo's penalty).

    Parameters
    ----------
    x, y : torch.Tensor, shape (n,)
        Paired values (the classifier's score and the jet mass, say), ``n >= 2``.
    weights : torch.Tensor, shape (n,), optional
        Event weights (normalised here).

    Returns
    -------
    torch.Tensor
        A scalar in [0, 1]; the same value as
        :func:`course_utils.metrics.decorrelation.distance_correlation`.
    """
    x, y = x.reshape(-1), y.reshape(-1)
    if x.shape != y.shape or x.numel() < 2:
        raise ValueError(f"x and y must be 1-D with the same length >= 2, got {tuple(x.shape)} and {tuple(y.shape)}")
    n = x.numel()
    w = torch.full_like(x, 1.0 / n) if weights is None else weights.reshape(-1) / weights.sum()

    def centred(v: torch.Tensor) -> torch.Tensor:
        d = (v[:, None] - v[None, :]).abs()
        row = d @ w
        return d - row[:, None] - row[None, :] + row @ w

    x, y, w = x.double(), y.double(), w.double()
    a, b = centred(x), centred(y)
    dcov_xy = w @ (a * b) @ w
    dcov_xx = w @ (a * a) @ w
    dcov_yy = w @ (b * b) @ w
    return (dcov_xy / torch.sqrt(dcov_xx * dcov_yy + 1e-30)).to(torch.float32)


class Tagger(nn.Module):
    """A fully connected classifier: ``features`` (hidden layers), then ``head`` (one logit).

    Parameters
    ----------
    n_inputs
        Number of input variables.
    hidden
        Widths of the hidden layers (tanh first, then ReLU, as in arXiv:1611.01046).
    """

    def __init__(self, n_inputs: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        if n_inputs < 1 or not hidden:
            raise ValueError(f"need n_inputs >= 1 and at least one hidden layer, got {n_inputs}, {hidden}")
        layers: list[nn.Module] = []
        width = n_inputs
        for k, h in enumerate(hidden):
            layers += [nn.Linear(width, h), nn.Tanh() if k == 0 else nn.ReLU()]
            width = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (n,)."""
        return self.head(self.features(x)).squeeze(-1)


def _tensor(a: Any, name: str, n: int | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    arr = np.asarray(a, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if n is not None and len(arr) != n:
        raise ValueError(f"{name} must have {n} rows to match X, got {len(arr)}")
    return torch.as_tensor(arr, dtype=dtype)


def train_robust(X: Any, y: Any, z: Any, *, method: str = "plain", lam: float = 0.0, mass: Any = None,
                 epochs: int = 30, batch_size: int = 256, lr: float = 1e-3, adversary_steps: int = 5,
                 hidden: Sequence[int] = (64, 64), seed: int = 0, pretrain_epochs: int | None = None,
                 adversary_on: str | None = None) -> Tagger:
    """Train a :class:`Tagger` whose score should not depend on the nuisance ``z`` (or on ``mass``).

    Parameters
    ----------
    X : array-like, shape (n, d)
        Standardised inputs.
    y : array-like, shape (n,)
        Labels 1 (signal) / 0 (background); ``-1`` marks unlabelled events
        (domain adaptation: they enter only the adversary's loss, ``method="grl"``).
    z : array-like, shape (n,)
        The nuisance as a category (0, 1, ...: the simulation setting each event comes from).
    method : {"plain", "pivot", "grl", "disco"}
        ``"plain"``: cross-entropy only. ``"pivot"``: pre-train, then alternate
        ``adversary_steps`` updates of a categorical adversary predicting ``z``
        from the score of background events with one update of the tagger on
        ``L_f - lam * L_r``. ``"grl"``: the same adversary, placed behind a
        gradient reversal layer of strength ``lam``: one optimiser, one
        backward pass per batch. ``"disco"``: ``L_f + lam * dCor^2(logit, mass)``
        over the background of each batch (on the logit: a saturated sigmoid
        would make the penalty vanish without decorrelating anything).
        ``"pivot"`` and ``"disco"`` start from a tagger pre-trained without constraint.
    lam
        Strength of the constraint (0: plain training).
    mass : array-like, shape (n,), optional
        The variable to decorrelate from (``"disco"`` only), standardised.
    epochs, batch_size, lr, adversary_steps, hidden, seed
        Training budget and architecture; ``pretrain_epochs`` (``"pivot"`` and
        ``"disco"``, default ``epochs // 3``) of plain training come first, within ``epochs``.
    adversary_on : {"background", "all"}, optional
        Which events the adversary sees: the background (``y == 0``, the
        default: a search only needs the background to be robust), or every
        event, unlabelled ones included (the default when ``y`` holds ``-1``:
        domain adaptation, which aligns the score distributions of the domains).

    Returns
    -------
    Tagger
        The trained tagger, in evaluation mode.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: expected one of {METHODS}")
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    Xt = _tensor(X, "X")
    if Xt.ndim != 2 or len(Xt) < 2:
        raise ValueError(f"X must have shape (n, d) with n >= 2, got {tuple(Xt.shape)}")
    n = len(Xt)
    yt = _tensor(y, "y", n)
    zt = _tensor(z, "z", n, dtype=torch.long)
    if not set(np.unique(yt.numpy())) <= {-1.0, 0.0, 1.0}:
        raise ValueError("y must hold 1 (signal), 0 (background) or -1 (unlabelled)")
    if (yt < 0).any() and method != "grl":
        raise ValueError("unlabelled events (y = -1) are used only by method='grl'")
    if method == "disco":
        if mass is None:
            raise ValueError("method='disco' needs the variable to decorrelate from: mass=...")
        mt = _tensor(mass, "mass", n)
    if adversary_on is None:
        adversary_on = "all" if (yt < 0).any() else "background"
    if adversary_on not in ("background", "all"):
        raise ValueError(f"adversary_on must be 'background' or 'all', got {adversary_on!r}")
    n_z = int(zt.max()) + 1
    if zt.min() < 0:
        raise ValueError("z must hold categories 0, 1, ...")
    pre = 0 if method in ("plain", "grl") else epochs // 3 if pretrain_epochs is None else pretrain_epochs
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = Tagger(Xt.shape[1], hidden)
    bce = nn.BCEWithLogitsLoss()
    ce = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    adversary: nn.Module | None = None
    if method == "pivot":
        adversary = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, n_z))
        opt_adv = torch.optim.Adam(adversary.parameters(), lr=lr)
    elif method == "grl":
        adversary = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, n_z))
        opt = torch.optim.Adam([*model.parameters(), *adversary.parameters()], lr=lr)
    labelled = yt >= 0
    background = (yt == 0) if adversary_on == "background" else torch.ones(n, dtype=torch.bool)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            lab = idx[labelled[idx]]
            if method == "pivot" and lam > 0 and epoch >= pre:
                bkg_all = torch.nonzero(background).squeeze(1)
                for _ in range(adversary_steps):
                    b = bkg_all[torch.randint(len(bkg_all), (batch_size,), generator=gen)]
                    with torch.no_grad():
                        s = torch.sigmoid(model(Xt[b]))[:, None]
                    loss_r = ce(adversary(s), zt[b])
                    opt_adv.zero_grad()
                    loss_r.backward()
                    opt_adv.step()
            logits = model(Xt[lab])
            loss = bce(logits, yt[lab]) if len(lab) else torch.zeros(())
            adv = idx[background[idx]]
            if method == "pivot" and lam > 0 and epoch >= pre and len(adv) > 1:
                s = torch.sigmoid(model(Xt[adv]))[:, None]
                loss = loss - lam * ce(adversary(s), zt[adv])
            elif method == "grl" and lam > 0 and len(adv) > 1:
                s = torch.sigmoid(model(Xt[adv]))[:, None]
                loss = loss + ce(adversary(grad_reverse(s, lam)), zt[adv])
            elif method == "disco" and lam > 0 and epoch >= pre:
                bkg = lab[yt[lab] == 0]
                if len(bkg) > 1:
                    loss = loss + lam * distance_correlation_loss(model(Xt[bkg]), mt[bkg])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def predict(model: nn.Module, X: Any, batch_size: int = 65_536) -> np.ndarray:
    """Scores in [0, 1] (sigmoid of the logits), shape (n,)."""
    Xt = _tensor(X, "X")
    out = []
    with torch.no_grad():
        for start in range(0, len(Xt), batch_size):
            out.append(torch.sigmoid(model(Xt[start:start + batch_size])).numpy())
    return np.concatenate(out) if out else np.zeros(0)
