"""The benchmark: run a variant, measure everything about it, tabulate, find the Pareto front."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils.metrics import compression as cm
from course_utils.metrics import hep
from course_utils.models.compression.tagger import TaggerData, _input_dtype, predict_proba
from course_utils.validation import check_count

__all__ = ["Runner", "torch_runner", "onnx_runner", "compare_latency", "Variant", "VariantResult",
           "measure_variants", "benchmark_table", "pareto_front"]


@dataclass(frozen=True)
class Runner:
    """How to run one variant: probabilities for a feature matrix, and a timed call per batch size.

    ``call(batch)`` returns a no-argument callable running the model on a batch
    already in the model's input format, so that latency measures inference only.
    """

    predict: Callable[[np.ndarray], np.ndarray]
    call: Callable[[int], Callable[[], Any]]


def torch_runner(model: Any, X: np.ndarray) -> Runner:
    """A :class:`Runner` for a torch model, timing batches taken from ``X``."""
    import torch

    dtype = _input_dtype(model)
    model.eval()

    def call(batch: int) -> Callable[[], Any]:
        xb = torch.from_numpy(_batch(X, batch)).to(dtype)

        def run() -> Any:
            with torch.inference_mode():
                return model(xb)
        return run

    return Runner(lambda A: predict_proba(model, A), call)


def onnx_runner(session: Any, X: np.ndarray) -> Runner:
    """A :class:`Runner` for an ONNX Runtime session (input ``x``, output the logit)."""
    def predict(A: np.ndarray) -> np.ndarray:
        logit = session.run(None, {"x": np.asarray(A, dtype=np.float32)})[0].reshape(-1)
        return 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))

    def call(batch: int) -> Callable[[], Any]:
        xb = _batch(X, batch)
        return lambda: session.run(None, {"x": xb})

    return Runner(predict, call)


def _batch(X: np.ndarray, batch: int) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    reps = int(np.ceil(batch / len(X)))
    return np.ascontiguousarray(np.tile(X, (reps, 1))[:batch])


@dataclass(frozen=True)
class VariantResult:
    """Everything measured for one variant by :func:`measure_variants` (never typed in by hand)."""

    name: str
    technique: str
    stored_as: str
    n_parameters: int
    n_nonzero: int
    size_bytes: int
    auc: float
    accuracy: float
    threshold: float
    signal_efficiency: float
    background_rejection: float
    latency: dict[int, dict[str, float]]
    threads: int


def compare_latency(fns: Mapping[str, Callable[[], Any]], *, runs: int = 30, warmup: int = 5,
                    repeat_inner: int = 1, seed: int = 0,
                    progress: bool | str = False) -> dict[str, dict[str, float]]:
    """Latencies of several callables, measured in interleaved rounds.

    Each function is warmed up, then every round times each of them once with
    :func:`course_utils.metrics.compression.latency` (``runs=1``), in a new
    random order. A change of load on the machine during the measurement thus
    hits every function alike, instead of whichever ran during a busy moment.
    ``progress`` shows a tqdm bar over the rounds (a string is its title).

    Returns
    -------
    dict
        Name -> the statistics of :func:`~course_utils.metrics.compression.latency`
        (``median``, ``mean``, ``std``, ``p10``, ``p90``, ``min``, ``max``, ``runs``),
        in seconds per call, over the ``runs`` rounds.
    """
    if not fns:
        raise ValueError("fns is empty: give a dict {name: callable}")
    runs = check_count(runs, "runs")
    names = list(fns)
    for name in names:
        cm.latency(fns[name], runs=1, warmup=max(int(warmup), 0), repeat_inner=repeat_inner)  # warm-up
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {n: [] for n in names}
    rounds: Any = range(runs)
    if progress:
        from tqdm.auto import tqdm

        rounds = tqdm(rounds, desc=progress if isinstance(progress, str) else "latences", unit="tour")
    for _ in rounds:
        for i in rng.permutation(len(names)):
            samples[names[i]].append(cm.latency(fns[names[i]], runs=1, warmup=0, repeat_inner=repeat_inner)["median"])
    out = {}
    for name, values in samples.items():
        arr = np.asarray(values)
        out[name] = {"median": float(np.median(arr)), "mean": float(arr.mean()), "std": float(arr.std()),
                     "p10": float(np.percentile(arr, 10)), "p90": float(np.percentile(arr, 90)),
                     "min": float(arr.min()), "max": float(arr.max()), "runs": float(runs)}
    return out


@dataclass(frozen=True)
class Variant:
    """One compressed variant to measure.

    Attributes
    ----------
    name
        Its row in the report table.
    runner
        How to run it (:func:`torch_runner`, :func:`onnx_runner`).
    stored
        What is stored on disk: a file path, bytes, or a model (see
        :func:`course_utils.metrics.compression.serialized_size`).
    params
        What holds its parameters (a model or arrays), for the counts.
    technique, stored_as
        Labels for the table.
    """

    name: str
    runner: Runner
    stored: Any
    params: Any
    technique: str = ""
    stored_as: str = ""


def measure_variants(variants: Sequence[Variant], *, data: TaggerData, batch_sizes: Sequence[int] = (1, 1024),
                     runs: int = 30, warmup: int = 5, target_efficiency: float = 0.5,
                     progress: bool = False) -> list[VariantResult]:
    """Measure every variant: counts, stored size, AUC, accuracy, working point, latency.

    The working point is the threshold giving ``target_efficiency`` of the
    signal (quarks) on the validation set; the efficiency and the rejection are
    then measured on the test set at that threshold. Latencies are measured for
    all variants together with :func:`compare_latency` (interleaved rounds), one
    batch size at a time; a batch of one is timed 20 calls at a time.
    ``progress`` shows a tqdm bar per batch size (the latency rounds).
    """
    import torch

    if not variants:
        raise ValueError("no variant to measure")
    bad = [type(v).__name__ for v in variants if not isinstance(v, Variant)]
    if bad:
        raise ValueError(f"measure_variants takes Variant objects, got {bad}")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be unique, got {names}")
    latencies: dict[int, dict[str, dict[str, float]]] = {}
    for b in batch_sizes:
        b = int(b)
        latencies[b] = compare_latency({v.name: v.runner.call(b) for v in variants}, runs=runs, warmup=warmup,
                                       repeat_inner=max(1, 20 // b),
                                       progress=f"latences, lot de {b}" if progress else False)
    out = []
    for v in variants:
        p_val = v.runner.predict(data.X_val)
        p_test = v.runner.predict(data.X_test)
        cm.check_same_output(data.y_test.astype(float), p_test)
        threshold = float(np.quantile(p_val[data.y_val == 1], 1 - float(target_efficiency)))
        wp = hep.efficiencies(data.y_test, p_test, threshold)
        out.append(VariantResult(
            name=v.name, technique=v.technique, stored_as=v.stored_as,
            n_parameters=cm.count_parameters(v.params), n_nonzero=cm.count_nonzero(v.params),
            size_bytes=cm.serialized_size(v.stored), auc=hep.auc(data.y_test, p_test),
            accuracy=float(np.mean((p_test >= 0.5) == (data.y_test == 1))), threshold=threshold,
            signal_efficiency=wp["signal_efficiency"], background_rejection=wp["background_rejection"],
            latency={b: lat[v.name] for b, lat in latencies.items()}, threads=torch.get_num_threads(),
        ))
    return out


def benchmark_table(results: Sequence[VariantResult], baseline: str | None = None) -> Any:
    """The report table: one row per variant, ratios and drops relative to ``baseline``.

    Only :class:`VariantResult` objects are accepted: every number in the table
    comes from a measurement. Latencies are medians in microseconds per call.

    Returns
    -------
    pandas.DataFrame
        Indexed by variant name.
    """
    import pandas as pd

    if not results:
        raise ValueError("no result to tabulate")
    bad = [type(r).__name__ for r in results if not isinstance(r, VariantResult)]
    if bad:
        raise ValueError(f"benchmark_table takes VariantResult objects from measure_variants, got {bad}")
    by_name = {r.name: r for r in results}
    if len(by_name) != len(results):
        raise ValueError("two variants have the same name")
    if baseline is not None and baseline not in by_name:
        raise ValueError(f"baseline {baseline!r} is not among {list(by_name)}")
    base = by_name[baseline] if baseline is not None else results[0]
    rows = []
    for r in results:
        row = {"variant": r.name, "technique": r.technique, "stored as": r.stored_as,
               "parameters": r.n_parameters, "non-zero": r.n_nonzero, "size (bytes)": r.size_bytes,
               "compression (bytes)": cm.compression_ratio(base.size_bytes, r.size_bytes),
               "compression (non-zero)": cm.compression_ratio(base.n_nonzero, r.n_nonzero),
               "AUC": r.auc, "ΔAUC": cm.accuracy_drop(base.auc, r.auc)["absolute"],
               "accuracy": r.accuracy, "Δaccuracy": cm.accuracy_drop(base.accuracy, r.accuracy)["absolute"],
               "ε_S (WP)": r.signal_efficiency, "rejection 1/ε_B (WP)": r.background_rejection}
        for b, lat in r.latency.items():
            row[f"latency b={b} (µs)"] = lat["median"] * 1e6
            row[f"spread b={b} (µs)"] = (lat["p90"] - lat["p10"]) * 1e6
            if b in base.latency:
                row[f"speedup b={b}"] = cm.speedup(base.latency[b], lat)
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def pareto_front(cost: Any, score: Any) -> np.ndarray:
    """Which points are Pareto-optimal: no other point has a lower-or-equal cost and a higher-or-equal score
    with at least one strictly better.

    Parameters
    ----------
    cost : array-like, shape (n,)
        What should be small (bytes, latency).
    score : array-like, shape (n,)
        What should be large (AUC).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    c = np.asarray(cost, dtype=float)
    s = np.asarray(score, dtype=float)
    if c.ndim != 1 or c.shape != s.shape or c.size == 0:
        raise ValueError(f"cost and score must be 1-D arrays of one non-zero length, got {c.shape} and {s.shape}")
    if np.isnan(c).any() or np.isnan(s).any():
        raise ValueError("cost and score must not hold NaN")
    dominated = ((c[None, :] <= c[:, None]) & (s[None, :] >= s[:, None])
                 & ((c[None, :] < c[:, None]) | (s[None, :] > s[:, None]))).any(axis=1)
    return ~dominated
