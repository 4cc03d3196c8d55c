"""Running the render server: in the foreground, detached, or on a thread (tests, tools).

:func:`serve` runs it until Ctrl-C or SIGTERM: then ``server.json`` is removed first (no new
client finds it), the listener closes, and the service drains (the running chunk finishes or
is left to resume; queued jobs stay queued for the next start). :func:`detach` starts
``motionwright serve`` in a new session, logging to ``<data dir>/server.log``, and returns once
it answers. Only loopback addresses are served (:func:`check_host`): the protocol has no
transport security, the token only keeps other local users out. One server per runtime
folder: a lock file held while it runs refuses a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InvalidInputError, ServerNotRunningError, ServiceError
from .auth import new_token
from .discovery import (
    LOCK_NAME,
    ServerInfo,
    read_server_info,
    remove_server_info,
    resolve_runtime_dir,
    write_server_info,
)

LOOPBACK_HOSTS = ("127.0.0.1", "::1")
LOG_NAME = "server.log"
HANDLER_THREADS = 32


def check_host(host: str) -> str:
    """``host`` if it is a loopback address (``localhost`` means 127.0.0.1); anything else
    raises :class:`~motionwright.errors.InvalidInputError` saying why."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise InvalidInputError(
            f"--host: {host!r} is not a loopback address; the render server only listens on "
            f"{' or '.join(LOOPBACK_HOSTS)} (its protocol has no transport security; reach a "
            "remote machine through an SSH tunnel, or use a render farm with --ray)"
        )
    return str(address)


def check_port(port: int) -> int:
    """``port`` if it is 0 (any free port) to 65535."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidInputError(f"--port: expected 0 (any free port) to 65535, got {port!r}")
    return port


def url_for(host: str, port: int) -> str:
    """``http://HOST:PORT`` with an IPv6 host in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def _single_server_lock(runtime_dir: Path) -> Iterator[None]:
    """Hold ``server.lock`` in ``runtime_dir`` while serving; a second server is refused."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, server.json alone
        yield
        return
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(runtime_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = None
            with contextlib.suppress(Exception):
                info = read_server_info(runtime_dir)
            where = f" at {info.url} (pid {info.pid})" if info else ""
            raise ServiceError(
                f"a render server already runs{where} for runtime folder '{runtime_dir}'; use "
                "it, or stop it first (motionwright jobs list shows its jobs)"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


async def _listen(app: Any, host: str, port: int) -> tuple[Any, str]:
    """Start serving ``app`` on ``host:port``; returns the runner and the URL (actual port)."""
    from concurrent.futures import ThreadPoolExecutor

    from aiohttp import web

    # The service's calls run on these threads; some wait (a cancel waits for the running
    # chunk), so there are more of them than the default's CPU count + 4.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=HANDLER_THREADS, thread_name_prefix="motionwright-http"))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ServiceError(
            f"--port: cannot listen on {url_for(host, port)} ({exc.strerror or exc}); choose "
            "another port, or 0 for any free one"
        ) from None
    return runner, url_for(host, runner.addresses[0][1])


def _make_service(data_dir: Any, workers: int, cache_max_bytes: int | None,
                  ray: str | None, **options: Any) -> Any:
    from .service import Service

    executor = None
    if ray is not None:
        from .farm import RayExecutor  # the 'farm' extra

        executor = RayExecutor(ray)
    return Service(data_dir, workers=workers, cache_max_bytes=cache_max_bytes,
                   executor=executor, **options)


def serve(*, host: str = "127.0.0.1", port: int = 0, workers: int = 2,
          cache_max_bytes: int | None = None, ray: str | None = None,
          runtime_dir: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
          recover: bool = False, allowed_output_roots: tuple | list = (),
          announce: Callable[[str], None] | None = None,
          stop: threading.Event | None = None) -> int:
    """Serve in the foreground until SIGINT/SIGTERM (or ``stop`` is set, from another thread);
    returns 0 after a clean stop. ``announce`` receives one line when the server answers and
    one when it stopped (default: printed).
    ``recover`` moves an unreadable job database aside (see :class:`~.store.JobStore`);
    ``allowed_output_roots``: further folders requests may write output files in."""
    host, port = check_host(host), check_port(port)
    rdir = resolve_runtime_dir(runtime_dir)
    if announce is None:
        def announce(line: str) -> None:  # flushed: a detached server's stdout is its log
            print(line, flush=True)

    with _single_server_lock(rdir):
        service = _make_service(data_dir, workers, cache_max_bytes, ray, recover=recover,
                                allowed_output_roots=tuple(allowed_output_roots))
        service.start()
        try:
            asyncio.run(_serve_until_stopped(service, host, port, rdir, announce, stop))
        finally:
            service.stop(drain=True)
    announce("render server stopped")
    return 0


async def _serve_until_stopped(service: Any, host: str, port: int, rdir: Path,
                               announce: Callable[[str], None],
                               stop: threading.Event | None) -> None:
    from .app import make_app

    token = new_token()
    runner, url = await _listen(make_app(service, token), host, port)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
    if stop is not None:
        threading.Thread(target=lambda: (stop.wait(), loop.call_soon_threadsafe(stopping.set)),
                         daemon=True).start()
    try:
        path = write_server_info(ServerInfo(url=url, token=token, pid=os.getpid(),
                                            version=__version__), rdir)
        announce(f"render server at {url} (pid {os.getpid()}); clients find it through "
                 f"{path}; Ctrl-C stops it")
        await stopping.wait()
        announce("stopping: running chunks finish, queued jobs stay queued for the next start")
    finally:
        remove_server_info(token, rdir)
        await runner.cleanup()


class BackgroundServer:
    """The HTTP server over an already started ``service``, on a thread of its own (tests,
    benchmarks, an application embedding the service). It writes ``server.json`` only when
    given a ``runtime_dir``. Use as a context manager, or call :meth:`start` and :meth:`stop`;
    the service's own life stays the caller's."""

    def __init__(self, service: Any, *, host: str = "127.0.0.1", port: int = 0,
                 runtime_dir: str | os.PathLike | None = None,
                 max_body: int | None = None) -> None:
        self.service = service
        self.host, self.port = check_host(host), check_port(port)
        self.runtime_dir = Path(runtime_dir) if runtime_dir is not None else None
        self.max_body = max_body
        self.token = new_token()
        self.url = ""
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundServer:
        """Start listening; returns once the server answers (``url`` is then set)."""
        self._thread = threading.Thread(target=self._run, name="motionwright-http", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        from .app import MAX_BODY_BYTES, make_app

        app = make_app(self.service, self.token, max_body=self.max_body or MAX_BODY_BYTES)
        runner, self.url = await _listen(app, self.host, self.port)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        threading.Thread(target=lambda: (self._stop.wait(),
                                         loop.call_soon_threadsafe(stopping.set)),
                         daemon=True).start()
        try:
            if self.runtime_dir is not None:
                write_server_info(ServerInfo(url=self.url, token=self.token, pid=os.getpid(),
                                             version=__version__), self.runtime_dir)
            self._ready.set()
            await stopping.wait()
        finally:
            if self.runtime_dir is not None:
                remove_server_info(self.token, self.runtime_dir)
            await runner.cleanup()

    def stop(self) -> None:
        """Stop listening (and remove ``server.json`` if this server wrote it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def log_path(data_dir: str | os.PathLike | None = None) -> Path:
    """``<data dir>/server.log``, where a detached server writes."""
    if data_dir is None:
        from .paths import data_dir as default_data_dir

        data_dir = default_data_dir()
    return Path(data_dir) / LOG_NAME


def detach(serve_args: list[str], *, runtime_dir: str | os.PathLike | None = None,
           data_dir: str | os.PathLike | None = None, timeout: float = 30.0) -> ServerInfo:
    """Start ``motionwright serve *serve_args`` in a new session (it outlives this process),
    logging to ``<data dir>/server.log``; returns the server's info once it answers health.

    A server that already answers is returned as it is. Raises
    :class:`~motionwright.errors.ServiceError` with the log's last lines when it fails.
    """
    from ..bridge.client import Client

    with contextlib.suppress(ServerNotRunningError):
        return Client.find(runtime_dir).info
    log = log_path(data_dir)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if runtime_dir is not None:
        env["MOTIONWRIGHT_RUNTIME_DIR"] = str(runtime_dir)
    if data_dir is not None:
        env["MOTIONWRIGHT_DATA_DIR"] = str(data_dir)
    cmd = [sys.executable, "-m", "motionwright.cli.main", "serve", *serve_args]
    with open(log, "ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: serve "
                  f"{' '.join(serve_args)}\n".encode())
        out.flush()
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                   close_fds=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Client.find(runtime_dir).info
        except ServerNotRunningError:
            pass
        code = process.poll()
        if code is not None:
            # A second server exits at once when another won the race; that one answers.
            with contextlib.suppress(ServerNotRunningError):
                return Client.find(runtime_dir).info
            raise ServiceError(f"the render server exited (status {code}) before answering; "
                               f"the end of its log '{log}':\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise ServiceError(f"the render server did not answer within {timeout:.0f} s "
                               f"(pid {process.pid}); see its log '{log}':\n{_tail(log)}")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])
