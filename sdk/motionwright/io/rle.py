"""COCO-style run-length encoding of binary masks, in numpy.

An RLE is ``{"size": [h, w], "counts": ...}``: the mask is read in Fortran (column-major) order
and ``counts`` lists the lengths of alternating runs of 0 and 1, starting with a run of 0
(possibly empty). ``counts`` is either a list of ints or the compact text form pycocotools and
SAM write (each count delta-coded against the count two places back, then stored as 5-bit groups
in characters from ``'0'``); both are read, and :func:`encode` writes either.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import limits
from ..errors import InvalidInputError, ShapeError
from ..types._common import require_numbers

# A count of up to 2**63 takes 13 groups of 5 bits.
_MAX_CHARS_PER_COUNT = 13


def encode(mask: Any, compressed: bool = False) -> dict[str, Any]:
    """RLE of one ``(H, W)`` bool mask; ``compressed`` writes COCO's text form of ``counts``."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ShapeError(f"mask: expected shape (H, W), got {arr.shape}")
    h, w = arr.shape
    flat = arr.astype(bool).ravel(order="F")
    if flat.size == 0:
        counts: list[int] = []
    else:
        changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        edges = np.concatenate(([0], changes, [flat.size]))
        runs = np.diff(edges)
        if flat[0]:
            runs = np.concatenate(([0], runs))
        counts = runs.tolist()
    return {"size": [int(h), int(w)],
            "counts": counts_to_string(counts) if compressed else counts}


def decode(rle: Any) -> np.ndarray:
    """The ``(H, W)`` bool mask of an RLE dict (counts as a list or COCO text).

    The size is checked against ``max_pixels`` and the counts against the size (every run
    within it, as many runs as pixels at most, adding up to exactly ``H·W``) before anything
    is allocated.
    """
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise InvalidInputError(f"rle: expected {{'size': [h, w], 'counts': ...}}, got {rle!r:.80}")
    size = rle["size"]
    if (not isinstance(size, list | tuple) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size)):
        raise InvalidInputError(f"rle size: expected [height, width] integers, got {size!r:.40}")
    h, w = size
    pixels = limits.current().check("max_pixels", h * w, f"rle size {h}x{w} pixels")
    raw = rle["counts"]
    if isinstance(raw, bytes):
        raw = raw.decode("ascii")
    if isinstance(raw, str):
        if len(raw) > _MAX_CHARS_PER_COUNT * (pixels + 1):
            raise InvalidInputError(
                f"rle counts: {len(raw):,} characters is more than a {h}x{w} mask can need"
            )
        raw = string_to_counts(raw)
    if not isinstance(raw, list | tuple) or len(raw) > pixels + 1:
        raise InvalidInputError(
            f"rle counts: expected a list of at most {pixels + 1:,} run lengths (the pixels of "
            f"{h}x{w}, plus one), got {raw!r:.80}"
        )
    require_numbers(raw, "rle counts")
    counts = np.asarray(raw)
    if counts.size == 0:
        counts = np.zeros(0, np.int64)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
        raise InvalidInputError(f"rle counts: expected a list of integers, got {raw!r:.80}")
    if counts.size and (counts.min() < 0 or counts.max() > pixels):
        raise InvalidInputError(
            f"rle counts: run lengths must be >= 0 and <= {pixels} (the pixels of {h}x{w}), got "
            f"{int(counts.min() if counts.min() < 0 else counts.max())}"
        )
    total = int(counts.sum(dtype=np.int64))
    if total != pixels:
        raise InvalidInputError(
            f"rle counts: runs add up to {total} pixels but size {h}x{w} has {pixels}"
        )
    values = (np.arange(counts.size) % 2).astype(bool)
    return np.repeat(values, counts).reshape((h, w), order="F")


def counts_to_string(counts: Any) -> str:
    """COCO's compact text form of a list of run lengths."""
    out: list[str] = []
    cnts = [int(c) for c in counts]
    for i, c in enumerate(cnts):
        x = c - cnts[i - 2] if i > 2 else c
        more = True
        while more:
            group = x & 0x1F
            x >>= 5
            # The sign bit (0x10) of the last group tells the reader how to extend it.
            more = x != -1 if group & 0x10 else x != 0
            if more:
                group |= 0x20
            out.append(chr(group + 48))
    return "".join(out)


def string_to_counts(text: str) -> list[int]:
    """Run lengths from COCO's compact text form (inverse of :func:`counts_to_string`)."""
    counts: list[int] = []
    x = shift = 0
    for pos, char in enumerate(text):
        group = ord(char) - 48
        if not 0 <= group < 64:
            raise InvalidInputError(
                f"rle counts: {char!r} at position {pos} is not a COCO RLE character"
            )
        x |= (group & 0x1F) << shift
        shift += 5
        if group & 0x20:
            if shift >= 5 * _MAX_CHARS_PER_COUNT:
                raise InvalidInputError(
                    f"rle counts: the number ending at position {pos} has more than "
                    f"{_MAX_CHARS_PER_COUNT} characters; no run can be that long"
                )
            continue
        if group & 0x10:
            x |= -1 << shift
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
        x = shift = 0
    if shift:
        raise InvalidInputError("rle counts: the text ends in the middle of a number")
    return counts
