"""Text and VAE encoding of a drag: prompt embedding, frame latents, decoded crops."""

from __future__ import annotations

import numpy as np


def encode_text(pipe, prompt: str, device):
    """The text encoder's hidden states ``(1, tokens, d)`` of ``prompt`` (no gradient)."""
    import torch

    tok = pipe.tokenizer(prompt, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                         truncation=True, return_tensors="pt")
    with torch.no_grad():
        return pipe.text_encoder(tok.input_ids.to(device))[0]


def encode_frames(vae, crops: np.ndarray, device, dtype, chunk: int):
    """Scaled VAE latents ``(T, 4, h, w)`` (the posterior mean) of uint8 ``(T, H, W, 3)``
    crops, ``chunk`` frames per VAE call."""
    import torch

    from .._frames import to_model_range

    out = []
    with torch.no_grad():
        for i in range(0, len(crops), chunk):
            x = to_model_range(crops[i:i + chunk]).to(device, dtype)
            out.append(vae.encode(x).latent_dist.mean * vae.config.scaling_factor)
    return torch.cat(out)


def decode_latents(vae, latents, chunk: int) -> np.ndarray:
    """Images ``(T, H, W, 3)`` uint8 of scaled latents ``(T, 4, h, w)``, ``chunk`` per call."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(latents), chunk):
            img = vae.decode(latents[i:i + chunk] / vae.config.scaling_factor).sample
            img = ((img.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            out.append(img.permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out)


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """An ``H×W×3`` frame as uint8 (uint16 frames keep their top 8 bits)."""
    return (frame >> 8).astype(np.uint8) if frame.dtype == np.uint16 else frame

