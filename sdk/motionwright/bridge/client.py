"""``motionwright.bridge.Client``: talks protocol v1 to the local render server.

Standard library (``http.client``, ``json``) and numpy only, so the editor, NLE scripts and
pipelines can use it without the server's dependencies. Pixels never travel over HTTP: a frame
request answers with a descriptor of a ``.mwf`` file in the server's data folder, and the client
reads that file directly (see ``docs/bridge.md`` for the layout).

One HTTP connection is kept per thread; a client may be shared between threads.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode, urlsplit

import numpy as np

from .. import errors
from ..progress import ProgressEvent, is_cancelled
from ..service.auth import authorization_header
from ..service.discovery import ServerInfo, read_server_info, resolve_runtime_dir, server_file
from ..service.protocol import PROTOCOL, error_class
from .frames import JobFrames, read_descriptor, to_uint8

FINAL_STATES = ("done", "failed", "cancelled")
_RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Client:
    """A connection to the render server at ``url`` holding its ``token``.

    Usually made by :meth:`find` (the running server) or :meth:`ensure_running` (start one if
    needed). Every method raises the SDK's typed errors: the server's refusals come back as the
    same classes with the same messages (``InvalidInputError``, ``JobNotFoundError``, ...).
    """

    def __init__(self, url: str, token: str, *, timeout: float = 30.0,
                 info: ServerInfo | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise errors.InvalidInputError(f"url: expected http://HOST:PORT, got {url!r}")
        self.url = url
        self.timeout = timeout
        self.info = info or ServerInfo(url=url, token=token, pid=0)
        self._host, self._port = parts.hostname, parts.port
        self._auth = authorization_header(token)
        self._local = threading.local()

    # -- finding and starting the server ----------------------------------------------------

    @classmethod
    def find(cls, runtime_dir: str | os.PathLike | None = None, *,
             timeout: float = 30.0) -> Client:
        """The server named by ``server.json`` in ``runtime_dir`` (default: the user's runtime
        folder), checked to answer and to speak this client's protocol.

        Raises :class:`~motionwright.errors.ServerNotRunningError` when there is no file or it
        is stale (its process is gone or does not answer), and
        :class:`~motionwright.errors.ProtocolMismatchError` for another protocol version.
        """
        from .._persist import pid_alive

        path = server_file(runtime_dir)
        try:
            info = read_server_info(runtime_dir)
        except errors.CorruptFileError as exc:
            raise errors.ServerNotRunningError(str(exc)) from None
        if info is None:
            raise errors.ServerNotRunningError(
                f"no render server is running (no '{path}'); start one with "
                "'motionwright serve --detach' or Client.ensure_running()")
        if not pid_alive(info.pid):
            raise errors.ServerNotRunningError(
                f"stale '{path}': the render server it names (pid {info.pid}) no longer runs; "
                "start one with 'motionwright serve --detach' (it replaces the file)")
        _check_protocol(info.protocol, info.url)
        client = cls(info.url, info.token, timeout=timeout, info=info)
        try:
            health = client.health()
        except errors.ServerNotRunningError as exc:
            raise errors.ServerNotRunningError(
                f"stale '{path}': the render server at {info.url} (pid {info.pid}) does not "
                f"answer ({exc}); stop that process or start a new server") from None
        except errors.AuthenticationError:
            raise errors.ServerNotRunningError(
                f"stale '{path}': the server at {info.url} refuses its token (another program "
                "holds that port?); start a new server with 'motionwright serve --detach'"
            ) from None
        _check_protocol(health.get("protocol"), info.url)
        return client

    @classmethod
    def ensure_running(cls, timeout: float = 30.0, *,
                       runtime_dir: str | os.PathLike | None = None) -> Client:
        """The running server, or a new one started with ``motionwright serve --detach``
        (a background process that outlives this one) when none answers."""
        with contextlib.suppress(errors.ServerNotRunningError):
            return cls.find(runtime_dir)
        env = dict(os.environ)
        if runtime_dir is not None:
            env["MOTIONWRIGHT_RUNTIME_DIR"] = str(resolve_runtime_dir(runtime_dir))
        cmd = [sys.executable, "-m", "motionwright.cli.main", "serve", "--detach",
               "--timeout", str(timeout)]
        try:
            done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            raise errors.ServerNotRunningError(
                f"starting the render server took over {timeout:.0f} s; see its log "
                "(server.log in the data folder)") from None
        if done.returncode != 0:
            raise errors.ServerNotRunningError(
                f"the render server did not start: {done.stderr.strip() or done.stdout.strip()}")
        return cls.find(runtime_dir)

    # -- HTTP --------------------------------------------------------------------------------

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        self._local.conn = conn
        return conn, False

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close this thread's connection (the next call opens a new one)."""
        self._drop_connection()

    def request(self, method: str, path: str, body: Any = None,
                query: dict[str, str] | None = None) -> tuple[int, Any]:
        """Send one request; returns ``(status, decoded JSON or None)`` for a 2xx answer and
        raises the SDK error matching any other."""
        target = path + ("?" + urlencode(query) if query else "")
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            conn, reused = self._connection()
            try:
                conn.request(method, target, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except _RETRYABLE as exc:
                self._drop_connection()
                # The server closes idle kept-alive connections; that one is retried once.
                if reused and attempt == 0:
                    continue
                raise errors.ServerNotRunningError(
                    f"the render server at {self.url} closed the connection ({exc})") from None
            except OSError as exc:
                self._drop_connection()
                raise errors.ServerNotRunningError(
                    f"the render server at {self.url} does not answer ({exc}); is it running? "
                    "'motionwright serve --detach' starts one") from None
        if response.will_close:
            self._drop_connection()
        decoded = None
        if data:
            try:
                decoded = json.loads(data)
            except ValueError:
                decoded = None
        if 200 <= response.status < 300:
            return response.status, decoded
        raise _error_from(response.status, decoded, self.url, method, path)

    # -- jobs -------------------------------------------------------------------------------

    def health(self) -> dict:
        """``{"protocol", "version", "workers", "gpu"}`` of the server."""
        return self.request("GET", "/v1/health")[1]

    def submit(self, request: dict) -> dict:
        """Submit a job request (see :func:`~motionwright.bridge.request_for`); returns its
        job view (state ``"done"`` at once when the cache held the result)."""
        return self.request("POST", "/v1/jobs", body=request)[1]

    def status(self, job_id: str) -> dict:
        """The job view of ``job_id``."""
        return self.request("GET", f"/v1/jobs/{_job_id(job_id)}")[1]

    def jobs(self, state: str | None = None) -> list[dict]:
        """Every job's view, or those in ``state`` (queued, running, done, failed, cancelled)."""
        query = {"state": state} if state is not None else None
        return self.request("GET", "/v1/jobs", query=query)[1]["jobs"]

    def cancel(self, job_id: str) -> dict:
        """Ask the server to cancel ``job_id``; returns its view."""
        return self.request("POST", f"/v1/jobs/{_job_id(job_id)}/cancel")[1]

    def delete(self, job_id: str) -> None:
        """Delete ``job_id`` (cancelled first if it runs) and its results."""
        self.request("DELETE", f"/v1/jobs/{_job_id(job_id)}")

    def wait(self, job_id: str, progress: Callable[[ProgressEvent], None] | None = None,
             cancel: Any = None, poll: float = 0.25, timeout: float | None = None, *,
             previews: bool = False) -> dict:
        """Wait until ``job_id`` is done; returns its final view.

        ``progress`` receives a :class:`~motionwright.progress.ProgressEvent` whenever the
        job's progress changes (with the latest preview frame as ``H×W×3`` uint8 when
        ``previews``). ``cancel`` (CancelToken, Event or callable) cancels the job on the
        server and raises :class:`~motionwright.errors.Cancelled`. A failed job raises its
        error (same class and message as in-process); a cancelled one ``Cancelled``; a job
        still running after ``timeout`` seconds :class:`~motionwright.errors.ServiceError`
        (it goes on in the server). Leaving this call never stops the job.
        """
        started = time.monotonic()
        interval = min(0.01, poll)
        last: tuple | None = None
        last_preview = None
        while True:
            view = self.status(job_id)
            key = (view["state"], json.dumps(view.get("progress"), sort_keys=True))
            if progress is not None and key != last:
                last = key
                image = None
                if previews and view.get("preview") and view["preview"] != last_preview:
                    last_preview = view["preview"]
                    with contextlib.suppress(errors.MotionwrightError, OSError):
                        image = read_descriptor(view["preview"])[..., :3]
                        image = to_uint8(image)
                progress(_progress_event(view, time.monotonic() - started, image))
            state = view["state"]
            if state == "done":
                return view
            if state == "failed":
                raise _job_error(view)
            if state == "cancelled":
                raise errors.Cancelled(f"job {job_id} was cancelled")
            if is_cancelled(cancel):
                self.cancel(job_id)
                raise errors.Cancelled(f"job {job_id} cancelled while waiting for it")
            if timeout is not None and time.monotonic() - started > timeout:
                raise errors.ServiceError(
                    f"job {job_id} is still {state} after {timeout:g} s; it goes on in the "
                    "server: wait for it again, or cancel it")
            time.sleep(interval)
            interval = min(poll, interval * 1.5)

    # -- frames ------------------------------------------------------------------------------

    def frame_descriptor(self, job_id: str, index: int, sample: str | None = "uint8") -> dict:
        """The descriptor of result frame ``index`` (0-based within the job's frames) as
        ``sample`` (uint8, uint16, float32; None: as the job stores it)."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or index < 0:
            raise errors.InvalidInputError(f"index: expected a frame index (0 or more), got "
                                           f"{index!r}")
        query = {"sample": sample} if sample is not None else None
        return self.request("GET", f"/v1/jobs/{_job_id(job_id)}/frames/{int(index)}",
                            query=query)[1]

    def frame(self, job_id: str, index: int, sample: str | None = "uint8", *,
              copy: bool = True, out: np.ndarray | None = None) -> np.ndarray:
        """Result frame ``index`` of ``job_id`` as an ``H×W×4`` RGBA array of ``sample``
        (uint8 0-255, uint16 0-65535, float32 0-1), read from its file. ``copy=False`` maps
        the file instead of reading it (read-only; fastest for large frames); ``out``: an
        ``H×W×4`` C-contiguous array of that sample type to read into (no new allocation, the
        fastest copy when fetching many frames)."""
        return read_descriptor(self.frame_descriptor(job_id, index, sample), copy=copy,
                               out=out)

    def frames(self, job_id: str, start: int = 0, stop: int | None = None,
               sample: str | None = "uint8", *, copy: bool = True, batch: int = 64):
        """Yield result frames ``start..stop-1`` of ``job_id`` (``stop`` None: all) as
        ``H×W×4`` arrays, asking for their descriptors ``batch`` at a time (one round trip per
        batch instead of one per frame)."""
        if stop is None:
            stop = int(self.status(job_id)["frames"])
        if not 0 <= start <= stop:
            raise errors.FrameRangeError(f"start, stop: expected 0 <= start <= stop, got "
                                         f"{start}, {stop}")
        batch = max(1, min(int(batch), 1000))
        for lo in range(start, stop, batch):
            query = {"start": str(lo), "stop": str(min(stop, lo + batch))}
            if sample is not None:
                query["sample"] = sample
            descriptors = self.request("GET", f"/v1/jobs/{_job_id(job_id)}/frames",
                                       query=query)[1]["frames"]
            for descriptor in descriptors:
                yield read_descriptor(descriptor, copy=copy)

    def result_clip(self, job_id: str, *, fps: Any = None, like: Any = None):
        """The finished result of ``job_id`` as a lazy :class:`~motionwright.Clip` (RGB,
        uint8 or uint16 as the job stores it; float32 results become uint16). ``like``: the
        source clip the result replaces frame for frame (its fps, timecode, and audio when
        saved); ``fps``: the rate otherwise (default: the job's, else 24)."""
        from ..clip import Clip

        view = self.status(job_id)
        if view["state"] != "done":
            raise errors.ServiceError(f"job {job_id} is {view['state']}, not done; wait for it "
                                      "first (Client.wait)")
        source = JobFrames(self, job_id, int(view["frames"]), fps=fps or view.get("fps"),
                           like=like)
        return Clip.from_source(source)

    def upload(self, frames: Any, fps: Any) -> dict:
        """Hand frames to the server (``T×H×W×3`` uint8/uint16 array or a Clip): they are
        written as frame files into a folder the server made; returns the source dict for a
        request (``{"upload": id, "fps": "n/d"}``)."""
        from ..service.framefile import frame_name, sample_of, write_frame
        from ..timecode import as_rate

        rate = as_rate(fps, "fps")
        if isinstance(frames, np.ndarray):
            if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
                raise errors.ShapeError(f"frames: expected T×H×W×3 with T >= 1, got "
                                        f"{frames.shape}")
        elif not hasattr(frames, "__iter__"):
            raise errors.InvalidInputError(
                f"frames: expected a T×H×W×3 array or a Clip, got {type(frames).__name__}")
        target = self.request("POST", "/v1/uploads")[1]
        folder = target["path"]
        count = 0
        for i, frame in enumerate(frames):
            frame = np.asarray(frame)
            write_frame(os.path.join(folder, frame_name(i)), frame, sample_of(frame))
            count += 1
        if count == 0:
            raise errors.InvalidInputError("frames: expected at least one frame, got none")
        return {"upload": target["id"], "fps": str(Fraction(rate))}

    def __repr__(self) -> str:
        return f"Client({self.url!r}, pid={self.info.pid})"


def _progress_event(view: dict, elapsed: float, image: Any) -> ProgressEvent:
    p = view.get("progress") or {}
    return ProgressEvent(stage=str(p.get("stage") or view["state"]), done=int(p.get("done", 0)),
                         total=int(p.get("total", 0)), elapsed=elapsed, eta=view.get("eta"),
                         preview=image)


def _job_error(view: dict) -> errors.MotionwrightError:
    error = view.get("error") or {}
    cls = error_class(str(error.get("error", "")), 409)
    message = error.get("message") or f"job {view['id']} failed"
    return cls(message)


def _error_from(status: int, body: Any, url: str, method: str, path: str) -> Exception:
    if status == 401:
        return errors.AuthenticationError(
            f"the render server at {url} refused the token (401); its server.json is from "
            "another start of the server: find it again with Client.find()")
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return error_class(str(body.get("error", "")), status)(body["message"])
    return error_class("", status)(f"{method} {path}: the server answered {status}")


def _check_protocol(protocol: Any, url: str) -> None:
    if protocol != PROTOCOL:
        raise errors.ProtocolMismatchError(
            f"the render server at {url} speaks protocol {protocol}, this client protocol "
            f"{PROTOCOL}; install the same Motionwright version for both (pip install -U "
            "motionwright) and restart the server")


def _job_id(job_id: Any) -> str:
    if not isinstance(job_id, str) or not job_id or not all(
            c.isalnum() or c in "-_" for c in job_id) or len(job_id) > 64:
        raise errors.InvalidInputError(f"job_id: expected a job id (letters, digits, - or _), "
                                       f"got {job_id!r:.80}")
    return job_id
