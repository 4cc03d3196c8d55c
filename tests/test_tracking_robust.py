"""Point tracking on hard point sets: flat patches, object edges, occlusion, long clips.

The tracker must never do worse than plain chained DIS flow, keep visibility steady and keep
every position near the frame.
"""

import cv2
import numpy as np
import pytest

import motionwright as mw
from motionwright.errors import InvalidInputError
from motionwright.synthetic import MovingObjectsScene, noise_texture
from motionwright.tracking import TrackerOptions, chained_flow_tracks, track
from motionwright.tracking.core import PointTracker
from motionwright.tracking.flow import prepare


def _half_flat_scene(frames=20, size=(192, 144), seed=1, **options):
    """One object, flat on its right half and textured on its left, over a textured scene."""
    scene = MovingObjectsScene(frames, size, seed=seed, num_objects=1, max_speed=3,
                               points_per_object=0, object_scale=0.5, **options)
    rng = np.random.default_rng(seed)
    oh, ow = scene.objects[0].texture.shape[:2]
    look = noise_texture(oh, ow, rng)
    look[:, ow // 2:] = (150, 110, 80)
    scene.use_images(noise_texture(size[1] + 64, size[0] + 64, rng), [look])
    return scene


def _object_points(scene, local):
    """Ground-truth tracks ``(T, N, 2)`` of object 0's texture pixels ``local`` ``(N, 2)``."""
    obj = scene.objects[0]
    return np.stack([local @ obj.affine(t)[:, :2].T + obj.affine(t)[:, 2]
                     for t in range(scene.num_frames)]).astype(np.float32)


def _errors(scene, truth, points_frame=0):
    video = np.stack([scene.frame(t) for t in range(scene.num_frames)])
    traj = track(mw.Clip.from_frames(video), mw.PointSet(truth[points_frame]))
    base, _ = chained_flow_tracks(video, truth[0], preset="medium")
    ours = np.linalg.norm(traj.tracks - truth, axis=2)
    theirs = np.linalg.norm(base - truth, axis=2)
    return ours, theirs, traj


def test_points_on_a_flat_patch_do_no_worse_than_chained_flow():
    scene = _half_flat_scene()
    oh, ow = scene.objects[0].texture.shape[:2]
    # On the flat half: no texture within 8 px, none of their own within 16 px.
    gx, gy = np.meshgrid(np.linspace(ow // 2 + 8, ow // 2 + 16, 3), np.linspace(20, oh - 20, 4))
    local = np.stack([gx.ravel(), gy.ravel()], axis=1)
    ours, theirs, traj = _errors(scene, _object_points(scene, local))
    assert ours.mean() <= theirs.mean()
    assert np.median(ours) < 0.5
    assert traj.visible.all()


def test_points_near_an_object_edge_do_not_drift():
    scene = _half_flat_scene(seed=3)
    mask = (scene.object_ids(0) == 0).astype(np.uint8)
    # Object pixels 3 to 6 px inside its outline, on both the flat and the textured side.
    ring = cv2.erode(mask, np.ones((7, 7), np.uint8)) - cv2.erode(mask, np.ones((13, 13),
                                                                                np.uint8))
    ys, xs = np.nonzero(ring)
    pick = np.random.default_rng(0).choice(len(xs), 24, replace=False)
    affine = np.vstack([scene.objects[0].affine(0), [0, 0, 1]])
    local = (np.c_[xs[pick], ys[pick], np.ones(24)] @ np.linalg.inv(affine).T)[:, :2]
    ours, theirs, _ = _errors(scene, _object_points(scene, local))
    assert ours.mean() <= theirs.mean()
    assert np.median(ours) < 0.5


def test_points_that_stay_visible_do_not_flicker():
    scene = MovingObjectsScene(30, (192, 144), seed=4, num_objects=2, max_speed=4,
                               points_per_object=20)
    video = np.stack([scene.frame(t) for t in range(30)])
    # Points that stay in view with no other object within 4 px of them.
    always = scene.visible.all(axis=0)
    for t in range(30):
        other = np.isin(scene.object_ids(t), [-1], invert=True).astype(np.uint8)
        for owner in np.unique(scene.point_object):
            others = cv2.dilate(other * (scene.object_ids(t) != owner), np.ones((9, 9), np.uint8))
            xy = np.rint(scene.tracks[t]).astype(int)
            mine = scene.point_object == owner
            always[mine] &= others[xy[mine, 1].clip(0, 143), xy[mine, 0].clip(0, 191)] == 0
    assert always.sum() >= 10
    traj = track(mw.Clip.from_frames(video), mw.PointSet(scene.tracks[0][always]))
    assert traj.visible.all()


def _long_scene(frames):
    return MovingObjectsScene(frames, (96, 64), seed=5, num_objects=2, max_speed=2,
                              points_per_object=6, pan=(1.5, 0.75), pan_period=90)


def test_positions_on_a_long_clip_stay_within_the_margin_of_the_frame():
    scene = _long_scene(200)
    margin = TrackerOptions().bounds_margin
    rng = np.random.default_rng(0)
    points = np.concatenate([scene.tracks[0][scene.visible[0]],
                             rng.uniform([1, 1], [94, 62], (12, 2))]).astype(np.float32)
    tracker = PointTracker(scene.frame(0), points)
    toggles = np.zeros(len(points), np.int64)
    last = tracker.visible.copy()
    for t in range(1, scene.num_frames):
        pos, vis = tracker.step(scene.frame(t))
        assert np.isfinite(pos).all()
        assert (pos >= -margin).all()
        assert (pos[:, 0] <= 95 + margin).all() and (pos[:, 1] <= 63 + margin).all()
        toggles += vis != last
        last = vis
    # Points come and go with the objects and the pan, but not frame by frame.
    assert toggles.max() < 20


def test_a_point_that_leaves_the_frame_is_hidden_and_waits_at_its_edge():
    scene = _long_scene(60)
    margin = TrackerOptions().bounds_margin
    tracker = PointTracker(scene.frame(0), np.array([[3.0, 30.0]], np.float32))
    truth, _ = scene.background_tracks(np.array([[3.0, 30.0]]), 0)
    rows = [tracker.step(scene.frame(t)) for t in range(1, 60)]
    pos = np.stack([r[0][0] for r in rows])
    vis = np.array([r[1][0] for r in rows])
    outside = truth[1:, 0, 0] < -3
    assert outside.any() and not vis[outside].any()
    assert (pos[:, 0] >= -margin).all()


def test_a_covered_point_without_neighbours_is_held_where_it_was_last_seen():
    scene = MovingObjectsScene(40, (160, 120), seed=2, num_objects=1, max_speed=4,
                               points_per_object=0)
    ids = np.stack([scene.object_ids(t) for t in range(40)])
    # Clear of the object on the first frame, covered later.
    near = cv2.dilate((ids[0] >= 0).astype(np.uint8), np.ones((21, 21), np.uint8))
    ys, xs = np.nonzero((near == 0) & (ids[10:30] >= 0).any(axis=0))
    clear = (xs > 20) & (xs < 140) & (ys > 20) & (ys < 100)
    point = np.array([[xs[clear][0], ys[clear][0]]], np.float32)
    options = TrackerOptions(support_points=0)
    tracker = PointTracker(prepare(scene.frame(0)), point, options)
    pos, vis = zip(*(tracker.step(scene.frame(t)) for t in range(1, 40)), strict=True)
    pos, vis = np.stack(pos)[:, 0], np.array(vis)[:, 0]
    assert not vis.all()
    hidden = np.flatnonzero(~vis)
    # While hidden the point waits where it was when lost (the scene does not pan).
    np.testing.assert_allclose(pos[hidden], np.broadcast_to(pos[hidden[0]], pos[hidden].shape),
                               atol=0.5)
    np.testing.assert_allclose(pos[hidden[0]], point[0], atol=1.0)


def test_panning_footage_moves_its_background_as_its_ground_truth_says():
    scene = MovingObjectsScene(12, (96, 64), seed=7, num_objects=0, pan=(2.0, 1.0),
                               pan_period=40)
    np.testing.assert_allclose(scene.background_offset(0), [0.0, 0.0])
    assert np.abs(scene.background_offset(10) - [2.0 * 40 / (2 * np.pi)] * np.array(
        [1.0, 0.5])).max() < 1e-9
    tracks, visible = scene.background_tracks(np.array([[48.0, 32.0]]), 3)
    shift = np.round(tracks[8, 0] - tracks[3, 0]).astype(int)
    a, b = scene.frame(3).astype(int), scene.frame(8).astype(int)
    # The content moves by the ground-truth shift (to within the sub-pixel rest).
    moved = np.abs(b[20:44, 30:66] - a[20 - shift[1]:44 - shift[1], 30 - shift[0]:66 - shift[0]])
    assert moved.mean() < 12
    assert visible.all()


def test_a_bad_pan_is_refused():
    with pytest.raises(InvalidInputError, match="pan"):
        MovingObjectsScene(3, (32, 32), pan=(float("nan"), 0.0))
    with pytest.raises(InvalidInputError, match="pan"):
        MovingObjectsScene(3, (32, 32), pan=(1.0, 0.0), pan_period=0)


def test_a_hidden_point_is_not_carried_by_an_occluder_that_travelled_alike():
    # Surface A moves right 3 px/frame. Bar B first moves right 6 px/frame, then turns back
    # left and crosses the point when it has travelled about as far as A (but moves unlike
    # it): B's points must not carry the hidden point.
    rng = np.random.default_rng(5)
    background = noise_texture(144, 192, rng)
    surface, bar = noise_texture(70, 80, rng), noise_texture(90, 24, rng)
    frames, truth = [], []
    for t in range(24):
        frame = background.copy()
        ax = 20 + 3 * t
        frame[30:100, ax:ax + 80] = surface
        bx = 84 + (6 * t if t <= 5 else 60 - 6 * t) - 12
        if 0 <= bx <= 192 - 24:
            frame[20:110, bx:bx + 24] = bar
        frames.append(frame)
        truth.append([ax + 40, 62])
    truth = np.asarray(truth, np.float32)
    tracker = PointTracker(prepare(frames[0]), truth[:1])
    pos, vis = zip(*(tracker.step(f) for f in frames[1:]), strict=True)
    pos, vis = np.stack(pos)[:, 0], np.array(vis)[:, 0]
    assert not vis.all()
    # Carried with A's points (or held where last seen once they are covered too), never
    # with the bar, which leaves it 9 px a frame.
    assert np.linalg.norm(pos - truth[1:], axis=1).max() < 15.0
    assert vis[-3:].all()
    np.testing.assert_allclose(pos[-3:], truth[-3:], atol=1.0)


def test_a_textured_point_covered_by_a_passing_object_is_found_again_on_its_surface():
    # Surface A moves right 4 px/frame; bar B crosses it leftwards at 6 px/frame and covers
    # the point for a few frames. While covered the point must move with A (not with B, whose
    # texture now surrounds it, and not stay behind), so that it is found again afterwards.
    rng = np.random.default_rng(11)
    background = noise_texture(144, 224, rng)
    surface, bar = noise_texture(80, 110, rng), noise_texture(110, 40, rng)
    frames, truth, covered = [], [], []
    for t in range(26):
        frame = background.copy()
        ax = 10 + 4 * t
        frame[30:110, ax:ax + 110] = surface
        bx = 190 - 6 * t
        if 0 <= bx <= 224 - 40:
            frame[15:125, bx:bx + 40] = bar
        frames.append(frame)
        truth.append([ax + 70, 70])
        covered.append(bx - 8 <= ax + 70 <= bx + 40 + 8)
    truth, covered = np.asarray(truth, np.float32), np.asarray(covered)
    tracker = PointTracker(prepare(frames[0]), truth[:1])
    pos, vis = zip(*(tracker.step(f) for f in frames[1:]), strict=True)
    pos, vis = np.stack(pos)[:, 0], np.array(vis)[:, 0]
    assert covered[1:].any() and not vis.all()
    err = np.linalg.norm(pos - truth[1:], axis=1)
    # While hidden it moves with A, within a few pixels; found again once clear of B.
    assert err.max() < 6.0
    assert vis[-4:].all()
    assert err[-4:].max() < 1.0


def test_a_flat_point_far_from_frame_wide_support_follows_its_own_surface():
    # On a large frame the frame-wide support points are far apart (here: only 6 of them);
    # points on a flat part of an object get support points of their own on the object's
    # texture nearby, or they lag behind it.
    scene = _half_flat_scene(frames=20, size=(256, 192), seed=1)
    oh, ow = scene.objects[0].texture.shape[:2]
    gx, gy = np.meshgrid(np.linspace(ow // 2 + 8, ow // 2 + 24, 3), np.linspace(20, oh - 20, 4))
    truth = _object_points(scene, np.stack([gx.ravel(), gy.ravel()], axis=1))
    video = np.stack([scene.frame(t) for t in range(scene.num_frames)])
    options = TrackerOptions(support_points=6)
    traj = track(mw.Clip.from_frames(video), mw.PointSet(truth[0]), options=options)
    base, _ = chained_flow_tracks(video, truth[0], preset="medium")
    ours = np.linalg.norm(traj.tracks - truth, axis=2)
    assert ours.mean() <= np.linalg.norm(base - truth, axis=2).mean()
    assert ours.mean() < 1.0
    assert traj.visible.all()


def test_a_flat_point_does_not_follow_an_object_closing_in_on_it():
    # A textured block slides left at 5 px/frame over a static, nearly flat area (too little
    # texture to anchor a patch) and covers the points on it one after another. Until
    # covered, each point must stay where it is: the block's edge coming closer is a surface
    # moving in front, not the flat area moving. Chained DIS flow drifts by up to 2.7 px here.
    rng = np.random.default_rng(7)
    background = noise_texture(144, 224, rng)
    shading = cv2.GaussianBlur(rng.normal(0, 20, (96, 160)).astype(np.float32), (0, 0), 4)
    background[24:120, 40:200] = np.clip(120 + shading, 0, 255).astype(np.uint8)[..., None]
    block = noise_texture(40, 40, rng)
    frames, block_left = [], []
    for t in range(16):
        frame = background.copy()
        bx = 170 - 5 * t
        frame[52:92, bx:bx + 40] = block
        frames.append(frame)
        block_left.append(bx)
    points = np.array([[150, 62], [150, 82], [130, 72], [110, 62], [110, 82]], np.float32)
    video = np.stack(frames)
    tracker = PointTracker(prepare(frames[0]), points)
    assert not tracker._anchorable[:len(points)].any()
    traj = track(mw.Clip.from_frames(video), mw.PointSet(points))
    left = np.asarray(block_left)[:, None]
    covered = (points[None, :, 0] >= left - 1) & (points[None, :, 0] <= left + 40)
    assert covered.any() and not covered.all()
    err = np.linalg.norm(traj.tracks - points[None], axis=2)
    assert err[~covered].max() < 1.0
    # Covered points are hidden (within the two frames of evidence it takes) and held, not
    # dragged along with the block; once it has passed they are seen again.
    covered_long = covered & np.roll(covered, 2, axis=0)
    covered_long[:2] = False
    assert covered_long.any() and not traj.visible[covered_long].any()
    assert err.max() < 1.0
    assert traj.visible[-1, :2].all()
    base, _ = chained_flow_tracks(video, points, preset="medium")
    assert err[~covered].mean() <= np.linalg.norm(base - points[None], axis=2)[~covered].mean()


def _tile_under_a_box(frames=45, spin=0.0):
    """A small textured tile slides right 5 px/frame under a wide flat box and out again,
    turning ``spin`` radians a frame.

    Returns the frames, the tile centre's track ``(T, 2)`` and whether the tile is wholly
    covered ``(T,)``.
    """
    rng = np.random.default_rng(5)
    background = noise_texture(120, 280, rng)
    tile = noise_texture(24, 24, rng)
    video, truth, covered = [], [], []
    for t in range(frames):
        frame = background.copy()
        x = 20 + 5 * t
        turn = cv2.getRotationMatrix2D((11.5, 11.5), float(np.degrees(spin * t)), 1.0)
        frame[48:72, x:x + 24] = cv2.warpAffine(tile, turn, (24, 24),
                                                borderMode=cv2.BORDER_REFLECT)
        frame[30:90, 60:160] = (128, 128, 128)
        video.append(frame)
        truth.append([x + 12, 60])
        covered.append(x >= 60 and x + 24 <= 160)
    return video, np.asarray(truth, np.float32), np.asarray(covered)


@pytest.mark.parametrize("flow_max_side", [640, 180])
def test_a_surface_that_moved_far_while_covered_is_found_again_anywhere_in_the_frame(
        flow_max_side):
    # Under the box the tile travels ~120 px with nothing visible moving like it: no
    # neighbour carries the point and a search around where it was lost cannot reach it.
    # (A frame larger than the flow's image is searched at the flow's size.)
    video, truth, covered = _tile_under_a_box()
    pos, vis = _track_tile(video, truth, covered, rescan_points=2, flow_max_side=flow_max_side)
    assert vis[-6:].all()
    assert np.linalg.norm(pos[-6:] - truth[-6:], axis=1).max() < 1.0
    # Without the whole-frame search it stays lost.
    _, vis = _track_tile(video, truth, covered, rescan_points=0, flow_max_side=flow_max_side)
    assert not vis[-6:].any()


def test_a_surface_that_turned_while_covered_is_found_again():
    # The tile turns ~0.25 rad while under the box: its patch no longer matches as it was.
    video, truth, covered = _tile_under_a_box(spin=0.008)
    pos, vis = _track_tile(video, truth, covered, rescan_turns=(0.0, 0.3, -0.3))
    assert vis[-6:].all()
    assert np.linalg.norm(pos[-6:] - truth[-6:], axis=1).max() < 1.0
    _, vis = _track_tile(video, truth, covered, rescan_turns=(0.0,))
    assert not vis[-6:].any()


def _track_tile(video, truth, covered, flow_max_side=640, **options):
    """Track the tile centre from frame 0; return positions ``(T-1, 2)`` and visibility
    ``(T-1,)`` after checking it is hidden whenever the box wholly covers it."""
    tracker = PointTracker(prepare(video[0], flow_max_side), truth[:1],
                           TrackerOptions(flow_max_side=flow_max_side, **options))
    pos, vis = zip(*(tracker.step(prepare(f, flow_max_side)) for f in video[1:]), strict=True)
    pos, vis = np.stack(pos)[:, 0], np.array(vis)[:, 0]
    assert covered.any() and not vis[covered[1:]].any()
    return pos, vis
