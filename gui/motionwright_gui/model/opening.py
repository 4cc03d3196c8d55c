"""Opening clips and projects off the UI thread (no Qt).

Opening a long video indexes every packet, which takes tens of seconds for a long-GOP 1080p
file; it runs as a job so the window keeps responding and reports how much of the file is
indexed (:func:`open_status`). The clip shown so far stays until the new one is ready; a newer
open or :func:`cancel_open` stops the pending one at the indexing's next step.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import motionwright as mw

from . import files, settings
from .jobs import Job
from .notices import WARNING

if TYPE_CHECKING:
    from .editor import EditorModel

OPEN_KIND = "open"
_TITLE_PREFIX = "Open "
# What the status bar says during each progress stage of Clip.open.
_STAGE_VERBS = {"index": "Indexing", "verify": "Checking the last frames of"}


def open_in_background(model: EditorModel, path: str | os.PathLike) -> Job:
    """Open ``path`` (clip or ``.mwproj``) on a worker thread and show it in ``model`` when
    ready, adding it to the recent files; the job (kind ``"open"``) is ``model.opening``
    (see :func:`pending_open`). A path that does not exist raises
    :class:`~motionwright.errors.MediaNotFoundError` at once."""
    text = os.fspath(path)
    if "%" not in text and not os.path.exists(text):
        raise mw.errors.MediaNotFoundError(
            f"path: '{text}' does not exist; choose an existing clip, image folder or .mwproj")
    cancel_open(model)

    def work(progress: Any, cancel: Any) -> tuple[files.Loaded, list[str]]:
        # Warning filters are process-wide: a warning another thread raises meanwhile may be
        # listed here too, which only adds a line to the messages panel.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = files.load(text, progress, cancel)
        if cancel.cancelled:
            raise mw.errors.Cancelled(f"opening '{text}' was cancelled")
        return loaded, [str(w.message) for w in caught]

    def done(result: tuple[files.Loaded, list[str]]) -> None:
        if model.opening is not job:
            return
        model.opening = None
        loaded, warned = result
        for text_ in warned:
            model.notices.add(WARNING, text_)
        files.show_project(model, loaded.project, loaded.clip_id, loaded.clip)
        settings.add_recent(text)

    name = os.path.basename(text.rstrip(os.sep)) or text
    job = Job(_TITLE_PREFIX + name, OPEN_KIND, work, done)
    model.opening = job
    return model.jobs.submit(job, serial=False)


def pending_open(model: EditorModel) -> Job | None:
    """The open still under way (not finished, failed or cancelled), or None."""
    job = model.opening
    return job if job is not None and job.active and not job.cancel_token.cancelled else None


def open_status(job: Job) -> str:
    """The status line of an open: ``"Indexing shot.mp4 — 42 %"`` while the clip's packets
    are indexed, ``"Checking the last frames of shot.mp4 — 60 %"`` while its last GOP
    decodes, ``"Opening shot.mp4…"`` before that."""
    name = job.title.removeprefix(_TITLE_PREFIX)
    verb = _STAGE_VERBS.get(job.stage)
    if verb is None:
        return f"Opening {name}…"
    return f"{verb} {name} — {open_percent(job)} %"


def shows_percent(job: Job) -> bool:
    """Whether the open is in a stage with a known end (else a busy bar fits)."""
    return job.stage in _STAGE_VERBS


def open_percent(job: Job) -> int:
    """How far the open's current stage is, 0–100."""
    return min(max(int(job.fraction * 100), 0), 100)


def cancel_open(model: EditorModel) -> None:
    """Drop the pending open, if any: its clip is never shown, and the indexing stops on its
    thread at its next progress step (every packet offset step or decoded frame)."""
    job, model.opening = model.opening, None
    if job is not None and job.active:
        model.jobs.cancel(job)
        model.jobs.changed.emit(job)
