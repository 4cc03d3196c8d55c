"""ReVideo §3.2 and appendix A.1: sampling trajectories for training the motion control.

"Trajectory sampling in the training process includes three stages, i.e., sparsifying,
threshold filtration, and probabilistic sampling": a grid sparsifies the dense points into
N_init initial points; "the mean of the tracking length of these N_init points" is the
threshold l_Th that keeps only points moving more than it; then "the normalized lengths of these
sampling points" are the probabilities for drawing N points, "N is randomly selected from 1 to
10". :func:`collect_training_trajectories` tracks a grid over a clip (optionally inside a
rectangular editing area, as in the second and third training stages) and samples from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import require_int
from ..errors import InvalidInputError


def path_lengths(tracks: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``(N,)`` length of each track ``(T, N, 2)``: the sum of its per-frame steps over
    frames where it is visible on both ends of the step."""
    steps = np.linalg.norm(np.diff(tracks, axis=0), axis=2)
    both = visible[1:] & visible[:-1]
    return np.where(both, np.nan_to_num(steps), 0.0).sum(axis=0)


def sparsify(tracks: np.ndarray, visible: np.ndarray, cell: float) -> np.ndarray:
    """Indices of the points kept by a grid of ``cell``-pixel cells: the first point whose
    first visible position falls in each cell ("we use a grid to sparsify dense sampling
    points, obtaining N_init initial points")."""
    first = np.argmax(visible, axis=0)
    seen = visible.any(axis=0)
    start = tracks[first, np.arange(tracks.shape[1])]
    cells = np.floor(start / float(cell)).astype(np.int64)
    keys = cells[:, 0] * 1_000_003 + cells[:, 1]
    keys = np.where(seen, keys, np.iinfo(np.int64).min)
    _, idx = np.unique(keys, return_index=True)
    idx = np.sort(idx)
    return idx[seen[idx]]


def sample_trajectories(traj: Any, *, grid: float = 16.0, num: int | None = None,
                        rng: Any = None):
    """Sample training trajectories from ``traj`` as ReVideo does (A.1).

    1. sparsify the tracks with a ``grid``-pixel grid (N_init points);
    2. keep the points whose path length exceeds the mean length l_Th;
    3. draw ``num`` of them (default: uniformly from 1 to 10) without replacement with
       probability proportional to their path length.

    ``rng`` is a ``numpy.random.Generator`` or a seed. Returns a :class:`~motionwright.Trajectory`
    of the chosen points (their ids kept); fewer than ``num`` if fewer pass the threshold, and
    an empty selection raises InvalidInputError (nothing in the clip moves).
    """
    from ..types import Trajectory

    if not isinstance(traj, Trajectory):
        raise InvalidInputError(f"traj: expected a Trajectory, got {type(traj).__name__}")
    if grid <= 0 or not np.isfinite(grid):
        raise InvalidInputError(f"grid: expected a positive cell size in pixels, got {grid!r}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    tracks, visible = np.asarray(traj.tracks), np.asarray(traj.visible)
    initial = sparsify(tracks, visible, grid)
    lengths = path_lengths(tracks[:, initial], visible[:, initial])
    if len(initial) == 0 or not np.any(lengths > 0):
        raise InvalidInputError(
            "traj: no track moves, so there is nothing to sample; use a clip with motion"
        )
    threshold = lengths.mean()
    keep = lengths > threshold
    pool, weights = initial[keep], lengths[keep]
    count = int(gen.integers(1, 11)) if num is None else require_int(num, "num", 1)
    count = min(count, len(pool))
    chosen = gen.choice(len(pool), size=count, replace=False, p=weights / weights.sum())
    return traj.select(traj.ids[pool[np.sort(chosen)]])


def collect_training_trajectories(clip: Any, *, grid: float = 16.0, region: Any = None,
                                  num: int | None = None, rng: Any = None,
                                  progress: Any = None, cancel: Any = None):
    """Track a ``grid``-spaced lattice of points from frame 0 of ``clip`` (inside ``region``
    ``(x, y, w, h)`` if given — ReVideo's rectangular editing area, at least 64×64 in its
    training) and sample trajectories from it with :func:`sample_trajectories`."""
    from ..tracking import track
    from ..types import PointSet

    width, height = clip.size
    x0, y0, w, h = (0.0, 0.0, float(width), float(height)) if region is None else (
        float(v) for v in region)
    if w <= 0 or h <= 0 or x0 < 0 or y0 < 0 or x0 + w > width or y0 + h > height:
        raise InvalidInputError(
            f"region: expected a box (x, y, w, h) inside the {width}x{height} frame, got {region!r}"
        )
    half = grid / 2.0
    xs = np.arange(x0 + half, x0 + w, grid, dtype=np.float32)
    ys = np.arange(y0 + half, y0 + h, grid, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    if len(pts) == 0:
        raise InvalidInputError(f"grid: {grid} px leaves no point inside the region; use less")
    traj = track(clip, PointSet(pts, frame=0), progress=progress, cancel=cancel)
    return sample_trajectories(traj, grid=grid, num=num, rng=rng)
