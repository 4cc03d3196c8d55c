"""Frames diffusion skipped under ``stride``: warped along the tracked motion."""

from __future__ import annotations

import numpy as np


class StrideCarry:
    """Frames skipped by ``stride``: the drag displacement of the neighbouring processed rows,
    interpolated in time, moves each frame's tracked handle sets (the preview's MLS warp)."""

    def __init__(self, prop, rows, handles_native, region_at, box, native, feather) -> None:
        self.prop, self.rows = prop, np.asarray(rows)
        self.disp = handles_native - prop.handles[rows]
        self.region_at, self.box, self.native, self.feather = region_at, box, native, feather

    def __call__(self, row: int, frame: np.ndarray) -> np.ndarray:
        import cv2

        from ...preview.composite import contour_anchors, deform_region

        prop = self.prop
        j = int(np.searchsorted(self.rows, row))
        a, b = self.rows[j - 1], self.rows[j]
        w = (row - a) / (b - a)
        move = (1 - w) * self.disp[j - 1] + w * self.disp[j]
        width, height = self.native
        region = self.region_at(row)
        if region is None:
            x0, y0, x1, y1 = self.box
            region = np.zeros((height, width), bool)
            region[y0:y1, x0:x1] = True
        elif not region.any():
            region = prop.mask(prop.start_frame + row, self.native)
        if not region.any():
            return frame
        anchors = contour_anchors(region, spacing=24.0)
        valid = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        return deform_region(frame, frame, valid, region, prop.handles[row],
                             prop.handles[row] + move, anchors=anchors, feather=self.feather)

