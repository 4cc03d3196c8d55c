"""``motionwright train revideo``: train ReVideo's control module, one stage at a time."""

from __future__ import annotations

import argparse
import sys

from ._common import parse_size, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a method's model on your videos (ReVideo)",
        description="Train the models a method needs on a folder of your videos.")
    methods = parser.add_subparsers(dest="method", metavar="METHOD", required=True)
    rv = methods.add_parser(
        "revideo", help="ReVideo's control module, stage 1, 2 or 3 (§3.3)",
        description="Train ReVideo's control module on a folder of videos. Stage 1 (motion "
        "prior) starts from the SVD model; stage 2 (decoupling) and 3 (deblocking) start from "
        "the previous stage's output (--init). Resumes from the latest checkpoint in OUT. For "
        "several GPUs run it under `accelerate launch -m motionwright train revideo ...`.")
    rv.add_argument("data", help="folder of training videos")
    rv.add_argument("--stage", type=int, choices=(1, 2, 3), required=True)
    rv.add_argument("-o", "--output", required=True, metavar="OUT",
                    help="folder for checkpoints; the result is OUT/final")
    rv.add_argument("--init", metavar="PATH",
                    help="control module to start from (stages 2 and 3: the previous stage's "
                    "OUT/final)")
    rv.add_argument("--model", metavar="PATH", help="SVD model (default: the configured svd)")
    rv.add_argument("--steps", type=int, metavar="N",
                    help="optimiser steps (default: the paper's 40000 / 30000 / 20000)")
    rv.add_argument("--batch", type=int, default=4, metavar="N",
                    help="samples per GPU per step (default 4)")
    rv.add_argument("--size", type=parse_size, default=(512, 320), metavar="WxH",
                    help="training size (default 512x320)")
    rv.add_argument("--frames", type=int, default=14, metavar="N",
                    help="frames per sample (default 14)")
    rv.add_argument("--lr", type=float, default=1e-5, help="Adam learning rate (default 1e-5)")
    rv.add_argument("--grad-accum", type=int, default=1, metavar="N",
                    help="micro-batches per optimiser step (default 1)")
    rv.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default="no")
    rv.add_argument("--gradient-checkpointing", action="store_true",
                    help="recompute activations in the backward pass (less memory)")
    rv.add_argument("--save-every", type=int, default=1000, metavar="N",
                    help="checkpoint every N steps (default 1000)")
    rv.add_argument("--seed", type=int, default=0)
    rv.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default auto)")
    rv.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..methods.revideo.data import VideoFolder
    from ..methods.revideo.train import ReVideoTrainer, TrainSettings
    from ..models.loading import load_model
    from ..models.store import resolve_model

    settings = TrainSettings(stage=args.stage, steps=args.steps, batch=args.batch,
                             size=tuple(args.size), frames=args.frames, lr=args.lr,
                             grad_accum=args.grad_accum, mixed_precision=args.mixed_precision,
                             gradient_checkpointing=args.gradient_checkpointing,
                             save_every=args.save_every, seed=args.seed)
    data = VideoFolder(args.data, frames=settings.frames, size=settings.size, stage=args.stage)
    loaded = load_model("svd", args.model, device=args.device, dtype="fp32")
    init = None
    if args.init:
        init = load_model("revideo", resolve_model("revideo", args.init).path, device="cpu")
    trainer = ReVideoTrainer(loaded, data, settings, args.output, init=init)
    final = trainer.run(progress=progress_bar())
    print(f"ReVideo stage {args.stage} trained ({trainer.step} steps) -> {final}; use it with "
          f"`motionwright models add revideo {final}`", file=sys.stderr)
    return 0
