"""Small helpers shared by the CLI commands: argument parsers and a stderr progress bar."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from ..progress import ProgressCallback, ProgressEvent


def parse_xy(text: str) -> tuple[float, float]:
    """Parse ``"X,Y"`` into two finite floats (pixels)."""
    parts = text.split(",")
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y (two numbers), got {text!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise argparse.ArgumentTypeError(f"expected finite X,Y, got {text!r}")
    return x, y


def parse_box(text: str) -> tuple[float, float, float, float]:
    """Parse ``"X,Y,W,H"`` into four floats with positive width and height."""
    try:
        x, y, w, h = (float(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H (four numbers), got {text!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"expected finite X,Y and positive W,H, got {text!r}")
    return x, y, w, h


def parse_range(text: str) -> tuple[int | None, int | None]:
    """Parse ``"A:B"`` (frame indices, B exclusive; either may be empty) into a pair."""
    start_text, sep, stop_text = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected A:B (frame indices), got {text!r}")
    try:
        start = int(start_text) if start_text else None
        stop = int(stop_text) if stop_text else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B with integers, got {text!r}") from None
    if start is not None and stop is not None and stop <= start:
        raise argparse.ArgumentTypeError(f"expected A < B in A:B, got {text!r}")
    return start, stop


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WxH"`` into positive integers (width, height)."""
    w_text, sep, h_text = text.lower().partition("x")
    try:
        width, height = int(w_text), int(h_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 1024x576, got {text!r}") from None
    if not sep or width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"expected positive WxH, got {text!r}")
    return width, height


def add_output_options(parser: Any, what: str = "output") -> None:
    """Add ``--codec`` and ``--even`` (how the ``what`` video is written) to ``parser``."""
    parser.add_argument("--codec", choices=("h264", "hevc", "prores", "png"), default=None,
                        help=f"{what} codec (default: the source's H.264/HEVC/ProRes when the "
                        "file type takes it, ProRes for high-bit-depth sources in .mov, else "
                        "H.264; png for a pattern or folder); the bit depth follows the source")
    parser.add_argument("--even", choices=("pad", "crop"), default=None,
                        help="H.264/HEVC need an even width and height: pad (repeat the last "
                        "row/column) or crop (drop it) an odd-sized clip; default: refuse")


def check_output(clip: Any, path: Any, args: argparse.Namespace) -> None:
    """Refuse output settings that would fail, before any work is done (see
    :func:`motionwright.io.output.plan_output`); warnings about what is not kept print now."""
    from ..io.output import plan_output

    plan_output(clip, path, args.codec, even=args.even)


def print_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON on stdout."""
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


class _Bar:
    """Draws one progress bar line on stderr, but only once a stage has run for a second.

    When stderr is not a terminal (a log file, CI), it prints one line per finished stage
    instead of redrawing the bar.
    """

    def __init__(self, stream=None, delay: float = 1.0, width: int = 28) -> None:
        self.stream = stream or sys.stderr
        self.delay = delay
        self.width = width
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown_stage: str | None = None
        self._last_draw = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        finished = event.total > 0 and event.done >= event.total
        if not self.interactive:
            if finished and event.elapsed >= self.delay:
                self.stream.write(f"{event.stage}: {event.done}/{event.total} in "
                                  f"{event.elapsed:.1f}s\n")
                self.stream.flush()
            return
        now = time.monotonic()
        if event.elapsed < self.delay and self._shown_stage != event.stage:
            return
        if not finished and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        filled = int(self.width * min(event.fraction, 1.0))
        eta = f" ETA {event.eta:5.1f}s" if event.eta is not None and not finished else ""
        line = (f"\r{event.stage:<12} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{event.done}/{event.total} {event.elapsed:5.1f}s{eta}")
        self.stream.write(line.ljust(78))
        self._shown_stage = event.stage
        if finished:
            self.stream.write("\n")
            self._shown_stage = None
        self.stream.flush()


def progress_bar() -> ProgressCallback:
    """A progress callback that draws a bar on stderr for anything running over a second."""
    return _Bar()
