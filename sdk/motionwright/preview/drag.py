"""The CPU preview of a :class:`~motionwright.DragEdit`.

Set-up (once): the drag is propagated through the clip (Drag-A-Video §3.2, see
:func:`motionwright.propagation.propagate_drag`): 3×3 handle point sets tracked, background set
points moved by eq. (1), targets by eq. (2), and points sampled inside the mask tracked with
them. The object being dragged is segmented inside the region on the drag frame
(:func:`~.objects.object_mask`).

Per frame: the region (the user's mask, or capsules around each handle–target pair without
one) and the object are carried along by a similarity fitted to the tracked mask points (or
the frame's own mask where an animated mask covers it). Then, as the diffusion method would
render it, the object moves as one piece by the similarity that best takes the handles onto
their targets — a translation for one handle — the place it leaves is filled from the band
of background around it, and whatever covers the object on that frame (pixels that no longer
look like it) stays in front. With ``anchors`` the drag is a deformation instead: the region
bends by moving least squares so the handles reach their targets while the anchors and the
region's outline stay put. Pixels outside the region are never changed.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..propagation import propagate_drag
from ..propagation.dragavideo import split_foreground
from .boxes import bounding_box
from .composite import contour_anchors, deform_region, feather_alpha
from .layers import IDENTITY, blend, fit_similarity, in_box, move_layer, transform_points
from .objects import object_mask

#: Difference in brightness of the colour difference (8-bit scale, averaged over 7×7 pixels)
#: beyond which a carried object pixel counts as covered by something else on that frame.
OCCLUSION_THRESHOLD = 28.0


class DragPreview:
    """Renders one DragEdit frame by frame after a one-off propagation.

    ``kind``: MLS flavour ("rigid" or "similarity") of an anchored deformation; ``feather``:
    seam width in pixels at the region's border; ``k``, ``spacing``: handle point-set size and
    spacing. Holds the drag frame in memory.
    """

    def __init__(self, clip: Any, edit: Any, *, kind: str = "rigid", feather: float = 3.0,
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
        self._key_mask = None if edit.mask is None else edit.mask.at(key)
        self._key_mask_u8 = None if self._key_mask is None else self._key_mask.astype(np.uint8)
        self._key_box = None if self._key_mask is None else bounding_box(self._key_mask)
        self._key_mask_points = self.prop.mask_tracks[self.prop.key_row]
        self._carried: tuple[int, np.ndarray] = (key, IDENTITY)
        k2 = k * k
        self._centres = np.arange(len(edit.handles)) * k2 + k2 // 2
        shift = np.linalg.norm(edit.targets.points - edit.handles.points, axis=1)
        self._radius = np.maximum(max(24.0, 0.08 * min(width, height)), 0.8 * shift)
        anchors = getattr(edit, "anchors", None)
        self._anchors = None if anchors is None else np.asarray(anchors.points, np.float32)
        self._key_frame = np.ascontiguousarray(clip[key])
        self._object = None
        self._on_object = None
        if self._anchors is None:
            self._object = object_mask(self._key_frame, self.region(key), edit.handles.points)
            self._object_u8 = self._object.astype(np.uint8)
            # Carry the object, not the background band around it.
            self._on_object = split_foreground(self._key_mask_points, self._object)

    @staticmethod
    def _mask_spacing(edit: Any) -> int:
        if edit.mask is None:
            return 16
        box = edit.mask.bbox(edit.frame)
        if box is None:
            return 16
        return int(np.clip(max(box[2], box[3]) / 8, 8, 48))

    def carry(self, index: int) -> np.ndarray:
        """The ``(2, 3)`` similarity carrying the drag frame's region to frame ``index``."""
        cached, matrix = self._carried  # one read: frames may be rendered on several threads
        if cached != index:
            matrix = self._fit_carry(index)
            self._carried = (index, matrix)
        return matrix.copy()

    def _fit_carry(self, index: int) -> np.ndarray:
        row = index - self.prop.start_frame
        if index == self.edit.frame:
            return IDENTITY.copy()
        vis = self.prop.mask_visible[row].copy()
        if self._on_object is not None and (vis & self._on_object).sum() >= 3:
            vis &= self._on_object
        src = self._key_mask_points[vis]
        if len(src) >= 3:
            # RANSAC samples from OpenCV's per-thread generator: reseed it so a frame renders
            # the same on any thread, whatever ran there before.
            cv2.setRNGSeed(index)
            matrix, _ = cv2.estimateAffinePartial2D(src, self.prop.mask_tracks[row][vis],
                                                    method=cv2.RANSAC, ransacReprojThreshold=3.0)
            if matrix is not None:
                return matrix
        fg = self.prop.foreground
        move = self.prop.handles[row, fg] - self.prop.handles[self.prop.key_row, fg]
        matrix = IDENTITY.copy()
        matrix[:, 2] = np.median(move, axis=0) if len(move) else 0.0
        return matrix

    def region(self, index: int) -> np.ndarray:
        """The ``(H, W)`` bool region edited on frame ``index``."""
        if self._carries_key_mask(index):
            width, height = self.size
            out = np.zeros((height, width), bool)
            placed = self._carried_key_mask(index, pad=0)
            if placed is not None:
                (x0, y0, x1, y1), crop = placed
                out[y0:y1, x0:x1] = crop
            return out
        return self._drawn_region(index)

    def _carries_key_mask(self, index: int) -> bool:
        """Whether frame ``index``'s region is the drag frame's mask carried along (rather than
        the mask's own frame or capsules around the handles)."""
        mask = self.edit.mask
        if mask is None or self._key_box is None:
            return False
        return mask.is_static or not mask.start_frame <= index < mask.end_frame

    def _carried_key_mask(self, index: int, pad: int):
        """``(box, crop)``: the drag frame's mask carried to frame ``index``, inside its bounding
        box grown by ``pad`` (clipped to the frame); only that box is warped. None when it
        leaves the frame."""
        width, height = self.size
        matrix = self.carry(index)
        x0, y0, x1, y1 = self._key_box
        corners = transform_points(matrix, [[x0 - 1, y0 - 1], [x1, y0 - 1], [x0 - 1, y1],
                                            [x1, y1]])
        bx0, by0 = (max(0, int(np.floor(v)) - pad - 1) for v in corners.min(axis=0))
        bx1 = min(width, int(np.ceil(corners[:, 0].max())) + pad + 2)
        by1 = min(height, int(np.ceil(corners[:, 1].max())) + pad + 2)
        if bx1 <= bx0 or by1 <= by0:
            return None
        matrix[:, 2] -= (bx0, by0)
        crop = cv2.warpAffine(self._key_mask_u8, matrix, (bx1 - bx0, by1 - by0),
                              flags=cv2.INTER_NEAREST, borderValue=0).astype(bool)
        # The warped box has room for the pad on every side not cut by the frame's edge, so
        # this is the box a whole-frame bounding box would give.
        tight = bounding_box(crop, pad=pad)
        if tight is None:
            return None
        tx0, ty0, tx1, ty1 = tight
        return (bx0 + tx0, by0 + ty0, bx0 + tx1, by0 + ty1), crop[ty0:ty1, tx0:tx1]

    def _region_crop(self, index: int, pad: int):
        """``(box, crop)``: frame ``index``'s region inside its bounding box grown by ``pad``;
        None when the region is empty."""
        if self._carries_key_mask(index):
            return self._carried_key_mask(index, pad)
        region = self._drawn_region(index)
        box = bounding_box(region, pad=pad)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        return box, region[y0:y1, x0:x1]

    def _drawn_region(self, index: int) -> np.ndarray:
        width, height = self.size
        row = index - self.prop.start_frame
        mask = self.edit.mask
        if mask is not None and not mask.is_static and mask.start_frame <= index < mask.end_frame:
            return mask.at(index)
        if self._key_mask is not None:  # an empty drag-frame mask
            return np.zeros((height, width), bool)
        out = np.zeros((height, width), np.uint8)
        handles = self.prop.handles[row, self._centres]
        targets = self.prop.targets[row, self._centres]
        for p, q, r in zip(handles, targets, self._radius, strict=True):
            a = (round(float(p[0])), round(float(p[1])))
            b = (round(float(q[0])), round(float(q[1])))
            cv2.line(out, a, b, 1, thickness=2 * round(float(r)) + 1)
            cv2.circle(out, a, round(float(r)), 1, -1)
            cv2.circle(out, b, round(float(r)), 1, -1)
        return out.astype(bool)

    def anchors(self, index: int) -> np.ndarray | None:
        """The user's anchor points ``(K, 2)`` carried to frame ``index`` (None without)."""
        if self._anchors is None:
            return None
        return transform_points(self.carry(index), self._anchors)

    def _object_on(self, index: int, crop: np.ndarray, box: tuple[int, int, int, int],
                   region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(object, covered)`` inside ``box`` of frame ``index`` (``crop`` is that part of
        the frame, ``region`` the edit region there): the dragged object's pixels, and those
        where the carried object is hidden by something else (both bool, ``crop``'s size)."""
        x0, y0, x1, y1 = box
        if index == self.edit.frame:
            return self._object[y0:y1, x0:x1] & region, np.zeros(region.shape, bool)
        matrix = self.carry(index)
        matrix[:, 2] -= (x0, y0)  # from the whole drag frame into this box
        size = (x1 - x0, y1 - y0)
        carried = cv2.warpAffine(self._object_u8, matrix, size, flags=cv2.INTER_NEAREST,
                                 borderValue=0).astype(bool) & region
        near = bounding_box(carried, pad=8)  # room for the 7×7 blur and the 5×5 opening
        if near is None:
            return carried, carried
        nx0, ny0, nx1, ny1 = near
        matrix[:, 2] -= (nx0, ny0)
        expected = cv2.warpAffine(self._key_frame, matrix, (nx1 - nx0, ny1 - ny0),
                                  flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        scale = 257.0 if crop.dtype == np.uint16 else 1.0
        diff = cv2.cvtColor(cv2.absdiff(crop[ny0:ny1, nx0:nx1], expected), cv2.COLOR_RGB2GRAY)
        diff = cv2.blur(diff.astype(np.float32), (7, 7))  # neighbourhoods, not single pixels
        near_carried = carried[ny0:ny1, nx0:nx1]
        covered_near = (diff > OCCLUSION_THRESHOLD * scale) & near_carried
        # Whole covering shapes only: drop thin slivers from edges a pixel off.
        covered_near = cv2.morphologyEx(covered_near.astype(np.uint8), cv2.MORPH_OPEN,
                                        np.ones((5, 5), np.uint8)).astype(bool) & near_carried
        covered = np.zeros(carried.shape, bool)
        covered[ny0:ny1, nx0:nx1] = covered_near
        return carried & ~covered, covered

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The edited frame ``index`` (``frame`` is that frame of the input)."""
        row = index - self.prop.start_frame
        if not 0 <= row < len(self.prop.handles):
            return frame
        if self._anchors is not None:
            full_region = self.region(index)
            if not full_region.any():
                return frame
            perimeter = max(64.0, float(np.sqrt(full_region.sum())) * 4.0)
            pins = contour_anchors(full_region, spacing=max(12.0, perimeter / 64.0))
            valid = cv2.dilate(full_region.astype(np.uint8),
                               np.ones((5, 5), np.uint8)).astype(bool)
            return deform_region(frame, frame, valid, full_region, self.prop.handles[row],
                                 self.prop.targets[row],
                                 anchors=np.concatenate([self.anchors(index), pins]),
                                 kind=self.kind, feather=8.0, step=4)
        placed = self._region_crop(index, pad=16)  # the fill looks this far around the hole
        if placed is None:
            return frame
        box, region = placed
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        obj, covered = self._object_on(index, crop, box, region)
        if not obj.any():
            return frame
        matrix = in_box(fit_similarity(self.prop.handles[row, self._centres],
                                       self.prop.targets[row, self._centres]), box)
        # The object's anti-aliased rim goes with the hole, so no halo of it stays behind.
        hole = cv2.dilate(obj.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        keep = region & ~covered
        moved = move_layer(crop, crop, obj, matrix, hole=hole & keep, keep=keep)
        out = frame.copy()
        seamed = blend(moved, crop, feather_alpha(region, self.feather))
        cv2.copyTo(seamed, region.astype(np.uint8), out[y0:y1, x0:x1])
        return out
