"""The editor's render queue through the render server: renders go to a running server (a
real one, in this process), survive the editor closing, are listed again when it reopens,
and cancel on the server; without a server they stay in-process."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import motionwright as mw
from motionwright_gui.model import EditorModel, Recovery, server_render
from motionwright_gui.model.jobs import CANCELLED, DETACHED, DONE, Job, JobQueue
from motionwright_gui.model.quitting import running_jobs

pytest.importorskip("aiohttp")


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A render server serving from a thread, found through ``$MOTIONWRIGHT_RUNTIME_DIR``
    (the runtime folder the GUI tests use); yields its data folder."""
    import os

    from motionwright.bridge import Client
    from motionwright.service.server import serve

    runtime, data = os.environ["MOTIONWRIGHT_RUNTIME_DIR"], tmp_path / "server-data"
    stop = threading.Event()
    thread = threading.Thread(target=serve, kwargs=dict(
        workers=2, runtime_dir=runtime, data_dir=data, announce=None, stop=stop), daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while True:
        try:
            Client.find(runtime).health()
            break
        except mw.errors.MotionwrightError:
            assert time.monotonic() < end, "the render server did not start"
            time.sleep(0.05)
    yield data
    stop.set()
    thread.join(30)


def _open(clip_path, tmp_path, name="recovery") -> EditorModel:
    m = EditorModel(recovery=Recovery(tmp_path / name))
    m.open(clip_path)
    return m


def test_render_goes_to_the_running_server_and_equals_the_in_process_render(
        server, clip_path, tmp_path):
    model = _open(clip_path, tmp_path)
    model.add_drag_pair((14, 24), (18, 24))
    results = []
    model.result_ready.connect(results.append)
    job = model.render("preview")
    assert model.jobs.wait(60) and job.state == DONE, job.error
    assert job.remote and job.server_id is not None
    assert job not in running_jobs(model)  # closing the editor does not ask about it
    assert results and results[0].path.exists() and model.results == results
    assert job.fraction == 1.0
    # The server's frames are the in-process render's, bit for bit.
    from motionwright.bridge import Client

    expected = mw.render(model.clip, list(model.edits)).to_array()
    client = Client.find()
    served = np.stack([client.frame(job.server_id, i)[..., :3] for i in range(12)])
    assert np.array_equal(served, expected)
    # Both files come from the same writer (H.264 here: equal up to the encoder's rounding).
    model.render_server = "off"
    local = model.render("preview")
    assert model.jobs.wait(60) and local.state == DONE and not local.remote
    a, b = results[0].clip.to_array(), local.result.clip.to_array()
    assert a.shape == b.shape == (12, 64, 96, 3)
    assert results[0].path.suffix == local.result.path.suffix == ".mp4"
    assert np.abs(a.astype(int) - b).mean() < 1.0


def test_server_render_survives_closing_and_is_listed_on_reopen(server, clip_path, tmp_path):
    model = _open(clip_path, tmp_path)
    model.add_drag_pair((14, 24), (18, 24))
    job = model.render("preview")
    end = time.monotonic() + 30
    while job.server_id is None:  # submitted; the editor closes right away
        assert time.monotonic() < end
        time.sleep(0.01)
    model.jobs.detach_remote()
    assert model.jobs.wait(30) and job.state == DETACHED  # not cancelled on the server
    reopened = _open(clip_path, tmp_path, "recovery2")  # lists the project's server jobs
    rows = [j for j in reopened.jobs.jobs if j.server_id == job.server_id]
    assert len(rows) == 1 and rows[0].title == job.title and rows[0].remote
    assert reopened.jobs.wait(60) and rows[0].state == DONE, rows[0].error
    assert rows[0].result.path.exists() and len(rows[0].result.clip) == 12
    # Listing the same project again adds no second row.
    assert server_render.resume_server_jobs(reopened) == []


class FakeClient:
    """A client double whose job runs for ``steps`` polls, recording cancels."""

    def __init__(self, steps: int = 1000) -> None:
        self.steps, self.polls, self.cancelled = steps, 0, []

    def _view(self, state: str) -> dict:
        return {"id": "j1", "state": state, "label": "x", "backend": "preview", "frames": 10,
                "progress": {"stage": "render", "done": min(self.polls, 10), "total": 10,
                             "fraction": min(self.polls, 10) / 10},
                "eta": 3.0, "preview": None, "error": None}

    def status(self, job_id):
        self.polls += 1
        if self.cancelled:
            return self._view("cancelled")
        return self._view("running" if self.polls < self.steps else "done")

    def cancel(self, job_id):
        self.cancelled.append(job_id)
        return self._view("cancelled")


def test_following_a_server_job_reports_progress_and_cancel_goes_to_the_server(monkeypatch):
    monkeypatch.setattr(server_render, "POLL", 0.01)
    client, queue = FakeClient(), JobQueue()
    job = Job("Render", "render", lambda p, c: None)
    job.remote = True
    job.work = lambda p, c: server_render.follow(client, job, client.status("j1"), p, c)
    queue.submit(job, serial=False)
    end = time.monotonic() + 10
    while client.polls < 5:
        assert time.monotonic() < end
        time.sleep(0.01)
    assert job.stage == "render" and job.eta == 3.0 and 0 < job.fraction <= 1
    queue.cancel(job)
    assert queue.wait(10) and job.state == CANCELLED
    assert client.cancelled == ["j1"]


def test_a_failed_server_job_shows_the_servers_message(monkeypatch):
    monkeypatch.setattr(server_render, "POLL", 0.01)

    class Failing(FakeClient):
        def status(self, job_id):
            view = self._view("failed")
            view["error"] = {"error": "out_of_memory", "message": "CUDA out of memory; try "
                             "--memory low"}
            return view

    client, queue = Failing(), JobQueue()
    job = Job("Render", "render", lambda p, c: None)
    job.work = lambda p, c: server_render.follow(client, job, client.status("j1"), p, c)
    queue.submit(job, serial=False)
    assert queue.wait(10) and job.state == "failed"
    assert "--memory low" in job.error.text()


def test_without_a_server_renders_stay_in_process(model):
    assert server_render.find_client(model) is None
    model.add_drag_pair((14, 24), (18, 24))
    job = model.render("preview")
    assert not job.remote
    assert model.jobs.wait(60) and job.state == DONE, job.error


def test_jobs_panel_shows_server_jobs(qtbot, server, clip_path, tmp_path):
    from motionwright_gui.qt.bridge import UiDispatcher
    from motionwright_gui.qt.panels import JobsPanel

    model = _open(clip_path, tmp_path)
    model.dispatcher = model.jobs.dispatcher = UiDispatcher()
    panel = JobsPanel(model)
    qtbot.addWidget(panel)
    model.add_drag_pair((14, 24), (18, 24))
    job = model.render("preview")
    qtbot.waitUntil(lambda: job.state == DONE and job.id in panel.rows, timeout=60000)
    qtbot.waitUntil(lambda: job.result.path.name in panel.rows[job.id].state.text(),
                    timeout=10000)
    assert panel.rows[job.id].bar.value() == 1000


def test_closing_the_window_leaves_server_renders_running(qtbot, server, window, model):
    from motionwright.bridge import Client

    model.add_drag_pair((14, 24), (18, 24))
    job = model.render("preview")
    qtbot.waitUntil(lambda: job.server_id is not None, timeout=30000)
    window.close()
    assert job.detached.is_set() and not job.cancel_token.cancelled
    assert Client.find().wait(job.server_id, timeout=60)["state"] == "done"
