"""The working size of a Point-to-Point edit, resizing to it and back, and clip windows.

Prompt editing re-renders the whole frame, so frames are resized to the model size without
cropping and the result is resized back to the source size (the working size keeps the
source's aspect ratio close: 512×512, or the paper's 768×448 for wide and 448×768 for tall
clips). Track positions follow the same mapping (pixel-centre convention).
"""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import InvalidInputError


def working_size(source_size: tuple[int, int], multiple: int,
                 requested: tuple[int, int] | None = None) -> tuple[int, int]:
    """``(w, h)`` the model runs at: ``requested`` rounded to ``multiple``, else 512×512,
    768×448 (wider than 4:3) or 448×768 (taller than 3:4)."""
    if requested is not None:
        w, h = (int(v) for v in requested)
        if w <= 0 or h <= 0:
            raise InvalidInputError(f"size: expected a positive width and height, got {requested}")
    else:
        aspect = source_size[0] / source_size[1]
        w, h = (768, 448) if aspect > 4 / 3 else (448, 768) if aspect < 3 / 4 else (512, 512)
    return (max(multiple, round(w / multiple) * multiple),
            max(multiple, round(h / multiple) * multiple))


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 resized to ``size`` ``(w, h)`` (area when shrinking)."""
    if frames.shape[2] == size[0] and frames.shape[1] == size[1]:
        return np.ascontiguousarray(frames)
    interp = cv2.INTER_AREA if frames.shape[2] > size[0] else cv2.INTER_CUBIC
    return np.stack([cv2.resize(np.ascontiguousarray(f), size, interpolation=interp)
                     for f in frames])


def map_points(xy: np.ndarray, src: tuple[int, int], dst: tuple[int, int]) -> np.ndarray:
    """Pixel positions ``(..., 2)`` on a frame of size ``src`` moved to a resized frame of
    size ``dst`` (pixel centres at integers)."""
    out = np.array(xy, np.float32, copy=True)
    out[..., 0] = (out[..., 0] + 0.5) * dst[0] / src[0] - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * dst[1] / src[1] - 0.5
    return out


def windows(count: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """``[(start, stop)]`` windows of at most ``window`` frames covering ``count`` frames,
    neighbours sharing ``overlap`` frames (the last window ends at the last frame)."""
    if count <= window:
        return [(0, count)]
    step = window - overlap
    starts = [*range(0, count - window, step), count - window]
    return [(s, s + window) for s in dict.fromkeys(starts)]


class WindowJoiner:
    """Joins window results into one ``(count, H, W, 3)`` uint8 video as they arrive (in order
    of start): where a window overlaps the frames already joined, its weight ramps linearly
    from 0 to 1 across the overlap, so no seam is visible. Holds only the output."""

    def __init__(self, count: int, frame_shape: tuple[int, ...]) -> None:
        self.video = np.zeros((count, *frame_shape), np.uint8)
        self.filled = 0

    def add(self, start: int, frames: np.ndarray) -> None:
        """Blend in the window ``frames`` starting at frame ``start``."""
        out, n = self.video, len(frames)
        shared = max(0, min(self.filled, start + n) - start)
        if shared:
            w = (np.arange(1, shared + 1) / (shared + 1))[:, None, None, None]
            old = out[start:start + shared].astype(np.float32)
            out[start:start + shared] = np.rint(
                old * (1 - w) + frames[:shared].astype(np.float32) * w).clip(0, 255)
        out[start + shared:start + n] = frames[shared:]
        self.filled = max(self.filled, start + n)


def blend_windows(parts: list[tuple[int, np.ndarray]], count: int) -> np.ndarray:
    """:class:`WindowJoiner` over ``[(start, frames)]`` at once."""
    joiner = WindowJoiner(count, parts[0][1].shape[1:])
    for start, frames in parts:
        joiner.add(start, frames)
    return joiner.video
