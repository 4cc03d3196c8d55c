"""The bundled sample shot and its demo drag edit (``resources/sample_shot.*``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ._persist import read_json


def sample_shot_path() -> Path:
    """Path of the bundled sample shot (H.264, 48 frames, 640×360, 24 fps)."""
    return Path(str(resources.files("motionwright_resources") / "sample_shot.mp4"))


def sample_drag_edit():
    """The demo's :class:`~motionwright.DragEdit` on the sample shot: one handle on the top
    edge of a moving object, dragged up and to the right, inside a box mask."""
    from .edits import DragEdit
    from .types import Mask, PointSet

    meta = read_json(sample_shot_path().with_suffix(".json"), "sample shot description")
    drag = meta["drag"]
    return DragEdit(
        handles=PointSet(drag["handles"], frame=drag["frame"]),
        targets=PointSet(drag["targets"], frame=drag["frame"]),
        mask=Mask.from_box(*drag["mask_box"], size=tuple(meta["size"])),
    )


def sample_ground_truth():
    """Ground-truth tracks of points on the sample's moving objects (a Trajectory)."""
    from .types import Trajectory

    meta = read_json(sample_shot_path().with_suffix(".json"), "sample shot description")
    return Trajectory.from_dict(meta["ground_truth"])
