"""The generated footage: ground truth must match what is drawn."""

import numpy as np
import pytest

from motionwright.errors import InvalidInputError
from motionwright.synthetic import MovingObjectsScene, make_moving_objects


def test_shapes_and_determinism():
    a = make_moving_objects(6, (96, 64), seed=3, num_objects=2, points_per_object=5)
    b = make_moving_objects(6, (96, 64), seed=3, num_objects=2, points_per_object=5)
    assert a.frames.shape == (6, 64, 96, 3) and a.frames.dtype == np.uint8
    assert a.tracks.shape == (6, 10, 2) and a.visible.shape == (6, 10)
    assert a.object_masks.shape == (6, 64, 96)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.tracks, b.tracks)


def test_tracks_follow_the_drawn_texture():
    """A visible point's pixel neighbourhood moves with its track (exact sub-pixel warp)."""
    clip = make_moving_objects(8, (160, 120), seed=1, num_objects=1, max_speed=3,
                               points_per_object=8)
    for n in range(clip.tracks.shape[1]):
        if not clip.visible[:, n].all():
            continue
        colours = []
        for t in range(8):
            x, y = np.rint(clip.tracks[t, n]).astype(int)
            colours.append(clip.frames[t, y, x].astype(float))
        # Sub-pixel shifts of a smooth texture change colour a little; a wrong track a lot.
        spread = np.abs(np.array(colours) - colours[0]).max()
        assert spread < 60


def test_speed_is_bounded():
    clip = make_moving_objects(30, (200, 150), seed=2, max_speed=5)
    speed = np.linalg.norm(np.diff(clip.tracks, axis=0), axis=-1)
    assert speed.max() < 5 * 1.3


def test_occluded_points_are_invisible():
    scene = MovingObjectsScene(40, (160, 120), seed=0, num_objects=3, max_speed=4)
    for t in range(0, 40, 5):
        ids = scene.object_ids(t)
        for n, owner in enumerate(scene.point_object):
            x, y = np.rint(scene.tracks[t, n]).astype(int)
            inside = 0 <= x < 160 and 0 <= y < 120
            assert scene.visible[t, n] == (inside and ids[y, x] == owner)


def test_bad_arguments():
    with pytest.raises(InvalidInputError, match="num_frames"):
        make_moving_objects(0)
    with pytest.raises(InvalidInputError, match="max_speed"):
        make_moving_objects(3, max_speed=float("nan"))
    with pytest.raises(InvalidInputError, match="t: expected"):
        MovingObjectsScene(3, (32, 32)).frame(3)
