"""Reading untrusted text files and JSON within the loader limits.

``json.loads`` recurses once per nesting level and turns any run of digits into an int, so a
hostile file can exhaust the stack or the CPU. :func:`parse` first measures the nesting depth
and the longest number (outside strings) in one vectorised linear pass, and raises
LimitExceededError before decoding.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .errors import CorruptFileError

_CHUNK = 1 << 22
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPEN_ARRAY, _CLOSE_ARRAY, _OPEN_OBJECT, _CLOSE_OBJECT = b"[]{}"


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


@dataclasses.dataclass
class Scan:
    """What one pass over JSON bytes measures outside strings: ``depth``, the deepest nesting
    of arrays and objects, and ``digits``, the longest run of digits."""

    depth: int = 0
    digits: int = 0


def scan(raw: bytes, *, digits: bool = True) -> Scan:
    """Measure JSON ``raw`` without parsing it, in chunks of bounded memory (``digits=False``
    skips the digit runs).

    A quote ends or starts a string unless an odd number of backslashes precedes it; a byte
    is inside a string when an odd number of such quotes comes before it. (For invalid JSON
    the figures may be off; :func:`json.loads` then rejects the text anyway.)
    """
    codes = np.frombuffer(raw, np.uint8)
    escapes = b"\\" in raw
    out = Scan()
    last_plain = last_non_digit = -1  # the last byte before this chunk that is not a \ / digit
    inside, depth = np.uint8(0), 0  # parity of real quotes, nesting depth before this chunk
    for start in range(0, len(codes), _CHUNK):
        part = codes[start:start + _CHUNK]
        index = np.arange(start, start + len(part), dtype=np.int64)
        real_quote = part == _QUOTE
        if escapes:
            plain = np.maximum.accumulate(np.where(part == _BACKSLASH, -1, index))
            plain = np.maximum(plain, last_plain)
            before = np.concatenate(([last_plain], plain[:-1]))  # last plain byte before each
            real_quote &= (index - 1 - before) % 2 == 0
            last_plain = int(plain[-1])
        parity = np.bitwise_xor.accumulate(real_quote.astype(np.uint8)) ^ inside
        outside = (parity == 0) & ~real_quote
        steps = (outside & ((part == _OPEN_ARRAY) | (part == _OPEN_OBJECT))).astype(np.int8)
        steps -= outside & ((part == _CLOSE_ARRAY) | (part == _CLOSE_OBJECT))
        running = depth + np.cumsum(steps, dtype=np.int64)
        out.depth = max(out.depth, int(running.max()))
        inside, depth = parity[-1], int(running[-1])
        if digits:
            digit = outside & (part >= ord("0")) & (part <= ord("9"))
            non_digit = np.maximum(np.maximum.accumulate(np.where(digit, -1, index)),
                                   last_non_digit)
            out.digits = max(out.digits, int((index - non_digit).max()))
            last_non_digit = int(non_digit[-1])
    return out


def parse(data: bytes | str, source: str, what: str) -> Any:
    """Decode JSON ``data`` after checking it against the limits.

    Invalid UTF-8 or JSON raises CorruptFileError naming ``source`` and ``what``; too deep a
    nesting, too long a number or too large a text LimitExceededError.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    where = f"'{source}'" if source else f"the {what}"
    lim = limits.current()
    lim.check("max_text_bytes", len(raw), f"{where} size in bytes")
    # Most files have fewer brackets than the depth limit and no long digit run anywhere.
    brackets = raw.count(b"[") + raw.count(b"{")
    long_run = re.search(rb"[0-9]{%d}" % (lim.max_number_digits + 1), raw) is not None
    measured = (scan(raw, digits=long_run) if brackets > lim.max_json_depth or long_run
                else Scan())
    lim.check("max_json_depth", measured.depth, f"{where} JSON nesting depth")
    lim.check("max_number_digits", measured.digits, f"{where} digits in one number")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptFileError(f"{where} is not a {what} (not valid JSON: {exc})") from exc
