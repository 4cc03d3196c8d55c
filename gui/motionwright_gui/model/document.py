"""The editor's undoable document state (:class:`Snapshot`) and how a snapshot is put back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .editor import EditorModel

DRAFT_FIELDS = ("draft_mask", "anchors", "track_points", "track_frame", "sam_clicks",
                "sam_frame", "sam_mask", "box_keys")


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
    box_keys: tuple = ()


def snapshot_of(model: EditorModel) -> Snapshot:
    """The current undoable state of ``model``."""
    return Snapshot(tuple(model.edits), model.in_point, model.out_point, model.draft_mask,
                    model.anchors, model.track_points, model.track_frame, model.tracks,
                    model.selection, model.sam_clicks, model.sam_frame, model.sam_mask,
                    model.box_keys)


def restore(model: EditorModel, state: Snapshot, other: Snapshot) -> None:
    """Put ``state`` into ``model`` (coming from ``other``), emitting the signals of the
    fields that differ between the two."""
    def differs(name: str) -> bool:
        a, b = getattr(state, name), getattr(other, name)
        return a is not b and not (type(a) is type(b) and _equal(a, b))

    edits_differ = differs("edits")
    if edits_differ:
        if state.edits:
            model.project.edits[model.clip_id] = list(state.edits)
        else:
            model.project.edits.pop(model.clip_id, None)
        model.edits_version += 1
    model.in_point, model.out_point = state.in_point, state.out_point
    model.draft_mask, model.anchors = state.draft_mask, state.anchors
    model.track_points, model.track_frame = state.track_points, state.track_frame
    model.tracks = state.tracks
    model.sam_clicks, model.sam_frame, model.sam_mask = (state.sam_clicks, state.sam_frame,
                                                         state.sam_mask)
    model.box_keys = state.box_keys
    model.selection = state.selection if state.selection is None or state.selection < len(
        state.edits) else None
    if edits_differ:
        model.edits_changed.emit()
        model._refresh_preview()
    if differs("in_point") or differs("out_point"):
        model.range_changed.emit()
    if any(differs(n) for n in DRAFT_FIELDS):
        model.draft_changed.emit()
    if differs("tracks"):
        model.tracks_changed.emit()
    if differs("selection") or edits_differ:
        model.selected_point = None
        model.selection_changed.emit()


def _equal(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, tuple) and isinstance(b, tuple):
            return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
        return bool(a == b)
    except (ValueError, TypeError):
        return False
