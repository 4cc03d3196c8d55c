"""The timeline: a frame ruler to scrub, the in/out range, the clip and one span per edit.

Spans of edits that have a timing can be dragged: the middle moves the edit in time, the ends
(of a trajectory edit) change its start or end frame; the change is one undoable command on
release.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

import motionwright as mw

from ..model.edit_ops import edit_keyframes, edit_span, retime_mode
from ..model.editor import EditorModel

RULER_H = 22
ROW_H = 24
MARGIN = 8
EDGE_PX = 5  # how close to a span's end a press grabs that end


def edit_label(edit: Any) -> str:
    """Short name of an edit for lists and spans."""
    if isinstance(edit, mw.DragEdit):
        return f"Drag ×{len(edit.handles)} @ {edit.frame}"
    if isinstance(edit, mw.TrajectoryEdit):
        tr = edit.trajectories
        return f"Trajectory ×{tr.num_points} {tr.start_frame}–{tr.end_frame - 1}"
    if isinstance(edit, mw.MotionTransfer):
        return f"Motion ×{edit.strength:g}"
    if isinstance(edit, mw.PromptEdit):
        return f"Prompt: {edit.prompt[:24]}"
    if isinstance(edit, mw.GuidedGeneration):
        return f"Generate: {edit.prompt[:22]}"
    return type(edit).__name__


class Timeline(QWidget):
    """Ruler (click or drag to scrub), in/out shading, playhead, the clip as a track (with the
    tracked range and the tracking keyframe), and a row per edit with its span and keyframes:
    click to select, drag to retime."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._scrubbing = False
        self.drag: dict[str, Any] | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(RULER_H + 3 * ROW_H + 8)
        for sig in (model.playhead_changed, model.range_changed, model.edits_changed,
                    model.selection_changed, model.clip_changed, model.tracks_changed,
                    model.draft_changed):
            sig.connect(self._relayout)

    def _relayout(self) -> None:
        rows = 2 + len(self.model.edits)
        self.setMinimumHeight(RULER_H + rows * ROW_H + 8)
        self.update()

    # -- mapping -------------------------------------------------------------------------------
    def _frame_width(self) -> float:
        n = max(self.model.num_frames, 1)
        return (self.width() - 2 * MARGIN) / n

    def x_of(self, frame: float) -> float:
        """Widget x of the centre of ``frame``."""
        return MARGIN + (frame + 0.5) * self._frame_width()

    def frame_at(self, x: float) -> int:
        """Frame under widget x (clamped to the clip)."""
        f = int((x - MARGIN) // self._frame_width())
        return min(max(f, 0), max(self.model.num_frames - 1, 0))

    def row_at(self, y: float) -> int | None:
        """Edit index of the row under y, or None."""
        r = int((y - RULER_H) // ROW_H) - 1
        return r if 0 <= r < len(self.model.edits) else None

    def row_y(self, index: int) -> float:
        """Widget y of the middle of edit ``index``'s row."""
        return RULER_H + (index + 1) * ROW_H + ROW_H / 2

    def key_y(self, index: int) -> float:
        """Widget y of the keyframe marks in edit ``index``'s row (below its label)."""
        return RULER_H + (index + 2) * ROW_H - 7

    def span_rect(self, first: int, last: int, index: int) -> QRectF:
        """The rectangle of a span over frames ``first..last`` in edit ``index``'s row."""
        fw = self._frame_width()
        y = RULER_H + (index + 1) * ROW_H
        return QRectF(self.x_of(first) - fw / 2, y + 2, (last - first + 1) * fw, ROW_H - 4)

    def hit(self, x: float, y: float) -> tuple[int, str] | None:
        """``(edit index, "start" | "end" | "move")`` of the span part under (x, y); None
        outside spans and for edits that cannot be retimed."""
        index = self.row_at(y)
        if index is None:
            return None
        edit = self.model.edits[index]
        mode = retime_mode(edit)
        if mode == "none":
            return None
        first, last = edit_span(edit, self.model.num_frames)
        r = self.span_rect(first, last, index)
        if mode == "trim" and r.width() > 3 * EDGE_PX:
            if abs(x - r.left()) <= EDGE_PX:
                return index, "start"
            if abs(x - r.right()) <= EDGE_PX:
                return index, "end"
        if r.left() - EDGE_PX <= x <= r.right() + EDGE_PX:
            return index, "move"
        return None

    # -- input ---------------------------------------------------------------------------------
    def mousePressEvent(self, event: Any) -> None:
        p = event.position()
        if p.y() < RULER_H + ROW_H or self.row_at(p.y()) is None:
            self._scrubbing = True
            self.model.set_playhead(self.frame_at(p.x()))
            return
        index = self.row_at(p.y())
        self.model.select(index)
        hit = self.hit(p.x(), p.y())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            first, last = edit_span(self.model.edits[index], self.model.num_frames)
            self.drag = {"index": index, "part": hit[1], "from": self.frame_at(p.x()),
                         "span": (first, last), "now": (first, last)}

    def mouseMoveEvent(self, event: Any) -> None:
        p = event.position()
        if self._scrubbing:
            self.model.set_playhead(self.frame_at(p.x()))
            return
        if self.drag is None:
            hit = self.hit(p.x(), p.y())
            shape = (Qt.CursorShape.SizeHorCursor if hit and hit[1] != "move" else
                     Qt.CursorShape.OpenHandCursor if hit else Qt.CursorShape.ArrowCursor)
            self.setCursor(shape)
            return
        self.drag["now"] = self.dragged_span(self.drag, self.frame_at(p.x()))
        self.update()

    def dragged_span(self, d: dict[str, Any], frame: int) -> tuple[int, int]:
        """The span drag ``d`` gives when the pointer is over ``frame``."""
        first, last = d["span"]
        n = self.model.num_frames
        delta = frame - d["from"]
        if d["part"] == "move":
            delta = min(max(delta, -first), n - 1 - last)
            return first + delta, last + delta
        if d["part"] == "start":
            return min(max(first + delta, 0), last), last
        return first, max(min(last + delta, n - 1), first)

    def mouseReleaseEvent(self, event: Any) -> None:
        self._scrubbing = False
        d, self.drag = self.drag, None
        if d is None:
            return
        d["now"] = self.dragged_span(d, self.frame_at(event.position().x()))
        if d["now"] != d["span"]:
            try:
                self.model.retime_edit(d["index"], *d["now"])
            except mw.errors.MotionwrightError as exc:
                self.model.notices.add("error", str(exc))
        self.update()

    # -- drawing -------------------------------------------------------------------------------
    def _diamond(self, p: QPainter, x: float, yc: float, r: float = 5.0) -> None:
        p.drawPolygon(QPolygonF([QPointF(x, yc - r), QPointF(x + r, yc),
                                 QPointF(x, yc + r), QPointF(x - r, yc)]))

    def _keyframes(self, p: QPainter, frames: list[int], yc: float, offset: int = 0) -> None:
        fw = self._frame_width()
        p.setPen(QPen(QColor(20, 20, 20), 1))
        p.setBrush(QColor(255, 255, 255))
        if fw >= 7 or len(frames) <= 2:
            for k in frames:
                self._diamond(p, self.x_of(k + offset), yc, min(4.0, max(fw / 2, 3.0)))
            return
        p.setPen(QPen(QColor(255, 255, 255), 1))
        for k in frames:
            x = self.x_of(k + offset)
            p.drawLine(QPointF(x, yc - 3), QPointF(x, yc + 3))

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(32, 32, 38))
        m = self.model
        n = m.num_frames
        if n == 0:
            p.end()
            return
        fw = self._frame_width()
        x0 = self.x_of(m.in_point) - fw / 2
        x1 = self.x_of(m.out_point) + fw / 2
        p.fillRect(QRectF(x0, 0, x1 - x0, self.height()), QColor(60, 60, 80))
        p.setPen(QColor(170, 170, 170))
        step = max(1, int(60 / max(fw, 1e-6)))
        nice = next((s for s in (1, 2, 5, 10, 12, 24, 25, 30, 48, 50, 100, 250, 500, 1000)
                     if s >= step), step)
        for f in range(0, n, nice):
            x = self.x_of(f)
            p.drawLine(QPointF(x, RULER_H - 6), QPointF(x, RULER_H))
            p.drawText(QPointF(x + 2, RULER_H - 8), str(f))
        p.fillRect(QRectF(MARGIN, RULER_H + 2, n * fw, ROW_H - 4), QColor(70, 110, 160))
        p.drawText(QPointF(MARGIN + 4, RULER_H + ROW_H - 5), "clip")
        if m.tracks is not None:
            tr = m.tracks
            p.fillRect(QRectF(self.x_of(tr.start_frame) - fw / 2, RULER_H + ROW_H - 4,
                              tr.num_frames * fw, 3), QColor(90, 255, 120))
        if m.track_points or m.tracks is not None:
            p.setPen(QPen(QColor(20, 20, 20), 1))
            p.setBrush(QColor(90, 255, 120))
            self._diamond(p, self.x_of(m.track_frame), RULER_H + ROW_H - 7, 4)
        metrics = QFontMetrics(self.font())
        for i, edit in enumerate(m.edits):
            a, b = edit_span(edit, n)
            offset = 0
            if self.drag is not None and self.drag["index"] == i:
                a, b = self.drag["now"]
                offset = a - self.drag["span"][0] if self.drag["part"] == "move" else 0
            r = self.span_rect(a, b, i)
            colour = QColor(230, 160, 40) if i == m.selection else QColor(150, 110, 50)
            p.fillRect(r, colour)
            if retime_mode(edit) == "trim":
                p.fillRect(QRectF(r.left(), r.top(), 2, r.height()), QColor(255, 230, 180))
                p.fillRect(QRectF(r.right() - 2, r.top(), 2, r.height()), QColor(255, 230, 180))
            label = edit_label(edit)
            base = r.top() + metrics.ascent()
            if metrics.horizontalAdvance(label) + 6 <= r.width():
                p.setPen(QColor(20, 20, 20))
                p.drawText(QPointF(r.left() + 3, base), label)
            else:
                p.setPen(QColor(230, 230, 230))
                p.drawText(QPointF(r.right() + 8, base), label)
            keys = edit_keyframes(edit)
            if self.drag is not None and self.drag["index"] == i and offset == 0:
                keys = [a, b] if retime_mode(edit) == "trim" else [a]
            self._keyframes(p, keys, self.key_y(i), offset)
        x = self.x_of(m.playhead)
        p.setPen(QPen(QColor(255, 80, 80), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.end()
