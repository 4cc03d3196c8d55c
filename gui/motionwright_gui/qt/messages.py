"""The Messages panel: the editor's warnings and errors, kept until the user clears them."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ..model.notices import ERROR, WARNING, Notice, NoticeLog

_ICONS = {ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
          WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning}


class MessagesPanel(QWidget):
    """Every message of ``log``, newest first, with its time and level. Warnings and errors
    that arrive while the panel is hidden are counted in :meth:`title` until it is shown."""

    def __init__(self, log: NoticeLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = log
        self.unseen = 0
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(log.clear)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        log.added.connect(self._add)
        log.cleared.connect(self._clear)
        for notice in log.items:
            self._add(notice)

    def title(self) -> str:
        """The tab title: ``Messages``, with the count of unseen warnings and errors."""
        return f"Messages ({self.unseen})" if self.unseen else "Messages"

    def mark_seen(self) -> None:
        """The user has looked at the panel."""
        self.unseen = 0

    def texts(self) -> list[str]:
        """The shown rows, newest first."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _add(self, notice: Notice) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(notice.time))
        item = QListWidgetItem(f"{stamp}  {notice.level}: {notice.text}")
        if notice.level in _ICONS:
            item.setIcon(self.style().standardIcon(_ICONS[notice.level]))
            if not self.isVisible():
                self.unseen += 1
        item.setToolTip(notice.text)
        self.list.insertItem(0, item)

    def _clear(self) -> None:
        self.list.clear()
        self.unseen = 0
