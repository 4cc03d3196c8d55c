"""``mw.track``: follow points placed on one frame through a clip, forward and backward.

The points start on ``points.frame``; :class:`~.core.PointTracker` carries them to the end of
the range and, separately, back to its start. Frames are decoded, prepared and their optical
flow computed on a worker thread one step ahead of the tracker (OpenCV releases the GIL), so
on two cores the flow and the appearance fits run side by side. Backward passes read the clip
forward in short chunks and walk each chunk in reverse, so long-GOP video is never seeked frame
by frame.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._validate import require_int
from ..errors import FrameRangeError, InvalidInputError
from ..progress import ProgressCallback, Reporter
from .core import PointTracker, TrackerOptions
from .flow import FlowEstimator, PreparedFrame, prepare

CHUNK = 16


def _check_clip(clip: Any) -> None:
    from ..clip import Clip

    if not isinstance(clip, Clip):
        raise InvalidInputError(f"clip: expected a motionwright Clip, got {type(clip).__name__}")
    if len(clip) == 0:
        raise InvalidInputError("clip: the clip has no frames; nothing to track")


def _as_points(points: Any):
    from ..types import PointSet

    if isinstance(points, PointSet):
        return points
    try:
        return PointSet(points, frame=0)
    except InvalidInputError as exc:
        raise type(exc)(f"points: expected a PointSet or an (N, 2) array; {exc}") from exc


def resolve_range(frames: Any, length: int) -> range:
    """Turn ``frames`` (None, a ``range``, or a ``(start, stop)`` pair with None for an open
    end) into a non-empty step-1 range inside ``[0, length)``."""
    if frames is None:
        return range(length)
    if isinstance(frames, range):
        if frames.step != 1:
            raise InvalidInputError(f"frames: expected a range with step 1, got {frames!r}")
        start, stop = frames.start, frames.stop
    else:
        try:
            start, stop = frames
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"frames: expected a range or a (start, stop) pair, got {frames!r}"
            ) from None
        start = 0 if start is None else require_int(start, "frames start")
        stop = length if stop is None else require_int(stop, "frames stop")
    if not 0 <= start < stop <= length:
        raise FrameRangeError(
            f"frames: [{start}, {stop}) is not a non-empty range inside the clip's "
            f"{length} frames [0, {length}); pick frames within the clip"
        )
    return range(start, stop)


def _ordered_frames(clip: Any, indices: range) -> Iterator[np.ndarray]:
    """Frames ``indices`` of ``clip`` in that order; descending runs are read forward in
    chunks of :data:`CHUNK` and reversed."""
    if indices.step > 0:
        yield from clip[indices.start:indices.stop]
        return
    hi = indices.start + 1
    lo_end = indices.stop + 1
    while hi > lo_end:
        lo = max(lo_end, hi - CHUNK)
        chunk = list(clip[lo:hi])
        yield from reversed(chunk)
        hi = lo


class _Feeder:
    """Prepares frames and their flow from the previous one on a worker thread."""

    _DONE = object()

    def __init__(self, frames: Iterator[np.ndarray], first: PreparedFrame,
                 options: TrackerOptions) -> None:
        self._frames = frames
        self._first = first
        self._options = options
        self._flow = FlowEstimator(options.flow_preset)
        self._queue: queue.Queue = queue.Queue(maxsize=3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        prev = self._first
        try:
            for frame in self._frames:
                if self._stop.is_set():
                    return
                cur = prepare(frame, self._options.flow_max_side)
                flows = self._flow.pair(prev, cur)
                if not self._put((cur, flows)):
                    return
                prev = cur
        except BaseException as exc:  # handed to the consumer
            self._put(exc)
            return
        self._put(self._DONE)

    def __iter__(self) -> Iterator[tuple[PreparedFrame, tuple[np.ndarray, np.ndarray]]]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def track(clip: Any, points: Any, *, frames: Any = None,
          progress: ProgressCallback | None = None, cancel: Any = None,
          options: TrackerOptions | None = None):
    """Track ``points`` (a :class:`~motionwright.PointSet` on frame ``points.frame``) through
    ``clip`` and return a :class:`~motionwright.Trajectory`.

    ``frames`` limits tracking to a range of clip frames (a ``range`` or ``(start, stop)``,
    stop exclusive; default the whole clip) that must contain the points' frame. The result
    covers that range (``start_frame`` = its start) with one row per frame, keeps the points'
    ids, marks a point hidden where it is occluded, left the frame or could not be followed,
    and gives an estimated position there (carried by its neighbours, or held where it was
    last seen; never more than ``options.bounds_margin`` pixels outside the frame).
    ``progress`` receives a ProgressEvent per tracked frame (stage ``"track"``); ``cancel``
    (CancelToken, threading.Event or callable) stops with
    :class:`~motionwright.errors.Cancelled`. ``options`` tunes the tracker
    (:class:`~motionwright.tracking.TrackerOptions`).
    """
    from ..types import Trajectory

    _check_clip(clip)
    pts = _as_points(points)
    if len(pts) == 0:
        raise InvalidInputError("points: the point set is empty; place at least one point")
    pts.check_inside(clip.size)
    span = resolve_range(frames, len(clip))
    key = pts.frame
    if key not in span:
        raise FrameRangeError(
            f"points.frame: the points are on frame {key}, outside the tracked frames "
            f"[{span.start}, {span.stop}); place them on a frame inside the range"
        )
    opts = options or TrackerOptions()
    n = len(pts)
    tracks = np.zeros((len(span), n, 2), np.float32)
    visible = np.zeros((len(span), n), bool)
    row = key - span.start
    tracks[row] = pts.points
    visible[row] = True
    reporter = Reporter("track", len(span) - 1, progress, cancel)
    reporter.check()
    key_frame = prepare(clip[key], opts.flow_max_side)
    for direction in (1, -1):
        stop = span.stop if direction > 0 else span.start - 1
        order = range(key + direction, stop, direction)
        if len(order) == 0:
            continue
        tracker = PointTracker(key_frame, pts.points, opts)
        feeder = _Feeder(_ordered_frames(clip, order), key_frame, opts)
        try:
            for frame_index, (cur, flows) in zip(order, feeder, strict=False):
                pos, vis = tracker.step(cur, flows=flows)
                tracks[frame_index - span.start] = pos
                visible[frame_index - span.start] = vis
                reporter.step()
        finally:
            feeder.close()
    return Trajectory(tracks, visible, start_frame=span.start, ids=pts.ids)
