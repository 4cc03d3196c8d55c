"""What comes in goes out: rotation, audio, codec, bit depth, frame numbers, checks up front.

Every source here is a real file made by PyAV (see clip_fixtures.write_video).
"""

import os
import warnings
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import motionwright as mw
from clip_fixtures import decode_all, frame_number, numbered_frame, write_video
from motionwright.cli.main import main
from motionwright.errors import FidelityWarning, InvalidInputError, ShapeError

NTSC = Fraction(30000, 1001)


def streams(path: Path) -> dict:
    """``{kind: (codec, pix_fmt or sample rate, duration s, rotation)}`` of a written file."""
    out = {}
    with av.open(str(path)) as container:
        for s in container.streams:
            if s.type not in ("video", "audio"):
                continue
            duration = float(s.duration * s.time_base) if s.duration else None
            ctx = s.codec_context
            detail = ctx.pix_fmt if s.type == "video" else ctx.sample_rate
            out[s.type] = (ctx.name, detail, duration)
        rotation = next(container.decode(video=0)).rotation
    out["rotation"] = rotation % 360
    return out


def drag(clip: mw.Clip) -> mw.DragEdit:
    w, h = clip.size
    return mw.DragEdit(mw.PointSet([(w * 0.4, h * 0.4)]), mw.PointSet([(w * 0.45, h * 0.4)]),
                       mw.Mask.from_box(w * 0.3, h * 0.3, w * 0.25, h * 0.2, clip.size))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("fidelity")


@pytest.fixture(scope="module")
def phone_mp4(media):
    """Phone footage: stored 64x48 with a display matrix turning it 90 degrees clockwise,
    AAC audio, 24 fps."""
    return write_video(media / "phone.mp4", 24, size=(64, 48), rotation=-90, audio="aac",
                       timecode="01:00:00:00")


@pytest.fixture(scope="module")
def prores_master(media):
    """10-bit ProRes HQ 4:2:2 at 29.97 fps, drop-frame timecode, rotated 90, AAC audio."""
    return write_video(media / "master.mov", 30, size=(64, 48), fps=NTSC, codec="prores_ks",
                       pix_fmt="yuv422p10le", options={"profile": "hq"}, deep=True,
                       audio="aac", rotation=90, timecode="01:00:00;00")


# -- rotation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation, turns", [(90, 1), (180, 2), (-90, 3)])
def test_rotated_video_reads_upright(media, rotation, turns):
    path = write_video(media / f"rot{rotation}.mp4", 6, size=(64, 48), rotation=rotation)
    clip = mw.Clip.open(path)
    assert clip.info["rotation"] == turns * 90
    assert clip.size == ((48, 64) if turns % 2 else (64, 48))
    assert clip.info["width"] == clip.size[0]
    stored = decode_all(path)
    for i in (0, 5):
        assert np.array_equal(clip[i], np.rot90(stored[i], turns))
    assert np.array_equal(next(iter(clip)), np.rot90(stored[0], turns))


def test_mirroring_display_matrix_is_said_and_not_applied(tmp_path):
    path = tmp_path / "mirror.mp4"
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=24)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    stream.set_display_rotation(90, hflip=True)
    for i in range(2):
        frame = av.VideoFrame.from_ndarray(numbered_frame(i, 64, 48), format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    with pytest.warns(FidelityWarning, match="mirrors the picture"):
        clip = mw.Clip.open(path)
    assert clip.size == (64, 48) and clip.info["rotation"] == 0


def test_rotated_video_keeps_its_display_matrix_when_saved(tmp_path, phone_mp4):
    clip = mw.Clip.open(phone_mp4)
    out = clip.save(tmp_path / "out.mp4")
    facts = streams(out)
    assert facts["rotation"] == 270
    with av.open(str(out)) as container:
        stored = container.streams.video[0].codec_context
        assert (stored.width, stored.height) == (64, 48)  # the stored orientation
    back = mw.Clip.open(out)
    assert back.size == clip.size == (48, 64)
    assert np.abs(back[3].astype(int) - clip[3].astype(int)).mean() < 4


def test_rotated_video_saved_as_png_is_upright(tmp_path, phone_mp4):
    clip = mw.Clip.open(phone_mp4)
    with pytest.warns(FidelityWarning, match="audio is not kept"):
        clip[:3].save(tmp_path / "seq")
    back = mw.Clip.open(tmp_path / "seq")
    assert back.size == (48, 64)
    assert np.array_equal(back[1], clip[1])


def test_points_are_in_displayed_pixels(tmp_path, phone_mp4):
    clip = mw.Clip.open(phone_mp4)
    edit = drag(clip)  # a point near the bottom of the displayed 48x64 frame is valid
    edit.check_against(len(clip), clip.size, name="edit")
    result = mw.render(clip, edit)
    assert result.size == (48, 64)
    assert result[2].shape == (64, 48, 3)


# -- audio ----------------------------------------------------------------------------------------


def test_audio_is_copied_and_trimmed_to_the_frames_written(tmp_path, phone_mp4):
    clip = mw.Clip.open(phone_mp4)
    result = mw.render(clip, drag(clip))[6:18]
    out = result.save(tmp_path / "cut.mov")
    codec, rate, duration = streams(out)["audio"]
    assert codec == "aac" and rate == 48000
    assert duration == pytest.approx(12 / 24, abs=0.03)
    with av.open(str(out)) as container:
        packets = [p for p in container.demux(audio=0) if p.size]
    with av.open(str(phone_mp4)) as container:
        source = [bytes(p) for p in container.demux(audio=0) if p.size]
    assert bytes(packets[0]) in source  # copied, not re-encoded


def test_audio_the_container_cannot_take_is_reencoded(tmp_path, media):
    src = write_video(media / "u8.mkv", 12, audio="pcm_u8")
    with pytest.warns(FidelityWarning, match="re-encoded as AAC"):
        out = mw.Clip.open(src).save(tmp_path / "out.mp4")
    codec, rate, duration = streams(out)["audio"]
    assert codec == "aac" and rate == 48000
    assert duration == pytest.approx(0.5, abs=0.05)


def test_clip_without_audio_writes_none(tmp_path):
    clip = mw.Clip.from_frames(np.stack([numbered_frame(i, 32, 24) for i in range(3)]))
    assert "audio" not in streams(clip.save(tmp_path / "silent.mp4"))


# -- codec and bit depth --------------------------------------------------------------------------


def test_ten_bit_prores_through_preview_render_stays_ten_bit_prores(tmp_path, prores_master):
    clip = mw.Clip.open(prores_master)
    assert clip.dtype == np.uint16
    result = mw.render(clip, drag(clip))
    assert result.dtype == np.uint16 and result[4].dtype == np.uint16
    out = result.save(tmp_path / "graded.mov")  # no codec given: the source's
    codec, pix_fmt, _ = streams(out)["video"]
    assert codec == "prores" and pix_fmt == "yuv422p10le"
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.profile == "HQ"
    back = mw.Clip.open(out)
    frame, source = back[4].astype(np.int64), clip[4].astype(np.int64)
    assert (back[4] % 257 != 0).mean() > 0.5  # not 8-bit values scaled up
    # Outside the mask the 10-bit detail survives: much finer than one 8-bit step (257).
    assert np.abs(frame[:, :8] - source[:, :8]).mean() < 128


def test_ten_bit_h264_and_hevc_sources_keep_codec_and_depth(tmp_path, media):
    for codec, name in (("libx264", "h264"), ("libx265", "hevc")):
        options = {"x265-params": "log-level=error"} if name == "hevc" else None
        src = write_video(media / f"deep_{name}.mkv", 4, size=(64, 48), codec=codec,
                          pix_fmt="yuv420p10le", deep=True, options=options)
        out = mw.Clip.open(src).save(tmp_path / f"{name}.mp4")
        assert streams(out)["video"][:2] == (name, "yuv420p10le")
        assert mw.Clip.open(out).info["source_bit_depth"] == 10


def test_warns_when_the_codec_cannot_keep_the_bit_depth(tmp_path, media, monkeypatch):
    from motionwright.io import output

    src = write_video(media / "deep.mkv", 3, size=(64, 48), pix_fmt="yuv420p10le", deep=True)
    monkeypatch.setattr(output, "high_depth_format", lambda encoder: None)  # an 8-bit build
    with pytest.warns(FidelityWarning, match="10 bits per component but h264 is written with 8"):
        out = mw.Clip.open(src).save(tmp_path / "eight.mp4")
    assert streams(out)["video"][1] == "yuv420p"


def test_cli_prints_the_fidelity_warning(tmp_path, media, monkeypatch, capsys):
    from motionwright.io import output

    src = write_video(media / "deep_cli.mkv", 3, size=(64, 48), pix_fmt="yuv420p10le",
                      deep=True)
    monkeypatch.setattr(output, "high_depth_format", lambda encoder: None)
    code = main(["drag", str(src), "--handle", "20,20", "--target", "24,20",
                 "--mask-box", "10,10,30,20", "-o", str(tmp_path / "o.mp4"), "--codec", "h264"])
    assert code == 0
    assert "warning: " in capsys.readouterr().err


# -- checks before any work -----------------------------------------------------------------------


@pytest.fixture
def odd_mp4(media):
    return write_video(media / "odd.mkv", 4, size=(65, 49), codec="libx264rgb",
                       pix_fmt="rgb24")


def test_odd_size_is_refused_before_any_frame_is_rendered(tmp_path, odd_mp4, monkeypatch,
                                                          capsys):
    import motionwright.rendering as rendering

    calls = []
    monkeypatch.setattr(rendering, "render", lambda *a, **k: calls.append(a))
    code = main(["drag", str(odd_mp4), "--handle", "20,20", "--target", "24,20",
                 "-o", str(tmp_path / "out.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and calls == []
    assert "65x49" in err and "--even" in err and "prores" in err
    assert not (tmp_path / "out.mp4").exists()


def test_compare_output_is_checked_before_rendering(tmp_path, odd_mp4, monkeypatch, capsys):
    import motionwright.rendering as rendering

    calls = []
    monkeypatch.setattr(rendering, "render", lambda *a, **k: calls.append(a))
    code = main(["drag", str(odd_mp4), "--handle", "20,20", "--target", "24,20",
                 "-o", str(tmp_path / "out.mov"), "--codec", "prores",
                 "--compare", str(tmp_path / "cmp.mp4")])
    assert code == 2 and calls == []
    assert "130x49" in capsys.readouterr().err


def test_variable_frame_rate_written_at_constant_rate_is_said(tmp_path, media):
    pts = [0, 40, 60, 110, 130, 200, 220, 300, 340, 360, 420, 450]
    src = write_video(media / "vfr.mkv", len(pts), pts=pts, time_base=Fraction(1, 1000))
    with pytest.warns(FidelityWarning, match="variable frame rate"):
        mw.Clip.open(src).save(tmp_path / "cfr.mp4")


def test_save_checks_before_reading_frames(tmp_path, odd_mp4):
    reads = []
    clip = mw.Clip.open(odd_mp4)
    result = mw.render(clip, drag(clip), progress=reads.append)
    before = len(reads)
    with pytest.raises(InvalidInputError, match="even width and height, got 65x49"):
        result.save(tmp_path / "out.mp4")
    assert len(reads) == before


@pytest.mark.parametrize("even, size", [("pad", (66, 50)), ("crop", (64, 48))])
def test_odd_size_padded_or_cropped_on_request(tmp_path, odd_mp4, even, size):
    clip = mw.Clip.open(odd_mp4)
    out = clip.save(tmp_path / f"{even}.mp4", even=even)
    back = mw.Clip.open(out)
    assert back.size == size
    assert np.abs(back[1][:48, :64].astype(int) - clip[1][:48, :64].astype(int)).mean() < 4


def test_unwritable_output_is_refused(tmp_path):
    clip = mw.Clip.from_frames(np.zeros((2, 8, 8, 3), np.uint8))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file, not a folder"):
        clip.save(tmp_path / "file.txt" / "out.mp4")
    with pytest.raises(InvalidInputError, match="even: expected"):
        clip.save(tmp_path / "x.mp4", even="stretch")


# -- frame numbers and folders --------------------------------------------------------------------


def test_png_sequence_keeps_the_source_frame_numbers(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"plate.{1001 + i:04d}.png"),
                    cv2.cvtColor(numbered_frame(i, 32, 24), cv2.COLOR_RGB2BGR))
    clip = mw.Clip.open(folder / "plate.%04d.png")
    clip[1:4].save(tmp_path / "out" / "comp.%04d.png")
    names = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert names == ["comp.1002.png", "comp.1003.png", "comp.1004.png"]
    clip.save(tmp_path / "renum" / "c.%04d.png", start_number=1)
    assert (tmp_path / "renum" / "c.0001.png").is_file()


def test_png_sequence_of_a_video_is_numbered_by_frame_index(tmp_path, media):
    src = write_video(media / "plain.mp4", 12)
    mw.Clip.open(src)[5:8].save(tmp_path / "seq" / "f.%03d.png")
    assert sorted(p.name for p in (tmp_path / "seq").glob("*.png")) == [
        "f.005.png", "f.006.png", "f.007.png"]


def test_new_sequence_folder_follows_the_umask(tmp_path):
    clip = mw.Clip.from_frames(np.zeros((2, 8, 8, 3), np.uint8))
    old = os.umask(0o022)
    try:
        clip.save(tmp_path / "new" / "f.%04d.png")
    finally:
        os.umask(old)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o755


# -- round trips per writer -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.mp4", "out.mov", "seq/out.%04d.png"])
def test_round_trip_keeps_rate_timecode_rotation_audio_depth(tmp_path, prores_master, name):
    clip = mw.Clip.open(prores_master)[3:23]
    target = tmp_path / name
    png = name.endswith(".png")
    if png:
        with pytest.warns(FidelityWarning, match="audio is not kept"):
            clip.save(target)
    else:
        clip.save(target)
    back = mw.Clip.open(target)
    assert back.fps == NTSC and len(back) == 20
    assert str(back.start_timecode) == str(clip.start_timecode) == "01:00:00;03"
    assert back.size == clip.size == (48, 64) and back.dtype == np.uint16
    assert frame_number(np.rot90(back[0], -1)) == 3  # the source's frame 3, upright
    if png:
        assert sorted(p.name for p in target.parent.glob("*.png"))[0] == "out.0003.png"
        assert np.array_equal(back[2], clip[2])
        return
    facts = streams(target)
    assert facts["rotation"] == 90
    assert facts["video"][1].endswith("10le") and back.info["source_bit_depth"] == 10
    assert facts["audio"][1] == 48000
    assert facts["audio"][2] == pytest.approx(20 / NTSC, abs=0.03)
    assert np.abs(back[2].astype(int) - clip[2].astype(int)).mean() < 2 * 257


def test_render_diffusion_takes_model(tmp_path, media, monkeypatch):
    import motionwright.rendering as rendering

    src = write_video(media / "proj.mp4", 6, size=(64, 48))
    project = mw.Project()
    ref = project.add_clip(src, id="shot")
    project.add_edit(ref.id, drag(mw.Clip.open(src)))
    path = project.save(tmp_path / "p.mwproj")
    seen = {}

    def fake(clip, edits, *, backend, models=None, progress=None):
        seen.update(backend=backend, models=models)
        return clip

    monkeypatch.setattr(rendering, "render", fake)
    assert main(["render", str(path), "-o", str(tmp_path / "r.mp4"), "--backend", "diffusion",
                 "--model", "/models/svd"]) == 0
    assert seen == {"backend": "diffusion", "models": "/models/svd"}


def test_frames_computed_like_a_clip_keep_its_media(tmp_path, phone_mp4):
    clip = mw.Clip.open(phone_mp4)[4:10]
    edited = mw.Clip.from_frames(255 - clip.to_array(), like=clip)
    assert edited.fps == clip.fps and edited.start_timecode == clip.start_timecode
    out = edited.save(tmp_path / "inverted.mp4")
    facts = streams(out)
    assert facts["rotation"] == 270
    assert facts["audio"][2] == pytest.approx(6 / 24, abs=0.03)
    assert str(mw.Clip.open(out).start_timecode) == "01:00:00:04"
    with pytest.raises(ShapeError, match="like: expected a clip of as many frames"):
        mw.Clip.from_frames(clip.to_array(), like=clip[:2])


def test_track_overlay_takes_codec_and_keeps_audio(tmp_path, phone_mp4):
    overlay = tmp_path / "overlay.mov"
    code = main(["track", str(phone_mp4), "--points", "20,30", "-o", str(tmp_path / "t.json"),
                 "--overlay", str(overlay), "--codec", "prores"])
    assert code == 0
    facts = streams(overlay)
    assert facts["video"][0] == "prores" and facts["audio"][0] == "aac"
    assert facts["rotation"] == 270


def test_warns_when_h264_cannot_keep_a_prores_master_chroma(tmp_path, prores_master):
    clip = mw.Clip.open(prores_master)
    with pytest.warns(FidelityWarning, match="prores 4:2:2 chroma is written as h264 4:2:0"):
        out = clip.save(tmp_path / "master.mp4")
    assert streams(out)["video"][:2] == ("h264", "yuv420p10le")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FidelityWarning)
        out = clip.save(tmp_path / "master.mov")
    assert streams(out)["video"][:2] == ("prores", "yuv422p10le")


def test_cli_prints_each_warning_once(tmp_path, prores_master, capsys):
    code = main(["drag", str(prores_master), "--handle", "20,20", "--target", "24,20",
                 "--mask-box", "10,10,30,20", "-o", str(tmp_path / "o.mp4")])
    assert code == 0
    assert capsys.readouterr().err.count("4:2:2 chroma") == 1
