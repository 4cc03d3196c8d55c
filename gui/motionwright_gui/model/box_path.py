"""Box paths for guided generation (S²V2V) in the editor (no Qt, no editor state).

A box path is a tuple of keyframes ``(frame, x, y, w, h)`` (frame pixels, top-left corner and
size), one per frame, sorted by frame. Between keyframes the box moves linearly; before the
first and after the last it holds still. The SDK takes the path as a
:class:`~motionwright.Trajectory` of 2 points per frame: top-left and bottom-right corners.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import motionwright as mw

BoxKey = tuple[int, float, float, float, float]


def check_box(box: Any, size: tuple[int, int], frame: int) -> tuple[float, float, float, float]:
    """``box`` ``(x, y, w, h)`` as floats, checked to have a positive size and to lie inside
    the ``size`` (width, height) frame; InvalidInputError naming the box otherwise."""
    x, y, w, h = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    width, height = size
    if not (w > 0 and h > 0):
        raise mw.errors.InvalidInputError(
            f"box: on frame {frame} the box {x:g},{y:g},{w:g},{h:g} has no area; drag out a "
            f"box with a width and height")
    if x < -0.5 or y < -0.5 or x + w > width + 0.5 or y + h > height + 0.5:
        raise mw.errors.InvalidInputError(
            f"box: on frame {frame} the box {x:g},{y:g},{w:g},{h:g} (x,y,w,h) leaves the "
            f"{width}x{height} frame; keep it inside the picture")
    return x, y, w, h


def box_from_corners(a: Any, b: Any) -> tuple[float, float, float, float]:
    """The box ``(x, y, w, h)`` spanned by two opposite corners ``a`` and ``b`` (x, y)."""
    (ax, ay), (bx, by) = (np.asarray(v, np.float64).reshape(2) for v in (a, b))
    return float(min(ax, bx)), float(min(ay, by)), float(abs(bx - ax)), float(abs(by - ay))


def with_key(keys: tuple, frame: int, box: Any, size: tuple[int, int]) -> tuple:
    """``keys`` with the keyframe on ``frame`` set to ``box`` (x, y, w, h), checked against
    the ``size`` frame (a keyframe already on that frame is replaced)."""
    x, y, w, h = check_box(box, size, frame)
    rest = [k for k in keys if k[0] != int(frame)]
    return tuple(sorted([*rest, (int(frame), x, y, w, h)], key=lambda k: k[0]))


def boxes(keys: tuple, frames: int) -> np.ndarray:
    """The box on every one of ``frames`` frames: ``(frames, 4)`` float64 ``x, y, w, h``,
    linear between keyframes and held before the first and after the last."""
    if not keys:
        raise mw.errors.InvalidInputError("box: no box drawn yet; drag a box on a frame with "
                                          "the Box tool")
    at = [k[0] for k in keys]
    t = np.arange(frames)
    return np.stack([np.interp(t, at, [k[i] for k in keys]) for i in range(1, 5)], -1)


def box_at(keys: tuple, frame: int) -> tuple[float, float, float, float] | None:
    """The box on ``frame`` (interpolated), or None when no keyframe is set."""
    if not keys:
        return None
    x, y, w, h = boxes(keys, int(frame) + 1)[int(frame)]
    return float(x), float(y), float(w), float(h)


def box_trajectory(keys: tuple, frames: int) -> mw.Trajectory:
    """The path as the SDK's box form: a Trajectory of ``frames`` frames and 2 points (the
    top-left and bottom-right corners), always visible."""
    b = boxes(keys, frames)
    corners = np.stack([b[:, :2], b[:, :2] + b[:, 2:]], 1).astype(np.float32)
    return mw.Trajectory(corners, np.ones((frames, 2), bool))


def box_generation(keys: tuple, frames: int, prompt: str,
                   negative_prompt: str = "") -> mw.GuidedGeneration:
    """A GuidedGeneration of ``prompt`` over ``frames`` frames whose subject follows the box
    path ``keys`` (no reference clip)."""
    if frames < 2:
        raise mw.errors.InvalidInputError(
            f"frames: a box path needs a clip of at least 2 frames, got {frames}")
    return mw.GuidedGeneration(None, None, prompt, box=box_trajectory(keys, frames),
                               negative_prompt=negative_prompt)
