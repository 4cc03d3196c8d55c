"""The documentation screenshot: the bundled sample shot with a drag pair, its mask and a
trajectory, laid out at 1600×1000.

``python -m motionwright_gui.demo docs/editor.png`` regenerates ``docs/editor.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import motionwright as mw
from motionwright.path import trajectory_from_path
from motionwright.sample import sample_drag_edit, sample_shot_path


def demo_project(folder: str | os.PathLike) -> Path:
    """Write ``demo.mwproj`` in ``folder``: the sample shot, its demo drag edit (handle,
    target, box mask) and a trajectory moving the rectangle along a curve with one static
    anchor. Returns the project path."""
    project = mw.Project()
    ref = project.add_clip(sample_shot_path())
    size = (640, 360)
    project.add_edit(ref.id, sample_drag_edit())
    region = mw.Mask.from_polygon(np.array([[345, 105], [485, 105], [485, 205], [345, 205]],
                                           np.float32), size=size)
    path = np.array([[415, 155], [450, 175], [500, 215], [560, 250], [600, 300]], np.float32)
    traj = trajectory_from_path(path, 48, timing="ease", anchors=[[300, 300]], start_frame=0)
    project.add_edit(ref.id, mw.TrajectoryEdit(region, traj))
    return project.save(Path(folder) / "demo.mwproj")


def main(argv: list[str] | None = None) -> int:
    """Write the screenshot to the path given (default ``docs/editor.png``)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("docs/editor.png")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .app import create_window, screenshot
    from .model.quitting import close_anyway

    with tempfile.TemporaryDirectory() as tmp:
        window = create_window(demo_project(tmp), recovery=False)
        model = window.model
        model.set_playhead(0)
        model.add_track_point((221.3, 151.0))
        model.add_track_point((278.3, 193.0))
        model.add_track_point((441.9, 120.3))
        model.select(1)
        screenshot(window, out)
        window.ask = close_anyway
        window.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
