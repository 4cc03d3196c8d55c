"""``mw.segment``: masks from clicks and boxes with Segment Anything, and their propagation.

:func:`segment` turns positive/negative clicks (a :class:`~motionwright.PointSet` whose
``labels`` are 1/0) and/or a box on one frame into a :class:`~motionwright.Mask`.
:func:`segment_clip` carries the prompts through a clip with the point tracker
(:func:`motionwright.track`) and segments every frame with the tracked prompts, so the mask
follows the object. The model is the ``sam`` family of the model store (a transformers SamModel
folder, or an official checkpoint with the ``segment-anything`` package); a missing model is a
:class:`~motionwright.models.ModelNotFoundError` naming ``motionwright models add sam PATH``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import as_array, require_finite
from .errors import InvalidInputError, ShapeError
from .progress import Reporter


def _check_frame(frame: Any) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ShapeError(f"frame: expected an (H, W, 3) RGB image, got shape {arr.shape}")
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ShapeError(f"frame: expected uint8 (or uint16) pixels, got {arr.dtype}")
    return np.ascontiguousarray(arr)


def _check_prompts(points: Any, box: Any, size: tuple[int, int]
                   ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    from .types import PointSet

    if points is None and box is None:
        raise InvalidInputError("points, box: give at least one click or a box to segment")
    pts = labels = None
    if points is not None:
        if not isinstance(points, PointSet):
            raise InvalidInputError(
                f"points: expected a PointSet (labels 1 positive / 0 negative), got "
                f"{type(points).__name__}")
        if len(points) == 0 and box is None:
            raise InvalidInputError("points: the point set is empty; click at least one point")
        points.check_inside(size)
        pts = np.asarray(points.points, np.float32)
        labels = (np.ones(len(pts), np.int64) if points.labels is None
                  else np.asarray(points.labels, np.int64))
        bad = ~np.isin(labels, (0, 1))
        if bad.any():
            raise InvalidInputError(
                f"points.labels: expected 1 (positive) or 0 (negative), got "
                f"{labels[bad][0]}")
        if box is None and not (labels == 1).any():
            raise InvalidInputError(
                "points.labels: every click is negative; add a positive click (label 1) or a box")
    bx = None
    if box is not None:
        bx = as_array(box, "box", np.float32, (4,), "(x, y, w, h)")
        require_finite(bx, "box")
        width, height = size
        if bx[2] <= 0 or bx[3] <= 0:
            raise InvalidInputError(f"box: expected a positive width and height, got {box!r}")
        if bx[0] < 0 or bx[1] < 0 or bx[0] + bx[2] > width or bx[1] + bx[3] > height:
            raise InvalidInputError(
                f"box: {tuple(float(v) for v in bx)} reaches outside the {width}x{height} frame")
        bx = np.array([bx[0], bx[1], bx[0] + bx[2], bx[1] + bx[3]], np.float32)
    return pts, labels, bx


def sam_runner(models: Any = None):
    """The loaded SAM (:class:`motionwright.models.sam.SamRunner`) from ``models`` (None: the
    configured one; a path; ``{"sam": path}``; a Models) placed on its device."""
    from .models.loading import as_models

    loaded = as_models(models).get("sam")
    runner = loaded.pipeline
    runner.to(loaded.device)
    return runner


def segment(frame: Any, points: Any = None, box: Any = None, *, models: Any = None):
    """A :class:`~motionwright.Mask` (one static frame) of the object the prompts point at.

    ``frame``: ``(H, W, 3)`` uint8 RGB; ``points``: a PointSet of clicks (``labels`` 1 keep,
    0 exclude; no labels means all positive); ``box``: ``(x, y, w, h)`` pixels. The mask's
    ``start_frame`` is ``points.frame`` (0 without points).
    """
    from .types import Mask

    img = _check_frame(frame)
    size = (img.shape[1], img.shape[0])
    pts, labels, bx = _check_prompts(points, box, size)
    mask, _ = sam_runner(models).predict(img, pts, labels, bx)
    start = points.frame if points is not None else 0
    return Mask(mask[None], start_frame=start)


def segment_clip(clip: Any, points: Any = None, box: Any = None, *, frames: Any = None,
                 models: Any = None, progress: Any = None, cancel: Any = None):
    """Segment the object through ``clip``: a ``(T, H, W)`` :class:`~motionwright.Mask`.

    The clicks (and the box's corners) are placed on ``points.frame`` (frame 0 for a box
    alone), tracked through the frames with :func:`motionwright.track` (a range ``frames``,
    default all), and SAM segments each frame from the prompts visible there; the box follows
    its tracked corners. A frame where no positive prompt is visible gets an empty mask.
    ``progress`` gets stages ``"track"`` then ``"segment"`` (one step per frame); ``cancel``
    stops with :class:`~motionwright.errors.Cancelled`.
    """
    from .tracking import track
    from .types import Mask, PointSet

    pts, labels, bx = _check_prompts(points, box, clip.size)
    key = points.frame if points is not None else 0
    prompt = [] if pts is None else list(pts)
    if bx is not None:
        prompt += [bx[:2], bx[2:] - 1.0]
    runner = sam_runner(models)
    traj = track(clip, PointSet(np.asarray(prompt, np.float32), frame=key), frames=frames,
                 progress=progress, cancel=cancel)
    n_pts = 0 if pts is None else len(pts)
    reporter = Reporter("segment", traj.num_frames, progress, cancel)
    width, height = clip.size
    out = np.zeros((traj.num_frames, height, width), bool)
    for row in range(traj.num_frames):
        index = traj.start_frame + row
        vis = traj.visible[row]
        p = l_ = None
        if n_pts:
            keep = vis[:n_pts]
            p, l_ = traj.tracks[row, :n_pts][keep], labels[keep]
        b = None
        if bx is not None and vis[n_pts:].all():
            c = traj.tracks[row, n_pts:]
            b = np.array([c[0, 0], c[0, 1], c[1, 0] + 1.0, c[1, 1] + 1.0], np.float32)
            b[[0, 2]] = np.clip(b[[0, 2]], 0, width)
            b[[1, 3]] = np.clip(b[[1, 3]], 0, height)
        has_positive = (l_ is not None and (l_ == 1).any()) or b is not None
        if has_positive:
            image = _check_frame(clip[index])
            out[row], _ = runner.predict(image, p if p is not None and len(p) else None,
                                         l_ if p is not None and len(p) else None, b)
        reporter.step()
    return Mask(out, start_frame=traj.start_frame)
