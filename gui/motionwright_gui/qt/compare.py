"""A/B compare of the source and a render: wipe or side by side, following the playhead."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSlider, QVBoxLayout, QWidget

from ..model.editor import EditorModel
from .bridge import to_qimage


class CompareCanvas(QWidget):
    """Draws frames A and B: ``mode`` "wipe" (A left of the split at ``split`` 0–1, B right)
    or "side" (A and B next to each other)."""

    def __init__(self) -> None:
        super().__init__()
        self.a: QImage | None = None
        self.b: QImage | None = None
        self.mode = "wipe"
        self.split = 0.5
        self.setMinimumSize(320, 180)

    def _fit(self, img: QImage, area: QRectF) -> QRectF:
        s = min(area.width() / img.width(), area.height() / img.height())
        w, h = img.width() * s, img.height() * s
        return QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 24))
        if self.a is None or self.b is None:
            p.end()
            return
        full = QRectF(self.rect())
        if self.mode == "side":
            half = full.width() / 2
            p.drawImage(self._fit(self.a, QRectF(0, 0, half, full.height())), self.a)
            p.drawImage(self._fit(self.b, QRectF(half, 0, half, full.height())), self.b)
        else:
            r = self._fit(self.a, full)
            x = r.x() + r.width() * self.split
            p.drawImage(r, self.a)
            p.save()
            p.setClipRect(QRectF(x, r.y(), r.right() - x, r.height()))
            p.drawImage(r, self.b)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.drawLine(QPointF(x, r.y()), QPointF(x, r.bottom()))
        p.end()


class CompareView(QWidget):
    """Source (A) against a rendered clip (B) at the model's playhead."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.result: Any = None
        self.canvas = CompareCanvas()
        self.mode = QComboBox()
        self.mode.addItems(["wipe", "side"])
        self.mode.currentTextChanged.connect(self._set_mode)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.valueChanged.connect(self._set_split)
        bar = QHBoxLayout()
        bar.addWidget(self.mode)
        bar.addWidget(self.slider, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        model.playhead_changed.connect(self.refresh)
        model.result_ready.connect(lambda title, clip: self.set_result(clip))

    def set_result(self, clip: Any) -> None:
        """Compare the source with ``clip``."""
        self.result = clip
        self.refresh()

    def _set_mode(self, mode: str) -> None:
        self.canvas.mode = mode
        self.slider.setEnabled(mode == "wipe")
        self.canvas.update()

    def _set_split(self, value: int) -> None:
        self.canvas.split = value / 1000
        self.canvas.update()

    def refresh(self) -> None:
        """Load both frames at the playhead."""
        if self.result is None or self.model.clip is None or not self.isVisible():
            return
        i = self.model.playhead
        self.canvas.a = to_qimage(self.model.clip[i])
        self.canvas.b = to_qimage(self.result[min(i, len(self.result) - 1)])
        self.canvas.update()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()
