"""Each frame's edit region of a drag, computed on demand."""

from __future__ import annotations

import numpy as np


class EditRegions:
    """Each row's ``(H, W)`` bool edit mask of a masked drag, on demand, never all frames at
    once. The user's mask on the drag frame (and on frames an animated mask covers); elsewhere
    the union of patches around the propagated mask points (Fig. 5)."""

    def __init__(self, edit, prop, native) -> None:
        self.edit, self.prop, self.native = edit, prop, native

    def __call__(self, row: int) -> np.ndarray | None:
        m = self.edit.mask
        if m is None:
            return None
        index = self.prop.start_frame + row
        if index == self.edit.frame:
            return m.at(self.edit.frame)
        if not m.is_static and m.start_frame <= index < m.end_frame:
            return m.at(index)
        return self.prop.mask(index, self.native)

    def corners(self) -> np.ndarray:
        """``(2·T, 2)`` the top-left and bottom-right pixel of every frame's region."""
        out = []
        for row in range(len(self.prop.handles)):
            m = self(row)
            if m is None or not m.any():
                continue
            ys, xs = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            out += [[xs[0], ys[0]], [xs[-1], ys[-1]]]
        return np.asarray(out, np.float32).reshape(-1, 2)
