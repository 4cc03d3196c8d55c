"""The edited clip as a lazy FrameSource: every frame is composited when it is read.

The run keeps only the model-size edited crops; reading frame ``i`` reads the source's frame
``i`` and pastes the crop back inside that frame's region (frames diffusion skipped under
``stride`` are warped along the tracked motion instead). Memory holds a few full frames at a
time whatever the clip's length and resolution; pixels outside the region are the source's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .region import composite


class DragOutput:
    """FrameSource of a drag's result over ``clip`` (a :class:`~motionwright.Clip`).

    ``crops`` ``(R, h, w, 3)`` uint8: the edited crops of ``rows`` (model size); ``box``: the
    crop box ``(x0, y0, x1, y1)``; ``region_at(row) -> (H, W) bool | None``: where a frame
    may change (None: the whole box); ``carry(row, frame) -> frame``: the result of a row
    diffusion skipped (None when every row was processed).
    """

    def __init__(self, clip, crops: np.ndarray, rows: list[int], box: tuple[int, int, int, int],
                 region_at: Callable[[int], np.ndarray | None], feather: float,
                 carry: Callable[[int, np.ndarray], np.ndarray] | None = None) -> None:
        self._clip = clip
        self._crops = crops
        self._pos = {r: i for i, r in enumerate(rows)}
        self._box = box
        self._region_at = region_at
        self._feather = feather
        self._carry = carry
        self.fps = clip.fps
        self.size = clip.size
        self.start_timecode = clip.start_timecode
        self.derived_from = clip
        self.dtype = clip.dtype
        self.source_path = None

    def __len__(self) -> int:
        return len(self._clip)

    def _edit(self, index: int, frame: np.ndarray) -> np.ndarray:
        pos = self._pos.get(index)
        if pos is not None:
            return composite(frame, self._crops[pos], self._box, self._region_at(index),
                             self._feather)
        if self._carry is None:
            return frame
        return self._carry(index, frame)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` of the result (``H×W×3``, the source's dtype)."""
        from ...io.source import check_index

        check_index(index, len(self), "the dragged clip")
        return self._edit(index, self._clip[index])

    def iter_frames(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Frames ``start..stop-1``, streaming the source."""
        for offset, frame in enumerate(self._clip[start:stop]):
            yield self._edit(start + offset, frame)

    def info(self) -> dict[str, Any]:
        """Facts for ``clip.info``."""
        return {"codec": None, "pix_fmt": "rgb24" if self.dtype == np.uint8 else "rgb48"}
