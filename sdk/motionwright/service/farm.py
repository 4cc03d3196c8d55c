"""Rendering a job's chunks on a Ray cluster: :class:`RayExecutor`.

It has the executor protocol of :class:`motionwright.service.executor.LocalExecutor`
(``submit(request, start, stop, progress, cancel) -> Future``, ``close()``), so the
:class:`~motionwright.service.Service` (``motionwright serve --ray``) and ``motionwright render
--ray`` keep their cache, resume and output rules and only the place chunks run changes:

- preview chunks are Ray tasks (one CPU each), spread over the cluster;
- diffusion chunks go to long-lived Ray *actors*, one per GPU of the cluster (``num_gpus=1``),
  or CPU actors when the cluster has no GPU. An actor keeps the models of the last family it
  rendered loaded, and chunks of a family are sent to an actor that already holds it, so a
  project's windows do not reload their model.

Every chunk runs :func:`motionwright.service.chunks.render_chunk`, the function the local
executor runs, so a farm render equals a local one. Ray is optional (the ``farm`` extra):
importing this module needs no Ray; creating an executor without it raises
:class:`~motionwright.errors.MissingExtraError` naming the extra.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..errors import Cancelled, InvalidInputError, MissingExtraError, MotionwrightError
from ..progress import is_cancelled

FARM_EXTRA = "pip install 'motionwright[farm]'"
LOCAL_ADDRESSES = ("local", "auto")
_POLL = 0.05  # seconds between checks of finished chunks and cancel requests


class FarmConnectionError(MotionwrightError, ConnectionError):
    """The Ray cluster named by ``--ray`` could not be reached."""


def import_ray() -> Any:
    """The ``ray`` module; :class:`MissingExtraError` naming the ``farm`` extra when absent."""
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError(
            f"--ray: rendering on a Ray cluster needs Ray, which is not installed ({exc}); "
            f"install the farm extra: {FARM_EXTRA}"
        ) from exc
    return ray


def check_address(address: Any) -> str:
    """``address`` checked: ``"local"`` (start a Ray instance in this process), ``"auto"``
    (join the cluster this machine belongs to, else start a local one) or a cluster address
    such as ``"ray://head:10001"`` or ``"10.0.0.5:6379"``."""
    if not isinstance(address, str) or not address.strip() or any(c.isspace() for c in address):
        raise InvalidInputError(
            f"--ray: expected 'local', 'auto' or a cluster address such as ray://HOST:10001, "
            f"got {address!r}"
        )
    return address


def connect(address: str = "local", *, num_cpus: int | None = None) -> Any:
    """Join (or start) the Ray cluster at ``address`` (see :func:`check_address`) unless this
    process already did; returns the ``ray`` module. ``num_cpus`` limits a started local
    instance. A cluster that cannot be reached raises :class:`FarmConnectionError`."""
    address = check_address(address)
    ray = import_ray()
    if ray.is_initialized():
        return ray
    options = {"include_dashboard": False, "configure_logging": False,
               "log_to_driver": False}
    try:
        if address == "local":
            ray.init(num_cpus=num_cpus, **options)
        elif address == "auto":
            try:
                ray.init(address="auto", **options)
            except ConnectionError:
                ray.init(num_cpus=num_cpus, **options)
        else:
            ray.init(address=address, **options)
    except ConnectionError as exc:
        raise FarmConnectionError(
            f"--ray: cannot reach the Ray cluster at {address!r} ({exc}); start it with "
            f"'ray start --head' or give its address, or use 'local'"
        ) from exc
    return ray


def _render_chunk(request: Any, start: int, stop: int, models: Any = None) -> Any:
    """Render frames ``[start, stop)`` of ``request`` with the service's own chunk function."""
    from .chunks import render_chunk

    return render_chunk(request, start, stop, models=models)


def _family_key(request: Any) -> str:
    """Which loaded models a diffusion chunk needs: its model families and the model paths
    asked for (chunks with the same key reuse an actor's loaded models)."""
    from ..methods.backend import required_families

    try:
        families = ",".join(required_families(list(request.edit_objects())))
    except MotionwrightError:  # the chunk itself reports what is wrong with the edits
        families = "?"
    return f"{families}|{json.dumps(request.models, sort_keys=True)}"


class ModelWorker:
    """A Ray actor's state: renders diffusion chunks keeping the models of the last family
    (and model paths) it rendered loaded, releasing them when a chunk needs another."""

    def __init__(self, threads: int | None = None) -> None:
        if threads is not None:  # CPU float sums depend on the thread count (see RayExecutor)
            import torch

            torch.set_num_threads(threads)
        self.key: str | None = None
        self.models: Any = None
        self.loads = 0

    def render(self, request: Any, start: int, stop: int, key: str) -> Any:
        """Frames ``[start, stop)`` of ``request`` as a ``T×H×W×3`` array. Running out of
        accelerator memory fails the chunk with the memory policy's advice (as in the local
        executor) and frees what it can; the actor goes on with the next chunk."""
        from ..models import Models
        from .executor import render_naming_oom

        if key != self.key:
            if self.models is not None:
                self.models.release()
            self.models, self.key = Models(request.models), key
            self.loads += 1
        return render_naming_oom(_render_chunk, request, start, stop, models=self.models)

    def stats(self) -> dict:
        """``{"key": loaded models' key or None, "loads": times models were (re)loaded}``."""
        return {"key": self.key, "loads": self.loads}


@dataclass
class _Actor:
    handle: Any
    key: str | None = None
    busy: int = 0


@dataclass
class _Pending:
    ref: Any
    future: Future
    start: int
    stop: int
    progress: Callable | None
    cancel: Any
    actor: _Actor | None = None
    cancelled: bool = field(default=False)


class RayExecutor:
    """Runs chunks on the Ray cluster at ``address`` (see :func:`connect`).

    ``gpu`` forces (True) or forbids (False) GPU actors; by default they are used when the
    cluster has GPUs, one actor per GPU. ``actors`` sets the number of diffusion actors
    (default: the cluster's GPU count, or 1 CPU actor without GPUs). ``threads`` sets the
    torch CPU threads of each actor (default: Ray's, one per CPU it holds): a model run on the
    CPU adds its floats in an order that depends on the thread count, so a CPU render equals a
    local one bit for bit only with the local thread count. ``num_cpus`` limits a local
    instance this executor starts.
    """

    def __init__(self, address: str = "local", *, gpu: bool | None = None,
                 actors: int | None = None, threads: int | None = None,
                 num_cpus: int | None = None) -> None:
        for name, value in (("actors", actors), ("threads", threads), ("num_cpus", num_cpus)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise InvalidInputError(f"{name}: expected a whole number >= 1, got {value!r}")
        started_here = not import_ray().is_initialized()
        self._ray = ray = connect(address, num_cpus=num_cpus)
        # A Ray instance this executor started (address 'local'/'auto') stops with it.
        self._owns_ray = started_here and address in LOCAL_ADDRESSES
        gpus = int(ray.cluster_resources().get("GPU", 0))
        self.gpu = gpus > 0 if gpu is None else bool(gpu)
        self.threads = threads
        self.actors_wanted = actors or (max(gpus, 1) if self.gpu else 1)
        # How many chunks the scheduler keeps in flight scales with this (the cluster's CPUs).
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # Jobs worth running at once per scheduler lane: one diffusion job per actor (GPU),
        # two preview jobs (their frames already spread over the cluster).
        self.lanes = {"cpu": 2, "gpu": self.actors_wanted}
        self.address = address
        self._task = ray.remote(num_cpus=1)(_render_chunk)
        self._actor_class = ray.remote(num_gpus=1 if self.gpu else 0, num_cpus=1)(ModelWorker)
        self._actors: list[_Actor] = []
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._closed = False
        self._wake = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="mw-ray-watch")
        self._watcher.start()

    def submit(self, request: Any, start: int, stop: int, progress: Callable | None = None,
               cancel: Any = None) -> Future:
        """Queue frames ``[start, stop)`` of ``request`` (a parsed job request) on the
        cluster; the future resolves to a ``T×H×W×3`` array or raises the chunk's error
        (:class:`~motionwright.errors.Cancelled` once ``cancel`` is set). Progress is the
        service's per finished chunk: ``progress`` gets no step events from the cluster."""
        future: Future = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                raise MotionwrightError("the Ray executor is closed; start a new one")
            actor = None
            if request.backend == "preview":
                ref = self._task.remote(request, start, stop)
            else:
                key = _family_key(request)
                actor = self._actor_for(key)
                actor.key, actor.busy = key, actor.busy + 1
                ref = actor.handle.render.remote(request, start, stop, key)
            self._pending.append(_Pending(ref, future, start, stop, progress, cancel, actor))
        self._wake.set()
        return future

    def _actor_for(self, key: str) -> _Actor:
        """An actor for models ``key``: the least busy holding it, else a new one while
        fewer than wanted exist, else the least busy (it reloads)."""
        holding = [a for a in self._actors if a.key == key]
        if holding:
            return min(holding, key=lambda a: a.busy)
        if len(self._actors) < self.actors_wanted:
            actor = _Actor(self._actor_class.remote(self.threads))
            self._actors.append(actor)
            return actor
        return min(self._actors, key=lambda a: a.busy)

    def actor_stats(self) -> list[dict]:
        """Each diffusion actor's :meth:`ModelWorker.stats` (for tests and diagnostics)."""
        return self._ray.get([a.handle.stats.remote() for a in self._actors])

    def _watch(self) -> None:
        """Resolve the futures of finished chunks and pass cancel requests on to Ray."""
        while True:
            with self._lock:
                pending = list(self._pending)
                closed = self._closed
            if closed and not pending:
                return
            if not pending:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._check(pending)
            except Exception as exc:  # never leave the scheduler waiting on a lost future
                for item in pending:
                    self._finish(item, exc)

    def _check(self, pending: list[_Pending]) -> None:
        ray = self._ray
        for item in pending:
            if not item.cancelled and is_cancelled(item.cancel):
                item.cancelled = True
                _cancel(ray, item.ref)
        ready, _ = ray.wait([p.ref for p in pending], num_returns=len(pending), timeout=_POLL)
        done = {ref.hex() for ref in ready}
        for item in pending:
            # A cancelled task ends now; a cancelled actor chunk once its actor lets it go.
            if item.ref.hex() in done or (item.cancelled and item.actor is None):
                self._finish(item)

    def _finish(self, item: _Pending, error: Exception | None = None) -> None:
        import numpy as np

        ray = self._ray
        with self._lock:
            if item not in self._pending:
                return
            self._pending.remove(item)
            if item.actor is not None:
                item.actor.busy -= 1
        if error is not None:
            item.future.set_exception(error)
            return
        if item.cancelled:
            item.future.set_exception(Cancelled("the render was cancelled"))
            return
        try:
            frames = np.array(ray.get(item.ref))  # a writable copy, out of the object store
        except Exception as exc:
            item.future.set_exception(_unwrap(exc))
            return
        item.future.set_result(frames)

    def close(self) -> None:
        """Cancel what has not finished, stop the actors; the cluster itself stays up."""
        with self._lock:
            self._closed = True
            pending, actors = list(self._pending), list(self._actors)
            self._actors.clear()
        for item in pending:
            item.cancelled = True
            _cancel(self._ray, item.ref)
        self._wake.set()
        self._watcher.join(timeout=10)
        for actor in actors:
            self._ray.kill(actor.handle)
        if self._owns_ray:
            self._ray.shutdown()


def _cancel(ray: Any, ref: Any) -> None:
    """Ask Ray to stop the task behind ``ref`` (one that already ended needs nothing)."""
    try:
        ray.cancel(ref, force=False)
    except Exception:  # finished, or an actor that cannot interrupt: its result is dropped
        pass


def _unwrap(exc: Exception) -> Exception:
    """The chunk's own error from a Ray task error (so a job fails with the SDK's message)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, Exception):
        return cause
    return exc
