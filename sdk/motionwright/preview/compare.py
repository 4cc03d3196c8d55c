"""Lazy clips for looking at results: overlays and side-by-side comparisons.

Both return a :class:`~motionwright.Clip` whose frames are composed when read, so a comparison
of long clips costs no more memory than one frame of each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from ..errors import InvalidInputError
from .overlay import draw_edit_overlay, draw_label


class MappedSource:
    """A FrameSource applying ``fn(frame, index)`` to each frame of ``clip``."""

    def __init__(self, clip: Any, fn: Callable[[np.ndarray, int], np.ndarray],
                 size: tuple[int, int] | None = None) -> None:
        self._clip = clip
        self._fn = fn
        self.fps = clip.fps
        self.size = size or clip.size
        self.start_timecode = clip.start_timecode
        self.derived_from = clip
        self.dtype = clip.dtype

    def __len__(self) -> int:
        return len(self._clip)

    def read(self, index: int) -> np.ndarray:
        return self._fn(self._clip[index], index)


def overlay_clip(clip: Any, edits: Any, tracks: Any = None):
    """``clip`` with ``edits`` (one or a list) drawn on every frame, lazily (see
    :func:`~motionwright.preview.overlay.draw_edit_overlay`; ``tracks`` is passed to each)."""
    from ..clip import Clip

    items = edits if isinstance(edits, list | tuple) else [edits]

    def draw(frame: np.ndarray, index: int) -> np.ndarray:
        for edit in items:
            frame = draw_edit_overlay(frame, edit, index, tracks)
        return frame

    return Clip.from_source(MappedSource(clip, draw))


def side_by_side(clip_a: Any, clip_b: Any, labels: Sequence[str] = ("source", "preview"), *,
                 edit: Any = None, tracks: Any = None):
    """The two clips next to each other (``clip_b`` scaled to ``clip_a``'s height), each
    labelled, as one lazy :class:`~motionwright.Clip` with ``clip_a``'s rate and timecode.

    With ``edit`` (one edit or a list), what it asks for is drawn on both halves (handles,
    targets, paths, masks; see :func:`~motionwright.preview.overlay.draw_edit_overlay`, which
    also receives ``tracks``)."""
    from ..clip import Clip

    if len(clip_a) != len(clip_b):
        raise InvalidInputError(
            f"clip_b: expected as many frames as clip_a ({len(clip_a)}), got {len(clip_b)}"
        )
    labels = list(labels) + [""] * (2 - len(labels))
    wa, ha = clip_a.size
    wb, hb = clip_b.size
    wb_scaled = max(1, round(wb * ha / hb))
    edits = [] if edit is None else list(edit) if isinstance(edit, list | tuple) else [edit]

    def decorate(frame: np.ndarray, index: int) -> np.ndarray:
        for item in edits:
            frame = draw_edit_overlay(frame, item, index, tracks)
        return frame

    class _Pair(MappedSource):
        def read(self, index: int) -> np.ndarray:
            a = np.array(clip_a[index])
            b = clip_b[index]
            if b.dtype != a.dtype:
                b = (b >> 8).astype(np.uint8) if b.dtype == np.uint16 else b.astype(a.dtype)
            b = np.array(b) if (wb_scaled, ha) == (wb, hb) else cv2.resize(
                b, (wb_scaled, ha), interpolation=cv2.INTER_AREA)
            if edits:
                a = decorate(a, index)
                if (wb, hb) == clip_a.size:
                    b = decorate(b, index)
            if labels[0]:
                draw_label(a, labels[0])
            if labels[1]:
                draw_label(b, labels[1])
            return np.concatenate([a, b], axis=1)

    return Clip.from_source(_Pair(clip_a, lambda f, i: f, size=(wa + wb_scaled, ha)))
