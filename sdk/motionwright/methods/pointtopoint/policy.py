"""Memory of a Point-to-Point edit: a VRAM estimate per policy and the choice among them.

The estimate adds what is held at the peak of each phase — the model weights on the device
(all of them, or the largest component under model offload), the motion tokens and their
distance matrix (anchor selection: up to 3·h·w tokens of T frames), and the UNet activations
of one window: a forward pass of 2·T frames (CFG) while sampling, the activations saved for
the backward pass while fine-tuning the MLPs, or the VAE decoding a few frames at a time.
The activation figures per latent cell and frame are coarse constants calibrated on published
AnimateDiff numbers (13–18 GB for 16 frames at 512² with CFG in fp16);
``tests/benchmarks/bench_pointtopoint.py`` prints them next to the measured peak.
"""

from __future__ import annotations

from typing import Any

from ...models.estimate import VramEstimate
from .settings import PointToPointSettings

# Bytes per latent cell and frame in fp16 (doubled for float32).
_FORWARD_PER_CELL = 100_000
_SAVED_PER_CELL = {"none": 600_000, "transformers": 250_000, "all": 80_000}
# The SD VAE decoder's peak per latent cell of each frame decoded at once (≈ 1.2 GB per 512²
# frame in fp16).
_DECODE_PER_CELL = 300_000


def _param_bytes(module, itemsize: int) -> int:
    return sum(p.numel() for p in module.parameters()) * itemsize


def estimate(loaded, size: tuple[int, int], frames: int, settings: PointToPointSettings,
             policy) -> VramEstimate:
    """The estimated peak of editing one window of ``frames`` frames at working ``size``
    ``(w, h)`` under ``policy``."""
    import torch

    pipe = loaded.pipeline
    item = torch.empty((), dtype=loaded.dtype).element_size()
    scale = int(getattr(pipe, "vae_scale_factor", 8))
    cells = (size[0] // scale) * (size[1] // scale)
    comps = {"unet": _param_bytes(pipe.unet, item), "vae": _param_bytes(pipe.vae, item),
             "text_encoder": _param_bytes(pipe.text_encoder, item)}
    weights = max(comps.values()) if policy.offload != "none" else sum(comps.values())
    feature_dim = int(pipe.unet.config.block_out_channels[-1])
    tokens = 3 * cells
    selection = tokens * frames * feature_dim * 4 * 2 + tokens * tokens * 4 * 3
    factor = item / 2
    sampling = int(2 * frames * cells * _FORWARD_PER_CELL * factor)
    training = int(frames * cells * _SAVED_PER_CELL[policy.checkpointing] * factor)
    from .run import decode_chunk

    decoding = int(decode_chunk(policy) * cells * _DECODE_PER_CELL * factor)
    phases = {"anchor selection": selection, "fine-tuning": training, "sampling": sampling,
              "decoding": decoding}
    peak_phase = max(phases, key=phases.get)
    parts = {"weights": weights, peak_phase: phases[peak_phase]}
    return VramEstimate(policy.name, sum(parts.values()), parts, phases)


def estimates(loaded, size: tuple[int, int], frames: int, settings: PointToPointSettings,
              names: tuple[str, ...] = ("gpu", "balanced", "lowvram")) -> dict:
    """``{policy name: VramEstimate}`` for each of ``names``."""
    from ...models.memory import get_policy

    return {n: estimate(loaded, size, frames, settings, get_policy(n)) for n in names}


def choose_policy_for(loaded, size: tuple[int, int], frames: int, memory: Any,
                      settings: PointToPointSettings):
    """The policy to edit with: ``memory`` as named, or (``auto``/None) the fastest whose
    estimate fits the free accelerator memory; the ``gpu`` policy on the CPU."""
    from ...models.device import memory_available
    from ...models.memory import ORDER, choose_policy, get_policy

    if memory is not None and not isinstance(memory, str):
        return memory
    requested = "auto" if memory in (None, "auto") else memory
    available = memory_available(loaded.device)
    if available is None:
        return get_policy("gpu") if requested == "auto" else get_policy(requested)
    est = {k: v.peak_bytes for k, v in estimates(loaded, size, frames, settings, ORDER).items()}
    return choose_policy(est, available[0], requested, what="the Point-to-Point edit",
                         device=str(loaded.device))
