"""What S²V2V guides with, at the working size: the reference frames, the sparse points' tracks
and, for a box trajectory, the box-moving video and FreeTraj's trajectory noise.

Positions are pixels of the working size (OpenCV's pixel-centre convention); a resize maps
``x → (x + 0.5)·s − 0.5``, the same for points, tracks and boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InvalidInputError


@dataclass
class Guide:
    """The guiding video and points at the working size.

    ``frames`` ``(F, H, W, 3)`` uint8; ``tracks`` ``(F, N, 2)`` float32 pixels; ``visible``
    ``(F, N)`` bool; ``boxes`` ``(F, 4)`` ``x0, y0, x1, y1`` pixels or None (point setting).
    """

    frames: np.ndarray
    tracks: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray | None


def scale_points(xy: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Positions scaled by ``(sx, sy)`` around pixel centres."""
    out = np.array(xy, dtype=np.float32, copy=True)
    out[..., 0] = (out[..., 0] + 0.5) * sx - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * sy - 0.5
    return out


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(F, H, W, 3)`` frames resized to ``size`` ``(w, h)`` (area filter when shrinking)."""
    import cv2

    w, h = size
    if frames.shape[2] == w and frames.shape[1] == h:
        return frames
    shrink = w < frames.shape[2] or h < frames.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


def _to8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint16:
        return (frame >> 8).astype(np.uint8)
    return np.asarray(frame, np.uint8)


def rows_for(traj, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """A Trajectory's ``(tracks, visible)`` for clip frames 0..frames−1, holding its first and
    last rows outside the frames it covers."""
    idx = np.clip(np.arange(frames) - traj.start_frame, 0, traj.num_frames - 1)
    return traj.tracks[idx], traj.visible[idx]


def auto_points(first: np.ndarray, count: int) -> np.ndarray:
    """``count`` well-textured points on ``first`` (Shi–Tomasi corners, spread apart), for a
    reference given without points (the paper also allows "random selection")."""
    import cv2

    gray = cv2.cvtColor(first, cv2.COLOR_RGB2GRAY)
    side = min(gray.shape)
    found = cv2.goodFeaturesToTrack(gray, count, 0.01, max(2.0, side / 8))
    if found is None or len(found) == 0:
        h, w = gray.shape
        return np.array([[w / 2 - 0.5, h / 2 - 0.5]], np.float32)
    return found.reshape(-1, 2).astype(np.float32)


def reference_guide(reference, edit, frames: int, size: tuple[int, int], num_points: int, *,
                    progress=None, cancel=None) -> Guide:
    """The reference clip's first ``frames`` frames at ``size`` with its points tracked (a
    PointSet is tracked with :func:`motionwright.track`; none given: points picked
    automatically and tracked)."""
    from ...tracking.api import track
    from ...types import PointSet, Trajectory

    if len(reference) < frames:
        raise InvalidInputError(f"reference: the clip has {len(reference)} frames but "
                                f"{frames} are rendered; give a reference at least as long")
    ref = reference[:frames] if len(reference) > frames else reference
    native = np.stack([_to8(ref[i]) for i in range(frames)])
    points = edit.points
    if points is None and edit.box is None:
        points = PointSet(auto_points(native[0], num_points), frame=0)
    if isinstance(points, PointSet):
        points = track(ref, points, progress=progress, cancel=cancel)
    sx, sy = size[0] / ref.size[0], size[1] / ref.size[1]
    boxes = None
    if edit.box is not None:
        boxes = box_rows(edit.box, frames, sx, sy)
        tracks = ((boxes[:, :2] + boxes[:, 2:]) / 2)[:, None, :]
        visible = np.ones((frames, 1), bool)
    else:
        assert isinstance(points, Trajectory)
        raw, visible = rows_for(points, frames)
        tracks = scale_points(raw, sx, sy)
    return Guide(resize_frames(native, size), tracks.astype(np.float32), visible, boxes)


def box_rows(box, frames: int, sx: float, sy: float) -> np.ndarray:
    """A box Trajectory (top-left, bottom-right corners) as ``(F, 4)`` corners at the working
    scale, corners sorted so ``x0 ≤ x1`` and ``y0 ≤ y1``."""
    tracks, _ = rows_for(box, frames)
    corners = scale_points(tracks, sx, sy)
    lo = np.minimum(corners[:, 0], corners[:, 1])
    hi = np.maximum(corners[:, 0], corners[:, 1])
    return np.concatenate([lo, hi], axis=1).astype(np.float32)


def box_video(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The box-moving video of the trajectory setting (§3.2): a mid-grey background with a
    checkered box that carries its texture along the path. ``(F, H, W, 3)`` uint8."""
    w, h = size
    out = np.full((len(boxes), h, w, 3), 128, np.uint8)
    for f, (x0, y0, x1, y1) in enumerate(boxes):
        a, b = int(max(0, round(x0))), int(min(w, round(x1) + 1))
        c, d = int(max(0, round(y0))), int(min(h, round(y1) + 1))
        if a >= b or c >= d:
            continue
        yy, xx = np.mgrid[c:d, a:b]
        cell = max(2.0, min(x1 - x0, y1 - y0) / 4)
        checker = (((xx - x0) // cell + (yy - y0) // cell) % 2).astype(bool)
        out[f, c:d, a:b] = np.where(checker[..., None], (220, 90, 60), (40, 70, 200))
    return out


def trajectory_noise(shape: tuple[int, ...], boxes_cells: np.ndarray, generator,
                     cutoff: float = 0.25):
    """FreeTraj's trajectory-injected initial noise (ref. [52] of the paper) for latents of
    ``shape`` ``(1, C, F, h, w)``: the noise inside the first frame's box is copied (resized)
    into every frame's box, then its low spatio-temporal frequencies are kept and the high
    ones replaced by fresh noise, and each frame is restandardised. ``boxes_cells`` ``(F, 4)``
    in latent cells. FreeTraj's cut-off 0.25 (of the Nyquist band) is kept."""
    import torch
    import torch.nn.functional as fn

    base = torch.randn(shape, generator=generator)
    fresh = torch.randn(shape, generator=generator)
    _, _, frames, h, w = shape
    x0, y0, x1, y1 = boxes_cells[0]
    a, b = int(np.clip(round(x0), 0, w - 1)), int(np.clip(round(x1), 0, w - 1)) + 1
    c, d = int(np.clip(round(y0), 0, h - 1)), int(np.clip(round(y1), 0, h - 1)) + 1
    patch = base[:, :, 0, c:d, a:b]
    moved = base.clone()
    for f in range(1, frames):
        x0, y0, x1, y1 = boxes_cells[f]
        fa, fb = int(np.clip(round(x0), 0, w - 1)), int(np.clip(round(x1), 0, w - 1)) + 1
        fc, fd = int(np.clip(round(y0), 0, h - 1)), int(np.clip(round(y1), 0, h - 1)) + 1
        moved[:, :, f, fc:fd, fa:fb] = fn.interpolate(patch, size=(fd - fc, fb - fa),
                                                      mode="nearest")
    ft = torch.fft.fftfreq(frames)[:, None, None]
    fy = torch.fft.fftfreq(h)[None, :, None]
    fx = torch.fft.fftfreq(w)[None, None, :]
    radius = torch.sqrt((ft / 0.5) ** 2 + (fy / 0.5) ** 2 + (fx / 0.5) ** 2)
    low = torch.exp(-(radius ** 2) / (2 * cutoff ** 2))
    dims = (-3, -2, -1)
    mixed = torch.fft.ifftn(torch.fft.fftn(moved, dim=dims) * low
                            + torch.fft.fftn(fresh, dim=dims) * (1 - low), dim=dims).real
    mean = mixed.mean(dim=(1, 3, 4), keepdim=True)
    std = mixed.std(dim=(1, 3, 4), keepdim=True).clamp_min(1e-6)
    return (mixed - mean) / std
