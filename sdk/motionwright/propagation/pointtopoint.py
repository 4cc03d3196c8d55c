"""Point-to-Point, Trajectory Collection: per-pixel tracks at the latent-grid resolution.

"We begin by computing bidirectional optical flow between source frames and downsample the flow
fields to match the resolution of the latent space. [...] we sample three keyframes [...] For
each of these keyframes, we track how pixels change over time in the latent space and obtain
their individual trajectories [...] This yields a total of 3·h·w initial trajectories. We then
remove redundant trajectories and, when a subject mask is available, discard trajectories that
fall outside the subject region."

The paper's flow is RAFT; here it is OpenCV DIS. Keyframes default to the first, middle and last
frames. A track stops (becomes hidden for good) where the forward–backward check fails or it
leaves the frame. A seed on a later keyframe is redundant when an earlier track is visible
within half a latent cell of it on that frame. Tracks are returned in clip pixel coordinates
(latent cell centres mapped with the pixel-centre convention); ``traj.scaled(1/s, 1/s)`` gives
latent coordinates for a stride ``s``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .._validate import require_int
from ..errors import FrameRangeError, InvalidInputError, ShapeError
from ..progress import Reporter
from ..tracking.flow import FlowEstimator, prepare
from ..types.pointset import scale_xy


def _latent_flows(clip: Any, latent: tuple[int, int], reporter: Reporter,
                  preset: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Forward (t→t+1) and backward (t+1→t) flows resized to the latent grid, in latent px."""
    lw, lh = latent
    est = FlowEstimator(preset)
    fwd, bwd = [], []
    prev = None
    for frame in clip:
        cur = prepare(frame, max_side=max(640, 2 * max(lw, lh)))
        if prev is not None:
            f, b = est.pair(prev, cur)
            ch, cw = f.shape[:2]
            scale = np.array([lw / cw, lh / ch], np.float32)
            fwd.append(cv2.resize(f, (lw, lh), interpolation=cv2.INTER_AREA) * scale)
            bwd.append(cv2.resize(b, (lw, lh), interpolation=cv2.INTER_AREA) * scale)
            reporter.step()
        prev = cur
    return fwd, bwd


def _sample(flow: np.ndarray, pts: np.ndarray) -> np.ndarray:
    mx = np.ascontiguousarray(pts[:, 0].reshape(-1, 1))
    my = np.ascontiguousarray(pts[:, 1].reshape(-1, 1))
    return cv2.remap(flow, mx, my, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE).reshape(-1, 2)


def _follow(seeds: np.ndarray, key: int, fwd: list[np.ndarray], bwd: list[np.ndarray],
            latent: tuple[int, int], fb_limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Chain latent flows from ``key`` both ways; a track ends at its first failed check."""
    lw, lh = latent
    t_count = len(fwd) + 1
    tracks = np.full((t_count, len(seeds), 2), np.nan, np.float32)
    vis = np.zeros((t_count, len(seeds)), bool)
    tracks[key], vis[key] = seeds, True
    for direction, there, back in ((1, fwd, bwd), (-1, bwd, fwd)):
        pos = seeds.copy()
        alive = np.ones(len(seeds), bool)
        t = key
        while 0 <= t + direction < t_count and alive.any():
            step = t if direction > 0 else t - 1
            moved = pos + _sample(there[step], pos)
            returned = moved + _sample(back[step], moved)
            err = np.linalg.norm(returned - pos, axis=1)
            motion = np.linalg.norm(moved - pos, axis=1)
            inside = ((moved[:, 0] >= -0.5) & (moved[:, 0] <= lw - 0.5)
                      & (moved[:, 1] >= -0.5) & (moved[:, 1] <= lh - 0.5))
            alive &= inside & (err <= fb_limit + 0.1 * motion)
            pos = moved
            t += direction
            tracks[t, alive] = pos[alive]
            vis[t] = alive
    return tracks, vis


def collect_trajectories(clip: Any, *, stride: int = 8, latent_size: Any = None,
                         keyframes: Any = None, mask: Any = None, fb_limit: float = 0.5,
                         flow_preset: str = "medium", progress: Any = None,
                         cancel: Any = None):
    """Per-latent-pixel tracks of ``clip`` from three keyframes, as one Trajectory.

    ``stride`` (default 8, the VAE downsampling of SD/AnimateDiff) or ``latent_size`` (w, h)
    sets the latent grid; ``keyframes`` overrides (first, middle, last); ``mask`` (a
    :class:`~motionwright.Mask` or ``(H, W)`` bool array) keeps only tracks that start inside
    the subject on their keyframe; ``fb_limit`` is the forward–backward tolerance in latent
    pixels. Positions are clip pixels; hidden entries are NaN.
    """
    from ..types import Mask, Trajectory

    t_count = len(clip)
    if t_count < 2:
        raise InvalidInputError(f"clip: need at least 2 frames to collect tracks, got {t_count}")
    width, height = clip.size
    if latent_size is None:
        stride = require_int(stride, "stride", 1)
        latent = (max(1, width // stride), max(1, height // stride))
    else:
        lw, lh = (require_int(v, "latent_size", 1) for v in latent_size)
        latent = (lw, lh)
    keys = (0, t_count // 2, t_count - 1) if keyframes is None else tuple(
        require_int(k, "keyframes", 0) for k in keyframes)
    for k in keys:
        if k >= t_count:
            raise FrameRangeError(
                f"keyframes: frame {k} is outside the clip's {t_count} frames (0..{t_count - 1})"
            )
    keys = tuple(dict.fromkeys(keys))
    if mask is not None and not isinstance(mask, Mask):
        m = np.asarray(mask, bool)
        if m.shape != (height, width):
            raise ShapeError(
                f"mask: expected the clip's size {width}x{height}, got {m.shape[1]}x{m.shape[0]}"
            )
        mask = Mask(m[None])
    elif mask is not None and tuple(mask.size) != (width, height):
        raise ShapeError(
            f"mask: expected the clip's size {width}x{height}, got {mask.size[0]}x{mask.size[1]}"
        )
    reporter = Reporter("collect", t_count - 1, progress, cancel)
    fwd, bwd = _latent_flows(clip, latent, reporter, flow_preset)
    lw, lh = latent
    gx, gy = np.meshgrid(np.arange(lw, dtype=np.float32), np.arange(lh, dtype=np.float32))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    all_tracks, all_vis = [], []
    for k in keys:
        seeds = grid
        if all_tracks:
            prev_t = np.concatenate(all_tracks, axis=1)[k]
            prev_v = np.concatenate(all_vis, axis=1)[k]
            covered = prev_t[prev_v]
            if len(covered):
                # Seeds already followed by an earlier keyframe's track are redundant.
                cell = np.rint(covered).astype(np.int64)
                ok = (cell[:, 0] >= 0) & (cell[:, 0] < lw) & (cell[:, 1] >= 0) & (cell[:, 1] < lh)
                taken = np.zeros((lh, lw), bool)
                near = np.abs(covered[ok] - cell[ok]).max(axis=1) <= 0.5
                taken[cell[ok][near, 1], cell[ok][near, 0]] = True
                seeds = grid[~taken.ravel()]
        if mask is not None and len(seeds):
            full = scale_xy(seeds, width / lw, height / lh)
            m = mask.at(k)
            ix = np.clip(np.rint(full[:, 0]).astype(np.int64), 0, width - 1)
            iy = np.clip(np.rint(full[:, 1]).astype(np.int64), 0, height - 1)
            seeds = seeds[m[iy, ix]]
        if len(seeds) == 0:
            continue
        tr, vi = _follow(seeds, k, fwd, bwd, latent, fb_limit)
        all_tracks.append(tr)
        all_vis.append(vi)
    if not all_tracks:
        raise InvalidInputError("mask: no latent pixel lies inside the subject mask")
    tracks = np.concatenate(all_tracks, axis=1)
    visible = np.concatenate(all_vis, axis=1)
    pixels = scale_xy(tracks, width / lw, height / lh)
    return Trajectory(pixels, visible)
