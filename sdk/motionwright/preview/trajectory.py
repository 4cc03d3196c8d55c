"""The CPU preview of a :class:`~motionwright.TrajectoryEdit` (ReVideo's inputs).

ReVideo edits a region by taking its content on the trajectories' first frame (or the edited
``first_frame``) and moving it along the given trajectories while the rest of the video stays
as it was. The preview does the classical version on each frame of the trajectories' range:

- when the tracks move together (one track, or several related by one rotation–scale–
  translation within ``tolerance`` pixels), the region's content moves as one piece by that
  similarity, the place the region leaves (the region on this frame) is filled from its
  surroundings, and the content is pasted at its new place;
- otherwise (e.g. a path plus static anchor tracks) the region deforms by moving least squares
  from the points' first positions to their current ones while its outline stays put.

Only the region, where it goes, and a feathered seam change; every other pixel, and every frame
the trajectories do not cover, passes through untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .composite import contour_anchors, deform_region
from .layers import fit_similarity, move_layer, transform_points


class TrajectoryPreview:
    """Renders one TrajectoryEdit frame by frame; holds one content frame in memory.

    ``kind``: MLS flavour of a deformation; ``feather``: its seam width in pixels;
    ``tolerance``: how far (pixels) tracks may stray from one similarity and still move the
    region as one piece.
    """

    def __init__(self, clip: Any, edit: Any, *, kind: str = "similarity",
                 feather: float = 6.0, tolerance: float = 2.0) -> None:
        self.edit = edit
        self.kind = kind
        self.feather = feather
        self.tolerance = tolerance
        start = edit.trajectories.start_frame
        source = clip[start]
        content = edit.first_frame if edit.first_frame is not None else source
        if content.dtype != source.dtype:
            content = (content.astype(np.uint16) * 257 if content.dtype == np.uint8
                       else (content >> 8).astype(np.uint8))
        self.content = np.ascontiguousarray(content)
        self.footprint = edit.region.at(start)

    def _region_on(self, index: int) -> np.ndarray:
        region = self.edit.region
        if region.is_static or region.start_frame <= index < region.end_frame:
            return region.at(index)
        return self.footprint

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The edited frame ``index`` (``frame`` is that frame of the input)."""
        traj = self.edit.trajectories
        if not traj.start_frame <= index < traj.end_frame:
            return frame
        row = index - traj.start_frame
        both = traj.visible[0] & traj.visible[row]
        if not both.any():
            return frame
        src, dst = traj.tracks[0, both], traj.tracks[row, both]
        matrix = fit_similarity(src, dst)
        stray = np.linalg.norm(transform_points(matrix, src) - dst, axis=1).max()
        if stray <= self.tolerance:
            return move_layer(frame, self.content, self.footprint, matrix,
                              hole=self._region_on(index))
        region = self._region_on(index)
        perimeter = max(64.0, float(np.sqrt(region.sum())) * 4.0)
        pins = contour_anchors(region, spacing=max(12.0, perimeter / 64.0))
        return deform_region(frame, self.content, self.footprint, region, src, dst,
                             anchors=pins, kind=self.kind, feather=self.feather)
