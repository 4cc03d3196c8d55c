"""``motionwright drag``: drag points of a clip to new places and render the result."""

from __future__ import annotations

import argparse
import sys

from ._common import parse_box, parse_xy, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drag", help="drag handle points to targets and render the edit",
        description="Move the content under each handle point to its target on one frame; the "
        "drag follows the footage through the clip (Drag-A-Video). Renders with the CPU "
        "preview by default.")
    parser.add_argument("clip", help="video file, image-sequence folder or printf pattern")
    parser.add_argument("--handle", type=parse_xy, action="append", required=True,
                        metavar="X,Y", help="a handle point (repeat, paired with --target)")
    parser.add_argument("--target", type=parse_xy, action="append", required=True,
                        metavar="X,Y", help="where the matching handle goes (repeat)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--mask-box", type=parse_box, metavar="X,Y,W,H",
                       help="limit the edit to this box on the drag frame")
    group.add_argument("--mask", metavar="FILE",
                       help="limit the edit to a mask (PNG, or a saved Mask .json)")
    parser.add_argument("--frame", type=int, default=0, metavar="K",
                        help="frame the points are placed on (default 0)")
    parser.add_argument("--backend", choices=("preview", "diffusion"), default="preview",
                        help="preview: CPU, no weights (default); diffusion: local models")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="video or image-sequence pattern to write")
    parser.add_argument("--compare", metavar="VIDEO",
                        help="also write a side-by-side video with handles and targets drawn")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip
    from ..edits import DragEdit
    from ..errors import FrameRangeError, InvalidInputError
    from ..rendering import render
    from ..types import Mask, PointSet

    if len(args.handle) != len(args.target):
        raise InvalidInputError(
            f"--target: expected one --target per --handle ({len(args.handle)}), got "
            f"{len(args.target)}; give them in pairs"
        )
    clip = Clip.open(args.clip)
    if not 0 <= args.frame < len(clip):
        raise FrameRangeError(
            f"--frame: {args.frame} is outside the clip's {len(clip)} frames "
            f"(0..{len(clip) - 1})"
        )
    mask = None
    if args.mask_box is not None:
        mask = Mask.from_box(*args.mask_box, clip.size)
    elif args.mask is not None:
        mask = Mask.load(args.mask)
    edit = DragEdit(PointSet(args.handle, frame=args.frame),
                    PointSet(args.target, frame=args.frame), mask)
    bar = progress_bar()
    result = render(clip, [edit], backend=args.backend, progress=bar)
    result.save(args.output, progress=bar)
    print(f"drag rendered ({args.backend}) -> {args.output}", file=sys.stderr)
    if args.compare:
        from ..preview.compare import side_by_side

        side_by_side(clip, result, labels=("source", f"drag ({args.backend})"),
                     edit=edit).save(args.compare, progress=bar)
        print(f"comparison -> {args.compare}", file=sys.stderr)
    return 0
