"""Pairwise interaction features of the Particle Transformer (notebook 11).

For every pair of particles (a, b) of a jet, the Particle Transformer (Qu, Li,
Qian, arXiv:2202.03772, eq. 3) computes four Lorentz-invariant-ish quantities
and adds an embedding of them to the attention scores:

* ``ln ΔR``, with ``ΔR = sqrt(Δy² + Δφ²)`` (rapidity ``y``, not pseudorapidity);
* ``ln kT``, with ``kT = min(pT_a, pT_b) ΔR``;
* ``ln z``, with ``z = min(pT_a, pT_b) / (pT_a + pT_b)``;
* ``ln m²``, with ``m² = (E_a + E_b)² − |p_a + p_b|²``;

in the order ``(ln kT, ln z, ln ΔR, ln m²)`` and with the clamps of the
paper's code (``pairwise_lv_fts`` in ``weaver/nn/model/ParticleTransformer.py``
of jet-universe/particle_transformer): ``ΔR``, ``kT``, ``pT_a + pT_b``, ``z``
and ``m²`` are clamped below at ``eps`` before the logarithm, so a particle
paired with itself (ΔR = 0) or a massless collinear pair gives ``ln eps``
rather than ``-inf``. Pairs that involve a padded slot are set to zero.

This module is pure NumPy; the same computation in torch, done on the fly inside
the model, is ``course_utils.models.particle_transformer.pair_features_torch``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PAIR_FEATURES", "pair_features"]

#: The four pairwise features, in the order of the last axis of :func:`pair_features`.
PAIR_FEATURES = ("ln_kt", "ln_z", "ln_delta", "ln_m2")


def _check_inputs(p4: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    p4 = np.asarray(p4)
    if p4.ndim != 3 or p4.shape[-1] != 4:
        raise ValueError(f"p4 must have shape (n_jets, n_particles, 4) holding (px, py, pz, E), got {p4.shape}")
    if p4.dtype.kind not in "iuf":
        raise ValueError(f"p4 must be numeric, got dtype {p4.dtype}")
    if p4.shape[0] == 0 or p4.shape[1] == 0:
        raise ValueError(f"p4 holds no jet or no particle slot: shape {p4.shape}")
    mask = np.asarray(mask)
    if mask.shape != p4.shape[:2]:
        raise ValueError(f"mask must have shape {p4.shape[:2]} (one flag per particle slot), got {mask.shape}")
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "iuf" or not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must be boolean (True for a real particle), or hold only 0 and 1")
        mask = mask.astype(bool)
    p4 = p4.astype(np.float64)
    if not np.isfinite(p4[mask]).all():
        raise ValueError("p4 holds NaN or infinite values for real particles")
    return np.where(mask[..., None], p4, 0.0), mask


def pair_features(p4: Any, mask: Any, *, eps: float = 1e-8) -> np.ndarray:
    """The four pairwise features of every particle pair of every jet.

    Parameters
    ----------
    p4 : array_like, shape (n_jets, P, 4)
        ``(px, py, pz, E)`` of each particle slot [GeV].
    mask : array_like of bool, shape (n_jets, P)
        True for a real particle, False for padding.
    eps
        The clamp of the paper's code (module docstring).

    Returns
    -------
    numpy.ndarray of float32, shape (n_jets, P, P, 4)
        ``(ln kT, ln z, ln ΔR, ln m²)`` of the pair ``(a, b)`` at ``[:, a, b]``
        (:data:`PAIR_FEATURES`); symmetric in ``a`` and ``b``; zero where
        either slot is padding. With kT and m in GeV.

    Examples
    --------
    >>> p4 = np.array([[[10.0, 0, 0, 10.0], [0, 5.0, 0, 5.0]]])
    >>> f = pair_features(p4, np.ones((1, 2), bool))
    >>> round(float(f[0, 0, 1, 3]), 4)  # ln m² = ln(2 * 10 * 5 * (1 - cos 90°)) = ln 100
    4.6052
    """
    p4, mask = _check_inputs(p4, mask)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    px, py, pz, e = np.moveaxis(p4, -1, 0)
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the paper's rapidity: 0.5 ln(1 + 2 pz / (E - pz)), with E - pz clamped at 1e-20
        rap = 0.5 * np.log(1.0 + 2.0 * pz / np.maximum(e - pz, 1e-20))
    rap = np.where(mask, rap, 0.0)
    phi = np.arctan2(py, px)
    dphi = (phi[:, :, None] - phi[:, None, :] + np.pi) % (2 * np.pi) - np.pi
    delta = np.sqrt((rap[:, :, None] - rap[:, None, :]) ** 2 + dphi ** 2)
    ptmin = np.minimum(pt[:, :, None], pt[:, None, :])
    ln_delta = np.log(np.maximum(delta, eps))
    ln_kt = np.log(np.maximum(ptmin * delta, eps))
    ln_z = np.log(np.maximum(ptmin / np.maximum(pt[:, :, None] + pt[:, None, :], eps), eps))
    s = p4[:, :, None, :] + p4[:, None, :, :]
    m2 = s[..., 3] ** 2 - (s[..., :3] ** 2).sum(axis=-1)
    ln_m2 = np.log(np.maximum(m2, eps))
    out = np.stack([ln_kt, ln_z, ln_delta, ln_m2], axis=-1)
    both = mask[:, :, None] & mask[:, None, :]
    return np.where(both[..., None], out, 0.0).astype(np.float32)
