"""Gradient reversal, the DisCo penalty and the robust training methods, on small toys."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy.stats import ks_2samp  # noqa: E402

from course_utils.models import adversarial  # noqa: E402

torch.set_num_threads(1)  # tiny networks: one thread is fastest, and the machine is shared
from course_utils.metrics import auc  # noqa: E402
from course_utils.metrics.decorrelation import distance_correlation  # noqa: E402


def test_gradient_reversal_is_identity_forward_and_flips_the_gradient():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    out = adversarial.grad_reverse(x, 0.5)
    assert torch.equal(out, x)
    (out * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, -1.0, -1.5])
    with pytest.raises(ValueError, match="alpha"):
        adversarial.grad_reverse(x, -1.0)


def test_distance_correlation_loss_matches_numpy_and_has_gradients():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 200))
    b = a ** 2 + 0.5 * b
    x = torch.tensor(a, requires_grad=True)
    loss = adversarial.distance_correlation_loss(x, torch.tensor(b))
    assert loss.item() == pytest.approx(distance_correlation(a, b), rel=1e-6)
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="same length"):
        adversarial.distance_correlation_loss(x, torch.zeros(3))


def toy(n, rng):
    """Background x ~ N((0, z), I), z in {0, 1}; signal x ~ N((1.5, 1.5), I): the background moves with z."""
    y = rng.integers(0, 2, n)
    z = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2))
    x[y == 1] += 1.5
    x[y == 0, 1] += z[y == 0]
    return x, y, z


def test_plain_training_learns():
    rng = np.random.default_rng(1)
    x, y, z = toy(3000, rng)
    model = adversarial.train_robust(x, y, z, method="plain", epochs=10, seed=0)
    xt, yt, _ = toy(3000, rng)
    assert auc(yt, adversarial.predict(model, xt)) > 0.85


@pytest.mark.parametrize("method", ["pivot", "grl"])
def test_adversaries_make_the_background_score_independent_of_z(method):
    rng = np.random.default_rng(2)
    x, y, z = toy(4000, rng)
    xt, yt, zt = toy(8000, rng)

    def dependence(model):
        s = adversarial.predict(model, xt)
        return ks_2samp(s[(yt == 0) & (zt == 0)], s[(yt == 0) & (zt == 1)]).statistic

    plain = adversarial.train_robust(x, y, z, method="plain", epochs=15, seed=0)
    robust = adversarial.train_robust(x, y, z, method=method, lam=10.0, epochs=15, seed=0)
    assert dependence(robust) < 0.6 * dependence(plain), (dependence(plain), dependence(robust))


def test_disco_decorrelates_the_score_from_mass():
    rng = np.random.default_rng(3)
    n = 4000
    y = rng.integers(0, 2, n)
    mass = rng.normal(size=n) + 1.0 * y          # mass separates the classes...
    other = rng.normal(size=n) + 1.0 * y         # ...and so does another variable
    x = np.column_stack([mass, other])
    plain = adversarial.train_robust(x, y, np.zeros(n), method="plain", epochs=10, seed=0)
    disco = adversarial.train_robust(x, y, np.zeros(n), method="disco", lam=20.0, mass=mass, epochs=10, seed=0)
    bkg = y == 0

    def dcor(model):
        return distance_correlation(adversarial.predict(model, x[bkg]), mass[bkg])

    assert dcor(disco) < 0.3 * dcor(plain), (dcor(plain), dcor(disco))
    assert auc(y, adversarial.predict(disco, x)) > 0.65  # it still uses the other variable


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "magic"}, "unknown method"),
    ({"lam": -1.0}, "lam must be"),
    ({"method": "disco", "lam": 1.0}, "needs the variable"),
    ({"y": np.r_[-np.ones(5), np.zeros(5)]}, "only by method='grl'"),
    ({"z": np.arange(9)}, "must have 10 rows"),
    ({"X": np.full((10, 2), np.nan)}, "NaN"),
])
def test_train_robust_refuses_bad_input(kwargs, match):
    args = {"X": np.zeros((10, 2)), "y": np.arange(10) % 2, "z": np.zeros(10)}
    args.update({k: v for k, v in kwargs.items() if k in args})
    options = {k: v for k, v in kwargs.items() if k not in args}
    with pytest.raises(ValueError, match=match):
        adversarial.train_robust(args["X"], args["y"], args["z"], epochs=1, **options)
