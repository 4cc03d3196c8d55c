import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from motionwright import Mask, PointSet, Trajectory
from motionwright.errors import (
    CorruptFileError,
    FrameRangeError,
    InvalidInputError,
    MediaNotFoundError,
    SchemaVersionError,
    ShapeError,
    UnsupportedFormatError,
)
from motionwright.io import rle


def random_mask(t=3, h=12, w=16, seed=0, start=4):
    rng = np.random.default_rng(seed)
    return Mask(rng.random((t, h, w)) < 0.4, start_frame=start)


def test_properties_and_static_at():
    m = random_mask()
    assert m.size == (16, 12) and m.num_frames == 3 and m.end_frame == 7 and not m.is_static
    assert np.array_equal(m.at(5), m.data[1])
    with pytest.raises(ValueError):
        m.data[0, 0, 0] = True
    static = Mask(np.eye(4, dtype=bool), start_frame=2)
    assert static.is_static and static.data.shape == (1, 4, 4)
    for frame in (0, 2, 10_000):
        assert np.array_equal(static.at(frame), np.eye(4, dtype=bool))
    assert "static" in repr(static) and "16x12" in repr(m)


def test_frame_out_of_range():
    m = random_mask()
    for bad in (3, 7):
        with pytest.raises(FrameRangeError, match=r"\[4, 7\)"):
            m.at(bad)


def test_bad_data():
    with pytest.raises(ShapeError, match="data"):
        Mask(np.zeros(5, bool))
    with pytest.raises(ShapeError, match="non-empty"):
        Mask(np.zeros((0, 4, 4), bool))
    with pytest.raises(InvalidInputError, match="booleans"):
        Mask(np.full((2, 2), 3))
    with pytest.raises(InvalidInputError, match="start_frame"):
        Mask(np.zeros((2, 2), bool), start_frame=-1)
    assert Mask(np.ones((2, 2), np.uint8)).data.dtype == np.bool_


def test_from_box_and_bbox():
    m = Mask.from_box(2, 3, 4, 5, (10, 12))
    assert m.size == (10, 12) and m.data.sum() == 20
    assert m.bbox() == (2, 3, 4, 5)
    assert Mask.from_box(*m.bbox(), size=m.size) == m
    clipped = Mask.from_box(8, -2, 5, 4, (10, 12))
    assert clipped.bbox() == (8, 0, 2, 2)
    assert Mask(np.zeros((3, 3), bool)).bbox() is None
    with pytest.raises(InvalidInputError, match="width and height"):
        Mask.from_box(0, 0, 0, 3, (10, 10))
    with pytest.raises(InvalidInputError, match="finite"):
        Mask.from_box(np.nan, 0, 2, 3, (10, 10))


def test_bbox_per_frame():
    data = np.zeros((2, 8, 8), bool)
    data[0, 1, 1] = True
    data[1, 5:7, 4] = True
    m = Mask(data, start_frame=10)
    assert m.bbox() == (1, 1, 4, 6)
    assert m.bbox(11) == (4, 5, 1, 2)


def test_from_polygon():
    square = [[2, 2], [7, 2], [7, 5], [2, 5]]
    m = Mask.from_polygon(square, (10, 8))
    assert m.is_static and m.bbox() == (2, 2, 6, 4)  # vertices are pixel centres, edges included
    assert Mask.from_polygon(PointSet(square), (10, 8)) == m
    tracks = np.array([square, np.add(square, 1).tolist()], float)
    moving = Mask.from_polygon(Trajectory(tracks, np.ones((2, 4), bool), start_frame=3), (10, 8))
    assert moving.start_frame == 3 and moving.num_frames == 2
    assert moving.bbox(4) == (3, 3, 6, 4)
    with pytest.raises(InvalidInputError, match="3 vertices"):
        Mask.from_polygon([[0, 0], [1, 1]], (10, 8))
    with pytest.raises(InvalidInputError, match="finite"):
        Mask.from_polygon([[0, 0], [1, np.inf], [3, 3]], (10, 8))


def test_dilate():
    data = np.zeros((9, 9), bool)
    data[4, 4] = True
    m = Mask(data)
    assert m.dilate(0) is m
    grown = m.dilate(2)
    assert grown.data.sum() > 9 and grown.bbox() == (2, 2, 5, 5)
    assert grown.data[0, 4, 2] and not grown.data[0, 2, 2]  # a disc, not a square
    with pytest.raises(InvalidInputError, match="px"):
        m.dilate(-1)


def test_union():
    a = Mask.from_box(0, 0, 2, 2, (6, 6))
    b = Mask.from_box(3, 3, 2, 2, (6, 6))
    both = a.union(b)
    assert both.is_static and both.data.sum() == 8
    anim = Mask(np.zeros((2, 6, 6), bool), start_frame=5)
    mixed = a.union(anim)
    assert mixed.start_frame == 5 and mixed.num_frames == 2 and np.array_equal(mixed.at(6), a.at(0))
    late = Mask(np.ones((1, 6, 6), bool), start_frame=9).union(
        Mask(np.ones((2, 6, 6), bool), start_frame=9))
    assert late.start_frame == 9
    gap = Mask(np.ones((2, 6, 6), bool), start_frame=0).union(
        Mask(np.ones((2, 6, 6), bool), start_frame=4))
    assert gap.num_frames == 6 and not gap.at(2).any() and gap.at(4).all()
    with pytest.raises(ShapeError, match="6x6"):
        a.union(Mask.from_box(0, 0, 2, 2, (7, 6)))


def test_resized_keeps_alignment_with_points():
    m = Mask.from_box(4, 2, 2, 2, (10, 8))
    big = m.resized((20, 16))
    assert big.size == (20, 16) and big.bbox() == (8, 4, 4, 4)
    assert big.resized((10, 8)) == m
    centre = PointSet([[4.5, 2.5]]).scaled(2, 2).points[0]
    assert big.at(0)[round(float(centre[1])), round(float(centre[0]))]
    with pytest.raises(InvalidInputError, match="size"):
        m.resized((0, 5))


def test_rle_known_coco_string():
    # pycocotools encodes this mask as b'5172L00000005'
    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:7] = True
    mask[5, 0] = True
    enc = rle.encode(mask, compressed=True)
    assert enc == {"size": [6, 8], "counts": "5172L00000005"}
    assert np.array_equal(rle.decode(enc), mask)
    assert np.array_equal(rle.decode({"size": [6, 8], "counts": b"5172L00000005"}), mask)
    assert rle.encode(mask)["counts"] == rle.string_to_counts("5172L00000005")
    assert rle.encode(np.ones((2, 2), bool))["counts"] == [0, 4]


def test_rle_bad_input():
    with pytest.raises(InvalidInputError, match="add up to 5"):
        rle.decode({"size": [2, 2], "counts": [2, 3]})
    with pytest.raises(InvalidInputError, match=">= 0"):
        rle.decode({"size": [2, 2], "counts": [5, -1]})
    with pytest.raises(InvalidInputError, match="not a COCO RLE character"):
        rle.decode({"size": [2, 2], "counts": "\x01"})
    with pytest.raises(InvalidInputError, match="middle of a number"):
        rle.decode({"size": [2, 2], "counts": "P"})
    with pytest.raises(InvalidInputError, match="size"):
        rle.decode({"size": [2], "counts": [4]})
    with pytest.raises(ShapeError):
        rle.encode(np.zeros((2, 2, 2), bool))


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.bool_, hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=24)),
       st.booleans())
def test_rle_property_round_trip(mask, compressed):
    enc = rle.encode(mask, compressed=compressed)
    assert enc["size"] == list(mask.shape)
    assert np.array_equal(rle.decode(json.loads(json.dumps(enc))), mask)
    counts = rle.encode(mask)["counts"]
    assert sum(counts) == mask.size and all(c > 0 for c in counts[1:])
    assert rle.string_to_counts(rle.counts_to_string(counts)) == counts


def test_json_round_trip(tmp_path):
    m = random_mask()
    path = tmp_path / "m.json"
    m.save(path)
    d = json.loads(path.read_text())
    assert d["schema"] == "Mask.1" and len(d["frames"]) == 3
    assert d["frames"][0]["size"] == [12, 16] and isinstance(d["frames"][0]["counts"], list)
    assert Mask.load(path) == m
    assert Mask.from_dict(m.to_dict()) == m


def test_json_reads_coco_text_counts(tmp_path):
    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:7] = True
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"schema": "Mask.1", "frames": [rle.encode(mask, True)]}))
    assert Mask.load(path) == Mask(mask)


@pytest.mark.parametrize("target", ["seq/mask.%04d.png", "folder", "seq/m_%d.png"])
def test_png_round_trip(tmp_path, target):
    m = random_mask(start=98)
    m.save(tmp_path / target)
    assert Mask.load(tmp_path / target) == m
    if "%04d" in target:
        assert sorted(p.name for p in (tmp_path / "seq").iterdir()) == [
            "mask.0098.png", "mask.0099.png", "mask.0100.png"]


def test_png_single_file_and_stale_frames(tmp_path):
    static = Mask.from_box(1, 1, 3, 2, (8, 6))
    static.save(tmp_path / "one.png")
    assert Mask.load(tmp_path / "one.png") == static
    with pytest.raises(InvalidInputError, match="single PNG"):
        random_mask().save(tmp_path / "many.png")
    long = random_mask(t=5, start=0)
    long.save(tmp_path / "s" / "m.%03d.png")
    short = random_mask(t=2, start=1, seed=3)
    short.save(tmp_path / "s" / "m.%03d.png")
    assert Mask.load(tmp_path / "s" / "m.%03d.png") == short


def test_png_reading_other_tools_files(tmp_path):
    folder = tmp_path / "matte"
    folder.mkdir()
    frame = np.zeros((4, 5, 4), np.uint8)
    frame[1, 2, 3] = 255  # alpha only
    frame[2, 2, :3] = 255  # colour but transparent
    cv2.imwrite(str(folder / "matte_0001.png"), frame)
    m = Mask.load(folder)
    assert m.start_frame == 1 and m.data[0].sum() == 1 and m.data[0, 1, 2]
    gray = np.array([[0, 1, 100, 200]], np.uint8)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    assert Mask.load(tmp_path / "g.png").data[0].tolist() == [[False, True, True, True]]
    assert Mask.load(tmp_path / "g.png", threshold=127).data[0].tolist() == [
        [False, False, False, True]]


def test_png_sequence_errors(tmp_path):
    m = random_mask(t=3, start=0)
    m.save(tmp_path / "gap" / "m.%04d.png")
    (tmp_path / "gap" / "m.0001.png").unlink()
    with pytest.raises(CorruptFileError, match="frame 1 is missing"):
        Mask.load(tmp_path / "gap" / "m.%04d.png")
    m.save(tmp_path / "bad" / "m.%04d.png")
    (tmp_path / "bad" / "m.0002.png").write_bytes(b"not a png")
    with pytest.raises(CorruptFileError, match=r"m\.0002\.png"):
        Mask.load(tmp_path / "bad" / "m.%04d.png")
    m.save(tmp_path / "size" / "m.%04d.png")
    cv2.imwrite(str(tmp_path / "size" / "m.0003.png"), np.zeros((3, 3), np.uint8))
    with pytest.raises(CorruptFileError, match="sizes"):
        Mask.load(tmp_path / "size" / "m.%04d.png")
    m.save(tmp_path / "mixed")
    cv2.imwrite(str(tmp_path / "mixed" / "other.0001.png"), np.zeros((12, 16), np.uint8))
    with pytest.raises(CorruptFileError, match="several"):
        Mask.load(tmp_path / "mixed")
    with pytest.raises(MediaNotFoundError):
        Mask.load(tmp_path / "nowhere" / "m.%04d.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaNotFoundError, match="no mask frames"):
        Mask.load(tmp_path / "empty")
    with pytest.raises(UnsupportedFormatError, match="tif"):
        m.save(tmp_path / "m.tif")


def test_json_bad_files(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(b"\x89PNG garbage")
    with pytest.raises(CorruptFileError, match=r"m\.json"):
        Mask.load(path)
    good = Mask(np.ones((2, 2), bool)).to_dict()
    path.write_text(json.dumps({**good, "schema": "Mask.3"}))
    with pytest.raises(SchemaVersionError):
        Mask.load(path)
    path.write_text(json.dumps({"schema": "PointSet.1", "points": []}))
    with pytest.raises(CorruptFileError, match="wrong schema"):
        Mask.load(path)
    path.write_text(json.dumps({**good, "frames": [{"size": [2, 2], "counts": [1, 2]}]}))
    with pytest.raises(CorruptFileError, match="add up to 3"):
        Mask.load(path)
    two = [rle.encode(np.zeros((2, 2), bool)), rle.encode(np.zeros((3, 2), bool))]
    path.write_text(json.dumps({**good, "frames": two}))
    with pytest.raises(CorruptFileError, match="same size"):
        Mask.load(path)
