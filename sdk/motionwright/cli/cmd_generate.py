"""``motionwright generate``: a new video from a prompt that moves like a reference clip's
points, or follows a box path (S²V2V on local diffusion models)."""

from __future__ import annotations

import argparse
import sys

from ._common import add_output_options, check_output, parse_size, progress_bar


def parse_point_at(text: str) -> tuple[float, float, int]:
    """``"x,y@f"`` (``@f`` optional: frame 0) as ``(x, y, f)``."""
    head, _, frame = text.partition("@")
    try:
        x, y = (float(v) for v in head.split(","))
        f = int(frame) if frame else 0
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y@FRAME, got {text!r}") from None
    if f < 0:
        raise argparse.ArgumentTypeError(f"expected a frame ≥ 0, got {text!r}")
    return x, y, f


def parse_box_at(text: str) -> tuple[float, float, float, float, int]:
    """``"x,y,w,h@f"`` as ``(x, y, w, h, f)``."""
    head, _, frame = text.partition("@")
    try:
        x, y, w, h = (float(v) for v in head.split(","))
        f = int(frame) if frame else 0
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H@FRAME, got {text!r}") from None
    if w <= 0 or h <= 0 or f < 0:
        raise argparse.ArgumentTypeError(f"expected a positive width and height and a frame "
                                         f"≥ 0, got {text!r}")
    return x, y, w, h, f


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="generate a video from a prompt that moves like a reference or a box",
        description="Generate a new video from --prompt whose motion follows sparse points of "
        "a reference clip (tracked through it), or a box path given as keyframes "
        "(S²V2V double sparse guidance, on a zeroscope, animatediff or cogvideox model).")
    parser.add_argument("--prompt", required=True, help="what the new video shows")
    parser.add_argument("--negative-prompt", default="", help="what it should not show")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--reference", metavar="CLIP",
                     help="video whose motion is followed (its size, length and frame rate "
                     "are the output's)")
    src.add_argument("--box", type=parse_box_at, action="append", metavar="X,Y,W,H@F",
                     help="a box keyframe (repeat); the box moves linearly between keyframes")
    parser.add_argument("--points", type=parse_point_at, nargs="+", metavar="X,Y@F",
                        help="sparse points on the reference, all on one frame (default: "
                        "picked automatically and tracked)")
    parser.add_argument("--frames", type=int, metavar="N",
                        help="box path: frames to generate (default: up to the last keyframe)")
    parser.add_argument("--canvas", type=parse_size, default=(576, 320), metavar="WxH",
                        help="box path: output size (default 576x320)")
    parser.add_argument("--fps", default="8", help="box path: frame rate (default 8)")
    parser.add_argument("--model", metavar="PATH",
                        help="model folder (default: the configured model of --family)")
    parser.add_argument("--family", choices=("zeroscope", "animatediff", "cogvideox"),
                        help="model kind (default: the --model folder's, else zeroscope)")
    parser.add_argument("--steps", type=int, metavar="N",
                        help="sampling steps, all guided (default 30 with a reference, 50 "
                        "for a box path)")
    parser.add_argument("--guidance-weight", type=float, metavar="S",
                        help="σ of the motion guidance (default 10000)")
    parser.add_argument("--size", type=parse_size, metavar="WxH",
                        help="sampling size (default: the model's native size)")
    parser.add_argument("--window", type=int, metavar="N",
                        help="latent frames per model call (default: the model's)")
    parser.add_argument("--memory", choices=("auto", "gpu", "balanced", "lowvram"),
                        help="memory profile (default auto: the fastest that fits)")
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    parser.add_argument("--dtype", default="auto", help="auto, bf16, fp16 or fp32")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--estimate", action="store_true",
                        help="print the VRAM estimate of each memory profile and exit")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="video or image-sequence pattern to write")
    add_output_options(parser)
    parser.set_defaults(func=run)


def box_trajectory(keys: list[tuple[float, float, float, float, int]], frames: int):
    """A box Trajectory (top-left, bottom-right corners) over ``frames`` frames, linear
    between the keyframes and held before the first and after the last."""
    import numpy as np

    from ..errors import InvalidInputError
    from ..types import Trajectory

    keys = sorted(keys, key=lambda k: k[4])
    at = [k[4] for k in keys]
    if len(set(at)) != len(at):
        raise InvalidInputError(f"--box: two keyframes on the same frame ({at}); give one "
                                f"box per frame")
    t = np.arange(frames)
    cols = [np.interp(t, at, [k[i] for k in keys]) for i in range(4)]
    x, y, w, h = cols
    tracks = np.stack([np.stack([x, y], -1), np.stack([x + w, y + h], -1)], 1)
    return Trajectory(tracks.astype(np.float32), np.ones((frames, 2), bool))


def run(args: argparse.Namespace) -> int:
    from fractions import Fraction

    import numpy as np

    from ..clip import Clip
    from ..edits import GuidedGeneration
    from ..errors import InvalidInputError
    from ..methods.backend import render_guided
    from ..methods.s2v2v import GuidedSettings, with_overrides
    from ..models.loading import Models
    from ..types import PointSet

    bar = progress_bar()
    if args.estimate:
        return _print_estimates(args)
    if not args.output:
        raise InvalidInputError("-o/--output: required (the video or image-sequence pattern "
                                "to write)")
    if args.reference is not None:
        clip = Clip.open(args.reference, progress=bar)
        points = None
        if args.points:
            frames = {p[2] for p in args.points}
            if len(frames) != 1:
                raise InvalidInputError(f"--points: all points go on one frame, got frames "
                                        f"{sorted(frames)}")
            frame = frames.pop()
            if frame >= len(clip):
                raise InvalidInputError(f"--points: frame {frame} is outside the reference's "
                                        f"{len(clip)} frames (0..{len(clip) - 1})")
            points = PointSet([p[:2] for p in args.points], frame=frame)
            points.check_inside(clip.size)
        edit = GuidedGeneration(args.reference, points, args.prompt,
                                negative_prompt=args.negative_prompt)
    else:
        if args.points:
            raise InvalidInputError("--points: points are placed on a reference; give "
                                    "--reference, or drop --points for a box path")
        count = args.frames or max(k[4] for k in args.box) + 1
        if count < 2:
            raise InvalidInputError(f"--frames: a box path needs at least 2 frames, got "
                                    f"{count}; give --frames or a later keyframe")
        w, h = args.canvas
        clip = Clip.from_frames(np.zeros((count, h, w, 3), np.uint8),
                                fps=Fraction(str(args.fps)))
        edit = GuidedGeneration(None, None, args.prompt, box=box_trajectory(args.box, count),
                                negative_prompt=args.negative_prompt)
    check_output(clip, args.output, args)
    settings = with_overrides(GuidedSettings(), steps=args.steps,
                              guidance_weight=args.guidance_weight, size=args.size,
                              window=args.window, seed=args.seed)
    paths = {args.family: args.model} if args.family else args.model
    models = Models(paths, device=args.device, dtype=args.dtype)
    result = render_guided(clip, edit, models=models, family=args.family, settings=settings,
                           memory=args.memory, progress=bar)
    result.save(args.output, codec=args.codec, even=args.even, progress=bar)
    print(f"generated -> {args.output}", file=sys.stderr)
    return 0


def _print_estimates(args: argparse.Namespace) -> int:
    """Print one guided step's VRAM estimate under each memory profile at the model's native
    window and the sampling size."""
    from ..methods.backend import guided_family
    from ..methods.s2v2v import GuidedSettings, with_overrides
    from ..methods.s2v2v.kinds import NATIVE, kind_of, latent_frames, spatial_scale
    from ..methods.s2v2v.policy import estimate_guided, pattern_bytes
    from ..methods.s2v2v.run import working_size
    from ..models.loading import Models
    from ..models.memory import ORDER, format_bytes, get_policy

    paths = {args.family: args.model} if args.family else args.model
    family = args.family or guided_family(paths)
    loaded = Models(paths, device=args.device, dtype=args.dtype).get(family)
    kind = kind_of(family)
    settings = with_overrides(GuidedSettings(), size=args.size, window=args.window)
    scale = spatial_scale(loaded)
    patch = int(loaded.denoiser.config.patch_size) if kind == "cogvideox" else 1
    w, h = working_size(kind, settings, scale * patch * (8 if kind != "cogvideox" else 1))
    frames = settings.window or latent_frames(kind, NATIVE[kind][1], loaded)
    hw = (h // scale, w // scale)
    extra = pattern_bytes(loaded.denoiser, kind, frames=frames, latent_hw=hw,
                          points=max(1, len(args.points or ()) or settings.num_points),
                          patch=patch)
    tokens = 226 if kind == "cogvideox" else 77
    print(f"one guided step of {frames} latent frames at {w}x{h} on {loaded.describe()} "
          f"(guidance patterns {format_bytes(extra)}):")
    for name in ORDER:
        est = estimate_guided(loaded.denoiser, kind, frames=frames, latent_hw=hw,
                              dtype=loaded.dtype, tokens=tokens, policy=get_policy(name),
                              feature_bytes=extra)
        print(f"  {name}: about {format_bytes(est)}")
    return 0
