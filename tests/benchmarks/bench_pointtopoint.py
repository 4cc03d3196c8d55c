"""Point-to-Point: anchor selection, fine-tuning, inversion and sampling on AnimateDiff sizes.

    python tests/benchmarks/bench_pointtopoint.py [--frames 16] [--size 512] [--memory gpu]
    python tests/benchmarks/bench_pointtopoint.py --tiny     # tiny model on the CPU (smoke)

Builds the full-size AnimateDiff (SD 1.5 UNet + v1.5 motion adapter, SD VAE, CLIP ViT-L text
encoder) from configs with random weights (nothing is downloaded; speed and memory do not
depend on weight values), then times one window of the paper's setting (16 frames, 512×512):
anchor selection (trajectory collection on the CPU, one feature pass, distances, FPS), a few
fine-tuning steps, DDIM inversion steps and CFG sampling steps (with the anchor alignment),
and projects the whole edit at 50 fine-tuning steps, 50 inversion and 50 sampling steps. On
CUDA it prints the peak memory of each phase next to the estimate of
``motionwright.methods.pointtopoint.policy``. Goal: the whole edit within 16 GB and 3 minutes
on an H100. Memory policies with model offload are not measured here (components stay on the
device); their fine-tuning checkpointing is.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLIP_TEXT_FULL = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                      num_hidden_layers=12, vocab_size=49408, max_position_embeddings=77,
                      bos_token_id=0, eos_token_id=2, pad_token_id=1)


def full_model(device, dtype):
    """A LoadedModel of the full-size AnimateDiff with random weights."""
    import tempfile

    import torch
    from diffusers import (
        AnimateDiffPipeline,
        AutoencoderKL,
        DDIMScheduler,
        MotionAdapter,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from motionwright.models.families import FAMILIES
    from motionwright.models.loading import LoadedModel
    from tiny_models import SD15_FULL_UNET, SD15_FULL_VAE, write_clip_tokenizer
    from tiny_pointtopoint import MOTION_ADAPTER_FULL

    tok = CLIPTokenizer.from_pretrained(str(write_clip_tokenizer(
        Path(tempfile.mkdtemp()) / "tok")))
    tok.model_max_length = 77
    pipe = AnimateDiffPipeline(
        vae=AutoencoderKL(**SD15_FULL_VAE), text_encoder=CLIPTextModel(
            CLIPTextConfig(**CLIP_TEXT_FULL)), tokenizer=tok,
        unet=UNet2DConditionModel(**SD15_FULL_UNET),
        motion_adapter=MotionAdapter(**MOTION_ADAPTER_FULL),
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear",
                                clip_sample=False, steps_offset=1))
    pipe.to(device=device, dtype=dtype)
    return LoadedModel(FAMILIES["animatediff"], None, None, pipe, torch.device(device), dtype,
                       {"family": "animatediff"})


def tiny_loaded():
    from tiny_pointtopoint import tiny_models

    loaded = tiny_models().get("animatediff")
    loaded.pipeline.to("cpu")
    return loaded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="tiny model on the CPU")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--memory", default="gpu", choices=("gpu", "balanced", "lowvram"))
    ap.add_argument("--finetune", type=int, default=3, help="fine-tuning steps timed")
    ap.add_argument("--steps", type=int, default=4, help="inversion/sampling steps timed")
    args = ap.parse_args()

    import numpy as np
    import torch

    from motionwright.methods.pointtopoint import PointToPointSettings
    from motionwright.methods.pointtopoint.policy import estimate
    from motionwright.methods.pointtopoint.run import edit_window, find_anchor_tokens
    from motionwright.models.memory import format_bytes, get_policy
    from motionwright.progress import Reporter
    from motionwright.synthetic import make_moving_objects

    cuda = torch.cuda.is_available() and not args.tiny
    if args.tiny:
        torch.set_num_threads(1)
        loaded, size, frames_n = tiny_loaded(), 32, min(args.frames, 4)
    else:
        loaded, size, frames_n = full_model("cuda" if cuda else "cpu",
                                            torch.float16 if cuda else torch.float32), \
            args.size, args.frames
    policy = get_policy(args.memory)
    s = PointToPointSettings(size=(size, size), steps=args.steps,
                             finetune_steps=args.finetune, window=frames_n, overlap=1)
    frames = make_moving_objects(frames_n, (size, size), seed=1, num_objects=2).frames

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def peak():
        return torch.cuda.max_memory_allocated() if cuda else None

    print(f"Point-to-Point on {'tiny CPU model' if args.tiny else loaded.device}: "
          f"{frames_n} frames at {size}x{size}, {args.memory} policy")
    est = estimate(loaded, (size, size), frames_n, s, policy)
    print(f"estimate: {est.describe()}; phases "
          + ", ".join(f"{k} {format_bytes(v)}" for k, v in est.phases.items()))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    found, _ = find_anchor_tokens(loaded, frames, s)
    sync()
    t_anchor = time.perf_counter() - t0
    p_anchor = peak()
    print(f"anchor selection: {t_anchor:.2f} s, {len(found)} anchors of "
          f"{found.trajectories.num_points} motion tokens"
          + (f", peak {format_bytes(p_anchor)}" if p_anchor else ""))
    stamps: list[float] = []

    def tick(event):
        sync()
        stamps.append(time.perf_counter())

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    total = 1 + s.finetune_steps + 2 * s.steps
    reporter = Reporter("point-to-point", total, tick)
    start = time.perf_counter()
    edit_window(loaded, frames, "a bronze robot", s, anchors=found, policy=policy,
                reporter=reporter)
    sync()
    end = time.perf_counter()
    marks = np.diff(np.array([start, *stamps]))
    ft = marks[1:1 + s.finetune_steps]
    inv = marks[1 + s.finetune_steps:1 + s.finetune_steps + s.steps]
    smp = marks[1 + s.finetune_steps + s.steps:]
    per = {"fine-tuning": float(np.median(ft)) if len(ft) else 0.0,
           "inversion": float(np.median(inv)), "sampling": float(np.median(smp))}
    for name, value in per.items():
        print(f"{name}: {value:.3f} s/step")
    if cuda:
        print(f"editing peak {format_bytes(peak())} (estimate {format_bytes(est.peak_bytes)})")
    decode = end - stamps[-1]
    projected = t_anchor + 50 * per["fine-tuning"] + 50 * per["inversion"] \
        + 50 * per["sampling"] + decode
    print(f"projected whole edit (50 fine-tuning, 50 inversion, 50 sampling steps): "
          f"{projected:.1f} s")


if __name__ == "__main__":
    main()
