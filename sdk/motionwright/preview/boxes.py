"""The bounding box of a mask, the crop every preview step works in."""

from __future__ import annotations

import numpy as np


def bounding_box(mask: np.ndarray, pad: int = 0) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (exclusive ends) around the True pixels of ``mask``, grown by
    ``pad`` and clipped to the frame; None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (max(0, int(cols[0]) - pad), max(0, int(rows[0]) - pad),
            min(w, int(cols[-1]) + 1 + pad), min(h, int(rows[-1]) + 1 + pad))
