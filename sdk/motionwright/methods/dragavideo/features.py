"""UNet decoder features at points: motion-supervision features and DIFT correspondences.

Points are in model-image pixels (x right, y down, pixel centres at integers). Feature maps
``(B, C, h, w)`` cover the image, so a point maps to feature coordinates by the ratio of sizes;
sampling is bilinear (``grid_sample``), so features are differentiable in the map (never in
the point positions, which move only by tracking).
"""

from __future__ import annotations

from typing import Any

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


def dift_features(unet, latents, cond, alphas_cumprod, *, timestep: int = 261,
                  ensemble: int = 4, block: int = 1, seed: int = 0, batch: int = 8):
    """DIFT (Tang et al. 2023) features of clean ``latents`` ``(F, 4, h, w)``: noise them to
    ``timestep``, run the UNet and average the output of decoder block ``block`` over
    ``ensemble`` noise draws. Returns ``(F, C, h', w')`` float32 (no gradients)."""
    import torch

    from ...models.hooks import FeatureRecorder

    name = f"up_blocks.{min(block, len(unet.up_blocks) - 1)}"
    gen = torch.Generator("cpu").manual_seed(seed)
    a = float(alphas_cumprod[timestep])
    total = None
    with torch.no_grad(), FeatureRecorder(unet, [name]) as rec:
        for _ in range(ensemble):
            noise = torch.randn(latents.shape, generator=gen).to(latents.device, latents.dtype)
            noisy = a ** 0.5 * latents + (1 - a) ** 0.5 * noise
            maps = []
            for i in range(0, len(noisy), batch):
                chunk = noisy[i:i + batch]
                unet(chunk, timestep, encoder_hidden_states=cond.expand(len(chunk), -1, -1))
                maps.append(rec.features[name].float())
            fmap = torch.cat(maps)
            total = fmap if total is None else total + fmap
    return total / ensemble


def dift_track(features, points: np.ndarray, key_row: int, image_size: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Carry ``points`` ``(P, 2)`` (image pixels, on row ``key_row``) frame to frame by DIFT
    nearest neighbours: a point's feature on frame i is matched by cosine similarity against
    every location of frame i±1 (features upsampled ×2 for sub-cell precision).

    Returns tracks ``(T, P, 2)`` float32 and visible ``(T, P)`` bool (a point is hidden where
    the match fails the cycle check: matching back lands more than 2 cells away).
    """
    import torch
    import torch.nn.functional as F

    width, height = image_size
    fmap = F.interpolate(features, scale_factor=2.0, mode="bilinear", align_corners=False)
    fmap = F.normalize(fmap, dim=1)
    t_count, _, fh, fw = fmap.shape
    cell = np.array([width / fw, height / fh], np.float32)
    tracks = np.zeros((t_count, len(points), 2), np.float32)
    visible = np.ones((t_count, len(points)), bool)
    tracks[key_row] = points
    flat = fmap.flatten(2)  # (T, C, h*w)

    def match(src_row: int, dst_row: int, pts: np.ndarray) -> np.ndarray:
        pts_t = torch.from_numpy(pts).to(fmap.device)[None]
        feats = sample_points(fmap[src_row:src_row + 1], pts_t, image_size)[0]
        feats = F.normalize(feats, dim=1)
        sim = feats @ flat[dst_row]  # (P, h*w)
        idx = sim.argmax(dim=1).cpu().numpy()
        cells = np.stack([idx % fw, idx // fw], axis=1).astype(np.float32)
        return (cells + 0.5) * cell - 0.5

    with torch.no_grad():
        for direction in (1, -1):
            i = key_row
            while 0 <= i + direction < t_count:
                j = i + direction
                moved = match(i, j, tracks[i])
                back = match(j, i, moved)
                ok = np.linalg.norm(back - tracks[i], axis=1) <= 2.0 * cell.max()
                tracks[j] = moved
                visible[j] = visible[i] & ok
                i = j
    return tracks, visible


def as_numpy(t: Any) -> np.ndarray:
    """A detached float32 numpy copy of a torch tensor."""
    return t.detach().float().cpu().numpy()
