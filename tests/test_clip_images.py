"""Clip.open on image sequences: folders, printf patterns, bit depths, bad sequences."""

import json
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import motionwright as mw
from clip_fixtures import frame_number, numbered_frame
from motionwright.errors import (
    CorruptFileError,
    InvalidInputError,
    MediaNotFoundError,
    SchemaVersionError,
    TruncatedMediaWarning,
)
from motionwright.io._opencv import cv2


def write_png(path: Path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def numbered_pngs(folder: Path, count: int, name: str = "shot.{:04d}.png",
                  first: int = 0) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    frames = [numbered_frame(i, 64, 48) for i in range(count)]
    for i, frame in enumerate(frames):
        write_png(folder / name.format(first + i), frame)
    return frames


def test_folder_of_pngs_is_exact_and_naturally_sorted(tmp_path):
    folder = tmp_path / "plates"
    folder.mkdir()
    frames = [numbered_frame(i, 64, 48) for i in range(12)]
    for i, frame in enumerate(frames):
        write_png(folder / f"plate_{i}.png", frame)  # plate_10 sorts after plate_9
    clip = mw.Clip.open(folder)
    assert len(clip) == 12 and clip.size == (64, 48) and clip.fps == 24
    for i in (0, 9, 10, 11, -1):
        np.testing.assert_array_equal(clip[i], frames[i])
    assert [frame_number(f) for f in clip] == list(range(12))
    assert clip.info["codec"] == "png" and clip.info["bit_depth"] == 8


def test_printf_and_hash_patterns(tmp_path):
    frames = numbered_pngs(tmp_path / "seq", 6, first=1001)
    (tmp_path / "seq" / "shot.1001.tmp").write_text("not a frame")
    (tmp_path / "seq" / "other.0003.png").write_bytes(b"")
    for pattern in ("shot.%04d.png", "shot.####.png", "shot.%d.png"):
        clip = mw.Clip.open(tmp_path / "seq" / pattern, fps=25)
        assert len(clip) == 6 and clip.fps == 25
        np.testing.assert_array_equal(clip[0], frames[0])
        np.testing.assert_array_equal(clip[5], frames[5])
    assert mw.Clip.open(tmp_path / "seq" / "shot.%04d.png").source_path.endswith("shot.%04d.png")


def test_single_image_file_is_a_one_frame_clip(tmp_path):
    frame = numbered_frame(7, 64, 48)
    write_png(tmp_path / "still.png", frame)
    clip = mw.Clip.open(tmp_path / "still.png")
    assert len(clip) == 1
    np.testing.assert_array_equal(clip[0], frame)


def test_sixteen_bit_png_and_tiff_give_uint16(tmp_path):
    rng = np.random.default_rng(0)
    deep = rng.integers(0, 65536, (3, 20, 30, 3), dtype=np.uint16)
    for ext in ("png", "tif"):
        folder = tmp_path / ext
        folder.mkdir()
        for i, frame in enumerate(deep):
            assert cv2.imwrite(str(folder / f"f{i}.{ext}"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        clip = mw.Clip.open(folder)
        assert clip.dtype == np.uint16 and clip.info["bit_depth"] == 16
        np.testing.assert_array_equal(clip[2], deep[2])
        eight = mw.Clip.open(folder, bit_depth=8)
        assert eight[2].dtype == np.uint8
        assert np.abs(eight[2].astype(int) * 257 - deep[2].astype(int)).max() <= 128


def test_jpeg_grey_and_alpha_images(tmp_path):
    rgb = numbered_frame(3, 64, 48)
    assert cv2.imwrite(str(tmp_path / "a.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_JPEG_QUALITY, 95])
    jpeg = mw.Clip.open(tmp_path / "a.jpg")[0]
    assert jpeg.shape == (48, 64, 3) and frame_number(jpeg) == 3
    grey = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) % 256
    assert cv2.imwrite(str(tmp_path / "g.png"), grey.astype(np.uint8))
    g = mw.Clip.open(tmp_path / "g.png")[0]
    assert g.shape == (48, 64, 3) and (g == grey[..., None]).all()
    rgba = np.dstack([rgb, np.full((48, 64), 9, np.uint8)])
    assert cv2.imwrite(str(tmp_path / "t.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    np.testing.assert_array_equal(mw.Clip.open(tmp_path / "t.png")[0], rgb)


def test_exr_float_becomes_uint16(tmp_path):
    rng = np.random.default_rng(1)
    linear = rng.random((2, 16, 24, 3), dtype=np.float32) * 1.25 - 0.1
    linear[0, 0, 0] = [np.nan, 2.0, -1.0]
    for i, image in enumerate(linear):
        with av.open(str(tmp_path / f"beauty.{i:04d}.exr"), "w", format="image2") as out:
            stream = out.add_stream("exr", rate=1)
            stream.width, stream.height, stream.pix_fmt = 24, 16, "gbrpf32le"
            stream.options = {"format": "float"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="gbrpf32le")
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    clip = mw.Clip.open(tmp_path / "beauty.%04d.exr")
    assert len(clip) == 2 and clip.dtype == np.uint16
    expected = np.rint(np.clip(np.nan_to_num(linear, nan=0.0), 0, 1) * 65535).astype(np.uint16)
    np.testing.assert_array_equal(clip[1], expected[1])
    np.testing.assert_array_equal(clip[0][0, 0], [0, 65535, 0])


def test_empty_folder_and_unmatched_pattern(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaNotFoundError, match="no images in folder"):
        mw.Clip.open(tmp_path / "empty")
    with pytest.raises(MediaNotFoundError, match=r"no files match .*shot\.%04d\.png"):
        mw.Clip.open(tmp_path / "empty" / "shot.%04d.png")
    with pytest.raises(MediaNotFoundError, match="does not exist"):
        mw.Clip.open(tmp_path / "nowhere" / "shot.%04d.png")
    with pytest.raises(MediaNotFoundError, match="does not exist"):
        mw.Clip.open(tmp_path / "missing.png")


def test_gap_in_a_numbered_sequence(tmp_path):
    numbered_pngs(tmp_path / "seq", 5)
    (tmp_path / "seq" / "shot.0002.png").unlink()
    with pytest.raises(MediaNotFoundError, match=r"gap: 'shot\.0002\.png' is missing"):
        mw.Clip.open(tmp_path / "seq" / "shot.%04d.png")


def test_mixed_sizes_name_the_odd_file(tmp_path):
    numbered_pngs(tmp_path / "seq", 4)
    write_png(tmp_path / "seq" / "shot.0002.png", numbered_frame(2, 32, 24))
    clip = mw.Clip.open(tmp_path / "seq" / "shot.%04d.png")
    np.testing.assert_array_equal(clip[1], numbered_frame(1, 64, 48))
    with pytest.raises(CorruptFileError, match=r"shot\.0002\.png' is 32x24 .* is 64x48"):
        clip[2]
    with pytest.raises(CorruptFileError, match=r"shot\.0002\.png"):
        list(clip)


def test_unreadable_image_is_corrupt(tmp_path):
    numbered_pngs(tmp_path / "seq", 3)
    (tmp_path / "seq" / "shot.0001.png").write_bytes(b"\x89PNG but not really")
    clip = mw.Clip.open(tmp_path / "seq")
    with pytest.raises(CorruptFileError, match=r"shot\.0001\.png' cannot be read"):
        clip[1]


def test_sidecar_sets_fps_and_timecode(tmp_path):
    numbered_pngs(tmp_path / "seq", 3)
    sidecar = {"schema": "ImageSequence.1", "pattern": "shot.%04d.png", "first_number": 0,
               "frames": 3, "fps": "30000/1001", "start_timecode": "00:59:59;28",
               "drop_frame": True}
    (tmp_path / "seq" / "shot.mwseq.json").write_text(json.dumps(sidecar))
    for target in (tmp_path / "seq", tmp_path / "seq" / "shot.%04d.png"):
        clip = mw.Clip.open(target)
        assert clip.fps == Fraction(30000, 1001)
        assert str(clip.start_timecode) == "00:59:59;28"
        assert str(clip[2:].start_timecode) == "01:00:00;00"
    override = mw.Clip.open(tmp_path / "seq", fps=50, start_timecode="00:00:01:00")
    assert override.fps == 50 and str(override.start_timecode) == "00:00:01:00"


def test_sidecar_counting_more_frames_warns(tmp_path):
    numbered_pngs(tmp_path / "seq", 3)
    sidecar = {"schema": "ImageSequence.1", "pattern": "shot.%04d.png", "frames": 5,
               "fps": "24/1", "start_timecode": "00:00:00:00", "drop_frame": False}
    (tmp_path / "seq" / "shot.mwseq.json").write_text(json.dumps(sidecar))
    with pytest.warns(TruncatedMediaWarning, match="3 of 5 frames"):
        assert len(mw.Clip.open(tmp_path / "seq")) == 3


def test_bad_sidecars(tmp_path):
    numbered_pngs(tmp_path / "seq", 2)
    side = tmp_path / "seq" / "shot.mwseq.json"
    side.write_text(json.dumps({"schema": "ImageSequence.9", "pattern": "shot.%04d.png",
                                "fps": "24/1"}))
    with pytest.raises(SchemaVersionError, match="newer Motionwright"):
        mw.Clip.open(tmp_path / "seq")
    side.write_text(json.dumps({"schema": "ImageSequence.1", "pattern": "shot.%04d.png",
                                "fps": "zero"}))
    with pytest.raises(CorruptFileError, match="fps"):
        mw.Clip.open(tmp_path / "seq")
    side.write_text("{not json")
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        mw.Clip.open(tmp_path / "seq")


def test_bad_bit_depth_for_sequences(tmp_path):
    numbered_pngs(tmp_path / "seq", 1)
    with pytest.raises(InvalidInputError, match="bit_depth"):
        mw.Clip.open(tmp_path / "seq", bit_depth=10)


def test_image_clips_pickle_and_compare(tmp_path):
    import pickle

    numbered_pngs(tmp_path / "seq", 4)
    clip = mw.Clip.open(tmp_path / "seq")
    again = pickle.loads(pickle.dumps(clip))
    assert again == clip and len(again) == 4
    assert frame_number(again[3]) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mw.Clip.open(tmp_path / "seq" / "shot.%04d.png") == clip
