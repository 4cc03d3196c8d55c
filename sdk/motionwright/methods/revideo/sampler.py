"""ReVideo's sampling: SVD's EDM Euler sampler with the control module's residuals.

As the authors' inference (on Stability's ``sgm``): noise levels of EDM's discretisation
(σ_max 700, σ_min 0.002, ρ 7, eq. of Karras et al. (5)), the start noise scaled by
``√(1 + σ₀²)``, a first-order Euler step per level without churn, and classifier-free
guidance whose scale ramps linearly over the frames (1 → 4): the unconditional branch has a
zero CLIP embedding and a zero first-frame latent, and both branches receive the same control
residuals. Denoising uses SVD's v-parameterised preconditioning (:mod:`..svd_edm`, eq. 2).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .. import svd_edm
from .settings import RHO, SIGMA_MAX, SIGMA_MIN


def edm_sigmas(steps: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX,
               rho: float = RHO) -> torch.Tensor:
    """``steps + 1`` noise levels from ``sigma_max`` down to ``sigma_min`` then 0 (Karras et
    al. eq. 5): ``(σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ``."""
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)]).float()


def guidance_ramp(frames: int, first: float, last: float) -> torch.Tensor:
    """Per-frame guidance scales ``(frames,)`` rising linearly from ``first`` to ``last``."""
    return torch.linspace(first, last, frames)


def guided(uncond: torch.Tensor, cond: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Classifier-free guidance ``u + s_f (c − u)`` with per-frame ``scales`` on
    ``(B, F, C, h, w)`` predictions."""
    return uncond + scales.reshape(1, -1, 1, 1, 1).to(cond) * (cond - uncond)


def denoise(unet, control, holder, noisy, sigma, image_latent, context, time_ids, conds,
            scale: float = 1.0) -> torch.Tensor:
    """``D(x; σ)`` ``(B, F, C, h, w)`` float32 with the control residuals added to the UNet.

    ``conds`` is ``{"motion", "content", "mask"}`` at the control module's condition size,
    batched like ``noisy``.
    """
    dtype = next(unet.parameters()).dtype
    c_skip, c_out, c_in, c_noise = (c.to(noisy.device) for c in svd_edm.preconditioning(sigma))
    frames = noisy.shape[1]
    expand = svd_edm._expand
    cond = image_latent[:, None].expand(-1, frames, -1, -1, -1)
    model_in = torch.cat([noisy * expand(c_in, noisy.ndim), cond.to(noisy.dtype)], dim=2)
    model_in = model_in.to(dtype)
    t = c_noise.to(dtype).reshape(-1).expand(noisy.shape[0])
    ctx, ids = context.to(dtype), time_ids.to(dtype)
    if control is not None:
        down, mid = control(model_in, t, ctx, ids, **conds)
        holder.set(down, mid, scale)
    try:
        out = unet(model_in, t, encoder_hidden_states=ctx, added_time_ids=ids,
                   return_dict=False)[0]
    finally:
        holder.clear()
    return expand(c_skip, noisy.ndim) * noisy + expand(c_out, noisy.ndim) * out.float()


def sample(unet, control, holder, *, shape: tuple[int, ...], image_latent, context, time_ids,
           conds: dict[str, Any], steps: int, guidance: tuple[float, float],
           generator: torch.Generator, scale: float = 1.0, reporter=None,
           device=None) -> torch.Tensor:
    """Sample latents ``shape`` ``(1, F, C, h, w)`` (float32). ``reporter.step()`` runs after
    every step (it raises when cancelled); non-finite latents raise FloatingPointError."""
    sigmas = edm_sigmas(steps)
    x = torch.randn(shape, generator=generator).to(device) * math.sqrt(1.0 + float(sigmas[0]) ** 2)
    use_cfg = guidance[1] > 1.0 or guidance[0] != 1.0
    frames = shape[1]
    scales = guidance_ramp(frames, *guidance)
    if use_cfg:
        latent2 = torch.cat([torch.zeros_like(image_latent), image_latent])
        context2 = torch.cat([torch.zeros_like(context), context])
        ids2 = torch.cat([time_ids, time_ids])
        conds2 = {k: torch.cat([v, v]) for k, v in conds.items()}
    for i in range(steps):
        sigma, nxt = sigmas[i], sigmas[i + 1]
        if use_cfg:
            both = denoise(unet, control, holder, torch.cat([x, x]), sigma.repeat(2), latent2,
                           context2, ids2, conds2, scale)
            den = guided(both[:1], both[1:], scales)
        else:
            den = denoise(unet, control, holder, x, sigma.reshape(1), image_latent, context,
                          time_ids, conds, scale)
        d = (x - den) / float(sigma)
        x = x + d * float(nxt - sigma)
        if not torch.isfinite(x).all():
            raise FloatingPointError(
                f"sampling produced non-finite latents at step {i + 1} of {steps}; lower the "
                f"guidance or the control scale, or use fp32/bf16 (--dtype)")
        if reporter is not None:
            reporter.step()
    return x
