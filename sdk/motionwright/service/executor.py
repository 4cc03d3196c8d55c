"""Where chunks run: the executor protocol and the in-process :class:`LocalExecutor`.

An executor has ``submit(request, start, stop, progress, cancel) -> Future`` (the future's
result is the chunk's ``(T, H, W, 3)`` frames) and ``close()``. The local one runs preview
chunks on ``workers`` CPU threads, and diffusion chunks one at a time on a single GPU thread
that keeps a :class:`motionwright.models.Models` loaded between jobs asking for the same
models, so a queue of jobs of one family loads its weights once. An accelerator running out
of memory fails that chunk with :class:`~motionwright.models.OutOfMemoryError` and the policy
advice; the GPU thread goes on with the next job.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from ..errors import InvalidInputError


class Executor(Protocol):
    """What the scheduler needs from an executor (local threads, a Ray cluster, ...)."""

    def submit(self, request: Any, start: int, stop: int, progress: Any,
               cancel: Any) -> Future: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Preview chunks on ``workers`` CPU threads; diffusion chunks on one GPU thread.

    ``render`` replaces :func:`~motionwright.service.chunks.render_chunk` (same signature),
    e.g. to observe or slow down rendering in tests and benchmarks.
    """

    def __init__(self, workers: int = 2, *, render: Callable | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidInputError(f"workers: expected a positive integer, got {workers!r}")
        self.workers = workers
        if render is None:
            from .chunks import render_chunk as render
        self._render = render
        self._cpu = ThreadPoolExecutor(workers, thread_name_prefix="mw-cpu")
        self._gpu = ThreadPoolExecutor(1, thread_name_prefix="mw-gpu")
        self._models: Any = None
        self._models_key: str | None = None
        self._lock = threading.Lock()

    def submit(self, request: Any, start: int, stop: int, progress: Any = None,
               cancel: Any = None) -> Future:
        """Render chunk ``[start, stop)`` of ``request``; returns a Future of its frames."""
        if request.backend == "diffusion":
            return self._gpu.submit(self._run_gpu, request, start, stop, progress, cancel)
        return self._cpu.submit(self._render, request, start, stop, progress=progress,
                                cancel=cancel)

    def models_for(self, request: Any):
        """The Models holder for ``request``'s models, kept while requests ask for the same
        ones (a different set releases the previous one first, freeing its memory)."""
        from ..models.loading import Models

        key = json.dumps(request.models, sort_keys=True)
        with self._lock:
            if self._models is None or key != self._models_key:
                if self._models is not None:
                    self._models.release()
                self._models = Models(request.models)
                self._models_key = key
            return self._models

    def _run_gpu(self, request: Any, start: int, stop: int, progress: Any, cancel: Any):
        holder = self.models_for(request)
        return render_naming_oom(self._render, request, start, stop, models=holder,
                                 progress=progress, cancel=cancel)

    def close(self) -> None:
        """Stop the threads (queued chunks are dropped) and release loaded models."""
        self._cpu.shutdown(wait=True, cancel_futures=True)
        self._gpu.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            if self._models is not None:
                self._models.release()
                self._models = None


def render_naming_oom(render: Callable, request: Any, start: int, stop: int, *, models: Any,
                      **kwargs: Any) -> Any:
    """``render(request, start, stop, models=models, **kwargs)``; running out of accelerator
    memory frees what it can and fails with :class:`~motionwright.models.errors.
    OutOfMemoryError` carrying the memory policy's advice, so the caller goes on."""
    from ..models.errors import OutOfMemoryError
    from ..models.oom import is_out_of_memory

    try:
        return render(request, start, stop, models=models, **kwargs)
    except OutOfMemoryError:
        _empty_accelerator_cache()
        raise
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        _empty_accelerator_cache()
        raise OutOfMemoryError(_oom_text(models, exc)) from exc


def _oom_text(holder: Any, exc: BaseException) -> str:
    from ..models.memory import POLICIES, get_policy
    from ..models.oom import oom_message

    policy = holder.memory if holder.memory != "auto" else get_policy(next(iter(POLICIES)))
    device = holder.device if holder.device != "auto" else "the accelerator"
    return oom_message("rendering", policy, device)


def _empty_accelerator_cache() -> None:
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # freeing memory must never hide the error being reported
        pass


def gpu_name() -> str | None:
    """``"cuda:0"`` when this process can render on a CUDA device, else None.

    Cheap: torch is asked only when it is imported already; otherwise a CUDA driver (its
    ``/proc`` entry) and an installed torch are taken as the answer.
    """
    import importlib.util
    import os
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            return "cuda:0" if torch.cuda.is_available() else None
        except Exception:  # a broken CUDA set-up renders on the CPU
            return None
    if importlib.util.find_spec("torch") is None:
        return None
    return "cuda:0" if os.path.isdir("/proc/driver/nvidia/gpus") else None
