"""Status-bar widgets: the clip being opened (with cancel) and what the viewer's frame is."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..model.editor import EditorModel
from ..model.jobs import Job
from ..model.opening import OPEN_KIND, open_percent, open_status, pending_open, shows_percent


class OpenProgress(QWidget):
    """Shown while a clip or project opens in the background: its name, how far indexing
    and checking the last frames are (a busy bar until indexing starts) and Cancel (the clip
    shown so far stays)."""

    def __init__(self, model: EditorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(120)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(model.cancel_open)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.label, self.bar, self.cancel_button):
            row.addWidget(w)
        model.jobs.changed.connect(self._on_job)
        self.refresh()

    def _on_job(self, job: Job) -> None:
        if job.kind == OPEN_KIND:
            self.refresh()

    def refresh(self) -> None:
        """Show or hide after the pending open changed."""
        job = pending_open(self.model)
        if job is not None:
            self.label.setText(open_status(job))
            if shows_percent(job):
                self.bar.setRange(0, 100)
                self.bar.setValue(open_percent(job))
            else:
                self.bar.setRange(0, 0)
        self.setVisible(job is not None)


class FrameQualityLabel(QLabel):
    """Says when the viewer's frame is not yet the playhead's exact frame at full
    resolution (see :attr:`~motionwright_gui.qt.viewer.Viewer.quality`)."""

    def __init__(self, viewer: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        viewer.quality_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Follow the viewer's frame quality."""
        text = self.viewer.quality_text()
        self.setText(text)
        self.setVisible(bool(text))
