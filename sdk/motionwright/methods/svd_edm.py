"""Stable Video Diffusion's training objective: EDM denoising score matching (Reenact Anything
eq. 1-3), with SVD's noise distribution, preconditioning, loss weighting and conditioning.

- Noise levels: ``ln σ ~ N(P_mean, P_std²)`` with ``P_mean = 0.7``, ``P_std = 1.6``, the
  distribution SVD's high-resolution video fine-tuning uses.
- Preconditioning (eq. 2), v-parameterised with ``σ_data = 1`` as in SVD:
  ``c_skip = 1/(σ²+1)``, ``c_out = -σ/√(σ²+1)``, ``c_in = 1/√(σ²+1)``, ``c_noise = ¼ ln σ``
  (the same numbers diffusers' ``EulerDiscreteScheduler`` uses for SVD sampling).
- Loss weight ``λ(σ) = (σ² + σ_data²)/(σ·σ_data)² = (σ²+1)/σ²``.
- Conditioning: the unscaled VAE latent of the noise-augmented first frame, concatenated to
  every frame's noisy latent along channels; micro-conditioning ``(fps − 1, motion bucket,
  noise augmentation)``, as the diffusers SVD pipeline passes them.

Tensors: latents ``(B, F, C, h, w)``; ``sigma`` ``(B,)``; the first-frame latent ``(B, C, h, w)``;
``time_ids`` ``(B, 3)``; ``context`` ``(B, tokens, d)``.
"""

from __future__ import annotations

import math

P_MEAN = 0.7
P_STD = 1.6
SIGMA_DATA = 1.0
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def sigma_from_uniform(u):
    """Map uniforms ``u`` in (0, 1) to noise levels of SVD's log-normal distribution."""
    import torch

    u = torch.as_tensor(u, dtype=torch.float64).clamp(1e-7, 1 - 1e-7)
    return torch.exp(P_MEAN + P_STD * math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)).float()


def low_discrepancy_uniform(step: int, offset: float) -> float:
    """The ``step``-th point of a golden-ratio sequence starting at ``offset`` (in [0, 1)).

    Successive steps cover the noise levels evenly (same marginal distribution as independent
    draws, less variance over a short run), so a few hundred steps see every noise level.
    """
    return (offset + step * _GOLDEN) % 1.0


def preconditioning(sigma):
    """``(c_skip, c_out, c_in, c_noise)`` for noise levels ``sigma`` (eq. 2, σ_data = 1)."""
    import torch

    sigma = torch.as_tensor(sigma, dtype=torch.float32)
    denom = torch.sqrt(sigma**2 + SIGMA_DATA**2)
    c_skip = SIGMA_DATA**2 / (sigma**2 + SIGMA_DATA**2)
    c_out = -sigma * SIGMA_DATA / denom
    c_in = 1.0 / denom
    c_noise = 0.25 * torch.log(sigma)
    return c_skip, c_out, c_in, c_noise


def loss_weight(sigma):
    """EDM's ``λ(σ) = (σ² + σ_data²) / (σ σ_data)²``."""
    import torch

    sigma = torch.as_tensor(sigma, dtype=torch.float32)
    return (sigma**2 + SIGMA_DATA**2) / (sigma * SIGMA_DATA) ** 2


def add_time_ids(fps: float, motion_bucket_id: float, noise_aug_strength: float, batch: int,
                 *, dtype=None, device=None):
    """SVD's micro-conditioning ``(B, 3)``: ``fps - 1`` (as SVD was trained), bucket, noise aug."""
    import torch

    row = [float(fps) - 1.0, float(motion_bucket_id), float(noise_aug_strength)]
    return torch.tensor([row] * batch, dtype=dtype or torch.float32, device=device)


def _expand(c, ndim: int):
    return c.reshape(-1, *([1] * (ndim - 1)))


def denoise(unet, noisy, sigma, first_frame_latent, time_ids, context):
    """``D(x; σ, c)`` (eq. 2): the denoised latents ``(B, F, C, h, w)`` in float32."""
    import torch

    dtype = next(unet.parameters()).dtype
    c_skip, c_out, c_in, c_noise = (c.to(noisy.device) for c in preconditioning(sigma))
    frames = noisy.shape[1]
    cond = first_frame_latent[:, None].expand(-1, frames, -1, -1, -1)
    model_in = torch.cat([noisy * _expand(c_in, noisy.ndim), cond.to(noisy.dtype)], dim=2)
    out = unet(model_in.to(dtype), c_noise.to(dtype=dtype), encoder_hidden_states=context.to(dtype),
               added_time_ids=time_ids.to(dtype), return_dict=False)[0]
    return _expand(c_skip, noisy.ndim) * noisy + _expand(c_out, noisy.ndim) * out.float()


def edm_loss(unet, x0, noise, sigma, first_frame_latent, time_ids, context):
    """``λ(σ) ‖D(x0 + σn; σ, c) − x0‖²`` averaged over elements and batch (eq. 1/3)."""
    noisy = x0 + _expand(sigma.to(x0.device), x0.ndim) * noise
    denoised = denoise(unet, noisy, sigma, first_frame_latent, time_ids, context)
    per_sample = ((denoised - x0) ** 2).flatten(1).mean(dim=1)
    return (loss_weight(sigma).to(x0.device) * per_sample).mean()
