"""Drag-A-Video point-set propagation, ReVideo sampling, Point-to-Point trajectory collection."""

import numpy as np
import pytest

import motionwright as mw
from motionwright.errors import FrameRangeError, InvalidInputError, ShapeError
from motionwright.propagation import (
    collect_trajectories,
    expand_point_sets,
    mask_from_points,
    path_lengths,
    propagate_background,
    propagate_drag,
    propagate_targets,
    sample_trajectories,
    sparsify,
    split_by_motion,
    split_foreground,
)
from motionwright.synthetic import MovingObjectsScene, make_moving_objects


@pytest.fixture(scope="module")
def scene():
    return make_moving_objects(10, (192, 144), seed=3, num_objects=1, max_speed=3,
                               points_per_object=8)


# -- Drag-A-Video §3.2 ---------------------------------------------------------------------
def test_point_sets_are_square_grids_around_each_handle():
    pts, group = expand_point_sets([[10.0, 20.0], [50.0, 60.0]], k=3, spacing=4)
    assert pts.shape == (18, 2) and group.tolist() == [0] * 9 + [1] * 9
    np.testing.assert_allclose(pts[4], [10, 20])
    np.testing.assert_allclose(pts[9 + 4], [50, 60])
    np.testing.assert_allclose(pts[0], [6, 16])
    np.testing.assert_allclose(pts[8], [14, 24])
    with pytest.raises(InvalidInputError, match="spacing"):
        expand_point_sets([[1.0, 1.0]], spacing=0)
    with pytest.raises(InvalidInputError, match="finite"):
        expand_point_sets([[np.nan, 1.0]])


def test_foreground_split_by_mask_and_by_motion():
    mask = np.zeros((20, 20), bool)
    mask[5:10, 5:10] = True
    assert split_foreground([[6, 6], [12, 6], [-3, 4], [9.4, 9.4]], mask).tolist() == [
        True, False, False, True]
    with pytest.raises(ShapeError, match="mask"):
        split_foreground([[1, 1]], np.zeros(5))
    # Handle 0 moves right 2 px/frame; set point 1 moves with it, point 2 stays.
    t = np.arange(6, dtype=np.float32)[:, None]
    tracks = np.zeros((6, 3, 2), np.float32)
    tracks[:, 0, 0] = 10 + 2 * t[:, 0]
    tracks[:, 1, 0] = 14 + 2 * t[:, 0]
    tracks[:, 2, 0] = 6
    fg = split_by_motion(tracks, np.ones((6, 3), bool), np.zeros(3, np.int64), np.array([0]), 0)
    assert fg.tolist() == [True, True, False]


def test_equation_1_background_points_take_their_nearest_foreground_motion():
    fg = np.array([[[0, 0], [100, 0]], [[3, 1], [100, 5]], [[6, 2], [100, 10]]], np.float32)
    bg = np.array([[2, 0], [97, 0]], np.float32)
    out = propagate_background(fg, np.ones((3, 2), bool), bg, key_row=0)
    np.testing.assert_allclose(out[1], [[5, 1], [97, 5]])
    np.testing.assert_allclose(out[2], [[8, 2], [97, 10]])
    # Backward from a later key row too.
    back = propagate_background(fg, np.ones((3, 2), bool), bg, key_row=2)
    np.testing.assert_allclose(back[0], [[-4, -2], [97, -10]])
    # A foreground point hidden on a frame is not used for that step.
    vis = np.ones((3, 2), bool)
    vis[1, 0] = False
    hid = propagate_background(fg, vis, bg[:1], key_row=0)
    np.testing.assert_allclose(hid[1], [[2, 5]])


def test_equation_2_targets_move_with_their_handles():
    handles = np.array([[[0, 0]], [[2, 1]], [[5, -3]]], np.float32)
    out = propagate_targets(handles, np.array([[10, 10]], np.float32), key_row=1)
    np.testing.assert_allclose(out[:, 0], [[8, 9], [10, 10], [13, 6]])


def test_mask_is_the_union_of_patches_around_mask_points():
    m = mask_from_points([[5, 5], [6, 5], [30, 20]], (40, 30), patch=3)
    assert m.shape == (30, 40)
    assert m[4:7, 4:8].all() and m[19:22, 29:32].all()
    assert m.sum() == 3 * 4 + 9


def test_propagate_drag_follows_the_object(scene):
    clip = scene.to_clip()
    key = 4
    handle = scene.tracks[key][:1]
    handles = mw.PointSet(handle, frame=key)
    targets = mw.PointSet(handle + np.array([12, -5]), frame=key)
    mask = mw.Mask(scene.object_masks[key][None])
    prop = propagate_drag(clip, handles, targets, mask=mask)
    assert prop.handles.shape == (10, 9, 2) and prop.key_row == key
    np.testing.assert_allclose(prop.handles[:, 4], scene.tracks[:, 0], atol=0.5)
    np.testing.assert_allclose(prop.targets[:, 4], scene.tracks[:, 0] + [12, -5], atol=0.5)
    assert prop.mask_tracks.shape[1] > 0
    frame_mask = prop.mask(key + 3, clip.size)
    overlap = (frame_mask & scene.object_masks[key + 3]).sum() / scene.object_masks[key + 3].sum()
    assert overlap > 0.8
    # Without a mask the split is by motion; the handle is always foreground.
    free = propagate_drag(clip, handles, targets)
    assert free.foreground[4]
    with pytest.raises(InvalidInputError, match="pairs"):
        propagate_drag(clip, handles, mw.PointSet(np.zeros((2, 2)), frame=key))
    with pytest.raises(ShapeError, match="size"):
        propagate_drag(clip, handles, targets, mask=np.zeros((10, 10), bool))


# -- ReVideo §3.2 / A.1 ----------------------------------------------------------------------
def _lengths_traj(lengths):
    t = np.arange(5, dtype=np.float32)[:, None]
    n = len(lengths)
    tracks = np.zeros((5, n, 2), np.float32)
    tracks[:, :, 0] = 20 * np.arange(n) + t * (np.asarray(lengths) / 4.0)
    tracks[:, :, 1] = 10
    return mw.Trajectory(tracks, np.ones((5, n), bool))


def test_path_lengths_and_grid_sparsifying():
    traj = _lengths_traj([0, 4, 8])
    np.testing.assert_allclose(path_lengths(traj.tracks, traj.visible), [0, 4, 8], atol=1e-5)
    tracks = np.array([[[1, 1], [2, 2], [17, 1], [40, 40]]], np.float32)
    assert sparsify(tracks, np.ones((1, 4), bool), cell=16).tolist() == [0, 2, 3]


def test_sampling_keeps_long_tracks_with_length_weighted_probability():
    traj = _lengths_traj([1, 1, 1, 1, 10, 30])  # mean 7.33: only the last two pass
    counts = {4: 0, 5: 0}
    for seed in range(400):
        picked = sample_trajectories(traj, grid=1, num=1, rng=seed)
        counts[int(picked.ids[0])] += 1
    assert set(counts) == {4, 5}
    assert 0.65 < counts[5] / 400 < 0.85  # 30 / (10 + 30) = 0.75
    sizes = {sample_trajectories(_lengths_traj(np.arange(1, 31)), grid=1, rng=s).num_points
             for s in range(200)}
    assert sizes <= set(range(1, 11)) and len(sizes) >= 8
    with pytest.raises(InvalidInputError, match="nothing to sample"):
        sample_trajectories(_lengths_traj([0, 0]), grid=1)


# -- Point-to-Point trajectory collection -------------------------------------------------------
def test_collect_trajectories_from_three_keyframes(scene):
    clip = scene.to_clip()
    traj = collect_trajectories(clip, stride=8)
    lw, lh = 192 // 8, 144 // 8
    assert traj.num_frames == 10
    assert lw * lh <= traj.num_points < 3 * lw * lh  # redundant seeds were removed
    # Static background seeds from frame 0 stay put on latent-cell centres.
    first = traj.tracks[0, : lw * lh]
    assert np.isfinite(first).all()
    # With the subject mask only tracks starting on the object are kept.
    masked = collect_trajectories(clip, stride=8, mask=scene.object_masks[0])
    assert 0 < masked.num_points < traj.num_points // 4
    start = masked.tracks[0][masked.visible[0]]
    ix, iy = np.rint(start).astype(int).T
    # (Tracks seeded on the middle or last keyframe may reach frame 0 just off the object.)
    assert scene.object_masks[0][iy, ix].mean() > 0.8
    # Object tracks follow the object's motion (its exact affine map from frame 0 to 9).
    obj = scene.object_ids[0][iy, ix] == 0
    gen = MovingObjectsScene(10, (192, 144), seed=3, num_objects=1, max_speed=3,
                             points_per_object=8).objects[0]
    a0, a9 = (np.vstack([gen.affine(t), [0, 0, 1]]) for t in (0, 9))
    m = (a9 @ np.linalg.inv(a0))[:2]
    truth = start[obj] @ m[:, :2].T + m[:, 2]
    end = masked.tracks[-1][masked.visible[0]][obj]
    err = np.linalg.norm(end - truth, axis=1)
    assert np.median(err) < 3.0  # 8-px latent cells, flow averaged over each cell


def test_collect_trajectories_bad_input(scene):
    clip = scene.to_clip()
    with pytest.raises(FrameRangeError, match="keyframes"):
        collect_trajectories(clip, keyframes=(0, 50))
    with pytest.raises(ShapeError, match="size"):
        collect_trajectories(clip, mask=np.zeros((4, 4), bool))
    with pytest.raises(InvalidInputError, match="at least 2"):
        collect_trajectories(clip[:1])
