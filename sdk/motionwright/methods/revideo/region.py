"""The edited region of a ReVideo render: union of the edits, crop box, conditions, composite.

Several :class:`~motionwright.edits.TrajectoryEdit` regions (the paper's multi-area editing,
done without extra training) are rendered together: their masks are united and their
trajectories concatenated, so one pass of the model moves every region.

The model runs on a crop: the box around the region on every frame plus ``margin`` context
pixels, widened to the working aspect ratio and clamped to the frame. The result is resized
back to the box's native size and composited with the region's mask dilated and feathered by
``feather`` pixels; pixels farther from the region keep their source values exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...errors import InvalidInputError


@dataclass(frozen=True)
class Region:
    """United edits: ``masks`` ``(T, H, W)`` bool (native), ``tracks`` ``(T, N, 2)`` float32
    (native pixels, NaN where unknown), ``visible`` ``(T, N)`` bool, the edited first frame
    ``(H, W, 3)`` uint8 or None, and ``first_mask`` ``(H, W)`` bool: where it applies (inside
    the regions of the edits that carry one; elsewhere frame 0 stays the source's)."""

    masks: np.ndarray
    tracks: np.ndarray
    visible: np.ndarray
    first_frame: np.ndarray | None
    first_mask: np.ndarray | None = None


def unite(edits: list, num_frames: int, size: tuple[int, int]) -> Region:
    """The :class:`Region` of ``edits`` on a clip of ``num_frames`` frames of ``size``."""
    w, h = size
    masks = np.zeros((num_frames, h, w), bool)
    tracks, visible = [], []
    first = first_mask = None
    for k, edit in enumerate(edits):
        edit.check_against(num_frames, size, name=f"edits[{k}]")
        region = edit.region
        for t in range(num_frames):
            if region.is_static or region.start_frame <= t < region.end_frame:
                masks[t] |= region.at(t)
        traj = edit.trajectories
        full = np.full((num_frames, traj.num_points, 2), np.nan, np.float32)
        vis = np.zeros((num_frames, traj.num_points), bool)
        full[traj.start_frame:traj.end_frame] = traj.tracks
        vis[traj.start_frame:traj.end_frame] = traj.visible
        tracks.append(full)
        visible.append(vis)
        if edit.first_frame is not None:
            frame = np.asarray(edit.first_frame)
            if frame.dtype == np.uint16:
                frame = (frame >> 8).astype(np.uint8)
            inside = region.at(0) if (region.is_static or region.start_frame == 0) else (
                np.zeros((h, w), bool))
            first = frame if first is None else first
            first_mask = inside if first_mask is None else first_mask
            first = np.where(inside[..., None], frame, first)
            first_mask = first_mask | inside
    if not masks.any():
        raise InvalidInputError("edits: every region is empty; draw a region to edit")
    return Region(masks, np.concatenate(tracks, 1), np.concatenate(visible, 1), first,
                  first_mask)


def crop_box(masks: np.ndarray, aspect: float, margin: int) -> tuple[int, int, int, int]:
    """``(x0, y0, w, h)``: the box around every frame's region plus ``margin``, widened to
    ``aspect`` (width/height) where the frame allows, inside the frame."""
    H, W = masks.shape[1:]
    ys, xs = np.nonzero(masks.any(axis=0))
    x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + 1 + margin, W)
    y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + 1 + margin, H)
    w, h = x1 - x0, y1 - y0
    if w / h < aspect:
        w = min(W, round(h * aspect))
    else:
        h = min(H, round(w / aspect))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    x0 = int(min(max(round(cx - w / 2), 0), W - w))
    y0 = int(min(max(round(cy - h / 2), 0), H - h))
    return x0, y0, int(w), int(h)


def resize(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(T, H, W, C)`` or ``(T, H, W)`` arrays to ``size`` (W, H)."""
    out = []
    for f in frames:
        interp = cv2.INTER_AREA if f.shape[1] > size[0] else cv2.INTER_LINEAR
        out.append(cv2.resize(np.ascontiguousarray(f), size, interpolation=interp))
    return np.stack(out)


def feathered_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """``(H, W)`` float32 in [0, 1]: 1 on the region dilated by ``feather``, falling to 0 over
    the next ``feather`` pixels; exactly 0 beyond."""
    if feather <= 0:
        return mask.astype(np.float32)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * feather + 1,) * 2)
    grown = cv2.dilate(mask.astype(np.uint8), kernel).astype(np.float32)
    dist = cv2.distanceTransform((grown == 0).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip(1.0 - dist / float(feather), 0.0, 1.0).astype(np.float32)


def composite(source: np.ndarray, generated: np.ndarray, mask: np.ndarray,
              box: tuple[int, int, int, int], feather: int) -> np.ndarray:
    """``source`` ``(H, W, 3)`` with ``generated`` (the box's crop at any size) blended in
    through :func:`feathered_alpha` of ``mask`` ``(H, W)``; same dtype as ``source``."""
    x0, y0, w, h = box
    gen = cv2.resize(generated, (w, h), interpolation=cv2.INTER_CUBIC) if (
        generated.shape[1], generated.shape[0]) != (w, h) else generated
    alpha = feathered_alpha(mask, feather)[y0:y0 + h, x0:x0 + w, None]
    out = source.copy()
    crop = source[y0:y0 + h, x0:x0 + w]
    if source.dtype == np.uint16:
        gen16 = gen.astype(np.float32) * 257.0
        blend = alpha * gen16 + (1 - alpha) * crop.astype(np.float32)
        out[y0:y0 + h, x0:x0 + w] = np.where(alpha > 0, np.clip(blend + 0.5, 0, 65535), crop)
    else:
        blend = alpha * gen.astype(np.float32) + (1 - alpha) * crop.astype(np.float32)
        out[y0:y0 + h, x0:x0 + w] = np.where(alpha > 0, np.clip(blend + 0.5, 0, 255), crop)
    return out


def window_starts(num_frames: int, window: int, overlap: int) -> list[int]:
    """Start frames of windows of ``window`` frames sharing ``overlap`` frames; the last one
    ends at the clip's end (it may overlap more)."""
    if num_frames <= window:
        return [0]
    stride = max(window - overlap, 1)
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return starts


def blend_weights(overlap: int) -> np.ndarray:
    """Weights ``(overlap,)`` of the newer window across an overlap: a linear cross-fade that
    leaves the older window's first shared frame and reaches the newer one at the end."""
    return (np.arange(1, overlap + 1, dtype=np.float32) / (overlap + 1))
