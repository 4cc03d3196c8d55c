"""Running jobs chunk by chunk: the scheduler behind :class:`~motionwright.service.Service`.

Two lanes take queued jobs from the store, oldest first: one for preview jobs (their chunks run
in parallel on the executor's CPU workers) and one for diffusion jobs (one at a time on the GPU
thread), so a long diffusion render never holds up previews. An executor with a ``lanes``
mapping (a cluster) gets that many jobs at once per lane. For each job the scheduler skips
the chunks the store lists as finished (and chunks whose frames a killed run wrote completely
but had not recorded yet), renders the others, writes each chunk's frames as ``.mwf`` files
and only then records the chunk. After the last chunk it encodes the optional output file with
the SDK's writer and puts the frames in the result cache.

Stopping the service without draining interrupts running jobs; they go back to the queue and
resume from their last finished chunk on the next start.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Cancelled, MotionwrightError
from ..progress import CancelToken, ProgressEvent
from . import framefile
from .chunks import plan_chunks
from .request import parse_request

_LANES = {"cpu": ("preview",), "gpu": ("diffusion",)}
_PROGRESS_INTERVAL = 0.5  # seconds between progress writes for step events
INTERMEDIATE_PREVIEW = "preview.mwf"  # a running method's latest intermediate frame


def error_view(exc: BaseException) -> dict[str, str]:
    """The ``{"error": kind, "message": text}`` a failed job reports for ``exc``."""
    from ..models.errors import OutOfMemoryError

    kinds = [(Cancelled, "cancelled"), (OutOfMemoryError, "out_of_memory")]
    for cls, kind in kinds:
        if isinstance(exc, cls):
            return {"error": kind, "message": str(exc)}
    if isinstance(exc, MotionwrightError):
        name = type(exc).__name__
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
        return {"error": snake.removesuffix("_error"), "message": str(exc)}
    return {"error": "internal", "message": f"{type(exc).__name__}: {exc}"}


class Scheduler:
    """Takes queued jobs from ``store`` and renders them with ``executor`` (see the module
    docstring). ``jobs_root`` holds each job's result folder; ``cache`` receives finished
    renders; ``data_dir`` resolves uploads and, with ``allowed_output_roots``, bounds output
    files when requests are read back (checked again: folders may have changed)."""

    def __init__(self, store, executor, cache, *, jobs_root: Path, data_dir: Path,
                 allowed_output_roots: tuple = ()) -> None:
        self.store = store
        self.executor = executor
        self.cache = cache
        self.jobs_root = Path(jobs_root)
        self.data_dir = Path(data_dir)
        self.allowed_output_roots = tuple(allowed_output_roots)
        self._wake = threading.Condition()
        self._tokens: dict[str, CancelToken] = {}
        self._threads: list[threading.Thread] = []
        self._accepting = True
        self._interrupt = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the lanes' threads: one job at a time per lane, or as many as the executor's
        ``lanes`` mapping asks (e.g. ``{"cpu": 2, "gpu": 4}`` for a cluster with four GPU
        workers)."""
        wanted = getattr(self.executor, "lanes", None) or {}
        for lane, backends in _LANES.items():
            count = max(1, int(wanted.get(lane, 1)))
            for k in range(count):
                t = threading.Thread(target=self._loop, args=(lane, backends),
                                     name=f"mw-scheduler-{lane}-{k}", daemon=True)
                t.start()
                self._threads.append(t)

    def notify(self) -> None:
        """Wake the lanes (a job was queued)."""
        with self._wake:
            self._wake.notify_all()

    def stop(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs; with ``drain`` let running jobs finish (up to ``timeout``
        seconds), else interrupt them so they resume on the next start."""
        with self._wake:
            self._accepting = False
            if not drain:
                self._interrupt = True
                for token in self._tokens.values():
                    token.cancel()
            self._wake.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            t.join(left)
            if t.is_alive():  # timed out: interrupt what still runs
                with self._wake:
                    self._interrupt = True
                    for token in self._tokens.values():
                        token.cancel()
                t.join()
        self._threads.clear()

    def cancel(self, job_id: str) -> bool:
        """Ask the running job ``job_id`` to stop; False if it is not running here."""
        with self._wake:
            token = self._tokens.get(job_id)
        if token is None:
            return False
        token.cancel()
        return True

    def is_running(self, job_id: str) -> bool:
        """Whether ``job_id`` is being rendered now."""
        with self._wake:
            return job_id in self._tokens

    def idle(self) -> bool:
        """Whether no job is being rendered now."""
        with self._wake:
            return not self._tokens

    # -- the lanes ----------------------------------------------------------------------------

    def _loop(self, lane: str, backends: tuple[str, ...]) -> None:
        while True:
            with self._wake:
                if not self._accepting:
                    return
            token = CancelToken()
            with self._wake:  # taken and cancellable in one step: cancel() never misses it
                job = self.store.next_queued(backends) if self._accepting else None
                if job is None:
                    if not self._accepting:
                        return
                    self._wake.wait(0.5)
                    continue
                self._tokens[job["id"]] = token
            try:
                self._run(job, token)
            finally:
                with self._wake:
                    self._tokens.pop(job["id"], None)

    def _run(self, job: dict[str, Any], token: CancelToken) -> None:
        job_id = job["id"]
        try:
            request = parse_request(job["request"], data_dir=self.data_dir, check_media=False,
                                    allowed_output_roots=self.allowed_output_roots)
            self._render(job, request, token)
        except Cancelled as exc:
            if self._interrupt:  # the service stops: resume on the next start
                self.store.update(job_id, state="queued")
            else:
                self.store.update(job_id, state="cancelled", error=error_view(exc), eta=None)
        except Exception as exc:
            self.store.update(job_id, state="failed", error=error_view(exc), eta=None)

    def _render(self, job: dict[str, Any], request, token: CancelToken) -> None:
        job_id = job["id"]
        folder = self.jobs_root / job_id
        folder.mkdir(parents=True, exist_ok=True)
        total_frames = int(job["frames"])
        chunks = plan_chunks(request, total_frames)
        done = set(self.store.done_chunks(job_id))
        tracker = _Progress(self.store, job_id, total_frames, done, folder=folder)
        if request.backend == "preview":
            for chunk in chunks:  # written completely by a killed run, not yet recorded
                if chunk not in done and all((folder / framefile.frame_name(i)).is_file()
                                             for i in range(*chunk)):
                    done.add(chunk)
                    tracker.chunk_finished(chunk, rendered=False)
        if done and job.get("cache_key") and not job.get("cached"):
            _check_unchanged(request, job["cache_key"])
        remaining = [c for c in chunks if c not in done]
        self.store.update(job_id, error=None)
        if remaining:
            total_frames = self._render_chunks(request, remaining, folder, tracker, token,
                                               total_frames)
        token_check(token)
        if request.output_file is not None:
            self._encode(request, folder, total_frames, tracker, token)
        if job.get("cache_key") and not job.get("cached"):
            self.cache.put(job["cache_key"], folder, total_frames, request.sample)
        self.store.update(job_id, state="done", eta=0.0, frames=total_frames,
                          progress=tracker.view("done", total_frames, total_frames))

    def _render_chunks(self, request, remaining: list[tuple[int, int]], folder: Path,
                       tracker: _Progress, token: CancelToken, total_frames: int) -> int:
        limit = 2 * max(1, int(getattr(self.executor, "workers", 1)))
        pending: dict[cf.Future, tuple[int, int]] = {}
        queue = list(remaining)
        failure: BaseException | None = None
        while queue or pending:
            while queue and len(pending) < limit and failure is None and not token.cancelled:
                chunk = queue.pop(0)
                fut = self.executor.submit(request, chunk[0], chunk[1], tracker.step_event,
                                           token)
                pending[fut] = chunk
            if not pending:
                break
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in sorted(finished, key=pending.__getitem__):  # in frame order
                chunk = pending.pop(fut)
                if failure is not None:
                    continue
                try:
                    frames = fut.result()
                except BaseException as exc:
                    failure = exc
                    token.cancel()
                    continue
                if request.backend == "diffusion" and chunk == (0, total_frames):
                    total_frames = len(frames)  # a method may make another frame count
                    tracker.total = total_frames
                    self.store.update(tracker.job_id, frames=total_frames)
                for k, frame in enumerate(frames):
                    framefile.write_frame(folder / framefile.frame_name(chunk[0] + k), frame,
                                          request.sample)
                tracker.chunk_finished((chunk[0], chunk[0] + len(frames)), rendered=True)
            if token.cancelled and failure is None:
                queue.clear()
        if failure is not None:
            raise failure
        token_check(token)
        return total_frames

    def _encode(self, request, folder: Path, frames: int, tracker: _Progress,
                token: CancelToken) -> None:
        from ..clip import Clip

        source = request.open_clip()
        like = source if len(source) == frames else None
        folder_source = framefile.FrameFolder(
            folder, source.fps, count=frames, start_timecode=source.start_timecode,
            derived_from=like)
        clip = Clip.from_source(folder_source)
        target = Path(request.output_file["path"])

        def progress(event: ProgressEvent) -> None:
            tracker.step_event(ProgressEvent("encode", event.done, event.total, event.elapsed,
                                             event.eta))

        written = clip.save(target, request.output_file.get("codec"), progress=progress,
                            cancel=token)
        self.store.update(tracker.job_id, output_file=str(written))


def _check_unchanged(request, key: str) -> None:
    """Refuse to resume a job whose source, models or Motionwright changed since it started:
    its finished frames and the new ones would not belong together."""
    from ..errors import ServiceError
    from .cache import request_key

    if request_key(request) != key:
        raise ServiceError(
            "the job's source media, models or Motionwright version changed since it started, "
            "so its finished chunks cannot be joined with new ones; submit it again")


def token_check(token: CancelToken) -> None:
    """Raise Cancelled if ``token`` was cancelled."""
    if token.cancelled:
        raise Cancelled("job cancelled")


class _Progress:
    """A job's progress: frames of finished chunks, with an ETA from this run's rate, written
    to the store with each chunk; step events (diffusion) written at most every half second."""

    def __init__(self, store, job_id: str, total: int, done: set[tuple[int, int]], *,
                 folder: Path | None = None) -> None:
        self.store = store
        self.folder = folder
        self.job_id = job_id
        self.total = total
        self.frames_done = sum(b - a for a, b in done)
        self._start = time.monotonic()
        self._rendered = 0
        self._last_write = 0.0
        self._lock = threading.Lock()

    def view(self, stage: str, done: int, total: int) -> dict[str, Any]:
        """The progress dict of the job view."""
        return {"stage": stage, "done": int(done), "total": int(total),
                "fraction": float(done) / total if total > 0 else 0.0}

    def chunk_finished(self, chunk: tuple[int, int], *, rendered: bool) -> None:
        """Record ``chunk`` (its frames are on disk) with the job's new progress."""
        with self._lock:
            count = chunk[1] - chunk[0]
            self.frames_done += count
            eta = None
            if rendered:
                self._rendered += count
                elapsed = time.monotonic() - self._start
                eta = elapsed / self._rendered * max(0, self.total - self.frames_done)
            self.store.chunk_done(self.job_id, chunk[0], chunk[1], eta=eta, preview=chunk[1] - 1,
                                  progress=self.view("render", self.frames_done, self.total))

    def step_event(self, event: ProgressEvent) -> None:
        """A method's step progress (stage, done/total, ETA), written now and then."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_write < _PROGRESS_INTERVAL and event.done < event.total:
                return
            self._last_write = now
        fields: dict[str, Any] = {}
        preview = getattr(event, "preview", None)
        if self.folder is not None and _is_frame(preview):
            # A method's intermediate result (diffusion): shown until real frames exist.
            framefile.write_frame(self.folder / INTERMEDIATE_PREVIEW, preview, "uint8"
                                  if preview.dtype == np.uint8 else "uint16")
            with self._lock:
                if self.frames_done == 0:
                    fields["preview"] = -1
        self.store.update(self.job_id, eta=event.eta,
                          progress=self.view(event.stage, event.done, event.total), **fields)


def _is_frame(value: Any) -> bool:
    return (isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[2] in (3, 4)
            and value.dtype in (np.uint8, np.uint16))
