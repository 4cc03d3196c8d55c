"""The :class:`Service` facade: submit, watch, cancel and read render jobs (thread-safe).

The HTTP server, the CLI and tests drive the render service through this class. It owns the
job store (``<data dir>/jobs.sqlite3``), the result folders (``jobs/<id>/``), the result cache
(``cache/``), the upload folders (``uploads/<id>/``), an executor and the scheduler.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .. import __version__
from .._persist import write_json
from ..errors import FrameNotReadyError, FrameRangeError, InvalidInputError, ServiceError
from . import framefile, paths
from .cache import ResultCache, request_key
from .chunks import plan_chunks
from .request import parse_request
from .scheduler import INTERMEDIATE_PREVIEW
from .store import FINAL_STATES, STATES, JobStore

PROTOCOL = 1
JOB_SCHEMA = "Job.1"


class Service:
    """The render service over data folder ``data_dir`` (default :func:`paths.data_dir`).

    ``workers``: CPU threads for preview chunks. ``cache_max_bytes``: size of the result cache
    (default 10 GiB, or ``$MOTIONWRIGHT_CACHE_MAX_BYTES``). ``executor``: where chunks run
    (default a :class:`~.executor.LocalExecutor`; the service closes it on :meth:`stop`).
    ``allowed_output_roots``: folders output files may be written in, besides the data folder
    and each source's folder. ``recover``: move an unreadable job database aside and start
    with the jobs whose result folders survive (see :class:`~.store.JobStore`).
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, *, workers: int = 2,
                 cache_max_bytes: int | None = None, executor: Any = None,
                 allowed_output_roots: tuple | list = (), recover: bool = False) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidInputError(f"workers: expected a positive integer, got {workers!r}")
        if cache_max_bytes is None and os.environ.get("MOTIONWRIGHT_CACHE_MAX_BYTES"):
            text = os.environ["MOTIONWRIGHT_CACHE_MAX_BYTES"]
            try:
                cache_max_bytes = int(text)
            except ValueError as exc:
                raise InvalidInputError(
                    f"MOTIONWRIGHT_CACHE_MAX_BYTES: expected an integer, got {text!r}") from exc
        if cache_max_bytes is not None and (isinstance(cache_max_bytes, bool)
                                            or int(cache_max_bytes) < 0):
            raise InvalidInputError(
                f"cache_max_bytes: expected a byte count >= 0, got {cache_max_bytes!r}")
        self.data_dir = Path(data_dir) if data_dir is not None else paths.data_dir()
        self.workers = workers
        self.cache_max_bytes = cache_max_bytes
        self.allowed_output_roots = tuple(Path(r) for r in allowed_output_roots)
        self.recover = recover
        self._executor = executor
        self._store: JobStore | None = None
        self._cache: ResultCache | None = None
        self._scheduler: Any = None
        self._lock = threading.RLock()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Service:
        """Open the store, requeue interrupted jobs (they resume from their finished chunks)
        and start the workers. Returns the service."""
        from .executor import LocalExecutor
        from .scheduler import Scheduler

        with self._lock:
            if self._scheduler is not None:
                return self
            self.data_dir.mkdir(parents=True, exist_ok=True)
            for sub in (paths.jobs_dir(self.data_dir), paths.uploads_dir(self.data_dir)):
                sub.mkdir(exist_ok=True)
            store = JobStore(self.data_dir / paths.DATABASE_NAME, recover=self.recover)
            if store.recovered_from is not None:
                self._reimport(store)
            store.requeue_interrupted()
            self._store = store
            self._cache = ResultCache(paths.cache_dir(self.data_dir), self.cache_max_bytes)
            if self._executor is None:
                self._executor = LocalExecutor(self.workers)
            self._scheduler = Scheduler(store, self._executor, self._cache,
                                        jobs_root=paths.jobs_dir(self.data_dir),
                                        data_dir=self.data_dir,
                                        allowed_output_roots=self.allowed_output_roots)
            self._scheduler.start()
        return self

    def stop(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop: with ``drain`` running jobs finish first (at most ``timeout`` seconds), else
        they are interrupted and resume on the next start. Queued jobs stay queued."""
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.stop(drain=drain, timeout=timeout)
        if self._executor is not None:
            self._executor.close()
            self._executor = None
        self._store.close()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop(drain=False)

    def _running(self) -> tuple[JobStore, Any]:
        scheduler = self._scheduler
        if scheduler is None or self._store is None:
            raise ServiceError("the render service is not running; call Service.start() first")
        return self._store, scheduler

    # -- jobs ---------------------------------------------------------------------------------

    def submit(self, request: dict) -> dict:
        """Validate ``request`` (a job request dict, see ``docs/bridge.md``) and queue it; a
        render the cache holds is done at once (``"cached": true``). Returns the job view."""
        store, scheduler = self._running()
        req = parse_request(request, data_dir=self.data_dir,
                            allowed_output_roots=self.allowed_output_roots)
        key = request_key(req)
        job_id = uuid.uuid4().hex
        folder = paths.jobs_dir(self.data_dir) / job_id
        folder.mkdir(parents=True)
        stored = req.to_dict()
        hit = self._cache.lookup(key)
        if hit is not None:
            try:
                self._cache.link_into(key, folder, int(hit["frames"]))
            except OSError:  # evicted meanwhile: render it again
                hit = None
                for stale in folder.glob("*.mwf"):
                    stale.unlink()
        frames = int(hit["frames"]) if hit else req.frames
        chunks = plan_chunks(req, frames)
        write_json(folder / "job.json", {"schema": JOB_SCHEMA, "id": job_id, "request": stored,
                                         "cache_key": key, "frames": frames})
        if hit is None:
            store.create(job_id, request=stored, backend=req.backend, label=req.label,
                         frames=frames, chunks_total=len(chunks), cache_key=key)
            scheduler.notify()
            return self.job(job_id)
        state = "queued" if req.output_file is not None else "done"  # the file is still made
        done = {"stage": "done", "done": frames, "total": frames, "fraction": 1.0}
        store.create(job_id, request=stored, backend=req.backend, label=req.label,
                     frames=frames, chunks_total=len(chunks), cache_key=key, state=state,
                     cached=True, progress=done)
        for start, stop in chunks:
            store.chunk_done(job_id, start, stop, progress=done, eta=0.0, preview=frames - 1)
        if state == "queued":
            scheduler.notify()
        return self.job(job_id)

    def job(self, job_id: str) -> dict:
        """The view of job ``job_id``; JobNotFoundError when there is none."""
        store, _ = self._running()
        return self._view(store.get(_job_id(job_id)))

    def jobs(self, state: str | None = None) -> list[dict]:
        """Views of every job (oldest first), or of those in ``state``."""
        store, _ = self._running()
        if state is not None and state not in STATES:
            raise InvalidInputError(f"state: expected one of {', '.join(STATES)}, got {state!r}")
        return [self._view(row) for row in store.list(state)]

    def cancel(self, job_id: str, timeout: float = 10.0) -> dict:
        """Cancel job ``job_id`` (queued: at once; running: at its next chunk or step, waited
        for up to ``timeout`` seconds); a finished job is left as it is. Returns its view."""
        store, scheduler = self._running()
        job = store.get(_job_id(job_id))
        if job["state"] == "queued" and store.cancel_queued(job["id"], {
                "error": "cancelled", "message": "job cancelled before it started"}):
            return self.job(job["id"])
        if scheduler.cancel(job["id"]):
            deadline = time.monotonic() + timeout
            while scheduler.is_running(job["id"]) and time.monotonic() < deadline:
                time.sleep(0.02)
        return self.job(job["id"])

    def delete(self, job_id: str) -> None:
        """Remove job ``job_id`` and its result folder (cancelling it first if it runs); the
        cache keeps its own copy of a finished render."""
        store, scheduler = self._running()
        job = store.get(_job_id(job_id))
        if job["state"] not in FINAL_STATES:
            self.cancel(job["id"])
            deadline = time.monotonic() + 30.0
            while scheduler.is_running(job["id"]) and time.monotonic() < deadline:
                time.sleep(0.02)
        store.delete(job["id"])
        shutil.rmtree(paths.jobs_dir(self.data_dir) / job["id"], ignore_errors=True)

    def frame(self, job_id: str, index: int, sample: str | None = None) -> dict:
        """The descriptor of frame ``index`` (0-based within the job's range) as a ``.mwf``
        file of ``sample`` (default: the job's); FrameNotReadyError while it is not rendered."""
        store, _ = self._running()
        job = store.get(_job_id(job_id))
        if isinstance(index, bool) or not isinstance(index, int) or not (
                0 <= index < job["frames"]):
            raise FrameRangeError(
                f"index: expected a frame index in [0, {job['frames']}), got {index!r}")
        folder = paths.jobs_dir(self.data_dir) / job["id"]
        path = folder / framefile.frame_name(index)
        if not path.is_file():
            raise FrameNotReadyError(
                f"frame {index} of job {job['id']} is not rendered ({job['state']}"
                f"{'; wait for the job' if job['state'] in ('queued', 'running') else ''})")
        stored = job["request"]["output"]["sample"]
        if sample is None or sample == stored:
            return framefile.descriptor(path, index)
        framefile.check_sample(sample)
        converted = folder / sample / framefile.frame_name(index)
        if not converted.is_file():
            converted.parent.mkdir(exist_ok=True)
            framefile.write_frame(converted, framefile.read_frame(path), sample)
        return framefile.descriptor(converted, index)

    def new_upload(self) -> dict:
        """A new, empty upload folder for a client to fill with ``000000.mwf``, …"""
        self._running()
        upload_id = uuid.uuid4().hex
        folder = paths.uploads_dir(self.data_dir) / upload_id
        folder.mkdir(parents=True, mode=0o700)
        return {"id": upload_id, "path": str(folder.resolve())}

    def health(self) -> dict:
        """``{"protocol", "version", "workers", "gpu"}``."""
        from .executor import gpu_name

        return {"protocol": PROTOCOL, "version": __version__, "workers": self.workers,
                "gpu": gpu_name()}

    def cache_info(self) -> dict:
        """``{"bytes", "max_bytes", "entries", "path"}`` of the result cache."""
        self._running()
        return self._cache.info()

    def cache_clear(self) -> dict:
        """Empty the result cache (finished jobs keep their frames); returns cache_info."""
        self._running()
        return self._cache.clear()

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.05) -> dict:
        """Block until job ``job_id`` is done, failed or cancelled (or ``timeout`` seconds
        pass); returns its view."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            view = self.job(job_id)
            if view["state"] in FINAL_STATES:
                return view
            if deadline is not None and time.monotonic() >= deadline:
                return view
            time.sleep(poll)

    # -- helpers ------------------------------------------------------------------------------

    def _view(self, row: dict[str, Any]) -> dict[str, Any]:
        total = int(row["frames"])
        progress = row["progress"] or {"stage": row["state"], "done": 0, "total": total,
                                       "fraction": 0.0}
        preview = None
        if row["preview"] is not None:
            index = int(row["preview"])
            name = INTERMEDIATE_PREVIEW if index < 0 else framefile.frame_name(index)
            path = paths.jobs_dir(self.data_dir) / row["id"] / name
            try:
                preview = framefile.descriptor(path, index)
            except (OSError, ValueError):
                preview = None
        return {"id": row["id"], "state": row["state"], "label": row["label"],
                "backend": row["backend"], "created": row["created"], "updated": row["updated"],
                "frames": total,
                "chunks": {"done": int(row["chunks_done"]),
                           "total": int(row["chunks_total"])},
                "progress": progress, "eta": row["eta"], "error": row["error"],
                "cached": bool(row["cached"]), "preview": preview,
                "output_file": row["output_file"]}

    def _reimport(self, store: JobStore) -> None:
        """After moving a corrupt database aside, list again the jobs whose folders hold a
        ``job.json`` (queued: frames already on disk are not rendered again)."""
        import json

        for path in sorted(paths.jobs_dir(self.data_dir).glob("*/job.json")):
            try:
                info = json.loads(path.read_text(encoding="utf-8"))
                req = parse_request(info["request"], data_dir=self.data_dir, check_media=False,
                                    allowed_output_roots=self.allowed_output_roots)
                frames = int(info["frames"])
                store.create(info["id"], request=info["request"], backend=req.backend,
                             label=req.label, frames=frames,
                             chunks_total=len(plan_chunks(req, frames)),
                             cache_key=info.get("cache_key"))
            except Exception:
                continue


def _job_id(job_id: Any) -> str:
    if not isinstance(job_id, str) or not job_id or len(job_id) > 64:
        raise InvalidInputError(f"job id: expected a job id string, got {job_id!r:.80}")
    return job_id
