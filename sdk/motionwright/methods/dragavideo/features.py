"""UNet decoder features at points, for motion supervision and DIFT matching.

Points are in model-image pixels (x right, y down, pixel centres at integers). Feature maps
``(B, C, h, w)`` cover the image, so a point maps to feature coordinates by the ratio of sizes;
sampling is bilinear (``grid_sample``), so features are differentiable in the map (never in
the point positions, which move only by tracking).
"""

from __future__ import annotations

import numpy as np


def feature_block(unet, block: int | None = None) -> str:
    """The decoder block whose output the motion supervision reads: ``up_blocks.{n-2}`` by
    default (SD 1.5's ``up_blocks.2``, 640 channels at 1/8 of the image; DragDiffusion's
    ``unet_feature_idx=3``, counted from the mid-block output)."""
    n = len(unet.up_blocks)
    idx = max(0, n - 2) if block is None else int(block)
    if not 0 <= idx < n:
        from ...errors import InvalidInputError

        raise InvalidInputError(f"feature_block: expected 0..{n - 1}, got {block}")
    return f"up_blocks.{idx}"


def sample_points(fmap, points, image_size: tuple[int, int]):
    """Bilinear features of ``points`` ``(B, P, 2)`` (torch, image pixels) from ``fmap``
    ``(B, C, h, w)`` of an image of ``image_size`` (width, height); returns ``(B, P, C)``."""
    import torch.nn.functional as F

    width, height = image_size
    gx = (points[..., 0] + 0.5) / width * 2.0 - 1.0
    gy = (points[..., 1] + 0.5) / height * 2.0 - 1.0
    grid = torch_stack([gx, gy])[:, :, None, :].to(fmap.dtype)
    out = F.grid_sample(fmap, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[..., 0].permute(0, 2, 1)


def torch_stack(parts):
    import torch

    return torch.stack(parts, dim=-1)


def patch_offsets(radius: int, unit: float):
    """``((2r+1)², 2)`` offsets of a square patch, ``unit`` image pixels apart (numpy)."""
    r = np.arange(-radius, radius + 1, dtype=np.float32) * unit
    gx, gy = np.meshgrid(r, r)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)
