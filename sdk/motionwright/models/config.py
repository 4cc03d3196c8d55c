"""The user's Motionwright configuration file (TOML) and where it lives.

The folder is ``$MOTIONWRIGHT_CONFIG_DIR`` when set, else ``$XDG_CONFIG_HOME/motionwright``
(``~/.config/motionwright``), or ``%APPDATA%\\motionwright`` on Windows. The file is
``config.toml``. It is read with :mod:`tomllib` and written by the small writer below, which
handles the nested tables of scalars and lists this file holds, and is saved atomically.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from .._persist import atomic_open
from ..errors import CorruptFileError, InvalidInputError

CONFIG_NAME = "config.toml"


def config_dir() -> Path:
    """The folder holding Motionwright's user configuration."""
    explicit = os.environ.get("MOTIONWRIGHT_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "motionwright"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "motionwright"


def config_path() -> Path:
    """The path of ``config.toml`` (it may not exist yet)."""
    return config_dir() / CONFIG_NAME


def read_config(path: Path | None = None) -> dict[str, Any]:
    """Read the configuration as a dict; a missing file reads as empty."""
    path = path or config_path()
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(
            f"the configuration file '{path}' is not valid TOML ({exc}); fix or delete it"
        ) from exc


def write_config(data: dict[str, Any], path: Path | None = None) -> Path:
    """Write ``data`` as TOML, atomically; returns the path written."""
    path = path or config_path()
    text = dumps(data)
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return path


# --- a minimal TOML writer -----------------------------------------------------------------

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _key(key: str) -> str:
    if key and set(key) <= _BARE:
        return key
    return _string(key)


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: cannot store {value!r} in the configuration")
        return repr(value)
    if isinstance(value, str | os.PathLike):
        return _string(os.fspath(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    raise InvalidInputError(f"{where}: cannot store a {type(value).__name__} in the configuration")


def dumps(data: dict[str, Any]) -> str:
    """``data`` (nested dicts of str, int, float, bool and lists of them) as TOML text."""
    lines: list[str] = []

    def table(prefix: list[str], content: dict[str, Any]) -> None:
        scalars = [(k, v) for k, v in content.items() if not isinstance(v, dict)]
        tables = [(k, v) for k, v in content.items() if isinstance(v, dict)]
        if prefix and (scalars or not tables):
            if lines:
                lines.append("")
            lines.append("[" + ".".join(_key(p) for p in prefix) + "]")
        for key, value in scalars:
            lines.append(f"{_key(key)} = {_value(value, '.'.join([*prefix, key]))}")
        for key, value in tables:
            table([*prefix, key], value)

    table([], data)
    return "\n".join(lines) + "\n"
