"""Sparse trajectories to dense motion maps: ReVideo's motion condition c_mot.

ReVideo (§3.2) conditions on N maps for an N-frame clip, "each map consists of 2 channels,
indicating the movement of the tracked points in the horizontal and vertical directions
relative to the previous frame", made dense with a Gaussian filter because "high sparsity is
not conducive" to learning. :func:`trajectory_to_flow_maps` builds them at any resolution.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from .errors import InvalidInputError
from .types.pointset import check_size, scale_xy


def _splat(h: int, w: int, xy: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bilinearly splat ``values`` ``(K, C)`` at sub-pixel ``xy`` ``(K, 2)`` onto an
    ``(h, w, C)`` float32 image (weights outside the image are dropped)."""
    out = np.zeros((h, w, values.shape[1]), np.float32)
    if len(xy) == 0:
        return out
    x0 = np.floor(xy[:, 0]).astype(np.int64)
    y0 = np.floor(xy[:, 1]).astype(np.int64)
    fx = (xy[:, 0] - x0).astype(np.float32)
    fy = (xy[:, 1] - y0).astype(np.float32)
    for dx, dy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                       (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        np.add.at(out, (yi[ok], xi[ok]), values[ok] * wt[ok, None])
    return out


def trajectory_to_flow_maps(traj: Any, size: Any, sigma: float = 10.0, *,
                            frame_size: Any = None) -> np.ndarray:
    """Per-frame displacement maps of ``traj``: ``(T, 2, H, W)`` float32 at ``size`` (W, H).

    Map ``t`` holds, for every point visible on frames ``t-1`` and ``t``, its displacement
    (dx, dy) from frame ``t-1`` to ``t`` in output pixels, placed at its frame ``t-1`` position
    (the optical-flow convention) and spread with a Gaussian of ``sigma`` output pixels whose
    peak is 1, so an isolated point keeps its exact displacement at its centre. Where several
    points' Gaussians overlap the result is their weighted average (Σ g·d / max(Σ g, 1)), so
    neighbouring points moving alike do not add up. Map 0 is all zeros (nothing precedes it).
    ``frame_size`` is the (width, height) the tracks' coordinates refer to (default ``size``);
    positions and displacements are scaled to ``size`` with the pixel-centre convention.
    ``sigma = 0`` splats without blurring. ReVideo's public code blurs with σ = 10.
    """
    from .types import Trajectory

    if not isinstance(traj, Trajectory):
        raise InvalidInputError(f"traj: expected a Trajectory, got {type(traj).__name__}")
    width, height = check_size(size, "size")
    fw, fh = check_size(frame_size, "frame_size") if frame_size is not None else (width, height)
    try:
        sigma = float(sigma)
    except (TypeError, ValueError):
        raise InvalidInputError(f"sigma: expected a number >= 0, got {sigma!r}") from None
    if not math.isfinite(sigma) or sigma < 0:
        raise InvalidInputError(f"sigma: expected a finite number >= 0, got {sigma!r}")
    sx, sy = width / fw, height / fh
    tracks = scale_xy(np.nan_to_num(traj.tracks, nan=0.0), sx, sy)
    vis = traj.visible
    out = np.zeros((traj.num_frames, 2, height, width), np.float32)
    if sigma > 0:
        radius = math.ceil(3.0 * sigma)
        kernel = cv2.getGaussianKernel(2 * radius + 1, sigma)
        peak = float(kernel.max()) ** 2
    for t in range(1, traj.num_frames):
        both = vis[t - 1] & vis[t]
        if not both.any():
            continue
        start = tracks[t - 1, both]
        disp = np.stack([(tracks[t, both, 0] - start[:, 0]), (tracks[t, both, 1] - start[:, 1])],
                        axis=1)
        ones = np.ones((len(start), 1), np.float32)
        acc = _splat(height, width, start, np.concatenate([disp, ones], axis=1))
        if sigma > 0:
            acc = cv2.GaussianBlur(acc, (2 * radius + 1, 2 * radius + 1), sigma,
                                   borderType=cv2.BORDER_CONSTANT) / peak
        weight = np.maximum(acc[..., 2], 1.0)
        out[t, 0] = acc[..., 0] / weight
        out[t, 1] = acc[..., 1] / weight
    return out
