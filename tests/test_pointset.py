import json

import numpy as np
import pytest

from motionwright import PointSet
from motionwright.errors import CorruptFileError, InvalidInputError, SchemaVersionError, ShapeError


def test_fields_defaults_and_readonly():
    ps = PointSet([[1, 2], [3.5, 4]], frame=3)
    assert ps.points.dtype == np.float32 and ps.points.shape == (2, 2)
    assert ps.frame == 3 and len(ps) == 2 and ps.labels is None
    assert ps.ids.tolist() == [0, 1]
    with pytest.raises(ValueError):
        ps.points[0, 0] = 9


def test_empty_pointset_is_allowed():
    ps = PointSet([])
    assert len(ps) == 0 and ps.points.shape == (0, 2)


def test_equality_and_repr():
    a = PointSet([[1, 2]], frame=1, labels=[1])
    assert a == PointSet([[1, 2]], frame=1, labels=[1])
    assert a != PointSet([[1, 2]], frame=2, labels=[1])
    assert a != PointSet([[1, 2]], frame=1)
    assert a != PointSet([[1, 2.5]], frame=1, labels=[1])
    assert "frame=1" in repr(a) and "(1.0, 2.0)" in repr(a)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_points_are_refused_naming_the_index(bad):
    with pytest.raises(InvalidInputError, match=r"points.*index \(1, 0\)"):
        PointSet([[0, 0], [bad, 1]])


@pytest.mark.parametrize("points", [[1, 2, 3], [[1, 2, 3]], [[[1, 2]]], [[1, 2], [3]]])
def test_wrong_shape_points(points):
    with pytest.raises(ShapeError, match="points"):
        PointSet(points)


@pytest.mark.parametrize("frame", [-1, 1.5, "2", True])
def test_bad_frame(frame):
    with pytest.raises(InvalidInputError, match="frame"):
        PointSet([[0, 0]], frame=frame)


def test_labels_and_ids_validation():
    with pytest.raises(ShapeError, match="labels"):
        PointSet([[0, 0], [1, 1]], labels=[1])
    with pytest.raises(InvalidInputError, match="labels"):
        PointSet([[0, 0]], labels=[0.5])
    with pytest.raises(InvalidInputError, match=r"unique.*id 4"):
        PointSet([[0, 0], [1, 1]], ids=[4, 4])
    with pytest.raises(ShapeError, match="ids"):
        PointSet([[0, 0], [1, 1]], ids=[1, 2, 3])
    ps = PointSet([[0, 0], [1, 1]], labels=[True, False], ids=[7.0, 9.0])
    assert ps.labels.tolist() == [1, 0] and ps.ids.tolist() == [7, 9]


def test_with_points_keeps_ids_labels():
    ps = PointSet([[0, 0], [1, 1]], frame=2, labels=[1, 0], ids=[5, 6])
    moved = ps.with_points([[10, 10], [20, 20]])
    assert moved.ids.tolist() == [5, 6] and moved.labels.tolist() == [1, 0]
    assert moved.frame == 2 and moved.points[1].tolist() == [20, 20]
    assert ps.with_points(ps.points, frame=4).frame == 4
    with pytest.raises(ShapeError, match=r"\(N, 2\) = \(2, 2\)"):
        ps.with_points([[1, 1]])


def test_scaled_maps_pixel_centres():
    ps = PointSet([[0, 0], [9, 4], [-0.5, -0.5]])
    half = ps.scaled(0.5, 0.5)
    # pixel (0, 0) of a 10-wide frame sits at 0.25 in a 5-wide frame; the edge stays an edge
    assert np.allclose(half.points, [[-0.25, -0.25], [4.25, 1.75], [-0.5, -0.5]])
    assert np.allclose(half.scaled(2, 2).points, ps.points)
    with pytest.raises(InvalidInputError, match="sx"):
        ps.scaled(0, 1)
    with pytest.raises(InvalidInputError, match="sy"):
        ps.scaled(1, float("nan"))


def test_check_inside():
    PointSet([[-0.5, -0.5], [639.5, 479.5]]).check_inside((640, 480))
    with pytest.raises(InvalidInputError, match=r"point 1 \(id 1\) at \(640, 10\).*640x480"):
        PointSet([[0, 0], [640, 10]]).check_inside((640, 480))
    with pytest.raises(InvalidInputError, match="point 0"):
        PointSet([[5, -0.6]]).check_inside((640, 480))
    with pytest.raises(InvalidInputError, match="size"):
        PointSet([[0, 0]]).check_inside((640, 0))


def test_json_round_trip(tmp_path):
    ps = PointSet([[1.25, 2.5], [3.1, 4.7]], frame=7, labels=[1, 0], ids=[10, 3])
    path = tmp_path / "points.json"
    ps.save(path)
    assert json.loads(path.read_text())["schema"] == "PointSet.1"
    back = PointSet.load(path)
    assert back == ps and back.points.dtype == np.float32
    assert PointSet.from_dict(ps.to_dict()) == ps
    empty = PointSet([], frame=1)
    empty.save(path)
    assert PointSet.load(path) == empty


def test_load_bad_files(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("not json {")
    with pytest.raises(CorruptFileError, match=r"p\.json"):
        PointSet.load(path)
    path.write_text(json.dumps({"schema": "Mask.1", "frames": []}))
    with pytest.raises(CorruptFileError, match="PointSet"):
        PointSet.load(path)
    good = PointSet([[1, 2]]).to_dict()
    path.write_text(json.dumps({**good, "schema": "PointSet.9"}))
    with pytest.raises(SchemaVersionError, match="newer"):
        PointSet.load(path)
    path.write_text(json.dumps({**good, "points": [[1, None]]}))
    with pytest.raises(CorruptFileError, match=r"p\.json.*finite"):
        PointSet.load(path)
    path.write_text(json.dumps({k: v for k, v in good.items() if k != "points"}))
    with pytest.raises(CorruptFileError, match="points"):
        PointSet.load(path)
    path.write_text(json.dumps({"schema": "PointSet.1", "points": [[1, 2], [3, 4]]}))
    assert PointSet.load(path) == PointSet([[1, 2], [3, 4]])


def test_a_coordinate_beyond_float32_is_refused_not_made_infinite():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning on the way
        with pytest.raises(InvalidInputError, match=r"1e\+39 at index \(0, 0\) is beyond"):
            PointSet([[1e39, 5.0]], frame=0)
