"""Background jobs (tracking, renders, learning) with progress, ETA, previews and cancel."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import motionwright as mw

from .events import Signal
from .explain import Explanation, explain
from .frames import Dispatcher, call_now

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
DETACHED = "detached"  # a server job the editor stopped following; it runs on there
_ids = itertools.count(1)


@dataclass
class Job:
    """One unit of background work.

    ``work(progress, cancel)`` runs on a worker thread and returns the result; ``on_done``
    (called on the UI thread through the queue's dispatcher) receives it. ``fraction`` (0–1),
    ``eta`` (seconds or None) and ``preview`` (latest ``H×W×3`` uint8 intermediate frame or
    None) follow the work's :class:`~motionwright.ProgressEvent` s. ``family`` names the model
    family a failure is explained against. A ``remote`` job follows a job of the render
    server (``server_id``): it survives closing the editor, which only sets ``detached``.
    """

    title: str
    kind: str
    work: Callable[[Callable[[Any], None], Any], Any]
    on_done: Callable[[Any], None] | None = None
    family: str = "svd"
    id: int = field(default_factory=lambda: next(_ids))
    state: str = QUEUED
    fraction: float = 0.0
    eta: float | None = None
    stage: str = ""
    preview: np.ndarray | None = None
    result: Any = None
    error: Explanation | None = None
    started: float | None = None
    finished: float | None = None
    cancel_token: Any = field(default_factory=lambda: mw.CancelToken())
    remote: bool = False
    server_id: str | None = None
    detached: threading.Event = field(default_factory=threading.Event)

    @property
    def active(self) -> bool:
        """Whether the job is queued or running."""
        return self.state in (QUEUED, RUNNING)

    def cancel(self) -> None:
        """Ask the job to stop at its next progress step."""
        self.cancel_token.cancel()


class JobQueue:
    """Runs jobs on worker threads: ``serial`` jobs (renders, learning) one after another on
    one thread, others (tracking) each on its own thread. ``changed`` is emitted (through
    ``dispatcher``, i.e. on the UI thread) with the job whenever its state or progress moves.
    """

    def __init__(self, dispatcher: Dispatcher = call_now) -> None:
        self.dispatcher = dispatcher
        self.jobs: list[Job] = []
        self.changed = Signal("jobs.changed")
        self._serial: list[Job] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._min_interval = 0.05

    def submit(self, job: Job, serial: bool = True) -> Job:
        """Queue ``job``; returns it."""
        self.jobs.append(job)
        self.changed.emit(job)
        if serial:
            with self._cond:
                self._serial.append(job)
                if self._worker is None or not self._worker.is_alive():
                    self._worker = threading.Thread(target=self._serial_loop, daemon=True,
                                                    name="mw-jobs")
                    self._worker.start()
                self._cond.notify()
        else:
            threading.Thread(target=self._execute, args=(job,), daemon=True,
                             name=f"mw-job-{job.id}").start()
        return job

    def cancel(self, job: Job) -> None:
        """Cancel ``job`` (a queued one never starts)."""
        job.cancel()
        if job.state == QUEUED:
            with self._cond:
                if job in self._serial:
                    self._serial.remove(job)
            job.state = CANCELLED
            self.changed.emit(job)

    def detach_remote(self) -> None:
        """Stop following the render server's jobs (the editor is closing): they run on
        there and are listed again when the editor reopens the project."""
        for job in self.active():
            if job.remote:
                job.detached.set()

    def active(self) -> list[Job]:
        """Jobs queued or running."""
        return [j for j in self.jobs if j.active]

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until no job is active (for scripts and tests); False on timeout."""
        end = time.monotonic() + timeout
        while self.active():
            if time.monotonic() > end:
                return False
            time.sleep(0.01)
        return True

    def _serial_loop(self) -> None:
        while True:
            with self._cond:
                if not self._serial:
                    self._cond.wait(timeout=1.0)
                    if not self._serial:
                        return
                job = self._serial.pop(0)
            self._execute(job)

    def _execute(self, job: Job) -> None:
        if job.cancel_token.cancelled:
            if job.state != CANCELLED:
                job.state = CANCELLED
                self.dispatcher(self.changed.emit, job)
            return
        job.state, job.started = RUNNING, time.monotonic()
        self.dispatcher(self.changed.emit, job)
        last = [0.0]

        def progress(event: Any) -> None:
            job.fraction, job.eta, job.stage = event.fraction, event.eta, event.stage
            if event.preview is not None:
                job.preview = np.asarray(event.preview)
            now = time.monotonic()
            if now - last[0] >= self._min_interval or event.preview is not None:
                last[0] = now
                self.dispatcher(self.changed.emit, job)

        try:
            result = job.work(progress, job.cancel_token)
        except mw.errors.Cancelled:
            job.state = CANCELLED
        except Exception as exc:
            if job.detached.is_set():  # the editor closed; the server job runs on
                job.state, job.finished = DETACHED, time.monotonic()
                return
            job.state, job.error = FAILED, explain(exc, family=job.family)
        else:
            job.state, job.result, job.fraction = DONE, result, 1.0
        job.finished = time.monotonic()
        if job.state == DONE and job.on_done is not None:
            self.dispatcher(self._finish, job)
        else:
            self.dispatcher(self.changed.emit, job)

    def _finish(self, job: Job) -> None:
        try:
            job.on_done(job.result)  # type: ignore[misc]
        except Exception as exc:
            job.state, job.error = FAILED, explain(exc, family=job.family)
        self.changed.emit(job)
