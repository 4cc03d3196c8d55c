"""Qt views of the editor model: model changes reach the view, user input reaches the model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

import motionwright as mw
from motionwright_gui.model import EditorModel
from motionwright_gui.qt.bridge import UiDispatcher
from motionwright_gui.qt.window import MainWindow


@pytest.fixture
def window(qtbot, model):
    model.dispatcher = model.jobs.dispatcher = UiDispatcher()
    win = MainWindow(model)
    win.loader.dispatcher = model.dispatcher
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    win.viewer.request_frame()
    return win


def shown_frame_index(win) -> int:
    """The red channel of pixel (0, 0) of the frame on screen (the test clip's frame index)."""
    img = win.viewer.image
    return img.pixelColor(0, 0).red()


def test_model_playhead_reaches_viewer_status_and_timeline(qtbot, window, model):
    model.set_playhead(7)
    qtbot.waitUntil(lambda: window.viewer.exact, timeout=5000)
    assert shown_frame_index(window) == 7
    assert window.status_frame.text() == "frame 7 / 11"
    assert window.status_timecode.text() == model.timecode(7)
    assert "96×64" in window.status_size.text() and "preview" in window.status_backend.text()
    x = window.timeline.x_of(7)
    assert window.timeline.frame_at(x) == 7


def test_timeline_click_scrubs(qtbot, window, model):
    tl = window.timeline
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(9)), 10))
    assert model.playhead == 9
    qtbot.waitUntil(lambda: window.viewer.exact, timeout=5000)
    assert shown_frame_index(window) == 9


def test_drag_pair_at_zoom_lands_on_frame_coordinates_and_undo_removes(qtbot, window, model):
    viewer = window.viewer
    model.set_playhead(3)
    viewer.set_zoom(2.5)
    viewer.pan = (17.0, -9.0)
    t = viewer.transform
    assert t.scale > 5
    start, end = t.to_widget(20, 30), t.to_widget(26, 28)
    assert t.to_frame(*start) == pytest.approx((20, 30))
    qtbot.mousePress(viewer, Qt.MouseButton.LeftButton, pos=QPoint(*map(round, start)))
    qtbot.mouseMove(viewer, QPoint(*map(round, end)))
    assert viewer.tools.line is not None
    qtbot.mouseRelease(viewer, Qt.MouseButton.LeftButton, pos=QPoint(*map(round, end)))
    edit = model.edits[0]
    assert isinstance(edit, mw.DragEdit) and edit.frame == 3
    tol = 0.5 / t.scale + 1e-6
    assert np.abs(edit.handles.points[0] - [20, 30]).max() <= tol
    assert np.abs(edit.targets.points[0] - [26, 28]).max() <= tol
    assert window.inspector.fields["frame"].value() == 3
    window.actions_by_name["undo"].trigger()
    assert model.edits == []
    window.actions_by_name["redo"].trigger()
    assert len(model.edits) == 1


def test_pixel_centre_convention():
    from motionwright_gui.model.geometry import ViewTransform

    t = ViewTransform((4, 2), (40, 20))
    assert t.scale == 10
    assert t.to_widget(0, 0) == (5, 5)
    assert t.to_frame(0, 0) == (-0.5, -0.5)
    z = t.zoomed_at(3, 12, 7)
    assert z.to_frame(12, 7) == pytest.approx(t.to_frame(12, 7))


def test_polygon_tool_by_clicks_makes_mask(qtbot, window, model):
    model.set_tool("polygon")
    t = window.viewer.transform
    for x, y in [(30, 10), (70, 10), (70, 50), (30, 50)]:
        qtbot.mouseClick(window.viewer, Qt.MouseButton.LeftButton,
                         pos=QPoint(*map(round, t.to_widget(x, y))))
    qtbot.keyClick(window.viewer, Qt.Key.Key_Return)
    assert model.draft_mask is not None
    m = model.draft_mask.at(0)
    assert m[30, 50] and not m[5, 5]


def test_keyboard_shortcuts_move_playhead_and_marks(qtbot, window, model):
    window.activateWindow()
    window.viewer.setFocus()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=2000)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    assert model.playhead == 2
    qtbot.keyClick(window.viewer, Qt.Key.Key_I)
    qtbot.keyClick(window.viewer, Qt.Key.Key_End)
    assert model.playhead == 11
    qtbot.keyClick(window.viewer, Qt.Key.Key_Left)
    qtbot.keyClick(window.viewer, Qt.Key.Key_O)
    assert (model.in_point, model.out_point) == (2, 10)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert model.out_point == 11
    qtbot.keyClick(window.viewer, Qt.Key.Key_Home)
    assert model.playhead == 0


def test_playback_advances_and_stops_at_end(qtbot, window, model):
    window.toggle_play()
    qtbot.waitUntil(lambda: model.playhead >= 3, timeout=3000)
    window.shuttle(1)
    assert window.speed == 2
    qtbot.waitUntil(lambda: window.speed == 0, timeout=3000)
    assert model.playhead == 11


def test_track_action_shows_tracked_and_lost_points(qtbot, window, model):
    model.add_track_point((14, 24))
    window.actions_by_name["track"].trigger()
    qtbot.waitUntil(lambda: model.tracks is not None, timeout=20000)
    assert model.tracks.visible.shape == (12, 1)
    model.set_playhead(6)
    window.viewer.grab()


def test_failed_diffusion_render_is_explained_not_crashing(qtbot, window, model, monkeypatch):
    monkeypatch.setenv("MOTIONWRIGHT_MODELS", "")
    model.add_drag_pair((14, 24), (18, 24))
    window.actions_by_name["render_diffusion"].trigger()
    qtbot.waitUntil(lambda: model.jobs.jobs and not model.jobs.active(), timeout=30000)
    job = model.jobs.jobs[-1]
    assert job.state == "failed" and job.error is not None
    row = window.jobs_panel.rows[job.id]
    assert row.state.text().startswith(job.error.title)
    assert "Fix:" in window.statusBar().currentMessage() or job.error.command is None


def test_preview_render_opens_ab_compare(qtbot, window, model):
    model.add_drag_pair((14, 24), (18, 24))
    window.actions_by_name["render_preview"].trigger()
    qtbot.waitUntil(lambda: bool(model.results), timeout=30000)
    assert window.center_tabs.currentWidget() is window.compare
    qtbot.waitUntil(lambda: window.compare.canvas.b is not None, timeout=2000)
    window.compare.mode.setCurrentText("side")
    assert window.compare.canvas.mode == "side"
    row = next(iter(window.jobs_panel.rows.values()))
    assert row.bar.value() == 1000 and row.preview.pixmap() is not None


def test_live_preview_switches_viewer_source(qtbot, window, model):
    model.add_drag_pair((14, 24), (18, 24))
    window.actions_by_name["preview"].trigger()
    qtbot.waitUntil(lambda: model.preview_clip is not None, timeout=20000)
    qtbot.waitUntil(lambda: window.viewer.exact, timeout=5000)
    assert window.viewer.shown[0][0] == "preview"
    assert "live" in window.status_backend.text()


def test_motion_library_lists_and_applies(qtbot, window, model, tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    monkeypatch.setenv("MOTIONWRIGHT_MOTION_LIBRARY", str(lib))
    lib.mkdir()
    emb = mw.MotionEmbedding(np.zeros((3, 2, 4), np.float32),
                             base_model={"family": "svd", "embedding_dim": 4,
                                         "fingerprint": "test"})
    emb.save(lib / "wave.motion")
    window.library.refresh()
    assert window.library.list.count() == 1
    window.library.list.setCurrentRow(0)
    assert "svd" in window.library.info.text() or window.library.info.text()
    window.library.apply_button.click()
    assert isinstance(model.edits[0], mw.MotionTransfer)
    spin = window.inspector.fields["strength"]
    spin.setValue(2.0)
    spin.editingFinished.emit()
    assert model.edits[0].strength == 2.0
    model.undo.undo()
    assert model.edits[0].strength == 1.0


def test_sam_tool_disabled_with_tooltip(window):
    act = window.tool_actions["sam"]
    assert not act.isEnabled() and "sam" in act.toolTip()


def test_help_lists_shortcuts(qtbot, window):
    dialog = window.show_help()
    qtbot.addWidget(dialog)
    keys = dict(window.shortcut_table())
    assert keys["Play/Pause"] == "Space" and "Ctrl+Shift+Z" in keys[
        window.actions_by_name["redo"].text().replace("&", "")]


def test_save_as_and_open_recent(qtbot, window, model, tmp_path):
    from motionwright_gui.model import settings

    model.add_drag_pair((14, 24), (18, 24))
    window.save_as(str(tmp_path / "p"))
    assert (tmp_path / "p.mwproj").exists() and not model.dirty
    assert settings.recent_files()[0] == str(tmp_path / "p.mwproj")
    other = EditorModel()
    other.open(tmp_path / "p.mwproj")
    assert other.edits == model.edits


def test_open_bad_path_is_a_status_message(qtbot, window, tmp_path):
    assert not window.open_path(tmp_path / "missing.mp4")
    assert "not" in window.statusBar().currentMessage().lower()


def test_cli_module_imports_no_qt_and_screenshot(tmp_path, clip_path):
    code = ("import sys; import motionwright_gui.cli; "
            "assert 'PySide6' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "motionwright_gui", str(clip_path), "--screenshot", str(out),
         "--size", "800x500", "--frame", "4"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert (img.width(), img.height()) == (800, 500)


def test_cli_rejects_bad_arguments(tmp_path):
    result = subprocess.run([sys.executable, "-m", "motionwright_gui", str(tmp_path / "nope.mp4")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "does not exist" in result.stderr
