"""Trajectory: N point tracks over T consecutive frames, with per-frame visibility."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import _persist, limits
from .._validate import as_array, freeze, require_int
from ..errors import FrameRangeError, InvalidInputError, ShapeError
from ._common import int_list, reading, require_numbers
from .pointset import PointSet, check_ids, check_scale, scale_xy

SCHEMA = "Trajectory"
VERSION = 1


def check_track_size(frames: int, points: int, what: str) -> None:
    """Refuse tracks read from a file beyond the frame, point and array-size limits, before
    allocating them (``what`` names the source, e.g. ``"'shot.npz'"``)."""
    lim = limits.current()
    lim.check("max_frames", frames, f"{what} frames")
    lim.check("max_points", points, f"{what} points")
    lim.check("max_array_bytes", frames * points * 2 * 8, f"{what} positions in bytes")


class Trajectory:
    """N points tracked over T consecutive frames starting at ``start_frame``.

    ``tracks`` is ``(T, N, 2)`` float32 pixel coordinates (x right, y down, centre of the
    top-left pixel at (0, 0)), time-major as CoTracker writes them; ``visible`` is ``(T, N)``
    bool. Where a point is visible its position must be finite. Where it is hidden the position
    is either an estimate (finite, as trackers report through occlusions) or NaN when unknown
    (both coordinates become NaN if either is); estimates are kept as given. Infinity is never
    allowed. ``ids`` are ``(N,)`` unique int64 ids matching the ids of the :class:`PointSet`
    the tracks started from (default ``0..N-1``). Row ``t`` describes frame
    ``start_frame + t``. Arrays are read-only.
    """

    __slots__ = ("_ids", "_start", "_tracks", "_visible")

    def __init__(self, tracks: Any, visible: Any, start_frame: int = 0, ids: Any = None) -> None:
        trk = as_array(tracks, "tracks", np.float32, (None, None, 2), "(T, N, 2)")
        vis = as_array(visible, "visible", np.bool_, (None, None), "(T, N)")
        if vis.shape != trk.shape[:2]:
            raise ShapeError(
                f"visible: expected visible of shape (T, N) = {trk.shape[:2]} (from tracks "
                f"{trk.shape}) got {vis.shape}"
            )
        if trk.shape[0] == 0:
            raise ShapeError("tracks: expected at least one frame (T >= 1), got T = 0")
        if np.isinf(trk).any():
            index = tuple(int(i) for i in np.argwhere(np.isinf(trk))[0])
            raise InvalidInputError(
                f"tracks: positions must not be infinite, got {trk[index]} at index {index} "
                "(frame row, point, axis); mark unknown positions as NaN and hidden"
            )
        nan_visible = np.isnan(trk).any(axis=2) & vis
        if nan_visible.any():
            t, n = (int(i) for i in np.argwhere(nan_visible)[0])
            raise InvalidInputError(
                f"tracks: point {n} is visible at frame row {t} but its position is NaN; "
                "give it a position or mark it hidden in visible"
            )
        trk[np.isnan(trk).any(axis=2)] = np.nan
        self._tracks = freeze(trk)
        self._visible = freeze(vis)
        self._start = require_int(start_frame, "start_frame", 0)
        self._ids = check_ids(ids, trk.shape[1])

    # -- properties -------------------------------------------------------------------------
    @property
    def tracks(self) -> np.ndarray:
        """``(T, N, 2)`` float32 positions (read-only; NaN only where hidden)."""
        return self._tracks

    @property
    def visible(self) -> np.ndarray:
        """``(T, N)`` bool visibility (read-only)."""
        return self._visible

    @property
    def start_frame(self) -> int:
        """Frame index of the first row."""
        return self._start

    @property
    def ids(self) -> np.ndarray:
        """``(N,)`` unique int64 point ids."""
        return self._ids

    @property
    def num_frames(self) -> int:
        """T, the number of frames covered."""
        return self._tracks.shape[0]

    @property
    def num_points(self) -> int:
        """N, the number of tracked points."""
        return self._tracks.shape[1]

    @property
    def end_frame(self) -> int:
        """One past the last frame covered (exclusive)."""
        return self._start + self.num_frames

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trajectory):
            return NotImplemented
        return (self._start == other._start
                and self._tracks.shape == other._tracks.shape
                and np.array_equal(self._ids, other._ids)
                and np.array_equal(self._visible, other._visible)
                and np.array_equal(self._tracks, other._tracks, equal_nan=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        seen = float(self._visible.mean()) if self._visible.size else 0.0
        return (f"Trajectory(frames={self.num_frames} [{self._start}, {self.end_frame}), "
                f"points={self.num_points}, visible={seen:.0%})")

    # -- access -----------------------------------------------------------------------------
    def _row(self, frame: Any) -> int:
        frame = require_int(frame, "frame")
        if not self._start <= frame < self.end_frame:
            raise FrameRangeError(
                f"frame: {frame} is outside this trajectory's frames "
                f"[{self._start}, {self.end_frame}); pick a frame in that range"
            )
        return frame - self._start

    def at(self, frame: int) -> PointSet:
        """The points visible at ``frame`` (absolute index), keeping their ids.

        Hidden points are left out (their positions may be unknown); use ``visible`` and
        ``tracks`` for the full rows.
        """
        row = self._row(frame)
        vis = self._visible[row]
        return PointSet(self._tracks[row][vis], frame=frame, ids=self._ids[vis])

    def frames_slice(self, start: int, stop: int) -> Trajectory:
        """The sub-trajectory of absolute frames ``[start, stop)`` (non-empty, inside)."""
        start = require_int(start, "start")
        stop = require_int(stop, "stop")
        if not (self._start <= start < stop <= self.end_frame):
            raise FrameRangeError(
                f"frames_slice: [{start}, {stop}) is not a non-empty range inside this "
                f"trajectory's frames [{self._start}, {self.end_frame})"
            )
        a, b = start - self._start, stop - self._start
        return Trajectory(self._tracks[a:b], self._visible[a:b], start, self._ids)

    def select(self, ids: Any) -> Trajectory:
        """The tracks of the points with these ``ids``, in the order given."""
        wanted = np.atleast_1d(np.asarray(ids))
        if wanted.ndim != 1:
            raise ShapeError(f"ids: expected a list of ids, got shape {wanted.shape}")
        lookup = {int(v): i for i, v in enumerate(self._ids)}
        cols = []
        for v in wanted.tolist():
            if isinstance(v, float) and not v.is_integer():
                raise InvalidInputError(f"ids: expected integers, got {v!r}")
            if int(v) not in lookup:
                raise InvalidInputError(
                    f"ids: no point with id {v} in this trajectory (ids are "
                    f"{self._ids.tolist()!r:.80})"
                )
            cols.append(lookup[int(v)])
        cols_arr = np.asarray(cols, np.int64)
        return Trajectory(self._tracks[:, cols_arr], self._visible[:, cols_arr], self._start,
                          self._ids[cols_arr])

    def to_boxes(self) -> np.ndarray:
        """``(T, 4)`` float32 boxes ``x0, y0, x1, y1`` enclosing the visible points of each
        frame (pixel coordinates); a frame with no visible point gets a row of NaN."""
        vis = self._visible[..., None]
        lo = np.where(vis, self._tracks, np.inf).min(axis=1, initial=np.inf)
        hi = np.where(vis, self._tracks, -np.inf).max(axis=1, initial=-np.inf)
        boxes = np.concatenate([lo, hi], axis=1).astype(np.float32)
        boxes[~self._visible.any(axis=1)] = np.nan
        return boxes

    def scaled(self, sx: float, sy: float) -> Trajectory:
        """These tracks in frames resized by ``sx`` horizontally and ``sy`` vertically
        (pixel centres map to pixel centres: ``x -> (x + 0.5)·sx − 0.5``)."""
        sx, sy = check_scale(sx, sy)
        return Trajectory(scale_xy(self._tracks, sx, sy), self._visible, self._start, self._ids)

    @classmethod
    def from_path(cls, polyline: Any, num_frames: int, *, timing: Any = "uniform",
                  anchors: Any = None, start_frame: int = 0) -> Trajectory:
        """A trajectory that follows a drawn ``polyline`` ``(M, 2)`` over ``num_frames`` frames.

        ``timing`` is ``"uniform"`` (constant speed), ``"ease"`` (ease in/out), ``"drawn"`` (by
        the spacing of the drawn points) or a callable mapping ``(T,)`` times in [0, 1] to path
        fractions. ``anchors`` ``(K, 2)`` adds static tracks that hold still. See
        :func:`motionwright.path.trajectory_from_path`.
        """
        from ..path import trajectory_from_path

        return trajectory_from_path(polyline, num_frames, timing=timing, anchors=anchors,
                                    start_frame=start_frame)

    def to_flow_maps(self, size: Any, sigma: float = 10.0, *, frame_size: Any = None) -> np.ndarray:
        """ReVideo's motion condition: per-frame displacement maps ``(T, 2, H, W)`` float32 at
        ``size`` (W, H), each relative to the previous frame and Gaussian-spread with ``sigma``
        output pixels. See :func:`motionwright.flowmaps.trajectory_to_flow_maps`.
        """
        from ..flowmaps import trajectory_to_flow_maps

        return trajectory_to_flow_maps(self, size, sigma, frame_size=frame_size)

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict labelled ``"Trajectory.1"``.

        ``tracks`` is a T×N list of ``[x, y]`` (``null`` where the position is NaN);
        ``visible`` a T×N list of 0/1. Readers that only see ``tracks`` can treat ``null`` as
        hidden.
        """
        rows = []
        for frame in self._tracks.tolist():
            rows.append([None if (x != x or y != y) else [x, y] for x, y in frame])
        return {
            "schema": _persist.schema_label(SCHEMA, VERSION),
            "start_frame": self._start,
            "ids": self._ids.tolist(),
            "tracks": rows,
            "visible": self._visible.astype(np.uint8).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        """Rebuild a Trajectory from :meth:`to_dict` output.

        ``visible`` may be left out: then an entry is visible exactly when it is not ``null``.
        """
        return cls._from_payload(d, "")

    @classmethod
    def _from_payload(cls, d: dict[str, Any], source: str) -> Trajectory:
        with reading(source, "Trajectory"):
            if not isinstance(d, dict):
                raise InvalidInputError(f"expected a JSON object, got {type(d).__name__}")
            d = _persist.upgrade(dict(d), SCHEMA, VERSION, source=source)
            rows = d["tracks"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise InvalidInputError("tracks: expected a list (frames) of lists (points)")
            n = len(rows[0]) if rows else 0
            check_track_size(len(rows), n, f"'{source}'" if source else "the payload")
            if any(len(r) != n for r in rows):
                raise ShapeError(
                    f"tracks: every frame must list the same number of points, got "
                    f"{sorted({len(r) for r in rows})}"
                )
            tracks = np.full((len(rows), n, 2), np.nan, np.float64)
            known = np.zeros((len(rows), n), bool)
            for t, row in enumerate(rows):
                for i, xy in enumerate(row):
                    if xy is not None:
                        tracks[t, i] = xy
                        known[t, i] = True
            visible = d.get("visible")
            if visible is None:
                visible = known
            require_numbers(visible, "visible")
            ids = d.get("ids")
            return cls(tracks, visible, d.get("start_frame", 0),
                       None if ids is None else int_list(ids, "ids"))

    def save(self, path: str | os.PathLike, format: str | None = None) -> None:
        """Write the tracks to ``path`` (atomically).

        ``format`` is ``"cotracker"`` (``.npz``, time-major, the default for ``.npz``),
        ``"tapvid"`` (``.npz``, point-major with ``occluded``) or ``"json"`` (the default for
        ``.json``); see :mod:`motionwright.io.tracks`.
        """
        from ..io.tracks import save_trajectory

        save_trajectory(self, path, format=format)

    @classmethod
    def load(cls, path: str | os.PathLike, format: str | None = None) -> Trajectory:
        """Read tracks saved by :meth:`save` (``.npz`` layouts are detected from their keys)."""
        from ..io.tracks import load_trajectory

        return load_trajectory(path, format=format)
