"""Where the render service keeps its runtime files (server.json) and its data (jobs, cache)."""

from __future__ import annotations

import os
from pathlib import Path


def runtime_dir() -> Path:
    """``$MOTIONWRIGHT_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/motionwright``, else
    ``<config dir>/motionwright/run``; created private (0700)."""
    if os.environ.get("MOTIONWRIGHT_RUNTIME_DIR"):
        path = Path(os.environ["MOTIONWRIGHT_RUNTIME_DIR"])
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "motionwright"
    else:
        config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        path = Path(config) / "motionwright" / "run"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def data_dir() -> Path:
    """``$MOTIONWRIGHT_DATA_DIR``, else ``$XDG_DATA_HOME/motionwright``, else
    ``~/.local/share/motionwright``."""
    if os.environ.get("MOTIONWRIGHT_DATA_DIR"):
        path = Path(os.environ["MOTIONWRIGHT_DATA_DIR"])
    elif os.environ.get("XDG_DATA_HOME"):
        path = Path(os.environ["XDG_DATA_HOME"]) / "motionwright"
    else:
        path = Path(os.path.expanduser("~/.local/share/motionwright"))
    path.mkdir(parents=True, exist_ok=True)
    return path
