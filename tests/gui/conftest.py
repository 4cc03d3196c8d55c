"""GUI tests run offscreen on small generated clips."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fractions import Fraction

import numpy as np
import pytest

import motionwright as mw


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    """Keep recent files, recovery copies and the motion library inside the test folder."""
    monkeypatch.setenv("MOTIONWRIGHT_GUI_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("MOTIONWRIGHT_GUI_CACHE", str(tmp_path / "cache"))
    # No render server of the machine is found: renders stay in-process unless a test starts one.
    monkeypatch.setenv("MOTIONWRIGHT_RUNTIME_DIR", str(tmp_path / "run"))


@pytest.fixture
def sam_model(monkeypatch):
    """A tiny random SAM (built once per session) configured through
    ``MOTIONWRIGHT_MODEL_SAM``; returns its folder."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_models import tiny_model

    path = tiny_model("sam")
    monkeypatch.setenv("MOTIONWRIGHT_MODEL_SAM", str(path))
    return path


def make_frames(n: int = 12, size: tuple[int, int] = (96, 64)) -> np.ndarray:
    """Frames ``(n, H, W, 3)`` uint8 whose pixel (0, 0) red channel is the frame index and
    that carry a bright 8×8 square moving right one pixel per frame."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.empty((n, h, w, 3), np.uint8)
    for t in range(n):
        frames[t, ..., 0] = (xx * 3 + t * 5) % 256
        frames[t, ..., 1] = (yy * 4) % 256
        frames[t, ..., 2] = 60
        frames[t, 20:28, 10 + t:18 + t] = 250
        frames[t, 0, 0, 0] = t
    return frames


@pytest.fixture
def clip_path(tmp_path):
    """A 12-frame 96×64 PNG sequence."""
    path = tmp_path / "shot"
    mw.Clip.from_frames(make_frames(), fps=Fraction(24)).save(path, codec="png")
    return path


@pytest.fixture
def model(clip_path, tmp_path):
    """An editor model with the test clip open and recovery inside the test folder."""
    from motionwright_gui.model import EditorModel, Recovery

    m = EditorModel(recovery=Recovery(tmp_path / "recovery"))
    m.open(clip_path)
    return m


@pytest.fixture
def window(qtbot, model):
    """The main window on :func:`model`, shown offscreen, with the first frame requested."""
    from motionwright_gui.model.quitting import close_anyway
    from motionwright_gui.qt.bridge import UiDispatcher
    from motionwright_gui.qt.window import MainWindow

    model.dispatcher = model.jobs.dispatcher = UiDispatcher()
    win = MainWindow(model)
    win.ask = close_anyway  # closing at teardown never waits on a dialog
    win.loader.dispatcher = model.dispatcher
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    win.viewer.request_frame()
    return win


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll ``condition`` (jobs report on their worker thread here) until true or timeout."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def gated_load(monkeypatch):
    """The editor's ``files.load`` held until the returned event is set (a slow open)."""
    from motionwright_gui.model import files

    gate = threading.Event()
    real = files.load

    def slow(path, progress=None, cancel=None):
        gate.wait(30)
        return real(path, progress, cancel)

    monkeypatch.setattr(files, "load", slow)
    yield gate
    gate.set()
