"""Notebook 07's pipeline functions on events written in the published TrackML layout.

The notebook must run unchanged on a folder of published events (``event*-hits/cells/particles/truth.csv.gz``,
particles with ``particle_type``, noise hits with ``particle_id = 0``, and particles that leave two hits on one
layer where modules overlap). This test writes such a folder by hand (not with the course's simulation), loads
it through ``trackml.load``, and runs the notebook's own functions on it: they are taken from the notebook's
code cells (every top-level ``def`` and ``class``, and the constants they use), not copied here.
"""

from __future__ import annotations

import ast
import gzip
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from course_utils.datasets import trackml
from course_utils.datasets.trackml import simulation

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_tracking_gnn.ipynb"
CONSTANTS = ("BARREL", "LAYER_INDEX", "PT_MIN", "BUILDERS", "SECTORS_MAX")


def _notebook_functions() -> dict:
    """The notebook's functions, classes and constants, defined in a fresh namespace."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_geometric")
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree
    from sklearn.cluster import DBSCAN
    from sklearn.preprocessing import StandardScaler
    from torch import nn
    from torch_geometric.nn import MessagePassing

    from course_utils.metrics import tracking

    ns = {"np": np, "pd": pd, "torch": torch, "nn": nn, "sp": sp, "MessagePassing": MessagePassing,
          "connected_components": connected_components, "cKDTree": cKDTree, "DBSCAN": DBSCAN, "StandardScaler": StandardScaler,
          "tracking": tracking, "THRESHOLD": 0.5, "DOUBLET_MM": 6.0,
          "BUILDER": "chaînes + fusion"}  # the notebook chooses these three on its validation events
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "hide-cell" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        keep = [node for node in tree.body
                if isinstance(node, ast.FunctionDef | ast.ClassDef)
                or (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id in CONSTANTS)]
        exec(compile(ast.Module(body=keep, type_ignores=[]), str(NOTEBOOK), "exec"), ns)  # noqa: S102
    return ns


def _published_event(rng: np.random.Generator, n_particles: int = 25, n_noise: int = 40,
                     overlap: float = 0.3) -> dict[str, pd.DataFrame]:
    """One event in the published layout: helices through the barrel, double hits, noise."""
    pt = rng.uniform(1.5, 10.0, n_particles)
    phi = rng.uniform(-np.pi, np.pi, n_particles)
    eta = rng.uniform(-0.5, 0.5, n_particles)
    mom = np.column_stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])
    vtx = np.column_stack([np.zeros(n_particles), np.zeros(n_particles), rng.normal(0, 20, n_particles)])
    q = rng.choice([-1.0, 1.0], n_particles)
    cross = simulation.propagate(vtx, mom, q, np.full(n_particles, 0.14), scattering=False)
    barrel = np.array([simulation.SURFACES[s].kind == "barrel" for s in cross["surface"]])
    cross = {k: v[barrel] for k, v in cross.items()}
    # modules overlap: some crossings leave a second hit 2 mm further out, on the next module
    double = rng.random(cross["x"].size) < overlap
    r = np.hypot(cross["x"], cross["y"])
    scale = (r[double] + 2.0) / r[double]
    x = np.concatenate([cross["x"], cross["x"][double] * scale])
    y = np.concatenate([cross["y"], cross["y"][double] * scale])
    z = np.concatenate([cross["z"], cross["z"][double] + 2.0 * mom[cross["particle"][double], 2]
                        / pt[cross["particle"][double]]])
    surface = np.concatenate([cross["surface"], cross["surface"][double]])
    part = np.concatenate([cross["particle"], cross["particle"][double]])
    module = np.concatenate([np.ones(cross["x"].size, int), np.full(int(double.sum()), 2)])
    # noise: uniform on the barrel layers
    layers = [k for k, s in enumerate(simulation.SURFACES) if s.kind == "barrel"]
    ns = rng.choice(layers, n_noise)
    nr = np.array([simulation.SURFACES[s].pos for s in ns])
    nphi = rng.uniform(-np.pi, np.pi, n_noise)
    x = np.concatenate([x, nr * np.cos(nphi)])
    y = np.concatenate([y, nr * np.sin(nphi)])
    z = np.concatenate([z, rng.uniform(-400, 400, n_noise)])
    surface = np.concatenate([surface, ns])
    module = np.concatenate([module, np.full(n_noise, 3)])
    pids = (np.arange(n_particles) + 1).astype(np.int64) << 40  # large 64-bit ids, as published
    particle_id = np.concatenate([pids[part], np.zeros(n_noise, np.int64)])
    order = rng.permutation(x.size)
    hit_id = np.arange(1, x.size + 1)
    hits = pd.DataFrame({"hit_id": hit_id, "x": x[order], "y": y[order], "z": z[order],
                         "volume_id": [simulation.SURFACES[s].volume_id for s in surface[order]],
                         "layer_id": [simulation.SURFACES[s].layer_id for s in surface[order]],
                         "module_id": module[order]})
    truth = pd.DataFrame({"hit_id": hit_id, "particle_id": particle_id[order], "tx": x[order],
                          "ty": y[order], "tz": z[order], "tpx": 0.0, "tpy": 0.0, "tpz": 0.0})
    nhits = np.bincount(part, minlength=n_particles)
    particles = pd.DataFrame({"particle_id": pids, "vx": vtx[:, 0], "vy": vtx[:, 1], "vz": vtx[:, 2],
                              "px": mom[:, 0], "py": mom[:, 1], "pz": mom[:, 2], "q": q.astype(int),
                              "nhits": nhits, "particle_type": rng.choice([211, -211, 11, 13], n_particles)})
    truth["weight"] = simulation.hit_weights(truth, particles)
    cells = pd.DataFrame({"hit_id": hit_id, "ch0": rng.integers(0, 1000, x.size),
                          "ch1": rng.integers(0, 1000, x.size), "value": rng.uniform(0, 1, x.size)})
    # the published column order: particle_type second
    particles = particles[["particle_id", "particle_type", "vx", "vy", "vz", "px", "py", "pz", "q", "nhits"]]
    return {"hits": hits, "cells": cells, "particles": particles, "truth": truth}


def _write_published(folder: Path, event_id: int, tables: dict[str, pd.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        with gzip.open(folder / f"event{event_id:09d}-{name}.csv.gz", "wt") as f:
            df.to_csv(f, index=False)


@pytest.fixture(scope="module")
def nb07() -> dict:
    return _notebook_functions()


def test_true_segments_count_every_pair_on_adjacent_layers(nb07):
    # particle 1: one hit on layer 0, two on layer 1 (overlapping modules), one on layer 2 -> 2 + 2 pairs
    h = pd.DataFrame({"particle_id": [1, 1, 1, 1, 2, 2, 0], "layer": [0, 1, 1, 2, 0, 2, 1],
                      "pt": [2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 0.0]})
    assert nb07["true_segments"](h) == 4  # particle 2 skips a layer: no segment
    h.loc[:3, "pt"] = 0.5
    assert nb07["true_segments"](h) == 0


def test_notebook_pipeline_runs_on_published_layout(data_dir, nb07):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    folder = data_dir / "real" / "trackml" / "train_sample"
    for k in range(3):
        _write_published(folder, 1000 + k, _published_event(rng))
    ds = trackml.load(n=3, verbose=False)  # source "auto": the published events in the data folder
    assert ds.source == "real" and len(ds.data) == 3
    ev = ds.data[0]
    assert "particle_type" in ev.particles.columns and (ev.truth["particle_id"] == 0).any()

    h = nb07["barrel_hits"](ev)
    per_layer = h[h["particle_id"] != 0].groupby(["particle_id", "layer"]).size()
    assert (per_layer == 2).any()  # the event does hold double hits
    i, j = nb07["build_edges"](h)
    y = nb07["edge_truth"](h, i, j)
    assert y.sum() <= nb07["true_segments"](h, pt_min=0.0)
    # the graph keeps almost every true segment of these stiff, central tracks (double hits included)
    assert y.sum() >= 0.9 * nb07["true_segments"](h, pt_min=0.0)
    g = nb07["graph"](h)
    torch.manual_seed(0)
    nb07["model"] = model = nb07["EdgeClassifier"](dim=8, n_iter=2)
    with torch.no_grad():
        s = torch.sigmoid(model(g["x"], g["edge_index"], g["edge_attr"]))
    assert s.shape == (len(i),) and torch.isfinite(s).all()
    gnn = nb07["evaluate"](h, nb07["gnn_tracks"](h, thr=0.5))
    assert 0.0 <= gnn["score"] <= 1.0
    # a perfect edge classifier: the chains alone cut the particles at their double hits; the merge
    # step joins them again
    chains = nb07["evaluate"](h, nb07["oracle_tracks"](h, builder="chaînes"))
    oracle = nb07["evaluate"](h, nb07["oracle_tracks"](h))
    assert oracle["found"] >= 0.95 * oracle["particles"] and oracle["fakes"] == 0 and oracle["score"] > 0.9
    assert chains["score"] < oracle["score"] - 0.05
    # the graph ceiling: the connected components of the true edges join the double hits too
    ceiling = nb07["evaluate"](h, nb07["ceiling_tracks"](h))
    assert ceiling["score"] > 0.9 and ceiling["fakes"] == 0
    pairs = nb07["doublets"](h, 6.0)
    same = h["particle_id"].to_numpy()[pairs[:, 0]] == h["particle_id"].to_numpy()[pairs[:, 1]]
    assert same.mean() > 0.8 and (h["module_id"].to_numpy()[pairs[:, 0]] != h["module_id"].to_numpy()[pairs[:, 1]]).all()


def test_consecutive_segments_follow_each_particle_by_radius(nb07):
    # particle 1: layers 0, 1, 1 (a double hit), 3 (layer 2 missed): by radius, 0-1a, 1a-1b, 1b-3
    h = pd.DataFrame({"particle_id": [1, 1, 1, 1, 2, 2, 0], "layer": [0, 1, 1, 3, 0, 1, 1],
                      "r": [30.0, 72.0, 74.0, 170.0, 31.0, 71.0, 73.0],
                      "pt": [2.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.0]})
    pairs = nb07["consecutive_segments"](h)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (1, 2), (2, 3)]  # particle 2 is below 1 GeV
    assert len(nb07["consecutive_segments"](h, pt_min=0.0)) == 4
    # adjacent-layer pairs are another count: 0-1a, 0-1b (layer 1 to 3 is not adjacent)
    assert nb07["true_segments"](h) == 2
    i, j = np.array([0, 0, 2, 4]), np.array([1, 2, 3, 5])
    assert nb07["is_consecutive"](h, i, j).tolist() == [True, False, True, False]
    assert nb07["is_consecutive"](h, j, i).tolist() == [True, False, True, False]  # either order


def test_phi_sectors_partition_the_hits(nb07):
    rng = np.random.default_rng(3)
    n = 500
    phi = rng.uniform(-np.pi, np.pi, n)
    h = pd.DataFrame({"hit_id": np.arange(n), "phi": phi, "weight": rng.uniform(0, 1, n),
                      "particle_id": rng.integers(0, 50, n)})
    parts = nb07["phi_sectors"](h, 8)
    assert len(parts) == 8 and sum(len(p) for p in parts) == n
    assert sorted(np.concatenate([p["hit_id"] for p in parts]).tolist()) == list(range(n))
    for k, p in enumerate(parts):
        assert np.isclose(p["weight"].sum(), 1.0)
        lo, hi = -np.pi + k * np.pi / 4, -np.pi + (k + 1) * np.pi / 4
        assert ((p["phi"] >= lo - 1e-12) & (p["phi"] <= hi + 1e-12)).all()
    assert (nb07["sector_of"](h, 1) == 0).all()
