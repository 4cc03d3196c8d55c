"""``motionwright gui``: the editor's command, loaded by the SDK CLI (no Qt at import time)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from motionwright.errors import InvalidInputError


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT like 1600x1000, got {text!r}") from None
    if w < 200 or h < 150:
        raise argparse.ArgumentTypeError(f"the window must be at least 200x150, got {text!r}")
    return w, h


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``gui`` subcommand."""
    p = subparsers.add_parser(
        "gui", help="open the desktop editor",
        description="Open the Motionwright editor on a project (.mwproj) or a clip.")
    p.add_argument("path", nargs="?", help="a .mwproj project or a clip to open")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="lay the window out offscreen, save a PNG and exit")
    p.add_argument("--size", type=_size, default=(1600, 1000),
                   help="window size for --screenshot (default 1600x1000)")
    p.add_argument("--frame", type=int, help="start at this frame")
    p.add_argument("--tool", help="active tool (select, drag, points, polygon, brush, pen)")
    p.add_argument("--preview", action="store_true", help="show the live preview render")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Start the editor with the parsed arguments."""
    from .compat import check_pyside

    check_pyside()
    if args.path is not None and not os.path.exists(args.path) and "%" not in args.path:
        raise InvalidInputError(f"path: {args.path!r} does not exist; give a clip or .mwproj")
    if args.screenshot is not None and not args.screenshot.lower().endswith(".png"):
        raise InvalidInputError(f"--screenshot: expected a .png path, got {args.screenshot!r}")
    from .app import main

    return main(args.path, screenshot_path=args.screenshot, frame=args.frame, tool=args.tool,
                preview=args.preview, size=args.size)
