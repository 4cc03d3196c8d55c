"""Jobs through the Service: equal to mw.render, cached, cancelled, deleted, many at once."""

import threading
import time

import numpy as np
import pytest
from service_helpers import CountingRender, drag_for, request_for

import motionwright as mw
from motionwright.errors import FrameNotReadyError, FrameRangeError, JobNotFoundError, ServiceError
from motionwright.service import Service, framefile
from motionwright.service.executor import LocalExecutor


def frames_of(service, job_id, count, sample=None):
    return np.stack([framefile.read_rgb(service.frame(job_id, i, sample)["path"])
                     for i in range(count)])


def test_render_through_the_service_equals_mw_render_bit_exact(service, shot, counting):
    path, scene = shot
    edits = [drag_for(scene), mw.TrajectoryEdit(
        mw.Mask.from_box(2, 2, 8, 8, (32, 24)),
        mw.Trajectory.from_path([[4, 4], [10, 6]], num_frames=4))]
    job = service.submit({**request_for(path, edits), "source": {"path": path, "start": 1,
                                                                 "stop": 5}})
    assert job["state"] in ("queued", "running") and job["frames"] == 4
    assert job["chunks"]["total"] == 4 and job["cached"] is False
    done = service.wait(job["id"], timeout=60)
    assert done["state"] == "done", done["error"]
    assert done["chunks"] == {"done": 4, "total": 4}
    assert done["progress"]["fraction"] == 1.0 and done["eta"] == 0.0
    expected = mw.render(mw.Clip.open(path)[1:5], edits).to_array()
    assert np.array_equal(frames_of(service, job["id"], 4), expected)
    as_float = framefile.read_frame(service.frame(job["id"], 2, "float32")["path"])
    assert np.array_equal(np.rint(as_float[..., :3] * 255).astype(np.uint8), expected[2])
    assert done["preview"]["path"].endswith(".mwf") and sorted(counting.calls) == [
        (i, i + 1) for i in range(4)]


def test_the_same_request_again_is_done_at_once_without_rendering(service, shot, counting):
    path, scene = shot
    request = request_for(path, [drag_for(scene)], label="first")
    first = service.wait(service.submit(request)["id"], timeout=60)
    rendered = len(counting.calls)
    assert first["state"] == "done" and rendered == 6
    again = service.submit({**request, "label": "again"})
    assert again["state"] == "done" and again["cached"] is True
    assert again["chunks"] == {"done": 6, "total": 6} and again["label"] == "again"
    assert len(counting.calls) == rendered  # no render call happened
    assert np.array_equal(frames_of(service, again["id"], 6), frames_of(service, first["id"], 6))
    other = service.submit({**request, "settings": {"seed": 1}})  # another key: rendered
    assert service.wait(other["id"], timeout=60)["cached"] is False
    assert len(counting.calls) == 2 * rendered
    info = service.cache_info()
    assert info["entries"] == 2 and info["bytes"] > 0
    assert service.cache_clear()["entries"] == 0
    service.delete(first["id"])  # the other job keeps its frames: they were its own links
    assert frames_of(service, again["id"], 6).shape == (6, 24, 32, 3)


def test_cache_evicts_least_recently_used_entries(tmp_path, shot):
    path, scene = shot
    one = 32 * 24 * 4  # bytes of one uint8 frame's pixels
    with Service(tmp_path / "d", workers=1, cache_max_bytes=6 * (one + 32) + 200) as svc:
        a = svc.wait(svc.submit(request_for(path, [drag_for(scene, 2)]))["id"], timeout=60)
        assert svc.cache_info()["entries"] == 1
        b = svc.wait(svc.submit(request_for(path, [drag_for(scene, 4)]))["id"], timeout=60)
        assert a["state"] == b["state"] == "done"
        assert svc.cache_info()["entries"] == 1  # the older entry went
        assert svc.submit(request_for(path, [drag_for(scene, 4)]))["cached"] is True
        assert svc.submit(request_for(path, [drag_for(scene, 2)]))["cached"] is False


def test_cancel_delete_and_frames_not_ready(tmp_path, shot):
    path, scene = shot
    slow = CountingRender()
    slow.gate.clear()  # chunks wait until the test opens the gate
    with Service(tmp_path / "d", workers=1, executor=LocalExecutor(1, render=slow)) as svc:
        running = svc.submit(request_for(path, [drag_for(scene)]))
        queued = svc.submit(request_for(path, [drag_for(scene, 5)]))
        deadline = time.monotonic() + 10
        while not slow.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert svc.job(running["id"])["state"] == "running"
        with pytest.raises(FrameNotReadyError, match="not rendered"):
            svc.frame(running["id"], 0)
        with pytest.raises(FrameRangeError, match="index"):
            svc.frame(running["id"], 6)
        cancelled = svc.cancel(queued["id"])
        assert cancelled["state"] == "cancelled"
        assert cancelled["error"]["error"] == "cancelled"
        threading.Timer(0.2, slow.gate.set).start()  # the blocked chunk goes on after cancel
        stopped = svc.cancel(running["id"])
        assert stopped["state"] == "cancelled" and stopped["chunks"]["done"] == 0
        svc.delete(running["id"])
        with pytest.raises(JobNotFoundError):
            svc.job(running["id"])
        assert not (tmp_path / "d" / "jobs" / running["id"]).exists()
        assert [j["id"] for j in svc.jobs()] == [queued["id"]]
        assert svc.jobs("done") == []


def test_fifty_queued_jobs_all_finish(tmp_path, shot):
    path, scene = shot
    with Service(tmp_path / "d", workers=2) as svc:
        ids = [svc.submit({**request_for(path, [drag_for(scene, 1 + (i % 5) * 0.5)]),
                           "source": {"path": path, "start": i % 3, "stop": i % 3 + 2},
                           "label": f"job {i}"})["id"]
               for i in range(50)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and svc.jobs("done").__len__() < 50:
            time.sleep(0.05)
        done = svc.jobs("done")
        assert sorted(j["id"] for j in done) == sorted(ids)
        assert all(j["chunks"] == {"done": 2, "total": 2} for j in done)
        assert [j["label"] for j in svc.jobs()] == [f"job {i}" for i in range(50)]


def test_progress_reports_an_eta_while_running(tmp_path, shot):
    path, scene = shot
    slow = CountingRender(delay=0.15)
    with Service(tmp_path / "d", workers=1, executor=LocalExecutor(1, render=slow)) as svc:
        job = svc.submit(request_for(path, [drag_for(scene)]))
        seen = []
        while True:
            view = svc.job(job["id"])
            if view["state"] in ("done", "failed"):
                break
            if view["chunks"]["done"] >= 2:
                seen.append(view)
            time.sleep(0.02)
        assert view["state"] == "done"
        assert seen, "never saw the job half done"
        mid = seen[0]
        assert mid["progress"]["stage"] == "render" and 0 < mid["progress"]["fraction"] < 1
        assert mid["eta"] is not None and mid["eta"] > 0
        assert mid["preview"] is not None and mid["preview"]["index"] < 6


def test_output_file_keeps_fps_and_equals_the_frames(tmp_path, shot):
    path, scene = shot
    out = tmp_path / "renders"
    out.mkdir()
    with Service(tmp_path / "d", workers=2, allowed_output_roots=[out]) as svc:
        target = str(out / "r.%03d.png")
        request = {**request_for(path, [drag_for(scene)]),
                   "output": {"file": {"path": target, "codec": "png"}}}
        job = svc.wait(svc.submit(request)["id"], timeout=60)
        assert job["state"] == "done", job["error"]
        result = mw.Clip.open(target)
        assert len(result) == 6 and result.fps == mw.Clip.open(path).fps
        assert np.array_equal(result.to_array(), frames_of(svc, job["id"], 6))
        assert job["output_file"]
        again = svc.wait(svc.submit(request)["id"], timeout=60)  # cached, file written again
        assert again["cached"] is True and again["state"] == "done"


def test_uploaded_frames_are_a_source(service, shot):
    path, scene = shot
    upload = service.new_upload()
    for i, frame in enumerate(scene.frames[:3]):
        framefile.write_frame(f"{upload['path']}/{framefile.frame_name(i)}", frame, "uint8")
    request = {**request_for(path, [drag_for(scene)]),
               "source": {"upload": upload["id"], "fps": "24000/1001"}}
    job = service.wait(service.submit(request)["id"], timeout=60)
    assert job["state"] == "done" and job["frames"] == 3
    expected = mw.render(mw.Clip.from_frames(scene.frames[:3]), [drag_for(scene)]).to_array()
    assert np.array_equal(frames_of(service, job["id"], 3), expected)
    part = {**request, "source": {**request["source"], "start": 1, "stop": 3}}
    job = service.wait(service.submit(part)["id"], timeout=60)
    assert job["state"] == "done" and job["frames"] == 2
    expected = mw.render(mw.Clip.from_frames(scene.frames[1:3]), [drag_for(scene)]).to_array()
    assert np.array_equal(frames_of(service, job["id"], 2), expected)
    with pytest.raises(FrameRangeError, match="upload"):
        service.submit({**request, "source": {**request["source"], "stop": 4}})


def test_a_failing_job_is_reported_and_the_service_goes_on(tmp_path, shot):
    path, scene = shot

    def broken(request, start, stop, **kw):
        if request.label == "bad":
            raise RuntimeError("decoder exploded")
        from motionwright.service.chunks import render_chunk

        return render_chunk(request, start, stop, **kw)

    with Service(tmp_path / "d", workers=1, executor=LocalExecutor(1, render=broken)) as svc:
        bad = svc.submit(request_for(path, [drag_for(scene)], label="bad"))
        good = svc.submit(request_for(path, [drag_for(scene, 2)], label="good"))
        assert svc.wait(bad["id"], timeout=60)["error"] == {
            "error": "internal", "message": "RuntimeError: decoder exploded"}
        assert svc.wait(good["id"], timeout=60)["state"] == "done"


def test_calls_need_a_started_service_and_known_ids(tmp_path, shot):
    svc = Service(tmp_path / "d")
    with pytest.raises(ServiceError, match="start"):
        svc.jobs()
    with svc:
        with pytest.raises(JobNotFoundError, match="nope"):
            svc.job("nope")
        health = svc.health()
        assert health["protocol"] == 1 and health["workers"] == 2


def test_an_encoded_output_keeps_the_sources_rate_timecode_and_audio(tmp_path):
    import av

    from clip_fixtures import write_video

    media = tmp_path / "media"
    media.mkdir()
    src = write_video(media / "tc.mov", 6, size=(32, 24), fps=25, timecode="01:00:00:00",
                      audio="aac")
    clip = mw.Clip.open(src)
    edit = mw.DragEdit(mw.PointSet([[10, 10]]), mw.PointSet([[13, 10]]))
    with Service(tmp_path / "d", workers=2) as svc:
        target = str(media / "out.mov")
        job = svc.wait(svc.submit({
            "source": {"path": str(src), "start": 1, "stop": 5},
            "edits": [edit.to_dict()], "output": {"file": {"path": target, "codec": "h264"}}})
            ["id"], timeout=60)
        assert job["state"] == "done", job["error"]
    out = mw.Clip.open(target)
    assert len(out) == 4 and out.fps == 25
    assert out.start_timecode == clip[1:5].start_timecode
    with av.open(target) as container:
        assert len(container.streams.audio) == 1


def test_a_methods_intermediate_preview_shows_until_frames_exist(tmp_path, shot):
    import threading

    from motionwright.progress import ProgressEvent
    from motionwright.service.chunks import render_chunk

    path, scene = shot
    gate = threading.Event()
    marker = np.full((24, 32, 3), 77, np.uint8)

    def render(request, start, stop, *, models=None, progress=None, cancel=None):
        if start == 0:
            progress(ProgressEvent("drag", 1, 4, 0.1, 0.3, preview=marker))
            gate.wait(30)
        return render_chunk(request, start, stop, progress=progress, cancel=cancel)

    with Service(tmp_path / "d", workers=1, executor=LocalExecutor(1, render=render)) as svc:
        job = svc.submit(request_for(path, [drag_for(scene)]))
        deadline = time.monotonic() + 30
        while svc.job(job["id"])["preview"] is None and time.monotonic() < deadline:
            time.sleep(0.01)
        running = svc.job(job["id"])
        assert running["preview"]["index"] == -1 and running["progress"]["stage"] == "drag"
        assert running["eta"] == 0.3
        assert np.array_equal(framefile.read_rgb(running["preview"]["path"]), marker)
        gate.set()
        done = svc.wait(job["id"], timeout=60)
        assert done["preview"]["index"] == 5
