"""Reading untrusted text files and JSON within the loader limits.

``json.loads`` recurses once per nesting level and turns any run of digits into an int, so a
hostile file can exhaust the stack or the CPU. :func:`parse` measures the nesting depth and the
longest number in linear time first, and raises LimitExceededError before decoding.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .errors import CorruptFileError

# A JSON string (escapes included); one left open runs to the end, which keeps the scan linear.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DIGITS = re.compile(rb"[0-9]+")
_CHUNK = 1 << 22


def read_bounded(path: Path, what: str) -> bytes:
    """The bytes of ``path``, refusing a file larger than ``max_text_bytes``."""
    lim = limits.current()
    try:
        with open(path, "rb") as fh:
            lim.check("max_text_bytes", os.fstat(fh.fileno()).st_size, f"'{path}' size in bytes")
            data = fh.read(lim.max_text_bytes + 1)  # a pipe or special file reports no size
    except OSError as exc:
        raise CorruptFileError(f"'{path}' cannot be read as a {what} ({exc})") from exc
    lim.check("max_text_bytes", len(data), f"'{path}' size in bytes")
    return data


def max_depth(stripped: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON ``stripped`` of its strings."""
    codes = np.frombuffer(stripped.translate(None, _NOT_BRACKETS), np.uint8)
    deepest = depth = 0
    for start in range(0, len(codes), _CHUNK):
        part = codes[start:start + _CHUNK]
        steps = np.where((part == ord("[")) | (part == ord("{")), 1, -1).astype(np.int64)
        running = depth + np.cumsum(steps)
        deepest = max(deepest, int(running.max()))
        depth = int(running[-1])
    return deepest


def _check_numbers(stripped: bytes, lim: limits.Limits, where: str) -> None:
    too_long = re.search(rb"[0-9]{%d}" % (lim.max_number_digits + 1), stripped)
    if too_long:
        digits = _DIGITS.match(stripped, too_long.start())
        lim.check("max_number_digits", len(digits.group()), f"{where} digits in one number")


def parse(data: bytes | str, source: str, what: str) -> Any:
    """Decode JSON ``data`` after checking it against the limits.

    Invalid UTF-8 or JSON raises CorruptFileError naming ``source`` and ``what``; too deep a
    nesting, too long a number or too large a text LimitExceededError.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    where = f"'{source}'" if source else f"the {what}"
    lim = limits.current()
    lim.check("max_text_bytes", len(raw), f"{where} size in bytes")
    stripped = _STRING.sub(b'""', raw)
    lim.check("max_json_depth", max_depth(stripped), f"{where} JSON nesting depth")
    _check_numbers(stripped, lim, where)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptFileError(f"{where} is not a {what} (not valid JSON: {exc})") from exc
