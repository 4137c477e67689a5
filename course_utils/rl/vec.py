"""Many ARES machines tracked at once, as a stable-baselines3 ``VecEnv`` (notebook 12).

The rules are those of :class:`course_utils.rl.ares.AresEA` (the same :class:`~course_utils.rl.ares.AresCore`);
the difference is speed: Cheetah tracks the ``n_envs`` beams in one vectorised call, where
``DummyVecEnv([AresEA] * n)`` would call it ``n`` times. Finished episodes restart at once, and their last
observation is in ``infos[i]["terminal_observation"]``, as stable-baselines3 expects.
"""

from __future__ import annotations

import numpy as np

from course_utils._optional import require
from course_utils.rl.ares import AresCore, observation_bounds, sample_trial

gym = require("gymnasium", why="the ARES environment of notebook 12")
vec_env = require("stable_baselines3.common.vec_env", why="PPO on the ARES task", package="stable-baselines3")


class AresVecEnv(vec_env.VecEnv):
    """``n_envs`` ARES machines; keyword arguments as :class:`course_utils.rl.ares.AresEA`.

    ``seed(s)`` (or ``seed`` here) seeds machine ``i`` with ``s + i``: the sequence of problems is then
    reproducible.
    """

    def __init__(self, n_envs: int, *, seed: int | None = None, misalignments: bool = True, **kwargs):
        if n_envs <= 0:
            raise ValueError(f"AresVecEnv: n_envs must be positive, got {n_envs}")
        self.core = AresCore(n_envs, **kwargs)
        self.misalignments = misalignments
        self.render_mode = None
        low, high = observation_bounds()
        super().__init__(n_envs, gym.spaces.Box(low, high, dtype=np.float32),
                         gym.spaces.Box(-1.0, 1.0, shape=(5,), dtype=np.float32))
        self._rngs = [np.random.default_rng(None if seed is None else seed + i) for i in range(n_envs)]
        self._actions = None

    def reset(self):
        for i, s in enumerate(self._seeds):
            if s is not None:
                self._rngs[i] = np.random.default_rng(s)
        self._reset_seeds()
        self._reset_options()
        trials = [sample_trial(rng, misalignments=self.misalignments) for rng in self._rngs]
        self.core.start(trials, list(range(self.num_envs)))
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self.core.observe()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=float)

    def step_wait(self):
        reward, terminated, truncated = self.core.advance(self._actions)
        obs = self.core.observe()
        done = terminated | truncated
        infos = [{"mae": float(self.core.mae[i])} for i in range(self.num_envs)]
        finished = np.flatnonzero(done)
        if len(finished):
            for i in finished:
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = bool(truncated[i])
            trials = [sample_trial(self._rngs[i], misalignments=self.misalignments) for i in finished]
            self.core.start(trials, list(finished))
            obs = self.core.observe()
        return obs, reward.astype(np.float32), done, infos

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices=None) -> list:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        return [getattr(self, method_name)(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
