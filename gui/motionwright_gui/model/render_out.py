"""Writing renders to disk as they are computed, with intermediate previews (no Qt)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import motionwright as mw

PREVIEW_INTERVAL = 0.25  # seconds between intermediate frames sent to the render queue


@dataclass(frozen=True)
class RenderResult:
    """A finished render: its queue ``title``, the ``backend`` used, the ``path`` written and
    the ``clip`` opened from that file (decoded lazily)."""

    title: str
    backend: str
    path: Path
    clip: Any


def render_target(folder: Path, stem: str, size: tuple[int, int],
                  master: bool = False) -> tuple[Path, str]:
    """A new ``(path, codec)`` in ``folder`` for a render of a ``size`` (w, h) clip: when
    both sides are even, a ProRes ``stem-NNN.mov`` for a ``master`` source (ProRes or high
    bit depth, whose 4:2:2 chroma and depth H.264 would not keep) and an H.264
    ``stem-NNN.mp4`` otherwise; else a PNG-sequence folder ``stem-NNN``."""
    w, h = size
    codec = ("prores" if master else "h264") if w % 2 == 0 and h % 2 == 0 else "png"
    suffix = {"prores": ".mov", "h264": ".mp4", "png": ""}[codec]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) or "render"
    for n in range(1, 10000):
        path = folder / f"{safe}-{n:03d}{suffix}"
        if not path.exists():
            return path, codec
    raise mw.errors.InvalidInputError(
        f"folder: {folder} already holds 9999 renders named {safe}-NNN; clear some out")


class RecordingSource:
    """A FrameSource over ``clip`` that remembers the last frame it produced (``last``,
    ``H×W×3``), so progress reports can carry an intermediate preview. Saving it keeps the
    source media's audio, rotation, bit depth and frame numbers, as saving ``clip`` would."""

    def __init__(self, clip: Any) -> None:
        self.clip = clip
        self.fps = clip.fps
        self.size = clip.size
        self.start_timecode = clip.start_timecode
        self.dtype = clip.dtype
        self.derived_from = clip
        self.last: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.clip)

    def read(self, index: int) -> np.ndarray:
        self.last = np.asarray(self.clip[index])
        return self.last

    def iter_frames(self, start: int, stop: int) -> Iterator[np.ndarray]:
        for frame in self.clip[start:stop]:
            self.last = np.asarray(frame)
            yield self.last


def save_streaming(clip: Any, path: Path, codec: str, progress: Any = None,
                   cancel: Any = None) -> Path:
    """Save ``clip`` (typically a lazy render) to ``path`` frame by frame with ``codec``,
    reporting progress with the latest frame as a preview every :data:`PREVIEW_INTERVAL`
    seconds; atomic (a cancel or failure leaves nothing at ``path``). Returns the path."""
    recorder = RecordingSource(clip)
    last_preview = [0.0]

    def report(event: Any) -> None:
        if progress is None:
            return
        now = time.monotonic()
        if recorder.last is not None and (now - last_preview[0] >= PREVIEW_INTERVAL
                                          or event.done >= event.total):
            last_preview[0] = now
            event = dataclasses.replace(event, preview=recorder.last)
        progress(event)

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return mw.Clip.from_source(recorder).save(path, codec=codec, progress=report, cancel=cancel)
