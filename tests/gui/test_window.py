"""Qt views of the editor model: model changes reach the view, user input reaches the model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

import motionwright as mw
from motionwright_gui.model import EditorModel


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


def test_playback_without_loop_stops_at_out(qtbot, window, model):
    window.actions_by_name["loop"].trigger()
    assert not model.loop
    window.toggle_play()
    qtbot.waitUntil(lambda: model.playhead >= 3, timeout=3000)
    window.shuttle(1)
    assert window.speed == 2
    qtbot.waitUntil(lambda: window.speed == 0, timeout=3000)
    assert model.playhead == 11


def test_playback_loops_inside_in_out(qtbot, window, model):
    assert window.actions_by_name["loop"].isChecked() and model.loop
    model.set_in(3)
    model.set_out(6)
    model.set_playhead(9)
    seen = []
    model.playhead_changed.connect(lambda: seen.append(model.playhead))
    window.shuttle(1)
    window.shuttle(1)
    assert window.speed == 2 and model.playhead == 3
    qtbot.waitUntil(lambda: seen.count(3) >= 3, timeout=5000)
    window.toggle_play()
    assert window.speed == 0
    assert set(seen) <= {3, 4, 5, 6} and 6 in seen


def test_track_action_shows_tracked_and_lost_points(qtbot, window, model):
    model.add_track_point((14, 24))
    window.actions_by_name["track"].trigger()
    qtbot.waitUntil(lambda: model.tracks is not None, timeout=20000)
    assert model.tracks.visible.shape == (12, 1)
    model.set_playhead(6)
    window.viewer.grab()


def test_diffusion_render_without_model_is_explained_at_once(qtbot, window, model):
    model.add_drag_pair((14, 24), (18, 24))
    window.actions_by_name["render_diffusion"].trigger()
    assert model.jobs.jobs == []
    text = window.statusBar().currentMessage()
    assert "No sd15 model is configured" in text and "Fix: motionwright models add sd15" in text
    assert "models add sd15" in window.messages.texts()[0]


def test_preview_render_opens_ab_compare_from_the_saved_file(qtbot, window, model, tmp_path):
    model.add_drag_pair((14, 24), (18, 24))
    window.actions_by_name["render_preview"].trigger()
    qtbot.waitUntil(lambda: bool(model.results), timeout=30000)
    result = model.results[0]
    assert result.path.exists() and result.path.parent == tmp_path / "cache" / "renders"
    assert window.center_tabs.currentWidget() is window.compare
    model.set_playhead(5)
    qtbot.waitUntil(lambda: window.compare.exact, timeout=5000)
    assert window.compare.canvas.a.pixelColor(0, 0).red() == 5
    window.compare.mode.setCurrentText("side")
    assert window.compare.canvas.mode == "side"
    row = window.jobs_panel.rows[model.jobs.jobs[-1].id]
    assert row.bar.value() == 1000 and row.preview.pixmap() is not None
    assert result.path.name in row.state.text() and not row.compare.isHidden()
    assert row.state.toolTip() == str(result.path)


def test_compare_decodes_both_sides_off_the_ui_thread(qtbot, window, model, tmp_path):
    import threading

    from motionwright_gui.model import RenderResult

    class Recording:
        def __init__(self, frames):
            self.frames, self.threads = frames, []
            self.fps, self.size, self.start_timecode = model.clip.fps, model.clip.size, None

        def __len__(self):
            return len(self.frames)

        def read(self, i):
            self.threads.append(threading.current_thread())
            return self.frames[i]

    frames = np.asarray(model.clip.to_array())
    a, b = Recording(frames), Recording(255 - frames)
    model.clip = mw.Clip.from_source(a)
    model.clip_changed.emit()
    window.center_tabs.setCurrentWidget(window.compare)
    model.result_ready.emit(RenderResult("r", "preview", tmp_path / "r.mp4",
                                         mw.Clip.from_source(b)))
    for f in (2, 8):
        model.set_playhead(f)
        qtbot.waitUntil(lambda: window.compare.exact, timeout=5000)
    assert window.compare.canvas.b.pixelColor(0, 0).red() == 255 - 8
    assert a.threads and b.threads
    assert all(t is not threading.main_thread() for t in a.threads + b.threads)


def test_inspector_edits_drag_pairs_and_frame_undoably(qtbot, window, model):
    model.set_playhead(3)
    model.add_drag_pair((14, 24), (18, 24))
    model.add_drag_pair((40, 30), (44, 31))
    ins = window.inspector
    hx, ty = ins.fields["pair1.hx"], ins.fields["pair1.ty"]
    assert (hx.value(), ty.value()) == (40, 31)
    assert (hx.minimum(), hx.maximum()) == (-0.5, 95.5)
    assert ins.fields["pair0.hy"].maximum() == 63.5
    hx.setValue(50.5)
    assert np.allclose(model.edits[0].handles.points[1], [50.5, 30])
    ins.fields["pair0.ty"].setValue(999)
    assert model.edits[0].targets.points[0, 1] == pytest.approx(63.5)
    ins.fields["frame"].setValue(7)
    assert model.edits[0].frame == 7
    assert ins.fields["pair1.hx"].value() == 50.5
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert np.allclose(model.edits[0].handles.points[1], [40, 30]) and model.edits[0].frame == 3
    assert window.inspector.fields["pair1.hx"].value() == 40


def test_inspector_trajectory_start_length_timing_and_mask(qtbot, window, model):
    model.set_playhead(1)
    model.add_anchor((80, 50))
    model.add_trajectory([(20, 20), (40, 20), (60, 40)])
    ins = window.inspector
    assert ins.fields["timing"].currentText() == "uniform"
    assert ins.fields["start"].maximum() == 1
    ins.fields["length"].setValue(5)
    assert model.edits[0].trajectories.num_frames == 5
    ins.fields["start"].setValue(3)
    tr = model.edits[0].trajectories
    assert (tr.start_frame, tr.num_frames) == (3, 5)
    ins.fields["timing"].setCurrentText("ease")
    assert window.inspector.fields["timing"].currentText() == "ease"
    area = model.edits[0].region.data.sum()
    window.inspector.fields["grow"].click()
    assert model.edits[0].region.data.sum() > area
    for _ in range(4):
        window.actions_by_name["undo"].trigger()
    assert model.edits[0].trajectories.start_frame == 1
    assert window.inspector.fields["length"].value() == 11


def test_timeline_drags_span_edges_and_marks_keyframes(qtbot, window, model):
    model.set_playhead(2)
    model.add_trajectory([(20, 20), (60, 40)])
    model.select(None)
    model.add_drag_pair((14, 24), (18, 24), frame=5)
    tl = window.timeline
    y0, y1 = int(tl.row_y(0)), int(tl.row_y(1))
    r = tl.span_rect(2, 11, 0)
    assert tl.hit(r.left() + 1, y0) == (0, "start") and tl.hit(r.center().x(), y0)[1] == "move"
    qtbot.mousePress(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(r.right()) - 1, y0))
    qtbot.mouseMove(tl, QPoint(int(tl.x_of(8)), y0))
    assert tl.drag["now"] == (2, 8)
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(8)), y0))
    tr = model.edits[0].trajectories
    assert (tr.start_frame, tr.end_frame) == (2, 9) and model.selection == 0
    left = int(tl.span_rect(2, 8, 0).left()) + 1
    qtbot.mousePress(tl, Qt.MouseButton.LeftButton, pos=QPoint(left, y0))
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(4)), y0))
    assert model.edits[0].trajectories.start_frame == 4
    assert model.edits[0].trajectories.num_frames == 5
    qtbot.mousePress(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(5)), y1))
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(9)), y1))
    assert model.edits[1].frame == 9
    window.actions_by_name["undo"].trigger()
    assert model.edits[1].frame == 5
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert model.edits[0].trajectories.end_frame == 12
    img = tl.grab().toImage()
    fw = tl.x_of(1) - tl.x_of(0)
    assert fw > 9
    white = img.pixelColor(int(tl.x_of(7)), int(tl.key_y(0)))
    assert (white.red(), white.green(), white.blue()) == (255, 255, 255)
    drag_key = img.pixelColor(int(tl.x_of(5)), int(tl.key_y(1)))
    assert (drag_key.red(), drag_key.green(), drag_key.blue()) == (255, 255, 255)


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
    assert not act.isEnabled() and "motionwright models add sam PATH" in act.toolTip()


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
