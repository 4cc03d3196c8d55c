"""VRAM estimates and the memory policy of a ReVideo render.

On top of SVD generation (:func:`motionwright.models.estimate.estimate_svd_generation`: UNet,
VAE and image encoder weights, UNet activations, chunked VAE decode) a render holds the
control module's weights, its activations (traced on the meta device, as the UNet's) and
the residuals it hands to the UNet: 12 skip tensors and the mid-block tensor for both guidance
branches and every frame of the window, alive while the UNet runs. Under an offloading policy
the control module sits on the GPU with the UNet, so it counts in the UNet phase.
"""

from __future__ import annotations

from typing import Any

from ...models.estimate import VramEstimate, _trace, _weights_bytes, meta_copy
from ...models.memory import MemoryPolicy, get_policy


def control_inputs(control, *, batch: int, frames: int, latent_hw: tuple[int, int],
                   cond_hw: tuple[int, int], dtype, embed: int):
    """Meta inputs ``(args, kwargs)`` for a control-module forward."""
    import torch

    h, w = latent_hw
    ch, cw = cond_hw
    meta = {"device": "meta", "dtype": dtype}
    args = (torch.empty(batch, frames, int(control.config.in_channels), h, w, **meta),
            torch.empty(batch, **meta), torch.empty(batch, 1, embed, **meta),
            torch.empty(batch, 3, **meta))
    kwargs = {"motion": torch.empty(batch, frames, 2, ch, cw, **meta),
              "content": torch.empty(batch, frames, 3, ch, cw, **meta),
              "mask": torch.empty(batch, frames, 1, ch, cw, **meta)}
    return args, kwargs


def estimate_revideo(unet, vae, image_encoder, control, *, frames: int,
                     latent_hw: tuple[int, int], dtype, guidance: bool,
                     policy: str | MemoryPolicy) -> VramEstimate:
    """Estimated peak bytes of one ReVideo window of ``frames`` frames."""
    from ...models.estimate import estimate_svd_generation

    policy = get_policy(policy)
    base = estimate_svd_generation(unet, vae, image_encoder, frames=frames, latent_hw=latent_hw,
                                   dtype=dtype, guidance=guidance, policy=policy)
    batch = 2 if guidance else 1
    stages = len(control.config.encoder_channels) - 1
    cond_hw = (latent_hw[0] * 2 ** stages, latent_hw[1] * 2 ** stages)
    ctl_meta = meta_copy(control, dtype)
    args, kwargs = control_inputs(ctl_meta, batch=batch, frames=frames, latent_hw=latent_hw,
                                  cond_hw=cond_hw, dtype=dtype,
                                  embed=int(unet.config.cross_attention_dim))
    residuals: dict[str, int] = {"bytes": 0}

    def run():
        down, mid = ctl_meta(*args, **kwargs)
        residuals["bytes"] = sum(t.numel() * t.element_size() for t in (*down, mid))

    trace = _trace(ctl_meta, run, None, training=False)
    factor = 2 if policy.forward_chunking else 4
    ctl_act = trace.skip_bytes + factor * trace.largest_output
    ctl_w = _weights_bytes(control, dtype)
    extra = ctl_w + residuals["bytes"]
    parts = dict(base.parts)
    parts["control module weights"] = ctl_w
    parts["control residuals"] = residuals["bytes"]
    # The control module runs before the UNet within a step: the larger activation phase.
    peak = base.peak_bytes + extra + max(ctl_act - _unet_activations(base), 0)
    return VramEstimate(policy.name, peak, parts)


def _unet_activations(base: VramEstimate) -> int:
    return base.parts.get("activations", 0)


def choose_render_policy(loaded, control, frames: int, latent_hw: tuple[int, int],
                         memory: Any, guidance: bool) -> tuple[MemoryPolicy, int | None]:
    """As requested, or the fastest policy whose estimate fits the free accelerator memory;
    returns it and its estimate (None on the CPU)."""
    from ...models.device import memory_available
    from ...models.memory import ORDER, choose_policy

    available = memory_available(loaded.device)
    if available is None:
        return (get_policy("gpu") if memory in (None, "auto") else get_policy(memory)), None
    pipe = loaded.pipeline
    estimates = {name: estimate_revideo(pipe.unet, pipe.vae, pipe.image_encoder, control,
                                        frames=frames, latent_hw=latent_hw, dtype=loaded.dtype,
                                        guidance=guidance, policy=name).peak_bytes
                 for name in ORDER}
    chosen = choose_policy(estimates, available[0], memory or "auto",
                           what="rendering a trajectory edit", device=str(loaded.device))
    return chosen, estimates.get(chosen.name)
