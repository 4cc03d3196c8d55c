"""LoRA fine-tuning of the UNet's attention on the clip's own frames (§4.1, after DragDiffusion).

Before dragging, low-rank adapters on every attention projection (``to_q``, ``to_k``,
``to_v``, ``to_out.0``) are trained with the standard noise-prediction loss on the clip's
latents, so inversion and denoising reproduce this footage more faithfully. DragDiffusion's
settings: rank 16, AdamW lr 5e-4, batch 4, 80 steps. The adapter is removed afterwards
(:func:`clip_lora` is a context manager), leaving the shared model untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

ADAPTER = "motionwright_drag"
TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


@contextlib.contextmanager
def clip_lora(unet, latents, cond, alphas_cumprod, *, steps: int, rank: int = 16,
              lr: float = 5e-4, batch: int = 4, seed: int = 0, step=None) -> Iterator[list]:
    """Train a LoRA on ``latents`` ``(F, 4, h, w)`` (clean, scaled) for ``steps`` steps and keep
    it active while the block runs; yields the loss per step. ``step()`` is called after each
    step (progress/cancel). ``steps`` = 0 trains nothing and adds no adapter."""
    import torch

    if steps <= 0:
        yield []
        return
    from ...errors import require_extra

    require_extra("peft", "diffusion", "LoRA fine-tuning (--lora-steps)")
    from peft import LoraConfig

    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                target_modules=list(TARGETS)), adapter_name=ADAPTER)
    losses: list[float] = []
    try:
        params = [p for n, p in unet.named_parameters() if "lora" in n]
        saved = {id(p): p.requires_grad for p in unet.parameters()}
        for p in unet.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
            p.data = p.data.float()
        opt = torch.optim.AdamW(params, lr=lr)
        gen = torch.Generator("cpu").manual_seed(seed)
        acp = alphas_cumprod.to(latents.device)
        train_steps = len(acp)
        for _ in range(steps):
            idx = torch.randint(0, len(latents), (min(batch, len(latents)),), generator=gen)
            x0 = latents[idx.to(latents.device)]
            noise = torch.randn(x0.shape, generator=gen).to(x0.device, x0.dtype)
            t = torch.randint(0, train_steps, (len(x0),), generator=gen).to(x0.device)
            a = acp[t].view(-1, 1, 1, 1).to(x0.dtype)
            noisy = a.sqrt() * x0 + (1 - a).sqrt() * noise
            pred = unet(noisy, t, encoder_hidden_states=cond.expand(len(x0), -1, -1)).sample
            loss = torch.nn.functional.mse_loss(pred.float(), noise.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if step is not None:
                step()
        for p in unet.parameters():
            p.requires_grad_(saved.get(id(p), False))
        dtype = next(p for n, p in unet.named_parameters() if "lora" not in n).dtype
        for p in params:
            p.requires_grad_(False)
            p.data = p.data.to(dtype)
        yield losses
    finally:
        _remove(unet)


def _remove(unet) -> None:
    """Take the adapter out and put every wrapped layer's original module back in place."""
    from peft.tuners.lora import LoraLayer

    unet.delete_adapters(ADAPTER)
    modules = dict(unet.named_modules())
    for name, module in list(modules.items()):
        if isinstance(module, LoraLayer) and hasattr(module, "base_layer"):
            parent_name, _, child = name.rpartition(".")
            setattr(modules[parent_name] if parent_name else unet, child, module.base_layer)
    if getattr(unet, "peft_config", None) is not None and not unet.peft_config:
        del unet.peft_config
    unet._hf_peft_config_loaded = False
