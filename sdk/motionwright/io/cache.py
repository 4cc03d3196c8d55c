"""A small least-recently-used cache of decoded frames, bounded by count and by bytes."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

DEFAULT_CACHE_FRAMES = 16
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


class FrameCache:
    """Keeps at most ``max_frames`` frames and ``max_bytes`` bytes, dropping the oldest use first.

    Not thread-safe by itself; its owner holds a lock. A frame larger than ``max_bytes`` is
    not kept. ``max_frames=0`` turns caching off.
    """

    def __init__(self, max_frames: int = DEFAULT_CACHE_FRAMES,
                 max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_frames = int(max_frames)
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, index: int) -> np.ndarray | None:
        """The cached frame ``index`` (marking it recently used), or None."""
        frame = self._items.get(index)
        if frame is not None:
            self._items.move_to_end(index)
        return frame

    def __contains__(self, index: int) -> bool:
        return index in self._items

    def put(self, index: int, frame: np.ndarray) -> None:
        """Keep ``frame`` as ``index``, evicting old frames to stay within the bounds."""
        if self.max_frames <= 0 or frame.nbytes > self.max_bytes:
            return
        old = self._items.pop(index, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._items[index] = frame
        self._bytes += frame.nbytes
        while len(self._items) > self.max_frames or self._bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.nbytes

    def clear(self) -> None:
        """Drop every frame."""
        self._items.clear()
        self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached frames."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
