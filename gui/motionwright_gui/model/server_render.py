"""Renders through the local render server, when one is running (no Qt).

The editor's render queue hands a render to the server (``motionwright serve``) found through
:meth:`motionwright.bridge.Client.find`, and renders in-process only when none answers. A
server job keeps running when the editor closes; its label names the project and the file it
renders to, so the editor lists it again (with its progress, or its finished file) when that
project is shown next time. A queue row follows its server job by polling it on the job's
worker thread; cancelling the row cancels the job on the server. A finished job's frames are
written to the render file by the editor with the same writer as an in-process render (the
server may not write into the editor's render folder), so both give the same file.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import motionwright as mw

from .jobs import Job
from .render_out import PREVIEW_INTERVAL, RenderResult, save_streaming

if TYPE_CHECKING:
    from .editor import EditorModel

LABEL_PREFIX = "editor:"
POLL = 0.25  # seconds between status requests while a server job runs
OUTAGE_GRACE = 15.0  # seconds a server may stay unreachable before the row gives up on it
RECENT_DONE = 20  # finished server jobs of the project listed again on open
FIND_TIMEOUT = 2.0  # seconds a server found in server.json may take to answer (UI thread)


class RemoteRenderError(mw.errors.MotionwrightError, RuntimeError):
    """A render that failed on the server; the message is the server's."""


class Detached(Exception):
    """The editor stopped following a server job (it closed); the job runs on."""


def find_client(model: EditorModel) -> Any:
    """The render server's client when ``model.render_server`` is ``"auto"`` and a server
    answers, else None (render in-process)."""
    if getattr(model, "render_server", "off") != "auto":
        return None
    try:
        from motionwright.bridge import Client

        client = Client.find(timeout=FIND_TIMEOUT)  # checks that it answers, in our protocol
    except (mw.errors.MotionwrightError, OSError, ImportError):
        return None
    return client


def project_key(model: EditorModel) -> str:
    """A short stable id of what the editor shows: the saved project's path, else the
    clip's media path (renders of it are listed again when it is opened again)."""
    if model.project.path is not None:
        where = os.path.abspath(model.project.path)
    elif model.clip_id is not None:
        where = os.path.abspath(model.project.clip(model.clip_id).path)
    else:
        where = ""
    return hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def make_label(model: EditorModel, title: str) -> str:
    """The server job label of an editor render titled ``title`` (at most 200 characters)."""
    return f"{LABEL_PREFIX}{project_key(model)}:{title}"[:200]


def submit(model: EditorModel, client: Any, *, clip: Any, edits: list, backend: str,
           path: Path, codec: str, title: str, family: str) -> Job:
    """Queue a server render of ``edits`` on ``model``'s clip, written to ``path`` with
    ``codec`` when it is done, as a row of ``model.jobs``; the request is sent from the row's
    worker thread."""
    from motionwright.bridge import request_for

    source = model.project.clip(model.clip_id).path
    request = request_for(os.path.abspath(source), edits, start=0, stop=len(clip),
                          backend=backend, label=make_label(model, title))
    job = Job(title, "render", lambda p, c: None, family=family)
    job.remote = True

    def work(progress: Any, cancel: Any) -> Any:
        view = client.submit(request)
        job.server_id = view["id"]
        view = follow(client, job, view, progress, cancel)
        return write_result(client, view, clip, Path(path), codec, title, progress, cancel)

    job.work = work
    job.on_done = _announce(model)
    return model.jobs.submit(job, serial=False)


def write_result(client: Any, view: dict, like: Any, path: Path, codec: str | None,
                 title: str, progress: Any, cancel: Any) -> RenderResult:
    """Write finished server job ``view``'s frames to ``path`` (unless a file is there
    already, e.g. written before the editor last closed) and open it. ``like``: the source
    clip the frames replace (its audio, timecode and rotation are kept), or None."""
    if not path.exists():
        if like is not None and len(like) != int(view["frames"]):
            like = None
        result = client.result_clip(view["id"], like=like)
        save_streaming(result, path, codec, progress, cancel)
    return RenderResult(title, view.get("backend", ""), path, mw.Clip.open(path))


def _announce(model: EditorModel, emit: bool = True) -> Any:
    def done(result: RenderResult) -> None:
        model.results.append(result)
        if emit:
            model.result_ready.emit(result)

    return done


def follow(client: Any, job: Job, view: dict, progress: Any, cancel: Any) -> dict:
    """Poll server job ``view`` until it ends, reporting its progress, ETA and latest preview
    frame; returns the finished job's view, raises :class:`RemoteRenderError` for a failed job and
    :class:`~motionwright.errors.Cancelled` for a cancelled one (cancelling ``cancel``
    cancels the server job)."""
    job_id, started = view["id"], time.monotonic()
    shown, last_preview, unreachable = None, 0.0, None
    while True:
        if job.detached.is_set():
            raise Detached(job_id)
        if mw.progress.is_cancelled(cancel):
            client.cancel(job_id)
            raise mw.errors.Cancelled(f"render {job.title!r} cancelled")
        state = view["state"]
        if state == "done":
            return view
        if state == "failed":
            error = view.get("error") or {}
            raise RemoteRenderError(error.get("message") or "the render failed on the server")
        if state == "cancelled":
            raise mw.errors.Cancelled(f"render {job.title!r} was cancelled on the server")
        preview = None
        descriptor = view.get("preview")
        now = time.monotonic()
        if descriptor and descriptor.get("index") != shown and now - last_preview >= \
                PREVIEW_INTERVAL:
            try:
                preview = client.frame(job_id, descriptor["index"], sample="uint8")[..., :3]
                shown, last_preview = descriptor.get("index"), now
            except mw.errors.MotionwrightError:
                preview = None  # the frame was not ready after all; the next poll retries
        step = view.get("progress") or {}
        progress(mw.progress.ProgressEvent(
            step.get("stage") or state, int(step.get("done") or 0),
            int(step.get("total") or 0), now - started, view.get("eta"), preview))
        job.detached.wait(POLL)
        try:
            view = client.status(job_id)
            unreachable = None
        except (mw.errors.MotionwrightError, OSError) as exc:
            if isinstance(exc, LookupError):  # the job was deleted on the server
                raise RemoteRenderError(f"server job {job_id} no longer exists") from exc
            unreachable = unreachable or now
            if now - unreachable > OUTAGE_GRACE:
                raise RemoteRenderError(
                    f"the render server stopped answering ({exc}); the job {job_id} resumes "
                    "when the server starts again, and the editor lists it when it reopens"
                ) from exc


def resume_server_jobs(model: EditorModel, client: Any = None) -> list[Job]:
    """List again the server jobs of the project ``model`` shows (running ones with their
    progress, the :data:`RECENT_DONE` latest finished ones with their file) that the queue
    does not show yet; returns the new rows."""
    client = client if client is not None else find_client(model)
    if client is None:
        return []
    prefix = f"{LABEL_PREFIX}{project_key(model)}:"
    try:
        views = [v for v in client.jobs() if (v.get("label") or "").startswith(prefix)]
    except (mw.errors.MotionwrightError, OSError):
        return []
    known = {getattr(j, "server_id", None) for j in model.jobs.jobs}
    views = [v for v in views if v["id"] not in known]
    views.sort(key=lambda v: v.get("created") or "")
    active = [v for v in views if v["state"] in ("queued", "running")]
    done = [v for v in views if v["state"] == "done"][-RECENT_DONE:]
    rows = []
    for view in done + active:
        title = view["label"][len(prefix):] or view["id"]
        path = _render_path(model, title)
        if path is None:
            continue
        job = Job(title, "render", lambda p, c: None)
        job.remote, job.server_id = True, view["id"]
        job.work = _following(client, job, view, model.clip, path)
        job.on_done = _announce(model, emit=view["state"] != "done")
        rows.append(model.jobs.submit(job, serial=False))
    return rows


def _following(client: Any, job: Job, view: dict, like: Any, path: Path) -> Any:
    codec = {".mp4": "h264", ".mov": "prores", "": "png"}.get(path.suffix)

    def work(progress: Any, cancel: Any) -> Any:
        final = follow(client, job, view, progress, cancel)
        return write_result(client, final, like, path, codec, job.title, progress, cancel)

    return work


def _render_path(model: EditorModel, title: str) -> Path | None:
    """The render file named at the end of a queue ``title`` (``… → name-001.mp4``), in the
    project's render folder; None for a title naming no file."""
    from .background import render_folder

    name = title.rpartition("→ ")[2].strip()
    if not name or name != os.path.basename(name) or name in (".", ".."):
        return None
    return render_folder(model) / name


__all__ = ["Detached", "RemoteRenderError", "find_client", "follow",
           "make_label", "project_key", "resume_server_jobs", "submit"]
