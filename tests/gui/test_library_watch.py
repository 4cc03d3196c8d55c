"""The motion library notices .motion files copied into its folders while the editor runs."""

from __future__ import annotations

import numpy as np
import pytest

import motionwright as mw
from motionwright_gui.model.library import library_entries, library_fingerprint


def motion(d=4):
    return mw.MotionEmbedding(np.zeros((3, 2, d), np.float32),
                              base_model={"family": "svd", "embedding_dim": d,
                                          "fingerprint": "test"})


@pytest.fixture
def lib(tmp_path, monkeypatch):
    folder = tmp_path / "lib"
    monkeypatch.setenv("MOTIONWRIGHT_MOTION_LIBRARY", str(folder))
    return folder


def test_fingerprint_follows_files_in_user_and_project_folders(model, lib, tmp_path):
    empty = library_fingerprint(model)
    assert library_entries(model) == []
    lib.mkdir()
    motion().save(lib / "wave.motion")
    with_user = library_fingerprint(model)
    assert with_user != empty
    model.save(tmp_path / "job" / "p.mwproj")
    (tmp_path / "job" / "motions").mkdir()
    motion().save(tmp_path / "job" / "motions" / "walk.motion")
    (tmp_path / "job" / "motions" / "notes.txt").write_text("not a motion")
    assert library_fingerprint(model) != with_user
    entries = {e["name"]: e for e in library_entries(model)}
    assert set(entries) == {"walk", "wave"}
    assert entries["walk"]["scope"] == "project" and entries["wave"]["scope"] == "user"
    assert entries["walk"]["summary"] is not None


def test_half_copied_file_is_listed_unreadable_then_read_when_complete(model, lib):
    lib.mkdir()
    motion().save(lib / "done.motion")
    data = (lib / "done.motion").read_bytes()
    part = lib / "copying.motion"
    part.write_bytes(data[: len(data) // 2])
    before = library_fingerprint(model)
    assert {e["name"]: e["summary"] for e in library_entries(model)}["copying"] is None
    part.write_bytes(data)
    assert library_fingerprint(model) != before
    assert {e["name"]: e["summary"] for e in library_entries(model)}["copying"] is not None


def test_panel_shows_new_and_removed_files_without_restart(qtbot, model, lib):
    from motionwright_gui.qt.panels import LibraryPanel

    panel = LibraryPanel(model, poll_ms=30)
    qtbot.addWidget(panel)
    assert panel.list.count() == 0 and str(lib) in panel.info.text()
    lib.mkdir()
    motion().save(lib / "wave.motion")
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=3000)
    panel.list.setCurrentRow(0)
    motion().save(lib / "bounce.motion")
    qtbot.waitUntil(lambda: panel.list.count() == 2, timeout=3000)
    assert panel.list.currentItem().text().startswith("wave")  # selection kept
    (lib / "wave.motion").unlink()
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=3000)
    assert not panel.poll()  # nothing changed since: no re-read
