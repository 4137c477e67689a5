"""Two toy problems of reinforcement learning (notebook 12): a multi-armed bandit and a grid world.

The algorithms that solve them (ε-greedy, UCB, tabular Q-learning) are written in the notebook's cells;
these are only the problems, and the checks of a solution (:meth:`GridWorld.shortest_path_length`,
:meth:`GridWorld.greedy_path`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from course_utils._optional import require

gym = require("gymnasium", why="the grid world of notebook 12")


class GaussianBandit:
    """``k`` slot machines; arm ``a`` pays a reward drawn from N(means[a], sigma²).

    Examples
    --------
    >>> bandit = GaussianBandit([0.1, 0.5, 0.2], seed=0)
    >>> bandit.best_arm, bandit.n_arms
    (1, 3)
    """

    def __init__(self, means, sigma: float = 1.0, *, seed: int | None = None):
        self.means = np.asarray(means, dtype=float)
        if self.means.ndim != 1 or len(self.means) < 2 or not np.all(np.isfinite(self.means)):
            raise ValueError(f"GaussianBandit: expected at least two finite means, got {means!r}")
        if sigma <= 0:
            raise ValueError(f"GaussianBandit: sigma must be positive, got {sigma}")
        self.sigma = sigma
        self.rng = np.random.default_rng(seed)

    @property
    def n_arms(self) -> int:
        return len(self.means)

    @property
    def best_arm(self) -> int:
        return int(np.argmax(self.means))

    def pull(self, arm: int) -> float:
        if not 0 <= arm < self.n_arms:
            raise ValueError(f"GaussianBandit.pull: arm must be in [0, {self.n_arms}), got {arm}")
        return float(self.rng.normal(self.means[arm], self.sigma))

    def regret(self, arm: int) -> float:
        """What pulling ``arm`` costs in expectation, compared with the best arm."""
        return float(self.means.max() - self.means[arm])


#: The default grid: S start, G goal (+1), X pit (−1), # wall; the other cells are free.
DEFAULT_GRID = (
    "S...#...",
    ".##.#.#.",
    "..#...#.",
    "#.#.##..",
    "..X...#G",
)
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))   # up, right, down, left
ARROWS = "↑→↓←"


class GridWorld(gym.Env):
    """A deterministic grid world: reach G (+1), avoid X (−1); each move costs ``step_cost``.

    The state is the index ``row · width + column`` of the agent's cell; the four actions move it up,
    right, down or left (a move into a wall or off the grid leaves it in place). The episode ends on G
    or X, or after ``max_steps`` moves.
    """

    metadata = {"render_modes": []}

    def __init__(self, grid=DEFAULT_GRID, *, step_cost: float = 0.01, max_steps: int = 100):
        rows = [str(r) for r in grid]
        if not rows or len({len(r) for r in rows}) != 1:
            raise ValueError("GridWorld: the grid must be a non-empty list of rows of equal length")
        text = "".join(rows)
        if text.count("S") != 1 or text.count("G") != 1 or set(text) - set("SGX#."):
            raise ValueError("GridWorld: one S, one G, and only the characters S G X # . are allowed")
        self.grid, self.height, self.width = rows, len(rows), len(rows[0])
        self.step_cost, self.max_steps = step_cost, max_steps
        self.start = text.index("S")
        self.goal = text.index("G")
        self.observation_space = gym.spaces.Discrete(self.height * self.width)
        self.action_space = gym.spaces.Discrete(4)
        self.state, self.steps = self.start, 0

    def cell(self, state: int) -> str:
        r, c = divmod(state, self.width)
        return self.grid[r][c]

    def move(self, state: int, action: int) -> int:
        """The cell reached from ``state`` with ``action`` (walls and edges block)."""
        r, c = divmod(state, self.width)
        dr, dc = MOVES[action]
        nr, nc = r + dr, c + dc
        if 0 <= nr < self.height and 0 <= nc < self.width and self.grid[nr][nc] != "#":
            return nr * self.width + nc
        return state

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state, self.steps = self.start, 0
        return self.state, {}

    def step(self, action):
        self.state = self.move(self.state, int(action))
        self.steps += 1
        kind = self.cell(self.state)
        reward = {"G": 1.0, "X": -1.0}.get(kind, -self.step_cost)
        terminated = kind in "GX"
        truncated = not terminated and self.steps >= self.max_steps
        return self.state, reward, terminated, truncated, {}

    def free_states(self) -> list[int]:
        return [s for s in range(self.height * self.width) if self.cell(s) != "#"]

    def shortest_path_length(self) -> int:
        """Fewest moves from S to G avoiding X (breadth-first search)."""
        seen, queue = {self.start: 0}, deque([self.start])
        while queue:
            s = queue.popleft()
            if s == self.goal:
                return seen[s]
            for a in range(4):
                n = self.move(s, a)
                if n not in seen and self.cell(n) != "X":
                    seen[n] = seen[s] + 1
                    queue.append(n)
        raise ValueError("GridWorld: the goal cannot be reached")

    def greedy_path(self, q: np.ndarray) -> list[int]:
        """The cells visited from S following ``argmax_a q[s, a]`` until G, X or ``max_steps``."""
        q = np.asarray(q)
        if q.shape != (self.observation_space.n, 4):
            raise ValueError(f"greedy_path: expected q of shape ({self.observation_space.n}, 4), got {q.shape}")
        path, s = [self.start], self.start
        for _ in range(self.max_steps):
            s = self.move(s, int(np.argmax(q[s])))
            path.append(s)
            if self.cell(s) in "GX":
                break
        return path
