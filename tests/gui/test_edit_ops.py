"""Editing parameters of edits (inspector, timeline) and playback timing, without Qt."""

from __future__ import annotations

import numpy as np
import pytest

import motionwright as mw
from motionwright_gui.model import edit_ops, playback


def add_trajectory(model, timing="uniform"):
    model.path_timing = timing
    model.set_playhead(2)
    model.set_out(9)
    model.add_anchor((80, 50))
    return model.add_trajectory([(20, 20), (40, 20), (60, 40)])


def test_set_drag_pair_moves_handle_and_target_undoably(model):
    model.add_drag_pair((10, 20), (15, 22), frame=3)
    model.add_drag_pair((30, 30), (31, 35), frame=3)
    model.set_drag_pair(0, 1, handle=(40.5, 12), target=(50, 13.25))
    e = model.edits[0]
    assert np.allclose(e.handles.points, [[10, 20], [40.5, 12]])
    assert np.allclose(e.targets.points, [[15, 22], [50, 13.25]])
    model.set_drag_pair(0, 0, target=(95.5, 63.5))
    assert np.allclose(model.edits[0].targets.points[0], [95.5, 63.5])
    model.undo.undo()
    model.undo.undo()
    assert np.allclose(model.edits[0].handles.points[1], [30, 30])


@pytest.mark.parametrize("kwargs, match", [
    ({"handle": (96, 10)}, "handle: .*outside the 96x64 frame"),
    ({"target": (10, -0.6)}, "target: .*outside"),
    ({"target": (np.nan, 1)}, "target: expected finite"),
    ({"handle": (1, 2, 3)}, "handle: expected finite"),
])
def test_set_drag_pair_rejects_points_outside_the_frame(model, kwargs, match):
    model.add_drag_pair((10, 20), (15, 22))
    with pytest.raises(mw.errors.InvalidInputError, match=match):
        model.set_drag_pair(0, 0, **kwargs)
    with pytest.raises(mw.errors.InvalidInputError, match=r"pair: expected 0\.\.0"):
        model.set_drag_pair(0, 3, handle=(1, 1))
    assert np.allclose(model.edits[0].handles.points, [[10, 20]])


def test_remove_drag_pair_and_last_pair_removes_edit(model):
    model.add_drag_pair((10, 20), (15, 22))
    model.add_drag_pair((30, 30), (31, 35))
    model.remove_drag_pair(0, 0)
    assert np.allclose(model.edits[0].handles.points, [[30, 30]])
    model.remove_drag_pair(0, 0)
    assert model.edits == []
    model.undo.undo()
    model.undo.undo()
    assert len(model.edits[0].handles) == 2


def test_retime_drag_moves_its_frame(model):
    model.add_drag_pair((10, 20), (15, 22), frame=1)
    model.retime_edit(0, 7)
    assert model.edits[0].frame == 7 and model.edits[0].targets.frame == 7
    with pytest.raises(mw.errors.FrameRangeError, match="first: frame 12 is outside"):
        model.retime_edit(0, 12)
    model.undo.undo()
    assert model.edits[0].frame == 1


def test_retime_drag_with_animated_mask_outside_refused(model):
    mask = mw.Mask(np.ones((2, 64, 96), bool), start_frame=1)
    model.set_playhead(1)
    model.add_edit(mw.DragEdit(mw.PointSet([[10, 10]], frame=1), mw.PointSet([[12, 10]], frame=1),
                               mask))
    with pytest.raises(mw.errors.FrameRangeError, match=r"mask covers frames 1\.\.2"):
        model.retime_edit(0, 5)


def test_trajectory_move_trim_and_timing(model):
    i = add_trajectory(model)
    tr = model.edits[i].trajectories
    assert (tr.start_frame, tr.num_frames, tr.num_points) == (2, 8, 2)
    assert edit_ops.detect_timing(tr) == "uniform"
    model.retime_edit(i, 4)
    moved = model.edits[i].trajectories
    assert (moved.start_frame, moved.num_frames) == (4, 8)
    assert np.array_equal(moved.tracks, tr.tracks)
    model.retime_edit(i, 4, 7)
    short = model.edits[i].trajectories
    assert (short.start_frame, short.end_frame) == (4, 8)
    assert np.allclose(short.tracks[0, 0], tr.tracks[0, 0])
    assert np.allclose(short.tracks[-1, 0], tr.tracks[-1, 0])
    assert np.allclose(short.tracks[:, 1], [80, 50])
    step = np.linalg.norm(np.diff(short.tracks[:, 0], axis=0), axis=1)
    assert np.all(step > 5)
    model.set_trajectory_timing(i, "ease")
    eased = model.edits[i].trajectories
    assert edit_ops.detect_timing(eased) == "ease"
    assert np.allclose(eased.tracks[[0, -1]], short.tracks[[0, -1]], atol=1e-3)
    with pytest.raises(mw.errors.FrameRangeError, match="last: frame 12"):
        model.retime_edit(i, 4, 12)
    with pytest.raises(mw.errors.InvalidInputError, match="timing: expected one of"):
        model.set_trajectory_timing(i, "bounce")
    for _ in range(3):
        model.undo.undo()
    assert model.edits[i].trajectories == tr


def test_retime_whole_clip_edit_is_refused(model):
    emb = mw.MotionEmbedding(np.zeros((3, 2, 4), np.float32),
                             base_model={"family": "svd", "embedding_dim": 4, "fingerprint": "t"})
    model.add_edit(mw.MotionTransfer(emb))
    assert edit_ops.retime_mode(model.edits[0]) == "none"
    with pytest.raises(mw.errors.InvalidInputError, match="cannot be retimed"):
        model.retime_edit(0, 2, 5)


def test_grow_and_shrink_masks(model):
    model.paint_mask([(40, 30)], 6)
    area = model.draft_mask.data.sum()
    model.grow_mask(None, 3)
    grown = model.draft_mask.data.sum()
    assert grown > area
    model.grow_mask(None, -5)
    assert 0 < model.draft_mask.data.sum() < area
    model.grow_mask(None, -40)
    assert model.draft_mask is None
    model.undo.undo()
    model.undo.undo()
    assert model.draft_mask.data.sum() == grown
    model.add_drag_pair((40, 30), (44, 30))
    model.grow_mask(0, 2)
    assert model.edits[0].mask.data.sum() > grown
    with pytest.raises(mw.errors.InvalidInputError, match="px: expected an integer"):
        model.grow_mask(0, 1.5)


def test_shrinking_a_trajectory_region_away_is_refused(model):
    i = add_trajectory(model)
    with pytest.raises(mw.errors.InvalidInputError, match="needs a region"):
        model.grow_mask(i, -60)


def test_keyframes_of_each_edit_kind(model):
    model.add_drag_pair((10, 20), (15, 22), frame=5)
    assert edit_ops.edit_keyframes(model.edits[0]) == [5]
    model.select(None)
    i = add_trajectory(model)
    assert edit_ops.edit_keyframes(model.edits[i]) == list(range(2, 10))
    traj = mw.Trajectory(np.zeros((3, 1, 2), np.float32), np.array([[1], [0], [1]], bool),
                         start_frame=4)
    assert edit_ops.edit_keyframes(mw.TrajectoryEdit(model.edits[i].region, traj)) == [4, 6]
    guided = mw.GuidedGeneration("ref.mp4", mw.PointSet([[1, 1]], frame=3), "a cat")
    assert edit_ops.edit_keyframes(guided) == [3]
    assert edit_ops.edit_span(guided, 12) == (0, 11)


def test_playback_frame_loops_or_stops_inside_in_out():
    assert playback.frame_at(3, 0.0, 24, 1, 3, 6, True) == (3, True)
    assert playback.frame_at(3, 3 / 24, 24, 1, 3, 6, True) == (6, True)
    assert playback.frame_at(3, 4 / 24, 24, 1, 3, 6, True) == (3, True)
    assert playback.frame_at(3, 9 / 24, 24, 1, 3, 6, True) == (4, True)
    assert playback.frame_at(3, 9 / 24, 24, 1, 3, 6, False) == (6, False)
    assert playback.frame_at(5, 3 / 24, 24, -1, 3, 6, True) == (6, True)
    assert playback.frame_at(5, 3 / 24, 24, -1, 3, 6, False) == (3, False)
    assert playback.frame_at(3, 1 / 24, 24, 4, 3, 6, True) == (3, True)
    assert playback.start_frame(9, 3, 6, 1) == 3
    assert playback.start_frame(6, 3, 6, 1) == 3
    assert playback.start_frame(4, 3, 6, 1) == 4
    assert playback.start_frame(3, 3, 6, -1) == 6


def test_model_play_range_follows_in_out(model):
    model.set_in(2)
    model.set_out(7)
    assert model.play_range() == (2, 7) and model.loop
