"""Diffusion features of a clip for motion tokens (App. "Feature Extraction").

"We add noise corresponding to timestep t to each frame of the source video and feed the
resulting noisy frames into the U-Net. We then extract features from an intermediate decoder
layer", normalised by eq. (6). The paper names neither t nor the layer: t = 261 and the output
of decoder block 1 (``up_blocks.1``, 1/16 of the image) are DIFT's choices, which VideoSwap —
the nearest public code — uses for its point features too. The whole window goes through the
AnimateDiff UNet at once, so the temporal layers see every frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...models.hooks import FeatureRecorder
from .tokens import normalise_features, sample_motion_tokens


def decoder_block_name(unet, block: int) -> str:
    """``"up_blocks.<k>"`` for ``block`` (clamped to the UNet's last decoder block)."""
    return f"up_blocks.{min(int(block), len(unet.up_blocks) - 1)}"


def video_unet(unet, latents, t, cond):
    """The AnimateDiff UNet's noise prediction for one video: ``latents`` ``(F, 4, h, w)``,
    ``cond`` ``(B, L, D)`` text embeddings (B = 1, or 2 for CFG with latents repeated).
    Returns ``(B·F, 4, h, w)``."""
    frames = latents.shape[0]
    batch = cond.shape[0]
    video = latents.reshape(1, *latents.shape).permute(0, 2, 1, 3, 4).expand(batch, -1, -1, -1,
                                                                             -1)
    # The UNet takes one text embedding per frame (diffusers' AnimateDiff pipeline repeats them).
    per_frame = cond.repeat_interleave(frames, dim=0)
    out = unet(video, t, encoder_hidden_states=per_frame).sample  # (B, 4, F, h, w)
    return out.permute(0, 2, 1, 3, 4).reshape(batch * frames, *latents.shape[1:])


def noised(latents, alpha: float, generator):
    """``√ᾱ·x0 + √(1−ᾱ)·ε`` with ε drawn from ``generator`` (per frame, on the CPU)."""
    import torch

    noise = torch.randn(latents.shape, generator=generator, dtype=torch.float32)
    noise = noise.to(latents.device, latents.dtype)
    return alpha ** 0.5 * latents + (1 - alpha) ** 0.5 * noise


def extract_features(unet, latents, cond, *, timestep: int, alpha: float, block: int,
                     generator) -> Any:
    """Eq. (6) features ``(F, C, h', w')`` float32 of clean latents ``(F, 4, h, w)``: noised to
    ``timestep`` (ᾱ = ``alpha``), one UNet pass with ``cond`` ``(1, L, D)``, the output of
    decoder block ``block`` minus its mean over frames."""
    import torch

    name = decoder_block_name(unet, block)
    with torch.no_grad(), FeatureRecorder(unet, [name]) as rec:
        video_unet(unet, noised(latents, alpha, generator), timestep, cond)
    return normalise_features(rec.features[name].float())


def to_feature_cells(tracks: np.ndarray, latent_hw: tuple[int, int],
                     feature_hw: tuple[int, int]) -> np.ndarray:
    """Latent-cell positions ``(T, N, 2)`` mapped to the cells of a feature map of another
    size (cell centres at integers in both)."""
    sy = feature_hw[0] / latent_hw[0]
    sx = feature_hw[1] / latent_hw[1]
    out = np.array(tracks, np.float32, copy=True)
    out[..., 0] = (out[..., 0] + 0.5) * sx - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * sy - 0.5
    return out


def motion_tokens(features, tracks_latent: np.ndarray, visible: np.ndarray,
                  latent_hw: tuple[int, int]):
    """Eq. (2) tokens ``(N, T, C)`` of tracks given in latent cells, read from ``features``
    ``(T, C, h', w')``."""
    cells = to_feature_cells(tracks_latent, latent_hw, tuple(features.shape[-2:]))
    return sample_motion_tokens(features, cells, visible)
