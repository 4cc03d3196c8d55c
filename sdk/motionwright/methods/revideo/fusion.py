"""ReVideo's condition encoders and the spatiotemporal adaptive fusion module (SAFM, §3.4).

- :class:`ConditionEncoder` is E_c / E_m (App. A.3): a stem convolution, then three sub-blocks
  of a convolution and a stride-2 downsampling convolution, mapping a condition map at pixel
  resolution to the latent size (÷8) and the control module's first width; the last
  projection starts at zero, so an untrained module adds nothing (as ControlNet's zero-conv).
- :class:`AdaptiveFusion` is the SAFM: H(M, t) — the editing mask and the noise-level input
  ``t`` broadcast as a second channel — predicts the weight map Γ through the same encoder
  shape and a sigmoid, and :func:`fuse` combines the two embeddings (eq. 5). A final 3×3
  convolution follows the fusion, as in the authors' released module.

On Γ's orientation: eq. 5 writes ``f_c = E_c(c_con)·Γ + E_m(c_mot)·(1 − Γ)``; the authors'
released checkpoint weights the motion embedding by the predicted map and the content
embedding by its complement. The two differ only by the name of the learned map (Γ ↔ 1 − Γ),
so :func:`fuse` follows the checkpoint (``content·(1 − Γ) + motion·Γ``): the official weights
then load without flipping the sigmoid, and Γ reads as "how much motion control" (high inside
the edited region, as the paper's Fig. 5 describes).

Tensors: condition maps ``(B·F, C, H, W)``; embeddings ``(B·F, C0, H/8, W/8)``; ``t``
``(B·F,)``.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ENCODER_CHANNELS = (16, 32, 96, 256)


def fuse(content: Any, motion: Any, gamma: Any) -> Any:
    """Eq. 5 (checkpoint orientation): ``content · (1 − Γ) + motion · Γ``."""
    return content * (1.0 - gamma) + motion * gamma


def _encoder_layers(in_channels: int, out_channels: int, widths: tuple[int, ...]):
    stem = nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1)
    blocks = nn.ModuleList()
    for c_in, c_out in itertools.pairwise(widths):
        blocks.append(nn.Conv2d(c_in, c_in, kernel_size=3, padding=1))
        blocks.append(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, stride=2))
    head = nn.Conv2d(widths[-1], out_channels, kernel_size=3, padding=1)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    return stem, blocks, head


class ConditionEncoder(nn.Module):
    """E_c or E_m: ``(N, in_channels, H, W)`` -> ``(N, out_channels, H/8, W/8)``."""

    def __init__(self, in_channels: int, out_channels: int,
                 widths: tuple[int, ...] = ENCODER_CHANNELS) -> None:
        super().__init__()
        self.conv_in, self.blocks, self.conv_out = _encoder_layers(
            in_channels, out_channels, tuple(widths))

    def forward(self, x):
        h = F.silu(self.conv_in(x))
        for block in self.blocks:
            h = F.silu(block(h))
        return self.conv_out(h)


class AdaptiveFusion(nn.Module):
    """SAFM: Γ = σ(H(M, t)), then :func:`fuse` and a 3×3 convolution."""

    def __init__(self, out_channels: int, mask_channels: int = 1,
                 widths: tuple[int, ...] = ENCODER_CHANNELS) -> None:
        super().__init__()
        self.conv_in, self.blocks, self.conv_out = _encoder_layers(
            2 * mask_channels, out_channels, tuple(widths))
        self.conv_final = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)

    def weight(self, mask, t):
        """Γ ``(N, C0, H/8, W/8)`` in (0, 1) from ``mask`` ``(N, 1, H, W)`` and ``t`` ``(N,)``:
        the timestep enters as a constant channel next to the mask."""
        t_map = t.to(mask.dtype).reshape(-1, 1, 1, 1).expand(mask.shape)
        h = F.silu(self.conv_in(torch.cat([mask, t_map], dim=1)))
        for block in self.blocks:
            h = F.silu(block(h))
        return self.conv_out(h).sigmoid()

    def forward(self, content, motion, mask, t):
        return self.conv_final(fuse(content, motion, self.weight(mask, t)))
