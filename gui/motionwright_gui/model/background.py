"""The editor's background work: tracking, the live preview, renders and motion learning.

Each function snapshots what it needs from the model, queues a :class:`Job` on
``model.jobs`` and applies the result on the UI thread when it finishes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import motionwright as mw

from . import server_render
from .jobs import Job
from .render_out import RenderResult, render_target, save_streaming

if TYPE_CHECKING:
    from .editor import EditorModel


def track(model: EditorModel, points: mw.PointSet) -> Job:
    """Track ``points`` through ``model``'s clip; the result becomes its undoable
    ``tracks`` unless another clip was opened meanwhile."""
    from motionwright.tracking import track as track_points

    clip = model.clip

    def work(progress: Any, cancel: Any) -> Any:
        return track_points(clip, points, progress=progress, cancel=cancel)

    def done(result: Any) -> None:
        if model.clip is clip:
            model.change("Track points", tracks=result)

    return model.jobs.submit(Job("Track points", "track", work, done), serial=False)


def refresh_preview(model: EditorModel) -> None:
    """Drop ``model``'s preview render and, when the preview is on and there are edits,
    queue a new one with the preview backend (kept only if the edits did not change
    meanwhile)."""
    model.preview_clip = None
    if not model.preview_enabled or model.clip is None or not model.edits:
        model.preview_changed.emit()
        return
    clip, edits, version = model.clip, list(model.edits), model.edits_version

    def work(progress: Any, cancel: Any) -> Any:
        return mw.render(clip, edits, backend="preview", progress=progress, cancel=cancel)

    def done(result: Any) -> None:
        if version == model.edits_version and model.clip is clip:
            model.preview_clip, model.preview_version = result, version
            model.preview_changed.emit()

    model.jobs.submit(Job("Preview", "preview", work, done), serial=False)


def render_folder(model: EditorModel) -> Path:
    """Where renders are written: ``renders/`` next to the saved project, else the
    editor's cache folder (``settings.cache_dir()/renders``)."""
    from .settings import cache_dir

    if model.project.path is not None:
        return Path(model.project.path).parent / "renders"
    return cache_dir() / "renders"


def render(model: EditorModel, backend: str) -> Job:
    """Render the current clip's edits with ``backend`` into a file in :func:`render_folder`
    (through the render server when one is running, see :mod:`.server_render`, else
    streamed in-process); the saved clip is appended to ``model.results`` and announced by
    ``result_ready``."""
    from motionwright.io.output import plan_output
    from motionwright.rendering import check_render

    clip, edits = model.clip, list(model.edits)
    # Fails here, before the job is queued, when a model is missing or incomplete.
    check_render(clip, edits, backend=backend)
    name = Path(model.project.clip(model.clip_id).path).name.split(".")[0] or "clip"
    master = clip.info.get("codec") == "prores" or np.dtype(clip.dtype) == np.uint16
    path, codec = render_target(render_folder(model), f"{name}-{backend}", clip.size, master)
    with model.notices.catching_warnings():  # what the file cannot keep, listed in the UI
        plan_output(clip, path, codec)
    title = f"Render ({backend}) → {path.name}"
    client = server_render.find_client(model)
    if client is not None:  # the server renders it; the job outlives the editor
        return server_render.submit(model, client, clip=clip, edits=edits, backend=backend,
                                    path=path, codec=codec, title=title,
                                    family=_family(edits, backend))

    def work(progress: Any, cancel: Any) -> Any:
        out = mw.render(clip, edits, backend=backend, progress=progress, cancel=cancel)
        written = save_streaming(out, path, codec, progress, cancel)
        return RenderResult(title, backend, written, mw.Clip.open(written))

    def done(result: RenderResult) -> None:
        model.results.append(result)
        model.result_ready.emit(result)

    return model.jobs.submit(Job(title, "render", work, done, family=_family(edits, backend)))


def _family(edits: list, backend: str) -> str:
    """The model family a render of ``edits`` with ``backend`` needs first (its failures are
    explained against it); ``svd`` for the preview backend, which needs none."""
    if backend != "diffusion":
        return "svd"
    from motionwright.methods.backend import required_families

    return required_families(edits)[0]


def learn_motion(model: EditorModel, folder: str | os.PathLike | None = None) -> Job:
    """Learn the motion of ``model``'s in/out range into a ``.motion`` file in ``folder``
    (default: the user library) and add it to the project."""
    from motionwright.learn import learn_motion as learn
    from motionwright.models import resolve_model

    from .settings import user_motion_dir

    resolve_model("svd").layout()  # a missing model fails here, not after the job started
    clip, a, b = model.clip, model.in_point, model.out_point + 1
    target = Path(folder) if folder is not None else user_motion_dir()
    name = f"{model.clip_id}_{a}-{b - 1}"

    def work(progress: Any, cancel: Any) -> Any:
        emb = learn(clip, "svd", frame_range=(a, b), progress=progress, cancel=cancel)
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{name}.motion"
        emb.save(path)
        return path

    def done(path: Any) -> None:
        model.project.add_motion(name, path)
        model.library_changed.emit()

    return model.jobs.submit(Job(f"Learn motion {name}", "learn", work, done))
