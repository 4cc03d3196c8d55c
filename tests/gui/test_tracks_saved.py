"""Points tracked in the editor are kept in the project file and come back when it is reopened."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionwright_gui.model import EditorModel, Recovery


def tracked(model):
    model.add_track_point((14, 24))
    job = model.track()
    assert model.jobs.wait(20) and job.state == "done", job.error
    return model.tracks


def test_tracks_survive_save_and_reopen(model, tmp_path):
    tracks = tracked(model)
    assert model.dirty
    path = model.save(tmp_path / "p.mwproj")
    saved = json.loads(path.read_text())
    assert saved["schema"] == "Project.2" and list(saved["tracks"]) == [model.clip_id]
    reopened = EditorModel()
    changed = []
    reopened.tracks_changed.connect(lambda: changed.append(True))
    reopened.open(path)
    assert changed and reopened.tracks == tracks
    assert reopened.tracks.tracks[5, 0, 0] == pytest.approx(19, abs=1.5)
    assert not reopened.dirty


def test_undone_tracks_are_not_saved(model, tmp_path):
    tracked(model)
    model.undo.undo()
    path = model.save(tmp_path / "p.mwproj")
    assert json.loads(path.read_text())["tracks"] == {}


def test_tracks_are_in_the_recovery_copy(model, tmp_path):
    tracks = tracked(model)
    assert model.autosave() is not None
    restarted = EditorModel(recovery=Recovery(tmp_path / "recovery"))
    assert restarted.recover() and restarted.tracks == tracks
    np.testing.assert_array_equal(restarted.tracks.visible, tracks.visible)
