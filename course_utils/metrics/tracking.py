"""Tracking metrics: the TrackML score, tracking efficiency and fake rate.

The TrackML score (Amrouche et al., arXiv:1904.06778, section 3; the
challenge's ``trackml/score.py``) is computed here exactly as the challenge
does, but vectorised with pandas instead of a loop over hits:

1. each reconstructed track is given its *majority particle*: the particle with
   the most hits in the track (ties go to the smallest ``particle_id``, as in
   the challenge's loop over hits sorted by ``track_id, particle_id``; noise,
   ``particle_id = 0``, can be a majority "particle");
2. the track counts only if more than half of its hits come from that particle
   **and** more than half of that particle's hits are in the track (the
   *double majority*);
3. the score is the sum of the truth ``weight`` of the majority particle's hits
   in counted tracks, divided by the total weight of the event (1 = perfect).

Tracking efficiency and fake rate follow the ATLAS-style matching used by the
GNN tracking papers: a particle (``pT > pt_min``, at least ``min_hits`` hits) is
reconstructed when a track matches it with the double majority; a track (at
least ``min_hits`` hits) is fake when no particle gives it more than half of its
hits (or its majority is noise).

Efficiencies in bins (of pT, of η) carry a binomial interval: :func:`clopper_pearson`
(the exact interval, never outside [0, 1], never empty at 0 or 1) through
:func:`binned_efficiency`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["analyze_tracks", "trackml_score", "particle_efficiency_table", "tracking_efficiency", "fake_rate",
           "clopper_pearson", "binned_efficiency"]


def _event(truth: pd.DataFrame, submission: pd.DataFrame) -> pd.DataFrame:
    for name, df, cols in (("truth", truth, ("hit_id", "particle_id", "weight")),
                           ("submission", submission, ("hit_id", "track_id"))):
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"{name} must be a DataFrame, got {type(df).__name__}")
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"{name} lacks the columns {missing}: it has {list(df.columns)}, expected {list(cols)}")
    if len(truth) == 0:
        raise ValueError("truth is empty: expected one row per hit")
    if truth["hit_id"].duplicated().any() or submission["hit_id"].duplicated().any():
        raise ValueError("each hit_id must appear once in truth and once in the submission")
    if submission[["hit_id", "track_id"]].isna().any().any() or truth[["particle_id", "weight"]].isna().any().any():
        raise ValueError("NaN in the truth or the submission")
    event = truth[["hit_id", "particle_id", "weight"]].merge(
        submission[["hit_id", "track_id"]], on="hit_id", how="left", validate="one_to_one")
    if event["track_id"].isna().any():
        n = int(event["track_id"].isna().sum())
        raise ValueError(f"the submission assigns no track to {n} of the {len(event)} hits: every hit needs one")
    if len(submission) != len(truth):
        raise ValueError(f"the submission has {len(submission)} hits, truth has {len(truth)}: expected the same hits")
    return event


def analyze_tracks(truth: pd.DataFrame, submission: pd.DataFrame) -> pd.DataFrame:
    """Per reconstructed track: its majority particle and hit counts (the challenge's ``_analyze_tracks``).

    Parameters
    ----------
    truth
        One row per hit: ``hit_id, particle_id`` (0 = noise), ``weight``.
    submission
        One row per hit: ``hit_id, track_id``.

    Returns
    -------
    DataFrame
        One row per track: ``track_id, nhits, major_particle_id,
        major_particle_nhits, major_nhits, major_weight`` (the weight is divided
        by the event's total weight).
    """
    event = _event(truth, submission)
    particle_nhits = event.groupby("particle_id").size()
    total_weight = float(event["weight"].sum())
    pairs = (event.groupby(["track_id", "particle_id"], sort=True)
             .agg(n=("weight", "size"), w=("weight", "sum")).reset_index())
    nhits = pairs.groupby("track_id")["n"].sum()
    # majority: most hits, ties to the smallest particle_id (stable sort keeps particle order)
    pairs = pairs.sort_values(["track_id", "n", "particle_id"], ascending=[True, False, True], kind="mergesort")
    major = pairs.drop_duplicates("track_id", keep="first").set_index("track_id")
    return pd.DataFrame({
        "track_id": major.index.to_numpy(),
        "nhits": nhits.loc[major.index].to_numpy(),
        "major_particle_id": major["particle_id"].to_numpy(),
        "major_particle_nhits": particle_nhits.loc[major["particle_id"]].to_numpy(),
        "major_nhits": major["n"].to_numpy(),
        "major_weight": major["w"].to_numpy() / total_weight if total_weight > 0 else np.zeros(len(major)),
    })


def _good(tracks: pd.DataFrame) -> np.ndarray:
    return ((2 * tracks["major_nhits"] > tracks["nhits"])
            & (2 * tracks["major_nhits"] > tracks["major_particle_nhits"])).to_numpy()


def trackml_score(truth: pd.DataFrame, submission: pd.DataFrame) -> float:
    """The TrackML score of one event, in [0, 1] (1 = every weighted hit correctly assigned).

    Parameters
    ----------
    truth
        ``hit_id, particle_id, weight`` per hit (the truth table of a TrackML event).
    submission
        ``hit_id, track_id`` per hit: the proposed partition of the hits into
        tracks (every hit exactly once; the track numbers are arbitrary).

    Examples
    --------
    >>> import pandas as pd
    >>> truth = pd.DataFrame({"hit_id": [1, 2, 3, 4], "particle_id": [7, 7, 7, 0],
    ...                       "weight": [0.25, 0.25, 0.5, 0.0]})
    >>> trackml_score(truth, pd.DataFrame({"hit_id": [1, 2, 3, 4], "track_id": [1, 1, 2, 3]}))
    0.5
    """
    tracks = analyze_tracks(truth, submission)
    return float(tracks.loc[_good(tracks), "major_weight"].sum())


def particle_efficiency_table(truth: pd.DataFrame, particles: pd.DataFrame, submission: pd.DataFrame, *,
                              min_hits: int = 3) -> pd.DataFrame:
    """Per particle with at least ``min_hits`` hits: ``particle_id, pt`` (GeV), ``eta, nhits, reconstructed``.

    A particle is reconstructed when a track matches it with the double majority.
    """
    for c in ("particle_id", "px", "py", "pz"):
        if c not in particles.columns:
            raise ValueError(f"particles lacks the column {c!r}: it has {list(particles.columns)}")
    tracks = analyze_tracks(truth, submission)
    matched = set(tracks.loc[_good(tracks), "major_particle_id"].to_numpy().tolist())
    counts = truth.loc[truth["particle_id"] != 0].groupby("particle_id").size().rename("nhits")
    p = particles[["particle_id", "px", "py", "pz"]].merge(counts, left_on="particle_id", right_index=True)
    p = p.loc[p["nhits"] >= min_hits]
    pt = np.hypot(p["px"].to_numpy(float), p["py"].to_numpy(float))
    eta = np.arcsinh(p["pz"].to_numpy(float) / np.maximum(pt, 1e-12))
    return pd.DataFrame({"particle_id": p["particle_id"].to_numpy(), "pt": pt, "eta": eta,
                         "nhits": p["nhits"].to_numpy(),
                         "reconstructed": p["particle_id"].isin(matched).to_numpy()})


def tracking_efficiency(truth: pd.DataFrame, particles: pd.DataFrame, submission: pd.DataFrame, *,
                        pt_min: float = 1.0, min_hits: int = 3) -> float:
    """Fraction of particles with ``pT > pt_min`` (GeV) and ``>= min_hits`` hits matched by a track.

    Raises ``ValueError`` when no particle passes the selection.
    """
    table = particle_efficiency_table(truth, particles, submission, min_hits=min_hits)
    sel = table["pt"] > pt_min
    if not sel.any():
        raise ValueError(f"no particle with pT > {pt_min} GeV and >= {min_hits} hits: efficiency undefined")
    return float(table.loc[sel, "reconstructed"].mean())


def fake_rate(truth: pd.DataFrame, submission: pd.DataFrame, *, min_hits: int = 3) -> float:
    """Fraction of tracks with ``>= min_hits`` hits that no particle matches (majority <= half, or noise).

    Returns 0 when there is no such track.
    """
    tracks = analyze_tracks(truth, submission)
    tracks = tracks.loc[tracks["nhits"] >= min_hits]
    if len(tracks) == 0:
        return 0.0
    fake = (2 * tracks["major_nhits"] <= tracks["nhits"]) | (tracks["major_particle_id"] == 0)
    return float(fake.mean())


def clopper_pearson(k: np.ndarray | int, n: np.ndarray | int, level: float = 0.683
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson (exact) interval of a binomial proportion ``k / n``.

    Parameters
    ----------
    k, n : int or array of int
        Successes and trials (``0 <= k <= n``); where ``n = 0`` the interval is NaN.
    level : float
        Confidence level (0.683: the "1 σ" error bar of an efficiency plot).

    Returns
    -------
    low, high : arrays
        The bounds, ``low = 0`` when ``k = 0`` and ``high = 1`` when ``k = n``.

    Examples
    --------
    >>> lo, hi = clopper_pearson(0, 10, level=0.95)
    >>> float(lo), round(float(hi), 4)
    (0.0, 0.3085)
    """
    from scipy import stats

    k = np.asarray(k, float)
    n = np.asarray(n, float)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if np.any(k < 0) or np.any(k > n) or np.any(k != np.round(k)) or np.any(n != np.round(n)):
        raise ValueError(f"expected whole numbers 0 <= k <= n, got k={k!r}, n={n!r}")
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    empty = n == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def binned_efficiency(x: np.ndarray, passed: np.ndarray, bins: np.ndarray, *,
                      level: float = 0.683) -> pd.DataFrame:
    """Efficiency of ``passed`` in bins of ``x``, with its Clopper-Pearson interval.

    Parameters
    ----------
    x : (n,) array
        The binned variable (pT in GeV, η...); values outside ``bins`` are ignored.
    passed : (n,) bool array
        Whether each entry passed (a particle reconstructed, an edge kept).
    bins : (m + 1,) array
        Increasing bin edges.
    level : float
        Confidence level of the interval.

    Returns
    -------
    DataFrame
        One row per bin: ``low_edge, high_edge, centre, n, k, efficiency, low, high``
        (NaN efficiency and bounds in an empty bin).
    """
    x = np.asarray(x, float).ravel()
    passed = np.asarray(passed, bool).ravel()
    bins = np.asarray(bins, float).ravel()
    if x.shape != passed.shape:
        raise ValueError(f"x and passed must have the same length, got {x.size} and {passed.size}")
    if bins.size < 2 or np.any(np.diff(bins) <= 0):
        raise ValueError(f"bins must be at least two increasing edges, got {bins!r}")
    k_bin = np.digitize(x, bins) - 1
    inside = (k_bin >= 0) & (k_bin < bins.size - 1)
    n = np.bincount(k_bin[inside], minlength=bins.size - 1)
    k = np.bincount(k_bin[inside], weights=passed[inside], minlength=bins.size - 1).round().astype(int)
    low, high = clopper_pearson(k, n, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    return pd.DataFrame({"low_edge": bins[:-1], "high_edge": bins[1:], "centre": (bins[:-1] + bins[1:]) / 2,
                         "n": n, "k": k, "efficiency": eff, "low": low, "high": high})
