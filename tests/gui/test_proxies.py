"""Scrubbing proxies: where they live, how they are built, reused, cancelled and cleaned."""

from __future__ import annotations

import os
import time
from fractions import Fraction

import numpy as np
import pytest

import motionwright as mw
from conftest import make_frames, wait_until
from motionwright_gui.model import EditorModel, proxies


@pytest.fixture
def video(tmp_path):
    """A 12-frame 96×64 H.264 clip with a start timecode."""
    path = tmp_path / "shot.mp4"
    clip = mw.Clip.from_frames(make_frames(12), fps=Fraction(25), start_timecode="01:00:00:00")
    clip.save(path, codec="h264")
    return path


@pytest.fixture
def small_proxies(monkeypatch):
    """Proxies 32 pixels high, so the 64-pixel test clip gets one."""
    monkeypatch.setattr(proxies, "PROXY_HEIGHT", 32)


def test_proxy_size_keeps_aspect_and_even_sides():
    assert proxies.proxy_size((1920, 1080)) == (960, 540)
    assert proxies.proxy_size((4096, 2160)) == (1024, 540)
    assert proxies.proxy_size((1280, 537), height=200) == (476, 200)
    assert proxies.proxy_size((1280, 540)) is None


def test_proxy_path_follows_path_size_and_mtime(video, tmp_path):
    first = proxies.proxy_path(video)
    assert first.parent == proxies.proxy_folder() and first.suffix == ".mp4"
    assert str(first.parent).startswith(os.environ["MOTIONWRIGHT_GUI_CACHE"])
    assert proxies.proxy_path(str(video)) == first
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert proxies.proxy_path(video) != first
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(video.read_bytes())
    assert proxies.proxy_path(copy) != proxies.proxy_path(video)


def test_build_proxy_is_all_intra_and_keeps_timing(video, tmp_path, small_proxies):
    clip = mw.Clip.open(video)
    out = proxies.build_proxy(clip, tmp_path / "p.mp4")
    proxy = mw.Clip.open(out)
    assert proxy.size == (48, 32) and len(proxy) == len(clip)
    assert proxy.fps == clip.fps and proxy.start_timecode == clip.start_timecode
    assert list(proxy.source.index.key_frames) == list(range(len(proxy)))
    # frame 7's moving square (columns 17..24 at full size) lands at columns ~8..12
    row = np.asarray(proxy[7])[12, :, :].mean(axis=1)
    assert row[9:12].min() > 200 and row[2:6].max() < 200


def test_build_proxy_refuses_a_small_clip(video, tmp_path):
    with pytest.raises(mw.errors.InvalidInputError, match="no taller than 540"):
        proxies.build_proxy(mw.Clip.open(video), tmp_path / "p.mp4")


def test_cancelled_build_leaves_nothing(video, tmp_path, small_proxies):
    token = mw.CancelToken()
    seen = []

    def progress(event):
        seen.append(event.fraction)
        if len(seen) == 3:
            token.cancel()

    with pytest.raises(mw.errors.Cancelled):
        proxies.build_proxy(mw.Clip.open(video), tmp_path / "p.mp4", progress, token)
    assert list(tmp_path.glob("*p.mp4*")) == []


def test_stale_half_written_proxies_are_removed(tmp_path):
    old, fresh = tmp_path / ".a.mp4.x1.part.mp4", tmp_path / ".b.mp4.x2.part.mp4"
    done = tmp_path / "c.mp4"
    for p in (old, fresh, done):
        p.write_bytes(b"x")
    past = time.time() - 2 * proxies.STALE_PART_SECONDS
    os.utime(old, (past, past))
    os.utime(done, (past, past))
    assert proxies.remove_stale_parts(tmp_path) == 1
    assert not old.exists() and fresh.exists() and done.exists()


def test_model_builds_then_reuses_the_proxy(video, small_proxies):
    model = EditorModel()
    model.open(video)
    assert model.proxy_job is not None
    assert wait_until(lambda: model.proxy_clip is not None) and len(model.proxy_clip) == 12
    stored = proxies.proxy_path(video)
    built = stored.stat().st_mtime_ns
    again = EditorModel()
    again.open(video)
    assert wait_until(lambda: again.proxy_clip is not None)
    assert stored.stat().st_mtime_ns == built
    assert [j.state for j in again.jobs.jobs] == ["done"]


def test_opening_another_clip_cancels_the_build_and_drops_the_proxy(video, clip_path,
                                                                    small_proxies):
    model = EditorModel()
    changes = []
    model.proxy_changed.connect(lambda: changes.append(model.proxy_clip))
    model.open(video)
    job = model.proxy_job
    model.open(clip_path)
    assert job.cancel_token.cancelled and model.proxy_job is None
    assert model.jobs.wait(60)
    assert model.proxy_clip is None
    assert list(proxies.proxy_folder().glob(".*.part.mp4")) == []


def test_no_proxy_when_disabled_or_not_needed(video, clip_path, small_proxies):
    model = EditorModel()
    model.use_proxies = False
    model.open(video)
    assert model.proxy_job is None and model.proxy_clip is None
    model.use_proxies = True
    model.open(clip_path)  # an image sequence decodes any frame directly
    assert model.proxy_job is None
