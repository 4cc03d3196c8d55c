"""The SAM click tool on a tiny random SAM: availability, clicks, undo, propagate, apply."""

from __future__ import annotations

import importlib
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

import motionwright as mw
from motionwright_gui.model import ToolController, sam_available, sam_status

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture
def calls(monkeypatch):
    """Every ``segment`` call as ``(frame index in the clip, points, labels, point frame)``
    (the real segmentation still runs)."""
    real, seen = mw.segment, []

    def spy(frame, points=None, box=None, *, models=None):
        seen.append((int(np.asarray(frame)[0, 0, 0]), np.asarray(points.points).copy(),
                     np.asarray(points.labels).copy(), points.frame))
        return real(frame, points, box, models=models)

    monkeypatch.setattr(mw, "segment", spy)
    return seen


@pytest.fixture
def loads(monkeypatch):
    """How many times a model was loaded from disk."""
    loading = importlib.import_module("motionwright.models.loading")
    real, count = loading.load_model, []

    def counting(*args, **kwargs):
        count.append(getattr(args[0], "name", args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(loading, "load_model", counting)
    return count


@pytest.fixture
def broken_sam(tmp_path, monkeypatch, sam_model):
    """A configured sam model folder whose weights file is gone."""
    broken = tmp_path / "broken-sam"
    shutil.copytree(sam_model, broken)
    (broken / "model.safetensors").unlink()
    monkeypatch.setenv("MOTIONWRIGHT_MODEL_SAM", str(broken))
    return broken


def click(model, x, y, positive=True):
    job = model.sam.click(x, y, positive)
    assert model.jobs.wait(30)
    if job is not None:
        assert job.state == "done", job.error
    return job


# -- model (no Qt) -------------------------------------------------------------------------------
def test_sam_is_available_only_when_a_model_is_configured(model, tmp_path, monkeypatch):
    from motionwright.models import ModelStore
    from tiny_models import tiny_model

    assert not sam_available()
    assert "motionwright models add sam PATH" in sam_status()[1]
    ModelStore().add("sam", tiny_model("sam"))
    assert sam_available() and str(tiny_model("sam")) in sam_status()[1]
    model.set_tool("sam")
    assert model.tool == "sam"
    ModelStore().remove("sam")
    assert not sam_available()
    monkeypatch.setenv("MOTIONWRIGHT_MODEL_SAM", str(tmp_path / "nowhere"))
    ok, why = sam_status()
    assert not ok and "does not exist" in why and "motionwright models add sam PATH" in why


def test_clicks_segment_the_playhead_frame_reuse_the_model_and_undo(model, sam_model, calls,
                                                                    loads):
    model.set_tool("sam")
    model.set_playhead(4)
    tools = ToolController(model)
    tools.press(14.0, 24.0)
    assert model.jobs.wait(30) and model.jobs.jobs[-1].state == "done"
    first = model.sam_mask
    assert isinstance(first, mw.Mask) and first.size == (96, 64) and first.start_frame == 4
    frame, pts, labels, at = calls[-1]
    assert frame == 4 and at == 4 and pts.tolist() == [[14.0, 24.0]] and labels.tolist() == [1]
    tools.press(60.0, 40.0, alt=True)
    assert model.jobs.wait(30) and model.jobs.jobs[-1].state == "done"
    assert calls[-1][2].tolist() == [1, 0] and calls[-1][1].tolist() == [[14, 24], [60, 40]]
    assert model.sam_clicks == ((14.0, 24.0, 1), (60.0, 40.0, 0))
    assert loads == ["sam"]
    assert model.undo.undo_text == "SAM exclude click"
    model.undo.undo()
    assert model.sam_clicks == ((14.0, 24.0, 1),) and model.sam_mask is first
    model.undo.undo()
    assert model.sam_clicks == () and model.sam_mask is None
    model.set_playhead(6)
    click(model, 20.0, 24.0)
    assert model.sam_frame == 6 and model.sam_clicks == ((20.0, 24.0, 1),)
    assert len(loads) == 1


def test_exclude_clicks_alone_wait_for_a_keep_click(model, sam_model, calls):
    messages = []
    model.message.connect(messages.append)
    assert model.sam.click(30.0, 30.0, positive=False) is None
    assert model.sam_clicks == ((30.0, 30.0, 0),) and model.sam_mask is None and not calls
    assert any("exclude clicks alone" in m for m in messages)
    assert model.sam.click(500.0, 30.0) is None and len(model.sam_clicks) == 1
    click(model, 14.0, 24.0)
    assert calls[-1][2].tolist() == [0, 1] and model.sam_mask is not None


def test_propagate_covers_the_clip_and_apply_sets_the_mask(model, sam_model):
    with pytest.raises(mw.errors.InvalidInputError, match="no SAM click"):
        model.sam.propagate()
    with pytest.raises(mw.errors.InvalidInputError, match="no SAM mask"):
        model.sam.apply()
    model.set_playhead(2)
    click(model, 14.0, 24.0)
    job = model.sam.propagate()
    assert model.jobs.wait(60) and job.state == "done", job.error
    mask = model.sam_mask
    assert mask.data.shape == (12, 64, 96) and mask.start_frame == 0
    assert job.fraction == 1.0 and job.family == "sam"
    model.sam.apply()
    assert model.draft_mask is mask and model.sam_clicks == () and model.sam_mask is None
    model.undo.undo()
    assert model.draft_mask is None and model.sam_mask is mask
    model.add_drag_pair((14, 24), (18, 24))
    model.sam.apply()
    assert model.edits[0].mask is mask and model.draft_mask is None


def test_propagate_can_be_cancelled(model, sam_model):
    click(model, 14.0, 24.0)
    before = model.sam_mask
    job = model.sam.propagate()
    model.jobs.cancel(job)
    assert model.jobs.wait(60)
    assert job.state == "cancelled" and model.sam_mask is before
    assert model.undo.undo_text == "SAM click"


def test_broken_model_is_explained_with_the_fix(model, broken_sam):
    job = model.sam.click(14.0, 24.0)
    assert model.jobs.wait(30) and job.state == "failed"
    assert "motionwright models add sam" in job.error.command
    assert "model.safetensors" in job.error.detail
    assert model.sam.pending == () and model.sam_mask is None and model.sam_clicks == ()


def test_model_errors_are_explained_with_the_sam_command():
    from motionwright.models import ModelMismatchError, ModelNotFoundError
    from motionwright_gui.model import explain

    missing = explain(ModelNotFoundError("no sam model configured (...)"), family="sam")
    assert missing.title == "No sam model is configured"
    broken = explain(ModelNotFoundError("sam model: model.safetensors is missing"), family="sam")
    assert "missing" in broken.title and "models add sam" in broken.command
    wrong = explain(ModelMismatchError("not a SamModel"), family="sam")
    assert "could not be loaded" in wrong.title and "models add sam" in wrong.command


def test_enter_applies_and_escape_clears(model, sam_model):
    model.set_tool("sam")
    tools = ToolController(model)
    assert not tools.key("Enter")
    click(model, 14.0, 24.0)
    assert tools.key("Escape") and model.sam_clicks == () and model.sam_mask is None
    model.undo.undo()
    mask = model.sam_mask
    assert tools.key("Enter") and model.draft_mask is mask


# -- window ---------------------------------------------------------------------------------------
def test_sam_tool_is_enabled_once_a_model_is_added(window, model):
    from motionwright.models import ModelStore
    from tiny_models import tiny_model

    act = window.tool_actions["sam"]
    assert not act.isEnabled() and "motionwright models add sam PATH" in act.toolTip()
    ModelStore().add("sam", tiny_model("sam"))
    window.tools_menu.aboutToShow.emit()
    assert act.isEnabled() and "Alt+click" in act.toolTip()
    act.trigger()
    assert model.tool == "sam"
    ModelStore().remove("sam")
    window.tools_menu.aboutToShow.emit()
    assert not act.isEnabled() and model.tool != "sam"


def test_clicks_at_zoom_reach_segment_in_frame_coordinates(qtbot, window, model, sam_model,
                                                           calls):
    window.refresh_sam()
    window.tool_actions["sam"].trigger()
    assert model.tool == "sam"
    model.set_playhead(5)
    viewer = window.viewer
    viewer.set_zoom(2.5)
    viewer.pan = (11.0, -7.0)
    t = viewer.transform
    pos = QPoint(*map(round, t.to_widget(44, 30)))
    qtbot.mouseClick(viewer, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: model.sam_mask is not None, timeout=30000)
    frame, pts, labels, at = calls[-1]
    tol = 0.5 / t.scale + 1e-6
    assert frame == 5 and at == 5 and labels.tolist() == [1]
    assert np.abs(pts[0] - [44, 30]).max() <= tol
    assert window.actions_by_name["sam_apply"].isEnabled()
    assert window.actions_by_name["sam_propagate"].isEnabled()
    viewer.grab()
    first = model.sam_mask
    t = viewer.transform  # the status message may have resized the viewer
    neg = QPoint(*map(round, t.to_widget(56, 36)))
    assert viewer.rect().contains(pos) and viewer.rect().contains(neg)
    qtbot.mouseClick(viewer, Qt.MouseButton.RightButton, pos=neg)
    qtbot.waitUntil(lambda: len(model.sam_clicks) == 2, timeout=30000)
    assert calls[-1][2].tolist() == [1, 0]
    assert np.abs(calls[-1][1][1] - [56, 36]).max() <= tol
    qtbot.mouseClick(viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, neg)
    qtbot.waitUntil(lambda: len(model.sam_clicks) == 3, timeout=30000)
    assert calls[-1][2].tolist() == [1, 0, 0]
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert model.sam_mask is first
    window.actions_by_name["undo"].trigger()
    assert model.sam_mask is None and model.sam_clicks == ()
    assert not window.actions_by_name["sam_apply"].isEnabled()


def test_propagate_and_apply_from_the_window(qtbot, window, model, sam_model):
    window.refresh_sam()
    model.set_tool("sam")
    model.sam.click(14.0, 24.0)
    qtbot.waitUntil(lambda: model.sam_mask is not None, timeout=30000)
    window.actions_by_name["sam_propagate"].trigger()
    qtbot.waitUntil(lambda: model.sam_mask.data.shape[0] == 12, timeout=60000)
    job = model.jobs.jobs[-1]
    assert job.kind == "segment" and job.id in window.jobs_panel.rows
    assert all(j.id not in window.jobs_panel.rows for j in model.jobs.jobs if j.kind ==
               "sam-click")
    mask = model.sam_mask
    model.set_playhead(9)
    window.viewer.grab()
    window.actions_by_name["sam_apply"].trigger()
    assert model.draft_mask is mask and model.sam_mask is None


def test_broken_model_click_is_a_status_message_with_the_fix(qtbot, window, model, broken_sam):
    window.refresh_sam()
    model.set_tool("sam")
    qtbot.mouseClick(window.viewer, Qt.MouseButton.LeftButton,
                     pos=QPoint(*map(round, window.viewer.transform.to_widget(14, 24))))
    qtbot.waitUntil(lambda: "motionwright models add sam" in
                    window.statusBar().currentMessage(), timeout=30000)
    assert model.sam_mask is None and model.sam.pending == ()
    assert window.side_tabs.currentWidget() is not window.jobs_panel


def test_unconfigured_click_is_explained(qtbot, window, model, sam_model, monkeypatch):
    window.refresh_sam()
    model.set_tool("sam")
    monkeypatch.delenv("MOTIONWRIGHT_MODEL_SAM")
    qtbot.mouseClick(window.viewer, Qt.MouseButton.LeftButton,
                     pos=QPoint(*map(round, window.viewer.transform.to_widget(14, 24))))
    assert "motionwright models add sam" in window.statusBar().currentMessage()
    assert model.sam_clicks == ()
