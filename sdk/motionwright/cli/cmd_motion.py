"""``motionwright motion``: learn a motion from a reference shot and reuse it on other shots.

- ``motion learn REF -o NAME.motion``: motion-textual inversion (Reenact Anything) on SVD;
- ``motion apply NAME.motion (--image IMG | --clip SHOT ...) -o OUT``: animate images or
  shots' first frames with it (several shots share one model load);
- ``motion info NAME.motion``: shape, source clip, training record and, with ``--model``,
  whether it fits that model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (
    add_output_options,
    check_output,
    parse_range,
    parse_size,
    print_json,
    progress_bar,
)

MEMORY_CHOICES = ("auto", "gpu", "balanced", "lowvram")


def _runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH",
                        help="SVD model folder or file (default: the configured svd model)")
    parser.add_argument("--memory", choices=MEMORY_CHOICES, default="auto",
                        help="memory policy (default: the fastest that fits the GPU)")
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:N, mps or cpu")
    parser.add_argument("--dtype", default="auto", help="auto, bf16, fp16 or fp32")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "motion", help="learn a motion from a reference shot and reuse it",
        description="Reenact Anything: learn the motion of a reference shot as a .motion file "
        "(motion-textual inversion on Stable Video Diffusion) and apply it to other images "
        "or shots.")
    sub = parser.add_subparsers(dest="motion_command", metavar="SUBCOMMAND", required=True)

    learn = sub.add_parser(
        "learn", help="learn a motion from a reference clip",
        description="Learn the motion of REF (frames A to B-1, default the first 14) as a "
        "motion embedding. Defaults: 5 tokens per frame, 1000 Adam steps at lr 0.01.")
    learn.add_argument("reference", help="reference clip (video, image folder or pattern)")
    learn.add_argument("-o", "--output", required=True, help="the .motion file to write")
    learn.add_argument("--steps", type=_positive, default=1000, help="optimisation steps")
    learn.add_argument("--tokens-per-frame", type=_positive, default=5, metavar="N",
                       help="tokens per frame group (the paper's N, default 5)")
    learn.add_argument("--lr", type=_positive_float, default=1e-2, help="peak learning rate")
    learn.add_argument("--seed", type=int, default=0, help="random seed")
    learn.add_argument("--range", type=parse_range, metavar="A:B",
                       help="reference frames A to B-1 (default: the model's frame count)")
    learn.add_argument("--size", type=parse_size, metavar="WxH",
                       help="working resolution (default: the clip's aspect at 1024x576's area)")
    learn.add_argument("--motion-bucket", type=int, default=127, help="SVD motion bucket id")
    learn.add_argument("--estimate", action="store_true",
                       help="print the VRAM estimate of each memory policy and exit")
    _runtime_options(learn)
    learn.set_defaults(func=run_learn)

    apply = sub.add_parser(
        "apply", help="apply a learned motion to images or shots",
        description="Animate an image (--image) or the first frame of each shot (--clip) with "
        "a learned motion. With one input OUT is the output file; with several it is a folder "
        "(or a name containing {name}, replaced by each input's name).")
    apply.add_argument("motion", help="the .motion file")
    group = apply.add_mutually_exclusive_group(required=True)
    group.add_argument("--image", action="append", metavar="IMG", help="a still image")
    group.add_argument("--clip", action="append", metavar="SHOT",
                       help="a shot (its first frame is the start); repeat for several shots")
    apply.add_argument("-o", "--output", required=True, help="output video file (or folder)")
    apply.add_argument("--size", type=parse_size, metavar="WxH",
                       help="output size (default: the model's working size for the input)")
    apply.add_argument("--steps", type=_positive, default=25, help="sampling steps")
    apply.add_argument("--seed", type=int, default=0, help="random seed")
    apply.add_argument("--frames", type=_positive, metavar="N",
                       help="frames to generate (default: the motion's, adjusted to the shot's "
                       "frame rate)")
    apply.add_argument("--strength", type=_positive_float, default=1.0,
                       help="how much of the learned motion to apply (1 = as learned)")
    add_output_options(apply)
    _runtime_options(apply)
    apply.set_defaults(func=run_apply)

    info = sub.add_parser("info", help="describe a .motion file",
                          description="Show a motion's shape, kind, source clip, training "
                          "record and, with --model, whether it fits that model.")
    info.add_argument("motion", help="the .motion file")
    info.add_argument("--model", metavar="PATH", help="check compatibility with this model")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=run_info)


# --- learn ----------------------------------------------------------------------------------

def _models(args: argparse.Namespace):
    from ..models.loading import Models

    return Models(args.model, device=args.device, dtype=args.dtype,
                  memory=args.memory)


def run_learn(args: argparse.Namespace) -> int:
    from ..clip import Clip
    from ..learn import learn_motion

    output = Path(args.output)
    clip = Clip.open(args.reference, progress=progress_bar())
    models = _models(args)
    if args.estimate:
        return _print_estimates(models, clip, args)
    motion = learn_motion(
        clip, models, tokens_per_frame=args.tokens_per_frame, steps=args.steps, lr=args.lr,
        seed=args.seed, frame_range=args.range, size=args.size,
        motion_bucket_id=args.motion_bucket, memory=args.memory, progress=progress_bar())
    motion.save(output)
    from ..models.memory import format_bytes

    train = motion.training or {}
    curve = train.get("loss_curve") or [float("nan")]
    estimate = train.get("vram_estimate_bytes")
    memory = f"memory {train.get('memory_policy')}" + (
        f", estimated peak {format_bytes(estimate)}" if estimate else "")
    print(f"{output}: {motion.num_frames} frames x {motion.tokens_per_frame} tokens "
          f"(+{motion.tokens_per_frame} temporal), {train.get('steps')} steps in "
          f"{train.get('wall_time_s', 0):.1f} s, loss {curve[0]:.4f} -> {curve[-1]:.4f} "
          f"[{train.get('device')}, {train.get('dtype')}, {memory}]")
    return 0


def _print_estimates(models, clip, args: argparse.Namespace) -> int:
    from ..methods.motion_inversion import model_size
    from ..models.estimate import estimate_svd_learning
    from ..models.memory import ORDER

    loaded = models.get("svd")
    total = len(clip)
    start, stop = args.range or (None, None)
    start = start or 0
    if stop is None:
        stop = min(total, start + int(loaded.pipeline.unet.config.num_frames or 14))
    frames = max(stop - start, 0)
    work = model_size(loaded, clip.size, args.size)
    pipe = loaded.pipeline
    scale = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    print(f"learning {frames} frames at {work[0]}x{work[1]} on {loaded.describe()}:")
    for name in ORDER:
        est = estimate_svd_learning(pipe.unet, pipe.vae, pipe.image_encoder, frames=frames,
                                    latent_hw=(work[1] // scale, work[0] // scale),
                                    dtype=loaded.dtype, tokens_per_frame=args.tokens_per_frame,
                                    policy=name)
        print(f"  {est.describe()}")
    return 0


# --- apply ----------------------------------------------------------------------------------

def _output_for(out: Path, name: str, several: bool) -> Path:
    if "{name}" in str(out):
        return Path(str(out).replace("{name}", name))
    if not several:
        return out
    return out / f"{name}.mp4"


def run_apply(args: argparse.Namespace) -> int:
    from fractions import Fraction

    import numpy as np

    from ..clip import Clip
    from ..edits import MotionTransfer
    from ..io.images import read_image
    from ..methods.backend import render_motion_transfer
    from ..types import MotionEmbedding

    motion = MotionEmbedding.load(args.motion)
    edit = MotionTransfer(motion, strength=args.strength)
    inputs = args.image or args.clip
    several = len(inputs) > 1
    out = Path(args.output)
    # The generated frames' size is known only after generation: check the output settings
    # on a stand-in of the requested size (model sizes are even).
    width, height = args.size or (64, 64)
    stand_in = Clip.from_frames(np.zeros((1, height, width, 3), np.uint8))
    for item in inputs:
        check_output(stand_in, _output_for(out, Path(item).stem or "shot", several), args)
    models = _models(args)
    bar = progress_bar()
    source_fps = (motion.source or {}).get("fps")
    for item in inputs:
        if args.image:
            frame = read_image(Path(item))
            if frame.dtype == np.uint16:
                frame = (frame >> 8).astype(np.uint8)
            fps = Fraction(str(source_fps)) if source_fps else Fraction(24)
            shot = Clip.from_frames(frame[None], fps=fps)
        else:
            shot = Clip.open(item, progress=bar)
        result = render_motion_transfer(
            shot, edit, models=models, num_frames=args.frames, size=args.size,
            steps=args.steps, seed=args.seed, progress=bar)
        target = _output_for(out, Path(item).stem or "shot", several)
        written = result.save(target, codec=args.codec, even=args.even, progress=bar)
        print(f"{item}: {len(result)} frames {result.size[0]}x{result.size[1]} at "
              f"{result.fps} fps -> {written}")
    return 0


# --- info -----------------------------------------------------------------------------------

def compatibility(motion, model_path: str) -> dict:
    """``{"model", "compatible", "message"}`` for applying ``motion`` to the model at a path."""
    from ..errors import IncompatibleMotionError, MotionwrightError
    from ..models.loading import model_identity_of
    from ..models.store import resolve_model

    family = motion.base_model["family"]
    try:
        identity = model_identity_of(resolve_model(family, model_path))
        motion.check_compatible(identity)
    except IncompatibleMotionError as exc:
        return {"model": model_path, "compatible": False, "message": str(exc)}
    except MotionwrightError as exc:
        return {"model": model_path, "compatible": False, "message": str(exc)}
    return {"model": model_path, "compatible": True,
            "message": f"fits {family} model {identity['fingerprint']}"}


def _info_lines(path: str, summary: dict, training: dict) -> list[str]:
    shape = summary["shape"]
    base = summary["base_model"]
    lines = [
        f"{'file':<14} {path}",
        f"{'kind':<14} {summary['kind']}",
        f"{'shape':<14} {shape[0]} x {shape[1]} x {shape[2]}  ({shape[0] - 1} frame groups + 1 "
        f"temporal group, {shape[1]} tokens each, width {shape[2]})",
        f"{'base model':<14} {base['family']} (embedding_dim {base['embedding_dim']}, "
        f"fingerprint {base['fingerprint']})",
    ]
    src = summary.get("source")
    if src:
        where = src.get("path") or "(in-memory frames)"
        rng = src.get("frame_range")
        size = src.get("size")
        lines.append(f"{'source':<14} {where}"
                     + (f", frames {rng[0]}:{rng[1]}" if rng else "")
                     + (f" at {src['fps']} fps" if src.get("fps") else "")
                     + (f", {size[0]}x{size[1]}" if size else ""))
    t = summary.get("training")
    if t:
        wall = t.get("wall_time_s")
        lines.append(f"{'training':<14} {t.get('steps')} steps, lr {t.get('lr')}, seed "
                     f"{t.get('seed')}" + (f", {wall:.1f} s" if wall is not None else "")
                     + (f" on {training['device']} ({training.get('dtype')})"
                        if training.get("device") else ""))
        if t.get("loss_first") is not None:
            lines.append(f"{'loss':<14} {t['loss_first']:.4f} -> {t['loss_last']:.4f} "
                         f"(min {t['loss_min']:.4f}, {len(training.get('loss_curve', []))} "
                         "points)")
        cond = training.get("conditioning")
        if cond:
            lines.append(f"{'conditioning':<14} fps {cond.get('fps')}, motion bucket "
                         f"{cond.get('motion_bucket_id')}, noise aug "
                         f"{cond.get('noise_aug_strength')}")
        if training.get("size"):
            lines.append(f"{'learned at':<14} {training['size'][0]}x{training['size'][1]}")
    return lines


def run_info(args: argparse.Namespace) -> int:
    from ..types import MotionEmbedding

    motion = MotionEmbedding.load(args.motion)
    summary = motion.summary()
    compat = compatibility(motion, args.model) if args.model else None
    if args.json:
        payload = {"file": str(args.motion), **summary}
        if compat is not None:
            payload["compatibility"] = compat
        print_json(payload)
    else:
        for line in _info_lines(str(args.motion), summary, motion.training or {}):
            print(line)
        if compat is not None:
            state = "compatible" if compat["compatible"] else "INCOMPATIBLE"
            print(f"{'compatibility':<14} {state} with {compat['model']}: {compat['message']}")
    return 0 if compat is None or compat["compatible"] else 1
