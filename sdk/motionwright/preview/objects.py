"""Which part of an edit region is the object being dragged: a GrabCut segment at the handles.

A drag's mask is usually drawn loosely around the object, with a band of background inside it.
:func:`object_mask` separates the two on the drag frame: pixels outside the region are certain
background, pixels at the handles certain foreground, and the rest of the region is labelled by
OpenCV's GrabCut colour models; the object is the segment connected to the handles. When the
segmentation finds nothing usable (flat colours, an object filling the region), the whole
region counts as the object.
"""

from __future__ import annotations

import cv2
import numpy as np

from .boxes import bounding_box


def _as_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint16:
        return (frame >> 8).astype(np.uint8)
    return np.ascontiguousarray(frame, dtype=np.uint8)


def object_mask(frame: np.ndarray, region: np.ndarray, handles: np.ndarray, *,
                iterations: int = 4, seed_radius: int = 3,
                max_pixels: int = 160 * 160) -> np.ndarray:
    """The ``(H, W)`` bool part of ``region`` that holds the object under ``handles``
    ``(N, 2)`` on ``frame`` ``(H, W, 3)``; ``region`` itself when no object stands out.

    Regions larger than ``max_pixels`` (with their margin) are segmented at a reduced scale,
    so the outline is as exact as that scale allows."""
    region = np.asarray(region, bool)
    h, w = region.shape
    box = bounding_box(region, pad=max(8, seed_radius * 4))
    if box is None:
        return region.copy()
    x0, y0, x1, y1 = box
    reg = region[y0:y1, x0:x1]
    if reg.all() or reg.sum() < 64:  # no background around it to learn from, or too small
        return region.copy()
    seeds = np.zeros(reg.shape, np.uint8)
    points = [(round(float(x)) - x0, round(float(y)) - y0)
              for x, y in np.asarray(handles, np.float32).reshape(-1, 2)
              if np.isfinite(x) and np.isfinite(y)]
    for xy in points:
        cv2.circle(seeds, xy, seed_radius, 1, -1)
    seeds &= reg.astype(np.uint8)
    if not seeds.any():
        return region.copy()
    # GrabCut's cost grows faster than its area: segment a reduced copy of large regions.
    scale = min(1.0, float(np.sqrt(max_pixels / reg.size)))
    size = (max(8, round(reg.shape[1] * scale)), max(8, round(reg.shape[0] * scale)))
    crop = np.ascontiguousarray(_as_uint8(frame)[y0:y1, x0:x1])
    small_reg = reg.astype(np.uint8)
    small_seeds = seeds
    if scale < 1.0:
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        small_reg = cv2.resize(small_reg, size, interpolation=cv2.INTER_NEAREST)
        small_seeds = np.zeros(small_reg.shape, np.uint8)
        for x, y in points:
            cv2.circle(small_seeds, (round(x * scale), round(y * scale)),
                       max(1, round(seed_radius * scale)), 1, -1)
        small_seeds &= small_reg
    labels = np.where(small_reg > 0, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    labels[small_seeds.astype(bool)] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut seeds its colour models by k-means on OpenCV's per-thread random generator, whose
    # state carries over from earlier calls: reseed it so the same frame segments the same way.
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(crop, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return region.copy()
    labels = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.float32)
    if scale < 1.0:
        labels = cv2.resize(labels, reg.shape[::-1], interpolation=cv2.INTER_LINEAR)
    fg = (labels > 0.5) & reg
    # Keep the segments that touch a handle; close small gaps so the object moves in one piece.
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    _, comp = cv2.connectedComponents(fg, connectivity=8)
    touched = np.unique(comp[seeds.astype(bool)])
    touched = touched[touched > 0]
    obj = np.isin(comp, touched) & reg
    if obj.sum() < 0.02 * reg.sum():
        return region.copy()
    # Fill holes inside the object (a pupil, a logo) so they travel with it.
    contours, _ = cv2.findContours(obj.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    solid = np.zeros(obj.shape, np.uint8)
    cv2.drawContours(solid, contours, -1, 1, -1)
    out = np.zeros((h, w), bool)
    out[y0:y1, x0:x1] = solid.astype(bool) & reg
    return out
