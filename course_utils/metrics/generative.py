"""Judging generated samples (calorimeter showers), as the CaloChallenge does (notebook 09).

* :func:`wasserstein_distances` and :func:`separation_power`: one number per
  observable, generated against reference (the observables of a shower are
  :func:`course_utils.physics.calorimeter.high_level_features`);
* :func:`frechet_distance` and :func:`kernel_distance`: the Fréchet and kernel
  physics distances (FPD, KPD) of Kansal et al. (arXiv:2211.10295), computed
  here with NumPy/SciPy;
* :func:`batched_distance`: any of these distances on disjoint batches, so that
  it comes with its spread;
* :func:`classifier_auc`: the classifier test, a neural network trained to
  separate generated from reference showers (AUC 0.5: indistinguishable), to
  convergence (early stopping on a held-out tenth of its training showers);
  :func:`classifier_auc_runs`: many of them (several pairs, several seeds) in
  parallel worker processes, with the same numbers as one by one;
* :func:`showers_per_second`: generation speed; :func:`showers_per_second_runs`: one
  speed per repeat, to tell a real difference from timing noise.

The notebook writes each of these once in cells before using them here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from course_utils.validation import check_count

__all__ = ["wasserstein_distances", "separation_power", "frechet_distance",
           "kernel_distance", "batched_distance", "classifier_auc", "classifier_auc_runs", "showers_per_second",
           "showers_per_second_runs"]


def _frames(reference: pd.DataFrame, generated: pd.DataFrame) -> list[str]:
    if not isinstance(reference, pd.DataFrame) or not isinstance(generated, pd.DataFrame):
        raise ValueError("reference and generated must be DataFrames of high-level features")
    if list(reference.columns) != list(generated.columns):
        raise ValueError(f"different columns: {list(reference.columns)} vs {list(generated.columns)}")
    if len(reference) == 0 or len(generated) == 0:
        raise ValueError("reference and generated must not be empty")
    return list(reference.columns)


def wasserstein_distances(reference: pd.DataFrame, generated: pd.DataFrame, *, standardise: bool = True) -> pd.Series:
    """Wasserstein-1 distance between the two samples, per observable.

    Parameters
    ----------
    reference, generated
        High-level features (same columns).
    standardise
        Divide each distance by the reference's standard deviation, so that
        observables with different units can be compared (0: identical).

    Returns
    -------
    pandas.Series
        One distance per column.
    """
    from scipy.stats import wasserstein_distance

    out = {}
    for col in _frames(reference, generated):
        r, g = reference[col].to_numpy(float), generated[col].to_numpy(float)
        scale = r.std() if standardise and r.std() > 0 else 1.0
        out[col] = wasserstein_distance(r / scale, g / scale)
    return pd.Series(out, name="W1")


def separation_power(reference: pd.DataFrame, generated: pd.DataFrame, *, bins: int = 30) -> pd.Series:
    """The challenge's separation power per observable: ``½ Σ (h_r − h_g)² / (h_r + h_g)``.

    The histograms are normalised to unit sum, on ``bins`` bins spanning the
    reference's 0.5 %–99.5 % quantiles (values outside go to the edge bins).
    0 means identical histograms, 1 disjoint ones.
    """
    out = {}
    for col in _frames(reference, generated):
        r, g = reference[col].to_numpy(float), generated[col].to_numpy(float)
        lo, hi = np.quantile(r, [0.005, 0.995])
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        hr = np.histogram(np.clip(r, lo, hi), edges)[0] / len(r)
        hg = np.histogram(np.clip(g, lo, hi), edges)[0] / len(g)
        both = hr + hg
        out[col] = 0.5 * np.sum(np.where(both > 0, (hr - hg) ** 2 / np.where(both > 0, both, 1.0), 0.0))
    return pd.Series(out, name="separation")


def _matrix(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name} must have shape (N >= 2, d), got {np.shape(x)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return a


def _pair(reference: Any, generated: Any, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Both samples as checked matrices with the same number of features (``where`` prefixes the messages)."""
    a, b = _matrix(reference, f"{where}reference"), _matrix(generated, f"{where}generated")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{where}reference and generated have {a.shape[1]} and {b.shape[1]} features")
    return a, b


def frechet_distance(x: Any, y: Any) -> float:
    """Fréchet distance between Gaussians fitted to two samples (the FPD on physics features).

    ``|μx − μy|² + Tr(Σx + Σy − 2 (Σx Σy)^½)``; 0 for identical means and covariances.

    Parameters
    ----------
    x, y : array, shape (N, d) and (M, d)
        Two samples of the same features (standardise them first).
    """
    from scipy.linalg import sqrtm

    a, b = _matrix(x, "x"), _matrix(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y have {a.shape[1]} and {b.shape[1]} features")
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = sqrtm(ca @ cb)
    root = np.real(root)
    diff = a.mean(axis=0) - b.mean(axis=0)
    return float(diff @ diff + np.trace(ca + cb - 2.0 * root))


def kernel_distance(x: Any, y: Any, *, degree: int = 3) -> float:
    """Unbiased squared maximum mean discrepancy with the polynomial kernel ``(x·y / d + 1)^degree`` (KPD).

    Near 0 (it can be slightly negative) when both samples come from the same distribution.

    Parameters
    ----------
    x, y : array, shape (N, d) and (M, d)
        Two samples of the same features (standardise them first); N, M >= 2.
    """
    a, b = _matrix(x, "x"), _matrix(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y have {a.shape[1]} and {b.shape[1]} features")
    d = a.shape[1]
    kxx = (a @ a.T / d + 1.0) ** degree
    kyy = (b @ b.T / d + 1.0) ** degree
    kxy = (a @ b.T / d + 1.0) ** degree
    n, m = len(a), len(b)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2.0 * kxy.mean())


def batched_distance(distance: Callable[[Any, Any], float], reference: Any, generated: Any, *,
                     n_batches: int = 5, seed: int = 0) -> np.ndarray:
    """A distance computed on ``n_batches`` disjoint batches of both samples, one value per batch.

    The FPD and KPD of one pair of samples carry no error bar; split both samples into
    batches (after a shuffle), compute the distance on each pair of batches, and report
    the mean and the standard error ``std / sqrt(n_batches)`` of these values, as
    Kansal et al. (arXiv:2211.10295) do. Smaller batches bias the FPD upwards: compare
    distances only at the same batch size.

    Parameters
    ----------
    distance : callable
        ``distance(x, y) -> float``, e.g. :func:`frechet_distance`.
    reference, generated : array, shape (N, d) and (M, d)
        Both samples (standardised features); each batch holds ``N // n_batches`` and
        ``M // n_batches`` rows (at least 2).
    n_batches : int
        Number of batches (at least 2).
    seed : int
        Seed of the shuffle.

    Returns
    -------
    numpy.ndarray, shape (n_batches,)
        The distance on each batch.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> values = batched_distance(frechet_distance, rng.normal(size=(1000, 2)),
    ...                           rng.normal(size=(1000, 2)), n_batches=4)
    >>> values.shape
    (4,)
    """
    if not callable(distance):
        raise ValueError(f"distance must be a callable distance(x, y), got {type(distance).__name__}")
    a, b = _matrix(reference, "reference"), _matrix(generated, "generated")
    n_batches = check_count(n_batches, "n_batches", min_value=2)
    if min(len(a), len(b)) // n_batches < 2:
        raise ValueError(f"{n_batches} batches of {len(a)} and {len(b)} rows leave fewer than 2 rows "
                         "per batch: use fewer batches")
    rng = np.random.default_rng(seed)
    pa = np.array_split(rng.permutation(len(a))[:len(a) // n_batches * n_batches], n_batches)
    pb = np.array_split(rng.permutation(len(b))[:len(b) // n_batches * n_batches], n_batches)
    return np.array([float(distance(a[i], b[j])) for i, j in zip(pa, pb)])


def classifier_auc(reference: Any, generated: Any, *, seed: int = 0, hidden: tuple[int, ...] = (128, 128),
                   test_size: float = 0.4, max_iter: int = 300, n_iter_no_change: int = 10,
                   tol: float = 1e-4) -> dict[str, Any]:
    """The classifier test: AUC of a neural network separating generated from reference samples.

    A multilayer perceptron (scikit-learn) is trained on standardised features of both
    samples, **to convergence**: it stops when its accuracy on a held-out tenth of the
    training showers has not improved by ``tol`` for ``n_iter_no_change`` epochs (early
    stopping), and ``max_iter`` is only a safety bound (``converged`` says whether it
    was reached first). Its AUC is measured on the showers it has not seen. AUC 0.5: the
    classifier cannot tell them apart; 1: it always can.

    Parameters
    ----------
    reference, generated : array, shape (N, d) and (M, d)
        Features of each sample (voxels divided by E_inc, or high-level features).
    seed
        Seed of the split and of the network: run several seeds for the spread.
    hidden
        Hidden layer sizes.
    test_size
        Share of each sample held back to measure the AUC.
    max_iter
        Most training epochs (a bound that early stopping should reach first).
    n_iter_no_change, tol
        Early stopping: epochs without an improvement of at least ``tol``.

    Returns
    -------
    dict
        ``auc`` (on the held-back showers), ``y_true`` and ``y_score`` of those
        (1 = reference), ``model`` (the fitted pipeline), ``epochs`` and ``converged``
        (early stopping reached before ``max_iter``).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, b = _pair(reference, generated)
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    x = np.vstack([a, b])
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=hidden, early_stopping=True,
                                                          max_iter=max_iter, random_state=seed,
                                                          n_iter_no_change=n_iter_no_change, tol=tol,
                                                          alpha=1e-4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x_tr, y_tr)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    score = model.predict_proba(x_te)[:, 1]
    return {"auc": float(roc_auc_score(y_te, score)), "y_true": y_te, "y_score": score, "model": model,
            "epochs": int(model[-1].n_iter_), "converged": converged}


def _single_threaded_auc(reference: np.ndarray, generated: np.ndarray, seed: int, kwargs: dict[str, Any]
                         ) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # the same floating-point sums in every process, on any machine
        return classifier_auc(reference, generated, seed=seed, **kwargs)


def classifier_auc_runs(pairs: Mapping[Hashable, tuple[Any, Any]], seeds: int | Iterable[int], *,
                        n_jobs: int | None = None, desc: str | None = "test du classifieur",
                        **kwargs: Any) -> dict[Hashable, list[dict[str, Any]]]:
    """:func:`classifier_auc` of every pair with every seed, in parallel worker processes.

    Each run is independent (its own split, initialisation and early stopping), so they
    spread over the cores; each runs on one thread, so a run gives the same numbers
    whatever ``n_jobs`` and whichever machine runs it.

    Parameters
    ----------
    pairs
        ``{key: (reference, generated)}``, each as for :func:`classifier_auc`.
    seeds
        The judge's seeds: an iterable, or a count ``k`` for ``range(k)``.
    n_jobs
        Worker processes (joblib); default: one per available core (the container's CPU quota),
        at most the number of runs;
        1 runs them one after the other in this process.
    desc
        Label of the progress bar (None: no bar).
    **kwargs
        Passed to :func:`classifier_auc` (``hidden``, ``test_size``, ``max_iter``...).

    Returns
    -------
    dict
        ``{key: [classifier_auc(reference, generated, seed=s, **kwargs) for s in seeds]}``.
    """
    from joblib import Parallel, cpu_count, delayed
    from tqdm.auto import tqdm

    seeds = list(range(check_count(seeds, "seeds"))) if isinstance(seeds, (int, np.integer)) else [
        check_count(s, "seed", min_value=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed (or a count >= 1)")
    if not pairs:
        raise ValueError("pairs is empty: expected {key: (reference, generated)}")
    checked = {}   # before any worker starts: a bad pair fails here, with its key
    for key, pair in pairs.items():
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ValueError(f"pairs[{key!r}] must be a tuple (reference, generated)")
        checked[key] = _pair(*pair, where=f"pairs[{key!r}]: ")
    jobs = [(key, s) for key in checked for s in seeds]
    # joblib's cpu_count: the CPU quota of a container (Binder, Colab), not the host's cores
    n_jobs = min(cpu_count(), len(jobs)) if n_jobs is None else check_count(n_jobs, "n_jobs")
    if n_jobs == 1:
        results = (_single_threaded_auc(*checked[key], s, kwargs) for key, s in jobs)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_single_threaded_auc)(*checked[key], s, kwargs) for key, s in jobs)
    runs: dict[Hashable, list[dict[str, Any]]] = {key: [] for key in checked}
    for (key, _), run in zip(jobs, tqdm(results, total=len(jobs), desc=desc, disable=desc is None), strict=True):
        runs[key].append(run)
    return runs


def showers_per_second_runs(generate: Callable[[int], Any], batch: int, *, repeats: int = 5,
                            min_time: float = 0.2) -> np.ndarray:
    """Generation speed measured ``repeats`` times: showers per second of ``generate(batch)``.

    After one untimed warm-up call, each repeat calls ``generate(batch)`` as many times as
    needed to last ``min_time`` seconds. On a shared machine the repeats scatter: compare two
    generators by their ranges (median, minimum, maximum), not by one timing.

    Parameters
    ----------
    generate : callable
        ``generate(n)`` draws ``n`` showers.
    batch : int
        Showers per call.
    repeats : int
        Number of timed repeats (at least 1).
    min_time : float
        Shortest duration of one repeat, in seconds.

    Returns
    -------
    ndarray, shape (repeats,)
        Showers per second of each repeat, in the order measured.

    Examples
    --------
    >>> rates = showers_per_second_runs(lambda n: np.zeros((n, 368)), 100, repeats=5)
    >>> float(np.median(rates)), float(rates.min()), float(rates.max())  # doctest: +SKIP
    """
    if not callable(generate):
        raise ValueError(f"generate must be a callable generate(n), got {type(generate).__name__}")
    batch = check_count(batch, "batch")
    repeats = check_count(repeats, "repeats")
    if not (isinstance(min_time, int | float) and np.isfinite(min_time) and min_time > 0):
        raise ValueError(f"min_time must be a positive number of seconds, got {min_time!r}")
    generate(batch)  # warm-up
    rates = np.empty(repeats)
    for r in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            generate(batch)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        rates[r] = batch * calls / elapsed
    return rates


def showers_per_second(generate: Callable[[int], Any], batch: int, *, repeats: int = 3,
                       min_time: float = 0.2) -> float:
    """Generation speed: showers per second of ``generate(batch)``, best of ``repeats`` timings.

    Each timing calls ``generate(batch)`` as many times as needed to last ``min_time`` seconds
    (see :func:`showers_per_second_runs`, which returns every repeat).
    """
    return float(showers_per_second_runs(generate, batch, repeats=max(1, repeats),
                                         min_time=min_time).max())
