"""A/B compare of the source and a render: wipe or side by side, following the playhead."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from ..model.editor import EditorModel
from ..model.frames import FrameLoader
from ..model.render_out import RenderResult
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
        p.setPen(QColor(255, 255, 255))
        p.fillRect(QRectF(6, 6, 92, 20), QColor(0, 0, 0, 150))
        p.drawText(QPointF(10, 21), "A: source")
        p.fillRect(QRectF(full.width() - 98, 6, 92, 20), QColor(0, 0, 0, 150))
        p.drawText(QPointF(full.width() - 94, 21), "B: render")
        p.end()


class CompareView(QWidget):
    """Source (A) against a rendered clip (B) at the model's playhead. Both sides are decoded
    by the shared background :class:`FrameLoader` (the nearest cached frame shows at once,
    the exact one when it arrives), so the UI thread never decodes. ``results`` picks which
    finished render is B."""

    def __init__(self, model: EditorModel, loader: FrameLoader,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.loader = loader
        self.result: RenderResult | None = None
        self.shown: dict[str, int | None] = {"a": None, "b": None}
        self._by_path: dict[str, RenderResult] = {}
        self.canvas = CompareCanvas()
        self.results = QComboBox()
        self.results.setMinimumWidth(200)
        self.results.currentIndexChanged.connect(self._pick)
        self.mode = QComboBox()
        self.mode.addItems(["wipe", "side"])
        self.mode.currentTextChanged.connect(self._set_mode)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.valueChanged.connect(self._set_split)
        self.hint = QLabel("Render the edits (Clip ▸ Render) to compare the result here.")
        bar = QHBoxLayout()
        bar.addWidget(self.results)
        bar.addWidget(self.mode)
        bar.addWidget(self.slider, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.hint)
        layout.addWidget(self.canvas, 1)
        model.playhead_changed.connect(self.refresh)
        model.clip_changed.connect(self._on_clip)
        model.result_ready.connect(self.set_result)
        loader.frame_ready.connect(self._on_frame)

    def _keys(self) -> tuple[Any, Any]:
        b = ("result", str(self.result.path)) if self.result is not None else None
        return ("clip", id(self.model.clip)), b

    def _on_clip(self) -> None:
        self.result = None
        self.canvas.a = self.canvas.b = None
        self.shown = {"a": None, "b": None}
        self._by_path.clear()
        self.results.blockSignals(True)
        self.results.clear()
        self.results.blockSignals(False)
        self.hint.show()
        self.canvas.update()

    def set_result(self, result: RenderResult) -> None:
        """Compare the source with ``result`` (added to the result list if new)."""
        paths = [self.results.itemData(i) for i in range(self.results.count())]
        self.results.blockSignals(True)
        if str(result.path) not in paths:
            self.results.addItem(result.path.name, str(result.path))
            self._by_path[str(result.path)] = result
        self.results.setCurrentIndex(self.results.findData(str(result.path)))
        self.results.blockSignals(False)
        self.result = result
        self.canvas.b, self.shown["b"] = None, None
        self.hint.hide()
        self.refresh()

    def _pick(self, i: int) -> None:
        result = self._by_path.get(self.results.itemData(i))
        if result is not None and result is not self.result:
            self.set_result(result)

    def _set_mode(self, mode: str) -> None:
        self.canvas.mode = mode
        self.slider.setEnabled(mode == "wipe")
        self.canvas.update()

    def _set_split(self, value: int) -> None:
        self.canvas.split = value / 1000
        self.canvas.update()

    def _b_index(self) -> int:
        assert self.result is not None
        return min(self.model.playhead, len(self.result.clip) - 1)

    def refresh(self) -> None:
        """Ask the loader for both frames at the playhead; show the nearest cached ones now."""
        if self.result is None or self.model.clip is None or not self.isVisible():
            return
        key_a, key_b = self._keys()
        hit_a = self.loader.request(key_a, self.model.clip, self.model.playhead)
        hit_b = self.loader.request(key_b, self.result.clip, self._b_index())
        if hit_a is not None:
            self._set("a", hit_a[0], hit_a[1])
        if hit_b is not None:
            self._set("b", hit_b[0], hit_b[1])

    def _set(self, side: str, index: int, frame: Any) -> None:
        setattr(self.canvas, side, to_qimage(frame))
        self.shown[side] = index
        self.canvas.update()

    def _on_frame(self, key: Any, index: int, frame: Any) -> None:
        if self.result is None or self.model.clip is None:
            return
        key_a, key_b = self._keys()
        if key == key_a and index == self.model.playhead:
            self._set("a", index, frame)
        elif key == key_b and index == self._b_index():
            self._set("b", index, frame)

    @property
    def exact(self) -> bool:
        """Whether both sides show the playhead's frame."""
        return (self.result is not None and self.shown["a"] == self.model.playhead
                and self.shown["b"] == self._b_index())

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()
