"""Hostile images and image sequences: decompression bombs, lying sidecars, absurd numbering."""

import json
import struct
import tracemalloc
import zlib
from fractions import Fraction

import av
import numpy as np
import pytest

import motionwright as mw
from motionwright import limits
from motionwright.errors import (
    CorruptFileError,
    LimitExceededError,
    MediaNotFoundError,
    UnsafePathError,
)
from motionwright.io._opencv import cv2
from motionwright.io.image_decode import image_size
from motionwright.io.images import read_image


def _png_claiming(width, height):
    """A tiny PNG whose header claims ``width``×``height`` RGB pixels (one row of data)."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _encoded(ext, width=53, height=37):
    ok, buf = cv2.imencode(ext, np.zeros((height, width, 3), np.uint8))
    assert ok
    return buf.tobytes()


def _exr(width=53, height=37):
    import io

    out_bytes = io.BytesIO()
    with av.open(out_bytes, "w", format="image2pipe") as out:
        stream = out.add_stream("exr", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "gbrpf32le"
        frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.float32),
                                           format="gbrpf32le")
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return out_bytes.getvalue()


def _bigtiff(width, height):
    entries = struct.pack("<HHQQ", 256, 16, 1, width) + struct.pack("<HHQHxxxxxx", 257, 3, 1,
                                                                     height)
    return b"II+\0" + struct.pack("<HHQ", 8, 0, 16) + struct.pack("<Q", 2) + entries


@pytest.mark.parametrize("data", [
    _encoded(".png"), _encoded(".jpg"), _encoded(".tif"), _encoded(".bmp"), _exr(),
    _bigtiff(53, 37),
    cv2.imencode(".jpg", np.zeros((37, 53, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1],
], ids=["png", "jpeg", "tiff", "bmp", "exr", "bigtiff", "progressive-jpeg"])
def test_image_size_is_read_from_the_header(data):
    assert image_size(data) == (53, 37)


def test_unknown_or_broken_headers_give_no_size():
    assert image_size(b"GIF89a....") is None
    assert image_size(b"\x89PNG\r\n\x1a\n") is None
    assert image_size(b"\xff\xd8\xff\xe0\x00") is None


@pytest.mark.parametrize("side", [16384, 100_000])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, side):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_claiming(side, side))
    with pytest.raises(LimitExceededError, match=rf"{side}x{side} .*MOTIONWRIGHT_MAX_PIXELS"):
        mw.Clip.open(bomb)


def test_pixel_limit_can_be_lowered_and_raised(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(_encoded(".png", 40, 30))
    with limits.override(max_pixels=40 * 30 - 1), pytest.raises(LimitExceededError):
        read_image(path)
    with limits.override(max_pixels=40 * 30):
        assert read_image(path).shape == (30, 40, 3)


def test_opencv_failures_become_corrupt_file_errors(tmp_path):
    # Past our own limit, OpenCV's (one gigapixel) raises cv2.error; it must come out typed.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_claiming(100_000, 100_000))
    with limits.override(max_pixels=10**11), \
            pytest.raises(CorruptFileError, match=r"bomb\.png.* cannot be decoded"):
        read_image(bomb)


def _sequence(folder, count=2, sidecar=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"shot.{i:04d}.png").write_bytes(_encoded(".png", 8, 6))
    if sidecar is not None:
        payload = {"schema": "ImageSequence.1", "pattern": "shot.%04d.png", "fps": "24/1",
                   "start_timecode": "00:00:00:00", "drop_frame": False, **sidecar}
        (folder / "shot.mwseq.json").write_text(json.dumps(payload))
    return folder


@pytest.mark.parametrize("fps", ["1/100000000000000000000", "10000000000000000000000", "1e-300",
                                 "1e308", "0", "-24", "nan", "24/0", 10**40, None, [24]])
def test_sidecar_with_an_absurd_fps_is_corrupt(tmp_path, fps):
    folder = _sequence(tmp_path / "seq", sidecar={"fps": fps})
    with pytest.raises(CorruptFileError, match="fps"):
        mw.Clip.open(folder)


def test_sidecar_with_a_5000_digit_fps_is_corrupt(tmp_path):
    folder = _sequence(tmp_path / "seq", sidecar={"fps": "9" * 5000 + "/1"})
    with pytest.raises(CorruptFileError, match="fps"):
        mw.Clip.open(folder)


def test_sidecar_fps_in_range_is_kept(tmp_path):
    folder = _sequence(tmp_path / "seq", sidecar={"fps": "1/1000"})
    assert mw.Clip.open(folder).fps == Fraction(1, 1000)


@pytest.mark.parametrize("pattern", ["../elsewhere/shot.%04d.png", "/tmp/shot.%04d.png",
                                     "sub/shot.%04d.png", "..", "shot\0.%04d.png"])
def test_sidecar_pointing_outside_its_folder_is_refused(tmp_path, pattern):
    _sequence(tmp_path / "elsewhere")
    folder = _sequence(tmp_path / "seq", sidecar={"pattern": pattern})
    with pytest.raises(UnsafePathError, match="outside its folder"):
        mw.Clip.open(folder)
    # Named by the user, the frames open.
    assert len(mw.Clip.open(tmp_path / "elsewhere" / "shot.%04d.png")) == 2


@pytest.mark.parametrize(("frames", "error"), [(-1, CorruptFileError), ("3", CorruptFileError),
                                               (10**30, LimitExceededError)])
def test_sidecar_frame_count_is_checked(tmp_path, frames, error):
    folder = _sequence(tmp_path / "seq", sidecar={"frames": frames})
    with pytest.raises(error, match="frames"):
        mw.Clip.open(folder)


def test_gap_of_ten_million_numbers_is_found_without_memory_for_the_gap(tmp_path):
    folder = _sequence(tmp_path / "seq", count=1)
    (folder / "shot.10000000.png").write_bytes(_encoded(".png", 8, 6))
    tracemalloc.start()
    try:
        with pytest.raises(MediaNotFoundError, match=r"'shot\.0001\.png' is missing"):
            mw.Clip.open(folder / "shot.%04d.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_frame_count_is_bounded(tmp_path):
    folder = _sequence(tmp_path / "seq", count=3)
    with limits.override(max_frames=2):
        for target in (folder, folder / "shot.%04d.png"):
            with pytest.raises(LimitExceededError, match="max_frames"):
                mw.Clip.open(target)


def test_overlong_digit_runs_are_not_frames(tmp_path):
    folder = _sequence(tmp_path / "seq", count=2)
    (folder / f"shot.{'9' * 200}.png").write_bytes(b"x")
    assert len(mw.Clip.open(folder / "shot.%04d.png")) == 2
    with pytest.raises(mw.errors.InvalidInputError, match="digits"):
        mw.Clip.open(folder / "shot.%099d.png")
