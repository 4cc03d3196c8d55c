"""``motionwright drag``: drag points of a clip to new places and render the result."""

from __future__ import annotations

import argparse
import sys

from ._common import (
    add_output_options,
    check_output,
    parse_box,
    parse_size,
    parse_xy,
    progress_bar,
)


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
    parser.add_argument("--anchor", type=parse_xy, action="append", metavar="X,Y",
                        help="a point pinned in place (repeat): the content between anchors "
                        "and handles bends instead of moving as one piece (CPU preview only)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--mask-box", type=parse_box, metavar="X,Y,W,H",
                       help="limit the edit to this box on the drag frame")
    group.add_argument("--mask", metavar="FILE",
                       help="limit the edit to a mask (PNG, or a saved Mask .json)")
    group.add_argument("--mask-point", type=parse_xy, action="append", metavar="X,Y",
                       help="a mask point (repeat): the edit region is the union of squares "
                       "around them, carried through the clip (Drag-A-Video Fig. 5)")
    parser.add_argument("--mask-patch", type=int, metavar="PX",
                        help="side of the square around each --mask-point (default: 1/8 of "
                        "the frame's shorter side)")
    parser.add_argument("--frame", type=int, default=0, metavar="K",
                        help="frame the points are placed on (default 0)")
    parser.add_argument("--backend", choices=("preview", "diffusion"), default="preview",
                        help="preview: CPU, no weights (default); diffusion: local models")
    diff = parser.add_argument_group("diffusion backend (Drag-A-Video on SD 1.5)")
    diff.add_argument("--model", metavar="PATH",
                      help="SD 1.5 model folder or file (default: the configured sd15 model)")
    diff.add_argument("--size", type=parse_size, metavar="WxH",
                      help="model working size of the edited region (default 512x512)")
    diff.add_argument("--iterations", type=int, metavar="N",
                      help="maximum drag iterations (default 60)")
    diff.add_argument("--lora-steps", type=int, metavar="N",
                      help="LoRA fine-tuning steps on the clip before dragging (default 80; "
                      "0: off)")
    diff.add_argument("--stride", type=int, metavar="K",
                      help="run diffusion on every K-th frame and carry the edit to the frames "
                      "between with the tracked motion (default 1: every frame)")
    diff.add_argument("--steps", type=int, metavar="N",
                      help="DDIM schedule length (default 50; the offset timesteps scale with "
                      "it)")
    diff.add_argument("--memory", choices=("auto", "gpu", "balanced", "lowvram"),
                      help="memory profile: auto (default: the fastest whose estimate fits "
                      "the free GPU memory), gpu (fastest), balanced (the 12 GB profile), "
                      "lowvram")
    diff.add_argument("--estimate", action="store_true",
                      help="print the VRAM estimate of each memory profile and exit")
    diff.add_argument("--correspondence", choices=("dift", "flow"),
                      help="point propagation: DIFT features (default) or optical flow")
    diff.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="video or image-sequence pattern to write")
    add_output_options(parser)
    parser.add_argument("--compare", metavar="VIDEO",
                        help="also write a side-by-side video with handles and targets drawn")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip
    from ..edits import DragEdit
    from ..errors import FrameRangeError, InvalidInputError
    from ..types import Mask, PointSet

    if len(args.handle) != len(args.target):
        raise InvalidInputError(
            f"--target: expected one --target per --handle ({len(args.handle)}), got "
            f"{len(args.target)}; give them in pairs"
        )
    clip = Clip.open(args.clip, progress=progress_bar())
    if not 0 <= args.frame < len(clip):
        raise FrameRangeError(
            f"--frame: {args.frame} is outside the clip's {len(clip)} frames "
            f"(0..{len(clip) - 1})"
        )
    mask = None
    if args.mask_box is not None:
        mask = Mask.from_box(*args.mask_box, clip.size)
        if mask.bbox() is None:
            x, y, w, h = args.mask_box
            raise InvalidInputError(
                f"--mask-box: the box x {x:g}..{x + w:g}, y {y:g}..{y + h:g} lies outside the "
                f"{clip.size[0]}x{clip.size[1]} frame; give a box inside it")
    elif args.mask is not None:
        mask = Mask.load(args.mask)
    elif args.mask_point:
        mask = _mask_from_points(args.mask_point, args.mask_patch, clip.size)
    anchors = PointSet(args.anchor, frame=args.frame) if args.anchor else None
    edit = DragEdit(PointSet(args.handle, frame=args.frame),
                    PointSet(args.target, frame=args.frame), mask, anchors)
    if args.estimate:
        if args.backend != "diffusion":
            raise InvalidInputError("--estimate: only the diffusion backend uses a GPU; add "
                                    "--backend diffusion")
        return _print_estimates(clip, args)
    if not args.output:
        raise InvalidInputError("-o/--output: required (the video or image-sequence pattern "
                                "to write)")
    check_output(clip, args.output, args)
    if args.compare:
        from ..io.output import plan_output
        from ..preview.compare import side_by_side

        plan_output(side_by_side(clip, clip), args.compare)  # its size; nothing is drawn
    bar = progress_bar()
    guide = None
    if args.backend == "diffusion":
        from ..methods.backend import render_drag

        result = render_drag(clip, edit, models=args.model, settings=_settings(args, clip),
                             memory=args.memory, progress=bar)
    else:
        from ..preview.backend import render_ops
        from ..preview.drag import DragPreview

        edit.check_against(len(clip), clip.size, name="the drag")
        guide = DragPreview(clip, edit, progress=bar)
        result = render_ops(clip, [guide], progress=bar)
    result.save(args.output, codec=args.codec, even=args.even, progress=bar)
    print(f"drag rendered ({args.backend}) -> {args.output}", file=sys.stderr)
    if args.compare:
        from ..preview.compare import side_by_side
        from ..preview.drag import DragPreview

        # The drag carried through the clip, so handles, targets and mask are drawn where
        # they are on each frame (the preview's own propagation when it rendered the drag).
        guide = guide or DragPreview(clip, edit, progress=bar)
        side_by_side(clip, result, labels=("source", f"drag ({args.backend})"),
                     edit=edit, tracks=guide).save(args.compare, progress=bar)
        print(f"comparison -> {args.compare}", file=sys.stderr)
    return 0


def _print_estimates(clip, args) -> int:
    """Print the drag's VRAM estimate under each memory profile."""
    from ..methods.dragavideo.plan import frames_per_call, model_size, processed_rows
    from ..methods.dragavideo.policy import drag_estimates
    from ..models.loading import as_models
    from ..models.memory import get_policy

    loaded = as_models(args.model).get("sd15")
    settings = _settings(args, clip)
    size = model_size(loaded, clip.size, settings)
    rows = len(processed_rows(len(clip), settings.stride, args.frame))
    lora = f"LoRA {settings.lora_steps} steps" if settings.lora_steps else "no LoRA"
    print(f"dragging {rows} frames at {size[0]}x{size[1]} ({lora}) on {loaded.describe()}:")
    for name, est in drag_estimates(loaded, clip, args.frame, settings,
                                    handles=len(args.handle)).items():
        per_call = frames_per_call(get_policy(name), rows, settings)
        print(f"  {est.describe()}; {per_call} frames per UNet call")
    return 0


def _mask_from_points(points, patch, size):
    """A static Mask: the union of ``patch``-pixel squares around the mask points."""
    from ..errors import InvalidInputError
    from ..propagation.dragavideo import mask_from_points
    from ..types import Mask, PointSet

    width, height = size
    side = patch if patch is not None else max(16, round(min(width, height) / 8))
    if side < 1:
        raise InvalidInputError(f"--mask-patch: expected a positive pixel size, got {patch}")
    PointSet(points).check_inside(size)
    return Mask(mask_from_points(points, size, side)[None])


def _settings(args, clip):
    """DragSettings from the command line (None options keep the defaults)."""
    from ..methods.dragavideo import DragSettings, with_overrides

    base = DragSettings()
    levels = None
    if args.steps is not None:
        levels = tuple(max(1, round(t * args.steps / base.steps)) for t in base.levels)
    return with_overrides(base, size=args.size, iterations=args.iterations,
                          lora_steps=args.lora_steps, stride=args.stride, steps=args.steps,
                          levels=levels, correspondence=args.correspondence, seed=args.seed)
