"""The timeline: a frame ruler to scrub, the in/out range, the clip and one span per edit."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

import motionwright as mw

from ..model.editor import EditorModel

RULER_H = 22
ROW_H = 18
MARGIN = 8


def edit_span(edit: Any, num_frames: int) -> tuple[int, int, list[int]]:
    """``(first frame, last frame, keyframes)`` an edit covers on the timeline."""
    if isinstance(edit, mw.DragEdit):
        return edit.frame, edit.frame, [edit.frame]
    if isinstance(edit, mw.TrajectoryEdit):
        tr = edit.trajectories
        return tr.start_frame, tr.end_frame - 1, [tr.start_frame, tr.end_frame - 1]
    return 0, max(num_frames - 1, 0), []


def edit_label(edit: Any) -> str:
    """Short name of an edit for lists and spans."""
    if isinstance(edit, mw.DragEdit):
        return f"Drag ×{len(edit.handles)} @ {edit.frame}"
    if isinstance(edit, mw.TrajectoryEdit):
        return f"Trajectory ×{edit.trajectories.num_points}"
    if isinstance(edit, mw.MotionTransfer):
        return f"Motion ×{edit.strength:g}"
    if isinstance(edit, mw.PromptEdit):
        return f"Prompt: {edit.prompt[:24]}"
    return type(edit).__name__


class Timeline(QWidget):
    """Ruler (click or drag to scrub), in/out shading, playhead, the clip as a track, and a
    row per edit with its span and keyframes (click to select)."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._scrubbing = False
        self.setMinimumHeight(RULER_H + 3 * ROW_H + 8)
        for sig in (model.playhead_changed, model.range_changed, model.edits_changed,
                    model.selection_changed, model.clip_changed, model.tracks_changed):
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

    # -- input ---------------------------------------------------------------------------------
    def mousePressEvent(self, event: Any) -> None:
        p = event.position()
        if p.y() < RULER_H + ROW_H or self.row_at(p.y()) is None:
            self._scrubbing = True
            self.model.set_playhead(self.frame_at(p.x()))
        else:
            self.model.select(self.row_at(p.y()))

    def mouseMoveEvent(self, event: Any) -> None:
        if self._scrubbing:
            self.model.set_playhead(self.frame_at(event.position().x()))

    def mouseReleaseEvent(self, event: Any) -> None:
        self._scrubbing = False

    # -- drawing -------------------------------------------------------------------------------
    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(32, 32, 38))
        m = self.model
        n = m.num_frames
        if n == 0:
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
        for i, edit in enumerate(m.edits):
            a, b, keys = edit_span(edit, n)
            y = RULER_H + (i + 1) * ROW_H
            colour = QColor(230, 160, 40) if i == m.selection else QColor(150, 110, 50)
            p.fillRect(QRectF(self.x_of(a) - fw / 2, y + 2, (b - a + 1) * fw, ROW_H - 4), colour)
            p.setPen(QColor(20, 20, 20))
            p.drawText(QPointF(self.x_of(a) - fw / 2 + 3, y + ROW_H - 5), edit_label(edit))
            p.setBrush(QColor(255, 255, 255))
            for k in keys:
                x, yc = self.x_of(k), y + ROW_H / 2
                p.drawPolygon(QPolygonF([QPointF(x, yc - 5), QPointF(x + 5, yc),
                                         QPointF(x, yc + 5), QPointF(x - 5, yc)]))
        x = self.x_of(m.playhead)
        p.setPen(QPen(QColor(255, 80, 80), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.end()
