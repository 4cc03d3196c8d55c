"""Mask: a binary region per frame, or one static region for every frame."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import _persist, limits
from .._validate import as_array, freeze, require_finite, require_int
from ..errors import FrameRangeError, InvalidInputError, ShapeError, UnsupportedFormatError
from ._common import reading
from .pointset import PointSet, check_size

SCHEMA = "Mask"
VERSION = 1


class Mask:
    """A binary mask over T consecutive frames starting at ``start_frame``.

    ``data`` is ``(T, H, W)`` bool, row ``t`` covering frame ``start_frame + t``. With ``T == 1``
    the mask is static: :meth:`at` returns it for every frame. A 2-D ``(H, W)`` array is taken
    as a static mask. The array is read-only.
    """

    __slots__ = ("_data", "_start")

    def __init__(self, data: Any, start_frame: int = 0) -> None:
        arr = np.asarray(data)
        if arr.ndim == 2:
            arr = arr[None]
        arr = as_array(arr, "data", np.bool_, (None, None, None), "(T, H, W)")
        if 0 in arr.shape:
            raise ShapeError(f"data: expected a non-empty (T, H, W) mask, got {arr.shape}")
        self._data = freeze(arr)
        self._start = require_int(start_frame, "start_frame", 0)

    # -- properties -------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """``(T, H, W)`` bool (read-only)."""
        return self._data

    @property
    def start_frame(self) -> int:
        """Frame index of the first row (irrelevant for a static mask)."""
        return self._start

    @property
    def num_frames(self) -> int:
        """T, the number of frames stored (1 for a static mask)."""
        return self._data.shape[0]

    @property
    def end_frame(self) -> int:
        """One past the last frame stored (exclusive)."""
        return self._start + self.num_frames

    @property
    def is_static(self) -> bool:
        """Whether one mask applies to every frame (``T == 1``)."""
        return self.num_frames == 1

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self._data.shape[2], self._data.shape[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mask):
            return NotImplemented
        return (self._start == other._start and self._data.shape == other._data.shape
                and np.array_equal(self._data, other._data))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        w, h = self.size
        frames = "static" if self.is_static else f"frames={self.num_frames} " \
            f"[{self._start}, {self.end_frame})"
        return f"Mask({frames}, size={w}x{h}, coverage={float(self._data.mean()):.1%})"

    def at(self, frame: int) -> np.ndarray:
        """The ``(H, W)`` bool mask of absolute ``frame`` (any frame for a static mask)."""
        frame = require_int(frame, "frame")
        if self.is_static:
            return self._data[0]
        if not self._start <= frame < self.end_frame:
            raise FrameRangeError(
                f"frame: {frame} is outside this mask's frames [{self._start}, "
                f"{self.end_frame}); pick a frame in that range or use a static mask"
            )
        return self._data[frame - self._start]

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def from_box(cls, x: float, y: float, w: float, h: float, size: Any) -> Mask:
        """A static mask of the pixels whose centres lie in ``[x, x+w) × [y, y+h)``.

        With integers this is ``w × h`` pixels starting at column ``x``, row ``y`` (clipped to
        the frame); ``size`` is the frame's ``(width, height)``.
        """
        width, height = check_size(size)
        box = np.asarray([x, y, w, h], np.float64)
        require_finite(box, "box (x, y, w, h)")
        if w <= 0 or h <= 0:
            raise InvalidInputError(f"box: width and height must be > 0, got w={w}, h={h}")
        cols = np.arange(width)
        rows = np.arange(height)
        inside_x = (cols >= x) & (cols < x + w)
        inside_y = (rows >= y) & (rows < y + h)
        return cls(inside_y[:, None] & inside_x[None, :])

    @classmethod
    def from_polygon(cls, points: Any, size: Any, start_frame: int | None = None) -> Mask:
        """The inside of a polygon, filled (edges included) at the frame's ``(width, height)``.

        ``points`` is ``(K, 2)`` vertices (an array or a :class:`PointSet`) giving a static
        mask, or a :class:`Trajectory` of K vertices giving one polygon per frame (a mask over
        the trajectory's frames; every vertex must have a position on every frame).
        ``start_frame`` overrides the start of the result.
        """
        from .trajectory import Trajectory

        width, height = check_size(size)
        if isinstance(points, Trajectory):
            if np.isnan(points.tracks).any():
                raise InvalidInputError(
                    "points: every polygon vertex needs a position on every frame, but the "
                    "trajectory has unknown (NaN) positions"
                )
            polygons, start = points.tracks, points.start_frame
        else:
            verts = points.points if isinstance(points, PointSet) else points
            verts = as_array(verts, "points", np.float64, (None, 2), "(K, 2)")
            require_finite(verts, "points")
            polygons, start = verts[None], 0
        if polygons.shape[1] < 3:
            raise InvalidInputError(
                f"points: a polygon needs at least 3 vertices, got {polygons.shape[1]}"
            )
        import cv2

        shift = 8  # sub-pixel vertex precision of 1/256 pixel
        out = np.zeros((len(polygons), height, width), np.uint8)
        for t, poly in enumerate(polygons):
            fixed = np.round(np.asarray(poly, np.float64) * (1 << shift)).astype(np.int32)
            cv2.fillPoly(out[t], [fixed], 1, lineType=cv2.LINE_8, shift=shift)
        return cls(out.astype(bool), start if start_frame is None else start_frame)

    # -- operations -------------------------------------------------------------------------
    def dilate(self, px: int) -> Mask:
        """Grow the mask by ``px`` pixels (a disc of radius ``px``); 0 returns it unchanged."""
        px = require_int(px, "px", 0)
        if px == 0:
            return self
        import cv2

        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
        grown = np.stack([cv2.dilate(f.astype(np.uint8), kernel) for f in self._data])
        return Mask(grown.astype(bool), self._start)

    def union(self, other: Mask) -> Mask:
        """Pixels set in either mask (same size required).

        Two static masks give a static mask. Otherwise the result covers the frames of both
        (a static mask counts on every frame; an animated one only on its own frames, so frames
        between two disjoint ranges are empty).
        """
        if not isinstance(other, Mask):
            raise InvalidInputError(f"other: expected a Mask, got {type(other).__name__}")
        if other.size != self.size:
            raise ShapeError(
                f"other: expected a mask of size {self.size[0]}x{self.size[1]}, got "
                f"{other.size[0]}x{other.size[1]}; resize one with .resized(size)"
            )
        if self.is_static and other.is_static:
            return Mask(self._data | other._data, min(self._start, other._start))
        animated = [m for m in (self, other) if not m.is_static]
        start = min(m._start for m in animated)
        stop = max(m.end_frame for m in animated)
        w, h = self.size
        out = np.zeros((stop - start, h, w), bool)
        for m in (self, other):
            if m.is_static:
                out |= m._data[0]
            else:
                out[m._start - start: m.end_frame - start] |= m._data
        return Mask(out, start)

    def resized(self, size: Any) -> Mask:
        """This mask at a new ``(width, height)`` by nearest neighbour, mapping pixel centres to
        pixel centres (as :meth:`PointSet.scaled` maps points)."""
        width, height = check_size(size)
        w0, h0 = self.size
        cols = np.minimum(((np.arange(width) + 0.5) * w0 / width).astype(np.int64), w0 - 1)
        rows = np.minimum(((np.arange(height) + 0.5) * h0 / height).astype(np.int64), h0 - 1)
        return Mask(self._data[:, rows[:, None], cols[None, :]], self._start)

    def bbox(self, frame: int | None = None) -> tuple[int, int, int, int] | None:
        """``(x, y, w, h)`` of the set pixels (at ``frame``, or over all frames), or None when
        empty; ``Mask.from_box(*m.bbox(), size=m.size)`` covers exactly that box."""
        data = self._data.any(axis=0) if frame is None else self.at(frame)
        cols = np.flatnonzero(data.any(axis=0))
        rows = np.flatnonzero(data.any(axis=1))
        if cols.size == 0:
            return None
        x0, y0 = int(cols[0]), int(rows[0])
        return x0, y0, int(cols[-1]) - x0 + 1, int(rows[-1]) - y0 + 1

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict labelled ``"Mask.1"``: ``frames`` holds one COCO RLE
        ``{"size": [h, w], "counts": [...]}`` per frame (Fortran order, uncompressed counts)."""
        from ..io import rle

        return {
            "schema": _persist.schema_label(SCHEMA, VERSION),
            "start_frame": self._start,
            "frames": [rle.encode(f) for f in self._data],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Mask:
        """Rebuild a Mask from :meth:`to_dict` output (COCO text counts are read too)."""
        return cls._from_payload(d, "")

    @classmethod
    def _from_payload(cls, d: dict[str, Any], source: str) -> Mask:
        from ..io import rle

        with reading(source, "Mask"):
            if not isinstance(d, dict):
                raise InvalidInputError(f"expected a JSON object, got {type(d).__name__}")
            d = _persist.upgrade(dict(d), SCHEMA, VERSION, source=source)
            frames = d["frames"]
            if not isinstance(frames, list) or not frames:
                raise InvalidInputError("frames: expected a non-empty list of RLE frames")
            lim = limits.current()
            lim.check("max_frames", len(frames), "mask frames")
            first = rle.decode(frames[0])
            lim.check("max_array_bytes", len(frames) * first.size,
                      f"mask of {len(frames)} frames of {first.shape[1]}x{first.shape[0]} in bytes")
            data = np.empty((len(frames), *first.shape), bool)
            data[0] = first
            for t, frame in enumerate(frames[1:], start=1):
                decoded = rle.decode(frame)
                if decoded.shape != first.shape:
                    raise ShapeError(
                        f"frames: every frame must have the same size, got {first.shape} for "
                        f"frame row 0 and {decoded.shape} for frame row {t}"
                    )
                data[t] = decoded
            return cls(data, d.get("start_frame", 0))

    def save(self, path: str | os.PathLike) -> None:
        """Write the mask: ``.json`` as RLE JSON; a printf pattern (``mask.%04d.png``), a
        folder or a ``.png`` file (static masks) as PNG frames numbered by absolute frame."""
        from ..io import masks

        p = Path(path)
        if p.suffix.lower() == ".json":
            _persist.write_json(p, self.to_dict())
        elif masks.is_pattern(p) or p.suffix.lower() == ".png" or p.suffix == "" or p.is_dir():
            masks.save_png_sequence(self._data, self._start, p)
        else:
            raise UnsupportedFormatError(
                f"'{p}': masks are saved as .json (RLE), a PNG pattern like 'mask.%04d.png', "
                f"a folder or a .png file; got '{p.suffix}'"
            )

    @classmethod
    def load(cls, path: str | os.PathLike, threshold: int = 0) -> Mask:
        """Read a mask saved by :meth:`save` (PNG pixels above ``threshold`` are set)."""
        from ..io import masks

        p = Path(path)
        if p.suffix.lower() == ".json":
            return cls._from_payload(_persist.read_json(p, "mask file"), str(p))
        if masks.is_pattern(p) or p.suffix.lower() == ".png" or p.suffix == "" or p.is_dir():
            data, start = masks.load_png_sequence(p, threshold)
            return cls(data, start)
        _persist.existing_file(p, "mask file")
        raise UnsupportedFormatError(
            f"'{p}': expected a .json mask, a PNG pattern, a folder of PNGs or a .png file"
        )
