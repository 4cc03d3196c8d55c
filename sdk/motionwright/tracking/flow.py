"""Dense optical flow (OpenCV DIS) between neighbouring frames, and sampling it at points.

Flow is computed on a reduced copy of each frame (its long side at most ``max_side`` pixels)
and reported in full-resolution pixels: the keyframe alignment in
:mod:`motionwright.tracking.appearance` restores sub-pixel precision, so the flow only has to
land each point within its convergence basin and to expose occlusions. Flows are ``(h, w, 2)``
float32 displacements (dx, dy) at the reduced resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def to_grey(frame: np.ndarray) -> np.ndarray:
    """An ``(H, W)`` uint8 luma image of an RGB frame (uint8, or uint16 scaled down)."""
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


@dataclass
class PreparedFrame:
    """One frame ready for tracking.

    ``fine`` ``(H, W)`` float32 grey (lightly blurred) for the appearance fit; ``coarse``
    ``(h, w)`` uint8 grey for the flow; ``scale`` = coarse size / full size.
    """

    fine: np.ndarray
    coarse: np.ndarray
    scale: float


def prepare(frame: np.ndarray, max_side: int = 640, blur: float = 0.8) -> PreparedFrame:
    """Convert an RGB frame into a :class:`PreparedFrame`."""
    grey = to_grey(frame)
    h, w = grey.shape
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        size = (max(16, round(w * scale)), max(16, round(h * scale)))
        coarse = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        scale = size[0] / w
    else:
        coarse = grey
    # Blurring the 8-bit image and converting after is half the cost; the rounding it adds
    # (±0.5 grey level) is far below image noise.
    fine = (cv2.GaussianBlur(grey, (0, 0), blur) if blur > 0 else grey).astype(np.float32)
    return PreparedFrame(fine=fine, coarse=coarse, scale=scale)


class FlowEstimator:
    """DIS optical flow between two prepared frames, forward and backward."""

    def __init__(self, preset: str = "fast") -> None:
        if preset not in PRESETS:
            raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def pair(self, a: PreparedFrame, b: PreparedFrame) -> tuple[np.ndarray, np.ndarray]:
        """Flow a→b and b→a at the coarse resolution, in coarse pixels."""
        forward = self._dis.calc(a.coarse, b.coarse, None)
        backward = self._dis.calc(b.coarse, a.coarse, None)
        return forward, backward

    def forward(self, a: PreparedFrame, b: PreparedFrame) -> np.ndarray:
        """Flow a→b at the coarse resolution, in coarse pixels."""
        return self._dis.calc(a.coarse, b.coarse, None)


def sample_flow(flow: np.ndarray, points: np.ndarray, scale: float) -> np.ndarray:
    """Bilinearly sample a coarse flow at full-resolution ``points`` ``(N, 2)``.

    Returns ``(N, 2)`` float32 displacements in full-resolution pixels. Points are mapped to
    the coarse grid with the pixel-centre convention (``x -> (x + 0.5)·s − 0.5``).
    """
    if len(points) == 0:
        return np.zeros((0, 2), np.float32)
    coarse = (np.asarray(points, np.float32) + 0.5) * scale - 0.5
    mx = np.ascontiguousarray(coarse[:, 0].reshape(-1, 1))
    my = np.ascontiguousarray(coarse[:, 1].reshape(-1, 1))
    values = cv2.remap(flow, mx, my, interpolation=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    return values.reshape(-1, 2) / scale


def forward_backward_error(forward: np.ndarray, backward: np.ndarray, points: np.ndarray,
                           scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Move ``points`` by ``forward`` and back by ``backward``; return (moved, round-trip error).

    ``moved`` ``(N, 2)`` are the predicted positions in the second frame and the error
    ``(N,)`` is the distance between each point and where its round trip lands (full-resolution
    pixels). A large error means the point was occluded, left the frame or the flow failed.
    """
    moved = points + sample_flow(forward, points, scale)
    back = moved + sample_flow(backward, moved, scale)
    return moved.astype(np.float32), np.linalg.norm(back - points, axis=1).astype(np.float32)
