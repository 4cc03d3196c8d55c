"""Keys in the inspector's fields: a field keeps the keys it types with, the editor's
shortcuts (Space, J/K/L, arrows, I/O, Home/End, Ctrl+Z…) get the rest.

A number field (spin box) keeps digits, sign, decimal point, Backspace, Delete, Up/Down and
Page Up/Down (step the value), Enter and the clipboard keys; every other key reaches the
editor. A text field (the prompt) keeps all its typing keys, Ctrl+Z included (it undoes the
typing). In either, Escape hands the keyboard back to the viewer.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QWidget

K = Qt.Key
NUMBER_KEYS = frozenset({
    *(getattr(K, f"Key_{d}") for d in range(10)), K.Key_Minus, K.Key_Plus, K.Key_Period,
    K.Key_Comma, K.Key_Backspace, K.Key_Delete, K.Key_Up, K.Key_Down, K.Key_PageUp,
    K.Key_PageDown, K.Key_Return, K.Key_Enter, K.Key_Tab, K.Key_Backtab})
CLIPBOARD_KEYS = frozenset({K.Key_A, K.Key_C, K.Key_V, K.Key_X})


def number_field_keeps(key: int, modifiers: Any) -> bool:
    """Whether a number field keeps ``key`` pressed with ``modifiers`` (else the editor's
    shortcuts get it)."""
    ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
    if ctrl:
        return key in CLIPBOARD_KEYS
    return key in NUMBER_KEYS


class FieldKeys(QObject):
    """Event filter for the fields of a panel (see the module's rules); ``home`` is the
    widget Escape gives the keyboard to (None: the field just loses focus)."""

    def __init__(self, home: QWidget | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home

    def install(self, panel: QWidget) -> None:
        """Filter the keys of every spin box and text field inside ``panel``."""
        for field in panel.findChildren(QAbstractSpinBox):
            field.installEventFilter(self)
        for field in panel.findChildren(QLineEdit):
            if not isinstance(field.parent(), QAbstractSpinBox):
                field.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and isinstance(obj, QAbstractSpinBox):
            if not number_field_keeps(event.key(), event.modifiers()):
                event.ignore()  # not accepted: the window's shortcut gets the key
                return True
        elif kind == QEvent.Type.KeyPress and event.key() == K.Key_Escape:
            if self.home is not None:
                self.home.setFocus(Qt.FocusReason.ShortcutFocusReason)
            else:
                obj.clearFocus()
            return True
        return False
