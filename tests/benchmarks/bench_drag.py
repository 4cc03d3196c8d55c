"""Drag-A-Video: seconds per drag iteration and peak memory, SD 1.5 sizes, random weights.

    python tests/benchmarks/bench_drag.py [--frames 16] [--size 512] [--memory all|gpu|...]
    python tests/benchmarks/bench_drag.py --tiny        # tiny UNet on the CPU (smoke figures)

For each memory profile it prints the VRAM estimate (``motionwright.models.estimate.
estimate_drag``, the same the run uses to choose a profile) next to the measured peak (CUDA),
the seconds per drag iteration and per denoising step, and the projected time of a drag at the
default 60 iterations and 42 denoising steps at the benchmark's frames and size.

Builds the full-size SD 1.5 UNet and VAE from their configs (nothing is downloaded; speed and
memory do not depend on weight values) and times what a drag run repeats: one iteration (UNet
forward with gradients at the 4 offset levels for every frame, the motion-supervision loss,
backward, Adam), one denoising step of both branches with cross-branch attention, and the
DIFT point propagation streamed over the frames (features of two chunks held, sub-pixel
matching of a handle set and mask points). On CUDA it synchronises around timings and reports
``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TINY_UNET = dict(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
                 block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D",
                                                                "DownBlock2D"),
                 up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                 attention_head_dim=8)
TINY_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=32)
SCHEDULER = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                 steps_offset=1, clip_sample=False, set_alpha_to_one=False)


def _estimate(unet, cfg_vae, policy, frames, lat, dtype, frame_batch):
    import torch
    from diffusers import AutoencoderKL

    from motionwright.methods.dragavideo.dift import REFINE_ELEMENTS
    from motionwright.models.estimate import estimate_drag

    with torch.device("meta"):
        vae = AutoencoderKL(**cfg_vae)
    return estimate_drag(unet, vae, None, frames=frames, latent_hw=(lat, lat), dtype=dtype,
                         policy=policy, frame_batch=frame_batch, dift_chunk=frame_batch,
                         dift_matching_elements=REFINE_ELEMENTS)


def main() -> None:
    import sys

    policies = ("gpu", "balanced", "lowvram")
    if "--memory" in sys.argv and sys.argv[sys.argv.index("--memory") + 1] != "all":
        policies = (sys.argv[sys.argv.index("--memory") + 1],)
    else:
        sys.argv = [a for i, a in enumerate(sys.argv)
                    if not (a == "--memory" or (i and sys.argv[i - 1] == "--memory"))]
    for name in policies:
        bench(name)


def bench(policy_name: str) -> None:
    import torch
    from diffusers import UNet2DConditionModel

    from motionwright.methods.dragavideo import supervision as sup
    from motionwright.methods.dragavideo.attention import cross_branch_attention
    from motionwright.methods.dragavideo.ddim import make_schedule
    from motionwright.methods.dragavideo.optimise import forward_features, level_inputs
    from motionwright.methods.dragavideo.plan import frames_per_call
    from motionwright.methods.dragavideo.settings import DragSettings
    from motionwright.models.hooks import activation_checkpointing
    from motionwright.models.memory import get_policy
    from tiny_models import SD15_FULL_UNET, SD15_FULL_VAE

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--memory", default=policy_name, choices=("gpu", "balanced", "lowvram"))
    ap.add_argument("--iterations", type=int, default=3)
    args = ap.parse_args()
    cuda = torch.cuda.is_available() and not args.tiny
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.float16 if cuda else torch.float32
    size = 32 if args.tiny else args.size
    frames = min(args.frames, 4) if args.tiny else args.frames
    cfg = TINY_UNET if args.tiny else SD15_FULL_UNET
    with torch.device("meta"):
        unet = UNet2DConditionModel(**cfg)
    unet = unet.to_empty(device=device).to(dtype)
    for p in unet.parameters():
        torch.nn.init.normal_(p, std=0.02)
        p.requires_grad_(False)
    policy = get_policy(policy_name)
    chunk = frames_per_call(policy, frames, DragSettings())
    scale = 2 if args.tiny else 8
    lat = size // scale
    levels = (42, 41, 35, 30)

    schedule = make_schedule(SCHEDULER, 50)
    cond = torch.randn(1, 77 if not args.tiny else 16, cfg["cross_attention_dim"],
                       device=device, dtype=dtype)
    inverted = {lv: torch.randn(frames, 4, lat, lat, device=device, dtype=dtype)
                for lv in levels}
    offsets = {lv: torch.zeros(frames, 4, lat, lat, device=device, requires_grad=True)
               for lv in levels}
    opt = torch.optim.Adam(list(offsets.values()), lr=0.01)
    block = f"up_blocks.{len(unet.up_blocks) - 2}"
    handles = torch.full((frames, 9, 2), size / 2.0, device=device)
    targets = handles + 40
    template = None
    active = torch.ones(9, dtype=torch.bool, device=device)
    predicate = policy.checkpoint_predicate()
    ckpt = (activation_checkpointing(unet, predicate) if predicate else contextlib.nullcontext())

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def iteration():
        nonlocal template
        opt.zero_grad(set_to_none=True)
        for i in range(0, frames, chunk):
            idx = slice(i, i + chunk)
            ins = level_inputs(inverted, offsets, levels, schedule, idx)
            fmap, _ = forward_features(unet, ins, levels, schedule, cond, block, grad=True)
            if template is None:
                template = sup.handle_template(fmap, handles[idx], (size, size), 1, 2.0)
            loss = sup.drag_loss(fmap, handles[idx], targets[idx], template, active,
                                 (size, size), 1, 2.0)
            loss.backward()
        opt.step()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    est = _estimate(unet, TINY_VAE if args.tiny else SD15_FULL_VAE, policy, frames, lat, dtype,
                    chunk)
    with ckpt:
        iteration()  # warm-up
        sync()
        t0 = time.perf_counter()
        for _ in range(args.iterations):
            iteration()
        sync()
    per_iter = (time.perf_counter() - t0) / args.iterations
    peak_iter = torch.cuda.max_memory_allocated() if cuda else None
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    from motionwright.models.loading import set_forward_chunking

    if policy.forward_chunking:
        set_forward_chunking(unet, True)
    both = torch.randn(2 * frames, 4, lat, lat, device=device, dtype=dtype)
    with torch.no_grad(), cross_branch_attention(unet, frames, 0):
        unet(both, 500, encoder_hidden_states=cond.expand(2 * frames, -1, -1))
        sync()
        t0 = time.perf_counter()
        unet(both, 500, encoder_hidden_states=cond.expand(2 * frames, -1, -1))
        sync()
    per_step = time.perf_counter() - t0
    peak_step = torch.cuda.max_memory_allocated() if cuda else None
    if policy.forward_chunking:
        set_forward_chunking(unet, False)
    per_dift, peak_dift, held = _dift(unet, frames, chunk, lat, size, cond, schedule, sync)
    total = 60 * per_iter + 42 * per_step
    peak = max(peak_iter or 0, peak_step or 0, peak_dift or 0)
    label = "TINY UNet on the CPU (smoke figures, not SD 1.5)" if args.tiny else "SD 1.5 UNet"
    print(f"[{policy.name}] device: {device} "
          f"({torch.cuda.get_device_name() if cuda else 'cpu'}), {label}, {frames} frames "
          f"{size}x{size}, {chunk} frames per UNet call, dtype {dtype}")
    print(f"  estimate {est.describe()}")
    print("  estimated phases: " + ", ".join(f"{k} {v / 2**30:.2f} GiB"
                                              for k, v in est.phases.items()))
    print("  measured peak: " + (f"{peak / 2**30:.2f} GiB (drag {peak_iter / 2**30:.2f}, "
                                  f"denoise {peak_step / 2**30:.2f}, dift "
                                  f"{peak_dift / 2**30:.2f})" if cuda else "n/a (CPU)"))
    print(f"  drag iteration: {per_iter:.3f} s; denoise step (2 branches): {per_step:.3f} s")
    print(f"  DIFT propagation (ensemble 4, {_DIFT_POINTS} points): {per_dift:.3f} s a frame, "
          f"at most {held} frames of features held")
    print(f"  projected drag, {frames} frames {size}x{size} (60 iterations + 42 denoise "
          f"steps, no LoRA/inversion): {total:.1f} s")

_DIFT_POINTS = 9 + 32  # one 3×3 handle set and a mask's points


def _dift(unet, frames, chunk, lat, size, cond, schedule, sync):
    """Seconds per frame and peak bytes (CUDA) of streamed DIFT tracking over ``frames``
    random latents, ``chunk`` frames per UNet call; and the most frames of features held."""
    import numpy as np
    import torch

    from motionwright.methods.dragavideo.ddim import make_train_alphas
    from motionwright.methods.dragavideo.dift import StreamedFeatures, dift_features, dift_track

    cuda = cond.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    alphas = make_train_alphas(SCHEDULER)
    latents = torch.randn(frames, 4, lat, lat, device=cond.device, dtype=cond.dtype)

    def compute(rows):
        return dift_features(unet, latents[rows.start:rows.stop], cond, alphas, list(rows),
                             ensemble=4, batch=chunk)

    stream = StreamedFeatures(compute, frames, chunk)
    points = np.random.default_rng(0).uniform(0, size - 1, (_DIFT_POINTS, 2)).astype(np.float32)
    sync()
    t0 = time.perf_counter()
    with torch.no_grad():
        dift_track(stream, points, 0, (size, size))
    sync()
    per_frame = (time.perf_counter() - t0) / frames
    return per_frame, torch.cuda.max_memory_allocated() if cuda else None, stream.held_most


if __name__ == "__main__":
    main()
