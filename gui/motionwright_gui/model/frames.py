"""Decoded-frame cache and a background decoder thread (no Qt).

The viewer asks :class:`FrameLoader` for frame ``i``; the loader answers at once with the
nearest frame already in the cache (so scrubbing never waits) and decodes the exact one on its
thread, newest request first, then reports it through ``frame_ready``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .events import Signal

Dispatcher = Callable[..., None]


def call_now(fn: Callable[..., Any], *args: Any) -> None:
    """The default dispatcher: call ``fn(*args)`` on the calling thread."""
    fn(*args)


class FrameCache:
    """A thread-safe LRU cache of decoded frames keyed by ``(source key, frame index)``,
    bounded by ``max_bytes`` of frame data (``H×W×3`` arrays)."""

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple[Any, int], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Any, index: int) -> np.ndarray | None:
        """The cached frame, or None."""
        with self._lock:
            frame = self._items.get((key, index))
            if frame is not None:
                self._items.move_to_end((key, index))
            return frame

    def put(self, key: Any, index: int, frame: np.ndarray) -> None:
        """Store a frame, evicting the least recently used ones over the budget."""
        with self._lock:
            old = self._items.pop((key, index), None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[(key, index)] = frame
            self._bytes += frame.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def nearest(self, key: Any, index: int) -> tuple[int, np.ndarray] | None:
        """The cached frame of ``key`` closest in time to ``index`` as ``(its index, frame)``."""
        with self._lock:
            best = None
            for (k, i), frame in self._items.items():
                if k == key and (best is None or abs(i - index) < abs(best[0] - index)):
                    best = (i, frame)
            return best

    def indices(self, key: Any) -> list[int]:
        """Sorted indices cached for ``key``."""
        with self._lock:
            return sorted(i for k, i in self._items if k == key)

    def clear(self, key: Any = None) -> None:
        """Drop every frame (of ``key`` only, when given)."""
        with self._lock:
            for k in [k for k in self._items if key is None or k[0] == key]:
                self._bytes -= self._items.pop(k).nbytes

    @property
    def nbytes(self) -> int:
        """Bytes of frame data held."""
        return self._bytes


class FrameLoader:
    """Decodes frames of a clip-like source (``len``, ``source[i]``) on a daemon thread.

    :meth:`request` returns the nearest cached frame immediately (or None) and queues the exact
    one; only the newest pending request is decoded (older ones are dropped), then up to
    ``prefetch`` frames after it in the last direction of travel while idle. ``frame_ready``
    is emitted through ``dispatcher`` with ``(key, index, frame)``; ``failed`` with
    ``(key, index, exception)``.
    """

    def __init__(self, cache: FrameCache | None = None, dispatcher: Dispatcher = call_now,
                 prefetch: int = 8) -> None:
        self.cache = cache or FrameCache()
        self.dispatcher = dispatcher
        self.prefetch = prefetch
        self.frame_ready = Signal("frames.ready")
        self.failed = Signal("frames.failed")
        self._cond = threading.Condition()
        self._pending: tuple[Any, Any, int] | None = None
        self._ahead: list[tuple[Any, Any, int]] = []
        self._direction = 1
        self._last_index = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="mw-frame-loader", daemon=True)
        self._thread.start()

    def request(self, key: Any, source: Any, index: int) -> tuple[int, np.ndarray] | None:
        """Ask for frame ``index`` of ``source`` (cached under ``key``); returns the nearest
        cached ``(index, frame)`` now, or None when nothing of ``key`` is cached."""
        hit = self.cache.get(key, index)
        if hit is not None:
            self._queue_prefetch(key, source, index)
            return index, hit
        with self._cond:
            self._turn(index)
            self._pending = (key, source, index)
            self._ahead = []
            self._cond.notify()
        return self.cache.nearest(key, index)

    def _turn(self, index: int) -> None:
        if index != self._last_index:
            self._direction = 1 if index > self._last_index else -1
        self._last_index = index

    def _queue_prefetch(self, key: Any, source: Any, index: int) -> None:
        with self._cond:
            self._turn(index)
            n = len(source)
            self._ahead = [(key, source, j) for j in
                           (index + self._direction * k for k in range(1, self.prefetch + 1))
                           if 0 <= j < n]
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._pending is None and not self._ahead:
                    self._cond.wait()
                if self._stop:
                    return
                if self._pending is not None:
                    job, self._pending, exact = self._pending, None, True
                else:
                    job, exact = self._ahead.pop(0), False
            key, source, index = job
            frame = self.cache.get(key, index)
            if frame is None:
                try:
                    frame = np.asarray(source[index])
                except Exception as exc:
                    if exact:
                        self.dispatcher(self.failed.emit, key, index, exc)
                    continue
                self.cache.put(key, index, frame)
            if exact:
                self.dispatcher(self.frame_ready.emit, key, index, frame)
                self._queue_prefetch(key, source, index)

    def close(self) -> None:
        """Stop the thread (pending requests are dropped)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=2)
