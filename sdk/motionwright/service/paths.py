"""Where the render service keeps its files.

- :func:`runtime_dir`: short-lived files of a running server (``server.json``), private (0700):
  ``$MOTIONWRIGHT_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/motionwright``, else
  ``<config dir>/motionwright/run`` (config dir: ``$XDG_CONFIG_HOME`` or ``~/.config``).
- :func:`data_dir`: what outlives the server: ``$MOTIONWRIGHT_DATA_DIR``, else
  ``$XDG_DATA_HOME/motionwright``, else ``~/.local/share/motionwright``. It holds
  ``jobs.sqlite3`` (the job store), ``jobs/<id>/`` (each job's frames), ``cache/`` (the result
  cache) and ``uploads/<id>/`` (frames clients wrote for a job).
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_NAME = "jobs.sqlite3"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(path, 0o700)
    except OSError:  # a folder we may use but not own (e.g. shared XDG dir): leave it
        pass
    return path


def runtime_dir() -> Path:
    """The runtime folder (created, mode 0700), where ``server.json`` lives."""
    explicit = _env_path("MOTIONWRIGHT_RUNTIME_DIR")
    if explicit is not None:
        return _private_dir(explicit)
    xdg = _env_path("XDG_RUNTIME_DIR")
    if xdg is not None:
        return _private_dir(xdg / "motionwright")
    config = _env_path("XDG_CONFIG_HOME") or Path.home() / ".config"
    return _private_dir(config / "motionwright" / "run")


def data_dir() -> Path:
    """The data folder (created, mode 0700): job store, results, cache, uploads."""
    explicit = _env_path("MOTIONWRIGHT_DATA_DIR")
    if explicit is not None:
        return _private_dir(explicit)
    xdg = _env_path("XDG_DATA_HOME")
    if xdg is not None:
        return _private_dir(xdg / "motionwright")
    return _private_dir(Path.home() / ".local" / "share" / "motionwright")


def jobs_dir(root: Path) -> Path:
    """Folder of every job's result folder under data folder ``root``."""
    return root / "jobs"


def cache_dir(root: Path) -> Path:
    """Folder of the result cache under data folder ``root``."""
    return root / "cache"


def uploads_dir(root: Path) -> Path:
    """Folder of client uploads under data folder ``root``."""
    return root / "uploads"
