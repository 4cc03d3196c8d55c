"""The main window: viewer, timeline, panels, menus, shortcuts, playback and status bar."""

from __future__ import annotations

import os
import time
from typing import Any

from PySide6.QtCore import QElapsedTimer, QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
)

import motionwright as mw

from ..model import playback, quitting, settings
from ..model.editor import EditorModel
from ..model.explain import explain
from ..model.frames import FrameLoader
from ..model.jobs import FAILED, Job
from ..model.notices import ERROR, INFO, WARNING, Notice
from ..model.sam_tool import CLICK_KIND, sam_status
from .compare import CompareView
from .dialogs import ask
from .messages import MessagesPanel
from .panels import Inspector, JobsPanel, LibraryPanel, in_scroll_area
from .status_widgets import FrameQualityLabel, OpenProgress
from .timeline import Timeline
from .viewer import Viewer

TOOL_LABELS = [("select", "Select", "V"), ("drag", "Drag pair", "D"),
               ("points", "Points", "P"), ("polygon", "Polygon mask", "G"),
               ("brush", "Brush mask", "B"), ("pen", "Trajectory pen", "T"),
               ("sam", "SAM clicks", ""), ("anchors", "Anchor tokens", ""),
               ("box", "Box path", "")]
AUTOSAVE_MS = 2000


class MainWindow(QMainWindow):
    """The editor window around an :class:`EditorModel` (whose dispatcher must run on the UI
    thread, e.g. a :class:`~motionwright_gui.qt.bridge.UiDispatcher`)."""

    def __init__(self, model: EditorModel, loader: FrameLoader | None = None) -> None:
        super().__init__()
        self.model = model
        self.loader = loader or FrameLoader(dispatcher=model.dispatcher)
        self.viewer = Viewer(model, self.loader)
        self.timeline = Timeline(model)
        self.compare = CompareView(model, self.loader)
        self.inspector = Inspector(model)
        self.library = LibraryPanel(model)
        self.jobs_panel = JobsPanel(model)
        self.messages = MessagesPanel(model.notices)
        self.inspector.field_keys.home = self.viewer  # Escape in a field: keys to the viewer
        self.speed = 0
        self._play_clock = QElapsedTimer()
        self._play_from = 0
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._tick)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.timeout.connect(self._autosave)
        self.actions_by_name: dict[str, QAction] = {}
        # Answers the close questions; tests and screenshot scripts replace it.
        self.ask: quitting.Ask = lambda question: ask(self, question)
        self._build_layout()
        self._build_actions()
        self._build_status()
        self.setAcceptDrops(True)
        model.document_changed.connect(self._on_document)
        model.message.connect(lambda text: self.report(text, INFO))
        model.notices.added.connect(self._on_notice)
        model.notices.cleared.connect(self._sync_messages_tab)
        model.jobs.changed.connect(self._on_job)
        model.result_ready.connect(lambda *_: self.center_tabs.setCurrentWidget(self.compare))
        for sig in (model.playhead_changed, model.clip_changed, model.preview_changed):
            sig.connect(self._update_status)
        model.clip_changed.connect(self._on_clip)
        self._on_document()
        self._update_status()

    # -- construction --------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.center_tabs = QTabWidget()
        self.center_tabs.addTab(self.viewer, "Viewer")
        self.center_tabs.addTab(self.compare, "A/B compare")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.center_tabs)
        split.addWidget(in_scroll_area(self.timeline))  # more edit rows scroll, not push
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 1)
        split.setSizes([800, 140])
        self.setCentralWidget(split)
        side = QTabWidget()
        side.addTab(self.inspector, "Inspector")
        side.addTab(self.library, "Motions")
        side.addTab(self.jobs_panel, "Render queue")
        side.addTab(self.messages, "Messages")
        side.currentChanged.connect(self._sync_messages_tab)
        self.side_tabs = side
        dock = QDockWidget("Panels", self)
        dock.setWidget(side)
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        dock.setMinimumWidth(320)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _action(self, name: str, text: str, slot: Any, shortcut: Any = None,
                menu: Any = None, checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            act.setShortcuts([QKeySequence(k) for k in keys])
        act.setCheckable(checkable)
        act.triggered.connect(lambda checked=False: self._guard(slot, checked)
                              if checkable else self._guard(slot))
        self.addAction(act)
        if menu is not None:
            menu.addAction(act)
        self.actions_by_name[name] = act
        return act

    def _build_actions(self) -> None:
        m, bar = self.model, self.menuBar()
        f = bar.addMenu("&File")
        self._action("open", "&Open…", self.open_dialog, QKeySequence.StandardKey.Open, f)
        self.recent_menu = f.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._action("save", "&Save", self.save, QKeySequence.StandardKey.Save, f)
        self._action("save_as", "Save &As…", self.save_as, "Ctrl+Shift+S", f)
        f.addSeparator()
        # StandardKey.Quit has no binding on Windows and some Linux desktops
        self._action("quit", "&Quit", self.close, "Ctrl+Q", f)
        e = bar.addMenu("&Edit")
        self.undo_action = self._action("undo", "&Undo", m.undo.undo, "Ctrl+Z", e)
        self.redo_action = self._action("redo", "&Redo", m.undo.redo,
                                        ["Ctrl+Shift+Z", "Ctrl+Y"], e)
        self._action("delete", "&Delete edit", lambda: m.remove_edit(),
                     [QKeySequence.StandardKey.Delete, "Backspace"], e)
        self._action("clear_drafts", "Clear draft mask/anchors/points", m.clear_drafts, None, e)
        v = bar.addMenu("&View")
        self._action("fit", "&Fit", self.viewer.fit, "F", v)
        self._action("zoom_in", "Zoom &in", lambda: self.viewer.set_zoom(self.viewer.zoom * 1.25),
                     "=", v)
        self._action("zoom_out", "Zoom &out",
                     lambda: self.viewer.set_zoom(self.viewer.zoom / 1.25), "-", v)
        self.preview_action = self._action("preview", "Live &preview", m.set_preview_enabled,
                                           "Ctrl+P", v, checkable=True)
        p = bar.addMenu("&Playback")
        self._action("play", "Play/Pause", self.toggle_play, "Space", p)
        self._action("reverse", "Shuttle back (J)", lambda: self.shuttle(-1), "J", p)
        self._action("stop", "Stop (K)", lambda: self.set_speed(0), "K", p)
        self._action("forward", "Shuttle forward (L)", lambda: self.shuttle(1), "L", p)
        self._action("prev", "Previous frame", lambda: self._step(-1), "Left", p)
        self._action("next", "Next frame", lambda: self._step(1), "Right", p)
        self._action("home", "First frame", lambda: m.set_playhead(0), "Home", p)
        self._action("end", "Last frame", lambda: m.set_playhead(m.num_frames - 1), "End", p)
        self._action("mark_in", "Set in", lambda: m.set_in(), "I", p)
        self._action("mark_out", "Set out", lambda: m.set_out(), "O", p)
        self.loop_action = self._action("loop", "&Loop in/out", m.set_loop, "Ctrl+L", p,
                                        checkable=True)
        self.loop_action.setChecked(m.loop)
        c = bar.addMenu("&Clip")
        self._action("track", "&Track points", m.track, "Ctrl+T", c)
        self._action("render_preview", "Render (&preview)", lambda: m.render("preview"), None, c)
        self._action("render_diffusion", "Render (&diffusion)", lambda: m.render("diffusion"),
                     "Ctrl+R", c)
        self._action("learn", "&Learn motion from in/out", m.learn_motion, None, c)
        self._action("generate", "&Generate from track points…", self.generate_dialog, None, c)
        self._action("generate_box", "Generate from &box path…",
                     lambda: self.generate_dialog(box=True), None, c)
        self._action("find_anchors", "Find &anchor tokens (Point-to-Point)",
                     m.anchor_tool.find, None, c)
        self._action("render_anchors", "Render prompt edit with these anchors",
                     m.anchor_tool.render, None, c)
        self.tools_menu = bar.addMenu("&Tools")
        self.tools_menu.aboutToShow.connect(self.refresh_sam)
        h = bar.addMenu("&Help")
        self._action("help", "&Keyboard shortcuts", self.show_help, "F1", h)
        tools_bar = self.addToolBar("Tools")
        group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key in TOOL_LABELS:
            act = QAction(text, self)
            act.setCheckable(True)
            if key:
                act.setShortcut(QKeySequence(key))
            act.triggered.connect(lambda _=False, n=name: self._guard(m.set_tool, n))
            group.addAction(act)
            tools_bar.addAction(act)
            self.tools_menu.addAction(act)
            self.addAction(act)
            self.tool_actions[name] = act
        self.tools_menu.addSeparator()
        self._action("sam_propagate", "Propagate SAM mask through the clip",
                     m.sam.propagate, "Ctrl+Shift+M", self.tools_menu)
        self._action("sam_apply", "Apply SAM mask", m.sam.apply, "Ctrl+M", self.tools_menu)
        self._action("sam_clear", "Clear SAM clicks", m.sam.clear, None, self.tools_menu)
        tools_bar.addAction(self.actions_by_name["sam_propagate"])
        tools_bar.addAction(self.actions_by_name["sam_apply"])
        self.refresh_sam()
        tools_bar.addSeparator()
        for name in ("track", "preview", "render_preview", "render_diffusion"):
            tools_bar.addAction(self.actions_by_name[name])
        m.tool_changed.connect(self._sync_tool)
        m.tool_changed.connect(self._sync_sam_actions)
        m.draft_changed.connect(self._sync_sam_actions)
        m.clip_changed.connect(self._sync_sam_actions)
        self._sync_tool()
        self._sync_sam_actions()

    def _build_status(self) -> None:
        self.status_frame = QLabel()
        self.status_timecode = QLabel()
        self.status_size = QLabel()
        self.status_backend = QLabel()
        self.status_quality = FrameQualityLabel(self.viewer)
        self.open_progress = OpenProgress(self.model)
        for w in (self.open_progress, self.status_quality, self.status_frame,
                  self.status_timecode, self.status_size, self.status_backend):
            self.statusBar().addPermanentWidget(w)

    # -- state -> view -------------------------------------------------------------------------
    def _sync_tool(self) -> None:
        act = self.tool_actions.get(self.model.tool)
        if act is not None:
            act.setChecked(True)

    def refresh_sam(self) -> bool:
        """Re-check whether a ``sam`` model is configured (cheap: no weights are read) and
        enable the SAM tool or explain, in its tooltip, the command that adds one. Runs when
        the Tools menu opens and when the window is activated (e.g. back from a terminal
        where ``motionwright models add sam PATH`` ran). Returns whether it is enabled."""
        ok, reason = sam_status()
        act = self.tool_actions["sam"]
        act.setEnabled(ok)
        act.setToolTip(reason)
        act.setStatusTip(reason)
        if not ok and self.model.tool == "sam":
            self.model.set_tool("polygon")
        self._sync_sam_actions()
        return ok

    def _sync_sam_actions(self) -> None:
        m = self.model
        on = m.tool == "sam" and m.clip is not None
        self.actions_by_name["sam_propagate"].setEnabled(
            on and any(label == 1 for _, _, label in m.sam_clicks))
        self.actions_by_name["sam_apply"].setEnabled(m.sam_mask is not None)
        self.actions_by_name["sam_clear"].setEnabled(bool(m.sam_clicks or m.sam_mask is not None))

    def changeEvent(self, event: Any) -> None:
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.refresh_sam()
        super().changeEvent(event)

    def _update_status(self) -> None:
        m = self.model
        if m.clip is None:
            self.status_frame.setText("no clip")
            return
        self.status_frame.setText(f"frame {m.playhead} / {m.num_frames - 1}")
        self.status_timecode.setText(m.timecode())
        w, h = m.clip.size
        self.status_size.setText(f"{w}×{h} @ {float(m.clip.fps):.3g} fps")
        live = " (live)" if m.preview_enabled else ""
        self.status_backend.setText(f"backend: {m.backend}{live}")

    def _on_document(self) -> None:
        self.setWindowTitle(f"{self.model.title} — Motionwright")
        self.undo_action.setEnabled(self.model.undo.can_undo)
        self.redo_action.setEnabled(self.model.undo.can_redo)
        self.undo_action.setText(f"&Undo {self.model.undo.undo_text}".rstrip())
        self.redo_action.setText(f"&Redo {self.model.undo.redo_text}".rstrip())
        if self.model.dirty:
            self.autosave_timer.start(AUTOSAVE_MS)

    def _on_clip(self) -> None:
        self.set_speed(0)

    def _on_job(self, job: Job) -> None:
        if job.state == FAILED and job.error is not None:
            self.report(f"{job.title} failed: {job.error.text()}")
            if job.kind != CLICK_KIND:
                self.side_tabs.setCurrentWidget(self.jobs_panel)
        elif job.kind in ("render", "learn", "segment") and job.active:
            self.side_tabs.setCurrentWidget(self.jobs_panel)

    def _autosave(self) -> None:
        try:
            self.model.autosave()
        except (mw.errors.MotionwrightError, OSError) as exc:
            self.report(f"Autosave failed: {exc}")

    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except (mw.errors.MotionwrightError, OSError, ImportError) as exc:
            owner = getattr(fn, "__self__", None)
            family = "sam" if owner is self.model.sam else (
                "animatediff" if owner is self.model.anchor_tool else "svd")
            self.report(explain(exc, family=family).text())
            return None

    def report(self, text: str, level: str = ERROR) -> None:
        """Log ``text`` in the Messages panel (where it stays) and show it in the status
        bar."""
        self.model.notices.add(level, text)

    def _on_notice(self, notice: Notice) -> None:
        self.statusBar().showMessage(notice.text.replace("\n", " — "),
                                     8000 if notice.level == INFO else 15000)
        if notice.level == WARNING:
            self.side_tabs.setCurrentWidget(self.messages)
        self._sync_messages_tab()

    def _sync_messages_tab(self) -> None:
        if self.side_tabs.currentWidget() is self.messages:
            self.messages.mark_seen()
        self.side_tabs.setTabText(self.side_tabs.indexOf(self.messages), self.messages.title())

    # -- playback ------------------------------------------------------------------------------
    def set_speed(self, speed: int) -> None:
        """Play the in/out range at ``speed`` × the clip's fps (negative = backwards, 0 =
        stop), looping when the model's ``loop`` is on."""
        self.speed = speed
        if speed == 0 or self.model.clip is None:
            self.speed = 0
            self.play_timer.stop()
            return
        first, last = self.model.play_range()
        self._play_from = playback.start_frame(self.model.playhead, first, last, speed)
        self.model.set_playhead(self._play_from)
        self._play_clock.start()
        interval = max(5, int(500 / (float(self.model.clip.fps) * abs(speed))))
        self.play_timer.start(interval)

    def toggle_play(self) -> None:
        """Space: play forward at 1× or stop."""
        self.set_speed(0 if self.speed else 1)

    def shuttle(self, direction: int) -> None:
        """J/L: start in ``direction`` or double the speed that way (up to 8×)."""
        if self.speed * direction > 0:
            self.set_speed(min(abs(self.speed) * 2, 8) * direction)
        else:
            self.set_speed(direction)

    def _step(self, n: int) -> None:
        self.set_speed(0)
        self.model.step(n)

    def _tick(self) -> None:
        m = self.model
        first, last = m.play_range()
        frame, playing = playback.frame_at(self._play_from, self._play_clock.elapsed() / 1000.0,
                                           float(m.clip.fps), self.speed, first, last, m.loop)
        m.set_playhead(frame)
        if not playing:
            self.set_speed(0)

    # -- files ---------------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike) -> bool:
        """Start opening a clip or project in the background (the status bar shows it, with
        Cancel; once open it joins the recent files); errors go to the status bar. True when
        the open started."""
        try:
            self.model.open_in_background(path)
        except (mw.errors.MotionwrightError, OSError) as exc:
            self.report(explain(exc).text())
            return False
        return True

    def open_dialog(self) -> None:
        """File ▸ Open."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open clip or project", "",
            "Clips and projects (*.mwproj *.mp4 *.mov *.mkv *.avi *.mxf *.png *.exr *.tif);;"
            "All files (*)")
        if path:
            self.open_path(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in settings.recent_files():
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def save(self) -> None:
        """File ▸ Save (asks for a path the first time)."""
        if self.model.project.path is None:
            self.save_as()
        else:
            self._guard(self.model.save)

    def save_as(self, path: str | None = None) -> None:
        """File ▸ Save As."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save project", "",
                                                  "Motionwright project (*.mwproj)")
        if path:
            if not path.endswith(".mwproj"):
                path += ".mwproj"
            if self._guard(self.model.save, path) is not None:
                settings.add_recent(path)

    def _save_before_close(self) -> bool:
        self.save()
        return not self.model.dirty

    def generate_dialog(self, box: bool = False) -> None:
        """Ask for a prompt and add a guided generation (S²V2V) that moves like the track
        points on this clip, or (``box``) follows the box path drawn with the Box path tool
        (render it with Render (diffusion))."""
        from PySide6.QtWidgets import QInputDialog

        prompt, ok = QInputDialog.getText(self, "Generate", "Prompt of the new video:")
        if ok and prompt.strip():
            add = self.model.add_box_generation if box else self.model.add_guided_generation
            self._guard(add, prompt.strip())

    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if path.endswith(".motion"):
                self._guard(self.model.apply_motion, path)
            elif path:
                self.open_path(path)
                break

    # -- help and lifetime ---------------------------------------------------------------------
    def shortcut_table(self) -> list[tuple[str, str]]:
        """(action, keys) for every action with a shortcut."""
        rows = []
        for act in [*self.actions_by_name.values(), *self.tool_actions.values()]:
            keys = ", ".join(k.toString() for k in act.shortcuts())
            if keys:
                rows.append((act.text().replace("&", ""), keys))
        rows.append(("Pan", "Middle drag or Ctrl+drag"))
        rows.append(("Zoom about the pointer", "Mouse wheel"))
        rows.append(("Trajectory pen: static anchor", "Shift+click"))
        rows.append(("Brush: erase", "Alt+drag"))
        rows.append(("Polygon: close", "Enter, double click or click the first vertex"))
        rows.append(("SAM: keep / exclude click", "Click / Alt+click or right-click"))
        rows.append(("SAM: apply mask / clear clicks", "Enter / Escape"))
        rows.append(("Box path: move the box / draw a new one",
                     "Drag from inside the box / drag elsewhere"))
        rows.append(("Inspector number field: type, step", "Digits, Backspace / Up, Down"))
        rows.append(("Inspector field: give the keys back to the viewer", "Escape"))
        return rows

    def show_help(self) -> QDialog:
        """The keyboard shortcut dialog (returned; shown non-modally)."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        text = QTextBrowser()
        rows = "".join(f"<tr><td>{a}</td><td><b>{k}</b></td></tr>"
                       for a, k in self.shortcut_table())
        text.setHtml(f"<table cellpadding=3>{rows}</table>")
        QVBoxLayout(dialog).addWidget(text)
        dialog.resize(460, 560)
        dialog.show()
        return dialog

    def closeEvent(self, event: Any) -> None:
        if not quitting.may_close(self.model, self.ask, self._save_before_close):
            event.ignore()
            return
        self.set_speed(0)
        self.model.jobs.detach_remote()  # server renders go on and are listed on reopen
        for job in self.model.jobs.active():
            if not job.remote:
                self.model.jobs.cancel(job)
        if self.model.recovery is not None and not self.model.dirty:
            self.model.recovery.clear()
        self.loader.close()
        self.viewer.proxy_loader.close()
        super().closeEvent(event)


def wait_for_exact_frame(window: MainWindow, timeout: float = 10.0) -> bool:
    """Process events until the viewer shows the playhead's exact frame; False on timeout."""
    app = QApplication.instance()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if window.model.clip is None or window.viewer.exact:
            return True
        time.sleep(0.005)
    return False
