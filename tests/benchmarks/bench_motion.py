"""Motion learning benchmark: seconds per optimisation step and peak memory, per memory policy.

Run ``python tests/benchmarks/bench_motion.py``. On a CUDA machine it builds the full-size
Stable Video Diffusion (img2vid, 14 frames) with random weights directly on the GPU — speed and
memory do not depend on weight values — and learns at the paper's setting (14 frames,
1024×576, N = 5 tokens per frame) under each memory policy. It prints, per policy:

- seconds per optimisation step (median of the timed steps, after warm-up steps);
- measured peak GPU memory during optimisation (``torch.cuda.max_memory_allocated``) next to
  the estimate of :mod:`motionwright.models.estimate`, and the peak while encoding;
- the projected time for the default step count (1000) including the encoding.

``--apply`` also times applying the motion (25 sampling steps). Without a GPU (or with
``--tiny``) it runs the tiny test model on the CPU instead and says so: those figures measure
the code path, not the target. Targets: under 6 minutes per motion on one H100 and under 24 GB
(the ``balanced`` policy); the ``lowvram`` policy is the 12 GB profile.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GIB = 1024 ** 3


def parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def full_size_svd(device, dtype):
    """The full-size SVD img2vid pipeline with random weights, built on ``device``."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    from motionwright.models.families import FAMILIES
    from motionwright.models.layout import ModelLayout, model_identity
    from motionwright.models.loading import LoadedModel
    from motionwright.models.store import ModelSpec
    from tiny_models import SVD_FULL_IMAGE_ENCODER, SVD_FULL_UNET, SVD_FULL_VAE, SVD_SCHEDULER

    # Built on the device (fast random init); .to() then moves the few parameters diffusers
    # creates with the legacy torch.Tensor constructor, which ignores the device context.
    with torch.device(device):
        unet = UNetSpatioTemporalConditionModel(**SVD_FULL_UNET)
        vae = AutoencoderKLTemporalDecoder(**SVD_FULL_VAE)
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**SVD_FULL_IMAGE_ENCODER))
    unet, vae, encoder = (m.to(device=device, dtype=dtype).eval() for m in (unet, vae, encoder))
    pipe = StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet,
        scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER),
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))
    pipe.set_progress_bar_config(disable=True)
    family = FAMILIES["svd"]
    identity = model_identity(family, dict(unet.config))
    spec = ModelSpec("svd", Path("random-weights"), source="benchmark")
    return LoadedModel(family, spec, ModelLayout("svd", Path("random-weights"),
                                                 "StableVideoDiffusionPipeline"),
                       pipe, torch.device(device), dtype, identity)


def tiny_svd():
    from motionwright.models.loading import load_model
    from tiny_models import tiny_model

    return load_model("svd", tiny_model("svd"), device="cpu")


def measure(loaded, frames: np.ndarray, size, policy: str, warmup: int, timed: int,
            total_steps: int, apply: bool) -> dict:
    import torch

    from motionwright.methods.motion_inversion import (
        ApplySettings,
        LearnSettings,
        generate,
        prepare_learning,
    )
    from motionwright.models.estimate import estimate_svd_learning

    cuda = loaded.device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    run = prepare_learning(loaded, frames, fps=24.0, size=size,
                           settings=LearnSettings(steps=warmup + timed), memory=policy)
    if cuda:
        torch.cuda.synchronize()
    encode_s = time.perf_counter() - start
    encode_peak = torch.cuda.max_memory_allocated() if cuda else 0
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    stamps: list[float] = []
    tokens, _ = run.run(progress=lambda e: stamps.append(time.perf_counter()))
    if cuda:
        torch.cuda.synchronize()
    step_times = np.diff(stamps)[warmup - 1:] if warmup >= 1 else np.diff(stamps)
    per_step = statistics.median(step_times.tolist()) if len(step_times) else float("nan")
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    pipe = loaded.pipeline
    scale = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    work = run.reference.size
    estimate = estimate_svd_learning(pipe.unet, pipe.vae, pipe.image_encoder,
                                     frames=len(frames), latent_hw=(work[1] // scale,
                                                                    work[0] // scale),
                                     dtype=loaded.dtype, tokens_per_frame=5, policy=policy)
    result = {"policy": policy, "size": work, "encode_s": encode_s, "step_s": per_step,
              "peak": peak, "encode_peak": encode_peak, "estimate": estimate,
              "projected_s": encode_s + per_step * total_steps}
    if apply:
        from motionwright.types import MotionEmbedding

        motion = MotionEmbedding(tokens, base_model=loaded.identity,
                                 training={"conditioning": {"fps": 24.0}})
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        generate(loaded, frames[0], motion, ApplySettings(steps=25, size=size), memory=policy)
        if cuda:
            torch.cuda.synchronize()
        result["apply_s"] = time.perf_counter() - t0
        result["apply_peak"] = torch.cuda.max_memory_allocated() if cuda else 0
        loaded.reset_placement()
    del run
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny CPU model")
    parser.add_argument("--policies", default=None,
                        help="comma-separated memory policies (default: all on CUDA, gpu on CPU)")
    parser.add_argument("--size", type=parse_size, default=None, help="WxH (default 1024x576)")
    parser.add_argument("--frames", type=int, default=None, help="frames (default 14)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps")
    parser.add_argument("--timed", type=int, default=8, help="timed steps")
    parser.add_argument("--dtype", default="bf16", choices=("bf16", "fp16", "fp32"))
    parser.add_argument("--apply", action="store_true", help="also time applying (25 steps)")
    args = parser.parse_args(argv)

    import torch

    from motionwright.methods.motion_inversion import DEFAULT_STEPS
    from motionwright.models.device import dtype_name
    from motionwright.models.memory import format_bytes
    from motionwright.synthetic import make_moving_objects

    on_gpu = torch.cuda.is_available() and not args.tiny
    if on_gpu:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
        loaded = full_size_svd("cuda", dtype)
        size = args.size or (1024, 576)
        frames_n = args.frames or 14
        policies = (args.policies or "gpu,balanced,lowvram").split(",")
        props = torch.cuda.get_device_properties(0)
        machine = f"{props.name}, {format_bytes(props.total_memory)}"
        print(f"full-size SVD img2vid, random weights, {dtype_name(dtype)} on {machine}")
    else:
        loaded = tiny_svd()
        size = args.size
        frames_n = args.frames or int(loaded.pipeline.unet.config.num_frames)
        policies = (args.policies or "gpu").split(",")
        print("no GPU (or --tiny): tiny random SVD on the CPU; these figures measure the code "
              f"path only ({torch.get_num_threads()} CPU threads)")
    source = (size or (48, 32))
    frames = make_moving_objects(frames_n, size=source, seed=0).frames
    params = sum(p.numel() for p in loaded.pipeline.unet.parameters())
    print(f"UNet {params / 1e6:.1f}M parameters; {frames_n} frames; N = 5 tokens per frame; "
          f"{args.warmup} warm-up + {args.timed} timed steps; projection for "
          f"{DEFAULT_STEPS} steps")
    header = (f"{'policy':<10} {'size':>9} {'s/step':>8} {'peak':>10} {'estimate':>10} "
              f"{'encode peak':>12} {'encode s':>9} {'projected':>10}")
    print(header)
    for policy in policies:
        r = measure(loaded, frames, size, policy, args.warmup, args.timed, DEFAULT_STEPS,
                    args.apply)
        peak = format_bytes(r["peak"]) if on_gpu else "n/a"
        enc_peak = format_bytes(r["encode_peak"]) if on_gpu else "n/a"
        minutes = r["projected_s"] / 60
        print(f"{policy:<10} {r['size'][0]:>4}x{r['size'][1]:<4} {r['step_s']:>8.3f} "
              f"{peak:>10} {format_bytes(r['estimate'].peak_bytes):>10} {enc_peak:>12} "
              f"{r['encode_s']:>9.1f} {minutes:>8.1f} min")
        print(f"{'':<10} estimate parts: {r['estimate'].describe()}")
        if args.apply:
            apeak = format_bytes(r["apply_peak"]) if on_gpu else "n/a"
            print(f"{'':<10} apply: {r['apply_s']:.1f} s for 25 steps, peak {apeak}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
