"""Decoded-frame cache and a background decoder thread (no Qt).

Views ask :class:`FrameLoader` for frame ``i`` of a source; the loader answers at once with the
nearest frame already in the cache (so scrubbing never waits) and decodes the exact one on its
thread, newest request first, then reports it through ``frame_ready``. Several views (the
viewer, both sides of the A/B compare) share one loader, each under its own cache key.
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
    """Decodes frames of clip-like sources (``len``, ``source[i]``) on a daemon thread.

    :meth:`request` returns the nearest cached frame immediately (or None) and queues the exact
    one. Each cache key (e.g. the viewer's clip, an A/B compare's render) keeps only its newest
    pending request (older ones are dropped) and the most recently asked key is decoded first;
    while idle, up to ``prefetch`` frames after the last request of each key are decoded in its
    direction of travel. ``frame_ready`` is emitted through ``dispatcher`` with
    ``(key, index, frame)``; ``failed`` with ``(key, index, exception)``.
    """

    def __init__(self, cache: FrameCache | None = None, dispatcher: Dispatcher = call_now,
                 prefetch: int = 8) -> None:
        self.cache = cache or FrameCache()
        self.dispatcher = dispatcher
        self.prefetch = prefetch
        self.frame_ready = Signal("frames.ready")
        self.failed = Signal("frames.failed")
        self._cond = threading.Condition()
        self._pending: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._ahead: OrderedDict[Any, list[tuple[Any, int]]] = OrderedDict()
        self._direction: dict[Any, int] = {}
        self._last_index: dict[Any, int] = {}
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
            self._turn(key, index)
            self._pending.pop(key, None)
            self._pending[key] = (source, index)
            self._ahead.pop(key, None)
            self._cond.notify()
        return self.cache.nearest(key, index)

    def pending(self) -> int:
        """Exact requests waiting to be decoded."""
        with self._cond:
            return len(self._pending)

    def _turn(self, key: Any, index: int) -> None:
        last = self._last_index.get(key, index)
        if index != last:
            self._direction[key] = 1 if index > last else -1
        self._last_index[key] = index

    def _queue_prefetch(self, key: Any, source: Any, index: int) -> None:
        with self._cond:
            self._turn(key, index)
            n, step = len(source), self._direction.get(key, 1)
            ahead = [(source, j) for j in (index + step * k for k in range(1, self.prefetch + 1))
                     if 0 <= j < n]
            self._ahead.pop(key, None)
            if ahead:
                self._ahead[key] = ahead
            self._cond.notify()

    def _next(self) -> tuple[Any, Any, int, bool] | None:
        if self._pending:
            key, (source, index) = self._pending.popitem(last=True)
            return key, source, index, True
        if self._ahead:
            key, items = next(reversed(self._ahead.items()))
            source, index = items.pop(0)
            if not items:
                del self._ahead[key]
            return key, source, index, False
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._pending and not self._ahead:
                    self._cond.wait()
                if self._stop:
                    return
                job = self._next()
            if job is None:
                continue
            key, source, index, exact = job
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
