"""The CPU preview renderer: drags, trajectory edits, overlays, streaming, exactness outside."""

import tracemalloc

import cv2
import numpy as np
import pytest

import motionwright as mw
from motionwright.edits import DragEdit, PromptEdit, TrajectoryEdit
from motionwright.errors import Cancelled, FrameRangeError, InvalidInputError, ShapeError
from motionwright.preview.backend import render as preview_render
from motionwright.preview.compare import overlay_clip, side_by_side
from motionwright.preview.composite import contour_anchors, feather_alpha
from motionwright.preview.drag import DragPreview
from motionwright.preview.fill import fill_holes
from motionwright.preview.mls import backward_maps, mls_map
from motionwright.preview.overlay import draw_edit_overlay
from motionwright.synthetic import make_moving_objects
from motionwright.tracking import track

W, H = 160, 120


def _texture(seed=0, size=(W, H)):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (size[1] // 5, size[0] // 5, 3)).astype(np.float32)
    img = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC) + rng.normal(0, 5, (*size[::-1], 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def still_clip():
    return mw.Clip.from_frames(np.stack([_texture()] * 6))


@pytest.fixture(scope="module")
def moving():
    return make_moving_objects(8, (W, H), seed=2, num_objects=1, max_speed=3,
                               points_per_object=6)


def _patch(img, xy, r=5):
    x, y = (round(float(v)) for v in xy)
    return img[y - r:y + r + 1, x - r:x + r + 1].astype(np.float32)


def test_drag_moves_content_to_the_target_and_leaves_the_outside_exact(still_clip):
    handle, target = np.array([[70.0, 60.0]]), np.array([[84.0, 52.0]])
    mask = mw.Mask.from_box(30, 20, 100, 80, (W, H))
    edit = DragEdit(mw.PointSet(handle), mw.PointSet(target), mask)
    out = mw.render(still_clip, edit, backend="preview")
    assert len(out) == 6 and out.size == (W, H)
    src = still_clip[0]
    for i in range(len(out)):
        frame = out[i]
        assert frame.dtype == np.uint8 and frame.shape == (H, W, 3)
        assert np.array_equal(frame[~mask.at(0)], src[~mask.at(0)])
    moved = np.abs(_patch(out[0], target[0]) - _patch(src, handle[0])).mean()
    before = np.abs(_patch(src, target[0]) - _patch(src, handle[0])).mean()
    assert moved < 0.25 * before


def test_drag_follows_a_moving_object(moving):
    clip = moving.to_clip()
    handle = moving.tracks[0][:1]
    edit = DragEdit(mw.PointSet(handle), mw.PointSet(handle + np.array([10, 0])),
                    mw.Mask(moving.object_masks[:1]).dilate(10))
    op = DragPreview(clip, edit)
    for i in (0, 4, 7):
        region = op.region(i)
        frame = op.apply(clip[i], i)
        assert np.array_equal(frame[~region], moving.frames[i][~region])
        # The region rides along with the object.
        assert (region & moving.object_masks[i]).sum() > 0.9 * moving.object_masks[i].sum()
        h_now = op.prop.handles[i - op.prop.start_frame, 4]
        np.testing.assert_allclose(h_now, moving.tracks[i, 0], atol=0.6)


def test_carried_region_is_the_drag_frame_mask_moved_also_at_the_frame_edge(moving):
    clip = moving.to_clip()
    handle = moving.tracks[0][:1]
    mask = mw.Mask.from_box(0, 0, float(handle[0, 0]) + 30, H, (W, H))  # on three edges
    target = handle + np.array([10.0, 0.0])
    op = DragPreview(clip, DragEdit(mw.PointSet(handle), mw.PointSet(target), mask))
    key = mask.at(0).astype(np.uint8)
    for i in range(len(clip)):
        whole = cv2.warpAffine(key, op.carry(i), (W, H), flags=cv2.INTER_NEAREST).astype(bool)
        assert np.array_equal(op.region(i), whole)
        frame = op.apply(clip[i], i)
        assert np.array_equal(frame[~whole], clip[i][~whole])


def test_drag_without_mask_edits_only_near_the_handles(still_clip):
    edit = DragEdit(mw.PointSet([[80.0, 60.0]]), mw.PointSet([[90.0, 60.0]]))
    out = preview_render(still_clip, [edit])
    frame, src = out[2], still_clip[2]
    changed = np.any(frame != src, axis=2)
    assert changed.any()
    ys, xs = np.nonzero(changed)
    assert np.hypot(xs - 85, ys - 60).max() < 40


def test_edited_first_frame_is_carried_into_the_region(still_clip):
    region = mw.Mask.from_box(40, 30, 60, 50, (W, H))
    first = np.full((H, W, 3), 200, np.uint8)
    traj = mw.Trajectory(np.full((3, 1, 2), [70.0, 55.0]), np.ones((3, 1), bool))
    out = mw.render(still_clip, TrajectoryEdit(region, traj, first_frame=first),
                    backend="preview")
    frame = out[1]
    inner = np.zeros((H, W), bool)
    inner[40:70, 50:90] = True
    assert np.all(frame[inner] == 200)
    assert np.array_equal(frame[~region.at(0)], still_clip[1][~region.at(0)])


def test_other_edits_render_as_a_labelled_overlay(still_clip):
    out = mw.render(still_clip, PromptEdit("a red car"), backend="preview")
    frame, src = out[0], still_clip[0]
    changed_rows = np.flatnonzero(np.any(frame != src, axis=(1, 2)))
    assert len(changed_rows) and changed_rows.max() < H // 3  # only the label band
    assert np.array_equal(frame[H // 2:], src[H // 2:])


def test_preview_streams_reports_progress_and_cancels(moving):
    clip = moving.to_clip()
    handle = moving.tracks[0][:1]
    edit = DragEdit(mw.PointSet(handle), mw.PointSet(handle + np.array([8, 0])))
    events = []
    out = preview_render(clip, [edit], progress=events.append)
    stages = {e.stage for e in events}
    assert stages == {"track"}
    frames = [out[i] for i in (3, 1, 3)]
    assert np.array_equal(frames[0], frames[2])
    previews = [e for e in events if e.stage == "preview"]
    assert [e.done for e in previews] == [1, 2] and previews[0].total == len(clip)
    token = mw.CancelToken()
    lazy = preview_render(clip, [edit], cancel=token)
    token.cancel()
    with pytest.raises(Cancelled):
        lazy[0]


def test_memory_does_not_grow_with_clip_length():
    frames = np.stack([_texture(seed=1)] * 40)
    clip = mw.Clip.from_frames(frames)
    edit = DragEdit(mw.PointSet([[80.0, 60.0]]), mw.PointSet([[88.0, 60.0]]),
                    mw.Mask.from_box(40, 30, 80, 60, (W, H)))
    out = preview_render(clip, [edit])
    frame_bytes = frames[0].nbytes
    peaks = []
    for count in (10, 40):
        tracemalloc.start()
        for i in range(count):
            out[i]
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] + 4 * frame_bytes
    assert peaks[1] < 60 * frame_bytes


def test_bad_edits_are_refused_before_rendering(still_clip):
    with pytest.raises(ShapeError, match="size"):
        mw.render(still_clip, DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet([[12.0, 10.0]]),
                                       mw.Mask.from_box(0, 0, 5, 5, (W + 1, H))),
                  backend="preview")
    with pytest.raises(FrameRangeError):
        mw.render(still_clip, DragEdit(mw.PointSet([[10.0, 10.0]], frame=9),
                                       mw.PointSet([[12.0, 10.0]], frame=9)), backend="preview")
    with pytest.raises(InvalidInputError, match="outside"):
        mw.render(still_clip, DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet([[999.0, 10.0]])),
                  backend="preview")
    with pytest.raises(InvalidInputError, match="pairs"):
        DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet(np.zeros((2, 2))))


# -- the pieces ---------------------------------------------------------------------------------
def test_mls_interpolates_controls_and_keeps_rigid_motion_rigid():
    p = np.array([[10, 10], [50, 10], [30, 40], [5, 45]], np.float32)
    angle = np.radians(20)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    q = p @ rot.T + [7, -3]
    probe = np.array([[25.0, 25.0], [60.0, 60.0]])
    for kind in ("rigid", "similarity", "affine"):
        np.testing.assert_allclose(mls_map(p, q, p, kind), q, atol=1e-3)
        np.testing.assert_allclose(mls_map(p, q, probe, kind), probe @ rot.T + [7, -3], atol=1e-3)
    mx, my = backward_maps(p, p, (0, 0, 64, 48))
    gx, gy = np.meshgrid(np.arange(64), np.arange(48))
    np.testing.assert_allclose(mx, gx, atol=1e-3)
    np.testing.assert_allclose(my, gy, atol=1e-3)
    with pytest.raises(ValueError, match="kind"):
        mls_map(p, q, probe, "twist")


def test_fill_replaces_only_the_hole_with_a_smooth_continuation():
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :30] = 50
    img[:, 30:] = 150
    hole = np.zeros((40, 60), bool)
    hole[15:25, 20:40] = True
    damaged = img.copy()
    damaged[hole] = 255
    out = fill_holes(damaged, hole)
    assert np.array_equal(out[~hole], img[~hole])
    assert out[hole].min() >= 50 and out[hole].max() <= 150
    assert out[20, 21, 0] < 100 < out[20, 38, 0]
    assert np.array_equal(fill_holes(img, np.zeros((40, 60), bool)), img)


def test_feather_and_anchors():
    region = np.zeros((40, 40), bool)
    region[10:30, 10:30] = True
    alpha = feather_alpha(region, 5)
    assert alpha[~region].max() == 0 and alpha[20, 20] == 1 and 0 < alpha[10, 20] < 0.5
    anchors = contour_anchors(region, spacing=10)
    assert 6 <= len(anchors) <= 10
    assert np.all((anchors >= 9.5) & (anchors <= 29.5))


def test_overlay_and_side_by_side(still_clip):
    edit = DragEdit(mw.PointSet([[40.0, 40.0]]), mw.PointSet([[60.0, 50.0]]),
                    mw.Mask.from_box(20, 20, 60, 50, (W, H)))
    src = still_clip[0]
    drawn = draw_edit_overlay(src, edit, 0)
    assert not np.array_equal(drawn, src) and np.array_equal(still_clip[0], src)
    assert tuple(drawn[40, 40]) != tuple(src[40, 40])
    later = draw_edit_overlay(src, edit, 3, tracks=track(still_clip, edit.handles))
    assert tuple(later[50, 60]) != tuple(src[50, 60])  # the target, carried to frame 3
    pair = side_by_side(still_clip, overlay_clip(still_clip, edit), labels=("a", "b"),
                        edit=edit)
    assert pair.size == (2 * W, H) and len(pair) == len(still_clip)
    assert pair[1].shape == (H, 2 * W, 3)
    with pytest.raises(InvalidInputError, match="frames"):
        side_by_side(still_clip, still_clip[:2])
