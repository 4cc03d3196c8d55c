"""``motionwright trajectory``: move a region's content along drawn paths (ReVideo)."""

from __future__ import annotations

import argparse
import sys

from ._common import add_output_options, check_output, parse_box, parse_size, parse_xy, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trajectory", help="move a region along drawn paths and render the edit",
        description="Move the content of a region along drawn paths, optionally with an edited "
        "first frame (ReVideo on SVD with --backend diffusion; the CPU preview by default).")
    parser.add_argument("clip", help="video file, image-sequence folder or printf pattern")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--mask", metavar="FILE",
                       help="the region to edit (PNG, or a saved Mask .json)")
    group.add_argument("--mask-box", type=parse_box, metavar="X,Y,W,H",
                       help="the region to edit as a box")
    parser.add_argument("--path", type=parse_xy, nargs="+", action="append", required=True,
                        metavar="X,Y", help="a drawn path as points X,Y X,Y ... over the clip "
                        "(repeat --path for several paths)")
    parser.add_argument("--first-frame", metavar="IMG",
                        help="an edited first frame (same size as the clip): its content inside "
                        "the region replaces the original")
    parser.add_argument("--backend", choices=("preview", "diffusion"), default="preview",
                        help="preview: CPU, no weights (default); diffusion: ReVideo on SVD")
    diff = parser.add_argument_group("diffusion backend (ReVideo on SVD)")
    diff.add_argument("--model", metavar="PATH",
                      help="SVD model folder (default: the configured svd model)")
    diff.add_argument("--control", metavar="PATH",
                      help="ReVideo control module (default: the configured revideo model)")
    diff.add_argument("--size", type=parse_size, metavar="WxH",
                      help="working size of the region's crop (default: SVD's pixel count)")
    diff.add_argument("--steps", type=int, metavar="N", help="sampling steps (default 25)")
    diff.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    diff.add_argument("--memory", choices=("auto", "gpu", "balanced", "lowvram"),
                      help="memory profile (default auto)")
    diff.add_argument("--cache", metavar="DIR",
                      help="keep finished windows in DIR; running the same command again "
                      "resumes an interrupted render")
    parser.add_argument("-o", "--output", metavar="OUT", required=True,
                        help="video or image-sequence pattern to write")
    add_output_options(parser)
    parser.set_defaults(func=run)


def build_edit(clip, args: argparse.Namespace):
    """The TrajectoryEdit the arguments describe."""
    import numpy as np

    from ..edits import TrajectoryEdit
    from ..errors import InvalidInputError
    from ..types import Mask, Trajectory

    mask = Mask.load(args.mask) if args.mask else Mask.from_box(*args.mask_box, clip.size)
    tracks, visible = [], []
    for k, path in enumerate(args.path):
        if len(path) < 2:
            raise InvalidInputError(f"--path: path {k + 1} has {len(path)} point; draw at least "
                                    f"two points X,Y X,Y")
        one = Trajectory.from_path(np.asarray(path, np.float32), len(clip))
        tracks.append(one.tracks)
        visible.append(one.visible)
    traj = Trajectory(np.concatenate(tracks, 1), np.concatenate(visible, 1))
    first = None
    if args.first_frame:
        from ..clip import Clip

        image = Clip.open(args.first_frame)[0]
        if (image.shape[1], image.shape[0]) != tuple(clip.size):
            raise InvalidInputError(
                f"--first-frame: expected an image of the clip's size {clip.size[0]}x"
                f"{clip.size[1]}, got {image.shape[1]}x{image.shape[0]}")
        first = image
    return TrajectoryEdit(mask, traj, first)


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip

    clip = Clip.open(args.clip, progress=progress_bar())
    edit = build_edit(clip, args)
    check_output(clip, args.output, args)
    bar = progress_bar()
    if args.backend == "diffusion":
        from ..methods.backend import render_trajectory
        from ..methods.revideo import ReVideoSettings

        options = {"seed": args.seed}
        if args.steps:
            options["steps"] = args.steps
        if args.size:
            options["size"] = tuple(args.size)
        if args.cache:
            options["cache_dir"] = args.cache
        models = None
        if args.model or args.control:
            models = {k: v for k, v in (("svd", args.model), ("revideo", args.control)) if v}
        result = render_trajectory(clip, [edit], models=models,
                                   settings=ReVideoSettings(**options), memory=args.memory,
                                   progress=bar)
    else:
        from ..rendering import render

        result = render(clip, [edit], backend="preview", progress=bar)
    result.save(args.output, codec=args.codec, even=args.even, progress=bar)
    print(f"trajectory rendered ({args.backend}) -> {args.output}", file=sys.stderr)
    return 0
