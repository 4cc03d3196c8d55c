"""Pure operations on edits for the inspector and the timeline (no Qt, no editor state).

Each function takes an edit (or one of its parts) and returns a new one; validation against the
clip (frame range, frame size) raises the SDK's typed errors with the argument's name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

import motionwright as mw
from motionwright.path import path_positions

AS_DRAWN = "as drawn"
TRAJECTORY_TIMINGS = (AS_DRAWN, "uniform", "ease")


def edit_span(edit: Any, num_frames: int) -> tuple[int, int]:
    """``(first frame, last frame)`` (inclusive) that ``edit`` covers on the timeline."""
    if isinstance(edit, mw.DragEdit):
        return edit.frame, edit.frame
    if isinstance(edit, mw.TrajectoryEdit):
        tr = edit.trajectories
        return tr.start_frame, tr.end_frame - 1
    return 0, max(num_frames - 1, 0)


def edit_keyframes(edit: Any) -> list[int]:
    """Sorted frames on which ``edit`` holds a keyframe: a drag's frame, every frame a
    trajectory has a point on, an animated mask's frames, a guided generation's point or box
    frames."""
    frames: set[int] = set()
    if isinstance(edit, mw.DragEdit):
        frames.add(edit.frame)
        if edit.mask is not None and not edit.mask.is_static:
            frames.update(range(edit.mask.start_frame, edit.mask.end_frame))
    elif isinstance(edit, mw.TrajectoryEdit):
        tr = edit.trajectories
        rows = np.flatnonzero(np.asarray(tr.visible).any(axis=1))
        frames.update(int(tr.start_frame + r) for r in rows)
    elif isinstance(edit, mw.GuidedGeneration):
        for part in (edit.points, edit.box):
            if isinstance(part, mw.PointSet):
                frames.add(part.frame)
            elif isinstance(part, mw.Trajectory):
                frames.update(range(part.start_frame, part.end_frame))
    return sorted(frames)


def retime_mode(edit: Any) -> str:
    """How the timeline may change ``edit``'s timing: ``"trim"`` (move and drag either end),
    ``"move"`` (a single-frame edit that can only move) or ``"none"`` (the whole clip)."""
    if isinstance(edit, mw.TrajectoryEdit):
        return "trim"
    if isinstance(edit, mw.DragEdit):
        return "move"
    return "none"


def _frame_arg(value: Any, name: str, num_frames: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise mw.errors.InvalidInputError(f"{name}: expected a frame index, got {value!r}")
    if not 0 <= int(value) < num_frames:
        raise mw.errors.FrameRangeError(
            f"{name}: frame {value} is outside the clip (0..{num_frames - 1}); pick a frame "
            "inside it")
    return int(value)


def resample_trajectory(traj: mw.Trajectory, start: int, length: int,
                        timing: str = AS_DRAWN) -> mw.Trajectory:
    """``traj`` over ``length`` frames from ``start``.

    ``timing`` ``"as drawn"`` stretches time (each track keeps its path and its speed
    profile along it); ``"uniform"`` and ``"ease"`` re-time every track along its own path
    (constant speed, ease in/out). Visibility follows the nearest original frame.
    """
    if timing not in TRAJECTORY_TIMINGS:
        raise mw.errors.InvalidInputError(
            f"timing: expected one of {', '.join(TRAJECTORY_TIMINGS)}, got {timing!r}")
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 1:
        raise mw.errors.InvalidInputError(f"length: expected at least 1 frame, got {length!r}")
    tracks = np.asarray(traj.tracks, np.float64)
    n0 = traj.num_frames
    u_old = np.linspace(0.0, 1.0, n0) if n0 > 1 else np.zeros(1)
    u_new = np.linspace(0.0, 1.0, int(length)) if length > 1 else np.zeros(1)
    out = np.empty((int(length), traj.num_points, 2), np.float64)
    for k in range(traj.num_points):
        poly = tracks[:, k]
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(poly, axis=0), axis=1))])
        if arc[-1] <= 0:
            out[:, k] = poly[0]
        elif timing == AS_DRAWN:
            # keep the speed profile: the arc-length fraction covered, stretched in time
            profile = arc / arc[-1]
            out[:, k] = path_positions(poly, int(length),
                                       lambda u, p=profile: np.interp(u, u_old, p))
        else:
            out[:, k] = path_positions(poly, int(length), timing)
    rows = np.rint(u_new * (n0 - 1)).astype(int)
    visible = np.asarray(traj.visible)[rows]
    return mw.Trajectory(out.astype(np.float32), visible, start_frame=int(start), ids=traj.ids)


def detect_timing(traj: mw.Trajectory, tol: float = 0.25) -> str:
    """The timing ``traj``'s moving tracks follow: ``"uniform"``, ``"ease"`` or
    ``"as drawn"`` (anything else, e.g. a hand-timed path); ``tol`` is in pixels."""
    tracks = np.asarray(traj.tracks, np.float64)
    if traj.num_frames < 3:
        return AS_DRAWN
    moving = [k for k in range(traj.num_points) if np.ptp(tracks[:, k], axis=0).max() > tol]
    if not moving:
        return AS_DRAWN
    for timing in ("uniform", "ease"):
        if all(np.abs(path_positions(tracks[:, k], traj.num_frames, timing)
                      - tracks[:, k]).max() <= tol for k in moving):
            return timing
    return AS_DRAWN


def retime_edit(edit: Any, first: int, last: int, num_frames: int,
                timing: str = AS_DRAWN) -> Any:
    """``edit`` covering frames ``first..last`` (inclusive) of a ``num_frames`` clip: a drag
    moves to ``first``; a trajectory is resampled over the new range (``timing`` as in
    :func:`resample_trajectory`)."""
    first = _frame_arg(first, "first", num_frames)
    last = _frame_arg(last, "last", num_frames)
    if last < first:
        raise mw.errors.InvalidInputError(
            f"last: the span must end at or after its start ({first}), got {last}")
    if isinstance(edit, mw.DragEdit):
        if edit.mask is not None:
            try:
                edit.mask.at(first)
            except mw.errors.FrameRangeError:
                raise mw.errors.FrameRangeError(
                    f"first: the drag's mask covers frames {edit.mask.start_frame}.."
                    f"{edit.mask.end_frame - 1} only, not {first}; use a static mask to move "
                    "the drag freely") from None
        return dataclasses.replace(
            edit, handles=edit.handles.with_points(edit.handles.points, first),
            targets=edit.targets.with_points(edit.targets.points, first))
    if isinstance(edit, mw.TrajectoryEdit):
        tr = edit.trajectories
        length = last - first + 1
        if length == tr.num_frames and timing == AS_DRAWN:
            moved = mw.Trajectory(tr.tracks, tr.visible, start_frame=first, ids=tr.ids)
        else:
            moved = resample_trajectory(tr, first, length, timing)
        return dataclasses.replace(edit, trajectories=moved)
    raise mw.errors.InvalidInputError(
        f"edit: a {type(edit).__name__} covers the whole clip and cannot be retimed")


def set_pair(edit: mw.DragEdit, pair: int, size: tuple[int, int], handle: Any = None,
             target: Any = None) -> mw.DragEdit:
    """``edit`` with pair ``pair``'s ``handle`` and/or ``target`` (x, y) replaced; both must
    lie inside the ``size`` (width, height) frame."""
    if not isinstance(edit, mw.DragEdit):
        raise mw.errors.InvalidInputError(f"edit: expected a DragEdit, got {type(edit).__name__}")
    n = len(edit.handles)
    if isinstance(pair, bool) or not isinstance(pair, int | np.integer) or not 0 <= pair < n:
        raise mw.errors.InvalidInputError(f"pair: expected 0..{n - 1}, got {pair!r}")
    w, h = size
    parts = {}
    for name, value, ps in (("handle", handle, edit.handles), ("target", target, edit.targets)):
        if value is None:
            continue
        xy = np.asarray(value, np.float64).reshape(-1)
        if xy.shape != (2,) or not np.all(np.isfinite(xy)):
            raise mw.errors.InvalidInputError(f"{name}: expected finite (x, y), got {value!r}")
        if not (-0.5 <= xy[0] <= w - 0.5 and -0.5 <= xy[1] <= h - 0.5):
            raise mw.errors.InvalidInputError(
                f"{name}: ({xy[0]:g}, {xy[1]:g}) lies outside the {w}x{h} frame (x in "
                f"[-0.5, {w - 0.5}], y in [-0.5, {h - 0.5}]); enter a point inside it")
        pts = ps.points.copy()
        pts[pair] = xy
        parts["handles" if name == "handle" else "targets"] = ps.with_points(pts)
    return dataclasses.replace(edit, **parts) if parts else edit


def remove_pair(edit: mw.DragEdit, pair: int) -> mw.DragEdit | None:
    """``edit`` without pair ``pair`` (None when it was the last one)."""
    n = len(edit.handles)
    if not 0 <= pair < n:
        raise mw.errors.InvalidInputError(f"pair: expected 0..{n - 1}, got {pair!r}")
    if n == 1:
        return None
    keep = np.arange(n) != pair
    return dataclasses.replace(
        edit, handles=mw.PointSet(edit.handles.points[keep], frame=edit.frame),
        targets=mw.PointSet(edit.targets.points[keep], frame=edit.frame))


def grow_mask(mask: mw.Mask, px: int) -> mw.Mask | None:
    """``mask`` grown by ``px`` pixels (negative shrinks it); None when shrinking empties it."""
    if isinstance(px, bool) or not isinstance(px, int | np.integer):
        raise mw.errors.InvalidInputError(f"px: expected an integer number of pixels, got {px!r}")
    if px >= 0:
        return mask.dilate(int(px))
    shrunk = ~mw.Mask(~mask.data, mask.start_frame).dilate(-int(px)).data
    return mw.Mask(shrunk, mask.start_frame) if shrunk.any() else None


def edit_mask(edit: Any) -> mw.Mask | None:
    """The mask of a drag edit or the region of a trajectory edit (None for others)."""
    if isinstance(edit, mw.DragEdit):
        return edit.mask
    if isinstance(edit, mw.TrajectoryEdit):
        return edit.region
    return None


def with_mask(edit: Any, mask: mw.Mask | None) -> Any:
    """``edit`` with its mask (drag) or region (trajectory) replaced."""
    if isinstance(edit, mw.DragEdit):
        return dataclasses.replace(edit, mask=mask)
    if isinstance(edit, mw.TrajectoryEdit):
        if mask is None:
            raise mw.errors.InvalidInputError(
                "mask: a trajectory edit needs a region; shrinking would leave it empty")
        return dataclasses.replace(edit, region=mask)
    raise mw.errors.InvalidInputError(f"edit: a {type(edit).__name__} has no mask")
