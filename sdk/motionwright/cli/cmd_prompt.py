"""``motionwright prompt``: re-render a clip to match a prompt while its motion stays."""

from __future__ import annotations

import argparse
import sys

from ._common import add_output_options, check_output, parse_size, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prompt", help="swap the subject by prompt, keeping the motion (Point-to-Point)",
        description="Re-render CLIP so that it matches PROMPT while the source's motion is "
        "kept by anchor tokens found automatically (Point-to-Point on AnimateDiff). The "
        "anchors are printed; --anchors-out also writes them as a Trajectory file. Without "
        "-o only the anchors are found.")
    parser.add_argument("clip", help="video file, image-sequence folder or printf pattern")
    parser.add_argument("prompt", help='what the clip should show, e.g. "a bronze robot"')
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="video or image-sequence pattern to write")
    parser.add_argument("--anchors-out", metavar="FILE",
                        help="write the anchors as a Trajectory (.json, .npz) file")
    parser.add_argument("--tau", type=float, metavar="T",
                        help="anchor selection threshold (default 0.65; higher: fewer anchors)")
    parser.add_argument("--mask", metavar="FILE",
                        help="subject mask (PNG, or a saved Mask .json): only tracks starting "
                        "on the subject become motion tokens")
    parser.add_argument("--source-prompt", default="", metavar="TEXT",
                        help="what the source clip shows (optional)")
    parser.add_argument("--negative-prompt", default="", metavar="TEXT",
                        help="what to avoid (optional)")
    parser.add_argument("--model", metavar="PATH",
                        help="AnimateDiff model folder or motion adapter (default: the "
                        "configured animatediff model)")
    parser.add_argument("--size", type=parse_size, metavar="WxH",
                        help="model working size (default 512x512, 768x448 for wide clips)")
    parser.add_argument("--steps", type=int, metavar="N", help="DDIM steps (default 50)")
    parser.add_argument("--guidance", type=float, metavar="S",
                        help="classifier-free guidance scale (default 7.5)")
    parser.add_argument("--finetune-steps", type=int, metavar="N",
                        help="injection fine-tuning steps (default 50)")
    parser.add_argument("--memory", choices=("auto", "gpu", "balanced", "lowvram"),
                        default="auto", help="memory profile (default auto)")
    parser.add_argument("--estimate", action="store_true",
                        help="print the VRAM estimate of each memory profile and exit")
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:N, mps or cpu")
    parser.add_argument("--dtype", default="auto", help="auto, bf16, fp16 or fp32")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--resume", metavar="DIR",
                        help="keep each finished 16-frame window in DIR; a rerun of the same "
                        "command skips the windows already there")
    add_output_options(parser)
    parser.set_defaults(func=run)


def _settings(args: argparse.Namespace):
    from ..methods.pointtopoint import PointToPointSettings

    return PointToPointSettings().replace(
        tau=args.tau, size=args.size, steps=args.steps, guidance=args.guidance,
        finetune_steps=args.finetune_steps, seed=args.seed)


def print_anchors(parts, out=None) -> None:
    """One line per anchor: window, index and its position on the window's first visible
    frame (on ``out``, default stdout)."""
    out = out or sys.stdout
    for part in parts:
        a = part.anchors
        print(f"frames {a.start_frame}..{a.end_frame}: {len(part)} anchors of "
              f"{part.trajectories.num_points} motion tokens (tau {part.tau:g})", file=out)
        for col, idx in enumerate(part.indices):
            rows = a.visible[:, col].nonzero()[0]
            if len(rows):
                x, y = a.tracks[rows[0], col]
                print(f"  anchor {int(idx)}: ({x:.1f}, {y:.1f}) on frame "
                      f"{a.start_frame + int(rows[0])}", file=out)


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip
    from ..edits import PromptEdit
    from ..errors import InvalidInputError
    from ..methods.pointtopoint import prompt_edit
    from ..methods.pointtopoint.anchors import merged_anchor_track
    from ..methods.pointtopoint.edit import window_anchor_tokens
    from ..models.loading import Models

    edit = PromptEdit(args.prompt, args.negative_prompt, args.source_prompt)
    settings = _settings(args)
    clip = Clip.open(args.clip, progress=progress_bar())
    models = Models({"animatediff": args.model} if args.model else None, device=args.device,
                    dtype=args.dtype, memory=args.memory)
    if args.estimate:
        return _print_estimates(clip, models, settings)
    if not args.output and not args.anchors_out:
        raise InvalidInputError("-o/--output: required (the video or image-sequence pattern "
                                "to write), or give --anchors-out to only find the anchors")
    if args.output:
        check_output(clip, args.output, args)
    mask = None
    if args.mask:
        from ..types import Mask

        mask = Mask.load(args.mask)
    bar = progress_bar()
    if args.output:
        record: dict = {}
        result = prompt_edit(clip, edit, models, settings=settings, progress=bar,
                             record=record, resume_dir=args.resume, mask=mask)
        parts = record["anchors"]
    else:
        result = None
        parts = window_anchor_tokens(clip, models, settings=settings,
                                     prompt=args.source_prompt, mask=mask, progress=bar)
    print_anchors(parts)
    if args.anchors_out:
        merged_anchor_track(parts, len(clip)).save(args.anchors_out)
        print(f"anchors -> {args.anchors_out}", file=sys.stderr)
    if result is not None:
        result.save(args.output, codec=args.codec, even=args.even, progress=bar)
        print(f"prompt edit rendered (diffusion) -> {args.output}", file=sys.stderr)
    return 0


def _print_estimates(clip, models, settings) -> int:
    from ..methods.pointtopoint.edit import _size_for
    from ..methods.pointtopoint.policy import estimates
    from ..models.memory import format_bytes

    loaded = models.get("animatediff")
    size = _size_for(loaded, clip, settings)
    frames = min(len(clip), settings.window)
    for est in estimates(loaded, size, frames, settings).values():
        print(est.describe())
    print(f"(window of {frames} frames at {size[0]}x{size[1]}; "
          f"largest phase sizes: "
          + ", ".join(f"{k} {format_bytes(v)}" for k, v in
                      next(iter(estimates(loaded, size, frames, settings).values()))
                      .phases.items()) + ")")
    return 0
