"""Building edits and masks from what the user drew (no Qt, no editor state).

Points are ``(x, y)`` frame pixels; frames are clip frame indices.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

import motionwright as mw
from motionwright.path import trajectory_from_path


def as_xy(xy: Any) -> tuple[float, float]:
    """``xy`` (anything holding two numbers) as an ``(x, y)`` tuple of floats."""
    x, y = (float(v) for v in np.asarray(xy, np.float64).reshape(2))
    return x, y


def drag_pair_edit(current: Any, handle: Any, target: Any, frame: int,
                   draft_mask: mw.Mask | None) -> tuple[mw.DragEdit, bool]:
    """The drag edit holding a new handle→target pair on ``frame``, and whether it extends
    ``current`` (a drag edit on that frame gets the pair appended; otherwise a new DragEdit
    over ``draft_mask``)."""
    h = np.asarray(handle, np.float32).reshape(1, 2)
    t = np.asarray(target, np.float32).reshape(1, 2)
    if isinstance(current, mw.DragEdit) and current.frame == frame:
        return mw.DragEdit(
            mw.PointSet(np.concatenate([current.handles.points, h]), frame=frame),
            mw.PointSet(np.concatenate([current.targets.points, t]), frame=frame),
            current.mask), True
    return mw.DragEdit(mw.PointSet(h, frame=frame), mw.PointSet(t, frame=frame),
                       draft_mask), False


def trajectory_edit(polyline: Any, start: int, end: int, timing: str, anchors: tuple,
                    region: mw.Mask | None, size: tuple[int, int]) -> mw.TrajectoryEdit:
    """A TrajectoryEdit moving along ``polyline`` ``(M, 2)`` over frames ``start..end``
    (inclusive) with ``timing`` and static ``anchors``, over ``region`` (default: a box
    around the path's start in the ``size`` (width, height) frame)."""
    poly = np.asarray(polyline, np.float64).reshape(-1, 2)
    traj = trajectory_from_path(poly, max(end - start + 1, 1), timing=timing,
                                anchors=np.asarray(anchors) if anchors else None,
                                start_frame=start)
    if region is None:
        w, h = size
        r = max(4.0, 0.06 * min(w, h))
        x, y = poly[0]
        region = mw.Mask.from_box(max(x - r, 0), max(y - r, 0), 2 * r, 2 * r, size=(w, h))
    return mw.TrajectoryEdit(region, traj)


def moved_point(edit: Any, point: int, delta: Any, which: str = "handle") -> Any:
    """``edit`` with point ``point`` moved by ``delta`` (dx, dy): a drag edit's handle or
    target (``which``), or a whole track of a trajectory edit; None for other edits."""
    d = np.asarray(delta, np.float32).reshape(2)
    if isinstance(edit, mw.DragEdit):
        field = "handles" if which == "handle" else "targets"
        ps = getattr(edit, field)
        pts = ps.points.copy()
        pts[point] += d
        return dataclasses.replace(edit, **{field: ps.with_points(pts)})
    if isinstance(edit, mw.TrajectoryEdit):
        tr = edit.trajectories
        tracks = tr.tracks.copy()
        tracks[:, point] += d
        return dataclasses.replace(edit, trajectories=mw.Trajectory(
            tracks, tr.visible, start_frame=tr.start_frame, ids=tr.ids))
    return None


def painted_mask(base: np.ndarray | None, size: tuple[int, int], stroke: Any, radius: float,
                 erase: bool = False) -> mw.Mask | None:
    """``base`` ``(H, W)`` bool (None: empty) with a brush ``stroke`` ``(M, 2)`` of discs of
    ``radius`` px painted in (``erase``: removed), as a static Mask of the ``size``
    (width, height) frame; None when nothing is left."""
    w, h = size
    data = np.zeros((h, w), bool) if base is None else base.copy()
    yy, xx = np.mgrid[0:h, 0:w]
    pts = np.asarray(stroke, np.float64).reshape(-1, 2)
    dense = [pts[0]]
    for a, b in itertools.pairwise(pts):
        n = int(np.ceil(np.hypot(*(b - a)) / max(radius / 2, 0.5)))
        dense += [a + (b - a) * k / max(n, 1) for k in range(1, n + 1)]
    stamp = np.zeros((h, w), bool)
    for x, y in dense:
        x0, x1 = int(max(x - radius - 1, 0)), int(min(x + radius + 2, w))
        y0, y1 = int(max(y - radius - 1, 0)), int(min(y + radius + 2, h))
        if x0 >= x1 or y0 >= y1:
            continue
        sub = (xx[y0:y1, x0:x1] - x) ** 2 + (yy[y0:y1, x0:x1] - y) ** 2 <= radius ** 2
        stamp[y0:y1, x0:x1] |= sub
    data = data & ~stamp if erase else data | stamp
    return mw.Mask(data[None]) if data.any() else None


def guided_generation(clip: Any, prompt: str, track_points: tuple, track_frame: int,
                      negative_prompt: str = "") -> Any:
    """A GuidedGeneration taking its motion from ``clip`` (which must come from a file): the
    track points on ``track_frame`` are the sparse points (none: picked automatically)."""
    path = clip.source_path
    if path is None:
        raise mw.errors.InvalidInputError(
            "reference: a guided generation reads its reference from a file; save the clip "
            "first (this one is only in memory)")
    points = None
    if track_points:
        points = mw.PointSet(np.asarray(track_points, np.float32), frame=track_frame)
    return mw.GuidedGeneration(path, points, prompt, negative_prompt=negative_prompt)
