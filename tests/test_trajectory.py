import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from motionwright import PointSet, Trajectory
from motionwright.errors import (
    CorruptFileError,
    FrameRangeError,
    InvalidInputError,
    MediaNotFoundError,
    SchemaVersionError,
    ShapeError,
    UnsupportedFormatError,
)


def make_traj(t=4, n=3, start=5, seed=0, hidden=True):
    rng = np.random.default_rng(seed)
    tracks = rng.uniform(0, 100, (t, n, 2))
    visible = np.ones((t, n), bool)
    if hidden:
        visible[1, 0] = False  # hidden with an estimated position
        visible[2, 1] = False
        tracks[2, 1] = np.nan  # hidden with no position
    return Trajectory(tracks, visible, start_frame=start, ids=np.arange(10, 10 + n))


def test_properties():
    tr = make_traj()
    assert (tr.num_frames, tr.num_points, tr.start_frame, tr.end_frame) == (4, 3, 5, 9)
    assert tr.tracks.dtype == np.float32 and tr.visible.dtype == np.bool_
    assert tr.ids.tolist() == [10, 11, 12]
    with pytest.raises(ValueError):
        tr.visible[0, 0] = False
    assert "frames=4 [5, 9)" in repr(tr)


def test_shape_mismatch_message():
    expected = r"expected visible of shape \(T, N\) = \(4, 3\).*got \(4, 2\)"
    with pytest.raises(ShapeError, match=expected):
        Trajectory(np.zeros((4, 3, 2)), np.ones((4, 2), bool))
    with pytest.raises(ShapeError, match=r"tracks.*\(T, N, 2\)"):
        Trajectory(np.zeros((4, 3)), np.ones((4, 3), bool))
    with pytest.raises(ShapeError, match="T >= 1"):
        Trajectory(np.zeros((0, 3, 2)), np.ones((0, 3), bool))
    with pytest.raises(InvalidInputError, match="visible"):
        Trajectory(np.zeros((1, 1, 2)), [[2]])


def test_nan_only_where_hidden_and_never_inf():
    tracks = np.zeros((2, 2, 2))
    tracks[1, 0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="point 0 is visible at frame row 1"):
        Trajectory(tracks, np.ones((2, 2), bool))
    hidden = np.ones((2, 2), bool)
    hidden[1, 0] = False
    tr = Trajectory(tracks, hidden)
    assert np.isnan(tr.tracks[1, 0]).all()  # both coordinates become unknown
    tracks[0, 1, 1] = np.inf
    with pytest.raises(InvalidInputError, match="infinite"):
        Trajectory(tracks, np.zeros((2, 2), bool))


def test_at_returns_visible_points_with_ids():
    tr = make_traj()
    ps = tr.at(6)
    assert isinstance(ps, PointSet) and ps.frame == 6
    assert ps.ids.tolist() == [11, 12]
    assert np.array_equal(ps.points, tr.tracks[1, 1:])
    assert len(tr.at(5)) == 3
    for bad in (4, 9):
        with pytest.raises(FrameRangeError, match=r"\[5, 9\)"):
            tr.at(bad)


def test_frames_slice_and_select():
    tr = make_traj()
    sub = tr.frames_slice(6, 8)
    assert sub.start_frame == 6 and sub.num_frames == 2
    assert np.array_equal(sub.tracks, tr.tracks[1:3], equal_nan=True)
    with pytest.raises(FrameRangeError):
        tr.frames_slice(4, 7)
    with pytest.raises(FrameRangeError):
        tr.frames_slice(7, 7)
    picked = tr.select([12, 10])
    assert picked.ids.tolist() == [12, 10]
    assert np.array_equal(picked.tracks[:, 0], tr.tracks[:, 2])
    with pytest.raises(InvalidInputError, match="no point with id 3"):
        tr.select([3])


def test_to_boxes():
    tracks = np.array([[[1, 2], [5, 8], [100, 100]], [[0, 0], [0, 0], [0, 0]]], float)
    visible = np.array([[True, True, False], [False, False, False]])
    boxes = Trajectory(tracks, visible).to_boxes()
    assert boxes.shape == (2, 4)
    assert boxes[0].tolist() == [1, 2, 5, 8]
    assert np.isnan(boxes[1]).all()


def test_scaled():
    tr = make_traj()
    double = tr.scaled(2, 3)
    vis = tr.visible
    assert np.allclose(double.tracks[vis][:, 0], (tr.tracks[vis][:, 0] + 0.5) * 2 - 0.5)
    assert np.allclose(double.tracks[vis][:, 1], (tr.tracks[vis][:, 1] + 0.5) * 3 - 0.5)
    assert np.isnan(double.tracks[2, 1]).all()
    assert double.scaled(0.5, 1 / 3).visible.tolist() == vis.tolist()


def test_equality_treats_nan_as_equal():
    assert make_traj() == make_traj()
    assert make_traj() != make_traj(seed=1)
    assert make_traj() != make_traj(start=0)


@pytest.mark.parametrize("name,fmt,keys", [
    ("t.npz", None, {"tracks", "visible", "schema", "start_frame", "ids"}),
    ("t.npz", "tapvid", {"points", "occluded", "schema", "start_frame", "ids"}),
    ("t.json", None, None),
    ("t.json", "json", None),
])
def test_round_trip(tmp_path, name, fmt, keys):
    tr = make_traj()
    path = tmp_path / name
    tr.save(path, format=fmt)
    if keys is not None:
        with np.load(path) as npz:
            assert set(npz.files) == keys
            if fmt == "tapvid":
                assert npz["points"].shape == (3, 4, 2)
                assert npz["occluded"][0, 1] and not npz["occluded"][0, 0]
    assert Trajectory.load(path) == tr
    assert not list(tmp_path.glob(".*part*"))


def test_json_layout_and_handwritten_file(tmp_path):
    tr = make_traj()
    d = tr.to_dict()
    assert d["schema"] == "Trajectory.1" and d["tracks"][2][1] is None
    assert d["visible"][1][0] == 0 and d["tracks"][1][0] is not None
    path = tmp_path / "hand.json"
    path.write_text(json.dumps({"schema": "Trajectory.1",
                                "tracks": [[[1, 2], None], [[3, 4], [5, 6]]]}))
    back = Trajectory.load(path)
    assert back.visible.tolist() == [[True, False], [True, True]]
    assert back.start_frame == 0 and back.ids.tolist() == [0, 1]


def test_reads_foreign_cotracker_and_tapvid_npz(tmp_path):
    rng = np.random.default_rng(3)
    tracks = rng.uniform(0, 50, (1, 6, 4, 2)).astype(np.float32)
    vis = rng.uniform(0, 1, (1, 6, 4, 1)).astype(np.float32)
    path = tmp_path / "cotracker.npz"
    np.savez(path, pred_tracks=tracks, pred_visibility=vis)
    tr = Trajectory.load(path)
    assert tr.num_frames == 6 and tr.num_points == 4 and tr.start_frame == 0
    assert np.array_equal(tr.visible, vis[0, ..., 0] > 0.5)
    path = tmp_path / "tapvid.npz"
    occluded = rng.uniform(0, 1, (4, 6)) > 0.5
    np.savez(path, points=tracks[0].transpose(1, 0, 2), occluded=occluded.astype(np.uint8))
    tv = Trajectory.load(path)
    assert np.array_equal(tv.tracks, tracks[0]) and np.array_equal(tv.visible, ~occluded.T)


def test_wrong_layout_files(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, foo=np.zeros(3), bar=np.ones((2, 2)))
    with pytest.raises(CorruptFileError, match=r"x\.npz.*found foo \(3,\), bar \(2, 2\)"):
        Trajectory.load(path)
    np.savez(path, tracks=np.zeros((4, 3, 2)), visible=np.ones((4, 2), bool))
    with pytest.raises(CorruptFileError, match=r"x\.npz.*tracks \(4, 3, 2\), visible \(4, 2\)"):
        Trajectory.load(path)
    np.savez(path, points=np.zeros((3, 4, 2)), occluded=np.zeros((4, 3), bool))
    with pytest.raises(CorruptFileError, match="TAP-Vid"):
        Trajectory.load(path)
    np.savez(path, tracks=np.zeros((4, 3, 2)), visible=np.ones((4, 3), bool))
    with pytest.raises(CorruptFileError, match="TAP-Vid"):
        Trajectory.load(path, format="tapvid")


def test_garbage_truncated_and_future_files(tmp_path):
    path = tmp_path / "g.npz"
    path.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(CorruptFileError, match=r"g\.npz"):
        Trajectory.load(path)
    tr = make_traj()
    good = tmp_path / "good.npz"
    tr.save(good)
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match=r"g\.npz"):
        Trajectory.load(path)
    np.savez(path, tracks=np.zeros((1, 1, 2)), visible=np.ones((1, 1), bool),
             schema=np.array("Trajectory.7"))
    with pytest.raises(SchemaVersionError, match=r"Trajectory\.7"):
        Trajectory.load(path)
    np.savez(path, tracks=np.zeros((1, 1, 2)), visible=np.ones((1, 1), bool),
             schema=np.array("Mask.1"))
    with pytest.raises(CorruptFileError, match="wrong schema"):
        Trajectory.load(path)
    js = tmp_path / "g.json"
    js.write_text(json.dumps({**tr.to_dict(), "schema": "Trajectory.2"}))
    with pytest.raises(SchemaVersionError):
        Trajectory.load(js)
    js.write_text(json.dumps({"schema": "Trajectory.1", "tracks": [[[1, 2]], [[1, 2], [3, 4]]]}))
    with pytest.raises(CorruptFileError, match="same number of points"):
        Trajectory.load(js)
    js.write_text("[1, 2")
    with pytest.raises(CorruptFileError, match=r"g\.json"):
        Trajectory.load(js)


def test_format_and_path_errors(tmp_path):
    tr = make_traj()
    with pytest.raises(UnsupportedFormatError, match=r"\.txt"):
        tr.save(tmp_path / "t.txt")
    with pytest.raises(UnsupportedFormatError, match="tapvid"):
        tr.save(tmp_path / "t.json", format="tapvid")
    with pytest.raises(UnsupportedFormatError, match="format"):
        tr.save(tmp_path / "t.npz", format="csv")
    with pytest.raises(MediaNotFoundError, match=r"nope\.npz"):
        Trajectory.load(tmp_path / "nope.npz")


track_arrays = st.integers(1, 5).flatmap(lambda t: st.integers(0, 5).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float32, (t, n, 2),
               elements=st.floats(-1e4, 1e4, width=32, allow_nan=False)),
    hnp.arrays(np.bool_, (t, n)),
    hnp.arrays(np.bool_, (t, n)),
    st.integers(0, 1000),
)))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(track_arrays)
def test_property_every_format_round_trips(tmp_path, arrays):
    tracks, visible, unknown, start = arrays
    tracks = tracks.copy()
    tracks[unknown & ~visible] = np.nan
    tr = Trajectory(tracks, visible, start_frame=start, ids=np.arange(tracks.shape[1]) * 3)
    for name, fmt in (("a.npz", "cotracker"), ("b.npz", "tapvid"), ("c.json", "json")):
        tr.save(tmp_path / name, format=fmt)
        assert Trajectory.load(tmp_path / name) == tr
    assert Trajectory.from_dict(json.loads(json.dumps(tr.to_dict()))) == tr


def test_after_effects_keyframes_round_trip(tmp_path):
    from fractions import Fraction

    from motionwright.io.tracks import load_ae_keyframes, save_ae_keyframes

    tr = make_traj()
    path = tmp_path / "track.txt"
    save_ae_keyframes(tr, path, Fraction(24000, 1001), (1920, 1080))
    text = path.read_text()
    assert text.startswith("Adobe After Effects 8.0 Keyframe Data")
    assert "\tUnits Per Second\t23.976\n" in text and "Track Point #11\tFeature Center" in text
    assert text.rstrip().endswith("End of Keyframe Data")
    x, y = (float(v) + 0.5 for v in tr.tracks[0, 0])  # AE counts from the pixel corner
    assert f"\t5\t{x!r}\t{y!r}\t" in text
    back, info = load_ae_keyframes(path)
    assert info == {"fps": Fraction(24000, 1001), "size": (1920, 1080)}
    assert back.ids.tolist() == tr.ids.tolist() and back.start_frame == tr.start_frame
    assert np.array_equal(back.visible, tr.visible)
    assert np.array_equal(back.tracks[tr.visible], tr.tracks[tr.visible])  # exact, float32
    assert np.isnan(back.tracks[~tr.visible]).all()  # AE has no hidden positions


def test_after_effects_file_as_ae_writes_it(tmp_path):
    from motionwright.io.tracks import load_ae_keyframes

    text = "\n".join([
        "Adobe After Effects 8.0 Keyframe Data", "",
        "\tUnits Per Second\t25", "\tSource Width\t640", "\tSource Height\t360",
        "\tSource Pixel Aspect Ratio\t1", "\tComp Pixel Aspect Ratio\t1", "",
        "Motion Trackers\tTracker #1\tTrack Point #1\tFeature Center",
        "\tFrame\tX pixels\tY pixels\t", "\t10\t100.5\t50.5\t", "\t12\t104.5\t52.5\t", "",
        "Motion Trackers\tTracker #1\tTrack Point #1\tConfidence",
        "\tFrame\tpercent\t", "\t10\t95\t", "",
        "Motion Trackers\tTracker #1\tTrack Point #1\tAttach Point",
        "\tFrame\tX pixels\tY pixels\t", "\t10\t1\t1\t", "",
        "End of Keyframe Data", ""])
    path = tmp_path / "ae.txt"
    path.write_text(text)
    tr, info = load_ae_keyframes(path)
    assert info["fps"] == 25 and info["size"] == (640, 360)
    assert tr.start_frame == 10 and tr.num_frames == 3 and tr.num_points == 1
    assert tr.visible[:, 0].tolist() == [True, False, True]
    assert tr.tracks[2, 0].tolist() == [104, 52]


def test_after_effects_bad_files(tmp_path):
    from motionwright.io.tracks import load_ae_keyframes, save_ae_keyframes

    path = tmp_path / "bad.txt"
    path.write_text("Frame\tX\tY\n1\t2\t3\n")
    with pytest.raises(CorruptFileError, match="not After Effects keyframe text"):
        load_ae_keyframes(path)
    path.write_text("Adobe After Effects 8.0 Keyframe Data\n\nEnd of Keyframe Data\n")
    with pytest.raises(CorruptFileError, match="no 'Motion Trackers"):
        load_ae_keyframes(path)
    path.write_text("Adobe After Effects 8.0 Keyframe Data\n"
                    "Motion Trackers\tTracker #1\tTrack Point #1\tFeature Center\n"
                    "\tFrame\tX pixels\tY pixels\t\n\t3\tabc\t4\t\n")
    with pytest.raises(CorruptFileError, match="line 4"):
        load_ae_keyframes(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CorruptFileError, match=r"bad\.txt"):
        load_ae_keyframes(path)
    with pytest.raises(InvalidInputError, match="fps"):
        save_ae_keyframes(make_traj(), tmp_path / "x.txt", 0, (10, 10))
    with pytest.raises(InvalidInputError, match="size"):
        save_ae_keyframes(make_traj(), tmp_path / "x.txt", 24, (10,))


def test_from_path_and_flow_maps_methods():
    traj = Trajectory.from_path([[10.0, 10.0], [30.0, 10.0]], 5, timing="uniform",
                                anchors=[[2.0, 2.0]])
    assert traj.num_frames == 5 and traj.num_points == 2
    np.testing.assert_allclose(traj.tracks[:, 0, 0], [10, 15, 20, 25, 30])
    np.testing.assert_array_equal(traj.tracks[:, 1], np.full((5, 2), 2.0))
    maps = traj.to_flow_maps((40, 20), sigma=2.0)
    assert maps.shape == (5, 2, 20, 40)
    # Map t holds the move from t-1 to t at the t-1 position: 5 px right, the anchor still.
    np.testing.assert_allclose(maps[1, :, 10, 10], [5.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(maps[1, :, 2, 2], [0.0, 0.0], atol=1e-5)
