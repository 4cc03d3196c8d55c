"""Where a clip's frames come from: the media underneath renders, overlays and sub-clips.

A rendered clip is computed from another clip frame for frame. Its source says so with a
``derived_from`` attribute (the :class:`~motionwright.Clip` whose frame ``i`` it replaces), so
writers can keep what the original media carries besides pixels: audio, rotation, codec, bit
depth and frame numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TRAILING_NUMBER = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class Origin:
    """The media a clip's frames come from: ``source`` frames ``start..stop-1``."""

    source: Any
    start: int
    stop: int

    @property
    def rotation(self) -> int:
        """Counter-clockwise degrees the source's stored frames are turned for display."""
        return int(getattr(self.source, "rotation", 0) or 0)

    @property
    def codec(self) -> str | None:
        """The source's codec name (e.g. ``"prores"``, ``"h264"``, ``"png"``), if known."""
        return getattr(self.source, "codec", None)

    @property
    def bit_depth(self) -> int | None:
        """Bits per component of the source media (e.g. 10 for 10-bit ProRes), if known."""
        bits = getattr(self.source, "source_bit_depth", None)
        return None if bits is None else int(bits)

    def first_number(self) -> int:
        """The frame number of the first frame: the number in an image file's name, else the
        frame's index in its source (0 for the first frame of a video)."""
        files = getattr(self.source, "files", None)
        if files:
            match = _TRAILING_NUMBER.search(files[self.start].stem)
            if match:
                return int(match.group(1))
        return self.start


def origin_of(clip: Any) -> Origin:
    """Follow ``derived_from`` links down from ``clip`` to the media its frames come from."""
    source = clip.source
    start, stop = clip.source_range
    while True:
        parent = getattr(source, "derived_from", None)
        if parent is None or len(parent) != len(source):
            return Origin(source, start, stop)
        offset, _ = parent.source_range
        source = parent.source
        start, stop = start + offset, stop + offset
