"""Helpers of the render service tests: requests for tiny shots, a counting chunk renderer."""

from __future__ import annotations

import threading

import motionwright as mw
from motionwright.service.chunks import render_chunk


def drag_for(scene, dx: float = 3.0):
    """A DragEdit moving the scene's first object ``dx`` pixels right on frame 0."""
    x, y = scene.tracks[0, 0]
    return mw.DragEdit(mw.PointSet([[x, y]]), mw.PointSet([[x + dx, y]]))


def request_for(path: str, edits, **extra) -> dict:
    """A preview job request for ``path`` and ``edits``."""
    d = {"source": {"path": path}, "edits": [e.to_dict() for e in edits],
         "backend": "preview"}
    d.update(extra)
    return d


class CountingRender:
    """A chunk renderer that counts calls (and can be slowed or blocked) around the real one."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[int, int]] = []
        self.labels: list[str | None] = []  # the request label of each call
        self.completed: list[tuple[int, int]] = []  # chunks rendered to the end
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def __call__(self, request, start, stop, *, models=None, progress=None, cancel=None):
        import time

        with self._lock:
            self.calls.append((start, stop))
            self.labels.append(request.label)
        self.gate.wait(30)
        if self.delay:
            time.sleep(self.delay)
        frames = render_chunk(request, start, stop, models=models, progress=progress,
                              cancel=cancel)
        with self._lock:
            self.completed.append((start, stop))
        return frames
