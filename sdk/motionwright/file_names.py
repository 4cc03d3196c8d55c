"""File names made from ids, and output paths that stay inside their folder.

A project may come from someone else, and the ids in it become file names when it is rendered
(``motionwright render`` writes one output per clip id). :func:`check_id` refuses ids that are
paths rather than names; :func:`safe_file_names` turns any ids into distinct, portable file
names; :func:`path_inside` builds an output path and proves that it, once symlinks are
resolved, still lies inside the chosen folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from .errors import InvalidInputError, UnsafePathError

MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 80
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# Names Windows reserves in every folder, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}


def check_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a usable id: a non-empty string of at most 200 characters
    with no path separator, control character or NUL, and not ``.`` or ``..``."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what}: expected a non-empty string, got {value!r:.80}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInputError(
            f"{what}: {value[:40]!r}… is {len(value)} characters long; ids have at most "
            f"{MAX_ID_LENGTH}"
        )
    if value in (".", "..") or any(c in "/\\" or unicodedata.category(c) == "Cc"
                                   for c in value):
        raise UnsafePathError(
            f"{what}: {value!r} looks like a path (separators, '..', control characters or "
            "NUL); ids name things and become file names, so use letters, digits, '_' and '-'"
        )
    return value


def safe_file_name(text: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """A portable file name made from ``text``: letters, digits, ``.``, ``_`` and ``-`` only,
    no leading dot, not a Windows device name, at most ``max_length`` characters. When anything
    had to change, a short hash of ``text`` is appended, so different texts stay apart."""
    name = _UNSAFE_CHARS.sub("_", unicodedata.normalize("NFKC", text)).lstrip(".")
    name = name.rstrip(". ") or "clip"
    if name.split(".")[0].lower() in _RESERVED:
        name = "_" + name
    if name != text or len(name) > max_length:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        name = f"{name[:max_length - 9]}-{digest}"
    return name


def safe_file_names(ids: Iterable[str], max_length: int = MAX_NAME_LENGTH) -> dict[str, str]:
    """``{id: file name}`` with names from :func:`safe_file_name`, distinct even on
    case-insensitive file systems (a clash gets ``-2``, ``-3``… in order)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for item in ids:
        base = safe_file_name(item, max_length)
        name, n = base, 2
        while name.casefold() in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name.casefold())
        names[item] = name
    return names


def path_inside(folder: str | os.PathLike, *parts: str) -> Path:
    """``folder / parts...``, checked to lie inside ``folder`` once symlinks are resolved.

    Raises UnsafePathError when a part is absolute, climbs out with ``..``, or goes through a
    symlink that points outside ``folder``.
    """
    root = Path(os.path.realpath(folder))
    candidate = Path(folder).joinpath(*parts)
    resolved = Path(os.path.realpath(candidate))
    if any(Path(p).is_absolute() for p in parts) or (resolved != root
                                                     and root not in resolved.parents):
        raise UnsafePathError(
            f"output path '{candidate}' leads outside the folder '{folder}' (to "
            f"'{resolved}'); choose names without '..' or '/', and no symlinks out of the folder"
        )
    return candidate
