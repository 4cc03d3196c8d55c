"""Starting the editor: the Qt application, the model wired to the UI thread, screenshots."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from .model.editor import EditorModel
from .model.quitting import close_anyway
from .model.recovery import Recovery
from .qt.bridge import UiDispatcher
from .qt.window import MainWindow, wait_for_exact_frame

SCREENSHOT_SIZE = (1600, 1000)


def application() -> QApplication:
    """The running QApplication, created if needed."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Motionwright")
    return app  # type: ignore[return-value]


def create_window(path: str | os.PathLike | None = None, *, recovery: bool = True,
                  background: bool = False) -> MainWindow:
    """A main window with a fresh model (opening ``path`` if given, in the background when
    ``background``; otherwise offering the recovery copy of a crashed session when
    ``recovery``)."""
    application()
    dispatcher = UiDispatcher()
    model = EditorModel(dispatcher, Recovery() if recovery else None)
    window = MainWindow(model)
    window._dispatcher = dispatcher  # keeps the dispatcher alive with the window
    if path is not None and background:
        window.open_path(path)
    elif path is not None:
        model.open(path)
    elif recovery and model.recovery is not None and model.recovery.available():
        model.recover()
        window.statusBar().showMessage(
            "Recovered unsaved work from the last session — save it to keep it", 15000)
    return window


def screenshot(window: MainWindow, out: str | os.PathLike,
               size: tuple[int, int] = SCREENSHOT_SIZE) -> Path:
    """Lay the window out at ``size`` (offscreen is fine), wait for the exact frame and save
    a PNG to ``out``; returns its path."""
    window.resize(*size)
    window.show()
    application().processEvents()
    wait_for_exact_frame(window)
    window.repaint()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        raise OSError(f"could not write the screenshot to {out}")
    return out


def main(path: Any = None, *, screenshot_path: Any = None, frame: int | None = None,
         tool: str | None = None, preview: bool = False,
         size: tuple[int, int] = SCREENSHOT_SIZE) -> int:
    """Run the editor (or only take a screenshot); returns the exit status."""
    if screenshot_path is not None and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = application()
    interactive = screenshot_path is None
    window = create_window(path, recovery=interactive, background=interactive)
    model = window.model
    if frame is not None and interactive and path is not None:
        def go_to_frame() -> None:
            model.clip_changed.disconnect(go_to_frame)
            model.set_playhead(frame)

        model.clip_changed.connect(go_to_frame)
    elif frame is not None:
        model.set_playhead(frame)
    if tool is not None:
        model.set_tool(tool)
    if preview:
        model.set_preview_enabled(True)
        model.jobs.wait(60)
        app.processEvents()
    if screenshot_path is not None:
        screenshot(window, screenshot_path, size)
        window.ask = close_anyway
        window.close()
        return 0
    window.resize(1400, 900)
    window.show()
    return app.exec()
