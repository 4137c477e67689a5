"""The quark/gluon tagger of notebook 06: data, the MLP, training (with distillation), the cached baseline."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_utils import _files, config
from course_utils.metrics import hep

__all__ = ["BASELINE_HIDDEN", "TaggerData", "tagger_data", "build_mlp", "predict_proba", "train_classifier",
           "baseline_tagger"]

#: Default hidden layers of the baseline: deliberately over-parameterised, as
#: the hls4ml jet tagger is for its task, so that compression has room to act.
BASELINE_HIDDEN = (128, 128, 64)


@dataclass
class TaggerData:
    """Standardised jet observables split into train, validation and test sets.

    Attributes
    ----------
    X_train, X_val, X_test : ndarray, shape (n, n_features), float32
        Features standardised with the training set's mean and standard deviation.
    y_train, y_val, y_test : ndarray, shape (n,), int64
        1 = quark (signal), 0 = gluon.
    feature_names : list of str
    details : dict
        Where the jets come from (the loader's summary), sizes, seed.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @classmethod
    def from_arrays(cls, features: Any, y: Any, feature_names: Sequence[str], *, seed: int = 42,
                    fractions: tuple[float, float] = (0.2, 0.2), details: dict[str, Any] | None = None
                    ) -> TaggerData:
        """Split and standardise a feature matrix (stratified, reproducible).

        Parameters
        ----------
        features : array-like, shape (n, n_features)
        y : array-like, shape (n,), labels 0/1
        fractions : (validation, test)
            Shares of the jets held out for validation and for the test.
        """
        from sklearn.model_selection import train_test_split

        X = np.asarray(features, dtype=np.float64)
        labels = np.asarray(y)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"features must be a non-empty (n, n_features) array, got shape {X.shape}")
        if labels.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {labels.shape}")
        if not np.isfinite(X).all():
            raise ValueError(f"features hold {int((~np.isfinite(X)).sum())} NaN or infinite values")
        if not np.isin(labels, [0, 1]).all() or len(np.unique(labels)) != 2:
            raise ValueError(f"y must hold both labels 0 and 1, got {np.unique(labels)[:10].tolist()}")
        if len(feature_names) != X.shape[1]:
            raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} features")
        f_val, f_test = fractions
        if not (0 < f_val < 1 and 0 < f_test < 1 and f_val + f_test < 1):
            raise ValueError(f"fractions must be two shares in (0, 1) summing below 1, got {fractions}")
        idx = np.arange(len(labels))
        rest, test = train_test_split(idx, test_size=f_test, stratify=labels, random_state=seed)
        train, val = train_test_split(rest, test_size=f_val / (1 - f_test), stratify=labels[rest],
                                      random_state=seed)
        mean = X[train].mean(axis=0)
        std = X[train].std(axis=0)
        std[std == 0] = 1.0

        def part(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return ((X[i] - mean) / std).astype(np.float32), labels[i].astype(np.int64)

        (xt, yt), (xv, yv), (xs, ys) = part(train), part(val), part(test)
        info = dict(details or {})
        info.update(n_train=len(train), n_val=len(val), n_test=len(test), seed=seed,
                    mean=mean.tolist(), std=std.tolist())
        return cls(xt, yt, xv, yv, xs, ys, list(feature_names), info)

    def fingerprint(self) -> str:
        """SHA-256 of the training and validation arrays: the baseline cache's key."""
        h = hashlib.sha256()
        for a in (self.X_train, self.y_train, self.X_val, self.y_val):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(json.dumps(self.feature_names).encode())
        return h.hexdigest()


def tagger_data(n_jets: int, *, seed: int = 42, source: str = "auto", features: Sequence[str] | None = None,
                verbose: bool = True) -> TaggerData:
    """Quark/gluon jets as standardised observables (multiplicity, mass, width, pT^D...).

    The jets come from :func:`course_utils.datasets.quark_gluon.load` (real or
    simulated, as it prints) and the observables from
    :func:`course_utils.physics.jets.jet_observables`.

    Parameters
    ----------
    n_jets
        Number of jets asked of the loader.
    features
        Observable columns to keep (default: every column it computes).
    """
    from course_utils.datasets import quark_gluon
    from course_utils.physics import jets

    ds = quark_gluon.load(source, n=n_jets, seed=seed, verbose=verbose)
    X, y = ds.data
    obs = jets.jet_observables(X)
    names = list(obs.columns) if features is None else list(features)
    unknown = sorted(set(names) - set(obs.columns))
    if unknown:
        raise ValueError(f"unknown observables {unknown}: jet_observables gives {list(obs.columns)}")
    return TaggerData.from_arrays(obs[names].to_numpy(), np.asarray(y), names, seed=seed,
                                  details={"source": ds.source, "summary": ds.summary(), "n_jets": len(y)})


# --- models and training ------------------------------------------------------------

def build_mlp(n_inputs: int, hidden: Sequence[int] = BASELINE_HIDDEN) -> Any:
    """``nn.Sequential`` of Linear + ReLU layers ending in one logit (shape (n, 1))."""
    import torch.nn as nn

    if n_inputs < 1 or any(int(h) < 1 for h in hidden):
        raise ValueError(f"layer sizes must be positive, got n_inputs={n_inputs}, hidden={tuple(hidden)}")
    layers: list[Any] = []
    width = int(n_inputs)
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        width = int(h)
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def _input_dtype(model: Any) -> Any:
    import torch

    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32  # quantized models take float32 inputs


def predict_proba(model: Any, X: Any, *, batch_size: int = 65536) -> np.ndarray:
    """Quark probability ``sigmoid(logit)`` of a torch model, shape (n,), float64."""
    import torch

    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, n_features), got {X.shape}")
    dtype = _input_dtype(model)
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            xb = torch.from_numpy(X[start:start + batch_size]).to(dtype)
            out.append(torch.sigmoid(model(xb).float()).reshape(-1).numpy())
    return np.concatenate(out).astype(np.float64)


def train_classifier(model: Any, data: TaggerData, *, epochs: int = 30, lr: float = 3e-3, batch_size: int = 256,
                     seed: int = 42, teacher: Any = None, temperature: float = 4.0, alpha: float = 0.3,
                     restore_best: bool = True, progress: bool | str = False) -> dict[str, list[float]]:
    """Train a logit-output model with Adam on ``data`` (in place).

    With ``teacher``, the loss is the distillation loss of Hinton et al. (2015)
    for one logit: ``alpha * BCE(student, y) + (1 - alpha) * T^2 *
    BCE(sigmoid(student / T), sigmoid(teacher / T))``.

    ``progress`` shows a tqdm bar over the epochs, with the validation loss and
    AUC (a string is used as the bar's title).

    Returns
    -------
    dict
        Per epoch: ``loss`` (the training objective, distillation loss included),
        ``val_loss`` (cross-entropy on the validation labels), ``auc`` and
        ``val_auc`` (training and validation sets). With
        ``restore_best`` the weights of the epoch with the best validation loss
        are kept (masks of pruned modules are kept with them).
    """
    epochs = int(epochs)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not 0 <= alpha <= 1 or temperature <= 0:
        raise ValueError(f"alpha must be in [0, 1] and temperature > 0, got {alpha}, {temperature}")
    with _torch_threads(1):  # tiny layers: threads only add overhead (a lot on a busy machine)
        return _train(model, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, teacher=teacher,
                      temperature=temperature, alpha=alpha, restore_best=restore_best, progress=progress)


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _epochs(epochs: int, progress: bool | str) -> Any:
    """``range(epochs)``, wrapped in a tqdm bar when ``progress`` asks for one."""
    if not progress:
        return range(epochs)
    from tqdm.auto import tqdm

    return tqdm(range(epochs), desc=progress if isinstance(progress, str) else "entraînement", unit="époque")


def _train(model: Any, data: TaggerData, *, epochs: int, lr: float, batch_size: int, seed: int, teacher: Any,
           temperature: float, alpha: float, restore_best: bool, progress: bool | str) -> dict[str, list[float]]:
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.from_numpy(data.X_train)
    yt = torch.from_numpy(data.y_train).float().reshape(-1, 1)
    xv = torch.from_numpy(data.X_val)
    yv = torch.from_numpy(data.y_val).float().reshape(-1, 1)
    soft = None
    if teacher is not None:
        teacher.eval()
        with torch.inference_mode():
            soft = torch.sigmoid(teacher(xt).float() / temperature).clone()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "auc": [], "val_auc": []}
    best, best_loss = None, float("inf")
    bar = _epochs(epochs, progress)
    for _ in bar:
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for start in range(0, len(xt), batch_size):
            i = perm[start:start + batch_size]
            logit = model(xt[i])
            loss = F.binary_cross_entropy_with_logits(logit, yt[i])
            if soft is not None:
                distill = F.binary_cross_entropy_with_logits(logit / temperature, soft[i])
                loss = alpha * loss + (1 - alpha) * temperature**2 * distill
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(i)
        model.eval()
        with torch.no_grad():
            train_logit = model(xt)
            val_logit = model(xv)
            val_loss = float(F.binary_cross_entropy_with_logits(val_logit, yv))
        history["loss"].append(total / len(xt))
        history["val_loss"].append(val_loss)
        history["auc"].append(hep.auc(data.y_train, train_logit.reshape(-1).numpy()))
        history["val_auc"].append(hep.auc(data.y_val, val_logit.reshape(-1).numpy()))
        if progress:
            bar.set_postfix(perte_val=f"{val_loss:.4f}", auc_val=f"{history['val_auc'][-1]:.4f}")
        if restore_best and val_loss < best_loss:
            best_loss, best = val_loss, copy.deepcopy(model.state_dict())
    if restore_best and best is not None:
        model.load_state_dict(best)
    model.eval()
    return history


def baseline_tagger(data: TaggerData, *, hidden: Sequence[int] = BASELINE_HIDDEN, epochs: int = 40,
                    lr: float = 3e-3, seed: int = 42, verbose: bool = True,
                    progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """The baseline MLP tagger, trained on first use and then read from a cache.

    The cache file is ``<data>/models/quark_gluon_mlp/<key>.pt``, where the key
    hashes the training data, the architecture and the training settings: other
    data or settings train another model. Writes are atomic and locked; a
    corrupt cache file is trained again. ``progress`` shows a bar over the
    training epochs (nothing to show when the model is read from the cache).

    Returns
    -------
    model, info
        The model (eval mode) and a dict with ``history``, ``train_seconds``,
        ``cached`` (bool) and ``path``.
    """
    import torch

    settings = {"hidden": [int(h) for h in hidden], "epochs": int(epochs), "lr": float(lr), "seed": int(seed),
                "torch": ".".join(torch.__version__.split(".")[:2]), "data": data.fingerprint()}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = config.data_dir() / "models" / "quark_gluon_mlp" / f"{key}.pt"
    torch.manual_seed(seed)  # the initial weights too: the same settings give the same model
    model = build_mlp(data.n_features, hidden)
    with _files.locked(path):
        if path.is_file():
            try:
                saved = torch.load(path, weights_only=True)
                model.load_state_dict(saved["state_dict"])
                info = {"history": saved["history"], "train_seconds": saved["train_seconds"],
                        "cached": True, "path": str(path)}
                if verbose:
                    print(f"baseline read from the cache {path}")
                return model.eval(), info
            except Exception as exc:  # noqa: BLE001 - any unreadable cache is trained again
                print(f"cached baseline {path.name} is unreadable ({type(exc).__name__}): training it again")
                path.unlink()
        t0 = time.perf_counter()
        history = train_classifier(model, data, epochs=epochs, lr=lr, seed=seed,
                                   progress="modèle de référence" if progress else False)
        seconds = time.perf_counter() - t0
        with _files.atomic_path(path) as tmp:
            torch.save({"state_dict": model.state_dict(), "history": history, "train_seconds": seconds,
                        "settings": settings}, tmp)
    if verbose:
        print(f"baseline trained in {seconds:.1f} s ({epochs} epochs), cached in {path}")
    return model.eval(), {"history": history, "train_seconds": seconds, "cached": False, "path": str(path)}
