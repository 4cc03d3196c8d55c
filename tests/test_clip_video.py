"""Clip.open on video files: frame-exact random access, VFR, truncation, bad input."""

import pickle
import random
import threading
import warnings
from fractions import Fraction

import av
import numpy as np
import pytest

import motionwright as mw
from clip_fixtures import (
    LONG_GOP,
    decode_all,
    frame_number,
    long_gop_mkv,
    long_gop_mp4,
    made,
    media_dir,
    write_video,
)
from motionwright.errors import (
    CorruptFileError,
    FrameRangeError,
    InvalidInputError,
    MediaNotFoundError,
    TruncatedMediaWarning,
    UnsupportedFormatError,
)

__all__ = ["long_gop_mkv", "long_gop_mp4", "media_dir"]  # fixtures used by name below


def assert_random_access_exact(clip: mw.Clip, reference: list[np.ndarray], seed: int = 0) -> None:
    assert len(clip) == len(reference)
    order = list(range(len(clip)))
    random.Random(seed).shuffle(order)
    for i in order:
        np.testing.assert_array_equal(clip[i], reference[i], err_msg=f"frame {i}")


@pytest.mark.parametrize("fixture", ["long_gop_mp4", "long_gop_mkv"])
def test_random_access_matches_sequential_decode(fixture, request):
    path = request.getfixturevalue(fixture)
    reference = decode_all(path)
    assert [frame_number(f) for f in reference] == list(range(200))
    clip = mw.Clip.open(path)
    assert_random_access_exact(clip, reference)
    info = clip.info
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["keyframe_interval"] == 72
    assert info["frames"] == 200 and info["fps"] == "24/1"


GOP_40 = {**LONG_GOP, "g": "40", "keyint_min": "40"}
OTHER_MEDIA = {
    "h264.mov": {"options": GOP_40},
    "h264.ts": {"options": GOP_40},
    # AVI and raw H.264 carry no usable presentation timestamps for B-frames; frames are then
    # numbered by decode output order.
    "h264.avi": {"options": GOP_40},
    "raw.h264": {"options": GOP_40},
    "hevc.mkv": {"codec": "libx265", "options": {
        "x265-params": "bframes=3:keyint=40:min-keyint=40:scenecut=0:log-level=error"}},
    "vp9.webm": {"codec": "libvpx-vp9", "options": {"deadline": "realtime", "cpu-used": "8",
                                                     "g": "40"}},
    "mpeg4.mp4": {"codec": "mpeg4", "options": {"bf": "2", "g": "40"}},
}


@pytest.mark.parametrize("name", sorted(OTHER_MEDIA))
def test_other_containers_and_codecs_are_frame_exact(media_dir, name):
    path = made(media_dir, f"other_{name}", 90, **OTHER_MEDIA[name])
    clip = mw.Clip.open(path)
    assert_random_access_exact(clip, decode_all(path), seed=1)
    assert [frame_number(f) for f in clip] == list(range(90))


def test_open_gop_is_frame_exact(media_dir):
    path = made(media_dir, "open_gop.mkv", 120,
                options={"bf": "3", "g": "30", "keyint_min": "30", "sc_threshold": "0",
                         "x264opts": "open-gop=1"})
    assert_random_access_exact(mw.Clip.open(path), decode_all(path), seed=2)


def test_scrubbing_patterns_and_sub_clip_iteration(long_gop_mp4):
    reference = decode_all(long_gop_mp4)
    clip = mw.Clip.open(long_gop_mp4, cache_frames=4)
    for i in [150, 151, 152, 149, 148, 10, 199, 0, 71, 72, 73, 143, 144]:
        np.testing.assert_array_equal(clip[i], reference[i], err_msg=f"frame {i}")
    assert len(clip.source._cache) <= 4
    for start, stop in [(0, 5), (70, 80), (140, 200), (199, 200)]:
        frames = list(clip[start:stop])
        assert len(frames) == stop - start
        for k, frame in enumerate(frames):
            np.testing.assert_array_equal(frame, reference[start + k])
    nested = clip[50:150][20:30]
    assert [frame_number(f) for f in nested] == list(range(70, 80))
    assert frame_number(clip[-1]) == 199


def test_timecode_and_fps_from_file(long_gop_mp4, long_gop_mkv):
    mp4 = mw.Clip.open(long_gop_mp4)
    assert str(mp4.start_timecode) == "01:00:00:00" and mp4.fps == 24
    assert str(mp4[48:].start_timecode) == "01:00:02:00"
    mkv = mw.Clip.open(long_gop_mkv)
    assert str(mkv.start_timecode) == "00:10:00:00"
    override = mw.Clip.open(long_gop_mp4, start_timecode="02:00:00:00")
    assert str(override.start_timecode) == "02:00:00:00"
    with pytest.raises(InvalidInputError, match="image sequences only"):
        mw.Clip.open(long_gop_mp4, fps=25)


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_variable_frame_rate(media_dir, ext):
    rng = random.Random(3)
    steps = [rng.choice([20, 33, 41, 50, 100]) for _ in range(79)]
    pts = np.concatenate([[0], np.cumsum(steps)]).tolist()
    path = made(media_dir, f"vfr.{ext}", 80, options=LONG_GOP, pts=pts,
                time_base=Fraction(1, 1000))
    reference = decode_all(path)
    clip = mw.Clip.open(path)
    assert_random_access_exact(clip, reference, seed=3)
    assert [frame_number(f) for f in reference] == list(range(80))
    assert clip.timestamps == [Fraction(p, 1000) for p in pts]
    assert clip[10:].timestamps[0] == 0
    assert clip[10:].timestamps[1] == Fraction(pts[11] - pts[10], 1000)
    assert clip.info["variable_frame_rate"] is True
    average = Fraction(79, 1) / Fraction(pts[-1], 1000)
    assert abs(float(clip.fps) - float(average)) < 0.01 * float(average)


def test_variable_rate_with_long_last_frame_keeps_every_frame(media_dir):
    # Screen-recorder style: frames last one, two or three ticks, the last one three.
    steps = [1, 1, 2, 1, 3, 1, 1, 2, 1, 1, 1, 3]
    pts = np.concatenate([[0], np.cumsum(steps)]).tolist()
    path = made(media_dir, "held.mkv", len(pts), fps=30, options=LONG_GOP, pts=pts,
                time_base=Fraction(1, 30))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedMediaWarning)
        clip = mw.Clip.open(path)
    assert len(clip) == len(pts)
    assert [frame_number(f) for f in clip] == list(range(len(pts)))
    assert clip.timestamps[-1] == Fraction(pts[-1], 30)


def test_constant_rate_is_not_reported_variable(long_gop_mp4, long_gop_mkv):
    mp4 = mw.Clip.open(long_gop_mp4)
    assert mp4.info["variable_frame_rate"] is False
    assert mp4.timestamps[:3] == [0, Fraction(1, 24), Fraction(2, 24)]
    # Matroska stores milliseconds; the rate still comes out exact.
    mkv = mw.Clip.open(long_gop_mkv)
    assert mkv.info["variable_frame_rate"] is False and mkv.fps == 24
    assert mkv.timestamps[:3] == [0, Fraction(42, 1000), Fraction(83, 1000)]


@pytest.mark.parametrize(("ext", "keep", "total"), [("mkv", 0.6, "200"), ("mkv", 0.33, "200"),
                                                ("ts", 0.6, r"\d+"), ("ts", 0.41, r"\d+")])
def test_truncated_file_uses_decodable_frames(media_dir, tmp_path, ext, keep, total):
    full = made(media_dir, f"truncate_me.{ext}", 200, options={**LONG_GOP, "g": "24",
                                                              "keyint_min": "24"})
    originals = decode_all(full)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: int(len(data) * keep) + 7])
    with pytest.warns(TruncatedMediaWarning, match=rf"\d+ of {total} frames decode") as record:
        clip = mw.Clip.open(cut)
    assert str(cut) in str(record[0].message)
    assert 30 < len(clip) < 200
    assert_random_access_exact(clip, originals[: len(clip)], seed=4)
    for i, frame in enumerate(clip):
        np.testing.assert_array_equal(frame, originals[i])


def test_truncated_before_any_frame_is_corrupt(media_dir, tmp_path):
    full = made(media_dir, "truncate_me.mkv", 200, options={**LONG_GOP, "g": "24",
                                                           "keyint_min": "24"})
    stub = tmp_path / "stub.mkv"
    stub.write_bytes(full.read_bytes()[:600])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedMediaWarning)
        with pytest.raises(CorruptFileError, match=r"stub\.mkv"):
            mw.Clip.open(stub)


def test_garbage_and_empty_files_are_corrupt(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptFileError, match=r"garbage\.mp4"):
        mw.Clip.open(garbage)
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"empty\.mov"):
        mw.Clip.open(empty)


def test_missing_file(tmp_path):
    with pytest.raises(MediaNotFoundError, match=r"nope\.mp4"):
        mw.Clip.open(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError):
        mw.Clip.open(tmp_path / "nope.mov")


def test_file_without_video_stream(tmp_path):
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16",
                                           layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(UnsupportedFormatError, match=r"no video stream.*audio"):
        mw.Clip.open(path)


def test_unconvertible_pixel_format_is_unsupported(long_gop_mkv):
    clip = mw.Clip.open(long_gop_mkv)
    clip.source._np_format = "rgb96le"  # a format swscale cannot produce
    with pytest.raises(UnsupportedFormatError, match="yuv420p cannot be converted"):
        clip[5]


def test_bad_stream_and_bit_depth_arguments(long_gop_mkv):
    with pytest.raises(InvalidInputError, match="stream=3"):
        mw.Clip.open(long_gop_mkv, stream=3)
    with pytest.raises(InvalidInputError, match="bit_depth"):
        mw.Clip.open(long_gop_mkv, bit_depth=12)
    clip = mw.Clip.open(long_gop_mkv)
    with pytest.raises(FrameRangeError, match=r"valid: 0\.\.199"):
        clip[200]


def test_ten_bit_video_decodes_to_uint16(media_dir):
    path = made(media_dir, "ten_bit.mkv", 30, options=LONG_GOP, pix_fmt="yuv420p10le")
    clip = mw.Clip.open(path)
    assert clip.dtype == np.uint16
    assert clip.info["bit_depth"] == 16 and clip.info["source_bit_depth"] == 10
    assert_random_access_exact(clip, decode_all(path, "rgb48le"), seed=5)
    eight = mw.Clip.open(path, bit_depth=8)
    assert eight[3].dtype == np.uint8
    np.testing.assert_array_equal(eight[3], decode_all(path)[3])


def test_alpha_and_grey_video_become_rgb(tmp_path):
    rgba = np.zeros((4, 32, 48, 4), np.uint8)
    rgba[..., 0] = np.arange(48, dtype=np.uint8)[None, None, :] * 5
    rgba[..., 1] = 100
    rgba[..., 2] = np.arange(4, dtype=np.uint8)[:, None, None] * 60
    rgba[..., 3] = 7
    path = tmp_path / "alpha.mov"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("png", rate=24)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "rgba"
        for frame in rgba:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgba")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    clip = mw.Clip.open(path)
    assert clip.info["pix_fmt"] == "rgba"
    for t in range(4):
        np.testing.assert_array_equal(clip[t], rgba[t, ..., :3])

    grey = tmp_path / "grey.mkv"
    with av.open(str(grey), "w") as out:
        stream = out.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "gray"
        for t in range(3):
            g = np.full((32, 48), 40 * t + 10, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(g, format="gray")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    frames = list(mw.Clip.open(grey))
    assert frames[2].shape == (32, 48, 3)
    assert (frames[2] == frames[2][..., :1]).all()


def test_pickle_close_and_threads(long_gop_mp4):
    reference = decode_all(long_gop_mp4)
    clip = mw.Clip.open(long_gop_mp4)
    _ = clip[100]
    copy = pickle.loads(pickle.dumps(clip[90:110]))
    np.testing.assert_array_equal(copy[5], reference[95])
    assert copy == clip[90:110]
    clip.close()
    np.testing.assert_array_equal(clip[7], reference[7])

    errors: list[BaseException] = []

    def random_reads(seed: int) -> None:
        try:
            rng = random.Random(seed)
            for _ in range(25):
                i = rng.randrange(200)
                np.testing.assert_array_equal(clip[i], reference[i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def iterate() -> None:
        try:
            for i, frame in enumerate(clip[60:140]):
                np.testing.assert_array_equal(frame, reference[60 + i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=random_reads, args=(s,)) for s in range(3)]
    threads.append(threading.Thread(target=iterate))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_equality_of_clips_on_the_same_file(long_gop_mkv):
    a = mw.Clip.open(long_gop_mkv)
    b = mw.Clip.open(long_gop_mkv)
    assert a == b and a[3:9] == b[3:9] and hash(a[3:9]) == hash(b[3:9])
    assert a[3:9] != b[3:10]
    assert "long_gop.mkv" in repr(a) and "200 frames" in repr(a)


def test_short_clip_shorter_than_head_check(tmp_path):
    path = write_video(tmp_path / "tiny.mp4", 5, options={"bf": "2"})
    clip = mw.Clip.open(path)
    assert len(clip) == 5
    assert_random_access_exact(clip, decode_all(path))
