"""Atomic writes and versioned schema labels shared by every saved format.

Every saved object carries a label ``"<Type>.<version>"`` (for example ``"Trajectory.1"``).
Loaders upgrade older versions step by step and refuse newer ones with
:class:`~motionwright.errors.SchemaVersionError`. Writes go to a temporary file in the target
folder and are renamed into place, so a crash or a cancel never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
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
_FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            os.chmod(tmp_path, _FILE_MODE)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
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
