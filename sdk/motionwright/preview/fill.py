"""Filling holes plausibly and fast: pull-push interpolation over an image pyramid.

Pull: halve the image repeatedly, each coarse pixel the weighted mean of the known pixels
under it (weights = known coverage). Push: from the coarsest level back up, a hole pixel takes
the upsampled coarse value, blended by how much of it was known at its own level. Holes get a
smooth continuation of their surroundings — a soft, plausible background for a preview, at a
cost linear in the area filled (only the hole's bounding box plus a margin is processed).
"""

from __future__ import annotations

import cv2
import numpy as np

from .boxes import bounding_box


def _pull_push(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill ``image`` ``(h, w, C)`` float32 where ``known`` ``(h, w)`` float32 is 0."""
    levels = [(image * known[..., None], known)]
    while min(levels[-1][1].shape) > 2:
        img, wt = levels[-1]
        h, w = wt.shape
        size = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
        img_small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        wt_small = cv2.resize(wt, size, interpolation=cv2.INTER_AREA)
        levels.append((img_small.reshape(size[1], size[0], -1), wt_small))
    img, wt = levels[-1]
    colour = img / np.maximum(wt, 1e-6)[..., None]
    if not np.any(wt > 0):
        return image
    # Fill any empty coarsest cell with the mean of the known ones.
    mean = (img.reshape(-1, img.shape[2]).sum(axis=0) / max(float(wt.sum()), 1e-6))
    colour[wt <= 1e-6] = mean
    for img, wt in reversed(levels[:-1]):
        h, w = wt.shape
        up = cv2.resize(colour, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        here = img / np.maximum(wt, 1e-6)[..., None]
        a = np.clip(wt, 0.0, 1.0)[..., None]
        colour = here * a + up * (1.0 - a)
    return colour


def fill_holes(image: np.ndarray, hole: np.ndarray, margin: int = 16,
               known: np.ndarray | None = None) -> np.ndarray:
    """Return a copy of ``image`` ``(H, W, 3)`` (uint8/uint16/float) with the pixels where
    ``hole`` ``(H, W)`` bool is True filled from their surroundings; other pixels unchanged.

    ``known`` ``(H, W)`` bool (default: outside ``hole``) says which pixels the fill may
    learn from — pass it to fill only part of a larger unknown area."""
    out = image.copy()
    hole = np.asarray(hole, bool)
    box = bounding_box(hole, pad=margin)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1].astype(np.float32)
    known = ~hole if known is None else np.asarray(known, bool) & ~hole
    known = known[y0:y1, x0:x1].astype(np.float32)
    filled = _pull_push(crop, known)
    region = hole[y0:y1, x0:x1]
    patch = out[y0:y1, x0:x1]
    if np.issubdtype(image.dtype, np.integer):
        top = np.iinfo(image.dtype).max
        filled = np.clip(np.rint(filled), 0, top)
    patch[region] = filled[region].astype(image.dtype)
    return out
