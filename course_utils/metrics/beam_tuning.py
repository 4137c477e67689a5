"""Figures of merit of a beam-tuning episode, as the RL4AA'25 challenge defines them (notebook 12).

An episode is the sequence of beams measured on the screen, ``beams`` of shape ``(n_steps + 1, 4)``
(μx, σx, μy, σy in metres, the first row measured right after the reset), the target beam ``target``
of shape ``(4,)`` and the magnet settings ``magnets`` of shape ``(n_steps + 1, 5)`` (k1 of Q1, Q2 in
m⁻², angle of CV in rad, k1 of Q3, angle of CH in rad).

The definitions follow ``RL4AA/rl4aa25-challenge``: ``src/eval/episode.py`` (``Episode.maes``,
``min_maes``, ``steps_to_convergence``, ``sum_of_normalized_magnet_changes``; read at commit 06d94c5) and
``src/eval/study.py`` (``Study.evaluate_challenge``: the medians over trials and the 150-step rule). The
versions of that ``study.py`` we could read (commits 06d94c5 and 1ea5981) print the medians but no score;
the score formula used here is the one of ``Study.evaluate_challenge`` in ``RL4AA/rl4aa26-challenge``,
``src/eval/study.py`` at commit 2deb37823448ea42710be86c06cf4bdefc3de922, and the rl4aa25 notebook
``challenge_B_custom_optimizer.ipynb`` (commit 4c8e2988a4349f4b4049dc05c3cfe7c311fd813d) prints a
"Score" line that this formula does not reproduce from the medians printed beside it (notebook 12 shows
the computation).
"""

from __future__ import annotations

import numpy as np

#: The scales of the normalised magnet changes: 30 m⁻² for the quadrupoles, 6.1782 mrad for the
#: correctors (``sum_of_normalized_magnet_changes`` in the challenge's ``src/eval/episode.py``).
MAGNET_CHANGE_SCALE = np.array([30.0, 30.0, 6.1782e-3, 30.0, 6.1782e-3])
#: The challenge's convergence threshold on the MAE, in metres (``steps_to_convergence(4e-5)``).
CONVERGENCE_THRESHOLD = 4e-5
#: The challenge's episode length, in steps (the normalisation of its score).
CHALLENGE_STEPS = 150


def _as_2d(values, columns: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != columns or len(arr) == 0:
        raise ValueError(f"{name}: expected shape (n_steps + 1, {columns}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def mae(beams, target) -> np.ndarray:
    """Mean absolute error to the target beam after each step, in metres.

    Parameters
    ----------
    beams : array of shape (n_steps + 1, 4) or (4,)
        μx, σx, μy, σy on the screen, in metres.
    target : array of shape (4,)
        The target beam, same order and units.

    Returns
    -------
    ndarray of shape (n_steps + 1,) (a 0-d array for a single beam)

    Examples
    --------
    >>> float(mae([1e-3, 2e-4, 0.0, 2e-4], [0.0, 2e-4, 0.0, 1e-4]))
    0.000275
    """
    b = np.asarray(beams, dtype=float)
    t = np.asarray(target, dtype=float)
    if t.shape != (4,) or b.shape[-1:] != (4,):
        raise ValueError(f"mae: expected beams (..., 4) and target (4,), got {b.shape} and {t.shape}")
    return np.mean(np.abs(b - t), axis=-1)


def steps_to_convergence(maes, threshold: float = CONVERGENCE_THRESHOLD, *, max_steps: int | None = None,
                         use_min_mae: bool = False) -> int:
    """The first step after which the MAE varies by less than ``threshold`` until the end.

    As the challenge does: the first ``i ≥ 1`` with ``max(maes[i:]) − min(maes[i:]) < threshold``; an
    episode whose final MAE is not below its initial MAE counts as ``max_steps`` (it did not converge to
    anything better; ``Study.evaluate_challenge`` uses 150).

    Parameters
    ----------
    maes : array of shape (n_steps + 1,)
        The MAE after the reset (index 0) and after each step, in metres.
    threshold : float
        In metres.
    max_steps : int, optional
        The value for an episode that ends no better than it started (default: ``len(maes) - 1``).
    use_min_mae : bool
        Apply the rule to the best MAE seen so far (running minimum) instead of the MAE of each step, as
        the challenge's ``Episode.steps_to_convergence(..., use_min_mae=True)`` does (``Episode.min_maes``
        in ``src/eval/episode.py``): an optimiser that explores, then returns to its best setting at the
        last step, then counts as converged when it *found* that setting.
    """
    m = np.asarray(maes, dtype=float)
    if m.ndim != 1 or len(m) == 0 or not np.all(np.isfinite(m)):
        raise ValueError(f"steps_to_convergence: expected a finite 1-d array of MAEs, got shape {m.shape}")
    if use_min_mae:
        m = np.minimum.accumulate(m)
    worst = len(m) - 1 if max_steps is None else int(max_steps)
    if len(m) < 2 or m[-1] >= m[0]:
        return worst
    step = 1
    for i in range(1, len(m)):
        step = i
        if m[i:].max() - m[i:].min() < threshold:
            break
    return step


def sum_of_normalized_magnet_changes(magnets) -> float:
    """Sum over the steps and the five magnets of |Δ setting| / scale (see :data:`MAGNET_CHANGE_SCALE`)."""
    m = _as_2d(magnets, 5, "magnets")
    return float(np.sum(np.abs(np.diff(m / MAGNET_CHANGE_SCALE, axis=0))))


def challenge_score(final_mae: float, steps: float, changes: float, *, max_steps: int = CHALLENGE_STEPS) -> float:
    """The RL4AA'25 score, lower is better: 3·MAE·250 + 0.5·steps/max_steps + 0.5·changes/(5·max_steps).

    The challenge applies it to the medians over its trials (``Study.evaluate_challenge`` of
    ``RL4AA/rl4aa26-challenge``, ``src/eval/study.py`` at commit 2deb378), with the MAE in metres and
    ``max_steps = 150``.
    """
    values = np.array([final_mae, steps, changes], dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < 0) or max_steps <= 0:
        raise ValueError(f"challenge_score: expected non-negative MAE, steps and changes, got {values}")
    return float(3 * final_mae * 250 + 0.5 * steps / max_steps + 0.5 * changes / (5 * max_steps))


def episode_summary(beams, target, magnets, *, threshold: float = CONVERGENCE_THRESHOLD,
                    max_steps: int | None = None) -> dict[str, float]:
    """Final MAE (m), steps to convergence and normalised magnet changes of one episode.

    ``steps`` applies the convergence rule to the MAE of each step, ``steps_best`` to the best MAE seen so
    far (``use_min_mae=True``).
    """
    b = _as_2d(beams, 4, "beams")
    m = _as_2d(magnets, 5, "magnets")
    if len(b) != len(m):
        raise ValueError(f"beams and magnets must have one row per step, got {len(b)} and {len(m)}")
    maes = mae(b, target)
    return {"initial_mae": float(maes[0]), "final_mae": float(maes[-1]), "best_mae": float(maes.min()),
            "steps": float(steps_to_convergence(maes, threshold, max_steps=max_steps)),
            "steps_best": float(steps_to_convergence(maes, threshold, max_steps=max_steps, use_min_mae=True)),
            "changes": sum_of_normalized_magnet_changes(m)}


def bootstrap_median(values, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """The median of ``values`` (one per trial) and its percentile bootstrap interval: (median, low, high)."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"bootstrap_median: expected at least two finite values, got shape {v.shape}")
    if n_boot < 10 or not 0 < level < 1:
        raise ValueError(f"bootstrap_median: expected n_boot >= 10 and level in (0, 1), got {n_boot}, {level}")
    rng = np.random.default_rng(seed)
    medians = np.median(v[rng.integers(0, len(v), size=(n_boot, len(v)))], axis=1)
    low, high = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(v)), float(low), float(high)
