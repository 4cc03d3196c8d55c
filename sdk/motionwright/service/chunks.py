"""Splitting a job into chunks and rendering one chunk.

A chunk is the unit the service records as finished and redoes after a crash: one frame for
the preview backend (frames are independent once tracking is done), the whole clip for the
diffusion backend (its methods edit every frame of a clip together — Drag-A-Video's shared
latent offsets, Reenact Anything's generated video — so the clip is their window).

:func:`render_chunk` is pure: the same request and range give the same frames, in this process
or in a remote worker. For the preview backend the one-off work (tracking, propagating drags) is
done once per request and process and kept for the following chunks.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from ..errors import InvalidInputError

_PREPARED_MAX = 4
_prepared: OrderedDict[str, Any] = OrderedDict()
_prepared_lock = threading.Lock()
_build_locks: dict[str, threading.Lock] = {}


def plan_chunks(request, length: int) -> list[tuple[int, int]]:
    """The chunks of a job rendering ``length`` frames: ``[(start, stop), ...]`` covering
    ``0..length`` in order (preview: one frame each; diffusion: one chunk)."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise InvalidInputError(f"length: expected a positive frame count, got {length!r}")
    if request.backend == "preview":
        return [(i, i + 1) for i in range(length)]
    return [(0, length)]


def _prepared_key(request) -> str:
    stamp: Any = None
    if "path" in request.source and os.path.exists(request.source["path"]):
        st = os.stat(request.source["path"])
        stamp = [st.st_size, st.st_mtime_ns]
    return json.dumps([request.source, request.upload_dir, stamp, list(request.edits)],
                      sort_keys=True)


def prepared_preview(request, *, progress=None, cancel=None):
    """The lazy preview render of ``request``'s whole source (tracking done), built once per
    request in this process (the few most recent are kept)."""
    from ..preview.backend import build_ops, render_ops

    key = _prepared_key(request)
    with _prepared_lock:
        if key in _prepared:
            _prepared.move_to_end(key)
            return _prepared[key]
        lock = _build_locks.setdefault(key, threading.Lock())
    with lock:
        with _prepared_lock:
            if key in _prepared:
                return _prepared[key]
        clip = request.open_clip()
        edits = request.edit_objects()
        for i, edit in enumerate(edits):
            edit.check_against(len(clip), clip.size, name=f"edits[{i}]")
        # Tracking honours this caller's cancel; frames are then read without one, so the
        # prepared render can serve other jobs of the same request.
        rendered = render_ops(clip, build_ops(clip, edits, progress=progress, cancel=cancel))
        with _prepared_lock:
            _prepared[key] = rendered
            while len(_prepared) > _PREPARED_MAX:
                _prepared.popitem(last=False)
            _build_locks.pop(key, None)
        return rendered


def render_chunk(request, start: int, stop: int, *, models: Any = None, progress=None,
                 cancel=None) -> np.ndarray:
    """Frames ``start..stop-1`` of ``request``'s render as a ``(T, H, W, 3)`` array (uint8 or
    uint16, like the source). ``models``: a :class:`motionwright.models.Models` to reuse
    (diffusion). A diffusion chunk covering the whole job returns every frame the method
    made (a motion transfer may make another count than the source has)."""
    from ..progress import is_cancelled

    if request.backend == "preview":
        rendered = prepared_preview(request, progress=progress, cancel=cancel)
        frames = []
        for i in range(start, stop):
            if is_cancelled(cancel):
                from ..errors import Cancelled

                raise Cancelled(f"chunk [{start}, {stop}) cancelled")
            frames.append(rendered[i])
        return np.stack(frames)
    video = _render_diffusion(request, models=models, progress=progress, cancel=cancel)
    if (start, stop) == (0, request.frames):
        return video
    return video[start:stop]


def _render_diffusion(request, *, models: Any, progress, cancel) -> np.ndarray:
    from ..methods import backend as diffusion
    from .request import drag_settings

    clip = request.open_clip()
    edits = request.edit_objects()
    settings = dict(request.settings)
    memory = settings.pop("memory", None)
    diffusion.preflight(edits, models=models)
    kind, items = diffusion._plan(edits)
    if kind == "drag":
        chosen = drag_settings(settings)
        for drag in items:
            clip = diffusion.render_drag(clip, drag, models=models, settings=chosen,
                                         memory=memory, progress=progress, cancel=cancel)
        return clip.to_array()
    if kind == "transfer":
        size = tuple(settings["size"]) if "size" in settings else None
        result = diffusion.render_motion_transfer(
            clip, items[0], models=models, num_frames=settings.get("num_frames"), size=size,
            steps=settings.get("steps"), seed=settings.get("seed", 0), memory=memory,
            progress=progress, cancel=cancel)
        return result.to_array()
    # ReVideo, Point-to-Point and S²V2V take their paper's settings through mw.render.
    return diffusion.render(clip, edits, models=models, progress=progress,
                            cancel=cancel).to_array()
