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
    """The fill of ``image`` ``(h, w, 3)`` float32 for the pixels where ``known`` ``(h, w)``
    float32 (0 or 1) is 0; pixels where it is 1 come out as their surroundings' blend, not
    their own value, so only the unknown ones are meant to be used.

    Each level holds the colours premultiplied by their coverage, with the coverage as a fourth
    channel, so one resize pulls both. The push is an "over": a pixel keeps its own
    premultiplied colour and takes the coarser level's colour for the part it does not cover —
    on the full-size level an unknown pixel covers nothing, so that level is not pushed."""
    level = cv2.merge([image[..., 0] * known, image[..., 1] * known, image[..., 2] * known,
                       known])
    levels = []
    while min(level.shape[:2]) > 2:
        h, w = level.shape[:2]
        # Bilinear at (about) half size averages 2×2 pixels like an area resize, and unlike
        # one it stays fast for odd sizes.
        level = cv2.resize(level, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_LINEAR)
        levels.append(level)
    wt = level[..., 3]
    if not np.any(wt > 0):
        return image
    colour = cv2.cvtColor(level, cv2.COLOR_BGRA2BGR) / np.maximum(wt, 1e-6)[..., None]
    # Fill any empty coarsest cell with the mean of the known ones.
    colour[wt <= 1e-6] = level[..., :3].reshape(-1, 3).sum(axis=0) / max(float(wt.sum()), 1e-6)
    for level in reversed(levels[:-1]):
        h, w = level.shape[:2]
        up = cv2.resize(colour, (w, h), interpolation=cv2.INTER_LINEAR)
        uncovered = 1.0 - cv2.extractChannel(level, 3)
        colour = cv2.add(cv2.multiply(up, cv2.merge([uncovered] * 3)),
                         cv2.cvtColor(level, cv2.COLOR_BGRA2BGR))
    return cv2.resize(colour, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)


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
    region = hole[y0:y1, x0:x1]
    known_here = ~region if known is None else np.asarray(known, bool)[y0:y1, x0:x1] & ~region
    filled = _pull_push(image[y0:y1, x0:x1].astype(np.float32), known_here.astype(np.float32))
    if np.issubdtype(image.dtype, np.integer):
        np.clip(np.rint(filled, out=filled), 0, np.iinfo(image.dtype).max, out=filled)
    # A masked copy, not boolean indexing: several times faster on a whole crop.
    cv2.copyTo(filled.astype(image.dtype), region.astype(np.uint8), out[y0:y1, x0:x1])
    return out
