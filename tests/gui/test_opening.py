"""Opening clips and projects in the background: shown when ready, cancellable, superseded."""

from __future__ import annotations

import pytest

import motionwright as mw
from conftest import wait_until
from motionwright_gui.model import EditorModel, settings
from motionwright_gui.model.opening import pending_open


def test_open_in_background_shows_the_clip_when_ready(clip_path, gated_load):
    model = EditorModel()
    job = model.open_in_background(clip_path)
    assert job.kind == "open" and pending_open(model) is job
    assert model.clip is None
    gated_load.set()
    assert wait_until(lambda: model.clip is not None)
    assert len(model.clip) == 12 and pending_open(model) is None
    assert wait_until(lambda: settings.recent_files()[:1] == [str(clip_path)])


def test_missing_path_is_refused_at_once(tmp_path):
    model = EditorModel()
    with pytest.raises(mw.errors.MediaNotFoundError, match="does not exist"):
        model.open_in_background(tmp_path / "missing.mp4")
    assert model.jobs.jobs == []


def test_cancelled_open_is_never_shown(clip_path, gated_load):
    model = EditorModel()
    job = model.open_in_background(clip_path)
    model.cancel_open()
    assert pending_open(model) is None and job.cancel_token.cancelled
    gated_load.set()
    assert wait_until(lambda: not job.active)
    assert job.state == "cancelled" and model.clip is None


def test_newer_open_supersedes_the_pending_one(clip_path, tmp_path, gated_load):
    model = EditorModel()
    first = model.open_in_background(clip_path)
    project = mw.Project()
    project.add_clip(clip_path)
    project.save(tmp_path / "p.mwproj")
    second = model.open_in_background(tmp_path / "p.mwproj")
    assert first.cancel_token.cancelled and pending_open(model) is second
    gated_load.set()
    assert wait_until(lambda: not first.active and not second.active)
    assert wait_until(lambda: model.project.path is not None)
    assert str(model.project.path) == str(tmp_path / "p.mwproj")


def test_failed_open_is_explained_and_keeps_the_clip(model, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    shown = model.clip
    job = model.open_in_background(bad)
    assert wait_until(lambda: not job.active)
    assert job.state == "failed" and job.error is not None
    assert model.clip is shown and pending_open(model) is None
