"""Memory policies for guided generation and their VRAM estimates.

Guidance back-propagates through the denoiser every step, so the activations the backward pass
keeps dominate. The shared policies (``motionwright.models.memory``) map to: ``gpu`` — nothing
recomputed; ``balanced`` — model CPU offload, transformer blocks recomputed in the backward
pass (activation checkpointing), the VAE 4 frames at a time; ``lowvram`` — every transformer and
residual block recomputed, feed-forward layers chunked, the VAE one frame at a time.
"""

from __future__ import annotations

from typing import Any

from ...models.memory import ORDER, MemoryPolicy, choose_policy, get_policy


def estimate_guided(denoiser, kind: str, *, frames: int, latent_hw: tuple[int, int], dtype,
                    tokens: int, policy: MemoryPolicy, feature_bytes: int = 0) -> int:
    """Peak accelerator bytes of one guided step of ``frames`` latent frames under ``policy``:
    the denoiser's weights, the tensors its backward pass keeps (traced on the meta device; with
    checkpointing, the recomputed blocks' inputs plus the largest block twice), the gradient
    w.r.t. the latents and the guidance patterns (``feature_bytes``)."""
    import torch

    from ...models.estimate import _saved_for_backward, _trace, _weights_bytes, meta_copy

    meta = meta_copy(denoiser, dtype)
    cfg = meta.config
    h, w = latent_hw
    if kind == "cogvideox":
        sample = torch.empty(1, frames, cfg.in_channels, h, w, device="meta", dtype=dtype,
                             requires_grad=True)
        text = torch.empty(1, tokens, cfg.text_embed_dim, device="meta", dtype=dtype)

        def run():
            return meta(hidden_states=sample, encoder_hidden_states=text,
                        timestep=torch.ones(1, device="meta", dtype=torch.long),
                        return_dict=False)[0]
    else:
        sample = torch.empty(1, cfg.in_channels, frames, h, w, device="meta", dtype=dtype,
                             requires_grad=True)
        rows = frames if kind == "animatediff" else 1  # UNetMotionModel: a text row per frame
        text = torch.empty(rows, tokens, cfg.cross_attention_dim, device="meta", dtype=dtype)

        def run():
            return meta(sample, torch.ones(1, device="meta"), encoder_hidden_states=text).sample
    trace = _trace(meta, run, policy.checkpoint_predicate(), training=True)
    saved = _saved_for_backward(trace, policy.checkpoint_predicate() is not None)
    latent = sample.numel() * 4
    return _weights_bytes(meta, dtype) + saved + 4 * latent + feature_bytes


def pattern_bytes(denoiser, kind: str, *, frames: int, latent_hw: tuple[int, int],
                  points: int, patch: int = 1) -> int:
    """Bytes of the guidance patterns of one window: for every feature layer, the fp32
    reference M̂ and the current M, its sparsified copy and their gradients (4 tensors of
    ``points × F × F × h × w``; eq. 3–5 grow with the square of the window's frames)."""
    from .kinds import feature_layers

    total = 0
    h, w = latent_hw
    for layer in feature_layers(denoiser, kind):
        if layer.tokens:
            cells = (h // patch) * (w // patch)
        else:  # decoder block b of a UNet works at 1/2^(levels-1-b) of the latent grid
            block = int(layer.name.split(".")[1])
            down = 2 ** max(0, len(denoiser.up_blocks) - 1 - block)
            cells = max(1, h // down) * max(1, w // down)
        total += 4 * 4 * points * frames * frames * cells
    return total


def resolve_policy(loaded, memory: Any, points: int = 4) -> MemoryPolicy:
    """The policy to run with: an explicit one as given; ``auto`` on the CPU is ``gpu`` (one
    device, nothing to offload); ``auto`` on an accelerator is the fastest whose estimate at the
    model's native window fits the free memory."""
    from ...models.device import memory_available
    from .kinds import NATIVE, kind_of, latent_frames, spatial_scale

    if memory is None or memory == "auto":
        free = memory_available(loaded.device)
        if free is None:
            return get_policy("gpu")
        kind = kind_of(loaded.family.name)
        (w, h), native = NATIVE[kind]
        scale = spatial_scale(loaded)
        tokens = 226 if kind == "cogvideox" else 77
        frames = latent_frames(kind, native, loaded)
        hw = (h // scale, w // scale)
        patch = int(loaded.denoiser.config.patch_size) if kind == "cogvideox" else 1
        extra = pattern_bytes(loaded.denoiser, kind, frames=frames, latent_hw=hw,
                              points=points, patch=patch)
        estimates = {name: estimate_guided(loaded.denoiser, kind, frames=frames, latent_hw=hw,
                                           dtype=loaded.dtype, tokens=tokens,
                                           policy=get_policy(name), feature_bytes=extra)
                     for name in ORDER}
        return choose_policy(estimates, free[0], "auto", what="guided generation",
                             device=str(loaded.device))
    return get_policy(memory)
