"""The plain baseline: chain dense DIS flow from frame to frame, no checks, no refinement.

Used by the benchmarks to show what the tracker adds. Points drift with accumulated flow error
and are "visible" exactly while inside the frame.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from .flow import PRESETS, sample_flow, to_grey


def chained_flow_tracks(frames: Iterable[np.ndarray], points: np.ndarray,
                        preset: str = "fast") -> tuple[np.ndarray, np.ndarray]:
    """Track ``points`` ``(N, 2)`` from the first of ``frames`` by chaining full-resolution
    DIS flow; returns ``tracks`` ``(T, N, 2)`` float32 and ``visible`` ``(T, N)`` bool."""
    dis = cv2.DISOpticalFlow_create(PRESETS[preset])
    it = iter(frames)
    prev = to_grey(next(it))
    h, w = prev.shape
    pos = np.asarray(points, np.float32).reshape(-1, 2).copy()
    out = [pos.copy()]
    for frame in it:
        cur = to_grey(frame)
        pos = pos + sample_flow(dis.calc(prev, cur, None), pos, 1.0)
        out.append(pos.copy())
        prev = cur
    tracks = np.stack(out)
    x, y = tracks[..., 0], tracks[..., 1]
    visible = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
    return tracks.astype(np.float32), visible
