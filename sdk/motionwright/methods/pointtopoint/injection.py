"""Anchor-token injection (§ Anchor Token Selection, last paragraph; App. A).

"Each anchor token is projected by small, learnable MLPs and added element-wise along its
trajectory to the intermediate feature maps. Anchor tokens are injected only at their
locations, leaving other regions unchanged." Shaped as VideoSwap's sparse point adapter (the
paper follows Gu et al. 2024 and gives no layout): one MLP per UNet encoder level,
feature width → 128 → that level's channels; each anchor's projected per-frame token is
splatted bilinearly at its position on that frame at the level's resolution and added to the
level's output (and its skip connection). The last layer of every MLP starts at zero, so
before fine-tuning the injection changes nothing (ControlNet's zero init; a choice, the paper
is silent).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...models.hooks import forward_hooks


def _mlp_class():
    import torch

    class AnchorInjector(torch.nn.Module):
        """Per-level MLPs ``C → hidden → channels[i]`` projecting anchor tokens ``(K, T, C)``."""

        def __init__(self, feature_dim: int, channels: tuple[int, ...], hidden: int = 128):
            super().__init__()
            self.feature_dim = int(feature_dim)
            self.channels = tuple(int(c) for c in channels)
            self.mlps = torch.nn.ModuleList()
            for ch in self.channels:
                last = torch.nn.Linear(hidden, ch)
                torch.nn.init.zeros_(last.weight)
                torch.nn.init.zeros_(last.bias)
                self.mlps.append(torch.nn.Sequential(torch.nn.Linear(feature_dim, hidden),
                                                     torch.nn.SiLU(), last))

        def forward(self, tokens):
            """The projected tokens of every level: a list of ``(K, T, channels[i])``."""
            return [mlp(tokens) for mlp in self.mlps]

    return AnchorInjector


def make_injector(unet, feature_dim: int, hidden: int = 128):
    """An injector for ``unet``'s encoder levels (``block_out_channels``), float32 on CPU."""
    cls = _mlp_class()
    return cls(feature_dim, tuple(unet.config.block_out_channels), hidden)


def splat(values, tracks: np.ndarray, visible: np.ndarray, latent_hw: tuple[int, int],
          level_hw: tuple[int, int]):
    """Bilinearly splat per-frame vectors onto a map: ``values`` ``(K, T, C)``, ``tracks``
    ``(T, K, 2)`` in latent cells, ``visible`` ``(T, K)`` → ``(T, C, h, w)`` (zero where no
    anchor is). A position outside the map adds nothing."""
    import torch

    k_count, t_count, ch = values.shape
    h, w = level_hw
    pos = np.nan_to_num(np.asarray(tracks, np.float32))
    sx, sy = w / latent_hw[1], h / latent_hw[0]
    qx = (pos[..., 0] + 0.5) * sx - 0.5
    qy = (pos[..., 1] + 0.5) * sy - 0.5
    x0, y0 = np.floor(qx), np.floor(qy)
    out = values.new_zeros(t_count * h * w, ch)
    flat_vals = values.permute(1, 0, 2).reshape(t_count * k_count, ch)  # (T·K, C)
    frame_base = (np.arange(t_count)[:, None] * h * w).repeat(k_count, 1)
    vis = np.asarray(visible, bool)
    for dx in (0, 1):
        for dy in (0, 1):
            cx, cy = x0 + dx, y0 + dy
            wgt = (1 - np.abs(qx - cx)) * (1 - np.abs(qy - cy))
            ok = vis & (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h) & (wgt > 0)
            if not ok.any():
                continue
            idx = (frame_base + cy.clip(0, h - 1).astype(np.int64) * w
                   + cx.clip(0, w - 1).astype(np.int64))[ok]
            sel = torch.as_tensor(np.flatnonzero(ok.reshape(-1)), device=values.device)
            wt = torch.as_tensor(wgt[ok], dtype=values.dtype, device=values.device)
            out = out.index_add(0, torch.as_tensor(idx, device=values.device),
                                flat_vals[sel] * wt[:, None])
    return out.reshape(t_count, h, w, ch).permute(0, 3, 1, 2)


class Injection:
    """Where and what to inject: anchor tokens ``(K, T, C)`` along ``tracks`` ``(T, K, 2)``
    (latent cells) with ``visible`` ``(T, K)``, times ``scale``. ``enabled`` switches it off
    (e.g. for the unconditional branch's features). Change ``tracks``/``visible`` to move the
    anchors (anchor alignment)."""

    def __init__(self, injector, tokens, tracks: np.ndarray, visible: np.ndarray,
                 latent_hw: tuple[int, int], scale: float = 1.0) -> None:
        self.injector = injector
        self.tokens = tokens
        self.tracks = np.asarray(tracks, np.float32)
        self.visible = np.asarray(visible, bool)
        self.latent_hw = latent_hw
        self.scale = float(scale)
        self.enabled = True
        self.keep: np.ndarray | None = None  # anchors kept this step (drop during fine-tuning)
        self._projected: list | None = None

    def project(self) -> None:
        """Run the MLPs once for the current pass (with gradients when training)."""
        tok = self.tokens if self.keep is None else self.tokens[self.keep]
        dev = next(self.injector.parameters()).device
        self._projected = self.injector(tok.to(dev, torch_float32()))

    def level_map(self, level: int, level_hw: tuple[int, int]):
        """The ``(T, C_level, h, w)`` map to add at encoder ``level``."""
        if self._projected is None:
            self.project()
        assert self._projected is not None
        tracks, visible = self.tracks, self.visible
        if self.keep is not None:
            tracks, visible = tracks[:, self.keep], visible[:, self.keep]
        return splat(self._projected[level], tracks, visible, self.latent_hw,
                     level_hw) * self.scale


def torch_float32():
    import torch

    return torch.float32


@contextlib.contextmanager
def injecting(unet, injection: Injection) -> Iterator[None]:
    """Add ``injection`` to the output of every encoder block of ``unet`` (and to that block's
    last skip connection, the same tensor) for each forward pass while active."""
    names = [f"down_blocks.{i}" for i in range(len(unet.down_blocks))]

    def hook(name: str, module: Any, args: tuple, kwargs: dict, output: Any):
        if not injection.enabled:
            return None
        hidden, skips = output
        level = int(name.rsplit(".", 1)[1])
        frames = injection.tracks.shape[0]
        add = injection.level_map(level, tuple(hidden.shape[-2:])).to(hidden.dtype)
        add = add.repeat(hidden.shape[0] // frames, 1, 1, 1)
        new_hidden = hidden + add
        skips = tuple(skips)
        if skips and skips[-1].shape == hidden.shape:
            skips = (*skips[:-1], skips[-1] + add)
        return new_hidden, skips

    with forward_hooks(unet, names, hook):
        yield
