"""The FrameSource protocol behind every Clip, and the in-memory source.

A :class:`FrameSource` is anything with ``__len__``, ``read(i) -> H×W×3`` (uint8 or uint16 RGB)
and the attributes ``fps`` (Fraction), ``size`` ((width, height)) and ``start_timecode``
(a :class:`~motionwright.timecode.Timecode`, a label string or None). Other modules make lazy
clips from it, e.g. a renderer computing frame ``i`` on demand.

A source may also provide, and :class:`~motionwright.clip.Clip` uses when present:

- ``iter_frames(start, stop)``: an iterator over frames ``start..stop-1`` that streams faster
  than calling ``read`` in a loop;
- ``timestamps``: the presentation time of every frame in seconds (Fractions, frame 0 at 0);
- ``dtype``: ``numpy.uint8`` or ``numpy.uint16``;
- ``source_path``: the file or pattern it reads;
- ``info()``: extra JSON-safe facts for ``clip.info`` (codec, pix_fmt, ...);
- ``identity``: a hashable key; two clips on sources with equal identities are equal;
- ``close()``: release open files;
- ``derived_from``: the Clip whose frame ``i`` this source's frame ``i`` replaces (a render or
  an overlay of it), so that saving keeps that media's audio, rotation and frame numbers (see
  :mod:`motionwright.io.origin`).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import FrameRangeError, InvalidInputError, ShapeError
from ..timecode import Timecode, as_rate

FRAME_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


@runtime_checkable
class FrameSource(Protocol):
    """What a Clip needs from its frames: a length, random reads and timing facts."""

    fps: Fraction
    size: tuple[int, int]
    start_timecode: Any

    def __len__(self) -> int: ...

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` (0 <= index < len) as an ``H×W×3`` uint8 or uint16 RGB array."""
        ...


def check_index(index: int, length: int, what: str) -> None:
    """Raise FrameRangeError unless ``0 <= index < length``."""
    if not 0 <= index < length:
        valid = f"0..{length - 1}" if length else "none (the clip is empty)"
        raise FrameRangeError(f"frame {index} is out of range for {what}; valid frames: {valid}")


class ArraySource:
    """Frames held in memory: a read-only ``(T, H, W, 3)`` uint8 or uint16 array."""

    def __init__(self, frames: Any, fps: Any = Fraction(24), start_timecode: Any = None) -> None:
        try:
            arr = np.asarray(frames)
        except Exception as exc:  # ragged lists of frames
            raise ShapeError(
                f"frames: expected an array of shape (T, H, W, 3), got {type(frames).__name__} "
                "that does not form one array (frames of different sizes?)"
            ) from exc
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ShapeError(
                f"frames: expected shape (T, H, W, 3) RGB, got {tuple(arr.shape)}; a single "
                "frame needs a leading axis (frames[None])"
            )
        if arr.dtype not in FRAME_DTYPES:
            raise ShapeError(
                f"frames: expected dtype uint8 or uint16, got {arr.dtype}; convert float "
                "images in [0, 1] with (x * 255).round().astype(np.uint8)"
            )
        if arr.shape[0] == 0 or arr.shape[1] == 0 or arr.shape[2] == 0:
            raise InvalidInputError(
                f"frames: expected at least one frame of at least 1×1 pixels, got shape "
                f"{tuple(arr.shape)}"
            )
        self._frames = np.array(arr, copy=True)
        self._frames.setflags(write=False)
        self.fps = as_rate(fps)
        self.size = (int(arr.shape[2]), int(arr.shape[1]))
        self.start_timecode = Timecode.coerce(start_timecode, self.fps)
        self.dtype = self._frames.dtype
        self.source_path = None
        self.derived_from: Any = None

    def __len__(self) -> int:
        return int(self._frames.shape[0])

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as a read-only view of the held array."""
        check_index(index, len(self), "the in-memory frames")
        return self._frames[index]

    def iter_frames(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Frames ``start..stop-1`` as read-only views."""
        yield from self._frames[start:stop]

    def info(self) -> dict[str, Any]:
        """Codec facts for ``clip.info`` (there are none for memory)."""
        return {"codec": None, "pix_fmt": "rgb24" if self.dtype == np.uint8 else "rgb48"}

    def __repr__(self) -> str:
        return f"ArraySource({len(self)} frames, {self.size[0]}x{self.size[1]}, {self.dtype})"
