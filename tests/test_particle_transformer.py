"""The particle-cloud taggers of notebook 11 (course_utils.models.particle_transformer)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course_utils.datasets.jetclass.formats import FEATURES, STANDARDISATION, ParticleInputs  # noqa: E402
from course_utils.models import particle_transformer as pt  # noqa: E402
from course_utils.physics.pairs import pair_features  # noqa: E402

P, F = 10, 17


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tensors are tiny: one thread avoids the cost of waking a second one on a loaded machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _inputs(n=6, p=P, seed=0, counts=None):
    """Random jets as ParticleInputs (float32 tensors), with the particle counts given (padding after)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, p + 1, n) if counts is None else np.asarray(counts)
    mask = np.arange(p)[None] < counts[:, None]
    ptv, y, phi = rng.uniform(1, 60, (n, p)), rng.normal(0, 0.4, (n, p)), rng.normal(0, 0.4, (n, p))
    vec = np.stack([ptv * np.cos(phi), ptv * np.sin(phi), ptv * np.sinh(y), ptv * np.cosh(y)], -1)
    feat = rng.normal(size=(n, p, F))
    pts = np.stack([y, phi], -1)
    z = ~mask[..., None]
    t = [torch.tensor(np.where(z, 0.0, a), dtype=torch.float32) for a in (feat, vec, pts)]
    return ParticleInputs(*t, torch.tensor(mask))


def _models():
    torch.manual_seed(0)
    return [pt.ParticleTransformer(F, 3, dim=16, heads=2, blocks=2, class_blocks=1),
            pt.ParticleTransformer(F, 3, dim=16, heads=2, blocks=1, pair_dim=0),
            pt.ParticleFlowNetwork(F, 3, phi=(16, 16), f=(16,)),
            pt.ParticleNetLite(F, 3, k=3, channels=((8, 8), (16,)), fc=16)]


def _ids(models):
    return [f"{type(m).__name__}{'-nopair' if getattr(m, 'pair_dim', 4) == 0 else ''}" for m in models]


MODELS = _models()


@pytest.mark.parametrize("model", MODELS, ids=_ids(MODELS))
def test_shapes_and_no_nan_with_a_fully_padded_jet(model):
    x = _inputs(counts=[5, 0, 10, 1, 2, 3])  # jet 1 has no particle at all, jet 3 a single one
    for mode in (True, False):
        model.train(mode)
        out = model(*x)
        assert out.shape == (6, 3)
        assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.zero_grad()


@pytest.mark.parametrize("model", MODELS, ids=_ids(MODELS))
def test_padded_particles_change_nothing(model):
    x = _inputs(seed=1)
    pad = ~x.mask
    garbage = [t.clone() for t in x[:3]]
    for t in garbage:
        t[pad] = torch.randn(int(pad.sum()), t.shape[-1]) * 50
    model.train()  # batch statistics (pair features) included
    with torch.no_grad():
        a = model(*x)
        b = model(*garbage, x.mask)
        # fewer padded slots: the same jets cut to the longest one
        p = int(x.mask.sum(1).max())
        c = model(*(t[:, :p] for t in x))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-5)
    model.eval()


@pytest.mark.parametrize("model", MODELS, ids=_ids(MODELS))
def test_logits_are_permutation_invariant(model):
    x = _inputs(seed=2)
    perm = torch.randperm(P, generator=torch.Generator().manual_seed(3))  # mixes real and padded slots
    model.eval()
    with torch.no_grad():
        a = model(*x)
        b = model(*(t[:, perm] for t in x))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_particle_block_is_permutation_equivariant():
    torch.manual_seed(0)
    model = pt.ParticleTransformer(F, 3, dim=16, heads=2, blocks=1).eval()
    x = _inputs(seed=4, counts=[P] * 6)
    perm = torch.randperm(P, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        h = model.embed(x.features)
        bias = model.pair_embed(x.vectors, x.mask)  # (N, heads, P, P)
        out, _ = model.blocks[0](h, bias.reshape(-1, P, P))
        out_p, _ = model.blocks[0](h[:, perm], bias[:, :, perm][:, :, :, perm].reshape(-1, P, P))
    torch.testing.assert_close(out_p, out[:, perm], rtol=1e-4, atol=1e-5)


def test_edgeconv_is_the_mean_of_an_mlp_of_x_i_and_x_j_minus_x_i_over_the_nearest_neighbours():
    torch.manual_seed(0)
    model = pt.ParticleNetLite(F, 3, k=2, channels=((4, 3),), fc=4).eval()
    conv = model.edge_convs[0]
    x = _inputs(n=1, p=5, seed=9, counts=[4])
    with torch.no_grad():
        got = conv(x.points, x.features, x.mask)[0]
        pts, f = x.points[0].numpy(), x.features[0]
        for i in range(4):
            d = np.hypot(*(pts[:4] - pts[i]).T)
            d[i] = np.inf
            nb = np.argsort(d)[:2]
            edges = torch.stack([torch.cat([f[i], f[j] - f[i]]) for j in nb])
            h = conv.mlp(conv.first(edges)).mean(0)
            torch.testing.assert_close(got[i], torch.relu(h + conv.shortcut(f[i])), rtol=1e-5, atol=1e-6)
        assert torch.all(got[4] == 0)


def test_attention_maps_never_attend_padding():
    torch.manual_seed(0)
    model = pt.ParticleTransformer(F, 3, dim=16, heads=2, blocks=2).eval()
    x = _inputs(seed=6, counts=[4, 10, 1, 0, 7, 2])
    maps = model.attention_maps(*x)
    assert len(maps) == 2
    real = x.mask
    for w in maps:
        assert w.shape == (6, 2, P, P)
        assert torch.all(w[~real[:, None, None, :].expand_as(w) & real[:, None, :, None].expand_as(w)] == 0)
        rows = w.sum(-1)[real[:, None, :].expand(-1, 2, -1)]
        torch.testing.assert_close(rows, torch.ones_like(rows))
    as_numpy = model.attention_maps(*(t.numpy() for t in x))
    torch.testing.assert_close(as_numpy[1], maps[1])
    cls_maps = model.class_attention_maps(*x)
    assert len(cls_maps) == 1 and cls_maps[0].shape == (6, 2, P + 1)
    torch.testing.assert_close(cls_maps[0].sum(-1), torch.ones(6, 2))
    assert torch.all(cls_maps[0][:, :, 1:][~real[:, None, :].expand(-1, 2, -1)] == 0)
    # the maps are those of the forward pass: same logits with or without them
    torch.testing.assert_close(model(*x), model._run(*x, maps=[]))


def test_interaction_bias_changes_attention():
    torch.manual_seed(0)
    model = pt.ParticleTransformer(F, 3, dim=16, heads=2, blocks=1).eval()
    x = _inputs(seed=7, counts=[P] * 6)
    a = model.attention_maps(*x)[0]
    moved = x.vectors.clone()
    moved[:, 0, :3] *= -1  # the hardest particle to the opposite side: the pair features change
    b = model.attention_maps(x.features, moved, x.points, x.mask)[0]
    assert not torch.allclose(a, b)
    ablated = pt.ParticleTransformer(F, 3, dim=16, heads=2, blocks=1, pair_dim=0).eval()
    torch.testing.assert_close(ablated.attention_maps(*x)[0],
                               ablated.attention_maps(x.features, moved, x.points, x.mask)[0])


def test_torch_pair_features_match_numpy():
    x = _inputs(seed=8)
    got = pt.pair_features_torch(x.vectors.double(), x.mask).numpy()
    np.testing.assert_allclose(got, pair_features(x.vectors.numpy(), x.mask.numpy()), rtol=1e-5, atol=1e-5)


def test_pair_embedding_equals_the_dense_computation_with_its_gradient():
    """The model embeds only the pairs i >= j: the bias and the weights' gradients are those of all pairs."""
    torch.manual_seed(0)
    emb = pt.ParticleTransformer(F, 3, dim=16, heads=2, blocks=1).pair_embed.eval()
    x = _inputs(seed=12)
    both = (x.mask[:, :, None] & x.mask[:, None, :])[:, None]  # (N, 1, P, P)
    r = torch.randn(len(x.mask), 2, P, P)
    got = emb(x.vectors, x.mask)
    dense = emb.mlp(emb.norm(pt.pair_features_torch(x.vectors, x.mask))).permute(0, 3, 1, 2)
    torch.testing.assert_close(got * both, dense * both, rtol=1e-5, atol=1e-5)
    grads = []
    for out in (got, dense):
        emb.zero_grad()
        (out * both * r).sum().backward(retain_graph=True)
        grads.append([p.grad.clone() for p in emb.mlp.parameters()])
    for g1, g2 in zip(*grads):
        torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-5)


def test_default_size_is_of_order_1e5():
    n = pt.n_parameters(pt.ParticleTransformer())
    assert 5e4 < n < 3e5
    assert pt.n_parameters(pt.ParticleTransformer(pair_dim=0)) < n


def _toy(n, seed):
    """Two classes that differ in the mean of feature 0 of their particles."""
    x = _inputs(n=n, seed=seed)
    y = np.random.default_rng(seed).integers(0, 2, n)
    f = x.features.clone()
    f[..., 0] += torch.tensor(2.0 * (2 * y - 1), dtype=torch.float32)[:, None] * x.mask
    return ParticleInputs(f.numpy(), x.vectors.numpy(), x.points.numpy(), x.mask.numpy()), y


@pytest.mark.parametrize("kind", ["part", "pfn", "pnet"])
def test_fit_learns_a_separable_toy_and_keeps_the_best_epoch(kind):
    torch.manual_seed(0)
    model = {"part": lambda: pt.ParticleTransformer(F, 2, dim=16, heads=2, blocks=1),
             "pfn": lambda: pt.ParticleFlowNetwork(F, 2, phi=(16,), f=(16,)),
             "pnet": lambda: pt.ParticleNetLite(F, 2, k=3, channels=((16,),), fc=16)}[kind]()
    train, ytr = _toy(300, 10)
    val, yva = _toy(200, 11)
    h = pt.fit(model, train, ytr, val, yva, epochs=6, lr=1e-2, batch_size=64, device="cpu", progress=False)
    assert len(h.train_loss) == len(h.val_loss) == len(h.val_acc) == len(h.epoch_seconds) == 6
    assert h.val_acc[h.best_epoch] > 0.9
    assert h.val_loss[h.best_epoch] == min(h.val_loss) and h.seconds > 0
    proba = pt.predict_proba(model, val)
    assert proba.shape == (200, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0)
    # the model holds the best epoch's weights
    loss = -np.mean(np.log(proba[np.arange(200), yva]))
    assert loss == pytest.approx(h.val_loss[h.best_epoch], rel=1e-4)


def test_fit_and_predict_refuse_bad_inputs():
    model = pt.ParticleFlowNetwork(F, 2, phi=(8,), f=())
    train, y = _toy(20, 0)
    with pytest.raises(ValueError, match="ParticleInputs"):
        pt.fit(model, train.features, y, train, y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="y_train must have shape"):
        pt.fit(model, train, y[:5], train, y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="class indices"):
        pt.fit(model, train, y + 2, train, y, epochs=1, progress=False)
    bad = train._replace(features=np.where(train.mask[..., None], np.nan, train.features))
    with pytest.raises(ValueError, match="NaN"):
        pt.predict_proba(model, bad)
    with pytest.raises(ValueError, match="vectors must have shape"):
        pt.predict_proba(model, train._replace(vectors=train.vectors[:, :3]))
    with pytest.raises(ValueError, match="features must have shape"):
        model(torch.zeros(2, 3, 5), None, None, torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="divisible"):
        pt.ParticleTransformer(dim=10, heads=4)
    with pytest.raises(ValueError, match="pair_dim"):
        pt.ParticleTransformer(pair_dim=3)


def test_quark_gluon_inputs_by_hand():
    # one jet, three particles, given softest first: a photon, a pi-, an anti-proton; then padding
    X = np.zeros((1, 5, 4))
    X[0, :3] = [[10.0, 0.1, 0.2, 22], [50.0, -0.2, 0.0, -211], [20.0, 0.3, -0.1, -2212]]
    out = pt.quark_gluon_inputs(X, max_particles=4)
    assert [a.shape for a in out] == [(1, 4, 17), (1, 4, 4), (1, 4, 2), (1, 4)]
    np.testing.assert_array_equal(out.mask, [[True, True, True, False]])
    f = dict(zip(FEATURES, np.moveaxis(out.features[0], -1, 0)))
    # sorted by pT: pi- (50), anti-proton (20), photon (10)
    np.testing.assert_array_equal(f["part_charge"], [-1, -1, 0, 0])
    np.testing.assert_array_equal(f["part_isChargedHadron"], [1, 1, 0, 0])
    np.testing.assert_array_equal(f["part_isPhoton"], [0, 0, 1, 0])
    for k in ("part_isNeutralHadron", "part_isElectron", "part_isMuon", "part_d0", "part_d0err", "part_dz",
              "part_dzerr"):
        np.testing.assert_array_equal(f[k], 0)
    pts, ys, phis = np.array([50.0, 20, 10]), np.array([-0.2, 0.3, 0.1]), np.array([0.0, -0.1, 0.2])
    e = pts * np.cosh(ys)
    jet = np.array([(pts * np.cos(phis)).sum(), (pts * np.sin(phis)).sum(), (pts * np.sinh(ys)).sum(), e.sum()])
    jpt = math.hypot(jet[0], jet[1])
    jeta = math.asinh(jet[2] / jpt)
    jphi = math.atan2(jet[1], jet[0])

    def std(name, x):
        sub, mul, lo, hi = STANDARDISATION[name]
        return np.clip((x - sub) * mul, lo, hi)

    np.testing.assert_allclose(f["part_pt_log"][:3], std("part_pt_log", np.log(pts)), rtol=1e-5)
    np.testing.assert_allclose(f["part_e_log"][:3], std("part_e_log", np.log(e)), rtol=1e-5)
    np.testing.assert_allclose(f["part_logptrel"][:3], std("part_logptrel", np.log(pts / jpt)), rtol=1e-5)
    np.testing.assert_allclose(f["part_logerel"][:3], std("part_logerel", np.log(e / jet[3])), rtol=1e-5)
    np.testing.assert_allclose(f["part_deta"][:3], ys - jeta, atol=1e-6)
    np.testing.assert_allclose(f["part_dphi"][:3], phis - jphi, atol=1e-6)
    np.testing.assert_allclose(f["part_deltaR"][:3], std("part_deltaR", np.hypot(ys - jeta, phis - jphi)), atol=1e-5)
    np.testing.assert_allclose(out.points[0, :3], np.stack([ys - jeta, phis - jphi], -1), atol=1e-6)
    np.testing.assert_allclose(out.vectors[0, 0], [50.0, 0.0, 50 * math.sinh(-0.2), 50 * math.cosh(-0.2)], rtol=1e-6)
    assert np.all(out.features[0, 3] == 0) and np.all(out.vectors[0, 3] == 0)


def test_quark_gluon_inputs_match_jetclass_particle_inputs():
    """The same particles through the JetClass reader's particle_inputs give the same 17 features."""
    ak = pytest.importorskip("awkward")
    import pandas as pd

    from course_utils.datasets.jetclass.formats import (
        AUX_BRANCHES,
        JET_BRANCHES,
        PARTICLE_BRANCHES,
        JetClassData,
        particle_inputs,
    )

    rng = np.random.default_rng(0)
    X = np.zeros((3, 6, 4))
    for k, n in enumerate((6, 3, 4)):
        X[k, :n] = np.stack([rng.uniform(1, 80, n), rng.normal(0.5, 0.3, n), rng.normal(1.0, 0.3, n),
                             rng.choice([22, 211, -321, 130, 2112, 11, -13], n)], -1)
    qg = pt.quark_gluon_inputs(X, max_particles=8)
    parts, jets = {b: [] for b in PARTICLE_BRANCHES}, {b: [] for b in JET_BRANCHES}
    for k in range(3):
        m = qg.mask[k]
        px, py, pz, e = (qg.vectors[k, m, i].astype(float) for i in range(4))
        f = dict(zip(FEATURES, np.moveaxis(qg.features[k, m], -1, 0)))
        for b, v in (("part_px", px), ("part_py", py), ("part_pz", pz), ("part_energy", e),
                     ("part_deta", qg.points[k, m, 0]), ("part_dphi", qg.points[k, m, 1]),
                     ("part_charge", f["part_charge"])):
            parts[b].append(v.tolist())
        for b in ("part_d0val", "part_d0err", "part_dzval", "part_dzerr"):
            parts[b].append([0.0] * int(m.sum()))
        for b in ("ChargedHadron", "NeutralHadron", "Photon", "Electron", "Muon"):
            parts[f"part_is{b}"].append(f[f"part_is{b}"].astype(int).tolist())
        j = X[k, X[k, :, 0] > 0]
        jets["jet_pt"].append(math.hypot((j[:, 0] * np.cos(j[:, 2])).sum(), (j[:, 0] * np.sin(j[:, 2])).sum()))
        jets["jet_energy"].append((j[:, 0] * np.cosh(j[:, 1])).sum())
    for b in JET_BRANCHES:
        if not jets[b]:
            jets[b] = [1.0] * 3
    data = JetClassData(ak.zip({b: ak.Array(v) for b, v in parts.items()}), pd.DataFrame(jets).astype(np.float32),
                        np.zeros(3, np.int64), pd.DataFrame({b: np.zeros(3, np.float32) for b in AUX_BRANCHES}))
    jc = particle_inputs(data, max_particles=8)
    np.testing.assert_array_equal(jc.mask, qg.mask)
    np.testing.assert_allclose(jc.features, qg.features, rtol=1e-4, atol=1e-4)


def test_quark_gluon_inputs_refuse_bad_input():
    with pytest.raises(ValueError, match="shape"):
        pt.quark_gluon_inputs(np.zeros((2, 3, 3)))
    X = np.zeros((2, 3, 4))
    X[0, 0] = [10.0, 0.0, 0.0, 22]
    with pytest.raises(ValueError, match="without any particle"):
        pt.quark_gluon_inputs(X)
    X[1, 0] = [10.0, 0.0, 0.0, 999]
    with pytest.raises(ValueError, match="PDG"):
        pt.quark_gluon_inputs(X)
