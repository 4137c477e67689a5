"""Reinforcement learning (notebook 12): toy problems and the ARES beam-tuning task in Cheetah.

* :mod:`~course_utils.rl.toys`: a multi-armed bandit and a small grid world (NumPy only);
* :mod:`~course_utils.rl.ares`: the ARES experimental area in Cheetah, the ``gymnasium.Env``
  :class:`~course_utils.rl.ares.AresEA` and the fixed sets of tuning problems (``sample_trials``);
* :mod:`~course_utils.rl.vec`: many ARES machines tracked at once, as a stable-baselines3 ``VecEnv``;
* :mod:`~course_utils.rl.tuning`: classical optimisers (Nelder–Mead, Bayesian optimisation, random
  search, "do nothing") and trained agents run on the same problems, scored as RL4AA'25 does
  (:mod:`course_utils.metrics.beam_tuning`).

Import the modules by name: ``from course_utils.rl import ares`` (gymnasium, torch and Cheetah are
imported then, not by ``import course_utils``).
"""
