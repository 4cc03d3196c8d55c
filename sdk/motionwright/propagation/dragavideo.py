"""Drag-A-Video §3.2: propagate handle, target and mask points from the drag frame to all frames.

- **Handle point sets.** Each handle point grows into a k×k point set in a square patch around
  it (3×3 in the paper's ablation, Fig. 6). The set is split into foreground points (on the
  dragged object; the paper uses a SAM mask) and background points. Foreground points are
  tracked; each background point moves with the motion of its nearest foreground point, eq. (1):
  p_b^(i+1) = p_b^i + p̂_f^(i+1) − p̂_f^i.
- **Targets** move with their handle, eq. (2): q^(i+1) = q^i + p^(i+1) − p^i.
- **Mask.** Sparse "mask points" are propagated like the handle sets, and each frame's mask is
  the union of small square patches centred on them (Fig. 5).

The paper tracks foreground points with DIFT features and splits them with a SAM mask:
:func:`propagate_drag` takes both as options (``foreground``: a SAM mask; ``correspond``: a
DIFT point matcher, see ``motionwright.methods.dragavideo``); without them the optical-flow
tracker :func:`motionwright.track` follows the points and the split is by mask or motion.
Arrays: points ``(N, 2)`` float32 pixels, tracks ``(T, N, 2)``, visibility ``(T, N)`` bool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .._validate import as_array, require_finite, require_int
from ..errors import InvalidInputError, ShapeError


def expand_point_sets(points: Any, k: int = 3, spacing: float = 4.0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Grow each point ``(N, 2)`` into a k×k grid ``spacing`` pixels apart centred on it.

    Returns the expanded points ``(N·k·k, 2)`` float32 (each set in row-major order, the
    centre — the original point — at index ``k·k // 2`` of its set for odd ``k``) and
    ``group`` ``(N·k·k,)`` int64: which original point each came from.
    """
    pts = as_array(points, "points", np.float32, (None, 2), "(N, 2)")
    require_finite(pts, "points")
    k = require_int(k, "k", 1)
    if not np.isfinite(spacing) or spacing <= 0:
        raise InvalidInputError(f"spacing: expected a positive number of pixels, got {spacing!r}")
    offs = (np.arange(k, dtype=np.float32) - (k - 1) / 2.0) * float(spacing)
    gx, gy = np.meshgrid(offs, offs)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    expanded = (pts[:, None, :] + grid[None]).reshape(-1, 2)
    group = np.repeat(np.arange(len(pts), dtype=np.int64), k * k)
    return expanded.astype(np.float32), group


def split_foreground(points: Any, mask: Any) -> np.ndarray:
    """``(N,)`` bool: which ``points`` ``(N, 2)`` fall on the ``(H, W)`` foreground ``mask``
    (by their nearest pixel; points outside the frame are background)."""
    pts = as_array(points, "points", np.float32, (None, 2), "(N, 2)")
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ShapeError(f"mask: expected an (H, W) array, got shape {m.shape}")
    h, w = m.shape
    ix, iy = np.rint(pts[:, 0]).astype(np.int64), np.rint(pts[:, 1]).astype(np.int64)
    inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    fg = np.zeros(len(pts), bool)
    fg[inside] = m[iy[inside], ix[inside]].astype(bool)
    return fg


def split_by_motion(tracks: np.ndarray, visible: np.ndarray, group: np.ndarray,
                    centres: np.ndarray, key_row: int, tolerance: float = 2.0) -> np.ndarray:
    """Foreground/background split without a mask: ``(M,)`` bool.

    A handle is by definition on what is dragged, so a point of its set counts as foreground
    when its offset to the handle (index ``centres[group]`` in ``tracks``) stays within
    ``tolerance`` pixels plus 10% of the handle's path length of the offset on row ``key_row``,
    on average over the frames where both are visible. The handles themselves are always
    foreground.
    """
    owner = centres[group]
    offset = tracks - tracks[:, owner]
    both = visible & visible[:, owner]
    dev = np.linalg.norm(offset - offset[key_row][None], axis=2)
    counted = np.maximum(both.sum(axis=0), 1)
    mean_dev = np.where(both, dev, 0.0).sum(axis=0) / counted
    steps = np.linalg.norm(np.diff(tracks[:, centres], axis=0), axis=2)
    hand_len = np.nansum(steps, axis=0)[group]
    fg = mean_dev <= tolerance + 0.1 * hand_len
    fg[centres] = True
    return fg


def propagate_background(fg_tracks: np.ndarray, fg_visible: np.ndarray, bg_points: np.ndarray,
                         key_row: int) -> np.ndarray:
    """Drag-A-Video eq. (1): move background points with their nearest foreground point.

    ``fg_tracks`` ``(T, F, 2)`` and ``fg_visible`` ``(T, F)`` are the tracked foreground points;
    ``bg_points`` ``(B, 2)`` the background points on row ``key_row``. Stepping away from the
    key row one frame at a time, each background point takes the displacement of the
    foreground point nearest to it on the current frame (among those visible on both frames);
    with none, it stays. Returns ``(T, B, 2)`` float32.
    """
    t_count = fg_tracks.shape[0]
    out = np.zeros((t_count, len(bg_points), 2), np.float32)
    out[key_row] = bg_points
    if len(bg_points) == 0:
        return out
    for direction in (1, -1):
        cur = np.asarray(bg_points, np.float32).copy()
        i = key_row
        while 0 <= i + direction < t_count:
            j = i + direction
            ok = fg_visible[i] & fg_visible[j]
            if ok.any():
                src = fg_tracks[i, ok]
                d = np.linalg.norm(cur[:, None, :] - src[None], axis=2)
                nearest = np.argmin(d, axis=1)
                cur = cur + (fg_tracks[j, ok][nearest] - src[nearest])
            out[j] = cur
            i = j
    return out


def propagate_targets(handle_tracks: np.ndarray, targets: np.ndarray, key_row: int) -> np.ndarray:
    """Drag-A-Video eq. (2): each target moves as its handle does.

    q^(i+1) = q^i + p^(i+1) − p^i telescopes to q^t = q^key + p^t − p^key. ``handle_tracks``
    ``(T, N, 2)``, ``targets`` ``(N, 2)`` on row ``key_row``; returns ``(T, N, 2)`` float32.
    """
    tracks = np.asarray(handle_tracks, np.float32)
    return (np.asarray(targets, np.float32)[None] + tracks - tracks[key_row][None]).astype(
        np.float32)


def mask_from_points(points: Any, size: Any, patch: int) -> np.ndarray:
    """Fig. 5: the union of ``patch``×``patch`` squares centred on ``points`` ``(M, 2)``, as an
    ``(H, W)`` bool mask of ``size`` (width, height)."""
    from ..types.pointset import check_size

    width, height = check_size(size)
    patch = require_int(patch, "patch", 1)
    pts = as_array(points, "points", np.float32, (None, 2), "(M, 2)")
    out = np.zeros((height, width), np.uint8)
    half = patch / 2.0
    for x, y in pts[np.isfinite(pts).all(axis=1)]:
        x0, y0 = int(np.ceil(x - half + 0.5)), int(np.ceil(y - half + 0.5))
        cv2.rectangle(out, (x0, y0), (x0 + patch - 1, y0 + patch - 1), 1, thickness=-1)
    return out.astype(bool)


def mask_points(mask: np.ndarray, spacing: int) -> np.ndarray:
    """Sparse points on a ``spacing``-pixel grid inside the ``(H, W)`` bool ``mask`` — the
    "mask points" that stand for a mask drawn by the user. ``(M, 2)`` float32."""
    m = np.asarray(mask, bool)
    h, w = m.shape
    off = spacing // 2
    ys, xs = np.mgrid[off:h:spacing, off:w:spacing]
    keep = m[ys, xs]
    pts = np.stack([xs[keep], ys[keep]], axis=1).astype(np.float32)
    if len(pts) == 0 and m.any():
        iy, ix = np.nonzero(m)
        pts = np.array([[ix.mean(), iy.mean()]], np.float32)
    return pts


@dataclass(frozen=True)
class DragPropagation:
    """The drag inputs carried to every frame of a range.

    ``start_frame``: the frame of row 0; ``key_row``: the row of the drag frame;
    ``handles`` / ``targets`` ``(T, N·k·k, 2)`` float32: the handle point sets and their target
    sets on every frame; ``group`` ``(N·k·k,)``: which user handle each point belongs to;
    ``foreground`` ``(N·k·k,)`` bool: the split used for eq. (1); ``visible`` ``(T, N·k·k)``
    bool: whether each handle point was seen (background points count as seen);
    ``mask_tracks`` ``(T, M, 2)`` and ``mask_visible`` ``(T, M)``: the propagated mask points
    (M may be 0); ``mask_patch``: the side of the squares whose union makes each frame's mask.
    """

    start_frame: int
    key_row: int
    handles: np.ndarray
    targets: np.ndarray
    group: np.ndarray
    foreground: np.ndarray
    visible: np.ndarray
    mask_tracks: np.ndarray
    mask_visible: np.ndarray
    mask_patch: int

    def mask(self, frame: int, size: tuple[int, int]) -> np.ndarray:
        """The frame's mask (Fig. 5): the union of patches around the visible mask points."""
        row = frame - self.start_frame
        pts = self.mask_tracks[row][self.mask_visible[row]]
        return mask_from_points(pts, size, self.mask_patch)


def propagate_drag(clip: Any, handles: Any, targets: Any, *, mask: Any = None,
                   k: int = 3, spacing: float = 4.0, mask_spacing: int = 16,
                   frames: Any = None, progress: Any = None, cancel: Any = None,
                   tracker_options: Any = None, foreground: Any = None,
                   correspond: Any = None) -> DragPropagation:
    """Carry a drag's handles, targets and mask from its frame to every frame (§3.2).

    ``handles`` and ``targets`` are :class:`~motionwright.PointSet` s on the drag frame.
    ``mask`` (a :class:`~motionwright.Mask` or an ``(H, W)`` bool array) splits each handle's
    k×k set into foreground and background; without one, the split is by motion
    (:func:`split_by_motion`). The mask is also sampled into mask points every
    ``mask_spacing`` pixels and propagated (Fig. 5). Everything is tracked in one call to
    :func:`motionwright.track` (``progress``, ``cancel``, ``frames`` and ``tracker_options``
    are passed on).

    ``foreground`` (an ``(H, W)`` bool array on the drag frame, e.g. from
    :func:`motionwright.segment`) overrides ``mask`` for the foreground/background split.
    ``correspond(points (P, 2), key_frame, frames: range) -> (tracks (T, P, 2), visible
    (T, P))`` replaces the optical-flow tracker (e.g. DIFT correspondences); ``frames`` is
    the tracked range (default the whole clip).
    """
    from ..tracking import track
    from ..types import Mask, PointSet, Trajectory

    if not isinstance(handles, PointSet) or not isinstance(targets, PointSet):
        raise InvalidInputError("handles, targets: expected PointSets on the drag frame")
    if len(handles) == 0:
        raise InvalidInputError("handles: a drag needs at least one handle point")
    if len(handles) != len(targets):
        raise InvalidInputError(
            f"targets: expected one target per handle ({len(handles)}), got {len(targets)}; "
            "give handles and targets in pairs"
        )
    frame = handles.frame
    width, height = clip.size
    key_mask = None
    if mask is not None:
        key_mask = mask.at(frame) if isinstance(mask, Mask) else np.asarray(mask, bool)
        if key_mask.shape != (height, width):
            raise ShapeError(
                f"mask: expected the clip's size {width}x{height}, got "
                f"{key_mask.shape[1]}x{key_mask.shape[0]}"
            )
    sets, group = expand_point_sets(handles.points, k, spacing)
    # Keep set points inside the frame (a handle near the border).
    sets[:, 0] = np.clip(sets[:, 0], 0, width - 1)
    sets[:, 1] = np.clip(sets[:, 1], 0, height - 1)
    centres = np.arange(len(handles)) * (k * k) + (k * k) // 2
    target_sets = sets - handles.points[group] + targets.points[group]
    mpts = mask_points(key_mask, mask_spacing) if key_mask is not None else np.zeros((0, 2),
                                                                                    np.float32)
    all_pts = np.concatenate([sets, mpts]).astype(np.float32)
    if correspond is not None:
        from ..tracking.api import resolve_range

        span = resolve_range(frames, len(clip))
        if frame not in span:
            raise InvalidInputError(
                f"frames: the tracked range [{span.start}, {span.stop}) does not hold the drag "
                f"frame {frame}")
        c_tracks, c_vis = correspond(all_pts, frame, span)
        traj = Trajectory(np.asarray(c_tracks, np.float32), np.asarray(c_vis, bool),
                          start_frame=span.start)
    else:
        traj = track(clip, PointSet(all_pts, frame=frame), frames=frames, progress=progress,
                     cancel=cancel, options=tracker_options)
    key_row = frame - traj.start_frame
    n_set = len(sets)
    set_tracks, set_vis = traj.tracks[:, :n_set], traj.visible[:, :n_set]
    split_mask = key_mask
    if foreground is not None:
        split_mask = np.asarray(foreground, bool)
        if split_mask.shape != (height, width):
            raise ShapeError(
                f"foreground: expected the clip's size {width}x{height}, got "
                f"{split_mask.shape[1]}x{split_mask.shape[0]}")
    if split_mask is not None:
        fg = split_foreground(sets, split_mask)
        fg[centres] = True
    else:
        fg = split_by_motion(set_tracks, set_vis, group, centres, key_row)
    tracks = np.array(set_tracks, np.float32)
    visible = np.array(set_vis)
    bg = ~fg
    if bg.any():
        tracks[:, bg] = propagate_background(set_tracks[:, fg], set_vis[:, fg], sets[bg], key_row)
        visible[:, bg] = True
    target_tracks = propagate_targets(tracks, target_sets, key_row)
    return DragPropagation(
        start_frame=traj.start_frame, key_row=key_row, handles=tracks, targets=target_tracks,
        group=group, foreground=fg, visible=visible,
        mask_tracks=np.array(traj.tracks[:, n_set:], np.float32),
        mask_visible=np.array(traj.visible[:, n_set:]), mask_patch=int(mask_spacing) + 2,
    )
