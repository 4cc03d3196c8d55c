"""The viewer says when its frame is not the exact one; proxies and background opens in the
window."""

from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import QTimer

import motionwright as mw
from conftest import make_frames


def shown_index(win) -> int:
    """The red channel of pixel (0, 0) of the frame on screen (the test clip's frame index)."""
    return win.viewer.image.pixelColor(0, 0).red()


def badge_drawn(win) -> bool:
    """Whether the orange approximate-frame badge covers the viewer's top-left corner (the
    test frames' blue is 60 everywhere, the empty background's 28)."""
    c = win.viewer.grab().toImage().pixelColor(10, 18)
    return c.red() > 150 and 50 < c.green() < 130 and c.blue() < 50


def test_nearest_frame_is_marked_approximate_until_the_exact_one_arrives(qtbot, window,
                                                                        model):
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.exact, timeout=5000)
    assert viewer.quality == "exact" and not window.status_quality.isVisible()
    assert not badge_drawn(window)
    window.loader.close()  # nothing more gets decoded: the frame on screen stays
    window.loader.cache.clear()
    model.set_playhead(5)
    assert viewer.shown[1] != 5 and viewer.quality == "approximate"
    assert window.status_quality.isVisible()
    assert "approximate frame: showing" in window.status_quality.text()
    assert "decoding 5" in window.status_quality.text()
    assert badge_drawn(window)
    key = viewer.source()[0]
    frame = model.clip[5]
    window.loader.cache.put(key, 5, frame)
    window.loader.frame_ready.emit(key, 5, frame)
    assert viewer.quality == "exact" and shown_index(window) == 5
    assert not window.status_quality.isVisible()
    assert not badge_drawn(window)


def test_scrubbing_shows_the_proxy_frame_then_full_resolution(qtbot, window, model):
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.exact, timeout=5000)
    seen = []
    viewer.quality_changed.connect(lambda: seen.append(
        (viewer.quality, viewer.shown[1], viewer.image.width())))
    model.proxy_clip = mw.Clip.from_frames(make_frames(12, (48, 32)), fps=Fraction(24))
    model.proxy_changed.emit()
    window.loader.cache.clear()  # frame 7 was prefetched
    model.set_playhead(7)
    qtbot.waitUntil(lambda: viewer.exact, timeout=5000)
    assert ("proxy", 7, 48) in seen
    assert seen.index(("proxy", 7, 48)) < seen.index(("exact", 7, 96))
    assert shown_index(window) == 7 and viewer.image.width() == 96


def test_proxy_frame_is_labelled_in_the_status_bar(qtbot, window, model):
    viewer = window.viewer
    window.loader.close()
    window.loader.cache.clear()
    model.proxy_clip = mw.Clip.from_frames(make_frames(12, (48, 32)), fps=Fraction(24))
    model.proxy_changed.emit()
    model.set_playhead(4)
    qtbot.waitUntil(lambda: viewer.quality == "proxy", timeout=5000)
    assert shown_index(window) == 4
    assert window.status_quality.text() == "proxy frame (48×32)"



def test_window_stays_responsive_while_opening_and_can_cancel(qtbot, window, model,
                                                              tmp_path, gated_load):
    other = tmp_path / "other"
    mw.Clip.from_frames(make_frames(5, (64, 48)), fps=Fraction(24)).save(other, codec="png")
    shown = model.clip
    assert window.open_path(other)
    assert window.open_progress.isVisible()
    assert "other" in window.open_progress.label.text()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.wait(200)
    timer.stop()
    assert len(ticks) >= 5  # the event loop kept running during the open
    assert model.clip is shown
    window.open_progress.cancel_button.click()
    assert not window.open_progress.isVisible()
    gated_load.set()
    qtbot.wait(300)
    assert model.clip is shown


def test_window_open_shows_the_clip_when_ready(qtbot, window, model, tmp_path):
    other = tmp_path / "other"
    mw.Clip.from_frames(make_frames(5, (64, 48)), fps=Fraction(24)).save(other, codec="png")
    assert window.open_path(other)
    qtbot.waitUntil(lambda: model.num_frames == 5, timeout=10000)
    assert not window.open_progress.isVisible()
    qtbot.waitUntil(lambda: window.viewer.exact, timeout=5000)
    assert window.status_size.text().startswith("64×48")


def test_create_window_can_open_its_clip_in_the_background(qtbot, clip_path):
    from motionwright_gui.app import create_window

    window = create_window(clip_path, recovery=False, background=True)
    qtbot.addWidget(window)
    assert window.model.opening is not None and window.model.opening.kind == "open"
    qtbot.waitUntil(lambda: window.model.num_frames == 12, timeout=10000)
    window.close()
