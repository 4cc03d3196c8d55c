"""The local render service: one process owns the GPU, queues, caches and resumes renders.

- :mod:`.paths` — where the service keeps its data (jobs, results, cache) and runtime files;
- :mod:`.request` — parsing and validating a job request (the dict a client submits);
- :mod:`.framefile` — the ``.mwf`` frame file a C client can read;
- :mod:`.store` — the SQLite job store; :mod:`.cache` — the content-addressed result cache;
- :mod:`.chunks` — splitting a render into chunks and rendering one chunk;
- :mod:`.executor` — where chunks run (CPU threads, one GPU thread);
- :mod:`.scheduler` — running jobs chunk by chunk, recording each finished chunk;
- :mod:`.service` — :class:`Service`, the thread-safe facade the HTTP server and tests use.

Importing this package is cheap; ``Service`` resolves on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JobRequest", "Service", "parse_request"]


def __getattr__(name: str) -> Any:
    if name == "Service":
        from .service import Service

        return Service
    if name in ("parse_request", "JobRequest"):
        from . import request

        return getattr(request, name)
    raise AttributeError(f"module 'motionwright.service' has no attribute {name!r}")
