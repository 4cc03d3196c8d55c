"""Playback timing: which frame to show after some wall-clock time (no Qt).

Playback is confined to the in/out range. The frame shown is computed from the time elapsed
since playback started, never by counting timer ticks, so a slow display drops frames instead
of falling behind the clip's fps.
"""

from __future__ import annotations

import math


def start_frame(playhead: int, first: int, last: int, speed: int) -> int:
    """Where playback at ``speed`` starts: the playhead when it is inside ``first..last`` and
    not at the end it moves towards, else the range's start (forward) or end (backward)."""
    if speed > 0:
        return playhead if first <= playhead < last else first
    if speed < 0:
        return playhead if first < playhead <= last else last
    return playhead


def frame_at(origin: int, elapsed: float, fps: float, speed: int, first: int, last: int,
             loop: bool) -> tuple[int, bool]:
    """``(frame, still playing)`` ``elapsed`` seconds after starting at ``origin`` with
    ``speed`` × ``fps`` (negative = backwards) inside ``first..last`` (inclusive): wraps round
    when ``loop``, else stops on the range's end."""
    if speed == 0 or last < first:
        return min(max(origin, first), last), False
    steps = math.floor(max(elapsed, 0.0) * fps * abs(speed) + 1e-9)
    pos = origin + (steps if speed > 0 else -steps)
    if first <= pos <= last:
        return pos, True
    if not loop:
        return (last if pos > last else first), False
    return first + (pos - first) % (last - first + 1), True
