"""The side panel never takes room from the viewer, whatever the inspector shows."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

import motionwright as mw


def settle(qtbot):
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(10)


def test_viewer_keeps_its_size_when_the_inspector_changes(qtbot, window, model):
    settle(qtbot)
    size = window.viewer.size()
    for j in range(12):  # a drag edit with many pairs: a tall, wide inspector
        model.add_drag_pair((5 + 6 * j, 10), (8 + 6 * j, 14))
    model.add_trajectory([(20, 20), (40, 30), (60, 20)])
    for index in (0, 1, None, 0):
        model.select(index)
        settle(qtbot)
        assert window.viewer.size() == size, f"selection {index}"
    tokens = mw.MotionEmbedding(
        [[[0.0] * 16] * 2] * 3,
        base_model={"family": "svd", "embedding_dim": 16, "fingerprint": "0" * 64})
    model.add_edit(mw.MotionTransfer(tokens))
    settle(qtbot)
    assert window.viewer.size() == size
    for tab in range(window.side_tabs.count()):
        window.side_tabs.setCurrentIndex(tab)
        settle(qtbot)
        assert window.viewer.size() == size
