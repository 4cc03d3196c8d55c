"""The preview moves what an edit says: dragged objects keep their shape, regions follow their
trajectories, anchors stay put, empty masks are refused, and the comparison marks move."""

import cv2
import numpy as np
import pytest

import motionwright as mw
from motionwright.cli.main import main
from motionwright.edits import DragEdit, TrajectoryEdit, edit_from_dict
from motionwright.errors import InvalidInputError

W, H = 160, 120
BG = 100


def _square_scene(x=50, y=40, side=30, frames=4, seed=0):
    """A flat background with a textured square; the square's (H, W) mask."""
    rng = np.random.default_rng(seed)
    frame = np.full((H, W, 3), BG, np.uint8)
    patch = rng.integers(0, 256, (side // 3, side // 3, 3)).astype(np.uint8)
    patch = cv2.resize(patch, (side, side), interpolation=cv2.INTER_NEAREST)
    patch[np.abs(patch.astype(int) - BG).max(axis=2) < 40] = 230  # stands out from BG
    frame[y:y + side, x:x + side] = patch
    square = np.zeros((H, W), bool)
    square[y:y + side, x:x + side] = True
    return mw.Clip.from_frames(np.stack([frame] * frames)), square, patch


def _box_of(changed):
    ys, xs = np.nonzero(changed)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def _find(frame, patch):
    """Top-left corner where ``patch`` matches ``frame`` best (normalised cross-correlation)."""
    score = cv2.matchTemplate(frame, patch, cv2.TM_CCOEFF_NORMED)
    _, best, _, loc = cv2.minMaxLoc(score)
    return np.array(loc), best


def test_one_handle_drag_moves_the_object_without_squashing_it():
    clip, square, patch = _square_scene()
    mask = mw.Mask.from_box(25, 15, 110, 90, (W, H))
    edit = DragEdit(mw.PointSet([[55.0, 45.0]]), mw.PointSet([[70.0, 50.0]]), mask)
    out = mw.render(clip, edit, backend="preview")
    src = clip[0]
    for i in (0, 3):
        frame = out[i]
        assert np.array_equal(frame[~mask.at(0)], src[~mask.at(0)])
        corner, score = _find(frame, patch)
        assert score > 0.95 and tuple(corner) == (65, 45)  # moved by (15, 5)
        x0, y0, x1, y1 = _box_of(np.abs(frame.astype(int) - BG).max(axis=2) > 20)
        assert abs((x1 - x0) - 30) <= 1 and abs((y1 - y0) - 30) <= 1  # not squashed
        revealed = square.copy()
        revealed[45:75, 65:95] = False
        assert np.abs(frame[revealed].astype(int) - BG).max() <= 3  # filled with background


def test_drag_with_anchors_bends_the_region_and_keeps_the_anchors_in_place():
    rng = np.random.default_rng(3)
    img = cv2.resize(rng.integers(0, 256, (24, 32, 3)).astype(np.uint8), (W, H),
                     interpolation=cv2.INTER_CUBIC)
    clip = mw.Clip.from_frames(np.stack([img] * 3))
    mask = mw.Mask.from_box(20, 20, 120, 80, (W, H))
    anchors = mw.PointSet([[45.0, 60.0], [60.0, 40.0], [60.0, 80.0]])
    edit = DragEdit(mw.PointSet([[100.0, 60.0]]), mw.PointSet([[112.0, 60.0]]), mask,
                    anchors=anchors)
    out = mw.render(clip, edit, backend="preview")
    for i in (0, 2):
        frame = out[i].astype(int)
        for x, y in anchors.points.astype(int):
            assert np.abs(frame[y - 1:y + 2, x - 1:x + 2] - img[y - 1:y + 2, x - 1:x + 2]
                          .astype(int)).mean() < 4
        near = np.abs(frame[57:64, 109:116] - img[57:64, 97:104].astype(int)).mean()
        assert near < 0.3 * np.abs(img[57:64, 109:116].astype(int)
                                   - img[57:64, 97:104].astype(int)).mean()


def test_drag_anchors_round_trip_and_old_drags_load():
    edit = DragEdit(mw.PointSet([[10.0, 10.0]], frame=2), mw.PointSet([[14.0, 10.0]], frame=2),
                    anchors=mw.PointSet([[30.0, 30.0], [5.0, 40.0]], frame=2))
    assert edit_from_dict(edit.to_dict()) == edit
    old = DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet([[14.0, 10.0]])).to_dict()
    assert "anchors" not in old and edit_from_dict(old).anchors is None
    with pytest.raises(InvalidInputError, match="anchors"):
        DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet([[14.0, 10.0]]),
                 anchors=[[1.0, 2.0]])
    with pytest.raises(InvalidInputError, match="drag frame"):
        DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet([[14.0, 10.0]]),
                 anchors=mw.PointSet([[1.0, 2.0]], frame=1))
    clip, _, _ = _square_scene(frames=3)
    with pytest.raises(InvalidInputError, match="outside"):
        mw.render(clip, DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet([[14.0, 10.0]]),
                                 anchors=mw.PointSet([[900.0, 2.0]])), backend="preview")


def test_trajectory_edit_moves_the_region_along_the_path_and_fills_where_it_was():
    clip, square, patch = _square_scene(x=40, y=50, side=21, frames=8)
    path = mw.Trajectory.from_path([[50, 60], [80, 45], [110, 70]], len(clip), timing="ease")
    region = mw.Mask.from_polygon([[38, 48], [62, 48], [62, 72], [38, 72]], (W, H))
    out = mw.render(clip, TrajectoryEdit(region, path), backend="preview")
    src = clip[0]
    assert np.array_equal(out[0], src)
    for i in (2, 4, 7):
        frame = out[i]
        shift = path.tracks[i, 0] - path.tracks[0, 0]
        corner, score = _find(frame, patch)
        assert score > 0.9
        np.testing.assert_allclose(corner, np.array([40, 50]) + shift, atol=1.0)
        moved = np.zeros((H, W), bool)
        x, y = np.rint(np.array([38, 48]) + shift).astype(int)
        moved[max(0, y - 2):y + 28, max(0, x - 2):x + 28] = True
        far = ~(moved | region.at(0))
        assert np.array_equal(frame[far], src[far])
        left = square & ~moved
        assert np.abs(frame[left].astype(int) - BG).max() <= 3  # filled with background


def test_an_empty_mask_is_refused_at_render_time():
    clip, _, _ = _square_scene(frames=3)
    outside = mw.Mask.from_box(500, 20, 30, 30, (W, H))
    with pytest.raises(InvalidInputError, match=r"empty on frame 0.*160x120"):
        mw.render(clip, DragEdit(mw.PointSet([[10.0, 10.0]]), mw.PointSet([[14.0, 10.0]]),
                                 outside), backend="preview")
    traj = mw.Trajectory(np.full((3, 1, 2), 20.0, np.float32), np.ones((3, 1), bool))
    with pytest.raises(InvalidInputError, match=r"region: empty.*160x120"):
        mw.render(clip, TrajectoryEdit(outside, traj), backend="preview")


@pytest.fixture(scope="module")
def moving_square(tmp_path_factory):
    """A square crossing a flat background, saved losslessly as PNGs."""
    frames = np.full((8, H, W, 3), BG, np.uint8)
    rng = np.random.default_rng(5)
    patch = cv2.resize(rng.integers(0, 256, (6, 6, 3)).astype(np.uint8), (24, 24),
                       interpolation=cv2.INTER_NEAREST)
    for t in range(8):
        frames[t, 40:64, 30 + 6 * t:54 + 6 * t] = patch
    folder = tmp_path_factory.mktemp("square")
    mw.Clip.from_frames(frames).save(folder / "f.%04d.png")
    return folder / "f.%04d.png"


def test_cli_refuses_a_mask_box_outside_the_frame(moving_square, tmp_path, capsys):
    code = main(["drag", str(moving_square), "--handle", "40,50", "--target", "50,50",
                 "--mask-box", "400,10,30,30", "-o", str(tmp_path / "d.mp4")])
    assert code == 2
    err = capsys.readouterr().err
    assert "400..430" in err and "160x120" in err
    assert not (tmp_path / "d.mp4").exists()


def test_cli_compare_draws_handles_and_mask_where_they_are_on_each_frame(moving_square,
                                                                         tmp_path):
    cmp = tmp_path / "cmp.%04d.png"
    assert main(["drag", str(moving_square), "--handle", "42,52", "--target", "48,44",
                 "--mask-box", "20,30,50,44", "-o", str(tmp_path / "o.%04d.png"),
                 "--compare", str(cmp)]) == 0
    pair = mw.Clip.open(cmp)
    assert pair.size == (2 * W, H) and len(pair) == 8

    def columns(frame, colour):
        hit = np.abs(frame[:, :W].astype(int) - colour).max(axis=2) < 30
        return np.nonzero(hit)[1]

    frames = [pair[t] for t in (0, 4, 7)]
    handle_front = [columns(f, (40, 220, 60)).max() for f in frames]  # the dot leads its path
    target = [columns(f, (40, 110, 255)).mean() for f in frames]
    mask_left = [columns(f, (235, 50, 50)).min() for f in frames]
    # The square moves 6 px a frame; every mark goes with it.
    for xs in (handle_front, target, mask_left):
        np.testing.assert_allclose(np.diff(xs), [24, 18], atol=2)


def test_sixteen_bit_frames_stay_sixteen_bit_and_move_the_same():
    clip8, _, patch = _square_scene(frames=2)
    clip16 = mw.Clip.from_frames(np.stack([clip8[0], clip8[1]]).astype(np.uint16) * 257)
    mask = mw.Mask.from_box(25, 15, 110, 90, (W, H))
    edit = DragEdit(mw.PointSet([[55.0, 45.0]]), mw.PointSet([[70.0, 50.0]]), mask)
    frame = mw.render(clip16, edit, backend="preview")[1]
    assert frame.dtype == np.uint16
    assert np.array_equal(frame[~mask.at(0)], clip16[1][~mask.at(0)])
    corner, score = _find((frame >> 8).astype(np.uint8), patch)
    assert score > 0.95 and tuple(corner) == (65, 45)
