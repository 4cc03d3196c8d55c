"""Deform content into an edit region and composite it with a feathered seam.

:func:`deform_region` is the shared core of the drag and trajectory previews: control points
drive a moving-least-squares backward warp of a content image, pixels whose content would come
from outside its valid area are filled from their surroundings, and the result is blended into
the frame inside the region only — every pixel outside the region is the frame's own pixel,
bit for bit. Frames are ``(H, W, 3)`` uint8 or uint16; masks ``(H, W)`` bool; points
``(N, 2)`` float32 pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from .boxes import bounding_box
from .fill import fill_holes
from .mls import backward_maps


def contour_anchors(mask: np.ndarray, spacing: float = 24.0) -> np.ndarray:
    """Points every ``spacing`` pixels along the outline of ``mask`` ``(H, W)`` bool, as
    ``(K, 2)`` float32 — fixed control points that pin the region's border in place."""
    box = bounding_box(mask, 1)
    if box is None:
        return np.zeros((0, 2), np.float32)
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.uint8)
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    pts = []
    for c in contours:
        c = c.reshape(-1, 2).astype(np.float32)
        if len(c) == 0:
            continue
        seg = np.linalg.norm(np.diff(c, axis=0, append=c[:1]), axis=1)
        arc = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
        step = max(1, round(float(arc[-1] + seg[-1]) / spacing))
        wanted = np.linspace(0, arc[-1] + seg[-1], step, endpoint=False)
        pts.append(c[np.searchsorted(arc, wanted, side="right") - 1])
    if not pts:
        return np.zeros((0, 2), np.float32)
    return (np.concatenate(pts) + np.array([x0, y0], np.float32)).astype(np.float32)


def feather_alpha(region: np.ndarray, feather: float) -> np.ndarray:
    """``(h, w)`` float32 weights: 0 outside ``region``, rising linearly to 1 at ``feather``
    pixels inside its border (1 everywhere inside for ``feather`` <= 0)."""
    if feather <= 0:
        return region.astype(np.float32)
    padded = np.pad(region.astype(np.uint8), 1)  # the frame edge is not a seam to hide
    padded[0, :] = padded[1, :]
    padded[-1, :] = padded[-2, :]
    padded[:, 0] = padded[:, 1]
    padded[:, -1] = padded[:, -2]
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
    return np.clip(dist / float(feather), 0.0, 1.0).astype(np.float32)


def deform_region(frame: np.ndarray, content: np.ndarray, content_valid: np.ndarray,
                  region: np.ndarray, handles: np.ndarray, targets: np.ndarray, *,
                  anchors: np.ndarray | None = None, kind: str = "rigid",
                  feather: float = 8.0, step: int | None = None) -> np.ndarray:
    """Move ``content`` so its ``handles`` land on ``targets``, inside ``region`` of ``frame``.

    ``content`` ``(H, W, 3)`` is the image the region's new pixels come from (``frame`` itself
    for a drag, an earlier or edited frame for a trajectory edit); ``content_valid`` ``(H, W)``
    bool says where that content may be used — output pixels whose source falls elsewhere (or
    off the frame) count as revealed and are filled from the surroundings outside the region.
    ``anchors`` ``(K, 2)`` are extra control points that stay where they are. The blend ramps
    in over ``feather`` pixels inside the region's border. The smooth MLS field is evaluated
    every ``step`` pixels (default: 8, or coarser for large regions) and interpolated. Returns
    a new frame; pixels outside ``region`` are copied from ``frame`` unchanged.
    """
    out = frame.copy()
    box = bounding_box(region)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    src = np.asarray(handles, np.float32).reshape(-1, 2)
    dst = np.asarray(targets, np.float32).reshape(-1, 2)
    if anchors is not None and len(anchors):
        src = np.concatenate([src, anchors])
        dst = np.concatenate([dst, anchors])
    if step is None:
        step = int(np.clip(np.sqrt((x1 - x0) * (y1 - y0)) / 32, 8, 24))
    map_x, map_y = backward_maps(src, dst, box, kind=kind, step=step)
    warped = cv2.remap(content, map_x, map_y, interpolation=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.remap(content_valid.astype(np.uint8), map_x, map_y,
                      interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                      borderValue=0).astype(bool)
    h, w = region.shape
    valid &= (map_x >= -0.5) & (map_x <= w - 0.5) & (map_y >= -0.5) & (map_y <= h - 0.5)
    reg = region[y0:y1, x0:x1]
    base = frame[y0:y1, x0:x1]
    hole = reg & ~valid
    # Revealed pixels are filled from the warped content that is valid and, around the
    # region, from the frame itself (never from the frame's own pixels inside the region).
    staged = warped
    if not valid.all():
        staged = warped.copy()
        cv2.copyTo(base, (~valid).astype(np.uint8), staged)
    if hole.any():
        pad = 16
        px0, py0 = max(0, x0 - pad), max(0, y0 - pad)
        px1, py1 = min(w, x1 + pad), min(h, y1 + pad)
        ctx = frame[py0:py1, px0:px1].copy()
        ctx[y0 - py0:y1 - py0, x0 - px0:x1 - px0] = staged
        holes = np.zeros(ctx.shape[:2], bool)
        holes[y0 - py0:y1 - py0, x0 - px0:x1 - px0] = hole
        filled = fill_holes(ctx, holes, margin=pad)
        staged = filled[y0 - py0:y1 - py0, x0 - px0:x1 - px0]
    alpha = feather_alpha(reg, feather)
    if frame.dtype == np.uint8:
        blend = cv2.blendLinear(np.ascontiguousarray(staged), np.ascontiguousarray(base), alpha,
                                1.0 - alpha)
    else:
        a3 = alpha[..., None]
        mixed = staged.astype(np.float32) * a3 + base.astype(np.float32) * (1.0 - a3)
        top = np.iinfo(frame.dtype).max if np.issubdtype(frame.dtype, np.integer) else None
        blend = (np.clip(np.rint(mixed), 0, top) if top is not None else mixed).astype(
            frame.dtype)
    # Copy only the region's pixels: everything else stays the frame's own, bit for bit.
    cv2.copyTo(blend, reg.astype(np.uint8), out[y0:y1, x0:x1])
    return out
