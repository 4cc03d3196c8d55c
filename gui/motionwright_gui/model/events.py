"""A tiny synchronous signal: the editor model's way of telling views that something changed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Signal:
    """A list of callbacks called in order by :meth:`emit` with the emitted arguments.

    Callbacks run on the emitting thread; views that live on a UI thread marshal themselves.
    A callback that raises does not stop the others; the first error is re-raised at the end.
    """

    def __init__(self, name: str = "signal") -> None:
        self.name = name
        self._slots: list[Callable[..., Any]] = []
        self._lock = threading.Lock()
        self._blocked = 0

    def connect(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``slot`` on every emit; returns it (usable as a decorator)."""
        with self._lock:
            if slot not in self._slots:
                self._slots.append(slot)
        return slot

    def disconnect(self, slot: Callable[..., Any]) -> None:
        """Stop calling ``slot`` (no error if it was not connected)."""
        with self._lock:
            if slot in self._slots:
                self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        """Call every connected slot with ``args``."""
        if self._blocked:
            return
        with self._lock:
            slots = list(self._slots)
        error: BaseException | None = None
        for slot in slots:
            try:
                slot(*args)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return f"Signal({self.name!r}, {len(self._slots)} slots)"
