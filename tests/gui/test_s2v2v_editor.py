"""Guided generation (S²V2V) in the editor: made from the track points on the open clip, its
prompt edited in the inspector."""

import motionwright as mw


def test_guided_generation_from_track_points(model, clip_path):
    model.add_track_point((14, 24))
    model.add_track_point((40, 30))
    index = model.add_guided_generation("a cat walking")
    edit = model.edits[index]
    assert isinstance(edit, mw.GuidedGeneration)
    assert edit.reference.startswith(str(clip_path))
    assert edit.points.frame == 0 and edit.points.points.tolist() == [[14, 24], [40, 30]]
    model.undo.undo()
    assert not any(isinstance(e, mw.GuidedGeneration) for e in model.edits)


def test_inspector_edits_the_prompt(qtbot, window, model):
    model.add_guided_generation("a cat")
    prompt = window.inspector.fields["prompt"]
    assert prompt.text() == "a cat" and "negative_prompt" in window.inspector.fields
    prompt.setText("a dog")
    prompt.editingFinished.emit()
    assert model.edits[-1].prompt == "a dog"
    assert model.edits[-1].points is None  # no track points: picked automatically


def test_clip_menu_generates_from_a_prompt(qtbot, window, model, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("a fox running", True))
    model.add_track_point((14, 24))
    window.actions_by_name["generate"].trigger()
    edit = model.edits[-1]
    assert isinstance(edit, mw.GuidedGeneration) and edit.prompt == "a fox running"
    assert len(edit.points) == 1
