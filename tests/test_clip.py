"""Clip basics on in-memory frames and custom FrameSources: indexing, slicing, validation."""

import json
import pickle
import threading
from fractions import Fraction

import numpy as np
import pytest

import motionwright as mw
from clip_fixtures import frame_number, numbered_frame
from motionwright.errors import FrameRangeError, InvalidInputError, ShapeError
from motionwright.io.source import FrameSource
from motionwright.timecode import Timecode


def make_frames(n: int = 12) -> np.ndarray:
    return np.stack([numbered_frame(i, 64, 48) for i in range(n)])


def test_from_frames_basic_facts():
    frames = make_frames()
    clip = mw.Clip.from_frames(frames, fps=Fraction(30000, 1001), start_timecode="01:00:00;00")
    assert len(clip) == 12
    assert clip.fps == Fraction(30000, 1001) and isinstance(clip.fps, Fraction)
    assert clip.size == (64, 48)
    assert isinstance(clip.start_timecode, Timecode)
    assert str(clip.start_timecode) == "01:00:00;00"
    assert clip.dtype == np.uint8
    assert clip.source_path is None
    np.testing.assert_array_equal(clip[3], frames[3])
    np.testing.assert_array_equal(clip[-1], frames[-1])
    assert clip.duration == Fraction(12 * 1001, 30000)


def test_frames_are_copied_and_read_only():
    frames = make_frames(3)
    clip = mw.Clip.from_frames(frames)
    frames[0] = 0
    assert frame_number(clip[0]) == 0 and clip[0].max() > 0
    with pytest.raises(ValueError):
        clip[0][0, 0, 0] = 1


def test_default_fps_and_timecode():
    clip = mw.Clip.from_frames(make_frames(2))
    assert clip.fps == 24 and str(clip.start_timecode) == "00:00:00:00"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros((4, 48, 64), np.uint8), r"expected shape \(T, H, W, 3\) RGB, got \(4, 48, 64\)"),
        (np.zeros((4, 48, 64, 4), np.uint8), r"expected shape \(T, H, W, 3\) RGB, got"),
        (np.zeros((48, 64, 3), np.uint8), r"frames\[None\]"),
        (np.zeros((2, 48, 64, 3), np.float32), "expected dtype uint8 or uint16, got float32"),
    ],
)
def test_from_frames_rejects_bad_arrays(value, message):
    with pytest.raises(ShapeError, match=message):
        mw.Clip.from_frames(value)


def test_from_frames_rejects_empty_and_bad_fps():
    with pytest.raises(InvalidInputError, match="at least one frame"):
        mw.Clip.from_frames(np.zeros((0, 4, 4, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="fps"):
        mw.Clip.from_frames(make_frames(2), fps=0)
    with pytest.raises(InvalidInputError, match="timecode"):
        mw.Clip.from_frames(make_frames(2), start_timecode="noon")


def test_uint16_frames_are_kept():
    frames = make_frames(2).astype(np.uint16) * 257
    clip = mw.Clip.from_frames(frames)
    assert clip.dtype == np.uint16 and clip.info["bit_depth"] == 16
    np.testing.assert_array_equal(clip[1], frames[1])


def test_out_of_range_index_names_index_and_range():
    clip = mw.Clip.from_frames(make_frames(5))
    with pytest.raises(FrameRangeError, match=r"frame index 5 .* 5 frames; valid: 0\.\.4"):
        clip[5]
    with pytest.raises(FrameRangeError, match="-6"):
        clip[-6]
    with pytest.raises(IndexError):  # FrameRangeError is an IndexError too
        clip[100]
    with pytest.raises(InvalidInputError, match="integer frame index"):
        clip[1.5]
    with pytest.raises(InvalidInputError, match="integer frame index"):
        clip[True]


def test_sub_clips_are_lazy_and_nest():
    reads = []

    class Counting:
        fps = Fraction(25)
        size = (64, 48)
        start_timecode = "00:00:10:00"

        def __len__(self):
            return 100

        def read(self, i):
            reads.append(i)
            return numbered_frame(i, 64, 48)

    clip = mw.Clip.from_source(Counting())
    sub = clip[10:60]
    nested = sub[5:-5]
    assert reads == []
    assert len(sub) == 50 and len(nested) == 40
    assert frame_number(nested[0]) == 15 and frame_number(nested[-1]) == 54
    assert reads == [15, 54]
    assert nested.source_range == (15, 55)
    assert str(nested.start_timecode) == "00:00:10:15"
    assert [frame_number(f) for f in sub[45:100]] == [55, 56, 57, 58, 59]
    assert len(clip[90:10]) == 0 and list(clip[90:10]) == []
    assert len(clip[-3:]) == 3
    with pytest.raises(InvalidInputError, match="only step 1"):
        clip[::2]
    with pytest.raises(FrameRangeError):
        clip[10:20][10]


def test_iteration_streams_in_order():
    clip = mw.Clip.from_frames(make_frames(8))
    assert [frame_number(f) for f in clip] == list(range(8))
    assert [frame_number(f) for f in clip[2:5]] == [2, 3, 4]
    arr = clip[1:4].to_array()
    assert arr.shape == (3, 48, 64, 3) and arr.flags.writeable
    assert [frame_number(f) for f in arr] == [1, 2, 3]


def test_from_source_uses_iter_frames_and_timestamps_when_given():
    class Lazy:
        fps = 10
        size = (64, 48)
        start_timecode = None
        timestamps = tuple(Fraction(i, 10) for i in range(6))

        def __len__(self):
            return 6

        def read(self, i):
            raise AssertionError("iteration should use iter_frames")

        def iter_frames(self, start, stop):
            for i in range(start, stop):
                yield numbered_frame(i, 64, 48)

    clip = mw.Clip.from_source(Lazy())
    assert isinstance(Lazy(), FrameSource)
    assert [frame_number(f) for f in clip[2:5]] == [2, 3, 4]
    assert clip[2:5].timestamps == [0, Fraction(1, 10), Fraction(2, 10)]
    assert clip.fps == 10 and str(clip.start_timecode) == "00:00:00:00"


def test_from_source_validates_the_source_and_its_frames():
    with pytest.raises(InvalidInputError, match="got object without __len__, read"):
        mw.Clip.from_source(object())

    class BadSize:
        fps = 24
        size = (0, 10)
        start_timecode = None

        def __len__(self):
            return 1

        def read(self, i):
            return np.zeros((10, 1, 3), np.uint8)

    with pytest.raises(InvalidInputError, match="positive width and height"):
        mw.Clip.from_source(BadSize())

    class WrongFrames:
        fps = 24
        size = (64, 48)
        start_timecode = None

        def __len__(self):
            return 2

        def read(self, i):
            return np.zeros((48, 64), np.uint8)

    clip = mw.Clip.from_source(WrongFrames())
    expected = r"expected an array of shape \(48, 64, 3\).*got \(48, 64\)"
    with pytest.raises(ShapeError, match=expected):
        clip[0]


def test_info_is_json_safe():
    clip = mw.Clip.from_frames(make_frames(48), fps=24, start_timecode="00:00:01:00")
    info = clip[24:].info
    json.dumps(info)
    assert info["frames"] == 24
    assert info["fps"] == "24/1" and info["fps_float"] == 24.0
    assert info["size"] == [64, 48]
    assert info["timecode"] == "00:00:02:00"
    assert info["duration"] == 1.0
    assert info["bit_depth"] == 8
    assert info["source_range"] == [24, 48]
    assert {"codec", "pix_fmt", "path", "keyframe_interval"} <= info.keys()


def test_equality_repr_and_pickle():
    clip = mw.Clip.from_frames(make_frames(6))
    assert clip[1:3] == clip[1:3]
    assert clip[1:3] != clip[1:4]
    assert hash(clip[1:3]) == hash(clip[1:3])
    other = mw.Clip.from_frames(make_frames(6))
    assert clip != other  # different in-memory sources, even with equal pixels
    assert "6 frames" in repr(clip) and "64x48" in repr(clip)
    copy = pickle.loads(pickle.dumps(clip[2:5]))
    assert len(copy) == 3 and frame_number(copy[0]) == 2


def test_timestamps_default_to_even_spacing():
    clip = mw.Clip.from_frames(make_frames(4), fps=Fraction(30000, 1001))
    assert clip.timestamps == [Fraction(i * 1001, 30000) for i in range(4)]
    assert clip[1:].timestamps[0] == 0


def test_concurrent_reads_from_threads():
    clip = mw.Clip.from_frames(make_frames(10))
    errors = []

    def work():
        try:
            for i in range(10):
                assert frame_number(clip[i]) == i
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
