"""Warnings and errors stay listed in the Messages panel instead of flashing by."""

from __future__ import annotations

import pytest

import motionwright as mw
from clip_fixtures import write_video
from motionwright_gui.model.notices import NoticeLog


@pytest.fixture
def truncated(tmp_path):
    """A Matroska file cut after about 60% of its bytes (some frames no longer decode)."""
    full = write_video(tmp_path / "full.mkv", 48, size=(64, 48),
                       options={"g": "8", "keyint_min": "8"})
    cut = tmp_path / "cut.mkv"
    data = full.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    return cut


def test_opening_a_truncated_file_logs_a_warning_each_time(model, truncated):
    model.open(truncated)
    assert 0 < len(model.clip) < 48
    warnings = [n for n in model.notices.items if n.level == "warning"]
    assert len(warnings) == 1
    assert "cut.mkv" in warnings[0].text and "frames decode" in warnings[0].text
    model.open(truncated)
    assert model.notices.count("warning") == 2


def test_log_keeps_the_newest_and_refuses_unknown_levels():
    log = NoticeLog(limit=3)
    seen = []
    log.added.connect(seen.append)
    for i in range(5):
        log.add("error", f"e{i}")
    assert [n.text for n in log.items] == ["e2", "e3", "e4"] and len(seen) == 5
    with pytest.raises(mw.errors.InvalidInputError, match="level"):
        log.add("fatal", "x")
    log.clear()
    assert log.items == [] and log.count() == 0


def test_window_shows_open_warning_in_messages_panel(qtbot, window, truncated):
    assert window.open_path(truncated)  # opens in the background
    qtbot.waitUntil(lambda: window.messages.texts() != [], timeout=30000)
    assert window.side_tabs.currentWidget() is window.messages
    rows = window.messages.texts()
    assert len(rows) == 1 and "warning: " in rows[0] and "cut.mkv" in rows[0]
    window.statusBar().clearMessage()  # the status bar forgets; the panel does not
    assert window.messages.texts() == rows


def test_errors_are_counted_until_the_panel_is_seen(qtbot, window, model, tmp_path):
    window.side_tabs.setCurrentWidget(window.inspector)
    assert not window.open_path(tmp_path / "missing.mov")
    window.actions_by_name["track"].trigger()  # nothing to track: an error too
    tab = window.side_tabs.indexOf(window.messages)
    assert window.side_tabs.tabText(tab) == "Messages (2)"
    rows = window.messages.texts()
    assert "missing.mov" in rows[1] and "Points tool" in rows[0]
    window.side_tabs.setCurrentWidget(window.messages)
    assert window.side_tabs.tabText(tab) == "Messages"
    window.messages.clear_button.click()
    assert window.messages.texts() == [] and model.notices.items == []
