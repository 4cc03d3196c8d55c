"""ReVideo benchmark: seconds per sampling step, peak memory next to the estimate, projection.

Run ``python tests/benchmarks/bench_revideo.py``. On a CUDA machine it builds the full-size
SVD img2vid model and a ReVideo control module with random weights on the GPU (speed and
memory do not depend on weight values) and renders one 14-frame window of a trajectory edit at
512×320 and 1024×576 (``--sizes``) under each memory policy, printing:

- seconds per sampling step (median over the steps after the first);
- measured peak GPU memory (``torch.cuda.max_memory_allocated``) next to the estimate of
  :func:`motionwright.methods.revideo.policy.estimate_revideo`;
- the projected time of one window at the authors' 25 steps.

The paper's anchor: about 20 GB at 768×1344; goals: 1024×576 within 24 GB (``gpu`` or
``balanced``) and within 12 GB with ``lowvram``. ``--tiny`` (or no GPU) runs the tiny test
models on the CPU instead and says so: those figures measure the code path, not the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

GIB = 1024 ** 3


def parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def control_weights(unet, encoder_channels=None):
    """Random control-module weights for ``unet`` (its outputs not zero, as after training)."""
    import torch

    from motionwright.methods.revideo.control import ReVideoControlModule
    from motionwright.models.revideo import ControlWeights

    extra = {"encoder_channels": encoder_channels} if encoder_channels else {}
    with torch.device(unet.device):
        module = ReVideoControlModule.from_unet(unet, copy_weights=False, **extra)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "controlnet_" in name or "conv_out" in name:
                p.normal_(0, 0.01)
    config = {k: v for k, v in module.config.items() if not k.startswith("_")}
    return ControlWeights({k: v for k, v in module.state_dict().items()}, config)


def edit_for(size):
    import motionwright as mw

    w, h = size
    mask = mw.Mask.from_box(w // 4, h // 4, w // 2, h // 2, size)
    tracks = np.array([[[w / 2 + 2 * t, h / 2]] for t in range(14)], np.float32)
    return mw.TrajectoryEdit(mask, mw.Trajectory(tracks, np.ones((14, 1), bool)))


def measure(loaded, weights, size, policy, steps, frames, tiny):
    import torch

    import motionwright as mw
    from motionwright.methods.revideo import ReVideoSettings
    from motionwright.methods.revideo.checkpoint import build_control
    from motionwright.methods.revideo.policy import estimate_revideo
    from motionwright.methods.revideo.run import trajectory_clip

    rng = np.random.default_rng(0)
    clip = mw.Clip.from_frames(rng.integers(0, 255, (frames, size[1], size[0], 3), np.uint8),
                               fps=8)
    stamps = []
    cuda = torch.cuda.is_available() and not tiny
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    settings = ReVideoSettings(steps=steps, size=size, margin=10_000)
    edit = edit_for(size) if frames == 14 else _short_edit(size, frames)
    trajectory_clip(loaded, weights, clip, [edit], settings, memory=policy,
                    progress=lambda e: stamps.append(time.perf_counter()))
    per_step = statistics.median(np.diff(stamps[1:])) if len(stamps) > 2 else float("nan")
    peak = torch.cuda.max_memory_allocated() if cuda else None
    pipe = loaded.pipeline
    vae_scale = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    est = estimate_revideo(pipe.unet, pipe.vae, pipe.image_encoder,
                           build_control(weights, pipe.unet), frames=frames,
                           latent_hw=(size[1] // vae_scale, size[0] // vae_scale),
                           dtype=loaded.dtype, guidance=True, policy=policy)
    return per_step, peak, est.peak_bytes


def _short_edit(size, frames):
    import motionwright as mw

    w, h = size
    mask = mw.Mask.from_box(w // 4, h // 4, w // 2, h // 2, size)
    tracks = np.array([[[w / 2 + t, h / 2]] for t in range(frames)], np.float32)
    return mw.TrajectoryEdit(mask, mw.Trajectory(tracks, np.ones((frames, 1), bool)))


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny CPU models")
    parser.add_argument("--sizes", default="512x320,1024x576", help="WxH list")
    parser.add_argument("--policies", default="gpu,balanced,lowvram")
    parser.add_argument("--steps", type=int, default=4, help="timed sampling steps")
    parser.add_argument("--dtype", default="fp16", choices=("bf16", "fp16"))
    args = parser.parse_args(argv)
    tiny = args.tiny or not torch.cuda.is_available()
    if tiny:
        from motionwright.models.loading import load_model
        from tiny_models import tiny_model

        print("tiny models on the CPU: these figures measure the code path, not the target")
        loaded = load_model("svd", tiny_model("svd"), device="cpu", dtype="fp32")
        weights = control_weights(loaded.pipeline.unet, (8, 16))
        sizes, policies, frames = [(32, 32)], ["gpu"], 4
    else:
        from bench_motion import full_size_svd

        dtype = torch.float16 if args.dtype == "fp16" else torch.bfloat16
        loaded = full_size_svd("cuda", dtype)
        weights = control_weights(loaded.pipeline.unet)
        sizes = [parse_size(s) for s in args.sizes.split(",")]
        policies, frames = args.policies.split(","), 14
    print(f"{'size':>10} {'policy':>9} {'s/step':>8} {'peak GiB':>9} {'est GiB':>8} "
          f"{'25 steps s':>10}")
    for size in sizes:
        for policy in policies:
            per_step, peak, est = measure(loaded, weights, size, policy, args.steps, frames, tiny)
            peak_text = f"{peak / GIB:9.2f}" if peak is not None else f"{'-':>9}"
            print(f"{size[0]}x{size[1]:<5} {policy:>9} {per_step:8.3f} {peak_text} "
                  f"{est / GIB:8.2f} {25 * per_step:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
