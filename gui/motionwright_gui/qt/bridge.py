"""Running model callbacks on the Qt UI thread, and numpy frames as QImages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage


class UiDispatcher(QObject):
    """A model dispatcher: ``dispatcher(fn, *args)`` from any thread runs ``fn(*args)`` on the
    thread this object lives on (the UI thread) through a queued signal."""

    _call = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def __call__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._call.emit(fn, args)

    @staticmethod
    def _run(fn: Callable[..., Any], args: tuple) -> None:
        fn(*args)


def to_qimage(frame: np.ndarray) -> QImage:
    """An RGB888 QImage copy of an ``H×W×3`` frame (uint16 is shown at 8 bits)."""
    arr = np.asarray(frame)
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    arr = np.ascontiguousarray(arr[..., :3])
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
