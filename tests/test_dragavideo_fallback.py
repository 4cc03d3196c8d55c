"""Drag-A-Video says when SAM is missing and the foreground split falls back."""

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

import motionwright as mw
from motionwright.cli.main import main
from motionwright.edits import DragEdit
from motionwright.errors import FallbackWarning
from motionwright.methods.dragavideo import DragSettings, drag_clip
from motionwright.models import load_model
from motionwright.models.errors import ModelNotFoundError
from motionwright.synthetic import make_moving_objects
from tiny_models import tiny_model

FAST = dict(size=(32, 32), steps=10, levels=(8, 7, 5, 4), lora_steps=0, dift_ensemble=1,
            correspondence="flow", iterations=1)


@pytest.fixture(scope="module")
def scene():
    syn = make_moving_objects(2, (48, 40), seed=3, num_objects=1, max_speed=2)
    h = syn.tracks[0, 0]
    edit = DragEdit(mw.PointSet([h], frame=0), mw.PointSet([h + np.array([6, 0])], frame=0))
    return syn, mw.Clip.from_frames(syn.frames), edit


@pytest.fixture(scope="module")
def sd15():
    return load_model("sd15", tiny_model("sd15"), device="cpu")


def test_auto_segmenter_without_sam_warns_and_notes_the_fallback(sd15, scene):
    _, clip, edit = scene
    with pytest.warns(FallbackWarning, match="no sam model"):
        res = drag_clip(sd15, clip, edit, DragSettings(**FAST, segmenter="auto"))
    assert any("no sam model" in note for note in res.notes)


def test_no_warning_when_the_split_is_not_asked_for(sd15, scene):
    _, clip, edit = scene
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        res = drag_clip(sd15, clip, edit, DragSettings(**FAST, segmenter="none"))
    assert res.notes == []


def test_sam_segmenter_without_sam_is_an_error(sd15, scene):
    _, clip, edit = scene
    with pytest.raises(ModelNotFoundError):
        drag_clip(sd15, clip, edit, DragSettings(**FAST, segmenter="sam"))


def test_cli_prints_the_fallback(scene, tmp_path, capsys):
    syn, clip, _ = scene
    src = tmp_path / "shot.%03d.png"
    clip.save(src, codec="png")
    x, y = syn.tracks[0, 0]
    assert main(["drag", str(src), "--handle", f"{x},{y}", "--target", f"{x + 6},{y}",
                 "--backend", "diffusion", "--model", str(tiny_model("sd15")), "--size",
                 "32x32", "--steps", "10", "--iterations", "1", "--lora-steps", "0",
                 "--correspondence", "flow", "-o", str(tmp_path / "out.%03d.png")]) == 0
    err = capsys.readouterr().err
    assert "warning: no sam model configured" in err


def test_anchors_are_said_to_shape_only_the_preview(scene):
    from dataclasses import replace

    from motionwright.methods.backend import render_drag

    _, clip, edit = scene
    anchored = replace(edit, anchors=mw.PointSet([[5.0, 5.0]], frame=0))
    with pytest.warns(FallbackWarning, match="anchors"), pytest.raises(ModelNotFoundError):
        render_drag(clip, anchored)
