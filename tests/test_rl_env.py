"""The reinforcement-learning helpers of notebook 12: the ARES environment, its physics, the scores, the toys."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("cheetah")
torch = pytest.importorskip("torch")

from course_utils.metrics import beam_tuning as bt  # noqa: E402
from course_utils.rl import ares, toys, tuning  # noqa: E402

# --- the physics: Cheetah against hand-written transfer matrices -----------------------------------------


def _drift(length):
    return np.array([[1.0, length], [0.0, 1.0]])


def _quad(k1, length):
    """Thick quadrupole, focusing plane for k1 > 0, defocusing for k1 < 0."""
    if k1 > 0:
        w = np.sqrt(k1)
        return np.array([[np.cos(w * length), np.sin(w * length) / w], [-w * np.sin(w * length), np.cos(w * length)]])
    w = np.sqrt(-k1)
    return np.array([[np.cosh(w * length), np.sinh(w * length) / w], [w * np.sinh(w * length), np.cosh(w * length)]])


def test_cheetah_drift_then_quadrupole_matches_the_hand_computed_transport():
    import cheetah

    f64 = torch.float64
    drift_length, quad_length, k1 = 0.5, 0.122, 12.0
    seg = cheetah.Segment([cheetah.Drift(length=torch.tensor(drift_length, dtype=f64), dtype=f64),
                           cheetah.Quadrupole(length=torch.tensor(quad_length, dtype=f64),
                                              k1=torch.tensor(k1, dtype=f64), dtype=f64)])
    p = dict(mu_x=2e-4, mu_px=3e-5, mu_y=-1e-4, mu_py=2e-5, sigma_x=1e-4, sigma_px=2e-5, sigma_y=2e-4,
             sigma_py=1e-5)
    beam = cheetah.ParameterBeam.from_parameters(
        **{k: torch.tensor(v, dtype=f64) for k, v in p.items()}, sigma_tau=torch.tensor(1e-6, dtype=f64),
        sigma_p=torch.tensor(1e-6, dtype=f64), energy=torch.tensor(107e6, dtype=f64), dtype=f64)
    out = seg.track(beam)
    rx = _quad(k1, quad_length) @ _drift(drift_length)
    ry = _quad(-k1, quad_length) @ _drift(drift_length)
    mx = rx @ [p["mu_x"], p["mu_px"]]
    my = ry @ [p["mu_y"], p["mu_py"]]
    sx = rx @ np.diag([p["sigma_x"] ** 2, p["sigma_px"] ** 2]) @ rx.T
    sy = ry @ np.diag([p["sigma_y"] ** 2, p["sigma_py"] ** 2]) @ ry.T
    np.testing.assert_allclose(float(out.mu_x), mx[0], rtol=1e-9)
    np.testing.assert_allclose(float(out.mu_y), my[0], rtol=1e-9)
    np.testing.assert_allclose(float(out.sigma_x), np.sqrt(sx[0, 0]), rtol=1e-9)
    np.testing.assert_allclose(float(out.sigma_y), np.sqrt(sy[0, 0]), rtol=1e-9)


def test_ares_with_magnets_off_is_one_drift_and_the_screen_offset_is_subtracted():
    sim = ares.AresSimulator(1)
    incoming = (ares.INCOMING_LOW + ares.INCOMING_HIGH) / 2
    mis = np.zeros(8)
    mis[[0, 3]] = 3e-4          # quadrupoles are off: their misalignment changes nothing
    mis[6:8] = [1e-4, -2e-4]   # the screen's does
    sim.set_problem(incoming[None, :], mis[None, :])
    beam = sim.screen_beams(np.zeros((1, 5)))[0]
    length = sum(ares.DRIFTS) + 3 * ares.QUADRUPOLE_LENGTH + 2 * ares.CORRECTOR_LENGTH
    e, mx, mpx, my, mpy, sx, spx, sy, spy = incoming[:9]
    np.testing.assert_allclose(beam[0], mx + length * mpx - 1e-4, rtol=1e-9)
    np.testing.assert_allclose(beam[2], my + length * mpy + 2e-4, rtol=1e-9)
    np.testing.assert_allclose(beam[1], np.hypot(sx, length * spx), rtol=1e-9)
    np.testing.assert_allclose(beam[3], np.hypot(sy, length * spy), rtol=1e-9)


def test_a_misaligned_quadrupole_kicks_the_beam_as_computed_by_hand():
    """Q1 alone, misaligned by (dx, dy), on a centred beam: the off-axis quadrupole steers it."""
    sim = ares.AresSimulator(1)
    incoming = (ares.INCOMING_LOW + ares.INCOMING_HIGH) / 2
    incoming[1:5] = 0.0                      # a beam on the axis, no angle
    dx, dy, k1 = 2e-4, -1e-4, 10.0
    mis = np.zeros(8)
    mis[0:2] = [dx, dy]                      # Q1
    mis[6:8] = [5e-5, 3e-5]                  # the screen, subtracted from the reading
    sim.set_problem(incoming[None, :], mis[None, :])
    magnets = np.zeros((1, 5))
    magnets[0, 0] = k1
    beam = sim.screen_beams(magnets)[0]
    rest = sum(ares.DRIFTS[1:]) + 2 * ares.QUADRUPOLE_LENGTH + 2 * ares.CORRECTOR_LENGTH
    for plane, (offset, k, screen) in enumerate(((dx, k1, 5e-5), (dy, -k1, 3e-5))):
        # in the quadrupole's frame the beam enters at -offset; back in the lab frame, +offset
        exit_ = _quad(k, ares.QUADRUPOLE_LENGTH) @ [-offset, 0.0] + [offset, 0.0]
        expected = (_drift(rest) @ exit_)[0] - screen
        assert abs(expected + screen) > 1e-5   # the kick is not negligible
        np.testing.assert_allclose(beam[2 * plane], expected, rtol=1e-9, atol=1e-12)


def test_simulator_batch_agrees_with_one_machine_at_a_time():
    trials = ares.sample_trials(3, seed=5)
    magnets = np.random.default_rng(0).uniform(-1, 1, (3, 5)) * ares.MAGNET_LIMITS * 0.3
    batch = ares.AresSimulator(3)
    batch.set_problem(np.array([t.incoming for t in trials]), np.array([t.misalignments for t in trials]))
    together = batch.screen_beams(magnets)
    for i, t in enumerate(trials):
        one = ares.AresSimulator(1)
        one.set_problem(t.incoming[None, :], t.misalignments[None, :])
        np.testing.assert_allclose(together[i], one.screen_beams(magnets[i:i + 1])[0], rtol=1e-10)


# --- the gymnasium contract ------------------------------------------------------------------------------


def test_check_env_passes():
    from gymnasium.utils.env_checker import check_env

    check_env(ares.AresEA(), skip_render_check=True)
    check_env(toys.GridWorld(), skip_render_check=True)


def test_spaces():
    env = ares.AresEA()
    assert env.observation_space.shape == (13,) and env.observation_space.dtype == np.float32
    assert env.action_space.shape == (5,)
    np.testing.assert_array_equal(env.action_space.low, -1)
    np.testing.assert_allclose(env.observation_space.high[4:9], ares.MAGNET_LIMITS, rtol=1e-6)
    assert ares.MAGNET_LIMITS[0] == 72 and ares.MAGNET_LIMITS[2] == pytest.approx(6.1782e-3)


def test_reset_and_step_contract():
    env = ares.AresEA(max_steps=5)
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    np.testing.assert_allclose(obs[4:9], ares.INITIAL_MAGNETS)
    np.testing.assert_allclose(obs[9:], info["target"], rtol=1e-6)
    out = env.step(env.action_space.sample())
    assert len(out) == 5 and isinstance(out[1], float) and isinstance(out[2], bool) and isinstance(out[3], bool)
    with pytest.raises(ValueError, match="unknown options"):
        env.reset(options={"target": np.zeros(4)})
    with pytest.raises(ValueError, match="action_mode"):
        ares.AresEA(action_mode="absolute")


def test_reward_is_the_log_ratio_of_the_maes_computed_by_hand():
    env = ares.AresEA(magnet_change_penalty=0.0)
    _, info0 = env.reset(seed=2)
    action = np.array([0.5, -0.2, 0.1, 0.3, -0.4], dtype=np.float32)
    _, reward, _, _, info1 = env.step(action)
    mae0 = np.mean(np.abs(info0["beam"] - info0["target"]))
    mae1 = np.mean(np.abs(info1["beam"] - info1["target"]))
    assert reward == pytest.approx(np.log(mae0 / mae1), rel=1e-9)
    np.testing.assert_allclose(info1["magnets"], ares.INITIAL_MAGNETS + action * ares.MAX_DELTA, rtol=1e-6)
    # the penalty: the mean normalised change times the weight
    penalised = ares.AresEA(magnet_change_penalty=0.5)
    penalised.reset(seed=2)
    _, r2, _, _, _ = penalised.step(action)
    change = np.mean(np.abs(action * ares.MAX_DELTA) / bt.MAGNET_CHANGE_SCALE)
    assert r2 == pytest.approx(reward - 0.5 * change, rel=1e-6)


def test_settings_are_clipped_to_the_power_supplies():
    env = ares.AresEA()
    env.reset(seed=0)
    for _ in range(4):
        _, _, _, _, info = env.step(np.ones(5, dtype=np.float32))
    np.testing.assert_allclose(info["magnets"], ares.MAGNET_LIMITS)
    direct = ares.AresEA(action_mode="direct")
    direct.reset(seed=0)
    _, _, _, _, info = direct.step(np.array([1, -1, 0.5, 0, -0.5], dtype=np.float32))
    np.testing.assert_allclose(info["magnets"], [72, -72, 0.5 * 6.1782e-3, 0, -0.5 * 6.1782e-3], rtol=1e-6)


def test_same_seed_same_episode_other_seed_other_problem():
    def run(seed):
        env = ares.AresEA()
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        seq = [obs]
        for _ in range(5):
            seq.append(env.step(rng.uniform(-1, 1, 5).astype(np.float32))[0])
        return np.array(seq)

    np.testing.assert_array_equal(run(7), run(7))
    assert not np.allclose(run(7), run(8))


def test_termination_after_the_hold_time_and_truncation():
    env = ares.AresEA(threshold_hold=3, max_steps=10)
    _, info = env.reset(seed=3)
    trial = ares.Trial(env.trial.incoming, env.trial.misalignments, target=info["beam"])   # already on target
    env.reset(options={"trial": trial})
    flags = [env.step(np.zeros(5, dtype=np.float32))[2] for _ in range(3)]
    assert flags == [False, False, True]
    env = ares.AresEA(max_steps=4)
    env.reset(seed=3)
    truncated = [env.step(np.zeros(5, dtype=np.float32))[3] for _ in range(4)]
    assert truncated == [False, False, False, True]


def test_vector_env_agrees_with_the_single_env_and_restarts_finished_episodes():
    from course_utils.rl.vec import AresVecEnv

    venv = AresVecEnv(4, seed=11, max_steps=3)
    obs = venv.reset()
    assert obs.shape == (4, 13) and obs.dtype == np.float32
    # machine i draws its problems from the generator seeded with seed + i, like AresEA's sample_trial
    first = ares.sample_trial(np.random.default_rng(12))
    np.testing.assert_allclose(obs[1, 9:], first.target, rtol=1e-6)
    for _ in range(2):
        obs, rewards, dones, infos = venv.step(np.zeros((4, 5)))
        assert not dones.any()
    obs, rewards, dones, infos = venv.step(np.zeros((4, 5)))
    assert dones.all() and all("terminal_observation" in i and i["TimeLimit.truncated"] for i in infos)
    assert not np.allclose(obs[:, 9:], infos[0]["terminal_observation"][9:])   # a new target


# --- the figures of merit of the challenge -----------------------------------------------------------


def test_mae_steps_changes_and_score_by_hand():
    target = np.array([0.0, 1e-4, 0.0, 1e-4])
    beams = np.array([[1e-3, 1e-4, 0, 1e-4], [2e-4, 1e-4, 0, 1e-4], [1e-5, 1e-4, 0, 1e-4], [1.2e-5, 1e-4, 0, 1e-4]])
    maes = bt.mae(beams, target)
    np.testing.assert_allclose(maes, [2.5e-4, 5e-5, 2.5e-6, 3e-6])
    # from step 1 on the MAE still moves by 4.75e-5 > 4e-5; from step 2 on by 5e-7
    assert bt.steps_to_convergence(maes) == 2
    assert bt.steps_to_convergence(maes, threshold=1e-4) == 1
    assert bt.steps_to_convergence(maes[::-1], max_steps=150) == 150   # worse at the end than at the start
    magnets = np.array([[10, -10, 0, 10, 0], [16, -10, 0, 10, 0], [16, -10, 6.1782e-4, 10, 0], [16, -10, 6.1782e-4, 10, 0]])
    assert bt.sum_of_normalized_magnet_changes(magnets) == pytest.approx(0.2 + 0.1)
    assert bt.challenge_score(40e-6, 67, 3.0) == pytest.approx(3 * 40e-6 * 250 + 0.5 * 67 / 150 + 0.5 * 3 / 750)
    with pytest.raises(ValueError):
        bt.mae(beams[:, :3], target)
    with pytest.raises(ValueError):
        bt.challenge_score(float("nan"), 1, 1)


def test_steps_to_convergence_on_the_running_best_mae():
    # explores (spike at step 3), finds its best at step 2, returns there at the last step
    maes = np.array([500e-6, 300e-6, 100e-6, 900e-6, 400e-6, 100e-6])
    assert bt.steps_to_convergence(maes) == 5                    # the MAE moves until the last step
    assert bt.steps_to_convergence(maes, use_min_mae=True) == 2  # the best seen stops moving at step 2
    assert bt.steps_to_convergence([1e-4, 2e-4, 3e-4], use_min_mae=True, max_steps=150) == 150
    summary = bt.episode_summary(np.column_stack([maes] * 4), np.zeros(4), np.zeros((6, 5)))
    assert summary["steps"] == 5 and summary["steps_best"] == 2


def test_optimisers_on_the_same_trials():
    trials = ares.sample_trials(2, seed=4)
    nothing, _ = tuning.evaluate(tuning.do_nothing, trials, 12)
    np.testing.assert_allclose(nothing.final_mae, nothing.initial_mae)
    assert (nothing.steps == 12).all() and (nothing.changes == 0).all()
    nm, episodes = tuning.evaluate(tuning.nelder_mead, trials, 12)
    assert (nm.final_mae <= nm.initial_mae).all()
    assert all(len(ep.beams) <= 13 for ep in episodes)
    np.testing.assert_allclose(nm.initial_mae, nothing.initial_mae)
    hold = tuning.evaluate(tuning.run_agent, trials, 5, policy=lambda obs: np.zeros(5, dtype=np.float32))[0]
    np.testing.assert_allclose(hold.final_mae, nothing.final_mae)


# --- the toys ----------------------------------------------------------------------------------------------


def test_bandit_and_grid_world():
    bandit = toys.GaussianBandit([0.0, 1.0, 0.5], sigma=0.1, seed=0)
    assert bandit.best_arm == 1 and bandit.regret(0) == 1.0
    assert abs(np.mean([bandit.pull(1) for _ in range(200)]) - 1.0) < 0.05
    grid = toys.GridWorld()
    assert grid.shortest_path_length() == 15   # counted by hand on DEFAULT_GRID
    q = np.zeros((grid.observation_space.n, 4))
    assert grid.greedy_path(q)[-1] != grid.goal     # all-zero values: "up" forever, into the wall
    with pytest.raises(ValueError):
        toys.GridWorld(["S..", "..."])


def test_bootstrap_median_brackets_the_median():
    values = np.arange(1.0, 22.0)
    med, low, high = bt.bootstrap_median(values, n_boot=500, seed=1)
    assert med == 11.0 and low < med < high and low >= 1 and high <= 21
    with pytest.raises(ValueError):
        bt.bootstrap_median([1.0])


def test_nelder_mead_changes_only_the_active_magnets():
    trials = ares.sample_trials(1, seed=9)
    _, (episode,) = tuning.evaluate(tuning.nelder_mead, trials, 10, active=[2, 4])
    np.testing.assert_allclose(episode.magnets[:, [0, 1, 3]], np.tile(ares.INITIAL_MAGNETS[[0, 1, 3]], (len(episode.magnets), 1)))
    assert np.ptp(episode.magnets[:, 2]) > 0
    with pytest.raises(ValueError, match="active"):
        tuning.evaluate(tuning.nelder_mead, trials, 10, active=[7])


@pytest.mark.parametrize("method", [tuning.random_search, tuning.bayesian_optimisation])
def test_search_methods_keep_the_budget_and_end_on_their_best_setting(method):
    trials = ares.sample_trials(1, seed=6)
    table, (episode,) = tuning.evaluate(method, trials, 8)
    assert len(episode.beams) == 9          # the reset, then 8 settings, the last one the best seen
    maes = bt.mae(episode.beams, episode.target)
    assert maes[-1] == pytest.approx(maes[:-1].min(), rel=1e-9)
    assert table.final_mae.iloc[0] <= table.initial_mae.iloc[0]
