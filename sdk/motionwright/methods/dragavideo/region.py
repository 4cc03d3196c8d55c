"""The native-resolution round trip: crop the edited region, work at model size, paste back.

One crop box serves every frame (so the model sees a steady view): the union over frames of
the propagated handle and target sets and the edit mask, padded, grown to the model's aspect
ratio and kept inside the frame. Frames are cropped at full resolution and resized to the
model's size; the edited crops are resized back and blended in with a feathered mask, and
only pixels inside the region are written — every other pixel is the source's, bit for bit.
Boxes are ``(x0, y0, x1, y1)`` integer pixels, exclusive ends.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...preview.composite import feather_alpha


def crop_box(points: np.ndarray, masks: np.ndarray | None, frame_size: tuple[int, int],
             model_size: tuple[int, int], pad: float = 0.25, min_pad: int = 16
             ) -> tuple[int, int, int, int]:
    """The crop box around ``points`` ``(..., 2)`` and the True pixels of ``masks``
    ``(T, H, W)``, padded by ``pad`` of its size (at least ``min_pad`` pixels), with the
    aspect ratio of ``model_size`` where the frame allows."""
    width, height = frame_size
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    xs, ys = list(pts[:, 0]), list(pts[:, 1])
    if masks is not None and masks.any():
        any_mask = masks.any(axis=0)
        rows, cols = np.flatnonzero(any_mask.any(axis=1)), np.flatnonzero(any_mask.any(axis=0))
        xs += [cols[0], cols[-1]]
        ys += [rows[0], rows[-1]]
    x0, x1, y0, y1 = min(xs), max(xs) + 1, min(ys), max(ys) + 1
    grow = max(min_pad, pad * max(x1 - x0, y1 - y0))
    x0, x1, y0, y1 = x0 - grow, x1 + grow, y0 - grow, y1 + grow
    aspect = model_size[0] / model_size[1]
    w, h = x1 - x0, y1 - y0
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    w, h = min(w, width), min(h, height)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bx0 = round(np.clip(cx - w / 2, 0, width - w))
    by0 = round(np.clip(cy - h / 2, 0, height - h))
    return bx0, by0, min(width, bx0 + round(w)), min(height, by0 + round(h))


def to_model(frame: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]
             ) -> np.ndarray:
    """The box of ``frame`` ``(H, W, 3)`` resized to ``size`` (area averaging to shrink)."""
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
    interp = cv2.INTER_AREA if (x1 - x0) > size[0] else cv2.INTER_CUBIC
    return cv2.resize(crop, size, interpolation=interp)


def points_to_model(points: np.ndarray, box, size) -> np.ndarray:
    """Frame pixels -> model-image pixels of the crop (pixel centres kept aligned)."""
    x0, y0, x1, y1 = box
    scale = np.array([size[0] / (x1 - x0), size[1] / (y1 - y0)], np.float32)
    return ((np.asarray(points, np.float32) - [x0, y0] + 0.5) * scale - 0.5).astype(np.float32)


def points_from_model(points: np.ndarray, box, size) -> np.ndarray:
    """Model-image pixels of the crop -> frame pixels (inverse of :func:`points_to_model`)."""
    x0, y0, x1, y1 = box
    scale = np.array([size[0] / (x1 - x0), size[1] / (y1 - y0)], np.float32)
    return ((np.asarray(points, np.float32) + 0.5) / scale - 0.5 + [x0, y0]).astype(np.float32)


def mask_to_model(mask: np.ndarray, box, size) -> np.ndarray:
    """An ``(H, W)`` bool mask's box resized to ``size`` (nearest)."""
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.uint8)
    return cv2.resize(crop, size, interpolation=cv2.INTER_NEAREST).astype(bool)


def composite(frame: np.ndarray, edited: np.ndarray, box, region: np.ndarray | None,
              feather: float) -> np.ndarray:
    """Paste ``edited`` (the model-size crop, uint8) back into ``frame`` inside ``region``
    ``(H, W)`` bool (None: the whole box), feathered over ``feather`` pixels; other pixels
    are ``frame``'s own."""
    x0, y0, x1, y1 = box
    out = frame.copy()
    if region is None:
        reg = np.ones((y1 - y0, x1 - x0), bool)
    else:
        reg = np.ascontiguousarray(region[y0:y1, x0:x1])
    if not reg.any():
        return out
    w, h = x1 - x0, y1 - y0
    interp = cv2.INTER_AREA if edited.shape[1] > w else cv2.INTER_CUBIC
    back = cv2.resize(np.ascontiguousarray(edited), (w, h), interpolation=interp)
    base = frame[y0:y1, x0:x1]
    if frame.dtype != np.uint8:
        top = float(np.iinfo(frame.dtype).max)
        back = np.clip(back.astype(np.float32) / 255.0 * top, 0, top)
    alpha = feather_alpha(reg, feather)[..., None]
    mixed = back.astype(np.float32) * alpha + base.astype(np.float32) * (1.0 - alpha)
    top = np.iinfo(frame.dtype).max
    blend = np.clip(np.rint(mixed), 0, top).astype(frame.dtype)
    cv2.copyTo(blend, reg.astype(np.uint8), out[y0:y1, x0:x1])
    return out
