"""The "preview" render backend: classical CPU approximations of every edit, no weights.

:func:`render` does the one-off work (tracking and propagating each drag) when called and
returns a lazy :class:`~motionwright.Clip`: each frame is read from the input, passed through
the edits in order, and returned — nothing is kept between frames, so memory does not grow
with the clip's length. DragEdit and TrajectoryEdit are rendered; the other edit types are
shown as an honest overlay (the source with their points, paths and masks drawn and a label
saying the diffusion backend renders them).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..progress import ProgressCallback, Reporter
from .overlay import draw_edit_overlay


class _OverlayOp:
    """Draws an edit the preview cannot render."""

    def __init__(self, edit: Any) -> None:
        self.edit = edit

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        return draw_edit_overlay(frame, self.edit, index)


class PreviewSource:
    """A FrameSource: frame ``i`` of ``clip`` passed through ``ops`` in order.

    Reports progress (stage ``"preview"``, one step per distinct frame rendered) and honours
    ``cancel`` on every read (raising :class:`~motionwright.errors.Cancelled`).
    """

    def __init__(self, clip: Any, ops: list, progress: ProgressCallback | None = None,
                 cancel: Any = None) -> None:
        self._clip = clip
        self._ops = ops
        self.fps = clip.fps
        self.size = clip.size
        self.start_timecode = clip.start_timecode
        self.derived_from = clip
        self.dtype = clip.dtype
        self._reporter = Reporter("preview", len(clip), progress, cancel)
        self._done: set[int] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._clip)

    def read(self, index: int) -> np.ndarray:
        self._reporter.check()
        frame = self._clip[index]
        for op in self._ops:
            frame = op.apply(frame, index)
        with self._lock:
            if index not in self._done:
                self._done.add(index)
                self._reporter.step()
        return frame


def build_ops(clip: Any, edits: list, *, progress: ProgressCallback | None = None,
              cancel: Any = None) -> list:
    """The per-frame operations for ``edits`` (tracking and propagation happen here)."""
    from ..edits import DragEdit, TrajectoryEdit
    from .drag import DragPreview
    from .trajectory import TrajectoryPreview

    ops: list = []
    for edit in edits:
        if isinstance(edit, DragEdit):
            ops.append(DragPreview(clip, edit, progress=progress, cancel=cancel))
        elif isinstance(edit, TrajectoryEdit):
            ops.append(TrajectoryPreview(clip, edit))
        else:
            ops.append(_OverlayOp(edit))
    return ops


def render(clip: Any, edits: Any, *, progress: ProgressCallback | None = None,
           cancel: Any = None):
    """Render ``edits`` (one edit or a list, applied in order) on ``clip`` with the preview
    backend; returns a lazy :class:`~motionwright.Clip` of the same length, rate and size.

    Tracking for drags runs now (progress stage ``"track"``); frames are computed when read
    (stage ``"preview"``). ``cancel`` stops either with
    :class:`~motionwright.errors.Cancelled`. Edits are expected to be checked against the clip
    already (``mw.render`` does it).
    """
    items = list(edits) if isinstance(edits, list | tuple) else [edits]
    return render_ops(clip, build_ops(clip, items, progress=progress, cancel=cancel),
                      progress=progress, cancel=cancel)


def render_ops(clip: Any, ops: list, *, progress: ProgressCallback | None = None,
               cancel: Any = None):
    """The lazy clip of ``clip`` passed through ``ops`` (from :func:`build_ops`, or prepared
    previews such as a :class:`~motionwright.preview.drag.DragPreview` that a caller also
    draws from, so nothing is tracked twice)."""
    from ..clip import Clip

    return Clip.from_source(PreviewSource(clip, ops, progress, cancel))
