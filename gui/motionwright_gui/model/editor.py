"""The editor's document and UI state, with no Qt: views subscribe to its signals.

Every change to the document (edits, in/out, draft mask, anchors, track points, tracks) goes
through :meth:`EditorModel.change`, which records a before/after :class:`Snapshot` on the undo
stack. The playhead, tool and zoom are view state and are not undoable. Opening and saving live
in :mod:`.files`, building edits in :mod:`.edit_build` and :mod:`.edit_ops`, background work in
:mod:`.background`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

import motionwright as mw
from motionwright.path import TIMINGS

from . import background, box_path, edit_build, edit_ops, files, opening, proxies
from .anchor_tool import AnchorTool
from .document import Snapshot, restore, snapshot_of
from .events import Signal
from .frames import Dispatcher, call_now
from .jobs import Job, JobQueue
from .notices import NoticeLog
from .recovery import Recovery
from .render_out import RenderResult
from .sam_tool import SamTool, sam_status
from .undo import Command, UndoStack

TOOLS = ("select", "drag", "points", "polygon", "brush", "pen", "sam", "anchors", "box")

__all__ = ["TIMINGS", "TOOLS", "EditorModel", "Snapshot", "sam_available"]


def sam_available() -> bool:
    """Whether the SAM click tool can run: a ``sam`` model is configured (checked cheaply,
    without loading it; see :func:`~motionwright_gui.model.sam_tool.sam_status`)."""
    return sam_status()[0]


class EditorModel:
    """Project, current clip, playhead, in/out (inclusive frames), selection (index into the
    current clip's edits), active tool, drafts (mask, anchors, track points), tracks, undo stack,
    background jobs and the message log (:attr:`notices`). Views connect to the ``*_changed``
    signals; nothing here knows Qt.

    ``dispatcher(fn, *args)`` runs ``fn`` on the UI thread (the default calls it at once);
    jobs and the frame loader report through it. ``opening`` is the background open under
    way (:mod:`.opening`); ``proxy_clip`` the current clip's scrubbing proxy once built
    (:mod:`.proxies`; ``proxy_changed`` tells when it comes or goes, ``use_proxies`` turns
    them off).
    """

    def __init__(self, dispatcher: Dispatcher = call_now,
                 recovery: Recovery | None = None) -> None:
        self.dispatcher = dispatcher
        self.project = mw.Project()
        self.clip_id: str | None = None
        self.clip: Any = None
        self.playhead = 0
        self.in_point = 0
        self.out_point = 0
        self.selection: int | None = None
        self.selected_point: int | None = None
        self.tool = "drag"
        self.draft_mask: Any = None
        self.anchors: tuple = ()
        self.track_points: tuple = ()
        self.track_frame = 0
        self.tracks: Any = None
        self.sam_clicks: tuple = ()
        self.sam_frame = 0
        self.sam_mask: Any = None
        self.box_keys: tuple = ()  # box path keyframes (frame, x, y, w, h); see .box_path
        self.path_timing = "uniform"
        self.brush_radius = 8.0
        self.backend = "preview"
        # "auto": renders go to the render server when one is running; "off": in-process.
        self.render_server = "auto"
        self.loop = True
        self.preview_enabled = False
        self.preview_clip: Any = None
        self.preview_version = 0
        self.edits_version = 0
        self.results: list[RenderResult] = []
        self.opening: Job | None = None
        self.use_proxies = True
        self.proxy_clip: Any = None
        self.proxy_job: Job | None = None
        self.undo = UndoStack()
        self.jobs = JobQueue(dispatcher)
        self.recovery = recovery
        self.clip_changed = Signal("clip_changed")
        self.playhead_changed = Signal("playhead_changed")
        self.range_changed = Signal("range_changed")
        self.edits_changed = Signal("edits_changed")
        self.selection_changed = Signal("selection_changed")
        self.tool_changed = Signal("tool_changed")
        self.draft_changed = Signal("draft_changed")
        self.tracks_changed = Signal("tracks_changed")
        self.preview_changed = Signal("preview_changed")
        self.library_changed = Signal("library_changed")
        self.result_ready = Signal("result_ready")
        self.document_changed = Signal("document_changed")
        self.message = Signal("message")
        self.notices = NoticeLog()
        self.proxy_changed = Signal("proxy_changed")
        self.clip_changed.connect(lambda: proxies.refresh(self))
        self.undo.changed.connect(self._on_undo_changed)
        self.sam = SamTool(self)
        self.anchor_tool = AnchorTool(self)

    # -- opening and saving --------------------------------------------------------------------
    def open(self, path: str | os.PathLike) -> None:
        """Open a ``.mwproj`` project or a clip (video, image folder, printf pattern); warnings
        (e.g. a truncated file) go to :attr:`notices`."""
        with self.notices.catching_warnings():
            files.open_path(self, path)

    def open_in_background(self, path: str | os.PathLike) -> Job:
        """Open ``path`` like :meth:`open` on a worker thread (the clip shown so far stays
        until it is ready); see :mod:`.opening`."""
        return opening.open_in_background(self, path)

    def cancel_open(self) -> None:
        """Drop the open started by :meth:`open_in_background`, if still under way."""
        opening.cancel_open(self)

    def set_project(self, project: mw.Project, clip_id: str | None = None,
                    clip: Any = None) -> None:
        """Show ``project`` (its clip ``clip_id``, default the first); clears the history."""
        files.show_project(self, project, clip_id, clip)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Save the project (to ``path``, or where it was last saved); clears recovery."""
        return files.save(self, path)

    def autosave(self) -> Path | None:
        """Write the recovery copy when there are unsaved changes; returns its path."""
        return files.autosave(self)

    def recover(self) -> bool:
        """Open the recovery copy if there is one (it stays marked unsaved); True if done."""
        with self.notices.catching_warnings():
            return files.recover(self)

    @property
    def dirty(self) -> bool:
        """Whether there are unsaved changes."""
        return not self.undo.is_clean

    @property
    def title(self) -> str:
        """Window title text: project or clip name, ``*`` when unsaved."""
        return files.title(self)

    def _on_undo_changed(self) -> None:
        self.document_changed.emit()

    # -- time ---------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        """Frames in the current clip (0 when none is open)."""
        return len(self.clip) if self.clip is not None else 0

    def set_playhead(self, frame: int) -> int:
        """Move the playhead (clamped to the clip); returns the frame it landed on."""
        frame = int(min(max(int(frame), 0), max(self.num_frames - 1, 0)))
        if frame != self.playhead:
            self.playhead = frame
            self.playhead_changed.emit()
        return frame

    def step(self, n: int) -> int:
        """Move the playhead ``n`` frames (negative = back)."""
        return self.set_playhead(self.playhead + n)

    def timecode(self, frame: int | None = None) -> str:
        """Timecode text of ``frame`` (default the playhead)."""
        if self.clip is None:
            return "--:--:--:--"
        return str(self.clip.start_timecode + (self.playhead if frame is None else frame))

    def play_range(self) -> tuple[int, int]:
        """``(first, last)`` frames playback runs over: the in/out range."""
        return self.in_point, max(self.in_point, min(self.out_point, self.num_frames - 1))

    def set_loop(self, on: bool) -> None:
        """Whether playback wraps round inside in/out (else it stops at the end)."""
        self.loop = bool(on)

    def set_in(self, frame: int | None = None) -> None:
        """Set the in point (default: the playhead); undoable."""
        f = self.playhead if frame is None else int(frame)
        self.change("Set in point", in_point=f, out_point=max(f, self.out_point))

    def set_out(self, frame: int | None = None) -> None:
        """Set the out point, inclusive (default: the playhead); undoable."""
        f = self.playhead if frame is None else int(frame)
        self.change("Set out point", out_point=f, in_point=min(f, self.in_point))

    # -- snapshots and undo --------------------------------------------------------------------
    @property
    def edits(self) -> list:
        """The current clip's edits (do not mutate; use :meth:`change`)."""
        if self.clip_id is None:
            return []
        return self.project.edits.get(self.clip_id, [])

    def snapshot(self) -> Snapshot:
        """The current undoable state."""
        return snapshot_of(self)

    def change(self, text: str, **fields: Any) -> None:
        """Record an undoable change of the :class:`Snapshot` ``fields`` given."""
        if self.clip is None:
            raise mw.errors.InvalidInputError("no clip is open; open a clip or project first")
        before = self.snapshot()
        if "edits" in fields:
            fields["edits"] = tuple(fields["edits"])
        after = dataclasses.replace(before, **fields)
        if after == before:
            return
        self.undo.push(Command(text, lambda: restore(self, after, before),
                               lambda: restore(self, before, after)))

    # -- selection and tools ------------------------------------------------------------------
    def select(self, index: int | None, point: int | None = None) -> None:
        """Select edit ``index`` (None clears) and optionally one of its points."""
        if index is not None and not 0 <= index < len(self.edits):
            raise mw.errors.InvalidInputError(
                f"index: no edit {index} (the clip has {len(self.edits)})")
        if (index, point) != (self.selection, self.selected_point):
            self.selection, self.selected_point = index, point
            self.selection_changed.emit()

    @property
    def selected_edit(self) -> Any:
        """The selected edit or None."""
        return None if self.selection is None else self.edits[self.selection]

    def set_tool(self, tool: str) -> None:
        """Make ``tool`` (one of :data:`TOOLS`) active; ``"sam"`` needs a configured ``sam``
        model (BackendUnavailableError naming the command that adds one otherwise)."""
        if tool not in TOOLS:
            raise mw.errors.InvalidInputError(f"tool: expected one of {TOOLS}, got {tool!r}")
        if tool == "sam":
            ok, reason = sam_status()
            if not ok:
                raise mw.errors.BackendUnavailableError(reason)
        if tool != self.tool:
            self.tool = tool
            self.tool_changed.emit()

    # -- edits --------------------------------------------------------------------------------
    def add_edit(self, edit: Any, text: str = "Add edit") -> int:
        """Append ``edit`` (checked against the clip) and select it; returns its index."""
        return self._append_edit(edit, text)

    def _append_edit(self, edit: Any, text: str, **extra: Any) -> int:
        edit.check_against(self.num_frames, self.clip.size)
        edits = [*self.edits, edit]
        self.change(text, edits=edits, selection=len(edits) - 1, **extra)
        return len(edits) - 1

    def replace_edit(self, index: int, edit: Any, text: str = "Change edit",
                     **extra: Any) -> None:
        """Put ``edit`` in place of edit ``index`` (``extra`` :class:`Snapshot` fields change
        in the same undo step)."""
        edit.check_against(self.num_frames, self.clip.size)
        edits = list(self.edits)
        edits[index] = edit
        self.change(text, edits=edits, selection=index, **extra)

    def remove_edit(self, index: int | None = None) -> None:
        """Delete edit ``index`` (default: the selected one)."""
        index = self.selection if index is None else index
        if index is None:
            return
        edits = list(self.edits)
        del edits[index]
        self.change("Delete edit", edits=edits, selection=None)

    def add_drag_pair(self, handle: Any, target: Any, frame: int | None = None) -> int:
        """Add a handle→target pair on ``frame`` (default: the playhead): to the selected
        drag edit when it is on that frame, else as a new DragEdit (with the draft mask).
        Returns the edit's index."""
        frame = self.playhead if frame is None else int(frame)
        edit, extends = edit_build.drag_pair_edit(self.selected_edit, handle, target, frame,
                                                  self.draft_mask)
        if extends:
            self.replace_edit(self.selection, edit, "Add drag pair")
            return self.selection
        return self.add_edit(edit, "Add drag pair")

    def add_trajectory(self, polyline: Any) -> int:
        """Add a TrajectoryEdit moving along ``polyline`` ``(M, 2)`` from the playhead to the
        out point (timing :attr:`path_timing`, static :attr:`anchors`), over the draft mask or
        a disc around the path's start. Returns the edit's index."""
        start = self.playhead
        end = self.out_point if self.out_point > start else self.num_frames - 1
        edit = edit_build.trajectory_edit(polyline, start, end, self.path_timing, self.anchors,
                                          self.draft_mask, self.clip.size)
        return self._append_edit(edit, "Draw trajectory", anchors=())

    def move_point(self, index: int, point: int, delta: Any, which: str = "handle") -> None:
        """Move point ``point`` of edit ``index`` by ``delta`` (dx, dy): a drag edit's handle
        or target (``which``), or a whole track of a trajectory edit."""
        edit = edit_build.moved_point(self.edits[index], point, delta, which)
        if edit is not None:
            self.replace_edit(index, edit, "Move point")

    def _edit_at(self, index: int | None, kind: type | None = None) -> Any:
        index = self.selection if index is None else index
        if index is None or not 0 <= index < len(self.edits):
            raise mw.errors.InvalidInputError(
                f"index: no edit {index} (the clip has {len(self.edits)}); select an edit")
        edit = self.edits[index]
        if kind is not None and not isinstance(edit, kind):
            what = "a drag edit" if kind is mw.DragEdit else "a trajectory edit"
            raise mw.errors.InvalidInputError(
                f"index: edit {index} is a {type(edit).__name__}, not {what}")
        return index, edit

    def set_drag_pair(self, index: int | None, pair: int, handle: Any = None,
                      target: Any = None) -> None:
        """Put pair ``pair`` of drag edit ``index`` (default: the selected edit) at
        ``handle`` and/or ``target`` (x, y) frame pixels, inside the frame; undoable."""
        index, edit = self._edit_at(index)
        self.replace_edit(index, edit_ops.set_pair(edit, pair, self.clip.size, handle, target),
                          "Move drag pair")

    def remove_drag_pair(self, index: int | None, pair: int) -> None:
        """Delete pair ``pair`` of drag edit ``index`` (the edit goes with its last pair)."""
        index, edit = self._edit_at(index, mw.DragEdit)
        rest = edit_ops.remove_pair(edit, pair)
        if rest is None:
            self.remove_edit(index)
        else:
            self.replace_edit(index, rest, "Delete drag pair")

    def retime_edit(self, index: int | None, first: int, last: int | None = None,
                    timing: str = edit_ops.AS_DRAWN) -> None:
        """Make edit ``index`` cover frames ``first..last`` (inclusive; ``last`` defaults to
        keeping the length): a drag moves to ``first``, a trajectory is moved or resampled
        with ``timing``; undoable."""
        index, edit = self._edit_at(index)
        a, b = edit_ops.edit_span(edit, self.num_frames)
        last = first + (b - a) if last is None else last
        new = edit_ops.retime_edit(edit, first, last, self.num_frames, timing)
        self.replace_edit(index, new, "Retime edit" if (b - a) != (last - first) else
                          "Move edit in time")

    def set_trajectory_timing(self, index: int | None, timing: str) -> None:
        """Re-time trajectory edit ``index`` along its path (``"uniform"``, ``"ease"`` or
        ``"as drawn"``) keeping its span; undoable."""
        index, edit = self._edit_at(index, mw.TrajectoryEdit)
        tr = edit.trajectories
        new = dataclasses.replace(edit, trajectories=edit_ops.resample_trajectory(
            tr, tr.start_frame, tr.num_frames, timing))
        self.replace_edit(index, new, "Change timing")

    def grow_mask(self, index: int | None, px: int) -> None:
        """Grow (``px`` > 0) or shrink (< 0) the mask or region of edit ``index``, else of the
        draft mask when ``index`` is None and nothing is selected; undoable."""
        if index is None and self.selection is None:
            if self.draft_mask is None:
                raise mw.errors.InvalidInputError("mask: there is no mask to grow or shrink")
            self.change("Grow mask" if px >= 0 else "Shrink mask",
                        draft_mask=edit_ops.grow_mask(self.draft_mask, px))
            return
        index, edit = self._edit_at(index)
        mask = edit_ops.edit_mask(edit)
        if mask is None:
            raise mw.errors.InvalidInputError(f"mask: edit {index} has no mask to grow or shrink")
        self.replace_edit(index, edit_ops.with_mask(edit, edit_ops.grow_mask(mask, px)),
                          "Grow mask" if px >= 0 else "Shrink mask")

    def set_mask(self, mask: Any, text: str = "Set mask", **extra: Any) -> None:
        """Give the selected drag/trajectory edit ``mask`` (a DragEdit's mask, a trajectory
        edit's region), or make it the draft mask used by the next edit; ``extra``
        :class:`Snapshot` fields change in the same undo step."""
        edit = self.selected_edit
        if isinstance(edit, mw.DragEdit) or (isinstance(edit, mw.TrajectoryEdit)
                                             and mask is not None):
            self.replace_edit(self.selection, edit_ops.with_mask(edit, mask), text, **extra)
        else:
            self.change(text, draft_mask=mask, **extra)

    def paint_mask(self, stroke: Any, radius: float, erase: bool = False) -> None:
        """Brush ``stroke`` ``(M, 2)`` of discs of ``radius`` px into the current mask (the
        selected edit's, else the draft); ``erase`` removes instead."""
        base = self.current_mask()
        mask = edit_build.painted_mask(None if base is None else base.at(self.playhead),
                                       self.clip.size, stroke, radius, erase)
        self.set_mask(mask, "Erase mask" if erase else "Paint mask")

    def current_mask(self) -> Any:
        """The mask the mask tools change: the selected edit's, else the draft mask."""
        edit = self.selected_edit
        if isinstance(edit, mw.DragEdit | mw.TrajectoryEdit):
            return edit_ops.edit_mask(edit)
        return self.draft_mask

    def add_guided_generation(self, prompt: str, negative_prompt: str = "") -> int:
        """Add a GuidedGeneration (S²V2V) of ``prompt`` moving like this clip's track points
        (placed with the track tool; none: picked automatically); returns its index."""
        edit = edit_build.guided_generation(self.clip, prompt, self.track_points,
                                            self.track_frame, negative_prompt)
        return self.add_edit(edit, "Add guided generation")

    def set_box(self, box: Any, frame: int | None = None) -> None:
        """Make ``box`` ``(x, y, w, h)`` frame pixels the box path's keyframe on ``frame``
        (default: the playhead); a box leaving the frame is refused. Undoable."""
        frame = self.playhead if frame is None else int(frame)
        if self.clip is not None and not 0 <= frame < self.num_frames:
            raise mw.errors.InvalidInputError(
                f"frame: {frame} is outside the clip's {self.num_frames} frames "
                f"(0..{self.num_frames - 1})")
        self.change("Set box", box_keys=box_path.with_key(self.box_keys, frame, box,
                                                          self.clip.size))

    def move_box(self, delta: Any, frame: int | None = None) -> None:
        """Move the box on ``frame`` (default: the playhead; interpolated between keyframes)
        by ``delta`` (dx, dy), making it a keyframe there. Undoable."""
        frame = self.playhead if frame is None else int(frame)
        box = box_path.box_at(self.box_keys, frame)
        if box is None:
            raise mw.errors.InvalidInputError("box: no box to move; drag a box with the Box "
                                              "tool first")
        dx, dy = edit_build.as_xy(delta)
        self.set_box((box[0] + dx, box[1] + dy, box[2], box[3]), frame)

    def box_at(self, frame: int | None = None) -> tuple[float, float, float, float] | None:
        """The box path's box ``(x, y, w, h)`` on ``frame`` (default: the playhead), or None
        when no box is drawn."""
        return box_path.box_at(self.box_keys, self.playhead if frame is None else int(frame))

    def add_box_generation(self, prompt: str, negative_prompt: str = "") -> int:
        """Add a GuidedGeneration (S²V2V) of ``prompt`` over this clip's frames whose subject
        follows the drawn box path (the path is used up); returns its index."""
        edit = box_path.box_generation(self.box_keys, self.num_frames, prompt, negative_prompt)
        return self._append_edit(edit, "Add box generation", box_keys=())

    def add_anchor(self, xy: Any) -> None:
        """Add a static anchor for the next trajectory."""
        self.change("Add anchor", anchors=(*self.anchors, edit_build.as_xy(xy)))

    def add_track_point(self, xy: Any) -> None:
        """Add a point to track, on the playhead frame (points on another frame are
        replaced)."""
        keep = self.track_points if self.track_frame == self.playhead else ()
        self.change("Add track point", track_points=(*keep, edit_build.as_xy(xy)),
                    track_frame=self.playhead)

    def clear_drafts(self) -> None:
        """Drop the draft mask, anchors, track points, SAM clicks and box path."""
        self.sam.pending = ()
        self.change("Clear drafts", draft_mask=None, anchors=(), track_points=(), sam_clicks=(),
                    sam_mask=None, box_keys=())

    # -- background work -------------------------------------------------------------------------
    def points_to_track(self) -> Any:
        """The PointSet :meth:`track` follows: the track points, else the selected drag
        edit's handles; None when there are neither."""
        if self.track_points:
            return mw.PointSet(np.asarray(self.track_points, np.float32), frame=self.track_frame)
        edit = self.selected_edit
        if isinstance(edit, mw.DragEdit):
            return edit.handles
        return None

    def track(self) -> Job:
        """Track :meth:`points_to_track` through the clip in the background; the result
        becomes :attr:`tracks` (undoable)."""
        points = self.points_to_track()
        if points is None:
            raise mw.errors.InvalidInputError(
                "points: nothing to track; place points with the Points tool (or select a "
                "drag edit) first")
        return background.track(self, points)

    def set_preview_enabled(self, on: bool) -> None:
        """Show (or stop showing) the preview-backend render in the viewer."""
        self.preview_enabled = bool(on)
        self.preview_changed.emit()
        self._refresh_preview()

    def _refresh_preview(self) -> None:
        background.refresh_preview(self)

    def render_folder(self) -> Path:
        """Where renders are written: ``renders/`` next to the saved project, else the
        editor's cache folder (``settings.cache_dir()/renders``)."""
        return background.render_folder(self)

    def render(self, backend: str | None = None) -> Job:
        """Queue a render of the current clip's edits with ``backend`` (default
        :attr:`backend`), streamed frame by frame into a file in :meth:`render_folder` (so
        the result never sits in memory whole). The saved clip is opened, added to
        :attr:`results` and announced by ``result_ready`` with its :class:`RenderResult`.
        A cancelled or failed render leaves no file."""
        if not self.edits:
            raise mw.errors.InvalidInputError("edits: the clip has no edits to render yet")
        return background.render(self, backend or self.backend)

    def learn_motion(self, folder: str | os.PathLike | None = None) -> Job:
        """Learn the motion of the in/out range as a background job; the ``.motion`` file is
        written to ``folder`` (default: the user library) and added to the project."""
        return background.learn_motion(self, folder)

    def apply_motion(self, path: str | os.PathLike, strength: float = 1.0) -> int:
        """Add a MotionTransfer of the ``.motion`` file at ``path``; returns its index."""
        emb = mw.MotionEmbedding.load(path)
        return self.add_edit(mw.MotionTransfer(emb, strength), "Apply motion")
