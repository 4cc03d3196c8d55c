"""A background open shows how much of the file is indexed, and Cancel stops the indexing."""

from __future__ import annotations

import re
import threading

import pytest

from clip_fixtures import LONG_GOP, write_video
from conftest import wait_until
from motionwright_gui.model import files
from motionwright_gui.model.jobs import RUNNING, Job
from motionwright_gui.model.opening import open_status, pending_open


@pytest.fixture
def video(tmp_path):
    """A 120-frame long-GOP H.264 file (about a hundred indexing reports)."""
    return write_video(tmp_path / "long.mp4", 120, options=LONG_GOP)


@pytest.fixture
def held_index(monkeypatch):
    """Indexing in ``files.load`` waits at each progress report until ``release`` is set;
    ``reports`` counts the reports, ``first`` is set at the first."""
    real = files.load
    hold = threading.Event()
    state = {"reports": 0, "first": threading.Event(), "release": hold}

    def slow(path, progress=None, cancel=None):
        def held(event):
            state["reports"] += 1
            progress(event)
            state["first"].set()
            hold.wait(10)

        return real(path, held, cancel)

    monkeypatch.setattr(files, "load", slow)
    yield state
    hold.set()


def test_status_shows_the_percentage_indexed(model, video, held_index):
    job = model.open_in_background(video)
    assert held_index["first"].wait(10)
    assert wait_until(lambda: job.stage == "index")
    match = re.fullmatch(r"Indexing long\.mp4 — (\d+) %", open_status(job))
    assert match and 0 <= int(match.group(1)) < 100
    held_index["release"].set()
    assert wait_until(lambda: not job.active)
    assert job.state == "done" and job.fraction == 1.0 and len(model.clip) == 120
    assert held_index["reports"] > 10


def test_cancel_stops_the_indexing_thread_and_keeps_the_clip(model, video, held_index):
    shown = model.clip
    job = model.open_in_background(video)
    assert held_index["first"].wait(10)
    model.cancel_open()
    assert pending_open(model) is None
    held_index["release"].set()
    # The report that was held is the last one: the indexing stops right after it.
    assert wait_until(lambda: not job.active, timeout=2.0)
    assert job.state == "cancelled" and held_index["reports"] == 1
    assert wait_until(lambda: not any(t.name == f"mw-job-{job.id}"
                                      for t in threading.enumerate()), timeout=2.0)
    assert model.clip is shown


def test_status_before_indexing_and_the_widget_percentage(qtbot, model):
    from motionwright_gui.qt.status_widgets import OpenProgress

    job = Job("Open shot.mp4", "open", lambda progress, cancel: None)
    job.state = RUNNING
    model.opening = job
    widget = OpenProgress(model)
    qtbot.addWidget(widget)
    assert widget.label.text() == "Opening shot.mp4…" and widget.bar.maximum() == 0
    job.stage, job.fraction = "index", 0.426
    widget.refresh()
    assert widget.label.text() == "Indexing shot.mp4 — 42 %"
    assert (widget.bar.maximum(), widget.bar.value()) == (100, 42)
    job.stage, job.fraction = "verify", 0.6
    widget.refresh()
    assert widget.label.text() == "Checking the last frames of shot.mp4 — 60 %"
    assert widget.bar.value() == 60
    model.opening = None
    widget.refresh()
    assert widget.isHidden()
