"""Atomic writes and versioned schema labels shared by every saved format.

Every saved object carries a label ``"<Type>.<version>"`` (for example ``"Trajectory.1"``).
Loaders upgrade older versions step by step and refuse newer ones with
:class:`~motionwright.errors.SchemaVersionError`. Writes go to a temporary file in the target
folder and are renamed into place, so a crash or a cancel never leaves a half-written file
(folders are replaced whole by :func:`motionwright._atomic_folder.atomic_folder`).

Every temporary entry is named ``.mw-<pid>-<tag>-<random>.<kind>[suffix]`` (``kind`` is
``part`` for files, ``new``/``old`` for folders being swapped; ``tag`` is a short hash of the
target's name). Before each save, entries of that naming in the target's folder whose process
no longer runs are removed, so a writer killed mid-save leaves no litter for long. Writes are
safe against the writing process dying, not against power loss (nothing is fsynced).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from . import _safejson
from .errors import CorruptFileError, MediaNotFoundError, SchemaVersionError

Upgrader = Callable[[dict[str, Any]], dict[str, Any]]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporary files are created private (0600); finished files get the usual permissions.
_UMASK = _current_umask()
_FILE_MODE = 0o666 & ~_UMASK
FOLDER_MODE = 0o777 & ~_UMASK


TEMP_NAME = re.compile(r"\.mw-(\d+)-([0-9a-f]{8})-([0-9a-z]+)\.(part|new|old)")


def name_tag(name: str) -> str:
    """The short hash of a target's name carried in its temporaries' names."""
    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def temp_name(target: Path, kind: str, token: str, suffix: str = "") -> str:
    """The name of a temporary ``kind`` (part, new, old) for ``target``, of this process."""
    # Only the target's suffix is kept (some writers pick the format from it): the full name
    # could exceed the file system's limit on name length.
    return f".mw-{os.getpid()}-{name_tag(target.name)}-{token}.{kind}{suffix}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate it on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove temporaries of killed writers from ``folder``; returns what was removed.

    Only names of this module's pattern whose process is gone are touched. An ``old`` folder
    whose target is missing is kept: it is the only copy, and
    :func:`~motionwright._atomic_folder.recover_folder` puts it back.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    names = {e.name for e in entries}
    present_tags: set[str] | None = None  # tags of the targets that exist, when needed
    removed = []
    for entry in entries:
        m = TEMP_NAME.match(entry.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        pid, tag, token, kind = m.groups()
        if kind != "part":
            if present_tags is None:
                present_tags = {name_tag(n) for n in names if not TEMP_NAME.match(n)}
            if tag not in present_tags and (kind == "old"
                                            or f".mw-{pid}-{tag}-{token}.old" in names):
                continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Temporaries that killed writers left in that folder are removed first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)
    tmp = target.parent / temp_name(target, "part", secrets.token_hex(4), target.suffix[:16])
    try:
        # Created private and exclusively: nobody else can have opened it.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; rename it into place on success."""
    encoding = None if "b" in mode else "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as fh:
        yield fh


def write_json(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented UTF-8 JSON, atomically."""
    with atomic_open(path, "w") as fh:
        json.dump(payload, fh, indent=2, allow_nan=False)
        fh.write("\n")


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """Return ``path`` as a Path, or raise MediaNotFoundError naming ``what``."""
    p = Path(path)
    if not p.is_file():
        raise MediaNotFoundError(f"{what} not found: '{p}' does not exist or is not a file")
    return p


def read_json(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """Read a JSON object from ``path``; a missing or non-JSON file gets a typed error, one
    beyond the loader limits (size, nesting, number length) LimitExceededError."""
    p = existing_file(path, what)
    payload = _safejson.parse(_safejson.read_bounded(p, what), str(p), what)
    if not isinstance(payload, dict):
        raise CorruptFileError(f"'{p}' is not a {what} (expected a JSON object at the top)")
    return payload


def schema_label(type_name: str, version: int) -> str:
    """The label saved with an object, e.g. ``"Trajectory.1"``."""
    return f"{type_name}.{version}"


def upgrade(payload: dict[str, Any], type_name: str, current: int,
            upgraders: dict[int, Upgrader] | None = None, *, source: str = "") -> dict[str, Any]:
    """Check ``payload["schema"]`` and upgrade it to version ``current``.

    ``upgraders[v]`` turns a version-``v`` payload into a version-``v+1`` payload. A payload of
    another type, without a label, or from a future version raises a typed error that names
    ``source`` (usually the file path).
    """
    where = f" in '{source}'" if source else ""
    label = payload.get("schema")
    if not isinstance(label, str) or "." not in label:
        raise CorruptFileError(
            f"no schema label{where}: expected '{type_name}.<version>', got {label!r}; "
            f"this is not a saved {type_name}"
        )
    name, _, version_text = label.rpartition(".")
    if name != type_name or not (version_text.isascii() and version_text.isdigit()
                                 and len(version_text) <= 9):
        raise CorruptFileError(
            f"wrong schema{where}: expected '{type_name}.<version>', got {label!r:.80}"
        )
    version = int(version_text)
    if version > current:
        raise SchemaVersionError(
            f"{label!r}{where} was written by a newer Motionwright (this one reads "
            f"{type_name} up to version {current}); upgrade Motionwright to open it"
        )
    upgraders = upgraders or {}
    while version < current:
        if version not in upgraders:
            raise SchemaVersionError(f"cannot upgrade {type_name}.{version}{where}")
        payload = upgraders[version](dict(payload))
        version += 1
    payload["schema"] = schema_label(type_name, current)
    return payload
