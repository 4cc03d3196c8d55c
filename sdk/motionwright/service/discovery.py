"""``server.json``: how clients find the running render server and its token.

The server writes ``<runtime dir>/server.json`` (see :func:`motionwright.service.paths.
runtime_dir`) when it starts and removes it when it stops::

    {"schema": "ServerInfo.1", "url": "http://127.0.0.1:PORT", "token": "<64 hex chars>",
     "pid": 1234, "protocol": 1, "version": "0.1.0"}

The file is private (mode 0600: the token is the only thing between another local user and the
GPU) and written atomically. Only the standard library is used, so the client can read it
without the server's dependencies.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import CorruptFileError
from .protocol import PROTOCOL

SCHEMA = "ServerInfo.1"
FILE_NAME = "server.json"
LOCK_NAME = "server.lock"
_MAX_BYTES = 4096


@dataclass(frozen=True)
class ServerInfo:
    """What a client needs to talk to the server: its ``url`` (loopback), its ``token`` (64
    hex characters), its process id and the protocol and Motionwright versions it speaks."""

    url: str
    token: str
    pid: int
    protocol: int = PROTOCOL
    version: str = ""

    def to_dict(self) -> dict:
        """The JSON form, with its schema label."""
        return {"schema": SCHEMA, **asdict(self)}


def resolve_runtime_dir(runtime_dir: str | os.PathLike | None = None) -> Path:
    """``runtime_dir`` as a Path, or the user's runtime folder when None."""
    if runtime_dir is not None:
        return Path(runtime_dir)
    from .paths import runtime_dir as default_runtime_dir

    return Path(default_runtime_dir())


def server_file(runtime_dir: str | os.PathLike | None = None) -> Path:
    """The path of ``server.json`` in ``runtime_dir`` (default: the user's runtime folder)."""
    return resolve_runtime_dir(runtime_dir) / FILE_NAME


def write_server_info(info: ServerInfo, runtime_dir: str | os.PathLike | None = None) -> Path:
    """Write ``info`` to ``server.json`` atomically with mode 0600; returns its path."""
    target = server_file(runtime_dir)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}.part")
    data = (json.dumps(info.to_dict(), indent=2) + "\n").encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)  # whatever the umask
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def read_server_info(runtime_dir: str | os.PathLike | None = None) -> ServerInfo | None:
    """The contents of ``server.json``, or None when there is none.

    A file that is not a ServerInfo raises :class:`~motionwright.errors.CorruptFileError`
    naming it (delete it, or start the server again, which rewrites it).
    """
    path = server_file(runtime_dir)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    what = (f"'{path}' is not a render server file; delete it or start the server again "
            "(motionwright serve)")
    try:
        payload = json.loads(raw[:_MAX_BYTES].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError(f"{what} (not valid JSON: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("schema") != SCHEMA:
        schema = payload.get("schema") if isinstance(payload, dict) else None
        raise CorruptFileError(f"{what} (schema {schema!r}, expected {SCHEMA!r})")
    url, token, pid = payload.get("url"), payload.get("token"), payload.get("pid")
    protocol, version = payload.get("protocol"), payload.get("version", "")
    if not (isinstance(url, str) and url.startswith("http://") and isinstance(token, str)
            and isinstance(pid, int) and isinstance(protocol, int)
            and isinstance(version, str)):
        raise CorruptFileError(f"{what} (a field is missing or has the wrong type)")
    return ServerInfo(url=url, token=token, pid=pid, protocol=protocol, version=version)


def remove_server_info(token: str, runtime_dir: str | os.PathLike | None = None) -> bool:
    """Remove ``server.json`` if it still names the server of ``token`` (a newer server's
    file is left alone); returns whether it was removed."""
    path = server_file(runtime_dir)
    try:
        info = read_server_info(runtime_dir)
    except CorruptFileError:
        return False
    if info is None or not secrets.compare_digest(info.token, token):
        return False
    path.unlink(missing_ok=True)
    return True
