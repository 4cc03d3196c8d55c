"""Modal questions: a :class:`~motionwright_gui.model.quitting.Question` as a message box."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from ..model.quitting import Question

_ROLES = {"save": QMessageBox.ButtonRole.AcceptRole,
          "discard": QMessageBox.ButtonRole.DestructiveRole,
          "cancel-jobs": QMessageBox.ButtonRole.DestructiveRole}


def ask(parent: QWidget, question: Question) -> str:
    """Show ``question`` and return the key of the button pressed; Escape or closing the box
    answers the last (safe) choice."""
    box = QMessageBox(QMessageBox.Icon.Question, question.title, question.text,
                      QMessageBox.StandardButton.NoButton, parent)
    buttons = {}
    for key, text in question.choices:
        role = _ROLES.get(key, QMessageBox.ButtonRole.RejectRole)
        buttons[box.addButton(text, role)] = key
    first, last = (next(b for b, k in buttons.items() if k == key)
                   for key in (question.keys[0], question.keys[-1]))
    box.setDefaultButton(first)
    box.setEscapeButton(last)
    box.exec()
    return buttons.get(box.clickedButton(), question.keys[-1])
