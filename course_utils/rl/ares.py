"""The ARES experimental area in Cheetah, as a ``gymnasium.Env`` (notebook 12).

The lattice, the magnet limits and the random incoming beams, misalignments and targets are those of the
RL4AA tutorials on DESY's ARES linac:

* element lengths: ``RL4AA/rl-tutorial-ares-basic``, ``utils/ares_ea_lattice.json`` (a 0.17504 m drift,
  Q1, a 0.428 m drift, Q2, 0.204 m, the vertical corrector CV, 0.204 m, Q3, 0.179 m, the horizontal
  corrector CH, 0.45 m, the screen; quadrupoles 0.122 m long, correctors 0.02 m);
* limits and random draws: ``RL4AA/rl4aa25-challenge``, ``src/environments/ea.py`` (quadrupoles
  k1 ∈ [−72, 72] m⁻², correctors ∈ [−6.1782, 6.1782] mrad, incoming beams, misalignments up to
  0.5 mm, targets μ ∈ [−2, 2] mm and σ ∈ [0, 2] mm) and ``src/train/ea_ppo.py`` (steps of at most
  30 m⁻² and 6.1782 mrad, initial settings (10, −10, 0, 10, 0), 50-step episodes).

The course writes its own environment on the current gymnasium (1.x) and Cheetah (0.8) APIs; the reward,
the termination and the observation are the course's, explained in notebook 12.

Everything is computed for a batch of machines at once (Cheetah's vectorised tracking): the single
environment :class:`AresEA` is a batch of one, :class:`course_utils.rl.vec.AresVecEnv` a batch of many.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from course_utils._optional import require
from course_utils.metrics.beam_tuning import MAGNET_CHANGE_SCALE

#: Element lengths in metres (``utils/ares_ea_lattice.json`` of ``RL4AA/rl-tutorial-ares-basic``).
DRIFTS = (0.17504, 0.428, 0.204, 0.204, 0.179, 0.45)
QUADRUPOLE_LENGTH = 0.122
CORRECTOR_LENGTH = 0.02
SCREEN_RESOLUTION = (2448, 2040)
SCREEN_PIXEL_SIZE = (3.3198e-6, 2.4469e-6)   # metres
SCREEN_BINNING = 4
MAGNETS = ("Q1", "Q2", "CV", "Q3", "CH")
#: Power-supply limits of the five settings: k1 in m⁻² (quadrupoles), angle in rad (correctors).
MAGNET_LIMITS = np.array([72.0, 72.0, 6.1782e-3, 72.0, 6.1782e-3])
#: The largest change of a setting in one step (``src/train/ea_ppo.py``: 30 m⁻², 6.1782 mrad).
MAX_DELTA = np.array([30.0, 30.0, 6.1782e-3, 30.0, 6.1782e-3])
INITIAL_MAGNETS = np.array([10.0, -10.0, 0.0, 10.0, 0.0])
#: Incoming beam: energy (eV), μx, μpx, μy, μpy, σx, σpx, σy, σpy, στ, σp (m, rad, relative).
INCOMING_NAMES = ("energy", "mu_x", "mu_px", "mu_y", "mu_py", "sigma_x", "sigma_px", "sigma_y", "sigma_py",
                  "sigma_tau", "sigma_p")
INCOMING_LOW = np.array([80e6, -1e-3, -1e-4, -1e-3, -1e-4, 1e-5, 1e-6, 1e-5, 1e-6, 1e-6, 1e-4])
INCOMING_HIGH = np.array([160e6, 1e-3, 1e-4, 1e-3, 1e-4, 5e-4, 5e-5, 5e-4, 5e-5, 5e-5, 1e-3])
#: Misalignments (x, y) of Q1, Q2, Q3 and the screen, uniform in ±0.5 mm.
MAX_MISALIGNMENT = 5e-4
TARGET_LOW = np.array([-2e-3, 0.0, -2e-3, 0.0])
TARGET_HIGH = np.array([2e-3, 2e-3, 2e-3, 2e-3])
#: What the observation reports of the beam: μ within ±5 mm, σ within [0, 5 mm] (clipped there).
BEAM_OBS_LOW = np.array([-5e-3, 0.0, -5e-3, 0.0])
BEAM_OBS_HIGH = np.array([5e-3, 5e-3, 5e-3, 5e-3])


@dataclass(frozen=True)
class Trial:
    """One tuning problem: the incoming beam (11,), the misalignments (8,) and the target beam (4,)."""

    incoming: np.ndarray
    misalignments: np.ndarray
    target: np.ndarray
    magnets: np.ndarray = field(default_factory=lambda: INITIAL_MAGNETS.copy())


def sample_trial(rng: np.random.Generator, *, misalignments: bool = True) -> Trial:
    """Draw one problem: incoming beam, misalignments (zero if ``misalignments`` is false), target."""
    incoming = rng.uniform(INCOMING_LOW, INCOMING_HIGH)
    mis = rng.uniform(-MAX_MISALIGNMENT, MAX_MISALIGNMENT, size=8) if misalignments else np.zeros(8)
    target = rng.uniform(TARGET_LOW, TARGET_HIGH)
    return Trial(incoming, mis, target)


def sample_trials(n: int, seed: int, *, misalignments: bool = True) -> list[Trial]:
    """A fixed set of ``n`` problems, the same for every method evaluated on it."""
    if n <= 0:
        raise ValueError(f"sample_trials: n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    return [sample_trial(rng, misalignments=misalignments) for _ in range(n)]


def build_segment():
    """The ARES experimental area as a Cheetah ``Segment`` (float64): Q1, Q2, CV, Q3, CH and the screen."""
    cheetah = require("cheetah", why="the ARES beam line of notebook 12", package="cheetah-accelerator")
    torch = require("torch", why="Cheetah's tracking")

    def t(x):
        return torch.tensor(x, dtype=torch.float64)

    d = DRIFTS
    return cheetah.Segment([
        cheetah.Drift(length=t(d[0]), name="D1", dtype=torch.float64),
        cheetah.Quadrupole(length=t(QUADRUPOLE_LENGTH), name="Q1", dtype=torch.float64),
        cheetah.Drift(length=t(d[1]), name="D2", dtype=torch.float64),
        cheetah.Quadrupole(length=t(QUADRUPOLE_LENGTH), name="Q2", dtype=torch.float64),
        cheetah.Drift(length=t(d[2]), name="D3", dtype=torch.float64),
        cheetah.VerticalCorrector(length=t(CORRECTOR_LENGTH), name="CV", dtype=torch.float64),
        cheetah.Drift(length=t(d[3]), name="D4", dtype=torch.float64),
        cheetah.Quadrupole(length=t(QUADRUPOLE_LENGTH), name="Q3", dtype=torch.float64),
        cheetah.Drift(length=t(d[4]), name="D5", dtype=torch.float64),
        cheetah.HorizontalCorrector(length=t(CORRECTOR_LENGTH), name="CH", dtype=torch.float64),
        cheetah.Drift(length=t(d[5]), name="D6", dtype=torch.float64),
        cheetah.Screen(resolution=SCREEN_RESOLUTION, pixel_size=t(SCREEN_PIXEL_SIZE), binning=SCREEN_BINNING,
                       is_active=False, name="SCREEN", dtype=torch.float64),
    ])


class AresSimulator:
    """A batch of ``batch`` ARES experimental areas tracked at once by Cheetah.

    ``screen_beams(magnets)`` sets the five magnets of every machine (array ``(batch, 5)``) and returns
    the beam measured on each screen, ``(batch, 4)``: μx, σx, μy, σy in metres. The screen's own
    misalignment is subtracted from the beam position after tracking (what Cheetah's ``Screen`` does for
    a single machine).
    """

    def __init__(self, batch: int = 1):
        if batch <= 0:
            raise ValueError(f"AresSimulator: batch must be positive, got {batch}")
        self.batch = batch
        self.torch = require("torch", why="Cheetah's tracking")
        self.cheetah = require("cheetah", why="the ARES beam line of notebook 12", package="cheetah-accelerator")
        self.segment = build_segment()
        self.incoming = np.tile((INCOMING_LOW + INCOMING_HIGH) / 2, (batch, 1))
        self.misalignments = np.zeros((batch, 8))
        self._beam = None

    def set_problem(self, incoming: np.ndarray, misalignments: np.ndarray) -> None:
        """Incoming beams ``(batch, 11)`` and misalignments ``(batch, 8)`` (Q1, Q2, Q3, screen; x, y)."""
        incoming = np.asarray(incoming, dtype=float).reshape(self.batch, 11)
        misalignments = np.asarray(misalignments, dtype=float).reshape(self.batch, 8)
        self.incoming, self.misalignments = incoming.copy(), misalignments.copy()
        t = self._tensor
        self._beam = self.cheetah.ParameterBeam.from_parameters(
            **{name: t(incoming[:, i]) for i, name in enumerate(INCOMING_NAMES)}, dtype=self.torch.float64)
        for j, quad in enumerate(("Q1", "Q2", "Q3")):
            getattr(self.segment, quad).misalignment = t(misalignments[:, 2 * j:2 * j + 2])

    def _tensor(self, x):
        return self.torch.as_tensor(np.asarray(x, dtype=float), dtype=self.torch.float64)

    def screen_beams(self, magnets: np.ndarray) -> np.ndarray:
        """Track the incoming beams with the settings ``magnets`` (batch, 5); μx, σx, μy, σy (batch, 4)."""
        if self._beam is None:
            raise ValueError("AresSimulator: call set_problem(incoming, misalignments) first")
        m = np.asarray(magnets, dtype=float).reshape(self.batch, 5)
        seg, t = self.segment, self._tensor
        seg.Q1.k1, seg.Q2.k1, seg.Q3.k1 = t(m[:, 0]), t(m[:, 1]), t(m[:, 3])
        seg.CV.angle, seg.CH.angle = t(m[:, 2]), t(m[:, 4])
        with self.torch.no_grad():
            # The screen stays inactive while tracking: the whole line is then one product of transfer
            # maps (an active screen makes Cheetah split the line, ten times slower), and the beam that
            # leaves the zero-length screen is the beam it would read.
            read = seg.track(self._beam)
            beams = self.torch.stack([read.mu_x, read.sigma_x, read.mu_y, read.sigma_y], dim=-1).numpy()
        beams = np.array(beams, dtype=float).reshape(self.batch, 4)
        beams[:, 0] -= self.misalignments[:, 6]
        beams[:, 2] -= self.misalignments[:, 7]
        return beams

    def screen_image(self, magnets: np.ndarray, index: int = 0) -> tuple[np.ndarray, tuple[float, ...]]:
        """The screen image of machine ``index`` (Cheetah's ``Screen.reading``) and its extent in metres."""
        from copy import deepcopy

        one = AresSimulator(1)
        one.set_problem(self.incoming[index:index + 1], np.zeros((1, 8)))
        for j, quad in enumerate(("Q1", "Q2", "Q3")):
            getattr(one.segment, quad).misalignment = one._tensor(self.misalignments[index:index + 1, 2 * j:2 * j + 2])
        one.segment.SCREEN.misalignment = one._tensor(self.misalignments[index, 6:8])
        one.screen_beams(np.asarray(magnets, dtype=float).reshape(-1, 5)[index:index + 1])
        one.segment.SCREEN.is_active = True
        with self.torch.no_grad():
            one.segment.track(one._beam)
        image = deepcopy(one.segment.SCREEN.reading).numpy().reshape(-1, *one.segment.SCREEN.reading.shape[-2:])[0]
        half = np.array(SCREEN_RESOLUTION) * np.array(SCREEN_PIXEL_SIZE) / 2
        return image, (-half[0], half[0], -half[1], half[1])


def observation_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the 13 observed values: beam (4), magnets (5), target (4)."""
    low = np.concatenate([BEAM_OBS_LOW, -MAGNET_LIMITS, TARGET_LOW]).astype(np.float32)
    high = np.concatenate([BEAM_OBS_HIGH, MAGNET_LIMITS, TARGET_HIGH]).astype(np.float32)
    return low, high


class AresCore:
    """The task's rules for a batch of machines: actions, reward, termination, truncation.

    Parameters
    ----------
    batch : int
        Number of machines.
    action_mode : {"delta", "direct"}
        ``"delta"``: an action in [−1, 1]⁵ changes the settings by ``action · MAX_DELTA`` (the agent);
        ``"direct"``: it sets them to ``action · MAGNET_LIMITS`` (the classical optimisers).
    max_steps : int
        Steps before the episode is truncated.
    target_threshold : float
        Tolerance on each of μx, σx, μy, σy, in metres.
    threshold_hold : int
        Consecutive steps within tolerance before the episode terminates (the beam must *stay* there).
    magnet_change_penalty : float
        Weight of the mean normalised magnet change in the reward (0: none).
    max_delta : array of shape (5,)
        The largest change of each setting in one step, in ``"delta"`` mode (default :data:`MAX_DELTA`).
    """

    def __init__(self, batch: int = 1, *, action_mode: str = "delta", max_steps: int = 50,
                 target_threshold: float = 2e-5, threshold_hold: int = 3, magnet_change_penalty: float = 0.0,
                 max_delta=MAX_DELTA):
        if action_mode not in ("delta", "direct"):
            raise ValueError(f"action_mode must be 'delta' or 'direct', got {action_mode!r}")
        if max_steps <= 0 or threshold_hold <= 0 or target_threshold <= 0:
            raise ValueError("max_steps, threshold_hold and target_threshold must be positive")
        self.batch, self.action_mode, self.max_steps = batch, action_mode, max_steps
        self.target_threshold, self.threshold_hold = target_threshold, threshold_hold
        self.magnet_change_penalty = magnet_change_penalty
        self.max_delta = np.asarray(max_delta, dtype=float).reshape(5)
        self.sim = AresSimulator(batch)
        self.magnets = np.tile(INITIAL_MAGNETS, (batch, 1))
        self.targets = np.tile((TARGET_LOW + TARGET_HIGH) / 2, (batch, 1))
        self.beams = np.zeros((batch, 4))
        self.mae0 = np.ones(batch)
        self.mae = np.ones(batch)
        self.hold = np.zeros(batch, dtype=int)
        self.steps = np.zeros(batch, dtype=int)

    def start(self, trials: list[Trial], indices) -> None:
        """Start new episodes on machines ``indices`` with the problems ``trials`` (one each)."""
        incoming, mis = self.sim.incoming.copy(), self.sim.misalignments.copy()
        for i, trial in zip(indices, trials):
            incoming[i], mis[i] = trial.incoming, trial.misalignments
            self.targets[i], self.magnets[i] = trial.target, np.clip(trial.magnets, -MAGNET_LIMITS, MAGNET_LIMITS)
            self.hold[i], self.steps[i] = 0, 0
        self.sim.set_problem(incoming, mis)
        self.beams = self.sim.screen_beams(self.magnets)
        errors = np.mean(np.abs(self.beams - self.targets), axis=1)
        for i in indices:
            self.mae0[i] = max(errors[i], 1e-9)
        self.mae = errors

    def observe(self) -> np.ndarray:
        """Observations (batch, 13): the beam on the screen (clipped to ±5 mm), the settings, the target."""
        beam = np.clip(self.beams, BEAM_OBS_LOW, BEAM_OBS_HIGH)
        return np.concatenate([beam, self.magnets, self.targets], axis=1).astype(np.float32)

    def new_settings(self, actions: np.ndarray) -> np.ndarray:
        a = np.clip(np.asarray(actions, dtype=float).reshape(self.batch, 5), -1.0, 1.0)
        proposed = self.magnets + a * self.max_delta if self.action_mode == "delta" else a * MAGNET_LIMITS
        return np.clip(proposed, -MAGNET_LIMITS, MAGNET_LIMITS)

    def advance(self, actions: np.ndarray):
        """Apply the actions; rewards, terminated and truncated (arrays of length batch)."""
        new = self.new_settings(actions)
        change = np.mean(np.abs(new - self.magnets) / MAGNET_CHANGE_SCALE, axis=1)
        self.magnets = new
        self.beams = self.sim.screen_beams(new)
        mae = np.mean(np.abs(self.beams - self.targets), axis=1)
        reward = np.log(np.maximum(self.mae, 1e-9) / np.maximum(mae, 1e-9)) - self.magnet_change_penalty * change
        self.mae = mae
        within = np.all(np.abs(self.beams - self.targets) < self.target_threshold, axis=1)
        self.hold = np.where(within, self.hold + 1, 0)
        self.steps += 1
        terminated = self.hold >= self.threshold_hold
        truncated = (self.steps >= self.max_steps) & ~terminated
        return reward, terminated, truncated


gym = require("gymnasium", why="the ARES environment of notebook 12")


class AresEA(gym.Env):
    """Focus and centre the ARES electron beam on the screen with Q1, Q2, CV, Q3 and CH.

    Observation (13 floats): the beam on the screen μx, σx, μy, σy (m, clipped to ±5 mm), the five
    settings (k1 in m⁻², angles in rad) and the target beam (m). Action (5 floats in [−1, 1]): in
    ``"delta"`` mode, changes of the settings by ``action · MAX_DELTA``; in ``"direct"`` mode, the
    settings ``action · MAGNET_LIMITS``. Settings are clipped to the power supplies' limits.

    Reward: ln(MAE before the step / MAE after it), the MAE being the mean absolute error of (μx, σx,
    μy, σy) to the target, minus ``magnet_change_penalty`` × the mean normalised magnet change
    (:data:`course_utils.metrics.beam_tuning.MAGNET_CHANGE_SCALE`). Without penalty the rewards of an
    episode add up to ln(initial MAE / final MAE): by how much the error was divided, whatever the
    problem's scale.

    Terminated when every beam parameter is within ``target_threshold`` of the target for
    ``threshold_hold`` consecutive steps; truncated after ``max_steps`` steps.

    Each ``reset`` draws a new incoming beam, new misalignments (unless ``misalignments=False``) and a
    new target from the environment's generator (``reset(seed=...)`` makes it reproducible), or takes
    them from ``options={"trial": Trial(...)}``.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, *, action_mode: str = "delta", max_steps: int = 50, target_threshold: float = 2e-5,
                 threshold_hold: int = 3, magnet_change_penalty: float = 0.0, misalignments: bool = True,
                 max_delta=MAX_DELTA, render_mode: str | None = None):
        super().__init__()
        self.core = AresCore(1, action_mode=action_mode, max_steps=max_steps,
                             target_threshold=target_threshold, threshold_hold=threshold_hold,
                             magnet_change_penalty=magnet_change_penalty, max_delta=max_delta)
        self.misalignments = misalignments
        low, high = observation_bounds()
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(5,), dtype=np.float32)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.trial: Trial | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"trial"}
        if unknown:
            raise ValueError(f"AresEA.reset: unknown options {sorted(unknown)}; expected 'trial'")
        trial = options.get("trial") or sample_trial(self.np_random, misalignments=self.misalignments)
        self.trial = trial
        self.core.start([trial], [0])
        return self.core.observe()[0], self._info()

    def step(self, action):
        reward, terminated, truncated = self.core.advance(np.asarray(action, dtype=float)[None, :])
        return (self.core.observe()[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]),
                self._info())

    def _info(self) -> dict:
        c = self.core
        return {"mae": float(c.mae[0]), "beam": c.beams[0].copy(), "magnets": c.magnets[0].copy(),
                "target": c.targets[0].copy()}

    def render(self):
        if self.render_mode == "rgb_array":
            image, _ = self.core.sim.screen_image(self.core.magnets)
            scaled = image / max(image.max(), 1e-30)
            return (np.repeat(scaled[..., None], 3, axis=-1) * 255).astype(np.uint8)
        return None

    def screen_image(self):
        """The current screen image and its extent (m): what the camera at ARES would film."""
        return self.core.sim.screen_image(self.core.magnets)
