"""``motionwright info CLIP``: what a clip is — frames, fps, size, codec, timecode, duration."""

from __future__ import annotations

import argparse

from ._common import print_json, progress_bar

_ORDER = ("path", "frames", "fps", "size", "codec", "pix_fmt", "bit_depth", "timecode",
          "duration", "keyframe_interval")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="describe a video file or image sequence",
                                   description="Describe a video file or image sequence.")
    parser.add_argument("clip", help="video file, image folder, or pattern like shot.%%04d.png")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def format_info(info: dict) -> str:
    """Human-readable lines for ``clip.info``."""
    lines = []
    for key in _ORDER + tuple(k for k in info if k not in _ORDER):
        if key not in info or info[key] is None:
            continue
        value = info[key]
        if key == "size":
            value = f"{value[0]}x{value[1]}"
        elif key == "duration":
            value = f"{value:.3f} s"
        elif key == "fps" and isinstance(info.get("fps_float"), float):
            value = f"{value} ({info['fps_float']:.3f})"
        elif key == "fps_float":
            continue
        lines.append(f"{key:<18} {value}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip

    info = Clip.open(args.clip, progress=progress_bar()).info
    if args.json:
        print_json(info)
    else:
        print(format_info(info))
    return 0
