"""Clip.open reports indexing progress and can be cancelled part-way."""

import os
import threading
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

import motionwright as mw
from clip_fixtures import LONG_GOP, made, media_dir, numbered_frame
from motionwright.errors import Cancelled, InvalidInputError
from motionwright.io.video_index import CHECK_EVERY_PACKETS, REPORTS_PER_SCAN, scan_packets
from motionwright.progress import Reporter

__all__ = ["media_dir"]  # fixture used by name below


def _video(media_dir, ext):
    audio = {"mp4": "aac", "mov": "aac", "mkv": "aac", "ts": "mp2"}[ext]
    return made(media_dir, f"indexed.{ext}", 120, options=LONG_GOP, audio=audio)


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


@pytest.mark.parametrize("ext", ["mp4", "mov", "mkv", "ts"])
def test_progress_counts_bytes_then_frames_checked(media_dir, ext):
    path = _video(media_dir, ext)
    events = []
    clip = mw.Clip.open(path, progress=events.append)
    stages = [e.stage for e in events]
    split = stages.index("verify")
    assert set(stages[:split]) == {"index"} and set(stages[split:]) == {"verify"}
    index, verify = events[:split], events[split:]
    size = path.stat().st_size
    assert {e.total for e in index} == {size}
    done = [e.done for e in index]
    assert done == sorted(done) and done[-1] == size and done[0] < size
    assert 3 <= len(index) <= REPORTS_PER_SCAN + 1
    checked = 16 + (120 - 72)  # the head frames, then the last GOP (frames 72 to 119)
    assert [e.done for e in verify] == list(range(1, checked + 1))
    assert {e.total for e in verify} == {checked}
    assert events[-1].fraction == 1.0 and events[-1].eta == 0
    plain = mw.Clip.open(path)
    assert len(clip) == len(plain) == 120 and clip.fps == plain.fps
    np.testing.assert_array_equal(clip._source.index.pts, plain._source.index.pts)


@pytest.mark.parametrize("kind", ["token", "event", "callable"])
def test_cancel_part_way_raises_and_leaves_nothing_open(media_dir, tmp_path, kind):
    path = _video(media_dir, "mp4")
    token = mw.CancelToken()
    flag = threading.Event()
    cancel = {"token": token, "event": flag, "callable": flag.is_set}[kind]
    events = []

    def progress(event):
        events.append(event)
        if len(events) == 3:
            token.cancel()
            flag.set()

    fds = _open_fds()
    listing = sorted(os.listdir(path.parent))
    with pytest.raises(Cancelled, match="index cancelled"):
        mw.Clip.open(path, progress=progress, cancel=cancel)
    assert len(events) == 3 and events[-1].done < events[-1].total
    assert _open_fds() <= fds and sorted(os.listdir(path.parent)) == listing
    assert len(mw.Clip.open(path)) == 120


def test_cancel_while_checking_the_last_gop(media_dir):
    path = _video(media_dir, "mkv")
    token = mw.CancelToken()
    events = []

    def progress(event):
        events.append(event)
        if event.stage == "verify" and event.done == 20:
            token.cancel()

    fds = _open_fds()
    with pytest.raises(Cancelled, match="verify cancelled after 20 of 64"):
        mw.Clip.open(path, progress=progress, cancel=token)
    assert events[-1].stage == "verify" and events[-1].done == 20
    assert _open_fds() <= fds


def test_cancel_without_progress_stops_before_indexing_ends(media_dir):
    path = _video(media_dir, "mkv")
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(Cancelled):
        mw.Clip.open(path, cancel=cancel)
    assert len(calls) == 2


def test_packets_without_a_byte_offset_still_check_cancel():
    packets = [SimpleNamespace(size=10, pos=None, is_discard=False, pts=i, is_keyframe=i == 0)
               for i in range(CHECK_EVERY_PACKETS * 3)]
    container = SimpleNamespace(demux=lambda stream: iter(packets))
    token = mw.CancelToken()
    token.cancel()
    with pytest.raises(Cancelled, match=f"after 0 of {10 * len(packets)}"):
        scan_packets(container, None, Reporter("index", 10 * len(packets), None, token))
    assert len(scan_packets(container, None).pts) == len(packets)


def test_image_sequence_reports_one_step_and_honours_cancel(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f.{i:04d}.png"), numbered_frame(i)[..., ::-1])
    events = []
    clip = mw.Clip.open(tmp_path, progress=events.append)
    assert len(clip) == 3
    assert [(e.stage, e.done, e.total) for e in events] == [("index", 1, 1)]
    with pytest.raises(Cancelled):
        mw.Clip.open(tmp_path, cancel=lambda: True)


def test_bad_progress_and_cancel_are_refused(media_dir):
    path = _video(media_dir, "mp4")
    with pytest.raises(InvalidInputError, match="progress: expected a callable"):
        mw.Clip.open(path, progress=42)
    with pytest.raises(InvalidInputError, match="cancel: expected a CancelToken"):
        mw.Clip.open(path, cancel="stop")


def test_cli_info_shows_the_indexing_progress(media_dir, monkeypatch, capsys):
    from motionwright.cli import _common, cmd_info
    from motionwright.cli.main import main

    path = _video(media_dir, "mkv")
    # The bar shows only for an open over a second; this file opens faster.
    monkeypatch.setattr(cmd_info, "progress_bar", lambda: _common._Bar(delay=0.0))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr()
    size = path.stat().st_size
    assert f"index: {size}/{size} in " in out.err and "120" in out.out
