"""The Qt-free editor model: document changes, undo, time, tools, jobs, recovery."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import motionwright as mw
from motionwright_gui.model import (
    EditorModel,
    FrameCache,
    FrameLoader,
    Job,
    JobQueue,
    Signal,
    ToolController,
    explain,
)


def test_model_imports_without_qt():
    code = ("import sys; sys.modules['PySide6'] = None; import motionwright_gui.model; "
            "assert not any(m.startswith('PySide6') for m in sys.modules if sys.modules[m])")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_signal_calls_every_slot_even_if_one_fails():
    sig, seen = Signal("s"), []

    def bad(x):
        raise RuntimeError("boom")

    sig.connect(bad)
    sig.connect(seen.append)
    with pytest.raises(RuntimeError, match="boom"):
        sig.emit(3)
    assert seen == [3]
    sig.disconnect(bad)
    sig.emit(4)
    assert seen == [3, 4]


def test_open_clip_sets_time_state(model):
    assert model.num_frames == 12 and model.clip.size == (96, 64)
    assert (model.playhead, model.in_point, model.out_point) == (0, 0, 11)
    assert model.set_playhead(50) == 11 and model.set_playhead(-3) == 0
    model.step(4)
    assert model.playhead == 4
    assert model.timecode() == str(model.clip.start_timecode + 4)


def test_in_out_are_undoable(model):
    seen = []
    model.range_changed.connect(lambda: seen.append((model.in_point, model.out_point)))
    model.set_playhead(3)
    model.set_in()
    model.set_playhead(8)
    model.set_out()
    assert (model.in_point, model.out_point) == (3, 8)
    model.undo.undo()
    assert (model.in_point, model.out_point) == (3, 11)
    model.undo.redo()
    assert seen[-1] == (3, 8)


def test_drag_pairs_add_undo_redo(model):
    model.set_playhead(2)
    i = model.add_drag_pair((10, 20), (15, 22))
    edit = model.edits[i]
    assert isinstance(edit, mw.DragEdit) and edit.frame == 2
    model.add_drag_pair((30, 30), (31, 35))
    assert len(model.edits) == 1 and len(model.edits[0].handles) == 2
    assert model.dirty
    model.undo.undo()
    assert len(model.edits[0].handles) == 1
    model.undo.undo()
    assert model.edits == [] and model.selection is None
    model.undo.redo()
    assert np.allclose(model.edits[0].targets.points, [[15, 22]])


def test_edit_outside_clip_is_refused(model):
    with pytest.raises(mw.errors.InvalidInputError, match=r"outside|inside|image"):
        model.add_drag_pair((10, 20), (500, 22))
    assert model.edits == []


def test_tool_controller_drag_polygon_pen_select_delete(model):
    tools = ToolController(model)
    model.set_tool("drag")
    tools.press(10, 10)
    tools.move(14, 12)
    assert tools.line == ((10.0, 10.0), (14.0, 12.0))
    tools.release(20, 15)
    assert np.allclose(model.edits[0].targets.points, [[20, 15]])
    model.select(None)
    model.set_tool("polygon")
    for p in [(30, 30), (60, 30), (60, 50)]:
        tools.press(*p)
    tools.key("Enter")
    assert model.draft_mask is not None and model.draft_mask.at(0)[40, 55]
    model.set_tool("pen")
    tools.press(5, 5, shift=True)
    assert model.anchors == ((5.0, 5.0),)
    tools.press(40, 40)
    tools.move(50, 40)
    tools.release(60, 45)
    traj = model.edits[1]
    assert isinstance(traj, mw.TrajectoryEdit)
    assert traj.trajectories.num_points == 2 and traj.trajectories.num_frames == 12
    assert np.allclose(traj.trajectories.tracks[-1, 0], [60, 45])
    assert model.anchors == ()
    model.set_tool("select")
    tools.press(20.5, 15.2)
    assert (model.selection, model.selected_point) == (0, 0)
    tools.move(25, 15)
    tools.release(25.5, 15.2)
    assert np.allclose(model.edits[0].targets.points, [[25, 15]])
    model.remove_edit()
    assert len(model.edits) == 1
    model.undo.undo()
    assert len(model.edits) == 2


def test_brush_paints_and_erases(model):
    model.paint_mask([(20, 20), (30, 20)], 3)
    m = model.draft_mask.at(0)
    assert m[20, 25] and not m[30, 25]
    model.paint_mask([(25, 20)], 2, erase=True)
    assert not model.draft_mask.at(0)[20, 25] and model.draft_mask.at(0)[20, 20]


def test_sam_tool_is_refused_without_a_sam_model(model):
    with pytest.raises(mw.errors.BackendUnavailableError,
                       match="motionwright models add sam PATH"):
        model.set_tool("sam")
    assert model.tool == "drag"
    with pytest.raises(mw.errors.InvalidInputError, match="tool"):
        model.set_tool("lasso")


def test_track_job_sets_tracks(model):
    model.add_track_point((14, 24))
    job = model.track()
    assert model.jobs.wait(20)
    assert job.state == "done", job.error
    assert model.tracks.num_frames == 12
    assert model.tracks.tracks[5, 0, 0] == pytest.approx(19, abs=1.5)
    model.undo.undo()
    assert model.tracks is None


def test_track_without_points_explains(model):
    with pytest.raises(mw.errors.InvalidInputError, match="Points tool"):
        model.track()


def test_render_streams_to_a_file_and_cancel_leaves_none(model, tmp_path):
    model.add_drag_pair((14, 24), (18, 24))
    results = []
    model.result_ready.connect(results.append)
    job = model.render("preview")
    assert model.jobs.wait(30) and job.state == "done", job.error
    res = results[0]
    assert res.path.parent == tmp_path / "cache" / "renders" and res.path.suffix == ".mp4"
    assert res.path.exists() and res.backend == "preview"
    assert len(res.clip) == 12 and res.clip.size == (96, 64)
    assert job.preview is not None and job.preview.shape == (64, 96, 3)
    assert model.results == [res]
    model.save(tmp_path / "p.mwproj")
    assert model.render_folder() == tmp_path / "renders"
    folder = model.render_folder()
    folder.mkdir()

    def cancel_while_saving(j):
        if j.kind == "render" and j.state == "running" and j.stage == "save" and j.fraction:
            j.cancel()

    model.jobs.changed.connect(cancel_while_saving)
    job2 = model.render("preview")
    assert model.jobs.wait(30) and job2.state == "cancelled", job2.error
    assert list(folder.iterdir()) == [] and len(results) == 1


def test_job_queue_cancel_stops_running_work():
    queue, token_seen = JobQueue(), []

    def slow(progress, cancel):
        while not cancel():
            pass
        token_seen.append(True)
        raise mw.errors.Cancelled("stopped")

    j = queue.submit(Job("slow", "render", slow))
    import time

    end = time.monotonic() + 5
    while j.state != "running" and time.monotonic() < end:
        time.sleep(0.005)
    queue.cancel(j)
    assert queue.wait(5) and j.state == "cancelled" and token_seen


def test_render_target_names_and_codecs(tmp_path):
    from motionwright_gui.model import render_target

    path, codec = render_target(tmp_path, "shot-preview", (96, 64))
    assert (path.name, codec) == ("shot-preview-001.mp4", "h264")
    path.write_bytes(b"x")
    assert render_target(tmp_path, "shot-preview", (96, 64))[0].name == "shot-preview-002.mp4"
    odd, codec = render_target(tmp_path, "a b/c", (95, 64))
    assert (odd.name, codec) == ("a_b_c-001", "png")
    master, codec = render_target(tmp_path, "shot-preview", (96, 64), master=True)
    assert (master.name, codec) == ("shot-preview-001.mov", "prores")


def test_failed_job_is_explained():
    queue = JobQueue()

    def fail(progress, cancel):
        raise mw.errors.MissingExtraError("learning a motion needs torch: pip install ...")

    job = queue.submit(Job("learn", "learn", fail))
    assert queue.wait(5) and job.state == "failed"
    assert "motionwright[diffusion]" in job.error.command


def test_explain_missing_model():
    e = explain(mw.errors.BackendUnavailableError("no svd model configured"), family="svd")
    assert e.command == "motionwright models add svd /path/to/svd-model"


def test_save_load_and_recovery(model, tmp_path):
    model.add_drag_pair((10, 20), (15, 22))
    assert model.autosave() is not None
    restarted = EditorModel(recovery=model.recovery)
    assert restarted.recover()
    assert len(restarted.edits) == 1 and restarted.dirty
    out = restarted.save(tmp_path / "p.mwproj")
    assert not restarted.recovery.available() and not restarted.dirty
    again = EditorModel()
    again.open(out)
    assert again.edits == restarted.edits


def test_frame_cache_nearest_and_budget():
    cache = FrameCache(max_bytes=3 * 12)
    for i in range(5):
        cache.put("k", i * 10, np.full((2, 2, 3), i, np.uint8))
    assert cache.indices("k") == [20, 30, 40]
    assert cache.nearest("k", 24)[0] == 20 and cache.nearest("other", 1) is None


def test_frame_loader_delivers_exact_frame():
    frames = np.arange(20 * 2 * 2 * 3, dtype=np.uint8).reshape(20, 2, 2, 3)
    loader = FrameLoader(prefetch=2)
    got = []
    loader.frame_ready.connect(lambda key, i, f: got.append(i))
    assert loader.request("k", frames, 7) is None
    import time

    end = time.monotonic() + 5
    while 7 not in got and time.monotonic() < end:
        time.sleep(0.01)
    assert 7 in got
    assert loader.request("k", frames, 7)[0] == 7
    loader.close()


def test_frame_loader_serves_two_keys_at_once():
    a = np.zeros((10, 2, 2, 3), np.uint8)
    b = np.ones((10, 2, 2, 3), np.uint8)
    loader = FrameLoader(prefetch=0)
    got = set()
    loader.frame_ready.connect(lambda key, i, f: got.add((key, i, int(f[0, 0, 0]))))
    loader.request("a", a, 4)
    loader.request("b", b, 6)
    import time

    end = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < end:
        time.sleep(0.01)
    assert got == {("a", 4, 0), ("b", 6, 1)}
    loader.close()


def test_render_keeps_the_sources_audio_and_rotation(tmp_path):
    import av

    from clip_fixtures import write_video
    from motionwright_gui.model import EditorModel, Recovery

    source = write_video(tmp_path / "phone.mp4", 12, size=(64, 48), rotation=-90, audio="aac")
    model = EditorModel(recovery=Recovery(tmp_path / "recovery"))
    model.open(source)
    assert model.clip.size == (48, 64)  # shown upright
    model.add_drag_pair((20, 30), (24, 30))
    results = []
    model.result_ready.connect(results.append)
    job = model.render("preview")
    assert model.jobs.wait(30) and job.state == "done", job.error
    with av.open(str(results[0].path)) as out:
        assert [s.type for s in out.streams][:2] == ["video", "audio"]
    assert mw.Clip.open(results[0].path).size == (48, 64)


def test_render_of_a_prores_master_stays_prores(tmp_path):
    from clip_fixtures import write_video
    from motionwright_gui.model import EditorModel, Recovery

    source = write_video(tmp_path / "master.mov", 4, size=(64, 48), codec="prores_ks",
                         pix_fmt="yuv422p10le", options={"profile": "hq"}, deep=True)
    model = EditorModel(recovery=Recovery(tmp_path / "recovery"))
    model.open(source)
    model.add_drag_pair((20, 30), (24, 30))
    job = model.render("preview")
    assert model.jobs.wait(30) and job.state == "done", job.error
    out = mw.Clip.open(model.results[0].path)
    assert model.results[0].path.suffix == ".mov"
    assert (out.info["codec"], out.info["pix_fmt"]) == ("prores", "yuv422p10le")
    assert model.notices.count("warning") == 0


def test_what_a_render_cannot_keep_is_listed_in_the_ui(tmp_path):
    from clip_fixtures import write_video
    from motionwright_gui.model import EditorModel, Recovery

    # An odd width goes to a PNG sequence, which cannot hold the source's audio.
    source = write_video(tmp_path / "odd.mkv", 4, size=(63, 48), codec="ffv1",
                         pix_fmt="yuv444p", audio="aac")
    model = EditorModel(recovery=Recovery(tmp_path / "recovery"))
    model.open(source)
    model.add_drag_pair((20, 30), (24, 30))
    job = model.render("preview")
    assert model.jobs.wait(30) and job.state == "done", job.error
    assert any("audio is not kept" in n.text for n in model.notices.items)
