"""What the mouse does in the viewer, per tool, in frame pixel coordinates (no Qt).

The viewer maps widget positions to frame coordinates and calls :meth:`ToolController.press`,
:meth:`move`, :meth:`release`, :meth:`double_click` and :meth:`key`; the controller keeps the
gesture in progress (for the viewer to draw) and commits finished gestures to the model as
undoable changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import motionwright as mw

from .box_path import box_from_corners
from .editor import EditorModel
from .events import Signal

MIN_DRAG = 0.5  # frame px: a shorter drag is a click


class ToolController:
    """Turns pointer gestures into model changes for the model's active tool.

    Gesture state for drawing: ``line`` (drag pair in progress: start, end), ``polygon``
    (vertices so far), ``stroke`` (brush or pen points), ``moving`` (select-tool drag:
    (edit index, point, which, start, current)), ``box_drag`` (box tool: ("draw" | "move",
    start, current)). ``changed`` is emitted when any of it moves.
    """

    def __init__(self, model: EditorModel) -> None:
        self.model = model
        self.line: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.polygon: list[tuple[float, float]] = []
        self.stroke: list[tuple[float, float]] = []
        self.moving: tuple[int, int, str, tuple[float, float], tuple[float, float]] | None = None
        self.box_drag: tuple[str, tuple[float, float], tuple[float, float]] | None = None
        self.erase = False
        self.changed = Signal("tool.changed")
        model.tool_changed.connect(self.cancel)

    def cancel(self) -> None:
        """Drop the gesture in progress."""
        self.line, self.polygon, self.stroke, self.moving = None, [], [], None
        self.box_drag = None
        self.changed.emit()

    # -- pointer -------------------------------------------------------------------------------
    def press(self, x: float, y: float, *, shift: bool = False, alt: bool = False,
              pick_radius: float = 6.0) -> None:
        """Pointer pressed at frame position (x, y)."""
        m, tool, p = self.model, self.model.tool, (float(x), float(y))
        if m.clip is None:
            return
        if tool == "drag":
            self.line = (p, p)
        elif tool == "points":
            if self._inside(p):
                m.add_track_point(p)
        elif tool == "polygon":
            if len(self.polygon) >= 3 and np.hypot(*np.subtract(p, self.polygon[0])) <= \
                    pick_radius:
                self.close_polygon()
                return
            self.polygon.append(p)
        elif tool == "brush":
            self.stroke, self.erase = [p], alt
        elif tool == "pen":
            if shift:
                if self._inside(p):
                    m.add_anchor(p)
            else:
                self.stroke = [p]
        elif tool == "sam":
            m.sam.click(*p, positive=not alt)
        elif tool == "anchors":  # Point-to-Point anchors: drop the one clicked, or add one
            m.anchor_tool.toggle(m.playhead, p, pick_radius)
        elif tool == "box":  # inside the frame's box: move it; elsewhere: draw a new one
            box = m.box_at()
            inside = box is not None and box[0] <= p[0] <= box[0] + box[2] and \
                box[1] <= p[1] <= box[1] + box[3]
            self.box_drag = ("move" if inside else "draw", p, p)
        elif tool == "select":
            hit = self.pick(p, pick_radius)
            if hit is None:
                m.select(None)
            else:
                index, point, which = hit
                m.select(index, point)
                self.moving = (index, point, which, p, p)
        self.changed.emit()

    def move(self, x: float, y: float, **_: Any) -> None:
        """Pointer moved (button held) to (x, y)."""
        p = (float(x), float(y))
        if self.line is not None:
            self.line = (self.line[0], p)
        elif self.stroke:
            self.stroke.append(p)
        elif self.moving is not None:
            self.moving = (*self.moving[:4], p)
        elif self.box_drag is not None:
            self.box_drag = (*self.box_drag[:2], p)
        else:
            return
        self.changed.emit()

    def release(self, x: float, y: float, **_: Any) -> None:
        """Pointer released at (x, y): finish the gesture."""
        m, p = self.model, (float(x), float(y))
        try:
            if self.line is not None:
                start = self.line[0]
                self.line = None
                if np.hypot(*np.subtract(p, start)) >= MIN_DRAG and self._inside(start):
                    m.add_drag_pair(start, self._clamp(p))
            elif self.stroke and m.tool == "brush":
                stroke, self.stroke = [*self.stroke, p], []
                m.paint_mask(stroke, m.brush_radius, erase=self.erase)
            elif self.stroke and m.tool == "pen":
                stroke, self.stroke = [*self.stroke, p], []
                if len(stroke) >= 2:
                    m.add_trajectory([self._clamp(q) for q in stroke])
            elif self.moving is not None:
                index, point, which, start, _ = self.moving
                self.moving = None
                delta = np.subtract(self._clamp(p), start)
                if np.hypot(*delta) >= MIN_DRAG:
                    m.move_point(index, point, delta, which)
            elif self.box_drag is not None:
                kind, start, _ = self.box_drag
                self.box_drag = None
                if np.hypot(*np.subtract(p, start)) >= MIN_DRAG:
                    if kind == "move":
                        m.move_box(np.subtract(p, start))
                    else:
                        m.set_box(box_from_corners(start, p))
        finally:
            self.changed.emit()

    def double_click(self, x: float, y: float, **_: Any) -> None:
        """Double click: closes the polygon being drawn."""
        if self.model.tool == "polygon":
            self.close_polygon()

    def key(self, name: str) -> bool:
        """Keys the tool handles ("Enter" closes a polygon or applies the SAM mask, "Escape"
        cancels or clears the SAM clicks); True if used."""
        if name == "Enter" and self.polygon:
            self.close_polygon()
            return True
        if name == "Escape" and (self.polygon or self.line or self.stroke or self.moving
                                 or self.box_drag):
            self.cancel()
            return True
        m = self.model
        if m.tool == "sam" and name == "Enter" and m.sam_mask is not None:
            m.sam.apply()
            return True
        if m.tool == "sam" and name == "Escape" and m.sam_clicks:
            m.sam.clear()
            return True
        return False

    def close_polygon(self) -> None:
        """Turn the polygon drawn so far into a mask (3 vertices at least)."""
        vertices, self.polygon = self.polygon, []
        unique = {(round(x, 3), round(y, 3)) for x, y in vertices}
        if len(unique) >= 3:
            mask = mw.Mask.from_polygon(np.asarray(vertices, np.float32),
                                        size=self.model.clip.size)
            self.model.set_mask(mask, "Draw polygon mask")
        self.changed.emit()

    # -- picking ------------------------------------------------------------------------------
    def pick(self, p: tuple[float, float], radius: float) -> tuple[int, int, str] | None:
        """The edit point nearest ``p`` within ``radius`` frame px on the playhead frame, as
        ``(edit index, point index, "handle" | "target" | "track")``."""
        best, best_d = None, radius
        frame = self.model.playhead
        for index, edit in enumerate(self.model.edits):
            for which, pts in edit_points(edit, frame):
                if len(pts) == 0:
                    continue
                d = np.hypot(pts[:, 0] - p[0], pts[:, 1] - p[1])
                j = int(np.argmin(d))
                if d[j] <= best_d:
                    best, best_d = (index, j, which), float(d[j])
        return best

    def _inside(self, p: tuple[float, float]) -> bool:
        w, h = self.model.clip.size
        return -0.5 <= p[0] <= w - 0.5 and -0.5 <= p[1] <= h - 0.5

    def _clamp(self, p: tuple[float, float]) -> tuple[float, float]:
        w, h = self.model.clip.size
        return (min(max(p[0], 0.0), w - 1.0), min(max(p[1], 0.0), h - 1.0))


def edit_points(edit: Any, frame: int) -> list[tuple[str, np.ndarray]]:
    """The points of ``edit`` shown on ``frame``: ``[(kind, (N, 2) array), ...]``."""
    if isinstance(edit, mw.DragEdit):
        if edit.frame != frame:
            return []
        return [("handle", np.asarray(edit.handles.points)),
                ("target", np.asarray(edit.targets.points))]
    if isinstance(edit, mw.TrajectoryEdit):
        tr = edit.trajectories
        if tr.start_frame <= frame < tr.end_frame:
            return [("track", np.asarray(tr.tracks[frame - tr.start_frame]))]
    return []
