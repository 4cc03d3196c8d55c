"""PointSet: N labelled points on one frame (drag handles, SAM clicks, anchor points)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import _persist, limits
from .._validate import as_array, freeze, require_finite, require_int
from ..errors import InvalidInputError, ShapeError
from ._common import int_list, reading

SCHEMA = "PointSet"
VERSION = 1


def integer_array(values: Any, name: str, n: int) -> np.ndarray:
    """``values`` as an ``(n,)`` int64 array; floats must be whole numbers."""
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ShapeError(f"{name}: expected shape (N,) = ({n},), got {arr.shape}")
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if n and not (np.issubdtype(arr.dtype, np.floating)
                  and np.all(np.isfinite(arr)) and np.array_equal(arr, np.round(arr))):
        raise InvalidInputError(f"{name}: expected integers, got {arr!r:.80}")
    return arr.astype(np.int64)


def check_ids(ids: Any, n: int, name: str = "ids") -> np.ndarray:
    """Validate stable point ids: ``(n,)`` unique integers (``None`` gives ``0..n-1``)."""
    if ids is None:
        return freeze(np.arange(n, dtype=np.int64))
    arr = integer_array(ids, name, n)
    uniq, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        raise InvalidInputError(
            f"{name}: ids must be unique, got id {int(uniq[counts > 1][0])} more than once; "
            "give each point its own id"
        )
    return freeze(arr)


def check_scale(sx: Any, sy: Any) -> tuple[float, float]:
    """Validate resize factors: positive finite numbers."""
    out = []
    for name, value in (("sx", sx), ("sy", sy)):
        try:
            v = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{name}: expected a positive number, got {value!r}") from exc
        if not np.isfinite(v) or v <= 0:
            raise InvalidInputError(f"{name}: expected a positive finite scale, got {value!r}")
        out.append(v)
    return out[0], out[1]


def scale_xy(xy: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Scale pixel coordinates so pixel centres map to pixel centres.

    With the centre of the top-left pixel at (0, 0), a resize by ``sx`` maps
    ``x -> (x + 0.5)·sx − 0.5`` (the same mapping :meth:`Mask.resized` uses), so points, tracks
    and masks resized together stay aligned.
    """
    factors = np.array([sx, sy], np.float64)
    return ((xy.astype(np.float64) + 0.5) * factors - 0.5).astype(np.float32)


def check_size(size: Any, name: str = "size") -> tuple[int, int]:
    """Validate a frame size ``(width, height)`` of positive integers."""
    try:
        width, height = size
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected (width, height), got {size!r}") from exc
    return require_int(width, f"{name} width", 1), require_int(height, f"{name} height", 1)


class PointSet:
    """N points on one frame.

    ``points`` is ``(N, 2)`` float32 pixel coordinates (x right, y down, centre of the top-left
    pixel at (0, 0)), all finite; ``frame`` the non-negative frame index they belong to;
    ``labels`` an optional ``(N,)`` int64 array (e.g. SAM clicks: 1 positive, 0 negative);
    ``ids`` ``(N,)`` unique int64 ids that stay with the points through edits and tracking
    (default ``0..N-1``). Arrays are read-only.
    """

    __slots__ = ("_frame", "_ids", "_labels", "_points")

    def __init__(self, points: Any, frame: int = 0, labels: Any = None, ids: Any = None) -> None:
        try:
            pts = np.asarray(points)
        except (TypeError, ValueError) as exc:
            raise ShapeError(
                f"points: expected an array of shape (N, 2), got {points!r:.80}"
            ) from exc
        if pts.size == 0 and pts.ndim < 2:
            pts = np.zeros((0, 2), np.float32)
        pts = as_array(pts, "points", np.float32, (None, 2), "(N, 2)")
        require_finite(pts, "points")
        n = len(pts)
        self._points = freeze(pts)
        self._frame = require_int(frame, "frame", 0)
        if labels is None:
            self._labels = None
        else:
            self._labels = freeze(integer_array(labels, "labels", n))
        self._ids = check_ids(ids, n)

    # -- properties -------------------------------------------------------------------------
    @property
    def points(self) -> np.ndarray:
        """``(N, 2)`` float32 pixel coordinates (read-only)."""
        return self._points

    @property
    def frame(self) -> int:
        """The frame index these points belong to."""
        return self._frame

    @property
    def labels(self) -> np.ndarray | None:
        """``(N,)`` int64 labels, or None."""
        return self._labels

    @property
    def ids(self) -> np.ndarray:
        """``(N,)`` unique int64 ids."""
        return self._ids

    def __len__(self) -> int:
        return len(self._points)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PointSet):
            return NotImplemented
        same_labels = (self._labels is None and other._labels is None) or (
            self._labels is not None and other._labels is not None
            and np.array_equal(self._labels, other._labels)
        )
        return (self._frame == other._frame and same_labels
                and np.array_equal(self._points, other._points)
                and np.array_equal(self._ids, other._ids))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(f"({x:.1f}, {y:.1f})" for x, y in self._points[:3])
        more = ", …" if len(self) > 3 else ""
        labels = "" if self._labels is None else f", labels={self._labels.tolist()!r:.40}"
        return f"PointSet(n={len(self)}, frame={self._frame}, points=[{head}{more}]{labels})"

    # -- derived sets -----------------------------------------------------------------------
    def with_points(self, points: Any, frame: int | None = None) -> PointSet:
        """The same points (ids, labels) at new positions ``points`` (N, 2), optionally moved
        to another ``frame``; e.g. drag targets made from the handles."""
        pts = as_array(points, "points", np.float32, (len(self), 2), f"(N, 2) = ({len(self)}, 2)")
        return PointSet(pts, self._frame if frame is None else frame, self._labels, self._ids)

    def scaled(self, sx: float, sy: float) -> PointSet:
        """These points in a frame resized by ``sx`` horizontally and ``sy`` vertically
        (pixel centres map to pixel centres: ``x -> (x + 0.5)·sx − 0.5``)."""
        sx, sy = check_scale(sx, sy)
        return PointSet(scale_xy(self._points, sx, sy), self._frame, self._labels, self._ids)

    def check_inside(self, size: Any) -> None:
        """Raise InvalidInputError if a point lies outside a ``(width, height)`` frame.

        A point is inside when ``-0.5 <= x <= width - 0.5`` and ``-0.5 <= y <= height - 0.5``
        (the outer edges of the border pixels).
        """
        width, height = check_size(size)
        x, y = self._points[:, 0], self._points[:, 1]
        bad = (x < -0.5) | (x > width - 0.5) | (y < -0.5) | (y > height - 0.5)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"points: point {i} (id {int(self._ids[i])}) at ({x[i]:g}, {y[i]:g}) lies outside "
                f"the {width}x{height} frame (x must be in [-0.5, {width - 0.5}], y in "
                f"[-0.5, {height - 0.5}]); place it inside the frame or scale the points to "
                "the clip's size"
            )

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict labelled ``"PointSet.1"``."""
        return {
            "schema": _persist.schema_label(SCHEMA, VERSION),
            "frame": self._frame,
            "points": self._points.tolist(),
            "labels": None if self._labels is None else self._labels.tolist(),
            "ids": self._ids.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PointSet:
        """Rebuild a PointSet from :meth:`to_dict` output (older versions are upgraded)."""
        return cls._from_payload(d, "")

    @classmethod
    def _from_payload(cls, d: dict[str, Any], source: str) -> PointSet:
        with reading(source, "PointSet"):
            if not isinstance(d, dict):
                raise InvalidInputError(f"expected a JSON object, got {type(d).__name__}")
            d = _persist.upgrade(dict(d), SCHEMA, VERSION, source=source)
            if isinstance(d["points"], list):
                limits.current().check("max_points", len(d["points"]),
                                       f"'{source}' points" if source else "points")
            points = np.asarray(d["points"], np.float64)
            if points.size == 0:
                points = points.reshape(0, 2)
            labels, ids = d.get("labels"), d.get("ids")
            return cls(points, d.get("frame", 0),
                       None if labels is None else int_list(labels, "labels"),
                       None if ids is None else int_list(ids, "ids"))

    def save(self, path: str | os.PathLike) -> None:
        """Write this PointSet as JSON (atomically)."""
        _persist.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> PointSet:
        """Read a PointSet JSON file; a malformed file raises CorruptFileError naming it."""
        return cls._from_payload(_persist.read_json(path, "PointSet file"), str(path))
