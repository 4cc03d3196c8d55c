"""The motion-text embedding of Reenact Anything (§3.4) and how it reaches the SVD UNet.

The embedding is ``(F+1, N, d)``: frame ``f``'s N tokens condition the *spatial*
cross-attention of frame ``f`` only, and the last group of N tokens conditions the *temporal*
cross-attention at every pixel.

In diffusers' SVD UNet, ``encoder_hidden_states`` ``(B, T, d)`` is repeated to every frame for
the spatial blocks (attention batch ``B·F``, frame-major within each sample) and the first
frame's copy is broadcast to every pixel for the temporal blocks (attention batch ``B·h·w``).
The UNet's forward takes no ``cross_attention_kwargs``, so the tokens travel by reference: a
:class:`MotionTokenBank` holds the current ``(B, F, N, d)`` spatial and ``(B, N, d)`` temporal
tokens, and two attention processors installed on the cross-attention sites replace what the
UNet passes with the right group — row ``b·F + f`` of a spatial site gets ``spatial[b, f]``, row
``b·h·w + p`` of a temporal site gets ``temporal[b]``. Gradients flow to the bank's tensors,
including through recomputed (checkpointed) blocks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..models.hooks import ProcessorWrapper, attention_processors

SPATIAL_CROSS = "spatial-cross"
TEMPORAL_CROSS = "temporal-cross"


class MotionTokenBank:
    """The tokens the routing processors read: ``spatial (B, F, N, d)``, ``temporal (B, N, d)``.

    Set them before each UNet call with :meth:`set`; keep them unchanged until the backward
    pass of that call is done.
    """

    def __init__(self) -> None:
        self.spatial = None
        self.temporal = None

    def set(self, spatial, temporal) -> None:
        """Install the tokens for the next UNet call (shapes checked against each other)."""
        if spatial.ndim != 4 or temporal.ndim != 3:
            raise ValueError(f"expected spatial (B, F, N, d) and temporal (B, N, d) tokens, got "
                             f"{tuple(spatial.shape)} and {tuple(temporal.shape)}")
        if spatial.shape[0] != temporal.shape[0] or spatial.shape[3] != temporal.shape[2]:
            raise ValueError(f"spatial {tuple(spatial.shape)} and temporal "
                             f"{tuple(temporal.shape)} tokens disagree on batch or width")
        self.spatial = spatial
        self.temporal = temporal

    def _need(self):
        if self.spatial is None:
            raise RuntimeError("the motion token bank is empty: call bank.set(...) before the UNet")


class _TokenProcessor(ProcessorWrapper):
    """A cross-attention processor that reads its context from a :class:`MotionTokenBank`."""

    def __init__(self, inner: Any, bank: MotionTokenBank) -> None:
        super().__init__(inner)
        self.bank = bank


class FrameTokenProcessor(_TokenProcessor):
    """Spatial cross-attention: each frame attends to its own group of N tokens."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, image_rotary_emb=None, **kwargs):
        self.bank._need()
        batch, frames, n, d = self.bank.spatial.shape
        rows = hidden_states.shape[0]
        if rows != batch * frames:
            raise RuntimeError(
                f"spatial cross-attention got {rows} rows but the motion tokens are for batch "
                f"{batch} x {frames} frames; the UNet must run with {frames} frames"
            )
        tokens = self.bank.spatial.reshape(batch * frames, n, d).to(
            device=hidden_states.device, dtype=hidden_states.dtype)
        return self.call_inner(attn, hidden_states, tokens, attention_mask, temb=temb,
                               image_rotary_emb=image_rotary_emb, **kwargs)


class TemporalTokenProcessor(_TokenProcessor):
    """Temporal cross-attention: every pixel attends to the temporal group of N tokens."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, image_rotary_emb=None, **kwargs):
        self.bank._need()
        batch = self.bank.temporal.shape[0]
        rows = hidden_states.shape[0]
        if rows % batch:
            raise RuntimeError(f"temporal cross-attention got {rows} rows, not a multiple of the "
                               f"motion tokens' batch {batch}")
        tokens = self.bank.temporal.to(device=hidden_states.device, dtype=hidden_states.dtype)
        tokens = tokens.repeat_interleave(rows // batch, dim=0)
        return self.call_inner(attn, hidden_states, tokens, attention_mask, temb=temb,
                               image_rotary_emb=image_rotary_emb, **kwargs)


@contextlib.contextmanager
def route_motion_tokens(unet, bank: MotionTokenBank) -> Iterator[dict[str, Any]]:
    """Install the routing processors on every cross-attention site of an SVD UNet.

    Yields ``{site name: processor}``. Raises ValueError if the UNet has no temporal or no
    spatial cross-attention (not an SVD-like UNet).
    """

    def make(site, current):
        if site.kind == SPATIAL_CROSS:
            return FrameTokenProcessor(current, bank)
        if site.kind == TEMPORAL_CROSS:
            return TemporalTokenProcessor(current, bank)
        return None

    with attention_processors(unet, make, (SPATIAL_CROSS, TEMPORAL_CROSS)) as installed:
        kinds = {type(p) for p in installed.values()}
        if kinds != {FrameTokenProcessor, TemporalTokenProcessor}:
            raise ValueError(f"{type(unet).__name__} lacks spatial or temporal cross-attention; "
                             "motion tokens need an SVD-like UNet")
        yield installed


def init_tokens(frame_embeddings, tokens_per_frame: int, *, generator=None,
                noise_scale: float = 0.1):
    """The starting motion-text embedding ``(F+1, N, d)`` float32 from CLIP image embeddings.

    ``frame_embeddings`` ``(F, d)`` are the reference frames' CLIP image embeddings, the
    conditioning SVD was trained with. Frame ``f``'s group starts as its own embedding repeated
    N times; the temporal group starts as the first frame's embedding, which is what SVD's
    temporal cross-attention reads. Each token slot ``j`` gets its own Gaussian offset of
    ``noise_scale`` times the embeddings' standard deviation, so the N tokens of a group differ
    (identical tokens would receive identical gradients forever). The offset of slot ``j`` is
    shared by all frame groups, so slot ``j`` means the same thing from frame to frame, which
    keeps :func:`resample_frames`'s interpolation between neighbouring groups meaningful.
    """
    import torch

    emb = torch.as_tensor(frame_embeddings, dtype=torch.float32)
    _frames, dim = emb.shape
    scale = noise_scale * float(emb.std())
    slot_noise = torch.randn(tokens_per_frame, dim, generator=generator) * scale
    temporal_noise = torch.randn(tokens_per_frame, dim, generator=generator) * scale
    spatial = emb[:, None, :] + slot_noise[None]
    temporal = emb[0][None, :] + temporal_noise
    return torch.cat([spatial, temporal[None]], dim=0)


def resample_frames(tokens, num_frames: int):
    """Resample the per-frame groups of ``tokens`` ``(F+1, N, d)`` to ``num_frames`` groups.

    Output group ``g`` sits at time ``t = g·(F−1)/(F'−1)`` on the learned frames' axis and is the
    linear interpolation, token slot by token slot, of learned groups ``⌊t⌋`` and ``⌈t⌉``; the
    first and last groups are kept exactly, and ``F' = F`` returns the tokens unchanged. The
    temporal group has no time axis and is kept as is. Works on numpy arrays and torch tensors.
    """
    import numpy as np

    is_numpy = isinstance(tokens, np.ndarray)
    arr = np.asarray(tokens, dtype=np.float32) if is_numpy else tokens
    frames = arr.shape[0] - 1
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if num_frames == frames:
        return tokens
    if num_frames == 1 or frames == 1:
        pos = np.zeros(num_frames)
    else:
        pos = np.linspace(0.0, frames - 1, num_frames)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, frames - 1)
    w = (pos - lo).astype(np.float32)[:, None, None]
    if is_numpy:
        groups = arr[lo] * (1.0 - w) + arr[hi] * w
        return np.concatenate([groups, arr[-1:]], axis=0).astype(np.float32)
    import torch

    wt = torch.as_tensor(w, dtype=arr.dtype, device=arr.device)
    lo_t = torch.as_tensor(lo, device=arr.device)
    hi_t = torch.as_tensor(hi, device=arr.device)
    groups = arr[lo_t] * (1.0 - wt) + arr[hi_t] * wt
    return torch.cat([groups, arr[-1:]], dim=0)


def apply_strength(tokens, image_embedding, strength: float):
    """Scale how much of the learned motion is applied (``MotionTransfer.strength``).

    ``image_embedding`` ``(d,)`` is the target image's own CLIP embedding — what SVD would use
    without a motion. The result is ``e + s·(m − e)``: ``s = 1`` is the learned motion, smaller
    values move toward SVD's own motion for the image, larger ones exaggerate.
    """
    if strength == 1.0:
        return tokens
    base = image_embedding.reshape(1, 1, -1)
    return base + strength * (tokens - base)
