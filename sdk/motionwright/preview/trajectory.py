"""The CPU preview of a :class:`~motionwright.TrajectoryEdit` (ReVideo's inputs).

ReVideo edits a region by broadcasting the (optionally edited) first frame's content and moving
it along the given trajectories while the rest of the video stays as it was. The preview does
the classical version: on each frame of the trajectories' range, the region's content on their
first frame (or ``first_frame``) is warped by moving least squares from the points' first
positions to their current ones while the region's outline stays put (so the unedited video
around it joins seamlessly), any part of the region whose content would come from outside it is
filled from the surroundings, and the seam is feathered inside the region. Outside the
region, and on frames the trajectories do not cover, the input passes through untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .composite import contour_anchors, deform_region


class TrajectoryPreview:
    """Renders one TrajectoryEdit frame by frame; holds one content frame in memory.

    ``kind``: MLS flavour; ``feather``: seam width in pixels; ``pin_outline``: keep the
    region's outline in place (False moves the whole region's content with the trajectories
    and fills what it uncovers).
    """

    def __init__(self, clip: Any, edit: Any, *, kind: str = "similarity",
                 feather: float = 6.0, pin_outline: bool = True) -> None:
        self.edit = edit
        self.kind = kind
        self.feather = feather
        self.pin_outline = pin_outline
        traj = edit.trajectories
        start = traj.start_frame
        content = edit.first_frame if edit.first_frame is not None else clip[start]
        if content.dtype != clip[start].dtype:
            content = (content.astype(np.uint16) * 257 if content.dtype == np.uint8
                       else (content >> 8).astype(np.uint8))
        self.content = np.ascontiguousarray(content)
        self.content_valid = edit.region.at(start)

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The edited frame ``index`` (``frame`` is that frame of the input)."""
        traj = self.edit.trajectories
        if not traj.start_frame <= index < traj.end_frame:
            return frame
        region_mask = self.edit.region
        if not region_mask.is_static and not (
                region_mask.start_frame <= index < region_mask.end_frame):
            return frame
        row = index - traj.start_frame
        both = traj.visible[0] & traj.visible[row]
        if not both.any():
            return frame
        region = region_mask.at(index)
        anchors = None
        if self.pin_outline:
            perimeter = max(64.0, float(np.sqrt(region.sum())) * 4.0)
            anchors = contour_anchors(region, spacing=max(12.0, perimeter / 64.0))
        return deform_region(frame, self.content, self.content_valid, region,
                             traj.tracks[0, both], traj.tracks[row, both], anchors=anchors,
                             kind=self.kind, feather=self.feather)
