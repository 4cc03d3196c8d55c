"""Drawn paths to timed trajectories, and trajectories to ReVideo's dense motion maps."""

import numpy as np
import pytest

import motionwright as mw
from motionwright.errors import InvalidInputError, ShapeError
from motionwright.flowmaps import trajectory_to_flow_maps
from motionwright.path import path_positions, trajectory_from_path

L_PATH = [[0.0, 0.0], [30.0, 0.0], [30.0, 10.0]]  # arc length 40


def test_uniform_timing_moves_at_constant_speed_along_the_curve():
    pos = path_positions(L_PATH, 9)
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    np.testing.assert_allclose(pos[0], [0, 0])
    np.testing.assert_allclose(pos[-1], [30, 10])
    np.testing.assert_allclose(pos[6], [30, 0])  # 30 of 40 px at 6/8 of the time
    # Straight steps are 5 px; the step across the corner is shorter as a chord.
    assert np.allclose(np.delete(steps, 5), 5.0)


def test_ease_starts_and_ends_slowly():
    pos = path_positions([[0, 0], [100, 0]], 11, timing="ease")
    speed = np.diff(pos[:, 0])
    assert speed[0] < speed[5] and speed[-1] < speed[5]
    np.testing.assert_allclose(pos[[0, 5, 10], 0], [0, 50, 100])


def test_drawn_timing_follows_the_spacing_of_the_drawn_points():
    drawn = [[0, 0], [1, 0], [2, 0], [50, 0]]  # slow start, then a long fast stroke
    pos = path_positions(drawn, 4, timing="drawn")
    np.testing.assert_allclose(pos[:, 0], [0, 1, 2, 50])
    custom = path_positions([[0, 0], [10, 0]], 3, timing=lambda u: u**2)
    np.testing.assert_allclose(custom[:, 0], [0, 2.5, 10])


def test_trajectory_from_path_with_static_anchors():
    traj = trajectory_from_path(L_PATH, 5, anchors=[[5, 5], [7, 8]], start_frame=3)
    assert isinstance(traj, mw.Trajectory)
    assert (traj.num_frames, traj.num_points, traj.start_frame) == (5, 3, 3)
    assert traj.visible.all()
    np.testing.assert_allclose(traj.tracks[:, 1], [[5, 5]] * 5)
    np.testing.assert_allclose(traj.tracks[:, 2], [[7, 8]] * 5)
    still = trajectory_from_path([[4.0, 4.0]], 3)
    np.testing.assert_allclose(still.tracks[:, 0], [[4, 4]] * 3)


@pytest.mark.parametrize("args, kwargs, error, words", [
    ((np.zeros((0, 2)), 5), {}, InvalidInputError, "empty"),
    (([[0, 0], [np.nan, 1]], 5), {}, InvalidInputError, "finite"),
    (([[0, 0, 0]], 5), {}, ShapeError, "polyline"),
    ((L_PATH, 0), {}, InvalidInputError, "num_frames"),
    ((L_PATH, 5), {"timing": "bouncy"}, InvalidInputError, "timing"),
    ((L_PATH, 5), {"timing": lambda u: 1 - u}, InvalidInputError, "rise"),
    ((L_PATH, 5), {"anchors": [[1.0]]}, ShapeError, "anchors"),
])
def test_bad_paths(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        trajectory_from_path(*args, **kwargs)


def test_flow_maps_hold_displacements_relative_to_the_previous_frame():
    tracks = np.array([[[10, 20]], [[13, 16]], [[13, 16]]], np.float32)
    traj = mw.Trajectory(tracks, np.ones((3, 1), bool))
    maps = trajectory_to_flow_maps(traj, (40, 30), sigma=3.0)
    assert maps.shape == (3, 2, 30, 40) and maps.dtype == np.float32
    assert not maps[0].any() and not maps[2].any()
    np.testing.assert_allclose(maps[1, :, 20, 10], [3, -4], atol=1e-4)  # peak at frame-0 spot
    assert abs(maps[1, 0, 20, 13]) < 3 * 0.9  # a Gaussian falls off
    raw = trajectory_to_flow_maps(traj, (40, 30), sigma=0)
    assert np.count_nonzero(raw[1, 0]) == 1


def test_flow_maps_scale_to_any_resolution_and_average_overlaps():
    tracks = np.array([[[10, 10], [12, 10]], [[14, 10], [16, 10]]], np.float32)
    traj = mw.Trajectory(tracks, np.ones((2, 2), bool))
    maps = trajectory_to_flow_maps(traj, (20, 20), sigma=4.0, frame_size=(40, 40))
    # Half resolution: displacement 4 px becomes 2 px; two close points moving alike average.
    np.testing.assert_allclose(maps[1, 0, 4:6, 4:7], 2.0, atol=0.05)
    hidden = mw.Trajectory(tracks, np.array([[True, False], [True, True]]))
    one = trajectory_to_flow_maps(hidden, (40, 40), sigma=2.0)
    np.testing.assert_allclose(one[1, 0, 10, 10], 4.0, atol=1e-3)
    assert abs(one[1, 0, 10, 16]) < 1.0


def test_flow_map_bad_input():
    traj = mw.Trajectory(np.zeros((2, 1, 2)), np.ones((2, 1), bool))
    with pytest.raises(InvalidInputError, match="sigma"):
        trajectory_to_flow_maps(traj, (10, 10), sigma=-1)
    with pytest.raises(InvalidInputError, match="size"):
        trajectory_to_flow_maps(traj, (0, 10))
    with pytest.raises(InvalidInputError, match="Trajectory"):
        trajectory_to_flow_maps(np.zeros((2, 1, 2)), (10, 10))
