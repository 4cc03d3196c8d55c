"""Point tracking: accuracy on generated footage with exact ground truth, occlusions, the API."""

import threading

import cv2
import numpy as np
import pytest

import motionwright as mw
from motionwright.errors import Cancelled, FrameRangeError, InvalidInputError
from motionwright.synthetic import make_moving_objects
from motionwright.tracking import TrackerOptions, chained_flow_tracks, track
from motionwright.tracking.appearance import KeyframeTemplates, search
from motionwright.tracking.flow import FlowEstimator, forward_backward_error, prepare


@pytest.fixture(scope="module")
def scene():
    return make_moving_objects(14, (192, 144), seed=4, num_objects=1, max_speed=4,
                               points_per_object=12)


def _texture(size=(160, 120), seed=0):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (size[1] // 4, size[0] // 4, 3)).astype(np.float32)
    img = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_tracks_follow_the_ground_truth_forward_and_backward(scene):
    clip = scene.to_clip()
    key = 6
    seen = scene.visible[key]
    points = mw.PointSet(scene.tracks[key][seen], frame=key, ids=np.arange(seen.sum()) + 100)
    traj = track(clip, points)
    assert traj.num_frames == 14 and traj.start_frame == 0
    assert np.array_equal(traj.ids, np.arange(seen.sum()) + 100)
    np.testing.assert_allclose(traj.tracks[key], points.points)
    truth = scene.tracks[:, seen]
    truth_vis = scene.visible[:, seen]
    err = np.linalg.norm(traj.tracks - truth, axis=2)[truth_vis & traj.visible]
    assert np.median(err) < 0.3
    assert err.mean() < 0.6
    assert (traj.visible == truth_vis).mean() > 0.9


def test_beats_plain_chained_flow(scene):
    seen = scene.visible[0]
    traj = track(scene.to_clip(), mw.PointSet(scene.tracks[0][seen], frame=0))
    base, _ = chained_flow_tracks(scene.frames, scene.tracks[0][seen])
    truth = scene.tracks[:, seen]
    ours = np.linalg.norm(traj.tracks[-1] - truth[-1], axis=1).mean()
    theirs = np.linalg.norm(base[-1] - truth[-1], axis=1).mean()
    assert ours < theirs


def test_points_covered_by_an_object_are_hidden_and_come_back():
    clip = make_moving_objects(24, (200, 150), seed=2, num_objects=1, max_speed=5,
                               points_per_object=4)
    ids = clip.object_ids
    # Static background points on a grid that the object covers at some frame.
    gx, gy = np.meshgrid(np.arange(12, 200, 12), np.arange(12, 150, 12))
    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    vis = np.stack([ids[t][pts[:, 1].astype(int), pts[:, 0].astype(int)] == -1
                    for t in range(24)])
    near = cv2.dilate((ids[0] >= 0).astype(np.uint8), np.ones((21, 21), np.uint8))
    keep = vis[0] & ~vis.all(0) & (near[pts[:, 1].astype(int), pts[:, 0].astype(int)] == 0)
    assert keep.sum() >= 3
    traj = track(clip.to_clip(), mw.PointSet(pts[keep], frame=0))
    assert (traj.visible == vis[:, keep]).mean() > 0.9
    err = np.linalg.norm(traj.tracks - pts[keep][None], axis=2)
    assert np.median(err[vis[:, keep] & traj.visible]) < 0.3


def test_leaving_the_frame_hides_a_point():
    tex = _texture((240, 120))
    frames = np.stack([tex[:, 6 * t:6 * t + 120] for t in range(12)])  # pans right 6 px/frame
    clip = mw.Clip.from_frames(frames)
    traj = track(clip, mw.PointSet([[20.0, 60.0], [90.0, 60.0]], frame=0))
    # The content at x=20 moves left by 6 px per frame and leaves after frame 3.
    assert traj.visible[:3, 0].all() and not traj.visible[5:, 0].any()
    assert traj.visible[:, 1].all()
    np.testing.assert_allclose(traj.tracks[:, 1, 0], 90 - 6 * np.arange(12), atol=0.3)


def test_frames_range_progress_and_cancel(scene):
    clip = scene.to_clip()
    pts = mw.PointSet(scene.tracks[5][:3], frame=5)
    events = []
    traj = track(clip, pts, frames=(3, 9), progress=events.append)
    assert (traj.start_frame, traj.num_frames) == (3, 6)
    assert [e.done for e in events] == [1, 2, 3, 4, 5]
    assert events[-1].stage == "track" and events[-1].total == 5
    token = mw.CancelToken()

    def cancel_after_two(event):
        if event.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        track(clip, pts, progress=cancel_after_two, cancel=token)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        track(clip, pts, cancel=stop)


@pytest.mark.parametrize("points, error, words", [
    (mw.PointSet([[500.0, 10.0]]), InvalidInputError, "outside"),
    (mw.PointSet(np.zeros((0, 2))), InvalidInputError, "empty"),
    (mw.PointSet([[10.0, 10.0]], frame=99), FrameRangeError, "frame 99"),
])
def test_bad_points(scene, points, error, words):
    with pytest.raises(error, match=words):
        track(scene.to_clip(), points)


def test_nan_points_and_bad_arguments(scene):
    clip = scene.to_clip()
    with pytest.raises(InvalidInputError, match="finite"):
        track(clip, [[float("nan"), 3.0]])
    with pytest.raises(InvalidInputError, match="Clip"):
        track(scene.frames, mw.PointSet([[10.0, 10.0]]))
    with pytest.raises(FrameRangeError, match="frames"):
        track(clip, mw.PointSet([[10.0, 10.0]]), frames=(5, 40))
    with pytest.raises(FrameRangeError, match="outside the tracked frames"):
        track(clip, mw.PointSet([[10.0, 10.0]], frame=2), frames=(5, 10))
    with pytest.raises(InvalidInputError, match="frames"):
        track(clip, mw.PointSet([[10.0, 10.0]]), frames="all")


def test_keyframe_alignment_recovers_shift_and_rotation():
    img = _texture((200, 160), seed=3)
    m = cv2.getRotationMatrix2D((100.0, 80.0), 4.0, 1.0)
    m[:, 2] += (2.3, -1.4)
    moved = cv2.warpAffine(img, m, (200, 160), borderMode=cv2.BORDER_REFLECT)
    a, b = prepare(img).fine, prepare(moved).fine
    pts = np.array([[70, 60], [120, 90], [100, 70]], np.float32)
    truth = pts @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32)
    tpl = KeyframeTemplates(a, pts)
    start = truth + np.array([[1.5, -1.0], [-1.2, 0.8], [0.9, 1.1]], np.float32)
    res = tpl.align(b, start, np.tile(np.eye(2, dtype=np.float32), (3, 1, 1)))
    assert np.abs(res.positions - truth).max() < 0.15
    assert res.converged.all() and (res.ncc > 0.95).all() and (res.centre_out < 0.1).all()
    angle = np.degrees(np.arctan2(res.shapes[:, 1, 0], res.shapes[:, 0, 0]))
    np.testing.assert_allclose(angle, -4.0, atol=1.0)


def test_template_search_finds_a_shifted_patch():
    img = prepare(_texture((160, 120), seed=5)).fine
    template = img[50:67, 70:87].copy()  # centre (78, 58)
    found, score, second = search(img, template, np.array([72.0, 63.0]), 10)
    np.testing.assert_allclose(found, [78.0, 58.0], atol=0.2)
    assert score > 0.99 and second < score
    _, outside, _ = search(img, template, np.array([2.0, 2.0]), 4)
    assert outside == -1.0
    # Without a centre the whole image is searched; the runner-up lies a template away.
    anywhere, score, second = search(img, template)
    np.testing.assert_allclose(anywhere, [78.0, 58.0], atol=0.2)
    assert score > 0.99 and -1.0 < second < score


def test_forward_backward_check_flags_inconsistent_flow():
    img = _texture((160, 120), seed=6)
    a, b = prepare(img), prepare(np.roll(img, 3, axis=1))
    fwd, bwd = FlowEstimator("fast").pair(a, b)
    moved, err = forward_backward_error(fwd, bwd, np.array([[80.0, 60.0]], np.float32), a.scale)
    np.testing.assert_allclose(moved, [[83.0, 60.0]], atol=0.5)
    assert err[0] < 0.5
    _, err_bad = forward_backward_error(fwd, -bwd, np.array([[80.0, 60.0]], np.float32),
                                        a.scale)
    assert err_bad[0] > 4


def test_options_are_honoured(scene):
    seen = scene.visible[0]
    pts = mw.PointSet(scene.tracks[0][seen][:4], frame=0)
    traj = track(scene.to_clip(), pts, options=TrackerOptions(flow_preset="ultrafast",
                                                              patch_radius=6))
    assert traj.tracks.shape == (14, 4, 2)
