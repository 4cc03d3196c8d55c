"""Clip.save round trips (H.264, ProRes, PNG), kept fps/timecode, atomic and cancellable."""

import json
from fractions import Fraction

import av
import numpy as np
import pytest

import motionwright as mw
from clip_fixtures import frame_number, numbered_frame
from motionwright.errors import (
    Cancelled,
    FidelityWarning,
    InvalidInputError,
    UnsupportedFormatError,
)
from motionwright.progress import CancelToken

NTSC = Fraction(30000, 1001)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


@pytest.fixture
def source_clip() -> mw.Clip:
    frames = np.stack([numbered_frame(i, 128, 96) for i in range(20)])
    return mw.Clip.from_frames(frames, fps=NTSC, start_timecode="01:00:00;00")


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("ext", ["mp4", "mov", "mkv"])
def test_h264_round_trip_keeps_fps_and_timecode(tmp_path, source_clip, ext):
    out = source_clip.save(tmp_path / f"out.{ext}", "h264", crf=16, preset="veryfast")
    assert out == tmp_path / f"out.{ext}"
    assert leftovers(tmp_path) == [f"out.{ext}"]
    back = mw.Clip.open(out)
    assert len(back) == 20 and back.size == (128, 96)
    assert back.fps == NTSC
    assert str(back.start_timecode) == "01:00:00;00" and back.start_timecode.drop_frame
    assert back.info["codec"] == "h264"
    for i, frame in enumerate(back):
        assert psnr(frame, source_clip[i]) > 30, i
        assert frame_number(frame) == i


def test_h264_is_the_default_for_video_suffixes(tmp_path, source_clip):
    out = source_clip[5:10].save(tmp_path / "cut.mp4")
    back = mw.Clip.open(out)
    assert back.info["codec"] == "h264" and len(back) == 5
    assert frame_number(back[0]) == 5
    assert str(back.start_timecode) == "01:00:00;05"


def test_prores_round_trip_is_ten_bit_422(tmp_path, source_clip):
    out = source_clip.save(tmp_path / "master.mov", "prores")
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "prores"
        assert stream.codec_context.pix_fmt == "yuv422p10le"
    back = mw.Clip.open(out)
    assert back.dtype == np.uint16 and back.info["source_bit_depth"] == 10
    assert back.fps == NTSC and str(back.start_timecode) == "01:00:00;00"
    for i in (0, 7, 19):
        assert psnr(back[i], source_clip[i].astype(np.uint16) * 257, 65535.0) > 40
    eight = mw.Clip.open(out, bit_depth=8)
    assert psnr(eight[3], source_clip[3]) > 40


def test_prores_4444_and_uint16_input(tmp_path):
    deep = np.stack([numbered_frame(i, 64, 48) for i in range(3)]).astype(np.uint16) * 257
    deep[..., 0] += 100  # detail below 8 bits must survive in 10 bits
    clip = mw.Clip.from_frames(deep, fps=25)
    with pytest.warns(FidelityWarning, match="16 bits per component but prores"):
        out = clip.save(tmp_path / "deep.mov", "prores", profile="4444")
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt.startswith("yuv444p1")
    back = mw.Clip.open(out)
    assert psnr(back[1], deep[1], 65535.0) > 45
    with pytest.warns(FidelityWarning, match="h264 is written with 10"):
        h264 = mw.Clip.open(clip.save(tmp_path / "deep.mp4"))
    assert h264.dtype == np.uint16 and h264.info["source_bit_depth"] == 10
    assert psnr(h264[1], deep[1], 65535.0) > 30


def test_png_sequence_round_trip_is_exact(tmp_path, source_clip):
    out = source_clip.save(tmp_path / "renders" / "shot.%04d.png", start_number=1001)
    assert out == tmp_path / "renders" / "shot.%04d.png"
    names = leftovers(tmp_path / "renders")
    assert names[0] == "shot.1001.png" and names[-1] == "shot.mwseq.json"
    assert len(names) == 21
    sidecar = json.loads((tmp_path / "renders" / "shot.mwseq.json").read_text())
    assert sidecar["fps"] == "30000/1001" and sidecar["start_timecode"] == "01:00:00;00"
    back = mw.Clip.open(out)
    assert back.fps == NTSC and str(back.start_timecode) == "01:00:00;00"
    for i, frame in enumerate(back):
        np.testing.assert_array_equal(frame, source_clip[i])


def test_png_to_a_folder_and_16_bit(tmp_path):
    deep = ((np.arange(2 * 8 * 10 * 3).reshape(2, 8, 10, 3) * 271) % 65536).astype(np.uint16)
    clip = mw.Clip.from_frames(deep, fps=12, start_timecode="00:00:10:00")
    out = clip.save(tmp_path / "frames", "png")
    assert out == tmp_path / "frames"
    back = mw.Clip.open(out)
    assert back.dtype == np.uint16 and back.fps == 12
    assert str(back.start_timecode) == "00:00:10:00"
    np.testing.assert_array_equal(back.to_array(), deep)
    assert mw.Clip.open(tmp_path / "frames").info["codec"] == "png"


def test_png_over_an_older_longer_render(tmp_path, source_clip):
    folder = tmp_path / "renders"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    source_clip.save(folder / "shot.%04d.png")
    source_clip[:5].save(folder / "shot.%04d.png")
    back = mw.Clip.open(folder / "shot.%04d.png")
    assert len(back) == 5
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("shot.0")) == [
        "notes.txt", "shot.mwseq.json"]


def test_png_sequence_saved_over_itself(tmp_path, source_clip):
    pattern = tmp_path / "seq" / "shot.%04d.png"
    source_clip.save(pattern)
    clip = mw.Clip.open(pattern)
    clip[5:15].save(pattern)
    back = mw.Clip.open(pattern)
    assert [frame_number(f) for f in back] == list(range(5, 15))
    assert str(back.start_timecode) == "01:00:00;05"
    assert back.source.files[0].name == "shot.0005.png"  # the source's frame numbers
    other = back[:2].save(tmp_path / "seq" / "take2.%04d.png")
    assert len(mw.Clip.open(other)) == 2
    with pytest.raises(InvalidInputError, match="several image sequences"):
        mw.Clip.open(tmp_path / "seq")


def test_progress_reports_every_frame(tmp_path, source_clip):
    events = []
    source_clip[:6].save(tmp_path / "p.mkv", progress=events.append)
    assert [e.done for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1].total == 6 and events[0].stage == "save"


@pytest.mark.parametrize("target", ["cancel.mp4", "cancel.mov", "seq/shot.%04d.png", "folder"])
def test_cancel_during_save_leaves_nothing(tmp_path, source_clip, target):
    token = CancelToken()

    def progress(event):
        if event.done == 4:
            token.cancel()

    codec = "prores" if target.endswith(".mov") else None
    with pytest.raises(Cancelled, match="after 4 of 20"):
        source_clip.save(tmp_path / target, codec, progress=progress, cancel=token)
    assert leftovers(tmp_path) == []


def test_cancel_into_existing_folder_leaves_it_as_it_was(tmp_path, source_clip):
    folder = tmp_path / "renders"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(Cancelled):
        source_clip.save(folder / "shot.%04d.png", cancel=lambda: True)
    assert leftovers(folder) == ["notes.txt"]


def test_failed_save_keeps_the_old_file(tmp_path, source_clip):
    target = tmp_path / "keep.mp4"
    source_clip[:3].save(target)
    before = target.read_bytes()
    with pytest.raises(Cancelled):
        source_clip.save(target, cancel=lambda: True)
    assert target.read_bytes() == before and leftovers(tmp_path) == ["keep.mp4"]


def test_save_rejects_bad_requests(tmp_path, source_clip):
    with pytest.raises(UnsupportedFormatError, match="codec: expected one of h264, hevc"):
        source_clip.save(tmp_path / "x.mp4", "vp9")
    with pytest.raises(UnsupportedFormatError, match=r"ProRes is written to \.mov"):
        source_clip.save(tmp_path / "x.mp4", "prores")
    with pytest.raises(UnsupportedFormatError, match="cannot tell the format"):
        source_clip.save(tmp_path / "x.avi")
    with pytest.raises(InvalidInputError, match="single file name"):
        source_clip.save(tmp_path / "x.png", "png")
    with pytest.raises(InvalidInputError, match="crf"):
        source_clip.save(tmp_path / "x.mp4", crf=80)
    with pytest.raises(InvalidInputError, match="profile"):
        source_clip.save(tmp_path / "x.mov", "prores", profile="ultra")
    with pytest.raises(InvalidInputError, match="empty clip"):
        source_clip[3:3].save(tmp_path / "x.mp4")
    odd = mw.Clip.from_frames(np.zeros((2, 9, 11, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="even width and height, got 11x9"):
        odd.save(tmp_path / "odd.mp4")
    assert leftovers(tmp_path) == []
    odd.save(tmp_path / "odd.mov", "prores")  # ProRes takes odd sizes


def test_video_clip_resaved_keeps_its_timing(tmp_path):
    from clip_fixtures import LONG_GOP, write_video

    src = write_video(tmp_path / "src.mp4", 30, fps=25, options=LONG_GOP, timecode="10:00:00:00")
    clip = mw.Clip.open(src)[10:20]
    out = clip.save(tmp_path / "sub.mov", "prores")
    back = mw.Clip.open(out)
    assert back.fps == 25 and str(back.start_timecode) == "10:00:00:10" and len(back) == 10
    assert [frame_number(f) for f in mw.Clip.open(out, bit_depth=8)] == list(range(10, 20))
