"""The editor's document and UI state, with no Qt: views subscribe to its signals.

Every change to the document (edits, in/out, draft mask, anchors, track points, tracks) goes
through :meth:`EditorModel.change`, which records a before/after :class:`Snapshot` on the undo
stack. The playhead, tool and zoom are view state and are not undoable.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import motionwright as mw
from motionwright.path import trajectory_from_path

from . import edit_ops
from .events import Signal
from .frames import Dispatcher, call_now
from .jobs import Job, JobQueue
from .recovery import Recovery
from .render_out import RenderResult, render_target, save_streaming
from .sam_tool import SamTool, sam_status
from .undo import Command, UndoStack

TOOLS = ("select", "drag", "points", "polygon", "brush", "pen", "sam")
TIMINGS = ("uniform", "ease", "drawn")
PROJECT_SUFFIX = ".mwproj"


def sam_available() -> bool:
    """Whether the SAM click tool can run: a ``sam`` model is configured (checked cheaply,
    without loading it; see :func:`~motionwright_gui.model.sam_tool.sam_status`)."""
    return sam_status()[0]


@dataclass(frozen=True)
class Snapshot:
    """The undoable document state of the current clip."""

    edits: tuple
    in_point: int
    out_point: int
    draft_mask: Any
    anchors: tuple
    track_points: tuple
    track_frame: int
    tracks: Any
    selection: int | None
    sam_clicks: tuple = ()
    sam_frame: int = 0
    sam_mask: Any = None


class EditorModel:
    """Project, current clip, playhead, in/out (inclusive frames), selection (index into the
    current clip's edits), active tool, drafts (mask, anchors, track points), tracks, undo stack
    and background jobs. Views connect to the ``*_changed`` signals; nothing here knows Qt.

    ``dispatcher(fn, *args)`` runs ``fn`` on the UI thread (the default calls it at once);
    jobs and the frame loader report through it.
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
        self.path_timing = "uniform"
        self.brush_radius = 8.0
        self.backend = "preview"
        self.loop = True
        self.preview_enabled = False
        self.preview_clip: Any = None
        self.preview_version = 0
        self.edits_version = 0
        self.results: list[RenderResult] = []
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
        self.undo.changed.connect(self._on_undo_changed)
        self.sam = SamTool(self)

    # -- opening and saving --------------------------------------------------------------------
    def open(self, path: str | os.PathLike) -> None:
        """Open a ``.mwproj`` project or a clip (video, image folder, printf pattern)."""
        if os.fspath(path).endswith(PROJECT_SUFFIX):
            self.set_project(mw.Project.load(path))
        else:
            clip = mw.Clip.open(path)
            project = mw.Project()
            ref = project.add_clip(path)
            self.set_project(project, ref.id, clip)

    def set_project(self, project: mw.Project, clip_id: str | None = None,
                    clip: Any = None) -> None:
        """Show ``project`` (its clip ``clip_id``, default the first); clears the history."""
        if clip_id is None and project.clips:
            clip_id = project.clips[0].id
        if clip is None and clip_id is not None:
            clip = mw.Clip.open(project.clip(clip_id).path)
        self.project, self.clip_id, self.clip = project, clip_id, clip
        n = len(clip) if clip is not None else 0
        ref = project.clip(clip_id) if clip_id is not None else None
        self.in_point = min(ref.in_frame, max(n - 1, 0)) if ref else 0
        out = ref.out_frame if ref is not None and ref.out_frame is not None else n
        self.out_point = max(self.in_point, min(out, n) - 1)
        self.playhead = self.in_point
        self.selection = self.selected_point = None
        self.draft_mask, self.anchors, self.track_points, self.tracks = None, (), (), None
        self.sam_clicks, self.sam_frame, self.sam_mask = (), 0, None
        self.sam.pending = ()
        self.preview_clip = None
        self.undo.clear()
        self.edits_version += 1
        for sig in (self.clip_changed, self.range_changed, self.edits_changed,
                    self.selection_changed, self.draft_changed, self.tracks_changed,
                    self.library_changed, self.playhead_changed):
            sig.emit()
        self._refresh_preview()

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Save the project (to ``path``, or where it was last saved); clears recovery."""
        self._store_range()
        written = self.project.save(path)
        self.undo.set_clean()
        if self.recovery is not None:
            self.recovery.clear()
        self.document_changed.emit()
        return written

    def autosave(self) -> Path | None:
        """Write the recovery copy when there are unsaved changes; returns its path."""
        if self.recovery is None or self.undo.is_clean or not self.project.clips:
            return None
        self._store_range()
        return self.recovery.save(self.project, self.clip_id)

    def recover(self) -> bool:
        """Open the recovery copy if there is one (it stays marked unsaved); True if done."""
        if self.recovery is None or not self.recovery.available():
            return False
        project, _, clip_id = self.recovery.load()
        self.set_project(project, clip_id if clip_id in {c.id for c in project.clips} else None)
        self.undo._clean_index = None  # recovered work is unsaved until the user saves it
        self.document_changed.emit()
        return True

    def _store_range(self) -> None:
        if self.clip_id is None or self.clip is None:
            return
        ref = self.project.clip(self.clip_id)
        out = None if self.out_point >= len(self.clip) - 1 else self.out_point + 1
        if (ref.in_frame, ref.out_frame) != (self.in_point, out):
            idx = self.project.clips.index(ref)
            self.project.clips[idx] = dataclasses.replace(ref, in_frame=self.in_point,
                                                          out_frame=out)

    @property
    def dirty(self) -> bool:
        """Whether there are unsaved changes."""
        return not self.undo.is_clean

    @property
    def title(self) -> str:
        """Window title text: project or clip name, ``*`` when unsaved."""
        if self.project.path is not None:
            name = Path(self.project.path).name
        elif self.clip_id is not None:
            name = Path(self.project.clip(self.clip_id).path).name
        else:
            name = "Motionwright"
        return f"{name}{' *' if self.dirty else ''}"

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
        return Snapshot(tuple(self.edits), self.in_point, self.out_point, self.draft_mask,
                        self.anchors, self.track_points, self.track_frame, self.tracks,
                        self.selection, self.sam_clicks, self.sam_frame, self.sam_mask)

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
        self.undo.push(Command(text, lambda: self._restore(after, before),
                               lambda: self._restore(before, after)))

    def _restore(self, state: Snapshot, other: Snapshot) -> None:
        def differs(name: str) -> bool:
            a, b = getattr(state, name), getattr(other, name)
            return a is not b and not (type(a) is type(b) and _equal(a, b))

        if differs("edits"):
            if state.edits:
                self.project.edits[self.clip_id] = list(state.edits)
            else:
                self.project.edits.pop(self.clip_id, None)
            self.edits_version += 1
        self.in_point, self.out_point = state.in_point, state.out_point
        self.draft_mask, self.anchors = state.draft_mask, state.anchors
        self.track_points, self.track_frame = state.track_points, state.track_frame
        self.tracks = state.tracks
        self.sam_clicks, self.sam_frame, self.sam_mask = (state.sam_clicks, state.sam_frame,
                                                          state.sam_mask)
        self.selection = state.selection if state.selection is None or state.selection < len(
            state.edits) else None
        if differs("edits"):
            self.edits_changed.emit()
            self._refresh_preview()
        if differs("in_point") or differs("out_point"):
            self.range_changed.emit()
        if any(differs(n) for n in ("draft_mask", "anchors", "track_points", "track_frame",
                                    "sam_clicks", "sam_frame", "sam_mask")):
            self.draft_changed.emit()
        if differs("tracks"):
            self.tracks_changed.emit()
        if differs("selection") or differs("edits"):
            self.selected_point = None
            self.selection_changed.emit()

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
        edit.check_against(self.num_frames, self.clip.size)
        edits = [*self.edits, edit]
        self.change(text, edits=edits, selection=len(edits) - 1)
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
        h = np.asarray(handle, np.float32).reshape(1, 2)
        t = np.asarray(target, np.float32).reshape(1, 2)
        current = self.selected_edit
        if isinstance(current, mw.DragEdit) and current.frame == frame:
            edit = mw.DragEdit(
                mw.PointSet(np.concatenate([current.handles.points, h]), frame=frame),
                mw.PointSet(np.concatenate([current.targets.points, t]), frame=frame),
                current.mask)
            self.replace_edit(self.selection, edit, "Add drag pair")
            return self.selection
        mask = self.draft_mask if self.draft_mask is not None else None
        return self.add_edit(mw.DragEdit(mw.PointSet(h, frame=frame),
                                         mw.PointSet(t, frame=frame), mask), "Add drag pair")

    def add_trajectory(self, polyline: Any) -> int:
        """Add a TrajectoryEdit moving along ``polyline`` ``(M, 2)`` from the playhead to the
        out point (timing :attr:`path_timing`, static :attr:`anchors`), over the draft mask or
        a disc around the path's start. Returns the edit's index."""
        poly = np.asarray(polyline, np.float64).reshape(-1, 2)
        start = self.playhead
        end = self.out_point if self.out_point > start else self.num_frames - 1
        traj = trajectory_from_path(poly, max(end - start + 1, 1), timing=self.path_timing,
                                    anchors=np.asarray(self.anchors) if self.anchors else None,
                                    start_frame=start)
        region = self.draft_mask
        if region is None:
            w, h = self.clip.size
            r = max(4.0, 0.06 * min(w, h))
            x, y = poly[0]
            region = mw.Mask.from_box(max(x - r, 0), max(y - r, 0), 2 * r, 2 * r, size=(w, h))
        edit = mw.TrajectoryEdit(region, traj)
        edit.check_against(self.num_frames, self.clip.size)
        edits = [*self.edits, edit]
        self.change("Draw trajectory", edits=edits, selection=len(edits) - 1, anchors=())
        return len(edits) - 1

    def move_point(self, index: int, point: int, delta: Any, which: str = "handle") -> None:
        """Move point ``point`` of edit ``index`` by ``delta`` (dx, dy): a drag edit's handle
        or target (``which``), or a whole track of a trajectory edit."""
        d = np.asarray(delta, np.float32).reshape(2)
        edit = self.edits[index]
        if isinstance(edit, mw.DragEdit):
            ps = edit.handles if which == "handle" else edit.targets
            pts = ps.points.copy()
            pts[point] += d
            moved = ps.with_points(pts)
            edit = dataclasses.replace(edit, **{"handles" if which == "handle" else "targets":
                                                moved})
        elif isinstance(edit, mw.TrajectoryEdit):
            tr = edit.trajectories
            tracks = tr.tracks.copy()
            tracks[:, point] += d
            edit = dataclasses.replace(edit, trajectories=mw.Trajectory(
                tracks, tr.visible, start_frame=tr.start_frame, ids=tr.ids))
        else:
            return
        self.replace_edit(index, edit, "Move point")

    def _edit_at(self, index: int | None) -> Any:
        index = self.selection if index is None else index
        if index is None or not 0 <= index < len(self.edits):
            raise mw.errors.InvalidInputError(
                f"index: no edit {index} (the clip has {len(self.edits)}); select an edit")
        return index, self.edits[index]

    def set_drag_pair(self, index: int | None, pair: int, handle: Any = None,
                      target: Any = None) -> None:
        """Put pair ``pair`` of drag edit ``index`` (default: the selected edit) at
        ``handle`` and/or ``target`` (x, y) frame pixels, inside the frame; undoable."""
        index, edit = self._edit_at(index)
        self.replace_edit(index, edit_ops.set_pair(edit, pair, self.clip.size, handle, target),
                          "Move drag pair")

    def remove_drag_pair(self, index: int | None, pair: int) -> None:
        """Delete pair ``pair`` of drag edit ``index`` (the edit goes with its last pair)."""
        index, edit = self._edit_at(index)
        if not isinstance(edit, mw.DragEdit):
            raise mw.errors.InvalidInputError(
                f"index: edit {index} is a {type(edit).__name__}, not a drag edit")
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
        index, edit = self._edit_at(index)
        if not isinstance(edit, mw.TrajectoryEdit):
            raise mw.errors.InvalidInputError(
                f"index: edit {index} is a {type(edit).__name__}, not a trajectory edit")
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
        if isinstance(edit, mw.DragEdit):
            self.replace_edit(self.selection, dataclasses.replace(edit, mask=mask), text,
                              **extra)
        elif isinstance(edit, mw.TrajectoryEdit) and mask is not None:
            self.replace_edit(self.selection, dataclasses.replace(edit, region=mask), text,
                              **extra)
        else:
            self.change(text, draft_mask=mask, **extra)

    def paint_mask(self, stroke: Any, radius: float, erase: bool = False) -> None:
        """Brush ``stroke`` ``(M, 2)`` of discs of ``radius`` px into the current mask (the
        selected edit's, else the draft); ``erase`` removes instead."""
        w, h = self.clip.size
        base = self.current_mask()
        data = np.zeros((h, w), bool) if base is None else base.at(self.playhead).copy()
        yy, xx = np.mgrid[0:h, 0:w]
        pts = np.asarray(stroke, np.float64).reshape(-1, 2)
        dense = [pts[0]]
        for a, b in itertools.pairwise(pts):
            n = int(np.ceil(np.hypot(*(b - a)) / max(radius / 2, 0.5)))
            dense += [a + (b - a) * k / max(n, 1) for k in range(1, n + 1)]
        stamp = np.zeros((h, w), bool)
        for x, y in dense:
            x0, x1 = int(max(x - radius - 1, 0)), int(min(x + radius + 2, w))
            y0, y1 = int(max(y - radius - 1, 0)), int(min(y + radius + 2, h))
            if x0 >= x1 or y0 >= y1:
                continue
            sub = (xx[y0:y1, x0:x1] - x) ** 2 + (yy[y0:y1, x0:x1] - y) ** 2 <= radius ** 2
            stamp[y0:y1, x0:x1] |= sub
        data = data & ~stamp if erase else data | stamp
        self.set_mask(mw.Mask(data[None]) if data.any() else None,
                      "Erase mask" if erase else "Paint mask")

    def current_mask(self) -> Any:
        """The mask the mask tools change: the selected edit's, else the draft mask."""
        edit = self.selected_edit
        if isinstance(edit, mw.DragEdit):
            return edit.mask
        if isinstance(edit, mw.TrajectoryEdit):
            return edit.region
        return self.draft_mask

    def add_anchor(self, xy: Any) -> None:
        """Add a static anchor for the next trajectory."""
        x, y = (float(v) for v in np.asarray(xy, np.float64).reshape(2))
        self.change("Add anchor", anchors=(*self.anchors, (x, y)))

    def add_track_point(self, xy: Any) -> None:
        """Add a point to track, on the playhead frame (points on another frame are
        replaced)."""
        x, y = (float(v) for v in np.asarray(xy, np.float64).reshape(2))
        keep = self.track_points if self.track_frame == self.playhead else ()
        self.change("Add track point", track_points=(*keep, (x, y)),
                    track_frame=self.playhead)

    def clear_drafts(self) -> None:
        """Drop the draft mask, anchors, track points and SAM clicks."""
        self.sam.pending = ()
        self.change("Clear drafts", draft_mask=None, anchors=(), track_points=(), sam_clicks=(),
                    sam_mask=None)

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
        from motionwright.tracking import track

        clip = self.clip

        def work(progress: Any, cancel: Any) -> Any:
            return track(clip, points, progress=progress, cancel=cancel)

        def done(result: Any) -> None:
            if self.clip is clip:
                self.change("Track points", tracks=result)

        return self.jobs.submit(Job("Track points", "track", work, done), serial=False)

    def set_preview_enabled(self, on: bool) -> None:
        """Show (or stop showing) the preview-backend render in the viewer."""
        self.preview_enabled = bool(on)
        self.preview_changed.emit()
        self._refresh_preview()

    def _refresh_preview(self) -> None:
        self.preview_clip = None
        if not self.preview_enabled or self.clip is None or not self.edits:
            self.preview_changed.emit()
            return
        clip, edits, version = self.clip, list(self.edits), self.edits_version

        def work(progress: Any, cancel: Any) -> Any:
            return mw.render(clip, edits, backend="preview", progress=progress, cancel=cancel)

        def done(result: Any) -> None:
            if version == self.edits_version and self.clip is clip:
                self.preview_clip, self.preview_version = result, version
                self.preview_changed.emit()

        self.jobs.submit(Job("Preview", "preview", work, done), serial=False)

    def render_folder(self) -> Path:
        """Where renders are written: ``renders/`` next to the saved project, else the
        editor's cache folder (``settings.cache_dir()/renders``)."""
        from .settings import cache_dir

        if self.project.path is not None:
            return Path(self.project.path).parent / "renders"
        return cache_dir() / "renders"

    def render(self, backend: str | None = None) -> Job:
        """Queue a render of the current clip's edits with ``backend`` (default
        :attr:`backend`), streamed frame by frame into a file in :meth:`render_folder` (so
        the result never sits in memory whole). The saved clip is opened, added to
        :attr:`results` and announced by ``result_ready`` with its :class:`RenderResult`.
        A cancelled or failed render leaves no file."""
        backend = backend or self.backend
        if not self.edits:
            raise mw.errors.InvalidInputError("edits: the clip has no edits to render yet")
        clip, edits = self.clip, list(self.edits)
        name = Path(self.project.clip(self.clip_id).path).name.split(".")[0] or "clip"
        path, codec = render_target(self.render_folder(), f"{name}-{backend}", clip.size)
        title = f"Render ({backend}) → {path.name}"

        def work(progress: Any, cancel: Any) -> Any:
            out = mw.render(clip, edits, backend=backend, progress=progress, cancel=cancel)
            written = save_streaming(out, path, codec, progress, cancel)
            return RenderResult(title, backend, written, mw.Clip.open(written))

        def done(result: RenderResult) -> None:
            self.results.append(result)
            self.result_ready.emit(result)

        return self.jobs.submit(Job(title, "render", work, done))

    def learn_motion(self, folder: str | os.PathLike | None = None) -> Job:
        """Learn the motion of the in/out range as a background job; the ``.motion`` file is
        written to ``folder`` (default: the user library) and added to the project."""
        from motionwright.learn import learn_motion

        from .settings import user_motion_dir

        clip, a, b = self.clip, self.in_point, self.out_point + 1
        target = Path(folder) if folder is not None else user_motion_dir()
        name = f"{self.clip_id}_{a}-{b - 1}"

        def work(progress: Any, cancel: Any) -> Any:
            emb = learn_motion(clip, "svd", frame_range=(a, b), progress=progress,
                               cancel=cancel)
            target.mkdir(parents=True, exist_ok=True)
            path = target / f"{name}.motion"
            emb.save(path)
            return path

        def done(path: Any) -> None:
            self.project.add_motion(name, path)
            self.library_changed.emit()

        return self.jobs.submit(Job(f"Learn motion {name}", "learn", work, done))

    def apply_motion(self, path: str | os.PathLike, strength: float = 1.0) -> int:
        """Add a MotionTransfer of the ``.motion`` file at ``path``; returns its index."""
        emb = mw.MotionEmbedding.load(path)
        return self.add_edit(mw.MotionTransfer(emb, strength), "Apply motion")


def _equal(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, tuple) and isinstance(b, tuple):
            return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
        return bool(a == b)
    except (ValueError, TypeError):
        return False
