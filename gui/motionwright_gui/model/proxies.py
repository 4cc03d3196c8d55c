"""Scrubbing proxies: reduced-resolution, all-intra copies of video clips (no Qt).

A long-GOP video decodes frame ``i`` only after decoding from the keyframe before it, which
takes seconds in 1080p. A proxy stores every frame as a keyframe at most
:data:`PROXY_HEIGHT` pixels high, so any frame decodes in milliseconds; the viewer scrubs on
it and fetches the full-resolution frame once the playhead rests. Proxies are built in the
background into ``settings.cache_dir()/proxies`` under a name derived from the source file's
path, size and modification time, so they are reused across sessions and never mistaken
for an edited file's. Writes are atomic; leftovers of an interrupted build are removed.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import motionwright as mw

from .jobs import Job

if TYPE_CHECKING:
    from .editor import EditorModel

PROXY_KIND = "proxy"
PROXY_HEIGHT = 540
# Every frame a keyframe; x264 tuned for cheap decoding.
PROXY_OPTIONS = {"g": "1", "keyint_min": "1", "tune": "fastdecode"}
STALE_PART_SECONDS = 600


def proxy_folder() -> Path:
    """Where proxies are kept: ``settings.cache_dir()/proxies``."""
    from .settings import cache_dir

    return cache_dir() / "proxies"


def proxy_size(size: tuple[int, int], height: int | None = None) -> tuple[int, int] | None:
    """``(width, height)`` of the proxy of a ``size`` clip (even, aspect kept, ``height``
    high, default :data:`PROXY_HEIGHT`), or None when the clip is not taller than that."""
    height = PROXY_HEIGHT if height is None else int(height)
    w, h = size
    if h <= height:
        return None
    pw = max(2, round(w * height / h / 2) * 2)
    return pw, height


def proxy_path(source_path: str | os.PathLike, folder: Path | None = None) -> Path:
    """The proxy file of the video at ``source_path``, named by its resolved path, byte size
    and modification time (a changed file gets a new proxy)."""
    p = Path(source_path).resolve()
    st = p.stat()
    digest = hashlib.sha1(f"{p}\n{st.st_size}\n{st.st_mtime_ns}".encode()).hexdigest()[:20]
    return (folder or proxy_folder()) / f"{p.stem[:40]}-{digest}.mp4"


def remove_stale_parts(folder: Path | None = None, max_age: float = STALE_PART_SECONDS) -> int:
    """Delete half-written proxies (``.*.part.mp4`` left by a build that was killed) not
    touched for ``max_age`` seconds; returns how many were removed."""
    folder = folder or proxy_folder()
    if not folder.is_dir():
        return 0
    now, removed = time.time(), 0
    for part in folder.glob(".*.part.mp4"):
        try:
            if now - part.stat().st_mtime > max_age:
                part.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def wants_proxy(clip: Any) -> bool:
    """Whether ``clip`` is a video file large enough to be worth a proxy (image sequences
    and in-memory clips decode any frame directly)."""
    path = getattr(clip, "source_path", None)
    return (clip is not None and path is not None and os.path.isfile(path)
            and proxy_size(clip.size) is not None)


class ScaledSource:
    """A FrameSource of ``clip``'s frames resized to ``size`` ``(width, height)`` (area
    averaging), same fps, timecode and frame count; 16-bit frames become 8-bit."""

    def __init__(self, clip: Any, size: tuple[int, int]) -> None:
        self.clip, self.size = clip, tuple(size)
        self.fps, self.start_timecode = clip.fps, clip.start_timecode

    def __len__(self) -> int:
        return len(self.clip)

    def _scaled(self, frame: np.ndarray) -> np.ndarray:
        import cv2  # only proxy builds need it

        if frame.dtype == np.uint16:
            frame = (frame >> 8).astype(np.uint8)
        return cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` resized, ``H×W×3`` uint8."""
        return self._scaled(np.asarray(self.clip[index]))

    def iter_frames(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Frames ``start..stop-1`` resized, decoded as one stream."""
        for frame in self.clip[start:stop]:
            yield self._scaled(np.asarray(frame))


def build_proxy(clip: Any, target: str | os.PathLike, progress: Any = None,
                cancel: Any = None) -> Path:
    """Write the all-intra proxy of ``clip`` to ``target`` (.mp4, H.264); returns its path.
    Atomic: a failure or ``cancel`` leaves nothing at ``target``."""
    size = proxy_size(clip.size)
    if size is None:
        raise mw.errors.InvalidInputError(
            f"clip: {clip.size[0]}x{clip.size[1]} is no taller than {PROXY_HEIGHT} pixels; "
            "it needs no proxy")
    scaled = mw.Clip.from_source(ScaledSource(clip, size))
    return scaled.save(target, codec="h264", crf=20, preset="veryfast",
                       options=PROXY_OPTIONS, progress=progress, cancel=cancel)


def refresh(model: EditorModel) -> Job | None:
    """Forget the previous clip's proxy and give ``model``'s clip one in a background job
    (kind ``"proxy"``, cancellable): the stored proxy when there is one, else a new build.
    Does nothing when ``model.use_proxies`` is off or the clip needs none."""
    job, model.proxy_job = model.proxy_job, None
    if job is not None and job.active:
        model.jobs.cancel(job)
    if model.proxy_clip is not None:
        model.proxy_clip = None
        model.proxy_changed.emit()
    clip = model.clip
    if not model.use_proxies or not wants_proxy(clip):
        return None
    target = proxy_path(clip.source_path)

    def work(progress: Any, cancel: Any) -> Any:
        remove_stale_parts(target.parent)
        if target.is_file():
            try:
                return mw.Clip.open(target)
            except mw.errors.MotionwrightError:
                target.unlink(missing_ok=True)
        return mw.Clip.open(build_proxy(clip, target, progress, cancel))

    def done(proxy: Any) -> None:
        _attach(model, clip, proxy)

    model.proxy_job = Job(f"Proxy for scrubbing: {Path(clip.source_path).name}", PROXY_KIND,
                          work, done)
    return model.jobs.submit(model.proxy_job, serial=False)


def _attach(model: EditorModel, clip: Any, proxy: Any) -> None:
    if model.clip is not clip or len(proxy) != len(clip):
        return
    model.proxy_clip = proxy
    model.proxy_changed.emit()
