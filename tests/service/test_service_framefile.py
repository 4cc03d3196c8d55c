"""The .mwf frame file: layout a C reader can follow, exact conversions, atomic writes."""

import struct

import numpy as np
import pytest

from motionwright.errors import CorruptFileError, ShapeError
from motionwright.service import framefile


def rgb(h=24, w=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("sample, code, size", [("uint8", 1, 1), ("uint16", 2, 2),
                                                ("float32", 3, 4)])
def test_header_and_rows_follow_the_documented_layout(tmp_path, sample, code, size):
    frame = rgb()
    path = framefile.write_frame(tmp_path / "f.mwf", frame, sample)
    raw = path.read_bytes()
    magic, w, h, ch, s, row, reserved = struct.unpack("<8s6I", raw[:32])
    assert (magic, w, h, ch, s, row, reserved) == (b"MWFRAME1", 32, 24, 4, code, 32 * 4 * size, 0)
    assert len(raw) == 32 + row * h
    dtype = {1: "<u1", 2: "<u2", 3: "<f4"}[code]
    pixels = np.frombuffer(raw[32:], dtype=dtype).reshape(24, 32, 4)
    full = {1: 255, 2: 65535, 3: 1.0}[code]
    assert np.all(pixels[..., 3] == full)  # opaque, straight alpha
    expected = {1: frame, 2: frame.astype(np.uint16) * 257,
                3: frame.astype(np.float32) / 255}[code]
    assert np.array_equal(pixels[..., :3], expected)
    assert np.array_equal(framefile.read_rgb(path, np.uint8), frame)
    assert framefile.descriptor(path, 7) == {
        "path": str(path), "index": 7, "width": 32, "height": 24, "channels": 4,
        "sample": sample, "row_bytes": row, "offset": 32}
    assert [p.name for p in tmp_path.iterdir()] == ["f.mwf"]  # no temporary left


def test_sixteen_bit_frames_keep_their_values(tmp_path):
    frame = np.random.default_rng(1).integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    path = framefile.write_frame(tmp_path / "f.mwf", frame, "uint16")
    assert np.array_equal(framefile.read_rgb(path), frame)
    back = framefile.read_frame(framefile.write_frame(tmp_path / "g.mwf", frame, "float32"))
    assert np.array_equal(framefile.convert(back[..., :3], "uint16"), frame)


def test_bad_files_and_arrays_are_refused(tmp_path):
    with pytest.raises(ShapeError, match="H×W×3"):
        framefile.write_frame(tmp_path / "x.mwf", np.zeros((4, 4)), "uint8")
    with pytest.raises(Exception, match="sample"):
        framefile.write_frame(tmp_path / "x.mwf", rgb(), "int8")
    bad = tmp_path / "bad.mwf"
    bad.write_bytes(b"NOTAFRAME" + bytes(40))
    with pytest.raises(CorruptFileError, match="magic"):
        framefile.read_frame(bad)
    good = framefile.write_frame(tmp_path / "g.mwf", rgb(), "uint8")
    good.write_bytes(good.read_bytes()[:-5])  # truncated
    with pytest.raises(CorruptFileError, match="file size"):
        framefile.read_frame(good)


def test_frame_folder_is_a_frame_source(tmp_path):
    import motionwright as mw

    frames = [rgb(seed=i) for i in range(3)]
    for i, f in enumerate(frames):
        framefile.write_frame(tmp_path / framefile.frame_name(i), f, "uint8")
    clip = mw.Clip.from_source(framefile.FrameFolder(tmp_path, "24000/1001"))
    assert len(clip) == 3 and clip.size == (32, 24) and str(clip.fps) == "24000/1001"
    assert np.array_equal(clip.to_array(), np.stack(frames))
    (tmp_path / framefile.frame_name(1)).unlink()
    with pytest.raises(CorruptFileError, match="without gaps"):
        framefile.FrameFolder(tmp_path)
