"""Side panels: the inspector of the selected edit, the motion library and the job queue."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

import motionwright as mw

from ..model.editor import TIMINGS, EditorModel
from ..model.jobs import Job
from ..model.settings import user_motion_dir
from .bridge import to_qimage
from .timeline import edit_label


class Inspector(QWidget):
    """Parameters of the selected edit, changed through undoable model commands; with no
    selection, the drawing settings (path timing, brush radius)."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.form = QFormLayout(self)
        self.fields: dict[str, QWidget] = {}
        for sig in (model.selection_changed, model.edits_changed, model.clip_changed):
            sig.connect(self.rebuild)
        self.rebuild()

    def _clear(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}

    def rebuild(self) -> None:
        """Show the rows for the current selection."""
        self._clear()
        m, edit = self.model, self.model.selected_edit
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
            return
        self.form.addRow(QLabel(f"<b>{edit_label(edit)}</b>"))
        if isinstance(edit, mw.DragEdit):
            frame = QSpinBox()
            frame.setRange(0, max(m.num_frames - 1, 0))
            frame.setValue(edit.frame)
            frame.editingFinished.connect(lambda: self._drag_frame(frame.value()))
            self._row("Frame", "frame", frame)
            for j, (a, b) in enumerate(zip(edit.handles.points, edit.targets.points,
                                           strict=True)):
                self.form.addRow(f"Pair {j}", QLabel(
                    f"({a[0]:.1f}, {a[1]:.1f}) → ({b[0]:.1f}, {b[1]:.1f})"))
            self.form.addRow("Mask", QLabel("yes" if edit.mask is not None else "none"))
        elif isinstance(edit, mw.TrajectoryEdit):
            tr = edit.trajectories
            start = QSpinBox()
            start.setRange(0, max(m.num_frames - tr.num_frames, 0))
            start.setValue(tr.start_frame)
            start.editingFinished.connect(lambda: self._traj_start(start.value()))
            self._row("Start frame", "start", start)
            self.form.addRow("Frames", QLabel(str(tr.num_frames)))
            self.form.addRow("Tracks", QLabel(f"{tr.num_points} (1 moving, "
                                              f"{tr.num_points - 1} anchors)"))
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
        delete = QPushButton("Delete edit")
        delete.clicked.connect(lambda: self.model.remove_edit())
        self.form.addRow(delete)

    def _row(self, label: str, key: str, widget: QWidget) -> None:
        self.fields[key] = widget
        self.form.addRow(label, widget)

    def _replace(self, edit: Any) -> None:
        try:
            self.model.replace_edit(self.model.selection, edit, "Change parameter")
        except mw.errors.MotionwrightError as exc:
            self.model.message.emit(str(exc))
            self.rebuild()

    def _drag_frame(self, frame: int) -> None:
        edit = self.model.selected_edit
        if isinstance(edit, mw.DragEdit) and frame != edit.frame:
            self._replace(dataclasses.replace(
                edit, handles=edit.handles.with_points(edit.handles.points, frame),
                targets=edit.targets.with_points(edit.targets.points, frame)))

    def _traj_start(self, start: int) -> None:
        edit = self.model.selected_edit
        if isinstance(edit, mw.TrajectoryEdit) and start != edit.trajectories.start_frame:
            tr = edit.trajectories
            self._replace(dataclasses.replace(edit, trajectories=mw.Trajectory(
                tr.tracks, tr.visible, start_frame=start, ids=tr.ids)))


def library_entries(model: EditorModel) -> list[dict[str, Any]]:
    """The motion library: the project's motions and the ``.motion`` files of the user
    library, each ``{"name", "path", "scope", "summary"}`` (summary None if unreadable)."""
    out = [{"name": n, "path": p, "scope": "project"} for n, p in model.project.motions.items()]
    folder = user_motion_dir()
    known = {e["path"] for e in out}
    if folder.is_dir():
        out += [{"name": f.stem, "path": str(f), "scope": "user"}
                for f in sorted(folder.glob("*.motion")) if str(f) not in known]
    for e in out:
        try:
            e["summary"] = mw.MotionEmbedding.load(e["path"]).summary()
        except (mw.errors.MotionwrightError, OSError, ValueError):
            e["summary"] = None
    return out


class MotionList(QListWidget):
    """The library list; items drag out as file URLs onto the viewer."""

    def mimeData(self, items: Any) -> QMimeData:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(i.data(Qt.ItemDataRole.UserRole)) for i in items])
        return mime


class LibraryPanel(QWidget):
    """Saved motions with their metadata; apply to the current shot (button or drag onto the
    viewer) or learn a new one from the in/out range."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
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
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.info)
        layout.addLayout(buttons)
        model.library_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the library."""
        self.list.clear()
        for e in library_entries(self.model):
            item = QListWidgetItem(f"{e['name']}  [{e['scope']}]")
            item.setData(Qt.ItemDataRole.UserRole, e["path"])
            item.setData(Qt.ItemDataRole.UserRole + 1, e["summary"])
            self.list.addItem(item)
        self.info.setText("" if self.list.count() else
                          "No saved motions yet. Learn one from the in/out range, or put "
                          f".motion files in {user_motion_dir()}.")

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
            self.model.message.emit(str(exc))

    def learn(self) -> None:
        """Start learning the in/out range's motion."""
        if self.model.clip is None:
            return
        try:
            self.model.learn_motion()
        except mw.errors.MotionwrightError as exc:
            self.model.message.emit(str(exc))


class JobRow(QWidget):
    """One job: title, state, progress bar with ETA, latest preview, cancel button."""

    def __init__(self, model: EditorModel, job: Job) -> None:
        super().__init__()
        self.job = job
        self.title = QLabel(job.title)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.preview = QLabel()
        self.preview.setFixedSize(96, 54)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(lambda: model.jobs.cancel(job))
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
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
        text = f"{j.state}{eta}"
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
        self.layout_ = QVBoxLayout(self)
        self.layout_.addStretch(1)
        model.jobs.changed.connect(self.on_job)

    def on_job(self, job: Job) -> None:
        """Add or refresh the row of ``job``."""
        if job.kind == "preview":
            return
        row = self.rows.get(job.id)
        if row is None:
            row = self.rows[job.id] = JobRow(self.model, job)
            self.layout_.insertWidget(0, row)
        row.refresh()


def default_motion_name(path: str) -> str:
    """Library name of a ``.motion`` file."""
    return Path(path).stem
