"""The viewer: the current frame fit to the widget, zoom and pan, overlays, tool input."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

import motionwright as mw

from ..model import box_path
from ..model.editor import EditorModel
from ..model.explain import explain
from ..model.frames import FrameCache, FrameLoader
from ..model.geometry import ViewTransform
from ..model.tools import ToolController, edit_points
from .bridge import to_qimage

HANDLE = QColor(255, 200, 40)
TARGET = QColor(60, 220, 255)
TRACK = QColor(90, 255, 120)
LOST = QColor(255, 70, 70)
MASK = QColor(255, 60, 160, 90)
SELECTED = QColor(255, 255, 255)
SAM_MASK = QColor(60, 255, 140, 110)
ANCHOR_TOKEN = QColor(120, 255, 60)
BOX = QColor(255, 150, 40)
BADGE_APPROXIMATE = QColor(200, 90, 20, 220)
BADGE_PROXY = QColor(40, 40, 48, 180)
REST_MS = 120
PROXY_CACHE_BYTES = 256 * 2**20


def mask_image(mask: np.ndarray, colour: QColor) -> QImage:
    """An ARGB32 image, ``colour`` where ``mask`` (H, W) bool is set, transparent elsewhere."""
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[mask] = (colour.blue(), colour.green(), colour.red(), colour.alpha())
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_ARGB32).copy()


class Viewer(QWidget):
    """Shows the model's current frame (or its live preview) with edits and drafts drawn in
    frame coordinates; mouse input goes to a :class:`ToolController`.

    ``shown`` is ``(source key, frame index)`` of the frame on screen; ``exact_frame_shown``
    is emitted with the index whenever the playhead's exact frame reaches the screen.

    When the model has a scrubbing proxy (``model.proxy_clip``), a frame missing from the
    cache is shown from the proxy (decoded by ``proxy_loader``, the exact frame at proxy
    resolution) and the full-resolution frame is asked for once the playhead has rested
    :data:`REST_MS`. Until the exact frame is on screen, :attr:`quality` says what is shown
    (``quality_changed`` follows it) and a badge is drawn over the frame.
    """

    exact_frame_shown = Signal(int)
    quality_changed = Signal()

    def __init__(self, model: EditorModel, loader: FrameLoader,
                 parent: QWidget | None = None,
                 proxy_loader: FrameLoader | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.loader = loader
        self.proxy_loader = proxy_loader or FrameLoader(
            FrameCache(PROXY_CACHE_BYTES), dispatcher=model.dispatcher, prefetch=4)
        self._quality_state: tuple | None = None
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(REST_MS)
        self._rest.timeout.connect(self._request_full)
        self.tools = ToolController(model)
        self.zoom = 1.0
        self.pan = (0.0, 0.0)
        self.image: QImage | None = None
        self.shown: tuple[Any, int] | None = None
        self._mask_cache: dict[int, QImage] = {}
        self._panning: tuple[float, float, tuple[float, float]] | None = None
        self.setMinimumSize(320, 200)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.setAutoFillBackground(False)
        for sig in (model.edits_changed, model.draft_changed, model.selection_changed,
                    model.tracks_changed, model.tool_changed, model.anchor_tool.changed):
            sig.connect(self.update)
        self.tools.changed.connect(self.update)
        model.playhead_changed.connect(self.request_frame)
        model.clip_changed.connect(self._on_clip)
        model.preview_changed.connect(self.request_frame)
        model.proxy_changed.connect(self.request_frame)
        loader.frame_ready.connect(self._on_frame)
        self.proxy_loader.frame_ready.connect(self._on_proxy_frame)
        self.request_frame()

    # -- frames --------------------------------------------------------------------------------
    def source(self) -> tuple[Any, Any]:
        """``(cache key, clip)`` of what the viewer shows: the live preview when enabled and
        ready, else the clip."""
        m = self.model
        if m.preview_enabled and m.preview_clip is not None:
            return ("preview", id(m.clip), m.preview_version), m.preview_clip
        return ("clip", id(m.clip)), m.clip

    def _on_clip(self) -> None:
        self.image, self.shown, self.zoom, self.pan = None, None, 1.0, (0.0, 0.0)
        self.request_frame()

    def proxy_source(self) -> tuple[Any, Any] | None:
        """``(cache key, proxy clip)`` to scrub on, or None (no proxy, or the viewer shows
        the live preview)."""
        m = self.model
        if m.proxy_clip is None or self.source()[0][0] != "clip":
            return None
        return ("proxy", id(m.clip)), m.proxy_clip

    def request_frame(self) -> None:
        """Show the exact frame if cached, else the proxy's or the nearest cached frame now,
        and ask for the exact one (from the proxy at once; at full resolution at once without
        a proxy, else when the playhead rests)."""
        if self.model.clip is None:
            self._set_quality()
            self.update()
            return
        key = self.source()[0]
        index = self.model.playhead
        proxy = self.proxy_source()
        if proxy is None or self.loader.cache.get(key, index) is not None:
            self._rest.stop()
            self._request_full()
            return
        hit = self.proxy_loader.request(*proxy, index)
        if hit is not None and (hit[0] == index or not self._nearer(hit[0], index)):
            self._show(proxy[0], *hit)
        self._set_quality()
        self._rest.start()

    def _nearer(self, other: int, index: int) -> bool:
        """Whether the frame on screen is closer to ``index`` than frame ``other``."""
        return self.shown is not None and abs(self.shown[1] - index) < abs(other - index)

    def _request_full(self) -> None:
        if self.model.clip is None:
            return
        key, source = self.source()
        index = self.model.playhead
        hit = self.loader.request(key, source, index)
        if hit is not None and (hit[0] == index or not self._nearer(hit[0], index)):
            self._show(key, hit[0], hit[1])
        elif hit is None and self.shown is not None and self.shown[0] != key \
                and self.shown[0][0] != "proxy":
            fallback = self.loader.cache.nearest(("clip", id(self.model.clip)), index)
            if fallback is not None:
                self._show(("clip", id(self.model.clip)), fallback[0], fallback[1])
        self._set_quality()

    def _on_frame(self, key: Any, index: int, frame: np.ndarray) -> None:
        if self.model.clip is None:
            return
        if key == self.source()[0] and index == self.model.playhead:
            self._show(key, index, frame)

    def _on_proxy_frame(self, key: Any, index: int, frame: np.ndarray) -> None:
        proxy = self.proxy_source()
        if proxy is not None and key == proxy[0] and index == self.model.playhead \
                and not self.exact:
            self._show(key, index, frame)

    def _show(self, key: Any, index: int, frame: np.ndarray) -> None:
        self.image = to_qimage(frame)
        self.shown = (key, index)
        self.update()
        self._set_quality()
        if index == self.model.playhead and key == self.source()[0]:
            self.exact_frame_shown.emit(index)

    @property
    def exact(self) -> bool:
        """Whether the frame on screen is the playhead's frame of the current source at full
        resolution."""
        return self.shown == (self.source()[0], self.model.playhead)

    @property
    def quality(self) -> str:
        """What is on screen: ``"exact"`` (the playhead's frame at full resolution),
        ``"proxy"`` (the playhead's frame from the scrubbing proxy), ``"approximate"``
        (another, nearby frame while the exact one decodes) or ``""`` (nothing)."""
        if self.model.clip is None or self.shown is None:
            return ""
        if self.exact:
            return "exact"
        if self.shown[1] == self.model.playhead and self.shown[0][0] == "proxy":
            return "proxy"
        return "approximate"

    def quality_text(self) -> str:
        """A short note on the frame on screen when it is not the exact one, else ``""``."""
        q = self.quality
        if q == "approximate":
            return f"approximate frame: showing {self.shown[1]}, decoding {self.model.playhead}…"
        if q == "proxy":
            w, h = self.image.width(), self.image.height()
            return f"proxy frame ({w}×{h})"
        return ""

    def _set_quality(self) -> None:
        state = (self.quality, self.shown)
        if state != self._quality_state:
            self._quality_state = state
            self.quality_changed.emit()
            self.update()

    # -- geometry ------------------------------------------------------------------------------
    @property
    def transform(self) -> ViewTransform:
        """The current frame↔widget mapping."""
        size = self.model.clip.size if self.model.clip is not None else (1, 1)
        return ViewTransform(size, (self.width(), self.height()), self.zoom, self.pan)

    def set_zoom(self, zoom: float, about: tuple[float, float] | None = None) -> None:
        """Zoom to ``zoom`` (1 = fit) keeping the widget point ``about`` (default centre)
        fixed."""
        wx, wy = about if about is not None else (self.width() / 2, self.height() / 2)
        t = self.transform.zoomed_at(zoom / self.zoom, wx, wy)
        self.zoom, self.pan = t.zoom, t.pan
        self.update()

    def fit(self) -> None:
        """Back to fit-to-window."""
        self.zoom, self.pan = 1.0, (0.0, 0.0)
        self.update()

    def _pick_radius(self) -> float:
        return 8.0 / self.transform.scale

    # -- input ---------------------------------------------------------------------------------
    def _frame_pos(self, event: Any) -> tuple[float, float]:
        p = event.position()
        return self.transform.to_frame(p.x(), p.y())

    def mousePressEvent(self, event: Any) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            p = event.position()
            self._panning = (p.x(), p.y(), self.pan)
            return
        right = event.button() == Qt.MouseButton.RightButton and self.model.tool == "sam"
        if event.button() != Qt.MouseButton.LeftButton and not right:
            return
        x, y = self._frame_pos(event)
        mods = event.modifiers()
        self._guard(self.tools.press, x, y,
                    shift=bool(mods & Qt.KeyboardModifier.ShiftModifier),
                    alt=right or bool(mods & Qt.KeyboardModifier.AltModifier),
                    pick_radius=self._pick_radius())

    def mouseMoveEvent(self, event: Any) -> None:
        if self._panning is not None:
            p = event.position()
            x0, y0, pan = self._panning
            self.pan = (pan[0] + p.x() - x0, pan[1] + p.y() - y0)
            self.update()
            return
        self.tools.move(*self._frame_pos(event))

    def mouseReleaseEvent(self, event: Any) -> None:
        if self._panning is not None:
            self._panning = None
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._guard(self.tools.release, *self._frame_pos(event))

    def mouseDoubleClickEvent(self, event: Any) -> None:
        self._guard(self.tools.double_click, *self._frame_pos(event))

    def wheelEvent(self, event: Any) -> None:
        steps = event.angleDelta().y() / 120.0
        p = event.position()
        self.set_zoom(self.zoom * (1.25 ** steps), (p.x(), p.y()))

    def keyPressEvent(self, event: Any) -> None:
        names = {Qt.Key.Key_Return: "Enter", Qt.Key.Key_Enter: "Enter",
                 Qt.Key.Key_Escape: "Escape"}
        if event.key() in names and self._guard(self.tools.key, names[event.key()]):
            return
        super().keyPressEvent(event)

    def _guard(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except mw.errors.MotionwrightError as exc:
            self.tools.cancel()
            family = "sam" if self.model.tool == "sam" else "svd"
            self.model.notices.add("error", explain(exc, family=family).text())
            return None

    def dragEnterEvent(self, event: Any) -> None:
        if motion_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        for path in motion_paths(event.mimeData()):
            self._guard(self.model.apply_motion, path)
        event.acceptProposedAction()

    # -- drawing -------------------------------------------------------------------------------
    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 28))
        m = self.model
        if m.clip is None:
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "Open a clip or project (File ▸ Open, or drop it here)")
            return
        t = self.transform
        ox, oy = t.origin
        w, h = m.clip.size
        rect = QRectF(ox, oy, w * t.scale, h * t.scale)
        if self.image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, t.scale < 1.0)
            p.drawImage(rect, self.image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._draw_masks(p, rect)
        self._draw_edits(p, t)
        self._draw_drafts(p, t)
        self._draw_tracks(p, t)
        self._draw_anchor_tokens(p, t)
        self._draw_box_paths(p, t)
        self._draw_gesture(p, t)
        self._draw_badge(p)
        p.end()

    def _draw_badge(self, p: QPainter) -> None:
        """A label in the top-left corner while the frame shown is not the exact one."""
        text = self.quality_text()
        if not text:
            return
        approximate = self.quality == "approximate"
        font = p.font()
        font.setBold(approximate)
        p.setFont(font)
        box = p.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
        box.moveTopLeft(QPoint(8, 8))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(BADGE_APPROXIMATE if approximate else BADGE_PROXY)
        p.drawRoundedRect(QRectF(box), 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _mask(self, mask: Any, colour: QColor) -> QImage | None:
        try:
            data = mask.at(self.model.playhead)
        except mw.errors.MotionwrightError:
            return None
        key = (id(mask), self.model.playhead if not mask.is_static else -1, colour.rgba())
        img = self._mask_cache.get(key)
        if img is None:
            if len(self._mask_cache) > 64:
                self._mask_cache.clear()
            img = self._mask_cache[key] = mask_image(np.asarray(data), colour)
        return img

    def _draw_masks(self, p: QPainter, rect: QRectF) -> None:
        m = self.model
        masks = []
        for i, edit in enumerate(m.edits):
            mask = edit.mask if isinstance(edit, mw.DragEdit) else (
                edit.region if isinstance(edit, mw.TrajectoryEdit) else None)
            if mask is not None:
                alpha = 110 if i == m.selection else 60
                masks.append((mask, QColor(MASK.red(), MASK.green(), MASK.blue(), alpha)))
        if m.draft_mask is not None:
            masks.append((m.draft_mask, QColor(120, 120, 255, 100)))
        if m.sam_mask is not None:
            masks.append((m.sam_mask, SAM_MASK))
        for mask, colour in masks:
            img = self._mask(mask, colour)
            if img is not None:
                p.drawImage(rect, img)

    def _dot(self, p: QPainter, t: ViewTransform, xy: Any, colour: QColor,
             radius: float = 5.0, selected: bool = False) -> None:
        wx, wy = t.to_widget(float(xy[0]), float(xy[1]))
        p.setPen(QPen(SELECTED if selected else QColor(0, 0, 0), 2 if selected else 1))
        p.setBrush(colour)
        p.drawEllipse(QPointF(wx, wy), radius, radius)

    def _arrow(self, p: QPainter, t: ViewTransform, a: Any, b: Any, colour: QColor) -> None:
        ax, ay = t.to_widget(float(a[0]), float(a[1]))
        bx, by = t.to_widget(float(b[0]), float(b[1]))
        p.setPen(QPen(colour, 2))
        p.drawLine(QPointF(ax, ay), QPointF(bx, by))
        d = np.array([bx - ax, by - ay])
        n = np.hypot(*d)
        if n > 1:
            d = d / n * 10
            left = (bx - d[0] - d[1] * 0.5, by - d[1] + d[0] * 0.5)
            right = (bx - d[0] + d[1] * 0.5, by - d[1] - d[0] * 0.5)
            p.setBrush(colour)
            p.drawPolygon(QPolygonF([QPointF(bx, by), QPointF(*left), QPointF(*right)]))

    def _draw_edits(self, p: QPainter, t: ViewTransform) -> None:
        m = self.model
        for i, edit in enumerate(m.edits):
            sel = i == m.selection
            if isinstance(edit, mw.DragEdit) and edit.frame == m.playhead:
                for j, (a, b) in enumerate(zip(edit.handles.points, edit.targets.points,
                                               strict=True)):
                    self._arrow(p, t, a, b, HANDLE)
                    self._dot(p, t, a, HANDLE, selected=sel and m.selected_point == j)
                    self._dot(p, t, b, TARGET, 4, selected=sel and m.selected_point == j)
            elif isinstance(edit, mw.TrajectoryEdit):
                tr = edit.trajectories
                for k in range(tr.num_points):
                    path = QPainterPath()
                    for r, (x, y) in enumerate(tr.tracks[:, k]):
                        wx, wy = t.to_widget(float(x), float(y))
                        (path.moveTo if r == 0 else path.lineTo)(wx, wy)
                    p.setPen(QPen(TARGET if sel else QColor(60, 180, 220), 2))
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    p.drawPath(path)
                for kind, pts in edit_points(edit, m.playhead):
                    del kind
                    for k, xy in enumerate(pts):
                        self._dot(p, t, xy, TARGET, 4,
                                  selected=sel and m.selected_point == k)

    def _draw_drafts(self, p: QPainter, t: ViewTransform) -> None:
        m = self.model
        for xy in m.anchors:
            wx, wy = t.to_widget(*xy)
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.setBrush(QColor(120, 120, 120))
            p.drawRect(QRectF(wx - 4, wy - 4, 8, 8))
        if m.track_frame == m.playhead:
            for xy in m.track_points:
                self._dot(p, t, xy, TRACK, 4)
        self._draw_sam_clicks(p, t)

    def _draw_sam_clicks(self, p: QPainter, t: ViewTransform) -> None:
        m = self.model
        drawn = m.sam.clicks_here()
        pending = m.sam.pending if m.sam.pending_frame == m.playhead else ()
        pending = pending[len(drawn):] if pending[:len(drawn)] == drawn else ()
        for k, (x, y, label) in enumerate((*drawn, *pending)):
            wx, wy = t.to_widget(x, y)
            colour = TRACK if label == 1 else LOST
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.setBrush(colour if k < len(drawn) else Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(wx, wy), 5, 5)
            p.setPen(QPen(QColor(255, 255, 255) if k < len(drawn) else colour, 1.5))
            p.drawLine(QPointF(wx - 3, wy), QPointF(wx + 3, wy))
            if label == 1:
                p.drawLine(QPointF(wx, wy - 3), QPointF(wx, wy + 3))

    def _draw_tracks(self, p: QPainter, t: ViewTransform) -> None:
        tr = self.model.tracks
        f = self.model.playhead
        if tr is None or not tr.start_frame <= f < tr.end_frame:
            return
        row = f - tr.start_frame
        for k in range(tr.num_points):
            x, y = tr.tracks[row, k]
            if not np.isfinite(x) or not np.isfinite(y):
                continue
            if tr.visible[row, k]:
                self._dot(p, t, (x, y), TRACK, 4)
            else:
                wx, wy = t.to_widget(float(x), float(y))
                p.setPen(QPen(LOST, 2))
                p.drawLine(QPointF(wx - 5, wy - 5), QPointF(wx + 5, wy + 5))
                p.drawLine(QPointF(wx - 5, wy + 5), QPointF(wx + 5, wy - 5))

    def _draw_anchor_tokens(self, p: QPainter, t: ViewTransform) -> None:
        """Point-to-Point anchors on the frame shown: ringed dots, before the GPU run."""
        for _, x, y in self.model.anchor_tool.positions(self.model.playhead):
            self._dot(p, t, (x, y), ANCHOR_TOKEN, 4)
            wx, wy = t.to_widget(x, y)
            p.setPen(QPen(ANCHOR_TOKEN, 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(wx, wy), 8, 8)

    def box_paths(self) -> list[tuple[np.ndarray, list[int]]]:
        """The box paths drawn: the one being drawn with the Box path tool and the selected
        guided generation's, each as ``(boxes (N, 4) x, y, w, h per frame, keyframes)``."""
        m = self.model
        out = []
        if m.box_keys:
            out.append((box_path.boxes(m.box_keys, m.num_frames), [k[0] for k in m.box_keys]))
        edit = m.selected_edit
        if isinstance(edit, mw.GuidedGeneration) and edit.box is not None:
            c = np.asarray(edit.box.tracks, np.float64)
            out.append((np.concatenate([c[:, 0], c[:, 1] - c[:, 0]], -1), []))
        return out

    def _draw_box_paths(self, p: QPainter, t: ViewTransform) -> None:
        """Box paths: keyframe boxes dashed, the path of centres, this frame's box bold."""
        f = self.model.playhead
        p.setBrush(Qt.BrushStyle.NoBrush)
        for boxes, keys in self.box_paths():
            def rect(x: float, y: float, w: float, h: float) -> QRectF:
                (ax, ay), (bx, by) = t.to_widget(x, y), t.to_widget(x + w, y + h)
                return QRectF(QPointF(ax, ay), QPointF(bx, by))

            p.setPen(QPen(BOX, 1, Qt.PenStyle.DashLine))
            for k in keys:
                if k != f and k < len(boxes):
                    p.drawRect(rect(*boxes[k]))
            centres = boxes[:, :2] + boxes[:, 2:] / 2
            p.setPen(QPen(BOX, 1.5))
            p.drawPolyline(QPolygonF([QPointF(*t.to_widget(*xy)) for xy in centres]))
            if 0 <= f < len(boxes):
                p.setPen(QPen(SELECTED if f in keys else BOX, 2.5))
                p.drawRect(rect(*boxes[f]))
        g = self.tools.box_drag
        if g is not None and g[0] == "draw":
            x, y, w, h = box_path.box_from_corners(g[1], g[2])
            p.setPen(QPen(SELECTED, 1.5, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(QPointF(*t.to_widget(x, y)), QPointF(*t.to_widget(x + w, y + h))))
        elif g is not None:
            self._arrow(p, t, g[1], g[2], BOX)

    def _draw_gesture(self, p: QPainter, t: ViewTransform) -> None:
        g = self.tools
        if g.line is not None:
            self._arrow(p, t, g.line[0], g.line[1], HANDLE)
        pts = g.polygon or g.stroke
        if pts:
            poly = QPolygonF([QPointF(*t.to_widget(*xy)) for xy in pts])
            p.setPen(QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPolyline(poly)
        if g.moving is not None:
            self._arrow(p, t, g.moving[3], g.moving[4], SELECTED)


def motion_paths(mime: Any) -> list[str]:
    """``.motion`` file paths carried by drag-and-drop data."""
    return [u.toLocalFile() for u in mime.urls() if u.toLocalFile().endswith(".motion")] \
        if mime.hasUrls() else []
