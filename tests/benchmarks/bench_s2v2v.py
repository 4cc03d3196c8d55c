"""S²V2V benchmark: seconds per sampling step with and without guidance, and peak memory per
memory policy, for each model kind.

Run ``python tests/benchmarks/bench_s2v2v.py [--kind zeroscope|animatediff|cogvideox]``. On a
CUDA machine it builds the full-size denoiser with random weights on the GPU (speed and memory
do not depend on weight values) at the paper's setting — ZeroScope 24 frames of 576×320,
AnimateDiff 16 frames of 512², CogVideoX-2B 49 frames of 720×480 — and prints, per policy:

- an unguided step (the conditional and unconditional passes, no gradients) and a guided step
  (eq. 2: the conditional pass with feature hooks, the patterns of eq. 3–4 and the loss of eq. 5
  on two points, the backward pass to the latents, then the unconditional pass), median seconds;
- the ratio guided / unguided (goal ≤ 1.6) and the measured peak memory next to the estimate of
  :func:`motionwright.methods.s2v2v.policy.estimate_guided` (goal ≤ 24 GB);
- the projected time of the paper's run (30 guided steps plus 30 inversion steps for a
  reference; 50 guided steps for a box path).

Only the denoiser is built (the VAE and text encoder run once per video, and ``balanced`` /
``lowvram`` offload them), so the offload part of those policies does not show here; their
activation checkpointing and feed-forward chunking do. ``--tiny`` (or no GPU) runs the tiny
test models on the CPU: those figures measure the code path, not the targets.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GIB = 1024 ** 3
PAPER_STEPS = {"zeroscope": (30, True), "animatediff": (50, False), "cogvideox": (50, False)}


def build(kind: str, tiny: bool, device, dtype):
    """``(denoiser, latent frames, latent (h, w), text tokens)``."""
    if tiny:
        from motionwright.models.loading import load_model
        from tiny_models import tiny_model

        loaded = load_model(kind, str(tiny_model(kind)), device="cpu", dtype="fp32")
        frames = 3 if kind == "cogvideox" else 4
        return loaded.denoiser, frames, (8, 8), 16 if kind == "cogvideox" else 77
    from tiny_s2v2v import PAPER_SHAPES, full_size_denoiser

    model = full_size_denoiser(kind, device=str(device)).to(device, dtype)
    _, lat_f, h, w = PAPER_SHAPES[kind]
    return model, lat_f, (h, w), 226 if kind == "cogvideox" else 77


def timed(fn, device, repeat: int) -> float:
    import torch

    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(kind: str, tiny: bool, repeat: int) -> None:
    import torch

    from motionwright.methods.s2v2v.guidance import WeightSchedule
    from motionwright.methods.s2v2v.kinds import feature_layers
    from motionwright.methods.s2v2v.patterns import neighbour_region
    from motionwright.methods.s2v2v.policy import estimate_guided
    from motionwright.methods.s2v2v.sampler import (
        Denoiser,
        WindowGuide,
        guided_step_noise,
        reference_patterns,
    )
    from motionwright.models.hooks import activation_checkpointing
    from motionwright.models.loading import set_forward_chunking
    from motionwright.models.memory import ORDER, format_bytes, get_policy

    cuda = torch.cuda.is_available() and not tiny
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.float16 if cuda else torch.float32
    model, frames, hw, tokens = build(kind, not cuda, device, dtype)
    patch = int(model.config.patch_size) if kind == "cogvideox" else 1
    den = Denoiser(SimpleNamespace(denoiser=model), kind, feature_layers(model, kind),
                   "epsilon", patch, hw, lambda f: None)
    width = model.config.text_embed_dim if kind == "cogvideox" else model.config.cross_attention_dim
    cond = torch.randn(1, tokens, width, device=device, dtype=dtype)
    channels = model.config.in_channels
    z = torch.randn(1, channels, frames, *hw, device=device)
    track = torch.tensor([[[hw[1] * 0.3, hw[0] * 0.4], [hw[1] * 0.6, hw[0] * 0.5]]] * frames)

    def cells(name, grid):
        t = track.clone()
        t[..., 0] *= grid[1] / hw[1]
        t[..., 1] *= grid[0] / hw[0]
        return t.to(device)

    with torch.no_grad():
        _, feats = den.features(z, 1, cond, 0.99, grad=False)
    regions = {n: neighbour_region(cells(n, f.shape[1:3]).cpu(), f.shape[1:3],
                                   min(16, f.shape[1] * f.shape[2])).to(device)
               for n, f in feats.items()}
    guide = WindowGuide(reference_patterns(den, feats, cells, regions, 10.0), regions,
                        torch.ones(2, frames, dtype=torch.bool, device=device))
    del feats
    steps, reference = PAPER_STEPS[kind]
    where = f"{device.type} {torch.cuda.get_device_name() if cuda else ''}".strip()
    print(f"{kind}: {frames} latent frames of {hw[1]}x{hw[0]}, {len(den.layers)} feature "
          f"layers, {dtype} on {where}" + ("" if cuda else " (tiny model: code path only)"))
    for name in ORDER:
        policy = get_policy(name)
        set_forward_chunking(model, policy.forward_chunking)
        pred = policy.checkpoint_predicate()
        est = estimate_guided(model, kind, frames=frames, latent_hw=hw, dtype=dtype,
                              tokens=tokens, policy=policy)
        with activation_checkpointing(model, pred) if pred else _null():
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()

            def unguided():
                guided_step_noise(den, z, 500, 0.5, cond, cond, 7.5, None, 0.0, 10.0, cells,
                                  1e9, 0)

            def guided():
                guided_step_noise(den, z, 500, 0.5, cond, cond, 7.5, guide,
                                  WeightSchedule().weight, 10.0, cells, 1e30, 0)

            try:
                plain = timed(unguided, device, repeat)
                peak_plain = torch.cuda.max_memory_allocated() if cuda else 0
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                full = timed(guided, device, repeat)
                peak = torch.cuda.max_memory_allocated() if cuda else 0
            except torch.OutOfMemoryError:
                print(f"  {name:9s} out of memory (estimate {format_bytes(est)})")
                continue
        total = steps * full + (steps * plain / 2 if reference else 0)
        mem = (f"peak {format_bytes(peak)} (unguided {format_bytes(peak_plain)}), "
               if cuda else "")
        print(f"  {name:9s} unguided {plain:.3f} s/step, guided {full:.3f} s/step "
              f"({full / plain:.2f}x); {mem}estimate {format_bytes(est)}; projected "
              f"{steps} steps{' + inversion' if reference else ''}: {total:.0f} s")


class _null:
    def __enter__(self):
        return 0

    def __exit__(self, *exc):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=("zeroscope", "animatediff", "cogvideox", "all"),
                        default="all")
    parser.add_argument("--tiny", action="store_true", help="tiny models on the CPU")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    kinds = ("zeroscope", "animatediff", "cogvideox") if args.kind == "all" else (args.kind,)
    for kind in kinds:
        bench(kind, args.tiny, args.repeat)


if __name__ == "__main__":
    main()
