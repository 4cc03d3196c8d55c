"""Quitting asks about unsaved changes and running jobs; the answers are injected, not clicked."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

import motionwright as mw
from motionwright_gui.model.jobs import Job
from motionwright_gui.model.quitting import (
    CANCEL,
    CANCEL_JOBS,
    DISCARD,
    KEEP_WORKING,
    SAVE,
    may_close,
    running_jobs,
)


class Answers:
    """An ``ask`` that records each question and gives the next scripted answer."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = []

    def __call__(self, question):
        self.asked.append(question)
        return self.answers.pop(0)


def blocking_job(model):
    release = threading.Event()

    def work(progress, cancel):
        while not release.wait(0.01):
            if cancel.cancelled:
                from motionwright.errors import Cancelled

                raise Cancelled("stopped")
    job = model.jobs.submit(Job("Render (diffusion) → shot.mp4", "render", work))
    return job, release


def test_clean_editor_closes_without_asking(model):
    ask = Answers()
    assert may_close(model, ask, save=lambda: pytest.fail("nothing to save"))
    assert ask.asked == []


@pytest.mark.parametrize(("answer", "saved", "closes"), [
    (SAVE, True, True), (SAVE, False, False), (DISCARD, None, True), (CANCEL, None, False)])
def test_unsaved_changes_are_asked_about(model, answer, saved, closes):
    model.add_drag_pair((10, 10), (14, 12))
    ask = Answers(answer)
    calls = []

    def save():
        calls.append(True)
        return saved

    assert may_close(model, ask, save) is closes
    assert ask.asked[0].keys == (SAVE, DISCARD, CANCEL)
    assert calls == ([True] if answer == SAVE else [])


def test_running_jobs_are_asked_about_before_unsaved_changes(model):
    job, release = blocking_job(model)
    try:
        model.add_drag_pair((10, 10), (14, 12))
        ask = Answers(KEEP_WORKING)
        assert not may_close(model, ask, save=lambda: True)
        assert ask.asked[0].keys == (CANCEL_JOBS, KEEP_WORKING)
        assert "shot.mp4" in ask.asked[0].text and job.active
        ask = Answers(CANCEL_JOBS, CANCEL)
        assert not may_close(model, ask, save=lambda: True)
        assert job.active, "cancelling at the second question must leave the jobs running"
        assert running_jobs(model) == [job]
    finally:
        release.set()
        model.jobs.wait(5)


def quit_by_keyboard(qtbot, window):
    window.activateWindow()
    window.viewer.setFocus()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_q_with_unsaved_changes_can_be_cancelled_or_saved(qtbot, window, model, tmp_path):
    model.add_drag_pair((10, 10), (14, 12))
    window.ask = Answers(CANCEL)
    quit_by_keyboard(qtbot, window)
    assert window.isVisible() and window.ask.asked[0].title == "Unsaved changes"
    window.save_as(str(tmp_path / "p.mwproj"))
    model.add_drag_pair((20, 10), (24, 12))
    window.ask = Answers(SAVE)
    quit_by_keyboard(qtbot, window)
    assert not window.isVisible() and not model.dirty
    saved = mw.Project.load(tmp_path / "p.mwproj").edits[model.clip_id]
    assert saved == model.edits and len(saved[0].handles.points) == 2


def test_closing_with_a_running_job_cancels_it(qtbot, window, model):
    job, release = blocking_job(model)
    try:
        window.ask = Answers(KEEP_WORKING)
        window.close()
        assert window.isVisible() and job.active
        window.ask = Answers(CANCEL_JOBS)
        window.close()
        assert not window.isVisible()
        assert model.jobs.wait(5) and job.state == "cancelled"
    finally:
        release.set()


@pytest.mark.parametrize(("button", "expected"), [("Discard", DISCARD), (None, CANCEL)])
def test_dialog_returns_the_key_of_the_button_pressed(qtbot, button, expected):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

    from motionwright_gui.model.quitting import Question
    from motionwright_gui.qt.dialogs import ask

    parent = QWidget()
    qtbot.addWidget(parent)

    def answer():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        if button is None:
            box.reject()  # Escape / closing the box
        else:
            next(b for b in box.buttons() if b.text() == button).click()

    QTimer.singleShot(0, answer)
    question = Question("Unsaved changes", "Save?", ((SAVE, "Save"), (DISCARD, "Discard"),
                                                     (CANCEL, "Cancel")))
    assert ask(parent, question) == expected
