"""Side panels: the inspector of the selected edit, the motion library and the job queue."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

import motionwright as mw

from ..model.edit_ops import TRAJECTORY_TIMINGS, detect_timing, edit_mask
from ..model.editor import TIMINGS, EditorModel
from ..model.jobs import Job
from ..model.library import library_entries, library_fingerprint, library_folders
from ..model.render_out import RenderResult
from .bridge import to_qimage
from .field_keys import FieldKeys
from .timeline import edit_label


def _spin(lo: float, hi: float, value: float, decimals: int = 1) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setSingleStep(1.0)
    box.setValue(value)
    box.setKeyboardTracking(False)
    return box


def in_scroll_area(widget: QWidget) -> QScrollArea:
    """``widget`` inside a frameless scroll area that resizes it: however tall or wide its
    contents grow, the area's minimum size stays small, so it never takes room from the
    viewer."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def scrolling_body(panel: QWidget) -> QWidget:
    """Fill ``panel`` with a scroll area (:func:`in_scroll_area`) and return the widget
    inside it, which holds the panel's contents."""
    body = QWidget()
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(in_scroll_area(body))
    return body


class Inspector(QWidget):
    """Parameters of the selected edit, each change an undoable model command: a drag's frame
    and every pair's handle and target (frame pixels, limited to the frame), a trajectory's
    start frame, length and timing, the mask's grow/shrink; with no selection, the drawing
    settings (path timing, brush radius) and the draft mask."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.form = QFormLayout(scrolling_body(self))
        self.fields: dict[str, QWidget] = {}
        self.field_keys = FieldKeys(parent=self)
        for sig in (model.selection_changed, model.edits_changed, model.clip_changed,
                    model.draft_changed):
            sig.connect(self.rebuild)
        self.rebuild()

    def _clear(self) -> None:
        # the widget whose signal caused this rebuild may still be on the stack: defer deletion
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                w = item.widget() if item is not None else None
                if w is not None:
                    w.hide()
                    w.deleteLater()
        self.fields = {}

    def rebuild(self) -> None:
        """Show the rows for the current selection; the field that had the keyboard keeps it."""
        focused = next((key for key, w in self.fields.items() if w.hasFocus()), None)
        self._clear()
        self._fill()
        self.field_keys.install(self)
        if focused in self.fields:
            self.fields[focused].setFocus()

    def _fill(self) -> None:
        m, edit = self.model, self.model.selected_edit
        if m.clip is None:
            self.form.addRow(QLabel("Open a clip or project to edit it."))
            return
        if edit is None:
            self.form.addRow(QLabel("<b>Drawing</b>"))
            timing = QComboBox()
            timing.addItems(TIMINGS)
            timing.setCurrentText(m.path_timing)
            timing.currentTextChanged.connect(lambda v: setattr(m, "path_timing", v))
            radius = QDoubleSpinBox()
            radius.setRange(1, 200)
            radius.setValue(m.brush_radius)
            radius.valueChanged.connect(lambda v: setattr(m, "brush_radius", float(v)))
            self._row("Path timing", "timing", timing)
            self._row("Brush radius (px)", "radius", radius)
            if m.draft_mask is not None:
                self._mask_rows(None, "Draft mask")
            return
        self.form.addRow(QLabel(f"<b>{edit_label(edit)}</b>"))
        if isinstance(edit, mw.DragEdit):
            self._drag_rows(edit)
        elif isinstance(edit, mw.TrajectoryEdit):
            self._trajectory_rows(edit)
        elif isinstance(edit, mw.MotionTransfer):
            strength = QDoubleSpinBox()
            strength.setRange(0.05, 5.0)
            strength.setSingleStep(0.1)
            strength.setValue(edit.strength)
            strength.editingFinished.connect(
                lambda: self._replace(dataclasses.replace(edit, strength=strength.value())))
            self._row("Strength", "strength", strength)
            for k, v in edit.motion.summary().items():
                self.form.addRow(str(k), QLabel(str(v)[:60]))
        elif isinstance(edit, mw.PromptEdit):
            prompt = QLineEdit(edit.prompt)
            prompt.editingFinished.connect(
                lambda: self._replace(dataclasses.replace(edit, prompt=prompt.text())))
            self._row("Prompt", "prompt", prompt)
        elif isinstance(edit, mw.GuidedGeneration):
            self._guided_rows(edit)
        delete = QPushButton("Delete edit")
        delete.clicked.connect(lambda: self.model.remove_edit())
        self.form.addRow(delete)

    def _guided_rows(self, edit: mw.GuidedGeneration) -> None:
        for key, label in (("prompt", "Prompt"), ("negative_prompt", "Negative prompt")):
            line = QLineEdit(getattr(edit, key))
            line.editingFinished.connect(
                lambda line=line, key=key: self._replace(
                    dataclasses.replace(edit, **{key: line.text()})))
            self._row(label, key, line)
        what = ("box path" if edit.box is not None else
                f"{len(edit.points) if isinstance(edit.points, mw.PointSet) else 'tracked'} "
                f"points" if edit.points is not None else "points picked automatically")
        self.form.addRow("Motion", QLabel(what))

    def _drag_rows(self, edit: mw.DragEdit) -> None:
        m = self.model
        w, h = m.clip.size
        frame = QSpinBox()
        frame.setRange(0, max(m.num_frames - 1, 0))
        frame.setValue(edit.frame)
        frame.setKeyboardTracking(False)
        frame.valueChanged.connect(lambda v: self._call(m.retime_edit, m.selection, v, v))
        self._row("Frame", "frame", frame)
        for j, (a, b) in enumerate(zip(edit.handles.points, edit.targets.points, strict=True)):
            boxes = [_spin(-0.5, w - 0.5, float(a[0])), _spin(-0.5, h - 0.5, float(a[1])),
                     _spin(-0.5, w - 0.5, float(b[0])), _spin(-0.5, h - 0.5, float(b[1]))]
            for box, key in zip(boxes, ("hx", "hy", "tx", "ty"), strict=True):
                top = w - 1 if key[1] == "x" else h - 1
                name = {"h": "handle", "t": "target"}[key[0]]
                box.setToolTip(f"{name} {key[1]} (frame px, 0..{top})")
                self.fields[f"pair{j}.{key}"] = box
                box.valueChanged.connect(lambda _v, j=j, boxes=boxes: self._set_pair(j, boxes))
            remove = QPushButton("×")
            remove.setFixedWidth(24)
            remove.setToolTip("Delete this pair")
            remove.clicked.connect(lambda _=False, j=j: self._call(m.remove_drag_pair,
                                                                    m.selection, j))
            line = QWidget()
            lay = QHBoxLayout(line)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(2)
            for k, box in enumerate(boxes):
                if k == 2:
                    lay.addWidget(QLabel("→"))
                lay.addWidget(box)
            lay.addWidget(remove)
            self.form.addRow(f"Pair {j}", line)
        self._mask_rows(m.selection, "Mask")

    def _trajectory_rows(self, edit: mw.TrajectoryEdit) -> None:
        m = self.model
        tr = edit.trajectories
        n = m.num_frames
        start = QSpinBox()
        start.setRange(0, max(n - tr.num_frames, 0))
        start.setValue(tr.start_frame)
        start.setKeyboardTracking(False)
        start.valueChanged.connect(lambda v: self._call(m.retime_edit, m.selection, v))
        self._row("Start frame", "start", start)
        length = QSpinBox()
        length.setRange(1, max(n - tr.start_frame, 1))
        length.setValue(tr.num_frames)
        length.setKeyboardTracking(False)
        length.valueChanged.connect(lambda v: self._call(
            m.retime_edit, m.selection, tr.start_frame, tr.start_frame + v - 1))
        self._row("Length (frames)", "length", length)
        timing = QComboBox()
        timing.addItems(TRAJECTORY_TIMINGS)
        timing.setCurrentText(detect_timing(tr))
        timing.setToolTip("How the point moves along its path: as drawn (kept), uniform "
                          "speed, or ease in/out")
        timing.currentTextChanged.connect(
            lambda v: self._call(m.set_trajectory_timing, m.selection, v))
        self._row("Timing", "timing", timing)
        anchors = tr.num_points - 1
        self.form.addRow("Tracks", QLabel(
            f"{tr.num_points} (1 moving, {anchors} static anchor{'s' * (anchors != 1)})"
            if anchors else "1"))
        self._mask_rows(m.selection, "Region")

    def _mask_rows(self, index: int | None, label: str) -> None:
        m = self.model
        mask = m.draft_mask if index is None else edit_mask(m.edits[index])
        if mask is None:
            self.form.addRow(label, QLabel("none (draw one with the polygon or brush tool)"))
            return
        area = int(np.asarray(mask.data[0]).sum())
        kind = "static" if mask.is_static else f"frames {mask.start_frame}–{mask.end_frame - 1}"
        self.form.addRow(label, QLabel(f"{kind}, {area} px"))
        amount = QSpinBox()
        amount.setRange(1, 100)
        amount.setValue(4)
        amount.setSuffix(" px")
        grow, shrink = QPushButton("Grow"), QPushButton("Shrink")
        grow.clicked.connect(lambda: self._call(m.grow_mask, index, amount.value()))
        shrink.clicked.connect(lambda: self._call(m.grow_mask, index, -amount.value()))
        self.fields["mask_amount"], self.fields["grow"], self.fields["shrink"] = \
            amount, grow, shrink
        line = QWidget()
        lay = QHBoxLayout(line)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (amount, grow, shrink):
            lay.addWidget(w)
        self.form.addRow("Dilate / erode", line)

    def _row(self, label: str, key: str, widget: QWidget) -> None:
        self.fields[key] = widget
        self.form.addRow(label, widget)

    def _call(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except mw.errors.MotionwrightError as exc:
            self.model.notices.add("error", str(exc))
            self.rebuild()

    def _replace(self, edit: Any) -> None:
        self._call(self.model.replace_edit, self.model.selection, edit, "Change parameter")

    def _set_pair(self, j: int, boxes: list[QDoubleSpinBox]) -> None:
        hx, hy, tx, ty = (b.value() for b in boxes)
        self._call(self.model.set_drag_pair, self.model.selection, j, (hx, hy), (tx, ty))


class MotionList(QListWidget):
    """The library list; items drag out as file URLs onto the viewer."""

    def mimeData(self, items: Any) -> QMimeData:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(i.data(Qt.ItemDataRole.UserRole)) for i in items])
        return mime


class LibraryPanel(QWidget):
    """Saved motions with their metadata; apply to the current shot (button or drag onto the
    viewer) or learn a new one from the in/out range. The library folders are checked every
    ``poll_ms`` milliseconds, so files copied into them appear without a restart."""

    POLL_MS = 2000

    def __init__(self, model: EditorModel, parent: QWidget | None = None,
                 poll_ms: int | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._fingerprint: tuple | None = None
        self.list = MotionList()
        self.list.setDragEnabled(True)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.apply_button = QPushButton("Apply to shot")
        self.learn_button = QPushButton("Learn from in/out")
        self.apply_button.clicked.connect(self.apply_selected)
        self.learn_button.clicked.connect(self.learn)
        self.list.currentItemChanged.connect(self._show_info)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.learn_button)
        layout = QVBoxLayout(scrolling_body(self))
        layout.addWidget(self.list)
        layout.addWidget(self.info)
        layout.addLayout(buttons)
        model.library_changed.connect(self.refresh)
        self.refresh()
        self.poll_timer = QTimer(self)
        self.poll_timer.timeout.connect(self.poll)
        self.poll_timer.start(self.POLL_MS if poll_ms is None else poll_ms)

    def poll(self) -> bool:
        """Re-read the library if its files changed on disk; returns whether it did."""
        if library_fingerprint(self.model) == self._fingerprint:
            return False
        self.refresh()
        return True

    def refresh(self) -> None:
        """Re-read the library (the selected motion stays selected)."""
        self._fingerprint = library_fingerprint(self.model)
        current = self.list.currentItem()
        selected = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.list.clear()
        for e in library_entries(self.model):
            item = QListWidgetItem(f"{e['name']}  [{e['scope']}]")
            item.setData(Qt.ItemDataRole.UserRole, e["path"])
            item.setData(Qt.ItemDataRole.UserRole + 1, e["summary"])
            self.list.addItem(item)
            if e["path"] == selected:
                self.list.setCurrentItem(item)
        folders = " or ".join(str(f) for _, f in library_folders(self.model))
        self.info.setText("" if self.list.count() else
                          "No saved motions yet. Learn one from the in/out range, or put "
                          f".motion files in {folders}.")

    def _show_info(self, item: Any) -> None:
        if item is None:
            return
        summary = item.data(Qt.ItemDataRole.UserRole + 1)
        if summary is None:
            self.info.setText("This file could not be read as a motion.")
        else:
            self.info.setText("\n".join(f"{k}: {v}" for k, v in summary.items()))

    def apply_selected(self) -> None:
        """Add a MotionTransfer of the selected motion to the current clip."""
        item = self.list.currentItem()
        if item is None or self.model.clip is None:
            return
        try:
            self.model.apply_motion(item.data(Qt.ItemDataRole.UserRole))
        except mw.errors.MotionwrightError as exc:
            self.model.notices.add("error", str(exc))

    def learn(self) -> None:
        """Start learning the in/out range's motion."""
        if self.model.clip is None:
            return
        try:
            self.model.learn_motion()
        except mw.errors.MotionwrightError as exc:
            self.model.notices.add("error", str(exc))


class JobRow(QWidget):
    """One job: title, state and stage, progress bar with ETA, latest preview, cancel button;
    a finished render also gets a button that opens it in the A/B compare."""

    def __init__(self, model: EditorModel, job: Job) -> None:
        super().__init__()
        self.job = job
        self.title = QLabel(job.title)
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(60)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.preview = QLabel()
        self.preview.setFixedSize(96, 54)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(lambda: model.jobs.cancel(job))
        self.compare = QPushButton("A/B")
        self.compare.setToolTip("Compare this render with the source")
        self.compare.hide()
        self.compare.clicked.connect(lambda: model.result_ready.emit(job.result))
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.compare)
        top.addWidget(self.cancel)
        text = QVBoxLayout()
        text.addLayout(top)
        text.addWidget(self.bar)
        text.addWidget(self.state)
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 2, 2, 2)
        row.addWidget(self.preview)
        row.addLayout(text, 1)
        self.refresh()

    def refresh(self) -> None:
        """Show the job's current state."""
        j = self.job
        self.bar.setValue(int(j.fraction * 1000))
        eta = "" if j.eta is None or not j.active else f" — ETA {j.eta:.0f} s"
        stage = f" ({j.stage})" if j.stage and j.active else ""
        text = f"{j.state}{stage}{eta}"
        if isinstance(j.result, RenderResult):
            text += f" — {j.result.path.name}"
            self.state.setToolTip(str(j.result.path))
            self.compare.show()
        if j.error is not None:
            text = j.error.text()
        self.state.setText(text)
        self.cancel.setEnabled(j.active)
        if j.preview is not None:
            img = to_qimage(np.asarray(j.preview))
            self.preview.setPixmap(QPixmap.fromImage(img).scaled(
                96, 54, Qt.AspectRatioMode.KeepAspectRatio))


class JobsPanel(QWidget):
    """The render queue: every job (tracking, renders, learning) with its progress."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.rows: dict[int, JobRow] = {}
        self.layout_ = QVBoxLayout(scrolling_body(self))
        self.layout_.addStretch(1)
        model.jobs.changed.connect(self.on_job)

    def on_job(self, job: Job) -> None:
        """Add or refresh the row of ``job``."""
        if job.kind in ("preview", "sam-click"):
            return
        row = self.rows.get(job.id)
        if row is None:
            row = self.rows[job.id] = JobRow(self.model, job)
            self.layout_.insertWidget(0, row)
        row.refresh()


def default_motion_name(path: str) -> str:
    """Library name of a ``.motion`` file."""
    return Path(path).stem
