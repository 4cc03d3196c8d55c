"""The CPU preview of a :class:`~motionwright.DragEdit`.

Set-up (once): the drag is propagated through the clip (Drag-A-Video §3.2, see
:func:`motionwright.propagation.propagate_drag`): 3×3 handle point sets tracked, background set
points moved by eq. (1), targets by eq. (2), and points sampled inside the mask tracked with
them. Per frame: the region to edit is the user's mask carried along by a similarity fitted to
its tracked points (or the frame's own mask where an animated mask covers it; without any mask,
capsules around each handle–target pair); the region deforms by moving least squares so each
propagated handle lands on its propagated target while the region's outline stays put, content
pulled in from outside the region is filled, and the seam is feathered inside the region.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..propagation import propagate_drag
from .composite import contour_anchors, deform_region


class DragPreview:
    """Renders one DragEdit frame by frame after a one-off propagation.

    ``kind``: MLS flavour ("rigid" or "similarity"); ``feather``: seam width in pixels;
    ``k``, ``spacing``: handle point-set size and spacing.
    """

    def __init__(self, clip: Any, edit: Any, *, kind: str = "rigid", feather: float = 8.0,
                 k: int = 3, spacing: float = 4.0, progress: Any = None,
                 cancel: Any = None) -> None:
        self.edit = edit
        self.kind = kind
        self.feather = feather
        self.size = clip.size
        width, height = clip.size
        self.prop = propagate_drag(clip, edit.handles, edit.targets, mask=edit.mask, k=k,
                                   spacing=spacing, mask_spacing=self._mask_spacing(edit),
                                   progress=progress, cancel=cancel)
        key = edit.frame
        self._key_mask = None if edit.mask is None else np.ascontiguousarray(
            edit.mask.at(key), dtype=np.uint8)
        self._key_mask_points = self.prop.mask_tracks[self.prop.key_row]
        k2 = k * k
        n = len(edit.handles)
        self._centres = np.arange(n) * k2 + k2 // 2
        shift = np.linalg.norm(edit.targets.points - edit.handles.points, axis=1)
        self._radius = np.maximum(max(24.0, 0.08 * min(width, height)), 0.8 * shift)

    @staticmethod
    def _mask_spacing(edit: Any) -> int:
        if edit.mask is None:
            return 16
        box = edit.mask.bbox(edit.frame)
        if box is None:
            return 16
        side = max(box[2] - box[0], box[3] - box[1]) if len(box) == 4 else 64
        return int(np.clip(side / 8, 8, 48))

    def region(self, index: int) -> np.ndarray:
        """The ``(H, W)`` bool region edited on frame ``index``."""
        width, height = self.size
        row = index - self.prop.start_frame
        mask = self.edit.mask
        if mask is not None and not mask.is_static and mask.start_frame <= index < mask.end_frame:
            return mask.at(index)
        if self._key_mask is not None:
            if index == self.edit.frame:
                return self._key_mask.astype(bool)
            vis = self.prop.mask_visible[row]
            src = self._key_mask_points[vis]
            dst = self.prop.mask_tracks[row][vis]
            matrix = None
            if len(src) >= 3:
                matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                                        ransacReprojThreshold=3.0)
            if matrix is None:
                fg = self.prop.foreground
                move = (self.prop.handles[row, fg] - self.prop.handles[self.prop.key_row, fg])
                matrix = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
                matrix[:, 2] = np.median(move, axis=0) if len(move) else 0.0
            warped = cv2.warpAffine(self._key_mask, matrix, (width, height),
                                    flags=cv2.INTER_NEAREST, borderValue=0)
            return warped.astype(bool)
        out = np.zeros((height, width), np.uint8)
        handles = self.prop.handles[row, self._centres]
        targets = self.prop.targets[row, self._centres]
        for p, q, r in zip(handles, targets, self._radius, strict=True):
            a, b = (round(float(p[0])), round(float(p[1]))), (round(float(q[0])),
                                                                round(float(q[1])))
            cv2.line(out, a, b, 1, thickness=2 * round(float(r)) + 1)
            cv2.circle(out, a, round(float(r)), 1, -1)
            cv2.circle(out, b, round(float(r)), 1, -1)
        return out.astype(bool)

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The edited frame ``index`` (``frame`` is that frame of the input)."""
        row = index - self.prop.start_frame
        if not 0 <= row < len(self.prop.handles):
            return frame
        region = self.region(index)
        if not region.any():
            return frame
        perimeter = max(64.0, float(np.sqrt(region.sum())) * 4.0)
        anchors = contour_anchors(region, spacing=max(12.0, perimeter / 64.0))
        valid = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        return deform_region(frame, frame, valid, region, self.prop.handles[row],
                             self.prop.targets[row], anchors=anchors, kind=self.kind,
                             feather=self.feather)
