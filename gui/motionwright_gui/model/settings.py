"""Where the editor keeps its own files: recovery copy, recent files, the user motion library."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MAX_RECENT = 10


def state_dir() -> Path:
    """The editor's state folder: ``$MOTIONWRIGHT_GUI_STATE``, else
    ``$XDG_STATE_HOME/motionwright`` (``~/.local/state/motionwright``)."""
    explicit = os.environ.get("MOTIONWRIGHT_GUI_STATE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "motionwright"


def user_motion_dir() -> Path:
    """The user's motion library: ``$MOTIONWRIGHT_MOTION_LIBRARY`` or ``<state>/motions``."""
    explicit = os.environ.get("MOTIONWRIGHT_MOTION_LIBRARY")
    return Path(explicit) if explicit else state_dir() / "motions"


def cache_dir() -> Path:
    """Where renders of unsaved projects go: ``$MOTIONWRIGHT_GUI_CACHE``, else
    ``$XDG_CACHE_HOME/motionwright`` (``~/.cache/motionwright``)."""
    explicit = os.environ.get("MOTIONWRIGHT_GUI_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "motionwright"


def write_json_file(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_json_file(path: Path, default: Any) -> Any:
    """The JSON in ``path``, or ``default`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def recent_files() -> list[str]:
    """Recently opened clips and projects, newest first (existing paths only)."""
    items = read_json_file(state_dir() / "recent.json", [])
    return [p for p in items if isinstance(p, str) and os.path.exists(p)][:MAX_RECENT]


def add_recent(path: str | os.PathLike) -> list[str]:
    """Put ``path`` at the top of the recent files; returns the new list."""
    full = os.path.abspath(os.fspath(path))
    items = [full] + [p for p in recent_files() if p != full]
    write_json_file(state_dir() / "recent.json", items[:MAX_RECENT])
    return items[:MAX_RECENT]
