"""``motionwright track``: follow points through a clip and save the tracks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import add_output_options, check_output, parse_range, parse_xy, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "track", help="track points through a clip",
        description="Track points placed on one frame forward and backward through the clip "
        "and save the tracks (.npz in CoTracker order, or .json). Occluded points are marked "
        "hidden.")
    parser.add_argument("clip", help="video file, image-sequence folder or printf pattern")
    parser.add_argument("--points", type=parse_xy, nargs="+", required=True, metavar="X,Y",
                        help="points to track, in pixels of the clip")
    parser.add_argument("--frame", type=int, default=0, metavar="K",
                        help="frame the points are placed on (default 0)")
    parser.add_argument("--range", type=parse_range, default=None, metavar="A:B",
                        help="track only frames A to B-1 (default: the whole clip)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="track file to write: .npz or .json")
    parser.add_argument("--overlay", metavar="VIDEO",
                        help="also write a video of the clip with the tracks drawn")
    add_output_options(parser, "overlay")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip
    from ..errors import FrameRangeError, UnsupportedFormatError
    from ..tracking import track
    from ..types import PointSet

    suffix = Path(args.output).suffix.lower()
    if suffix not in (".npz", ".json"):
        raise UnsupportedFormatError(
            f"-o: track files end in .npz or .json, got '{args.output}'; change the extension"
        )
    clip = Clip.open(args.clip, progress=progress_bar())
    if not 0 <= args.frame < len(clip):
        raise FrameRangeError(
            f"--frame: {args.frame} is outside the clip's {len(clip)} frames "
            f"(0..{len(clip) - 1})"
        )
    points = PointSet(args.points, frame=args.frame)
    if args.overlay:
        check_output(clip, args.overlay, args)
    traj = track(clip, points, frames=args.range, progress=progress_bar())
    traj.save(args.output)
    seen = float(traj.visible.mean()) if traj.visible.size else 0.0
    print(f"tracked {traj.num_points} points over {traj.num_frames} frames "
          f"(visible {seen:.0%}) -> {args.output}", file=sys.stderr)
    if args.overlay:
        _write_overlay(clip, traj, args)
        print(f"overlay -> {args.overlay}", file=sys.stderr)
    return 0


def _write_overlay(clip, traj, args: argparse.Namespace) -> None:
    from ..preview.compare import MappedSource
    from ..preview.overlay import draw_tracks

    def draw(frame, index):
        out = frame.copy()
        row = index - traj.start_frame
        if 0 <= row < traj.num_frames:
            draw_tracks(out, traj.tracks, traj.visible, row, tail=20)
        return out

    source = MappedSource(clip, draw)
    type(clip).from_source(source).save(args.overlay, codec=args.codec, even=args.even,
                                        progress=progress_bar())
