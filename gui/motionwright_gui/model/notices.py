"""The editor's message log: warnings and errors stay listed until the user clears them."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

from motionwright.errors import InvalidInputError

from .events import Signal

INFO, WARNING, ERROR = "info", "warning", "error"
LEVELS = (INFO, WARNING, ERROR)


@dataclass(frozen=True)
class Notice:
    """One message: ``level`` (``info``, ``warning`` or ``error``), its ``text`` and when it
    came (``time.time()`` seconds)."""

    level: str
    text: str
    time: float = field(default_factory=time.time)


class NoticeLog:
    """Messages, oldest first, at most ``limit`` (the oldest go first). ``added`` is emitted
    with each new :class:`Notice`, ``cleared`` when the log is emptied."""

    def __init__(self, limit: int = 500) -> None:
        self.items: list[Notice] = []
        self.limit = limit
        self.added = Signal("notices.added")
        self.cleared = Signal("notices.cleared")

    def add(self, level: str, text: str) -> Notice:
        """Log ``text`` at ``level``; returns the notice."""
        if level not in LEVELS:
            raise InvalidInputError(f"level: expected one of {LEVELS}, got {level!r}")
        notice = Notice(level, text)
        self.items.append(notice)
        del self.items[:-self.limit]
        self.added.emit(notice)
        return notice

    def clear(self) -> None:
        """Forget every message."""
        self.items.clear()
        self.cleared.emit()

    def count(self, *levels: str) -> int:
        """How many messages have one of ``levels`` (all when none given)."""
        return sum(1 for n in self.items if not levels or n.level in levels)

    @contextlib.contextmanager
    def catching_warnings(self) -> Iterator[None]:
        """Log every Python warning raised inside the block (e.g. TruncatedMediaWarning
        while opening a file) as a ``warning``, each time it happens. Use on the UI thread:
        Python's warning filters are process-wide."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for w in caught:
                    self.add(WARNING, str(w.message))
