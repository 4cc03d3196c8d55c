"""A soak run of the editor, offscreen, in its own process.

``python tests/gui/soak.py CLIP --play-seconds S --steps N`` opens the editor on ``CLIP`` with a
drag pair and a trajectory drawn over every frame, plays at 8× for ``S`` seconds, steps
``N`` frames with the arrow keys (forwards, then back), and prints one JSON line: frames
painted, frames the playhead visited and the change of ``sys.getrefcount(None)``. A build
that corrupts reference counts aborts the process instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("clip")
    parser.add_argument("--play-seconds", type=float, default=4.0)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from motionwright_gui.app import application, create_window
    from motionwright_gui.model.quitting import close_anyway

    app = application()
    window = create_window(args.clip, recovery=False)
    window.ask = close_anyway  # the drawn edits are unsaved: closing must not wait on a dialog
    model = window.model
    w, h = model.clip.size
    model.add_drag_pair((w * 0.3, h * 0.4), (w * 0.5, h * 0.45))
    model.add_trajectory([(w * 0.1, h * 0.2), (w * 0.5, h * 0.7), (w * 0.9, h * 0.3)])
    model.select(None)
    window.resize(800, 500)
    window.show()
    window.activateWindow()
    window.viewer.setFocus()
    painted = [0]
    original_paint = window.viewer.paintEvent

    def counting_paint(event):
        painted[0] += 1
        original_paint(event)

    window.viewer.paintEvent = counting_paint
    visited = [0]
    model.playhead_changed.connect(lambda: visited.__setitem__(0, visited[0] + 1))
    for _ in range(20):
        app.processEvents()
    before = sys.getrefcount(None)

    window.shuttle(1)
    for _ in range(3):
        window.shuttle(1)
    end = time.monotonic() + args.play_seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    window.set_speed(0)
    n = model.num_frames
    for k in range(args.steps):
        forward = (k // (n - 1)) % 2 == 0
        QTest.keyClick(window.viewer, Qt.Key.Key_Right if forward else Qt.Key.Key_Left)
        app.processEvents()
    for _ in range(20):
        app.processEvents()
    drift = sys.getrefcount(None) - before
    window.close()
    print(json.dumps({"painted": painted[0], "visited": visited[0], "none_drift": drift}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
