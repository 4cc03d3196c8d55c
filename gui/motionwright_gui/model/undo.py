"""Undo stack: every change to the editor's document is a :class:`Command` pushed here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .events import Signal


@dataclass
class Command:
    """One undoable change: ``redo`` applies it, ``undo`` reverts it; ``text`` names it for
    menus ("Add drag pair")."""

    text: str
    redo: Callable[[], Any]
    undo: Callable[[], Any]


class UndoStack:
    """A linear history of :class:`Command` s with a clean mark (the last saved state).

    ``changed`` is emitted after every push, undo, redo and clear.
    """

    def __init__(self, limit: int = 500) -> None:
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._limit = limit
        self._clean_index: int | None = 0
        self.changed = Signal("undo.changed")

    def push(self, command: Command) -> None:
        """Apply ``command`` and record it (the redo history is dropped)."""
        command.redo()
        self._done.append(command)
        self._undone.clear()
        if len(self._done) > self._limit:
            self._done.pop(0)
            self._clean_index = None if self._clean_index in (None, 0) else self._clean_index - 1
        self.changed.emit()

    def undo(self) -> bool:
        """Revert the last command; False when there is nothing to undo."""
        if not self._done:
            return False
        command = self._done.pop()
        command.undo()
        self._undone.append(command)
        self.changed.emit()
        return True

    def redo(self) -> bool:
        """Re-apply the last undone command; False when there is nothing to redo."""
        if not self._undone:
            return False
        command = self._undone.pop()
        command.redo()
        self._done.append(command)
        self.changed.emit()
        return True

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` would do something."""
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` would do something."""
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        """Name of the command :meth:`undo` would revert ("" if none)."""
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        """Name of the command :meth:`redo` would re-apply ("" if none)."""
        return self._undone[-1].text if self._undone else ""

    @property
    def is_clean(self) -> bool:
        """Whether the document is as it was at the last :meth:`set_clean`."""
        return self._clean_index == len(self._done)

    def set_clean(self) -> None:
        """Mark the current state as saved."""
        self._clean_index = len(self._done)
        self.changed.emit()

    def mark_unsaved(self) -> None:
        """Mark the current state as not saved (no state of the history is the saved one)."""
        self._clean_index = None
        self.changed.emit()

    def clear(self) -> None:
        """Forget the whole history (after opening another document)."""
        self._done.clear()
        self._undone.clear()
        self._clean_index = 0
        self.changed.emit()

    def __len__(self) -> int:
        return len(self._done)
