"""Progress reporting and cancellation shared by every long operation.

A long operation takes ``progress`` (a callable receiving :class:`ProgressEvent`) and ``cancel``
(a :class:`CancelToken`, a ``threading.Event`` or any zero-argument callable returning ``True``
when the caller wants to stop). It calls :meth:`Reporter.step` once per unit of work, which
reports progress with an ETA and raises :class:`~motionwright.errors.Cancelled` when asked to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import Cancelled, InvalidInputError


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report: ``done`` of ``total`` units of ``stage``; ``eta`` in seconds or None.

    ``preview`` optionally carries an intermediate result (an ``H×W×3`` uint8 frame).
    """

    stage: str
    done: int
    total: int
    elapsed: float
    eta: float | None
    preview: Any = None

    @property
    def fraction(self) -> float:
        """Completed fraction in [0, 1] (0 when the total is unknown)."""
        return self.done / self.total if self.total > 0 else 0.0


ProgressCallback = Callable[[ProgressEvent], None]


class CancelToken:
    """A thread-safe flag that asks a long operation to stop at its next step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()


def is_cancelled(cancel: Any) -> bool:
    """Interpret ``cancel`` (None, CancelToken, threading.Event or callable) as a bool."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    if callable(cancel):
        return bool(cancel())
    raise TypeError(f"cancel: expected a CancelToken, threading.Event or callable, got {cancel!r}")


def check_hooks(progress: Any, cancel: Any) -> None:
    """Refuse a ``progress`` that is not callable and a ``cancel`` that is not a CancelToken,
    ``threading.Event`` or callable (None is fine for both), before any work starts."""
    if progress is not None and not callable(progress):
        raise InvalidInputError(
            f"progress: expected a callable taking a ProgressEvent, or None, got {progress!r}")
    if cancel is not None and not (isinstance(cancel, threading.Event) or callable(cancel)):
        raise InvalidInputError(
            f"cancel: expected a CancelToken, threading.Event or callable, or None, got {cancel!r}")


class Reporter:
    """Counts steps of one stage, emits ProgressEvents and honours cancellation."""

    def __init__(self, stage: str, total: int, progress: ProgressCallback | None = None,
                 cancel: Any = None) -> None:
        self.stage = stage
        self.total = int(total)
        self.done = 0
        self._progress = progress
        self._cancel = cancel
        self._start = time.perf_counter()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the caller asked to stop."""
        if is_cancelled(self._cancel):
            raise Cancelled(f"{self.stage} cancelled after {self.done} of {self.total} steps")

    def step(self, n: int = 1, preview: Any = None) -> None:
        """Record ``n`` finished units, report, then check for cancellation."""
        self.done += n
        if self._progress is not None:
            elapsed = time.perf_counter() - self._start
            eta = None
            if 0 < self.done <= self.total:
                eta = elapsed / self.done * (self.total - self.done)
            self._progress(ProgressEvent(self.stage, self.done, self.total, elapsed, eta, preview))
        self.check()
