"""A TrackML-like event simulation: Pythia 8 particles, helices in a 2 T solenoid, a silicon tracker.

What is simulated
-----------------
* **Particles**: one hard t t̄ interaction (``Top:gg2ttbar``, ``Top:qqbar2ttbar``,
  14 TeV) plus ``Poisson(pileup)`` minimum-bias interactions
  (``SoftQCD:nonDiffractive``), each at its own primary vertex drawn from the
  LHC luminous region (σz = 55 mm, σxy = 15 µm). Pythia's production
  vertices (``vProd``) add displaced decays (b and c hadrons; particles with
  cτ > 10 mm are not decayed, as in a detector simulation). The challenge used
  t t̄ + ⟨μ⟩ = 200; a laptop affords ⟨μ⟩ of 10 to 40 (Pythia takes about 60 ms
  per minimum-bias interaction), which is why the default is 20.
* **Detector**: the TrackML generic detector's layout and numbering
  (:data:`SURFACES`): pixel barrel volume 8 (layers 2, 4, 6, 8 at r = 32, 72,
  116, 172 mm), pixel endcaps volumes 7 (z < 0) and 9 (z > 0), short-strip
  barrel 13 and endcaps 12/14, long-strip barrel 17 and endcaps 16/18; each
  layer is cut into modules numbered from 1 (``module_id``), described in
  ``detectors.csv``.
* **Propagation**: helices in a uniform 2 T field along z (radius
  R = pT / (0.3 B), R in m, pT in GeV, B in T), surface after surface, vectorised
  over all particles of the event; only the outgoing half-turn is followed
  (loopers leave no hits on their way back in). At each crossed layer the
  direction is kicked by multiple scattering (Highland formula, a fraction of a
  radiation length per layer, divided by the sine of the incidence angle).
* **Hits**: efficiency 98 % per crossed layer, Gaussian position resolution
  (pixels 15 µm × 50 µm, strips larger), and uniform noise hits (15 % of the
  hits by default).
* **Overlapping modules** (barrel): neighbouring modules of a layer share a band
  along φ (``overlap_fraction`` of a module's width, default 20 %), the second
  one mounted ``overlap_stagger`` (2 mm) further out; a particle crossing the band
  leaves a second hit, on the neighbouring module, a little further along its
  path. Both defaults are set so that about a fifth of the barrel
  (particle, layer) pairs carry two hits and about 15 % of the hits are noise,
  the fractions the course's issue 24 reports from one published TrackML event
  (not figures from a publication; :func:`overlap_crossings`). The ``cells`` table holds one cell per hit (the channel
  under the measured position and a deposited charge).
* **Truth weights**: the challenge's rules (``trackml/weights.py``):
  pT weight 0.2 below 0.5 GeV rising linearly to 1 at 3 GeV; order weight from
  the proposal ``[10, 8, 6, 5, 3, 3, 3, 5, 6]`` stretched to the particle's number
  of hits (hits ordered by |z - vz|); zero for noise and for particles with
  fewer than 4 hits; normalised to 1 per event. See :func:`hit_weights`.

Events are generated in parallel (one worker per core), with deterministic
seeds (the same ``seed`` gives the same events whichever worker runs them), and
cached; the CPU time per event is printed and stored in ``manifest.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from course_utils.datasets import _pythia
from course_utils.datasets._cache import cached_simulation, parallel_map
from course_utils.datasets._registry import SIMULATION_LICENCE, Dataset
from course_utils.datasets.trackml import formats
from course_utils.validation import check_count, check_number

__all__ = ["VERSION", "B_FIELD", "SURFACES", "Surface", "SimulationConfig", "pythia_settings",
           "detectors_table", "propagate", "hit_weights", "order_weight_matrix", "weight_pt",
           "simulate_event", "simulate"]

VERSION = "2"  # 2: overlapping barrel modules (double hits), 15 % noise
#: Solenoid field [T].
B_FIELD = 2.0


@dataclass(frozen=True)
class Surface:
    """One detector layer: a cylinder (``kind="barrel"``, radius ``pos``, |z| < ``half``) or a disk
    (``kind="disk"``, at z = ``pos``, ``rmin`` < r < ``rmax``); lengths in mm."""

    volume_id: int
    layer_id: int
    kind: str
    pos: float
    rmin: float
    rmax: float
    half: float
    x0: float  # thickness in radiation lengths at normal incidence
    sigma_u: float  # resolution along r*phi [mm]
    sigma_v: float  # resolution along z (barrel) or r (disk) [mm]
    pitch_u: float
    pitch_v: float
    module_u: float  # module size along phi [mm]
    module_v: float  # module size along z (barrel) or r (disk) [mm]


def _layout() -> tuple[Surface, ...]:
    out = []
    pix = dict(x0=0.02, sigma_u=0.015, sigma_v=0.05, pitch_u=0.05, pitch_v=0.056, module_u=16.8, module_v=72.0)
    sst = dict(x0=0.025, sigma_u=0.04, sigma_v=0.35, pitch_u=0.08, pitch_v=1.2, module_u=48.0, module_v=108.0)
    lst = dict(x0=0.03, sigma_u=0.07, sigma_v=1.0, pitch_u=0.12, pitch_v=10.8, module_u=48.0, module_v=108.0)
    for layer, r in zip((2, 4, 6, 8), (32.0, 72.0, 116.0, 172.0)):
        out.append(Surface(8, layer, "barrel", r, r, r, 455.0, **pix))
    for layer, r in zip((2, 4, 6, 8), (260.0, 360.0, 500.0, 660.0)):
        out.append(Surface(13, layer, "barrel", r, r, r, 1030.0, **sst))
    for layer, r in zip((2, 4), (820.0, 1020.0)):
        out.append(Surface(17, layer, "barrel", r, r, r, 1030.0, **lst))
    pix_z = (600.0, 700.0, 820.0, 960.0, 1100.0, 1300.0, 1500.0)
    strip_z = (1300.0, 1550.0, 1850.0, 2150.0, 2450.0, 2950.0)
    for vol_neg, vol_pos, zs, rmin, rmax, kw in ((7, 9, pix_z, 30.0, 175.0, pix),
                                                 (12, 14, strip_z, 230.0, 700.0, sst),
                                                 (16, 18, strip_z, 720.0, 1020.0, lst)):
        n = len(zs)
        for i, z in enumerate(zs):
            # layer ids grow away from the barrel on each side, as in TrackML (2, 4, ...)
            out.append(Surface(vol_neg, 2 * (n - i), "disk", -z, rmin, rmax, 0.0, **kw))
            out.append(Surface(vol_pos, 2 * (i + 1), "disk", z, rmin, rmax, 0.0, **kw))
    return tuple(out)


#: Every layer of the simulated detector.
SURFACES = _layout()


@dataclass(frozen=True)
class SimulationConfig:
    """Detector response settings (the geometry is :data:`SURFACES`)."""

    pt_min: float = 0.15  # GeV: lighter particles are not propagated (they curl below the first layers)
    eta_max: float = 4.0
    efficiency: float = 0.98
    noise_fraction: float = 0.15
    overlap_fraction: float = 0.2  # barrel: fraction of a module's width shared with a neighbour
    overlap_stagger: float = 2.0  # mm: radial distance between two overlapping barrel modules
    beam_sigma_z: float = 55.0  # mm
    beam_sigma_xy: float = 0.015  # mm


# ----------------------------------------------------------------------------- detector description


def _module_grid(s: Surface) -> tuple[int, int]:
    """Number of modules along phi and along z (barrel) or r (disk)."""
    if s.kind == "barrel":
        n_phi = max(4, int(np.ceil(2 * np.pi * s.pos / s.module_u)))
        n_v = max(1, int(np.ceil(2 * s.half / s.module_v)))
    else:
        n_phi = max(4, int(np.ceil(2 * np.pi * s.rmax / (2 * s.module_u))))
        n_v = max(1, int(np.ceil((s.rmax - s.rmin) / s.module_v)))
    return n_phi, n_v


def _module_index(s: Surface, phi: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_phi, n_v = _module_grid(s)
    iphi = np.clip(((phi + np.pi) / (2 * np.pi) * n_phi).astype(int), 0, n_phi - 1)
    lo, hi = (-s.half, s.half) if s.kind == "barrel" else (s.rmin, s.rmax)
    iv = np.clip(((v - lo) / (hi - lo) * n_v).astype(int), 0, n_v - 1)
    return iphi, iv


def detectors_table() -> pd.DataFrame:
    """``detectors.csv`` of the simulated detector: one row per module (centre, rotation, size, pitch)."""
    rows = []
    for s in SURFACES:
        n_phi, n_v = _module_grid(s)
        lo, hi = (-s.half, s.half) if s.kind == "barrel" else (s.rmin, s.rmax)
        dv = (hi - lo) / n_v
        for iv in range(n_v):
            vc = lo + (iv + 0.5) * dv
            for ip in range(n_phi):
                phi = -np.pi + (ip + 0.5) * 2 * np.pi / n_phi
                c, sn = np.cos(phi), np.sin(phi)
                if s.kind == "barrel":
                    cx, cy, cz = s.pos * c, s.pos * sn, vc
                    u, v, w = (-sn, c, 0.0), (0.0, 0.0, 1.0), (c, sn, 0.0)
                    half_u = np.pi * s.pos / n_phi
                    min_hu = max_hu = half_u
                else:
                    cx, cy, cz = vc * c, vc * sn, s.pos
                    u, v, w = (-sn, c, 0.0), (c, sn, 0.0), (0.0, 0.0, 1.0)
                    min_hu = np.pi * (vc - dv / 2) / n_phi
                    max_hu = np.pi * (vc + dv / 2) / n_phi
                rot = np.column_stack([u, v, w])  # local (u, v, w) -> global: columns
                rows.append([s.volume_id, s.layer_id, iv * n_phi + ip + 1, cx, cy, cz, *rot.ravel(),
                             0.15 if s.volume_id in (7, 8, 9) else 0.32, min_hu, max_hu, dv / 2,
                             s.pitch_u, s.pitch_v])
    return pd.DataFrame(rows, columns=formats.DETECTOR_COLUMNS)


# ----------------------------------------------------------------------------- propagation


def _highland(p: np.ndarray, beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Multiple-scattering angle θ0 [rad] for momentum p [GeV], velocity β, thickness x [X0], charge 1 (PDG)."""
    x = np.maximum(x, 1e-9)
    return 0.0136 / (beta * p) * np.sqrt(x) * (1 + 0.038 * np.log(x / beta**2))


def propagate(vertex: np.ndarray, momentum: np.ndarray, charge: np.ndarray, mass: np.ndarray,
              rng: np.random.Generator | None = None, *, b_field: float = B_FIELD,
              scattering: bool = True) -> dict[str, np.ndarray]:
    """Follow helices through :data:`SURFACES` and return every layer crossing.

    Parameters
    ----------
    vertex : (n, 3) array
        Production points [mm].
    momentum : (n, 3) array
        Momenta [GeV].
    charge : (n,) array
        Charges (±1; zero-charge particles are skipped).
    mass : (n,) array
        Masses [GeV] (for β in the Highland formula).
    rng
        Random generator for multiple scattering (``None`` with ``scattering=False``).

    Returns
    -------
    dict of arrays
        One entry per crossing: ``particle`` (row of the input), ``surface``
        (index in :data:`SURFACES`), ``x, y, z`` [mm] and ``px, py, pz`` [GeV].
    """
    vertex = np.asarray(vertex, float).reshape(-1, 3)
    momentum = np.asarray(momentum, float).reshape(-1, 3)
    charge = np.asarray(charge, float).ravel()
    mass = np.asarray(mass, float).ravel()
    if not (len(vertex) == len(momentum) == len(charge) == len(mass)):
        raise ValueError(f"vertex, momentum, charge and mass must have the same length, got "
                         f"{len(vertex)}, {len(momentum)}, {len(charge)}, {len(mass)}")
    if scattering and rng is None:
        raise ValueError("multiple scattering needs a random generator rng")
    idx = np.flatnonzero(charge != 0)
    pos = vertex[idx].copy()
    q = np.sign(charge[idx])
    px, py, pz = momentum[idx].T
    pt = np.hypot(px, py)
    phi = np.arctan2(py, px)
    lam = pz / np.maximum(pt, 1e-12)  # cot(theta) = dz/ds_T
    p_tot = np.sqrt(pt**2 + pz**2)
    beta = p_tot / np.sqrt(p_tot**2 + mass[idx] ** 2)
    turned = np.zeros(len(idx))  # total turning angle: stop after half a turn
    alive = pt > 0
    kinds = np.array([s.kind == "barrel" for s in SURFACES])
    spos = np.array([s.pos for s in SURFACES])
    rmin = np.array([s.rmin for s in SURFACES])
    rmax = np.array([s.rmax for s in SURFACES])
    half = np.array([s.half for s in SURFACES])
    x0 = np.array([s.x0 for s in SURFACES])
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("particle", "surface", "x", "y", "z", "px", "py", "pz")}
    eps = 1e-6
    last = np.full(len(idx), -1)
    for _step in range(60):
        a = np.flatnonzero(alive)
        if a.size == 0:
            break
        R = pt[a] * 1000.0 / (0.3 * b_field)  # mm
        cx = pos[a, 0] + q[a] * R * np.sin(phi[a])
        cy = pos[a, 1] - q[a] * R * np.cos(phi[a])
        alpha0 = np.arctan2(pos[a, 1] - cy, pos[a, 0] - cx)
        dc = np.hypot(cx, cy)
        # barrel: |c + R u(alpha)| = r  ->  cos(alpha - beta_c) = (r^2 - dc^2 - R^2) / (2 R dc)
        beta_c = np.arctan2(cy, cx)
        k = (spos[None, kinds] ** 2 - dc[:, None] ** 2 - R[:, None] ** 2) / (2 * R[:, None] * np.maximum(dc, 1e-9)[:, None])
        ok = np.abs(k) <= 1
        acos = np.arccos(np.clip(k, -1, 1))
        tb = []
        for sign in (1.0, -1.0):
            alpha = beta_c[:, None] + sign * acos
            t = np.mod(q[a, None] * (alpha0[:, None] - alpha), 2 * np.pi)
            tb.append(np.where(ok & (t > eps / R[:, None]), t, np.inf))
        t_barrel = np.minimum(tb[0], tb[1])
        z_at = pos[a, 2:3] + lam[a, None] * R[:, None] * t_barrel
        t_barrel = np.where(np.abs(z_at) < half[None, kinds], t_barrel, np.inf)
        # disks: z(t) = z + lam R t
        with np.errstate(divide="ignore", invalid="ignore"):
            t_disk = (spos[None, ~kinds] - pos[a, 2:3]) / (lam[a, None] * R[:, None])
        t_disk = np.where(np.isfinite(t_disk) & (t_disk > eps / R[:, None]), t_disk, np.inf)
        ang = alpha0[:, None] - q[a, None] * np.where(np.isfinite(t_disk), t_disk, 0.0)
        r_at = np.hypot(cx[:, None] + R[:, None] * np.cos(ang), cy[:, None] + R[:, None] * np.sin(ang))
        t_disk = np.where((r_at > rmin[None, ~kinds]) & (r_at < rmax[None, ~kinds]), t_disk, np.inf)
        t_all = np.empty((a.size, len(SURFACES)))
        t_all[:, kinds] = t_barrel
        t_all[:, ~kinds] = t_disk
        t_all[np.arange(a.size), np.maximum(last[a], 0)] = np.where(
            last[a] >= 0, np.inf, t_all[np.arange(a.size), np.maximum(last[a], 0)])
        j = np.argmin(t_all, axis=1)
        t = t_all[np.arange(a.size), j]
        stop = ~np.isfinite(t) | (turned[a] + t > np.pi)
        alive[a[stop]] = False
        go = ~stop
        a, j, t, R, cx, cy, alpha0 = a[go], j[go], t[go], R[go], cx[go], cy[go], alpha0[go]
        if a.size == 0:
            continue
        ang = alpha0 - q[a] * t
        pos[a, 0] = cx + R * np.cos(ang)
        pos[a, 1] = cy + R * np.sin(ang)
        pos[a, 2] = pos[a, 2] + lam[a] * R * t
        phi[a] = phi[a] - q[a] * t
        turned[a] += t
        last[a] = j
        out["particle"].append(idx[a])
        out["surface"].append(j)
        for c, v in (("x", pos[a, 0]), ("y", pos[a, 1]), ("z", pos[a, 2]),
                     ("px", pt[a] * np.cos(phi[a])), ("py", pt[a] * np.sin(phi[a])), ("pz", pt[a] * lam[a])):
            out[c].append(v.copy())
        if scattering:
            # path length through the layer: 1/|cos| of the angle to the surface normal
            sin_t = 1 / np.sqrt(1 + lam[a] ** 2)
            cos_t = lam[a] * sin_t
            barrel = kinds[j]
            radial = np.abs(np.cos(phi[a] - np.arctan2(pos[a, 1], pos[a, 0]))) * sin_t
            cos_inc = np.where(barrel, radial, np.abs(cos_t))
            theta0 = _highland(p_tot[a], beta[a], x0[j] / np.maximum(cos_inc, 0.05))
            g1, g2 = rng.standard_normal((2, a.size))
            theta = np.arctan2(1.0, lam[a]) + theta0 * g2
            phi[a] = phi[a] + theta0 * g1 / np.maximum(np.sin(theta), 1e-3)
            pt[a] = p_tot[a] * np.abs(np.sin(theta))
            lam[a] = np.cos(theta) / np.maximum(np.abs(np.sin(theta)), 1e-9)
    return {k: (np.concatenate(v) if v else np.empty(0, int if k in ("particle", "surface") else float))
            for k, v in out.items()}


# ----------------------------------------------------------------------------- truth weights

#: The challenge's order-weight proposal (``trackml/weights.py``) and its hit-count range.
ORDER_PROPOSAL = (10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0)
ORDER_MIN_HITS, ORDER_MAX_HITS = 4, 20


def order_weight_matrix() -> np.ndarray:
    """(21, 20) array: weight of hit ``i`` on a particle with ``n`` hits (rows sum to 1 for n >= 4)."""
    w = np.zeros((ORDER_MAX_HITS + 1, ORDER_MAX_HITS))
    prop = np.asarray(ORDER_PROPOSAL)
    for n in range(ORDER_MIN_HITS, ORDER_MAX_HITS + 1):
        supports = np.arange(len(prop)) * (n - 1) / (len(prop) - 1)
        row = np.interp(np.arange(n), supports, prop)
        w[n, :n] = row / row.sum()
    return w


def weight_pt(pt: np.ndarray) -> np.ndarray:
    """pT weight [GeV -> 1]: 0 below 0.05 GeV, 0.2 up to 0.5 GeV, linear to 1 at 3 GeV, 1 above."""
    return np.interp(np.asarray(pt, float), [0.05, 0.5, 3.0], [0.2, 0.2, 1.0], left=0.0, right=1.0)


def hit_weights(truth: pd.DataFrame, particles: pd.DataFrame) -> np.ndarray:
    """The challenge's per-hit weights (``weight_hits`` of ``trackml/weights.py``), normalised to sum 1.

    Parameters
    ----------
    truth
        ``particle_id, tz`` per hit.
    particles
        ``particle_id, vz, px, py`` per particle.

    Returns
    -------
    (n_hits,) array
        Zero for noise (``particle_id = 0``) and for particles with fewer than 4
        hits; otherwise pT weight × order weight (hits ordered by |tz - vz|; a
        particle with more than 20 hits uses the 20-hit row and its hits past the
        20th weigh 0).
    """
    pid = truth["particle_id"].to_numpy()
    lookup = particles.set_index("particle_id")
    known = pid != 0
    missing = ~np.isin(pid[known], lookup.index.to_numpy())
    if missing.any():
        raise ValueError(f"{int(missing.sum())} truth hits belong to particles absent from the particles table")
    vz = np.zeros(len(pid))
    wpt = np.zeros(len(pid))
    vz[known] = lookup.loc[pid[known], "vz"].to_numpy()
    wpt[known] = weight_pt(np.hypot(lookup.loc[pid[known], "px"].to_numpy(float),
                                    lookup.loc[pid[known], "py"].to_numpy(float)))
    df = pd.DataFrame({"pid": pid, "d": np.abs(truth["tz"].to_numpy(float) - vz)})
    nhits = df.groupby("pid")["d"].transform("size").to_numpy()
    ihit = (df.groupby("pid")["d"].rank().to_numpy() - 1).astype(int)  # average rank, as the challenge
    nhits = np.where(known, nhits, 0)
    matrix = order_weight_matrix()
    n_clip = np.minimum(nhits, ORDER_MAX_HITS)
    w_order = np.where((nhits >= ORDER_MIN_HITS) & (ihit < ORDER_MAX_HITS),
                       matrix[n_clip, np.clip(ihit, 0, ORDER_MAX_HITS - 1)], 0.0)
    w = wpt * w_order
    total = w.sum()
    return w / total if total > 0 else w


# ----------------------------------------------------------------------------- Pythia


def pythia_settings(process: str, seed: int) -> list[str]:
    """Pythia 8 commands for ``"ttbar"`` (hard process) or ``"minbias"`` (pile-up), 14 TeV."""
    if process not in ("ttbar", "minbias"):
        raise ValueError(f"unknown process {process!r}: expected 'ttbar' or 'minbias'")
    check_count(seed, "seed", max_value=900_000_000)  # Pythia's range
    common = ["Beams:eCM = 14000.", "Random:setSeed = on", f"Random:seed = {int(seed)}",
              "Next:numberCount = 0", "Print:quiet = on",
              "ParticleDecays:limitTau0 = on", "ParticleDecays:tau0Max = 10."]
    if process == "ttbar":
        return [*common, "Top:gg2ttbar = on", "Top:qqbar2ttbar = on"]
    return [*common, "SoftQCD:nonDiffractive = on"]


_CHARGE: dict[int, float] = {}


def _generator(process: str) -> Any:
    """The initialised Pythia of ``process`` in this worker (its seed is set per event)."""
    return _pythia.cached(pythia_settings(process, 1), what=f"the {process} process")


def _final_state(pythia: Any, n: int) -> list[np.ndarray]:
    """Per generated interaction: rows (id, charge, mass, vx, vy, vz [mm], px, py, pz [GeV]) of the charged
    final-state particles."""
    import awkward as ak

    prt = pythia.nextBatch(n)["prt"]
    counts = ak.to_numpy(ak.num(prt))
    pid = ak.to_numpy(ak.flatten(prt.id)).astype(np.int64)
    status = ak.to_numpy(ak.flatten(prt.status))
    for u in np.unique(pid):
        if int(u) not in _CHARGE:
            _CHARGE[int(u)] = float(pythia.particleData.charge(int(u)))
    charge = np.array([_CHARGE[int(i)] for i in pid]) if pid.size else np.zeros(0)
    cols = [pid.astype(float), charge, ak.to_numpy(ak.flatten(prt.m)).astype(float)]
    # vProd is NaN for particles made at the interaction point: 0 there
    cols += [np.nan_to_num(ak.to_numpy(ak.flatten(prt.vProd[c])).astype(float)) for c in ("px", "py", "pz")]
    cols += [ak.to_numpy(ak.flatten(prt.p[c])).astype(float) for c in ("px", "py", "pz")]
    table = np.column_stack(cols)
    keep = (status > 0) & (charge != 0)
    event = np.repeat(np.arange(len(counts)), counts)
    parts = np.split(table[keep], np.searchsorted(event[keep], np.arange(1, len(counts))))
    return parts


# ----------------------------------------------------------------------------- one event


def simulate_event(pileup: float, seed: int, config: SimulationConfig | None = None,
                   ) -> tuple[formats.EventTables, float]:
    """One event: t t̄ + Poisson(``pileup``) minimum-bias interactions through the detector.

    Returns
    -------
    tables, cpu_seconds
        The four TrackML tables (weights included) and the CPU time taken.
    """
    cfg = config or SimulationConfig()
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    n_pu = int(rng.poisson(pileup)) if pileup > 0 else 0
    interactions = []
    tt = _generator("ttbar")
    tt.rndm.init(_pythia.seed(seed, 1))
    interactions += _final_state(tt, 1)
    if n_pu:
        mb = _generator("minbias")
        mb.rndm.init(_pythia.seed(seed, 2))
        interactions += _final_state(mb, n_pu)
    rows, ids = [], []
    for k, parts in enumerate(interactions):
        pv = np.array([rng.normal(0, cfg.beam_sigma_xy), rng.normal(0, cfg.beam_sigma_xy),
                       rng.normal(0, cfg.beam_sigma_z)])
        parts = parts.copy()
        parts[:, 3:6] += pv
        rows.append(parts)
        # particle_id: interaction number in the high bits, particle number in the low ones
        ids.append(((k + 1) << 24) + np.arange(1, len(parts) + 1))
    table = np.concatenate(rows) if rows else np.zeros((0, 9))
    pids = np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64)
    pt = np.hypot(table[:, 6], table[:, 7])
    eta = np.arcsinh(table[:, 8] / np.maximum(pt, 1e-12))
    sel = (pt > cfg.pt_min) & (np.abs(eta) < cfg.eta_max)
    table, pids = table[sel], pids[sel]
    cross = propagate(table[:, 3:6], table[:, 6:9], table[:, 1], table[:, 2], rng)
    # hit efficiency
    keep = rng.random(cross["particle"].size) < cfg.efficiency
    cross = {k: v[keep] for k, v in cross.items()}
    cross = overlap_crossings(cross, cfg.overlap_fraction, cfg.overlap_stagger, rng,
                              efficiency=cfg.efficiency)
    hx, hy, hz, vol, lay, mod = _measure(cross, rng)
    n_true = hx.size
    # noise hits: uniform on the layers, in proportion to their areas
    n_noise = int(rng.poisson(cfg.noise_fraction * n_true / max(1e-9, 1 - cfg.noise_fraction)))
    nx, ny, nz, nvol, nlay, nmod, nsurf = _noise(n_noise, rng)
    x = np.concatenate([hx, nx])
    y = np.concatenate([hy, ny])
    z = np.concatenate([hz, nz])
    order = rng.permutation(x.size)  # hit ids carry no truth
    hit_id = np.empty(x.size, np.int64)
    hit_id[order] = np.arange(1, x.size + 1)
    particle_id = np.concatenate([pids[cross["particle"]], np.zeros(n_noise, np.int64)])
    tx = np.concatenate([cross["x"], nx])
    ty = np.concatenate([cross["y"], ny])
    tz = np.concatenate([cross["z"], nz])
    tp = [np.concatenate([cross[c], np.zeros(n_noise)]) for c in ("px", "py", "pz")]
    hits = pd.DataFrame({"hit_id": hit_id, "x": x, "y": y, "z": z, "volume_id": np.concatenate([vol, nvol]),
                         "layer_id": np.concatenate([lay, nlay]), "module_id": np.concatenate([mod, nmod])})
    nhits = np.bincount(cross["particle"], minlength=len(pids))
    particles = pd.DataFrame({"particle_id": pids, "particle_type": table[:, 0].astype(int),
                              "vx": table[:, 3], "vy": table[:, 4], "vz": table[:, 5],
                              "px": table[:, 6], "py": table[:, 7], "pz": table[:, 8],
                              "q": table[:, 1].astype(int), "nhits": nhits})
    truth = pd.DataFrame({"hit_id": hit_id, "particle_id": particle_id, "tx": tx, "ty": ty, "tz": tz,
                          "tpx": tp[0], "tpy": tp[1], "tpz": tp[2]})
    # float32 first, so the weights are those of the written positions
    truth = truth.astype({c: "float32" for c in ("tx", "ty", "tz", "tpx", "tpy", "tpz")})
    truth["weight"] = hit_weights(truth, particles.astype({"vz": "float32"}))
    surf = np.concatenate([cross["surface"], nsurf])
    charge_cells = rng.gamma(4.0, 0.08, x.size)
    u_pitch = np.array([s.pitch_u for s in SURFACES])[surf]
    v_pitch = np.array([s.pitch_v for s in SURFACES])[surf]
    phi = np.arctan2(y, x)
    rr = np.hypot(x, y)
    is_barrel = np.array([s.kind == "barrel" for s in SURFACES])[surf]
    u_local = np.mod(phi, 2 * np.pi / 64) * rr
    v_local = np.where(is_barrel, np.mod(z, 100.0), np.mod(rr, 100.0))
    cells = pd.DataFrame({"hit_id": hit_id, "ch0": (u_local / u_pitch).astype(int),
                          "ch1": (v_local / v_pitch).astype(int), "value": charge_cells})
    srt = lambda df: df.sort_values("hit_id").reset_index(drop=True)  # noqa: E731
    tables = formats.EventTables(srt(hits), srt(cells), particles, srt(truth))
    return tables, time.process_time() - t0


def overlap_crossings(cross: dict[str, np.ndarray], fraction: float, stagger: float,
                      rng: np.random.Generator, *, efficiency: float = 1.0) -> dict[str, np.ndarray]:
    """Add the second crossings of overlapping barrel modules to the crossings of :func:`propagate`.

    Parameters
    ----------
    cross : dict of arrays
        :func:`propagate`'s crossings (``particle, surface, x, y, z, px, py, pz``).
    fraction : float
        Fraction of a barrel module's width (along φ) shared with its neighbours, half at each
        edge; 0 adds nothing.
    stagger : float
        Radial distance [mm] between two overlapping modules.
    rng
        Random generator (for the second hit's efficiency).
    efficiency : float
        Probability that the second module records its hit.

    Returns
    -------
    dict of arrays
        The crossings, followed by the second ones (straight-line step of ``stagger`` in radius
        along the momentum), with a ``shift`` entry: 0 for a first crossing, -1 or +1 for a
        second one (its module is the neighbour along φ).
    """
    fraction = check_number(fraction, "fraction", min_value=0, max_value=1)
    surf = cross["surface"]
    n_phi = np.array([_module_grid(s)[0] for s in SURFACES])[surf]
    barrel = np.array([s.kind == "barrel" for s in SURFACES])[surf]
    phi = np.arctan2(cross["y"], cross["x"])
    where = np.mod((phi + np.pi) * n_phi / (2 * np.pi), 1.0)  # position inside the module, 0..1
    low, high = where < fraction / 2, where > 1 - fraction / 2
    second = barrel & (low | high) & (rng.random(surf.size) < efficiency)
    p = np.column_stack([cross["px"], cross["py"], cross["pz"]])[second]
    pos = np.column_stack([cross["x"], cross["y"], cross["z"]])[second]
    r = np.hypot(pos[:, 0], pos[:, 1])
    unit = p / np.maximum(np.linalg.norm(p, axis=1), 1e-12)[:, None]
    radial = (pos[:, 0] * unit[:, 0] + pos[:, 1] * unit[:, 1]) / np.maximum(r, 1e-9)
    new = pos + (stagger / np.maximum(radial, 0.05))[:, None] * unit
    out = {k: np.concatenate([v, v[second]]) for k, v in cross.items()}
    for c, k in (("x", 0), ("y", 1), ("z", 2)):
        out[c][surf.size:] = new[:, k]
    out["shift"] = np.concatenate([np.zeros(surf.size, int), np.where(low[second], -1, 1)])
    return out


def _measure(cross: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Smear the crossings with each layer's resolution; volume, layer and module ids."""
    surf = cross["surface"]
    su = np.array([s.sigma_u for s in SURFACES])[surf]
    sv = np.array([s.sigma_v for s in SURFACES])[surf]
    barrel = np.array([s.kind == "barrel" for s in SURFACES])[surf]
    r = np.hypot(cross["x"], cross["y"])
    phi = np.arctan2(cross["y"], cross["x"]) + rng.standard_normal(r.size) * su / np.maximum(r, 1e-9)
    z = cross["z"] + np.where(barrel, rng.standard_normal(r.size) * sv, 0.0)
    r = r + np.where(barrel, 0.0, rng.standard_normal(r.size) * sv)
    x, y = r * np.cos(phi), r * np.sin(phi)
    vol, lay, mod = _ids(surf, phi, np.where(barrel, z, r), cross.get("shift"))
    return x, y, z, vol, lay, mod


def _ids(surf: np.ndarray, phi: np.ndarray, v: np.ndarray,
         shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vol = np.array([s.volume_id for s in SURFACES])[surf]
    lay = np.array([s.layer_id for s in SURFACES])[surf]
    mod = np.zeros(surf.size, np.int64)
    for j in np.unique(surf):
        m = surf == j
        iphi, iv = _module_index(SURFACES[j], phi[m], v[m])
        n_phi = _module_grid(SURFACES[j])[0]
        if shift is not None and np.any(shift[m] != 0):
            # a second crossing near a module edge: the neighbour of the first crossing's module
            # (whichever side of the edge its own phi fell on)
            x = (phi[m] + np.pi) / (2 * np.pi) * n_phi
            sh = shift[m]
            nb = np.where(sh < 0, np.floor(x + 0.5) - 1, np.floor(x - 0.5) + 1).astype(int) % n_phi
            iphi = np.where(sh != 0, nb, iphi)
        mod[m] = iv * n_phi + iphi + 1
    return vol, lay, mod


def _noise(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    areas = np.array([2 * np.pi * s.pos * 2 * s.half if s.kind == "barrel" else np.pi * (s.rmax**2 - s.rmin**2)
                      for s in SURFACES])
    surf = rng.choice(len(SURFACES), size=n, p=areas / areas.sum())
    phi = rng.uniform(-np.pi, np.pi, n)
    pos = np.array([s.pos for s in SURFACES])[surf]
    barrel = np.array([s.kind == "barrel" for s in SURFACES])[surf]
    half = np.array([s.half for s in SURFACES])[surf]
    rmin = np.array([s.rmin for s in SURFACES])[surf]
    rmax = np.array([s.rmax for s in SURFACES])[surf]
    r = np.where(barrel, pos, np.sqrt(rng.uniform(rmin**2, rmax**2)))
    z = np.where(barrel, rng.uniform(-half, half), pos)
    vol, lay, mod = _ids(surf, phi, np.where(barrel, z, r))
    return r * np.cos(phi), r * np.sin(phi), z, vol, lay, mod, surf


# ----------------------------------------------------------------------------- the cached dataset


def _task(args: tuple[int, float, int, dict[str, Any], str]) -> tuple[int, float, int]:
    event_id, pileup, seed, cfg, folder = args
    tables, seconds = simulate_event(pileup, _pythia.seed(seed, event_id), SimulationConfig(**cfg))
    formats.write(tables, folder, event_id)
    return event_id, seconds, len(tables.hits)


def simulate(n: int, *, seed: int = 42, pileup: float = 20.0, config: SimulationConfig | None = None,
             verbose: bool = True) -> Dataset:
    """``n`` simulated TrackML events (cached), read back with :func:`formats.read`.

    Parameters
    ----------
    n
        Number of events (``event000000000`` to ``event<n-1>``).
    seed
        Seed of the whole sample (event ``i`` uses a seed derived from ``seed`` and ``i``).
    pileup
        Mean number of minimum-bias interactions added to the t t̄ one (Poisson).
    config
        Detector response settings.

    Returns
    -------
    Dataset
        ``data`` is a list of :class:`formats.EventTables`; ``details`` holds the
        folder, ``detectors`` (the ``detectors.csv`` table) and the CPU seconds per event.
    """
    n = check_count(n, "n")
    pileup = check_number(pileup, "pileup", min_value=0)
    cfg = config or SimulationConfig()
    params = {"n": int(n), "seed": int(seed), "pileup": float(pileup), "config": asdict(cfg)}

    def generate(folder: Path) -> None:
        tasks = [(i, float(pileup), int(seed), asdict(cfg), str(folder)) for i in range(n)]
        t0 = time.perf_counter()
        res = parallel_map(_task, tasks, desc=f"trackml: simulating {n} events (pile-up {pileup:g})")
        formats.write_detectors(detectors_table(), folder / "detectors.csv")
        cpu = [r[1] for r in res]
        (folder / "timing.json").write_text(json.dumps({
            "cpu_seconds_per_event": float(np.mean(cpu)), "wall_seconds": time.perf_counter() - t0,
            "hits_per_event": float(np.mean([r[2] for r in res]))}))

    folder = cached_simulation("trackml", params, generate, version=VERSION)
    events = [formats.read(p) for p in formats.list_events(folder)[:n]]
    timing = json.loads((folder / "timing.json").read_text())
    if verbose:
        print(f"[trackml] {n} simulated events, t tbar + <mu> = {pileup:g} pile-up: "
              f"{timing['hits_per_event']:.0f} hits per event, generated in "
              f"{timing['cpu_seconds_per_event']:.2f} s of CPU per event")
    return Dataset(data=events, source="simulated", name="trackml",
                   provenance=f"course simulation: Pythia 8 t tbar + <mu> = {pileup:g} minimum-bias, helices in "
                              f"2 T, TrackML-like silicon tracker",
                   licence=SIMULATION_LICENCE, path=folder,
                   details={"pileup": pileup, "seed": seed, "detectors": formats.read_detectors(
                       folder / "detectors.csv"), **timing})
