"""OpenTimelineIO round trips: ``motionwright otio render`` renders only the clips carrying
Motionwright edits, keeps record ranges, durations and rational rates (23.976, 29.97 drop
frame), leaves untouched clips byte-for-byte equal; ``otio export`` writes a project."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import motionwright as mw
from motionwright.cli.main import main
from motionwright.edits import DragEdit
from motionwright.errors import InvalidInputError

otio = pytest.importorskip("opentimelineio")

W, H, N = 48, 32, 8
RATE = 24000 / 1001
NTSC = 30000 / 1001


@pytest.fixture()
def media(tmp_path):
    yy, xx = np.mgrid[0:H, 0:W]
    frames = np.stack([np.stack([(xx * 5 + i * 9) % 256, (yy * 7) % 256,
                                 (xx + yy + 30 * i) % 256], -1) for i in range(N)]).astype(np.uint8)
    path = mw.Clip.from_frames(frames, fps=Fraction(24000, 1001)).save(tmp_path / "shot.mov",
                                                                       codec="h264", crf=0)
    other = mw.Clip.from_frames(frames[::-1], fps=Fraction(30000, 1001)).save(
        tmp_path / "other.mov", codec="h264")
    edit = DragEdit(mw.PointSet(np.array([[20.0, 15.0]])), mw.PointSet(np.array([[28.0, 12.0]])),
                    mw.Mask.from_box(8, 6, 40, 26, (W, H)))
    return {"shot": path, "other": other, "edit": edit, "tmp": tmp_path}


def _clip(name, path, start, duration, rate, metadata=None):
    ref = otio.schema.ExternalReference(
        target_url=path.as_uri(),
        available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                otio.opentime.RationalTime(N, rate)))
    clip = otio.schema.Clip(name=name, media_reference=ref, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate)))
    if metadata:
        clip.metadata.update(metadata)
    return clip


def _timeline(media, with_metadata=True):
    timeline = otio.schema.Timeline(name="cut", global_start_time=otio.opentime.RationalTime(
        86400 * RATE, RATE))
    v1 = otio.schema.Track(name="V1")
    meta = {"motionwright": {"edits": [media["edit"].to_dict()], "start": 0}} if with_metadata \
        else None
    v1.append(_clip("edited", media["shot"], 2, 4, RATE, meta))
    v1.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, RATE), otio.opentime.RationalTime(3, RATE))))
    v1.append(_clip("plain", media["shot"], 0, 5, RATE, {"note": {"keep": [1, 2]}}))
    v2 = otio.schema.Track(name="V2")
    v2.append(_clip("ntsc_df", media["other"], 1, 6, NTSC,
                    {"timecode": {"drop_frame": True, "start": "00:59:59;28"}}))
    timeline.tracks.extend([v1, v2])
    path = media["tmp"] / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path


_KEEP: list = []  # timelines stay alive while their clips are compared (parents are weak)


def _clips(path):
    timeline = otio.adapters.read_from_file(str(path))
    _KEEP.append(timeline)
    return {c.name: c for c in timeline.find_clips()}


def _assert_timing_kept(before, after):
    for name, clip in before.items():
        new = after[name]
        assert new.range_in_parent() == clip.range_in_parent(), name
        assert new.source_range == clip.source_range and new.duration() == clip.duration(), name
        assert new.source_range.start_time.rate == clip.source_range.start_time.rate, name


def test_render_replaces_only_edited_clips_and_keeps_timing(media):
    src = _timeline(media)
    out = media["tmp"] / "out.otio"
    assert main(["otio", "render", str(src), "-o", str(out), "--handles", "1"]) == 0
    before, after = _clips(src), _clips(out)
    _assert_timing_kept(before, after)
    for name in ("plain", "ntsc_df"):  # untouched clips: identical serialisation
        assert otio.adapters.write_to_string(after[name]) == \
            otio.adapters.write_to_string(before[name])
    assert after["ntsc_df"].source_range.start_time.rate == NTSC
    assert after["edited"].source_range.start_time.rate == RATE
    ref = after["edited"].media_reference
    assert ref.target_url != before["edited"].media_reference.target_url
    rendered = mw.Clip.open(ref.target_url.removeprefix("file://"))
    # edits count from media frame 0; used frames 2..5 plus one handle: frames 0..6
    assert ref.available_range.start_time.value == 0
    assert ref.available_range.duration.value == 7 and len(rendered) == 7
    assert rendered.fps == Fraction(24000, 1001)
    meta = after["edited"].metadata["motionwright"]
    assert meta["rendered_from"] == media["shot"].as_uri()
    source = mw.Clip.open(media["shot"])
    want = mw.render(source[0:7], [media["edit"]]).to_array()
    got = rendered.to_array()
    plain = source[0:7].to_array()
    err_edit = np.abs(got.astype(int) - want.astype(int)).mean()  # re-encoded: near, not equal
    err_plain = np.abs(got.astype(int) - plain.astype(int)).mean()
    assert err_edit < 6 and err_edit < err_plain


def test_project_mapping_renders_clips_by_media_and_timeline_rates_survive(media):
    project = mw.Project()
    ref = project.add_clip(media["shot"], id="shot")
    project.add_edit(ref.id, media["edit"])
    proj = project.save(media["tmp"] / "p.mwproj")
    src = _timeline(media, with_metadata=False)
    out = media["tmp"] / "mapped.otio"
    calls = []

    def fake_render(path, edits, start, stop, out_path):
        calls.append((path, len(edits), start, stop))
        return mw.render(mw.Clip.open(path)[start:stop], edits).save(out_path)

    from motionwright.otio import render_timeline

    written = render_timeline(src, out, project=mw.Project.load(proj), render=fake_render)
    assert [c[1:] for c in calls] == [(1, 0, 6), (1, 0, 5)]  # both clips on shot.mov
    assert len(written) == 2
    timeline = otio.adapters.read_from_file(str(out))
    assert timeline.global_start_time == otio.opentime.RationalTime(86400 * RATE, RATE)
    _assert_timing_kept(_clips(src), _clips(out))


def test_export_writes_the_project_as_a_timeline_that_renders_back(media):
    project = mw.Project()
    ref = project.add_clip(media["shot"], id="shot", in_frame=1, out_frame=6)
    project.add_edit(ref.id, DragEdit(media["edit"].handles, media["edit"].targets,
                                      media["edit"].mask))
    proj = project.save(media["tmp"] / "e.mwproj")
    out = media["tmp"] / "export.otio"
    assert main(["otio", "export", str(proj), "-o", str(out)]) == 0
    (clip,) = _clips(out).values()
    assert clip.source_range.start_time.value == 1 and clip.duration().value == 5
    assert clip.source_range.start_time.rate == RATE
    assert clip.metadata["motionwright"]["start"] == 1
    again = media["tmp"] / "export_rendered.otio"
    assert main(["otio", "render", str(out), "-o", str(again)]) == 0
    _assert_timing_kept(_clips(out), _clips(again))


def test_bad_handles_and_bad_metadata_are_refused_by_name(media):
    from motionwright.otio import render_timeline

    with pytest.raises(InvalidInputError, match="handles"):
        render_timeline(_timeline(media), media["tmp"] / "x.otio", handles=-1)
    timeline = otio.adapters.read_from_file(str(_timeline(media)))
    timeline.find_clips()[0].metadata["motionwright"] = {"edits": "nope"}
    bad = media["tmp"] / "bad.otio"
    otio.adapters.write_to_file(timeline, str(bad))
    with pytest.raises(InvalidInputError, match=r"motionwright\.edits"):
        render_timeline(bad, media["tmp"] / "x.otio")
    assert main(["otio", "render", str(bad), "-o", str(media["tmp"] / "x.otio")]) == 2


def test_render_through_the_service(media, monkeypatch):
    pytest.importorskip("aiohttp")
    from motionwright.service import Service
    from motionwright.service.server import BackgroundServer

    monkeypatch.setenv("MOTIONWRIGHT_RUNTIME_DIR", str(media["tmp"] / "run"))
    service = Service(media["tmp"] / "data", workers=1).start()
    server = BackgroundServer(service, runtime_dir=media["tmp"] / "run").start()
    try:
        src = _timeline(media)
        out = media["tmp"] / "served.otio"
        assert main(["otio", "render", str(src), "-o", str(out), "--server", "--handles", "2"]) == 0
        states = [j["state"] for j in service.jobs()]
    finally:
        server.stop()
        service.stop(drain=False)
    before, after = _clips(src), _clips(out)
    _assert_timing_kept(before, after)
    ref = after["edited"].media_reference
    rendered = mw.Clip.open(ref.target_url.removeprefix("file://"))
    assert len(rendered) == 8 == ref.available_range.duration.value  # frames 0..7 (6 + 2)
    assert states == ["done"]
