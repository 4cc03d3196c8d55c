"""The box path tool: a box dragged on one frame, moved on others, interpolated between
keyframes, turned into a guided generation (S²V2V) that follows it."""

import numpy as np
import pytest

import motionwright as mw
from motionwright_gui.model import box_path
from motionwright_gui.model.tools import ToolController


def drag(model, a, b):
    """Drag with the active tool from ``a`` to ``b`` (frame pixels), as the viewer does."""
    tools = ToolController(model)
    tools.press(*a)
    tools.move(*b)
    tools.release(*b)


def test_drag_a_box_then_move_it_on_another_frame(model):
    model.set_tool("box")
    drag(model, (30, 20), (10, 8))  # dragged up-left: corners are sorted
    assert model.box_keys == ((0, 10.0, 8.0, 20.0, 12.0),)
    model.set_playhead(8)
    assert model.box_at() == (10.0, 8.0, 20.0, 12.0)  # held after the only keyframe
    drag(model, (15, 12), (55, 32))  # pressed inside the box: moves it
    assert model.box_keys == ((0, 10.0, 8.0, 20.0, 12.0), (8, 50.0, 28.0, 20.0, 12.0))
    assert model.box_at(4) == pytest.approx((30.0, 18.0, 20.0, 12.0))  # halfway, linear
    assert model.box_at(11) == pytest.approx((50.0, 28.0, 20.0, 12.0))


def test_box_keyframes_are_undoable(model):
    model.set_box((10, 8, 20, 12), frame=0)
    model.set_box((40, 20, 30, 20), frame=6)
    model.undo.undo()
    assert model.box_keys == ((0, 10.0, 8.0, 20.0, 12.0),)
    model.undo.undo()
    assert model.box_keys == () and model.box_at() is None
    model.undo.redo()
    assert len(model.box_keys) == 1


def test_interpolation_between_keyframes():
    keys = ((2, 0.0, 0.0, 10.0, 10.0), (6, 40.0, 20.0, 30.0, 10.0))
    b = box_path.boxes(keys, 9)
    assert b.shape == (9, 4)
    assert b[0].tolist() == [0, 0, 10, 10] and b[8].tolist() == [40, 20, 30, 10]
    assert b[4].tolist() == [20, 10, 20, 10]


def test_built_edit_is_the_sdk_box_form(model):
    model.set_box((10, 8, 20, 12), frame=0)
    model.set_box((50, 28, 20, 12), frame=10)
    index = model.add_box_generation("a red balloon", negative_prompt="blurry")
    edit = model.edits[index]
    keys = np.array([[10, 8, 20, 12], [50, 28, 20, 12]], np.float64)
    x, y, w, h = (np.interp(np.arange(12), [0, 10], keys[:, i]) for i in range(4))
    corners = np.stack([np.stack([x, y], -1), np.stack([x + w, y + h], -1)], 1)
    expected = mw.GuidedGeneration(None, None, "a red balloon", box=mw.Trajectory(
        corners.astype(np.float32), np.ones((12, 2), bool)), negative_prompt="blurry")
    assert isinstance(edit, mw.GuidedGeneration)
    assert edit.reference is None and edit.points is None
    assert edit.to_dict() == expected.to_dict()
    assert model.box_keys == ()  # the path went into the edit
    model.undo.undo()
    assert not model.edits and len(model.box_keys) == 2


def test_box_outside_the_frame_is_refused(model):
    with pytest.raises(mw.errors.InvalidInputError, match=r"leaves the 96x64 frame"):
        model.set_box((80, 10, 30, 10))
    model.set_box((60, 40, 30, 20))
    with pytest.raises(mw.errors.InvalidInputError, match=r"box: on frame 3 .*leaves"):
        model.move_box((10, 0), frame=3)
    with pytest.raises(mw.errors.InvalidInputError, match="no area"):
        model.set_box((5, 5, 0, 4))
    with pytest.raises(mw.errors.InvalidInputError, match=r"frame: 12 is outside"):
        model.set_box((5, 5, 4, 4), frame=12)
    assert model.box_keys == ((0, 60.0, 40.0, 30.0, 20.0),)


def test_generation_needs_a_box(model):
    with pytest.raises(mw.errors.InvalidInputError, match="no box drawn"):
        model.add_box_generation("a cat")


def test_viewer_draws_the_box_path_and_the_inspector_edits_the_prompt(qtbot, window, model,
                                                                      monkeypatch):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QInputDialog

    window.tool_actions["box"].trigger()
    assert model.tool == "box"
    viewer = window.viewer
    t = viewer.transform
    at = lambda x, y: QPoint(*map(round, t.to_widget(x, y)))  # noqa: E731
    qtbot.mousePress(viewer, Qt.MouseButton.LeftButton, pos=at(10, 8))
    qtbot.mouseRelease(viewer, Qt.MouseButton.LeftButton, pos=at(40, 30))
    assert len(model.box_keys) == 1
    x, y, w, h = model.box_at()
    assert abs(y - 8) < 1
    assert abs(x - 10) < 1 and abs(w - 30) < 1 and abs(h - 22) < 1
    model.set_box((50, 30, 30, 22), frame=11)
    paths = viewer.box_paths()
    assert len(paths) == 1 and paths[0][1] == [0, 11] and paths[0][0].shape == (12, 4)
    image = viewer.grab().toImage()
    edge = image.pixelColor(at(25, 8).x(), at(25, 8).y())  # top edge of frame 0's box
    assert (edge.red(), edge.green(), edge.blue()) == (255, 255, 255)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("a kite", True))
    window.actions_by_name["generate_box"].trigger()
    edit = model.edits[-1]
    assert isinstance(edit, mw.GuidedGeneration) and edit.box is not None
    assert len(viewer.box_paths()) == 1  # the selected edit's path
    prompt = window.inspector.fields["prompt"]
    assert prompt.text() == "a kite"
    prompt.setText("a hawk")
    prompt.editingFinished.emit()
    assert model.edits[-1].prompt == "a hawk" and model.edits[-1].box is not None
