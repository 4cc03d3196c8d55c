"""Editor shortcuts keep working while an inspector field has the keyboard; typing still types."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

import motionwright as mw
from motionwright_gui.qt.field_keys import number_field_keeps

K, CTRL = Qt.Key, Qt.KeyboardModifier.ControlModifier


def focus(qtbot, window, field):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field, timeout=2000)


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def test_shortcuts_reach_the_editor_from_a_spin_box(qtbot, window, model):
    model.add_drag_pair((10, 10), (14, 12))
    box = window.inspector.fields["pair0.hx"]
    focus(qtbot, window, box)
    press(qtbot, K.Key_Right)
    press(qtbot, K.Key_Right)
    assert model.playhead == 2
    press(qtbot, K.Key_I)
    press(qtbot, K.Key_End)
    press(qtbot, K.Key_Left)
    press(qtbot, K.Key_O)
    assert (model.in_point, model.out_point) == (2, 10)
    press(qtbot, K.Key_Z, CTRL)
    assert model.out_point == 11
    press(qtbot, K.Key_L)
    assert window.speed == 1
    press(qtbot, K.Key_K)
    assert window.speed == 0
    press(qtbot, K.Key_Space)
    assert window.speed == 1
    press(qtbot, K.Key_Space)
    assert window.speed == 0 and QApplication.focusWidget() is box


def test_a_spin_box_still_takes_digits_backspace_and_steps(qtbot, window, model):
    model.add_drag_pair((10, 10), (14, 12))
    box = window.inspector.fields["pair0.hx"]
    focus(qtbot, window, box)
    box.selectAll()
    for key in (K.Key_5, K.Key_7, K.Key_Backspace, K.Key_2):
        press(qtbot, key)
    assert box.text() == "52" and len(model.edits) == 1  # Backspace did not delete the edit
    press(qtbot, K.Key_Return)
    assert model.edits[0].handles.points[0, 0] == pytest.approx(52)
    # the inspector was rebuilt for the changed edit; its new field has the keyboard
    assert QApplication.focusWidget() is window.inspector.fields["pair0.hx"] is not box
    press(qtbot, K.Key_Up)
    assert model.edits[0].handles.points[0, 0] == pytest.approx(53)
    assert model.playhead == 0


def test_text_field_keeps_typing_keys_and_escape_returns_to_viewer(qtbot, window, model):
    model.add_edit(mw.PromptEdit("a cat"))
    prompt = window.inspector.fields["prompt"]
    focus(qtbot, window, prompt)
    prompt.end(False)
    for key in (K.Key_Space, K.Key_J, K.Key_L, K.Key_I):
        press(qtbot, key)
    assert prompt.text() == "a cat jli" and window.speed == 0 and model.in_point == 0
    press(qtbot, K.Key_Escape)
    assert QApplication.focusWidget() is window.viewer
    press(qtbot, K.Key_Right)
    assert model.playhead == 1


def test_number_field_key_rules():
    assert number_field_keeps(K.Key_5, Qt.KeyboardModifier.NoModifier)
    assert number_field_keeps(K.Key_Backspace, Qt.KeyboardModifier.NoModifier)
    assert number_field_keeps(K.Key_V, CTRL)
    for key in (K.Key_Space, K.Key_J, K.Key_Left, K.Key_Home, K.Key_I):
        assert not number_field_keeps(key, Qt.KeyboardModifier.NoModifier)
    assert not number_field_keeps(K.Key_Z, CTRL)
