"""Opening, saving and recovering the editor's project (no Qt)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import motionwright as mw

from . import server_render

if TYPE_CHECKING:
    from .editor import EditorModel

PROJECT_SUFFIX = ".mwproj"


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A project read from disk with the clip to show (``clip_id``'s, opened)."""

    project: mw.Project
    clip_id: str | None
    clip: Any


def load(path: str | os.PathLike, progress: Any = None, cancel: Any = None) -> Loaded:
    """Read the ``.mwproj`` project or the clip (video, image folder, printf pattern) at
    ``path`` and open the clip to show; touches no model, so it may run on any thread.
    ``progress`` and ``cancel`` go to :meth:`motionwright.Clip.open` (indexing the clip)."""
    if os.fspath(path).endswith(PROJECT_SUFFIX):
        project = mw.Project.load(path)
        clip_id = project.clips[0].id if project.clips else None
        clip = None
        if clip_id is not None:
            clip = mw.Clip.open(project.clip(clip_id).path, progress=progress, cancel=cancel)
        return Loaded(project, clip_id, clip)
    clip = mw.Clip.open(path, progress=progress, cancel=cancel)
    project = mw.Project()
    return Loaded(project, project.add_clip(path).id, clip)


def open_path(model: EditorModel, path: str | os.PathLike) -> None:
    """Show the ``.mwproj`` project or the clip (video, image folder, printf pattern) at
    ``path`` in ``model``."""
    loaded = load(path)
    show_project(model, loaded.project, loaded.clip_id, loaded.clip)


def show_project(model: EditorModel, project: mw.Project, clip_id: str | None = None,
                 clip: Any = None) -> None:
    """Show ``project`` in ``model`` (its clip ``clip_id``, default the first, with the
    clip's stored in/out and tracks); drafts, selection and history are cleared."""
    if clip_id is None and project.clips:
        clip_id = project.clips[0].id
    if clip is None and clip_id is not None:
        clip = mw.Clip.open(project.clip(clip_id).path)
    model.project, model.clip_id, model.clip = project, clip_id, clip
    n = len(clip) if clip is not None else 0
    ref = project.clip(clip_id) if clip_id is not None else None
    model.in_point = min(ref.in_frame, max(n - 1, 0)) if ref else 0
    out = ref.out_frame if ref is not None and ref.out_frame is not None else n
    model.out_point = max(model.in_point, min(out, n) - 1)
    model.playhead = model.in_point
    model.selection = model.selected_point = None
    model.draft_mask, model.anchors, model.track_points = None, (), ()
    model.box_keys = ()
    model.tracks = project.tracks.get(clip_id) if clip_id is not None else None
    model.sam_clicks, model.sam_frame, model.sam_mask = (), 0, None
    model.sam.pending = ()
    model.preview_clip = None
    model.undo.clear()
    model.edits_version += 1
    for sig in (model.clip_changed, model.range_changed, model.edits_changed,
                model.selection_changed, model.draft_changed, model.tracks_changed,
                model.library_changed, model.playhead_changed):
        sig.emit()
    model._refresh_preview()
    server_render.resume_server_jobs(model)  # renders of this project the server still has


def save(model: EditorModel, path: str | os.PathLike | None = None) -> Path:
    """Save ``model``'s project (to ``path``, or where it was last saved) and clear the
    recovery copy; returns the path written."""
    store_range(model)
    store_tracks(model)
    written = model.project.save(path)
    model.undo.set_clean()
    if model.recovery is not None:
        model.recovery.clear()
    model.document_changed.emit()
    return written


def autosave(model: EditorModel) -> Path | None:
    """Write the recovery copy when there are unsaved changes; returns its path."""
    if model.recovery is None or model.undo.is_clean or not model.project.clips:
        return None
    store_range(model)
    store_tracks(model)
    return model.recovery.save(model.project, model.clip_id)


def recover(model: EditorModel) -> bool:
    """Show the recovery copy if there is one (it stays marked unsaved); True if done."""
    if model.recovery is None or not model.recovery.available():
        return False
    project, _, clip_id = model.recovery.load()
    show_project(model, project, clip_id if clip_id in {c.id for c in project.clips} else None)
    model.undo.mark_unsaved()
    return True


def store_range(model: EditorModel) -> None:
    """Write ``model``'s in/out points into its project's clip reference (``out_frame``
    exclusive, None for the clip's end)."""
    if model.clip_id is None or model.clip is None:
        return
    ref = model.project.clip(model.clip_id)
    out = None if model.out_point >= len(model.clip) - 1 else model.out_point + 1
    if (ref.in_frame, ref.out_frame) != (model.in_point, out):
        idx = model.project.clips.index(ref)
        model.project.clips[idx] = dataclasses.replace(ref, in_frame=model.in_point,
                                                       out_frame=out)


def store_tracks(model: EditorModel) -> None:
    """Keep ``model``'s tracked points in its project, under the current clip."""
    if model.clip_id is not None:
        model.project.set_tracks(model.clip_id, model.tracks)


def title(model: EditorModel) -> str:
    """Window title text: project or clip name, ``*`` when unsaved."""
    if model.project.path is not None:
        name = Path(model.project.path).name
    elif model.clip_id is not None:
        name = Path(model.project.clip(model.clip_id).path).name
    else:
        name = "Motionwright"
    return f"{name}{' *' if model.dirty else ''}"
