"""Classical optimisers and trained agents on the same ARES problems, scored as RL4AA'25 does (notebook 12).

Every method is run on an :class:`~course_utils.rl.ares.AresEA` environment, one
:class:`~course_utils.rl.ares.Trial` at a time, with a budget of ``steps`` magnet settings; what it
saw is recorded as an :class:`Episode` (the beams, the settings, the target). The classical optimisers
work in ``"direct"`` mode (they propose settings) and, at the end, set the best settings they have
seen; the agent works in ``"delta"`` mode and stops where its last step left the beam.

:func:`evaluate` runs one method on a list of trials and returns one row per trial: final MAE, steps
to convergence, normalised magnet changes (:func:`course_utils.metrics.beam_tuning.episode_summary`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_utils.metrics.beam_tuning import episode_summary
from course_utils.rl.ares import MAGNET_LIMITS, AresEA, Trial


@dataclass
class Episode:
    """What one method saw on one trial: beams (n+1, 4), settings (n+1, 5), target (4,)."""

    beams: np.ndarray
    magnets: np.ndarray
    target: np.ndarray

    def summary(self, max_steps: int | None = None) -> dict[str, float]:
        return episode_summary(self.beams, self.target, self.magnets, max_steps=max_steps)


class _BudgetSpent(Exception):
    """Raised inside an optimiser's objective when the budget of settings is spent."""


class _Recorder:
    """Runs settings on an environment in direct mode, records them, counts the budget."""

    def __init__(self, env: AresEA, trial: Trial, steps: int):
        if env.core.action_mode != "direct":
            raise ValueError("the classical optimisers need an AresEA(action_mode='direct')")
        self.env, self.steps = env, steps
        _, info = env.reset(options={"trial": trial})
        self.beams, self.magnets, self.target = [info["beam"]], [info["magnets"]], info["target"]
        self.best_x = info["magnets"] / MAGNET_LIMITS
        self.best_mae = info["mae"]

    @property
    def left(self) -> int:
        return self.steps - (len(self.beams) - 1)

    def __call__(self, x: np.ndarray) -> float:
        """MAE (m) after setting the normalised settings ``x`` (in [−1, 1]⁵)."""
        if self.left <= 0:
            raise _BudgetSpent
        x = np.clip(np.asarray(x, dtype=float), -1, 1)
        _, _, _, _, info = self.env.step(x.astype(np.float32))
        self.beams.append(info["beam"])
        self.magnets.append(info["magnets"])
        if info["mae"] < self.best_mae:
            self.best_mae, self.best_x = info["mae"], x
        return info["mae"]

    def finish(self) -> Episode:
        """Set the best settings seen (the last step of the budget) and return the episode."""
        if self.left <= 0:   # the budget is spent: the last step goes back to the best settings
            self.beams.pop()
            self.magnets.pop()
        self.env.step(np.asarray(self.best_x, dtype=np.float32))
        info = self.env.unwrapped._info()
        self.beams.append(info["beam"])
        self.magnets.append(info["magnets"])
        return Episode(np.array(self.beams), np.array(self.magnets), np.asarray(self.target))


def do_nothing(env: AresEA, trial: Trial, steps: int, *, seed: int = 0) -> Episode:
    """Keep the initial settings: the episode is the beam measured after the reset."""
    _, info = env.reset(options={"trial": trial})
    return Episode(info["beam"][None, :], info["magnets"][None, :], info["target"])


def random_search(env: AresEA, trial: Trial, steps: int, *, seed: int = 0) -> Episode:
    """Uniform random settings within the limits; the best one is set at the end."""
    rec = _Recorder(env, trial, steps)
    rng = np.random.default_rng(seed)
    while rec.left > 1:
        rec(rng.uniform(-1, 1, size=5))
    return rec.finish()


def nelder_mead(env: AresEA, trial: Trial, steps: int, *, seed: int = 0, step_size: float = 0.1,
                active=None) -> Episode:
    """scipy's Nelder–Mead simplex on the MAE, from the initial settings, simplex edges of ``step_size``.

    ``step_size`` is a fraction of each magnet's range (normalised settings in [−1, 1]); its default, 0.1, is
    the course's choice, fixed before any evaluation and not tuned (scipy's own initial simplex, 5 % of
    each non-zero coordinate, barely moves a setting that starts at 0). ``active``: the
    indices of the magnets it may change (in Q1, Q2, CV, Q3, CH order; default all five), the others stay
    at their initial settings.
    """
    from scipy.optimize import minimize

    rec = _Recorder(env, trial, steps)
    x0 = rec.best_x.copy()
    free = np.arange(5) if active is None else np.asarray(sorted(set(active)), dtype=int)
    if len(free) == 0 or free.min() < 0 or free.max() > 4:
        raise ValueError(f"nelder_mead: active must hold indices in 0..4, got {active!r}")

    def objective(z: np.ndarray) -> float:
        x = x0.copy()
        x[free] = z
        return rec(x)

    z0 = x0[free]
    simplex = np.vstack([z0] + [z0 + step_size * np.eye(len(free))[i] for i in range(len(free))])
    try:
        minimize(objective, z0, method="Nelder-Mead",
                 options={"initial_simplex": np.clip(simplex, -1, 1), "maxfev": max(steps - 1, 1),
                          "xatol": 1e-4, "fatol": 1e-7})
    except _BudgetSpent:
        pass
    return rec.finish()


def bayesian_optimisation(env: AresEA, trial: Trial, steps: int, *, seed: int = 0, n_initial: int = 5,
                          n_candidates: int = 2_000, beta: float = 2.0, length_scale: float = 0.5) -> Episode:
    """A Gaussian process (scikit-learn, Matérn 5/2) on log(MAE), lower confidence bound as acquisition.

    The kernel's length scale (``length_scale``, in normalised settings) and noise are fixed, not fitted;
    ``length_scale = 0.5`` and ``beta = 2`` are the course's choices, fixed before any evaluation and not
    tuned on any set of trials.

    The first setting is the initial one, then ``n_initial − 1`` random ones; each next setting minimises
    μ − √β·σ over ``n_candidates`` random candidates, half of them near the best setting seen.
    """
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel

    rec = _Recorder(env, trial, steps)
    rng = np.random.default_rng(seed)
    xs, ys = [rec.best_x.copy()], [np.log(rec.best_mae)]
    # fixed hyper-parameters (no marginal-likelihood fit: a fit per step would cost seconds)
    kernel = Matern(length_scale=length_scale, nu=2.5) + WhiteKernel(1e-4)
    while rec.left > 1:
        if len(xs) < n_initial:
            x = rng.uniform(-1, 1, size=5)
        else:
            gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer=None)
            gp.fit(np.array(xs), np.array(ys))
            best = np.array(xs)[int(np.argmin(ys))]
            wide = rng.uniform(-1, 1, size=(n_candidates // 2, 5))
            near = np.clip(best + 0.1 * rng.standard_normal((n_candidates - n_candidates // 2, 5)), -1, 1)
            cand = np.vstack([wide, near])
            mu, sd = gp.predict(cand, return_std=True)
            x = cand[int(np.argmin(mu - np.sqrt(beta) * sd))]
        ys.append(np.log(max(rec(x), 1e-9)))
        xs.append(x)
    return rec.finish()


def run_agent(env: AresEA, trial: Trial, steps: int, *, policy: Callable[[np.ndarray], np.ndarray],
              seed: int = 0) -> Episode:
    """Let ``policy(observation) -> action`` change the settings (``"delta"`` mode) for ``steps`` steps.

    The episode stops earlier when the environment terminates (the beam held within tolerance).
    """
    if env.core.action_mode != "delta":
        raise ValueError("an agent acts on an AresEA(action_mode='delta')")
    obs, info = env.reset(options={"trial": trial})
    beams, magnets = [info["beam"]], [info["magnets"]]
    for _ in range(steps):
        obs, _, terminated, truncated, info = env.step(policy(obs))
        beams.append(info["beam"])
        magnets.append(info["magnets"])
        if terminated:
            break
    return Episode(np.array(beams), np.array(magnets), info["target"])


def evaluate(method: Callable[..., Episode], trials: list[Trial], steps: int, *, env: AresEA | None = None,
             seed: int = 0, progress: bool = False, **kwargs):
    """Run ``method`` on every trial; a DataFrame with one row per trial and the list of episodes.

    Columns: ``initial_mae``, ``final_mae``, ``best_mae`` (m), ``steps`` (to convergence; ``steps`` when
    the final MAE is not below the initial one), ``changes`` (normalised magnet changes).
    """
    import pandas as pd

    if not trials:
        raise ValueError("evaluate: no trials")
    if env is None:
        mode = "delta" if method is run_agent else "direct"
        env = AresEA(action_mode=mode, max_steps=steps + 1)
    rows, episodes = [], []
    iterator = trials
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(trials, desc=getattr(method, "__name__", "method"), leave=False)
    for i, trial in enumerate(iterator):
        ep = method(env, trial, steps, seed=seed + i, **kwargs)
        episodes.append(ep)
        rows.append(ep.summary(max_steps=steps))
    return pd.DataFrame(rows), episodes
