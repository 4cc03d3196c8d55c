"""The render server's HTTP protocol (v1): an aiohttp application over a :class:`Service`.

Every route needs the token (``Authorization: Bearer <token>``); anything else gets 401
``{"error": "unauthorized"}`` and nothing more, whatever was asked. Bodies are JSON; errors are
``{"error": kind, "message": the SDK's message}`` with the status of :func:`error_status`. The
service's calls block (SQLite, files), so they run on worker threads and the event loop keeps
answering other clients. The routes are described in ``docs/bridge.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import __version__
from ..errors import (
    CorruptFileError,
    FrameNotReadyError,
    InvalidInputError,
    JobNotFoundError,
    LimitExceededError,
    MotionwrightError,
    ServiceError,
)
from .auth import is_authorized
from .protocol import PROTOCOL, error_kind

log = logging.getLogger("motionwright.service")

MAX_BODY_BYTES = 32 * 1024 * 1024  # a request with masks as PNG stays far below this
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
SAMPLES = ("uint8", "uint16", "float32")
_UNAUTHORIZED = {"error": "unauthorized"}
_SERVICE_KEY: web.AppKey[Any] = web.AppKey("service", object)
_TOKEN_KEY: web.AppKey[str] = web.AppKey("token", str)
_LIMIT_KEY: web.AppKey[int] = web.AppKey("max_body", int)


def error_status(exc: BaseException) -> int:
    """The HTTP status for an error raised while serving a request: 404 unknown job, 409 not
    ready / not possible in the job's state, 413 too large, 400 any other refusal of the SDK,
    500 anything else (a bug)."""
    if isinstance(exc, JobNotFoundError):
        return 404
    if isinstance(exc, FrameNotReadyError | ServiceError):
        return 409
    if isinstance(exc, MotionwrightError):
        return 400
    return 500


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"error": kind, "message": message}, status=status)


@web.middleware
async def _guard(request: web.Request,
                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Token check first, then every failure becomes a JSON error; the server goes on."""
    if not is_authorized(request.headers.get("Authorization"), request.app[_TOKEN_KEY]):
        return web.json_response(_UNAUTHORIZED, status=401)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[_LIMIT_KEY]
        return _error(413, "too_large", f"request body: larger than the limit of {limit} "
                      "bytes; send frames as an upload, not inside the JSON")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "invalid")
        return _error(exc.status, kind, f"{request.method} {request.path}: {exc.reason}; "
                      "see docs/bridge.md for the routes of protocol v1")
    except MotionwrightError as exc:
        return _error(error_status(exc), error_kind(exc), str(exc))
    except Exception as exc:  # a bug: log it, answer 500, keep serving
        log.exception("internal error serving %s %s", request.method, request.path)
        return _error(500, "internal", f"internal error ({type(exc).__name__}); the server "
                      "log has the details")


async def _call(request: web.Request, method: str, *args: Any) -> Any:
    """Run ``service.<method>(*args)`` on a worker thread."""
    return await asyncio.to_thread(getattr(request.app[_SERVICE_KEY], method), *args)


async def _json_body(request: web.Request) -> Any:
    from .._safejson import parse

    limit = request.app[_LIMIT_KEY]
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit,
                                            actual_size=request.content_length)
    raw = await request.read()
    if not raw:
        raise InvalidInputError("request body: expected a JSON object, got an empty body")
    try:
        return parse(raw, "", "request body")
    except LimitExceededError:
        raise
    except CorruptFileError as exc:
        raise InvalidInputError(str(exc)) from None


def _query(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise InvalidInputError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    unknown = sorted(set(request.query) - {name})
    if unknown:
        raise InvalidInputError(f"query: unknown parameter(s) {', '.join(unknown)}; expected "
                                f"only {name}")
    return value


async def health(request: web.Request) -> web.Response:
    """``GET /v1/health``: protocol and version, worker count, GPU."""
    info = dict(await _call(request, "health"))
    info["protocol"] = PROTOCOL
    info.setdefault("version", __version__)
    return web.json_response(info)


async def submit(request: web.Request) -> web.Response:
    """``POST /v1/jobs``: 201 with the queued job, 200 when it was already done (cached)."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise InvalidInputError(
            f"request body: expected a JSON object (a job request), got {type(body).__name__}")
    view = await _call(request, "submit", body)
    status = 200 if view.get("state") == "done" else 201
    return web.json_response(view, status=status)


async def list_jobs(request: web.Request) -> web.Response:
    """``GET /v1/jobs[?state=...]``."""
    state = _query(request, "state", JOB_STATES)
    return web.json_response({"jobs": await _call(request, "jobs", state)})


async def job(request: web.Request) -> web.Response:
    """``GET /v1/jobs/{id}``."""
    return web.json_response(await _call(request, "job", request.match_info["id"]))


async def cancel(request: web.Request) -> web.Response:
    """``POST /v1/jobs/{id}/cancel``."""
    return web.json_response(await _call(request, "cancel", request.match_info["id"]))


async def delete(request: web.Request) -> web.Response:
    """``DELETE /v1/jobs/{id}``: 204."""
    await _call(request, "delete", request.match_info["id"])
    return web.Response(status=204)


async def frame(request: web.Request) -> web.Response:
    """``GET /v1/jobs/{id}/frames/{index}[?sample=...]``: the frame file's descriptor."""
    text = request.match_info["index"]
    if not text.isdigit() or len(text) > 9:
        raise InvalidInputError(f"index: expected a frame index (0 or more), got {text!r}")
    sample = _query(request, "sample", SAMPLES)
    return web.json_response(
        await _call(request, "frame", request.match_info["id"], int(text), sample))


MAX_FRAMES_PER_CALL = 1000


async def frame_range(request: web.Request) -> web.Response:
    """``GET /v1/jobs/{id}/frames?start=A&stop=B[&sample=...]``: ``{"frames": [descriptor,
    ...]}`` for frames ``A..B-1`` (at most 1000 per call), in one round trip."""
    unknown = sorted(set(request.query) - {"start", "stop", "sample"})
    if unknown:
        raise InvalidInputError(f"query: unknown parameter(s) {', '.join(unknown)}; expected "
                                "start, stop and sample")
    bounds = []
    for name in ("start", "stop"):
        text = request.query.get(name, "")
        if not text.isdigit() or len(text) > 9:
            raise InvalidInputError(f"{name}: expected a frame index (0 or more), got {text!r}")
        bounds.append(int(text))
    start, stop = bounds
    if not start < stop <= start + MAX_FRAMES_PER_CALL:
        raise InvalidInputError(f"stop: expected above start ({start}) and at most "
                                f"{MAX_FRAMES_PER_CALL} frames after it, got {stop}")
    sample = request.query.get("sample")
    if sample is not None and sample not in SAMPLES:
        raise InvalidInputError(f"sample: expected one of {', '.join(SAMPLES)}, got {sample!r}")
    service, job_id = request.app[_SERVICE_KEY], request.match_info["id"]

    def describe() -> list[dict]:
        return [service.frame(job_id, i, sample) for i in range(start, stop)]

    return web.json_response({"frames": await asyncio.to_thread(describe)})


async def new_upload(request: web.Request) -> web.Response:
    """``POST /v1/uploads``: a folder for the client's frame files."""
    return web.json_response(await _call(request, "new_upload"), status=201)


async def cache_info(request: web.Request) -> web.Response:
    """``GET /v1/cache``."""
    return web.json_response(await _call(request, "cache_info"))


async def cache_clear(request: web.Request) -> web.Response:
    """``DELETE /v1/cache``: clears it; answers the same fields as ``GET``."""
    return web.json_response(await _call(request, "cache_clear"))


def make_app(service: Any, token: str, *, max_body: int = MAX_BODY_BYTES) -> web.Application:
    """The aiohttp application serving protocol v1 over ``service`` (a
    :class:`~motionwright.service.Service`, already started) for clients holding ``token``."""
    app = web.Application(middlewares=[_guard], client_max_size=max_body)
    app[_SERVICE_KEY] = service
    app[_TOKEN_KEY] = token
    app[_LIMIT_KEY] = max_body
    app.router.add_get("/v1/health", health)
    app.router.add_post("/v1/jobs", submit)
    app.router.add_get("/v1/jobs", list_jobs)
    app.router.add_get("/v1/jobs/{id}", job)
    app.router.add_post("/v1/jobs/{id}/cancel", cancel)
    app.router.add_delete("/v1/jobs/{id}", delete)
    app.router.add_get("/v1/jobs/{id}/frames", frame_range)
    app.router.add_get("/v1/jobs/{id}/frames/{index}", frame)
    app.router.add_post("/v1/uploads", new_upload)
    app.router.add_get("/v1/cache", cache_info)
    app.router.add_delete("/v1/cache", cache_clear)
    return app

