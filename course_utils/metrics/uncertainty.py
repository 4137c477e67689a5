"""Uncertainty on a comparison: the paired bootstrap, the spread over seeds, and the verdict.

Every sentence of the course that compares two numbers ("le réseau fait mieux",
"indiscernables", "rapproche") is generated from an interval computed here, so that
it can come out three ways and reads well in each:

* :func:`paired_bootstrap`: two models scored on **the same** test events; the events
  are resampled with replacement (within each class by default, so that every
  resample keeps the numbers of signal and background events) and the metric of
  both models is recomputed on each resample. The percentile interval of the
  difference ``metric(A) - metric(B)`` carries the test set's statistical
  uncertainty; the pairing removes the part both models share.
* :func:`seed_spread` / :func:`over_seeds`: a model trained ``k`` times with
  different seeds; mean, standard deviation and standard error of the mean.
* :func:`seed_difference`: the interval of the difference of two models' means over
  seeds (paired by seed when both ran on the same seeds, Welch otherwise), with
  Student's ``t``.
* :func:`verdict`: "A meilleur", "B meilleur" or "indiscernables à cette taille
  d'échantillon", with the interval that decided it.

Example
-------
>>> from sklearn.metrics import roc_auc_score
>>> v = verdict(score_net, score_bdt, y_true=y_test, metric=roc_auc_score,
...             names=("le réseau", "le BDT"))          # doctest: +SKIP
>>> v.label, v.interval.text()                          # doctest: +SKIP
('indiscernables à cette taille d'échantillon', '+0.004 [-0.008, +0.016]')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from course_utils import validation

__all__ = ["Interval", "Spread", "Verdict", "paired_bootstrap", "seed_spread", "over_seeds",
           "seed_difference", "decide", "verdict", "INDISTINGUISHABLE"]

#: The third outcome of a verdict, in the course's language.
INDISTINGUISHABLE = "indiscernables à cette taille d'échantillon"


@dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate : float
        The value on the whole sample (for a difference: ``A - B``).
    low, high : float
        The interval's bounds.
    level : float
        Its confidence level (0.95 for 95 %).
    method : str
        How it was obtained, in French ("bootstrap apparié, 1000 tirages", "5 graines").
    """

    estimate: float
    low: float
    high: float
    level: float
    method: str

    @property
    def excludes_zero(self) -> bool:
        """Whether zero lies outside the interval."""
        return self.low > 0 or self.high < 0

    def text(self, digits: int = 3, *, signed: bool = True) -> str:
        """``"+0.012 [+0.004, +0.020]"``: the estimate and its interval."""
        f = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
        return f"{f.format(self.estimate)} [{f.format(self.low)}, {f.format(self.high)}]"

    def describe(self, digits: int = 3) -> str:
        """The interval with its level and method, for a sentence."""
        return f"{self.text(digits)} (IC {self.level:.0%}, {self.method})".replace("%", " %")


@dataclass(frozen=True)
class Spread:
    """A figure measured over several seeds: mean, standard deviation, standard error."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        """Sample standard deviation (``ddof=1``): the seed-to-seed scatter."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else float("nan")

    @property
    def sem(self) -> float:
        """Standard error of the mean, ``std / sqrt(n)``."""
        return self.std / np.sqrt(self.n) if self.n > 1 else float("nan")

    def text(self, digits: int = 3) -> str:
        """``"0.812 ± 0.006 (5 graines)"``: mean ± standard deviation over seeds."""
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f} ({self.n} graines)"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a comparison and the interval that decided it.

    Attributes
    ----------
    outcome : {"A", "B", "="}
        Which one is better, or ``"="`` when the interval of the difference holds zero.
    label : str
        The outcome in French: ``"<name A> meilleur"``, ``"<name B> meilleur"`` or
        :data:`INDISTINGUISHABLE`.
    interval : Interval
        The interval of ``A - B`` (in the metric's own direction).
    names : tuple of str
    """

    outcome: Literal["A", "B", "="]
    label: str
    interval: Interval
    names: tuple[str, str] = field(default=("A", "B"))

    @property
    def better(self) -> str | None:
        """The name of the better one, or ``None`` when indistinguishable."""
        return {"A": self.names[0], "B": self.names[1]}.get(self.outcome)

    def sentence(self, digits: int = 3) -> str:
        """One sentence: the outcome, then the difference and its interval."""
        return (f"{self.label} : différence {self.names[0]} − {self.names[1]} = "
                f"{self.interval.describe(digits)}")

    def __str__(self) -> str:
        return self.sentence()


def _level(level: float) -> float:
    return validation.check_fraction(level, "level", closed="neither")


def _percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def _resample_indices(rng: np.random.Generator, y: np.ndarray | None, n: int,
                      stratify: bool) -> np.ndarray:
    if not stratify or y is None:
        return rng.integers(0, n, size=n)
    parts = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        parts.append(members[rng.integers(0, members.size, size=members.size)])
    return np.concatenate(parts)


def paired_bootstrap(metric: Callable[..., float], y_true: Any, score_a: Any, score_b: Any, *,
                     sample_weight: Any = None, n_boot: int = 1000, level: float = 0.95,
                     seed: int = 0, stratify: bool = True, return_samples: bool = False
                     ) -> Interval | tuple[Interval, np.ndarray]:
    """Percentile interval of ``metric(y, A) - metric(y, B)`` by a paired bootstrap.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, score)`` (or ``metric(y_true, score, sample_weight)`` when
        ``sample_weight`` is given), returning a float: an AUC, a SIC at a working
        point, an efficiency, a significance.
    y_true : array-like, shape (n,)
        Labels of the test events, shared by both models.
    score_a, score_b : array-like, shape (n,) or (n, k)
        Each model's output on the same events, in the same order.
    sample_weight : array-like, shape (n,), optional
        Event weights, resampled with the events.
    n_boot : int
        Number of resamples (1000 gives the 95 % bounds to about ±0.1 σ).
    level : float
        Confidence level, in (0, 1).
    seed : int
        Seed of the resampling.
    stratify : bool
        Resample within each class of ``y_true`` (default), so that each resample
        keeps the class counts: the test set's design, and an AUC always defined.
    return_samples : bool
        Also return the ``n_boot`` bootstrap differences.

    Returns
    -------
    Interval
        ``estimate`` is the difference on the whole test set.
    """
    if not callable(metric):
        raise ValueError(f"metric must be a callable metric(y_true, score), got {validation.describe(metric)}")
    y = validation.check_labels(y_true, "y_true")
    a = validation.check_array(score_a, "score_a")
    b = validation.check_array(score_b, "score_b")
    arrays: dict[str, Any] = {"y_true": y, "score_a": a, "score_b": b}
    w = None
    if sample_weight is not None:
        w = validation.check_1d(sample_weight, "sample_weight")
        arrays["sample_weight"] = w
    n = validation.check_consistent_length(**arrays)
    n_boot = validation.check_count(n_boot, "n_boot", min_value=10)
    level = _level(level)
    rng = np.random.default_rng(validation.check_seed(seed))

    def score(idx: np.ndarray | None) -> float:
        yy, aa, bb = (y, a, b) if idx is None else (y[idx], a[idx], b[idx])
        if w is None:
            return float(metric(yy, aa)) - float(metric(yy, bb))
        ww = w if idx is None else w[idx]
        return float(metric(yy, aa, ww)) - float(metric(yy, bb, ww))

    estimate = score(None)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        diffs[i] = score(_resample_indices(rng, y, n, stratify))
    if not np.all(np.isfinite(diffs)):
        bad = int(np.sum(~np.isfinite(diffs)))
        raise ValueError(f"the metric is not finite on {bad} of {n_boot} resamples: expected a metric "
                         "defined on every resample (use stratify=True, or a larger test set)")
    low, high = _percentile(diffs, level)
    interval = Interval(estimate, low, high, level, f"bootstrap apparié, {n_boot} tirages")
    return (interval, diffs) if return_samples else interval


def seed_spread(values: Iterable[float]) -> Spread:
    """Mean, standard deviation and standard error of a figure measured over seeds.

    Parameters
    ----------
    values : iterable of float
        One value per seed (at least two, all finite).
    """
    arr = validation.check_1d(list(values), "values")
    if arr.size < 2:
        raise ValueError(f"values must hold at least 2 seeds to give a spread, got {arr.size}")
    return Spread(tuple(float(v) for v in arr))


def over_seeds(fn: Callable[[int], float], seeds: Sequence[int] | int = 3, *,
               progress: bool = True, desc: str = "graines") -> Spread:
    """Run ``fn(seed)`` for each seed and return the spread of its results.

    Parameters
    ----------
    fn : callable
        Trains and evaluates one model for a given seed; returns a float.
    seeds : sequence of int, or int
        The seeds, or how many (``0 .. k-1``).
    progress : bool
        Show a tqdm bar.
    """
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        seeds = list(range(validation.check_count(int(seeds), "seeds", min_value=2)))
    seeds = [validation.check_seed(s, "seeds") for s in seeds]
    if len(seeds) < 2:
        raise ValueError(f"seeds must name at least 2 seeds, got {len(seeds)}")
    it: Iterable[int] = seeds
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(seeds, desc=desc)
    return seed_spread(float(fn(s)) for s in it)


def seed_difference(a: Spread | Sequence[float], b: Spread | Sequence[float], *,
                    level: float = 0.95, paired: bool | None = None) -> Interval:
    """Student interval of ``mean(A) - mean(B)`` over seeds.

    Parameters
    ----------
    a, b : Spread or sequence of float
        Per-seed values of each model.
    paired : bool, optional
        Pair the seeds (``a[i]`` and ``b[i]`` trained with the same seed and data):
        the interval of the mean of the differences. Default: paired when both have
        the same number of seeds. Otherwise Welch's interval.
    """
    sa = a if isinstance(a, Spread) else seed_spread(a)
    sb = b if isinstance(b, Spread) else seed_spread(b)
    level = _level(level)
    from scipy import stats

    if paired is None:
        paired = sa.n == sb.n
    if paired:
        if sa.n != sb.n:
            raise ValueError(f"paired seeds need as many values in a as in b, got {sa.n} and {sb.n}")
        d = np.asarray(sa.values) - np.asarray(sb.values)
        mean, se, dof = float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)), d.size - 1
        method = f"{sa.n} graines appariées"
    else:
        va, vb = sa.std ** 2 / sa.n, sb.std ** 2 / sb.n
        mean, se = sa.mean - sb.mean, float(np.sqrt(va + vb))
        dof = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1)) if va + vb > 0 else sa.n + sb.n - 2
        method = f"{sa.n} et {sb.n} graines (Welch)"
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    return Interval(mean, mean - half, mean + half, level, method)


def decide(interval: Interval, *, names: tuple[str, str] = ("A", "B"),
           higher_is_better: bool = True) -> Verdict:
    """The verdict an interval of ``A - B`` gives: A better, B better, or indistinguishable."""
    if not isinstance(interval, Interval):
        raise ValueError(f"interval must be an Interval, got {validation.describe(interval)}")
    names = _names(names)
    if not interval.excludes_zero:
        return Verdict("=", INDISTINGUISHABLE, interval, names)
    a_better = (interval.low > 0) == higher_is_better
    return Verdict("A" if a_better else "B", f"{names[0 if a_better else 1]} meilleur", interval, names)


def _names(names: Any) -> tuple[str, str]:
    if (not isinstance(names, tuple | list) or len(names) != 2
            or not all(isinstance(x, str) and x for x in names)):
        raise ValueError(f"names must be two non-empty strings, got {names!r}")
    return (names[0], names[1])


def verdict(a: Any, b: Any, *, y_true: Any = None, metric: Callable[..., float] | None = None,
            names: tuple[str, str] = ("A", "B"), higher_is_better: bool = True,
            level: float = 0.95, **options: Any) -> Verdict:
    """Compare A and B: "A meilleur", "B meilleur" or "indiscernables à cette taille d'échantillon".

    Two ways to call it:

    * with ``y_true`` and ``metric``: ``a`` and ``b`` are two models' scores on the same
      test events, compared by :func:`paired_bootstrap` (``options``: ``n_boot``,
      ``seed``, ``stratify``, ``sample_weight``);
    * without them: ``a`` and ``b`` are per-seed values (or :class:`Spread`), compared by
      :func:`seed_difference` (``options``: ``paired``).

    Parameters
    ----------
    names : (str, str)
        How the sentence names A and B.
    higher_is_better : bool
        ``False`` for a loss, a distance, a fake rate.
    level : float
        Confidence level of the interval.

    Returns
    -------
    Verdict
        ``label`` is the sentence's verdict; ``interval`` the difference ``A - B``.
    """
    if (y_true is None) != (metric is None):
        raise ValueError("give both y_true and metric (paired bootstrap on test events), "
                         "or neither (a and b are per-seed values)")
    if metric is not None:
        allowed = {"n_boot", "seed", "stratify", "sample_weight"}
        unknown = set(options) - allowed
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)} for a paired bootstrap: expected {sorted(allowed)}")
        interval = paired_bootstrap(metric, y_true, a, b, level=level, **options)
    else:
        unknown = set(options) - {"paired"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)} for per-seed values: expected ['paired']")
        interval = seed_difference(a, b, level=level, **options)
    assert isinstance(interval, Interval)
    return decide(interval, names=names, higher_is_better=higher_is_better)
