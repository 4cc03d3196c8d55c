"""DIFT correspondences (Tang et al. 2023) for §3.2: features streamed a few frames at a time,
matched at image resolution with sub-pixel refinement.

Features come from an SD UNet decoder block at a coarse grid (SD 1.5 ``up_blocks.1``: 1280
channels at 1/16 of the image, 16-pixel cells at 512²). Matching only on that grid would move
points in whole cells, so slow motion would read as none. DIFT itself upsamples the features to
the image size before matching; holding that for a whole clip is far too large (1280 × 512² ×
4 bytes = 1.3 GB a frame), so :func:`match_points` keeps the grid and evaluates the bilinearly
upsampled features only near each match: the best cell, then a 17×17 search at 1/8 cell over
± one cell, then a 9×9 search at 1/32 cell, then a parabola through the best score and its
neighbours in x and in y. Bilinear sampling at a point is exactly what upsampling the map and
reading that pixel would give, so this is DIFT's image-resolution matching, done locally.

:class:`StreamedFeatures` computes the features of a chunk of frames when tracking reaches
it and keeps only the last two chunks, so the device holds at most three chunks of features
(the kept one and, while the next is computed, its sum over the noise draws and one UNet
output) whatever the clip length. Each frame's noise draws are seeded by its frame index, so
a frame's features do not depend on the chunk it was computed in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .features import sample_points

#: Elements of sampled features held at once while refining (``points · candidates · C``).
REFINE_ELEMENTS = 1 << 23
_FINE_STEPS = 8  # candidates per cell in the first refinement (each side of the best)


def dift_features(unet, latents, cond, alphas_cumprod, frames, *, timestep: int = 261,
                  ensemble: int = 4, block: int = 1, seed: int = 0, batch: int = 8):
    """DIFT features of clean ``latents`` ``(F, 4, h, w)`` of the clip's ``frames`` (their
    frame indices, which seed each frame's noise): noise them to ``timestep``, run the UNet and
    average the output of decoder block ``block`` over ``ensemble`` noise draws. Returns
    ``(F, C, h', w')`` float32 on the latents' device (no gradients)."""
    import torch

    from ...models.hooks import FeatureRecorder

    name = f"up_blocks.{min(block, len(unet.up_blocks) - 1)}"
    noise = torch.stack([
        torch.randn((ensemble, *latents.shape[1:]),
                    generator=torch.Generator("cpu").manual_seed(frame_seed(seed, f)))
        for f in frames]).to(latents.device, latents.dtype)  # (F, E, 4, h, w)
    a = float(alphas_cumprod[timestep])
    total = None
    with torch.no_grad(), FeatureRecorder(unet, [name]) as rec:
        for e in range(ensemble):
            noisy = a ** 0.5 * latents + (1 - a) ** 0.5 * noise[:, e]
            for i in range(0, len(noisy), batch):
                chunk = noisy[i:i + batch]
                unet(chunk, timestep, encoder_hidden_states=cond.expand(len(chunk), -1, -1))
                fmap = rec.features.pop(name)
                if total is None:
                    total = fmap.new_zeros((len(latents), *fmap.shape[1:]), dtype=torch.float32)
                total[i:i + len(chunk)] += fmap.float()
                del fmap
    return total.div_(ensemble)


def frame_seed(seed: int, frame: int) -> int:
    """The noise seed of one frame's DIFT features."""
    return (int(seed) * 1_000_003 + int(frame)) % (1 << 63)


class StreamedFeatures:
    """Per-row DIFT features of ``count`` rows, computed ``chunk`` rows at a time on first use
    by ``compute(rows: range) -> (len(rows), C, h, w)``; only the last ``keep`` chunks are
    held (the oldest is dropped before the next is computed). ``held_most`` records the most
    rows held at once."""

    def __init__(self, compute: Callable[[range], Any], count: int, chunk: int,
                 keep: int = 2) -> None:
        self.compute, self.count = compute, int(count)
        self.chunk, self.keep = max(1, int(chunk)), max(1, int(keep))
        self._chunks: OrderedDict[int, Any] = OrderedDict()
        self.held_most = 0

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, row: int):
        """The ``(C, h, w)`` features of ``row``."""
        c = int(row) // self.chunk
        if c in self._chunks:
            self._chunks.move_to_end(c)
        else:
            while len(self._chunks) >= self.keep:
                self._chunks.popitem(last=False)
            rows = range(c * self.chunk, min((c + 1) * self.chunk, self.count))
            self._chunks[c] = self.compute(rows)
            self.held_most = max(self.held_most, sum(len(v) for v in self._chunks.values()))
        return self._chunks[c][int(row) - c * self.chunk]


def _similarity(fmap, query, pts, image_size):
    """Cosine similarity ``(P, Q)`` of unit ``query`` ``(P, C)`` with the bilinear features of
    ``fmap`` ``(C, h, w)`` at ``pts`` ``(P, Q, 2)`` (image pixels), a few points at a time."""
    import torch
    import torch.nn.functional as F

    p, q, _ = pts.shape
    step = max(1, REFINE_ELEMENTS // max(1, q * fmap.shape[0]))
    out = []
    for i in range(0, p, step):
        part = pts[i:i + step]
        feats = sample_points(fmap[None], part.reshape(1, -1, 2), image_size)[0]
        feats = F.normalize(feats.reshape(len(part), q, -1), dim=-1)
        out.append((feats * query[i:i + step, None, :]).sum(dim=-1))
    return torch.cat(out) if out else pts.new_zeros((0, q))


def _search(fmap, query, centres, reach, steps: int, image_size):
    """The best of a ``(2·steps+1)²`` grid of candidates ``reach`` ``(2,)`` pixels around
    ``centres`` ``(P, 2)``: returns the best points ``(P, 2)``, the grid's scores
    ``(P, n, n)`` and the index of the best ``(P, 2)`` (column, row)."""
    import torch

    n = 2 * steps + 1
    frac = torch.linspace(-1.0, 1.0, n, device=centres.device)
    gy, gx = torch.meshgrid(frac * reach[1], frac * reach[0], indexing="ij")
    offs = torch.stack([gx, gy], dim=-1).reshape(-1, 2)
    pts = centres[:, None, :] + offs[None]
    scores = _similarity(fmap, query, pts, image_size)
    best = scores.argmax(dim=1)
    picked = pts[torch.arange(len(pts), device=pts.device), best]
    return picked, scores.reshape(-1, n, n), torch.stack([best % n, best // n], dim=1)


def _parabola_shift(left, mid, right):
    """The vertex of the parabola through three equally spaced scores, in steps from the
    middle (0 where the scores are flat or not a maximum)."""
    import torch

    denom = left - 2.0 * mid + right
    shift = torch.where(denom < 0, 0.5 * (left - right) / denom.clamp(max=-1e-12),
                        torch.zeros_like(mid))
    return shift.clamp(-0.5, 0.5)


def match_points(src, dst, points, image_size: tuple[int, int]):
    """Where ``points`` ``(P, 2)`` (torch, image pixels) on the frame of features ``src``
    ``(C, h, w)`` are on the frame of ``dst``: the bilinear feature at each point matched by
    cosine similarity, to a fraction of a pixel (see the module docstring). ``(P, 2)``."""
    import torch
    import torch.nn.functional as F

    width, height = image_size
    _, fh, fw = dst.shape
    cell = torch.tensor([width / fw, height / fh], device=points.device)
    query = F.normalize(sample_points(src[None], points[None], image_size)[0], dim=-1)
    flat = F.normalize(dst.flatten(1), dim=0)  # (C, h*w)
    idx = (query @ flat).argmax(dim=1)
    coarse = torch.stack([idx % fw, idx // fw], dim=1).to(points.dtype)
    coarse = (coarse + 0.5) * cell - 0.5
    fine, _, _ = _search(dst, query, coarse, cell, _FINE_STEPS, image_size)
    step = cell / _FINE_STEPS
    finer, scores, at = _search(dst, query, fine, step, 4, image_size)
    last = step / 4
    n = scores.shape[-1]
    rows = torch.arange(len(scores), device=scores.device)
    cx, cy = at[:, 0], at[:, 1]
    inner_x = (cx > 0) & (cx < n - 1)
    inner_y = (cy > 0) & (cy < n - 1)
    lx, rx = (cx - 1).clamp(0, n - 1), (cx + 1).clamp(0, n - 1)
    uy, dy = (cy - 1).clamp(0, n - 1), (cy + 1).clamp(0, n - 1)
    mid = scores[rows, cy, cx]
    sx = _parabola_shift(scores[rows, cy, lx], mid, scores[rows, cy, rx])
    sy = _parabola_shift(scores[rows, uy, cx], mid, scores[rows, dy, cx])
    shift = torch.stack([torch.where(inner_x, sx, 0.0), torch.where(inner_y, sy, 0.0)], dim=1)
    out = finer + shift * last
    lo = torch.tensor([-0.5, -0.5], device=out.device)
    hi = torch.tensor([width - 0.5, height - 0.5], device=out.device)
    return torch.maximum(torch.minimum(out, hi), lo)


def dift_track(features, points: np.ndarray, key_row: int, image_size: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Carry ``points`` ``(P, 2)`` (image pixels, on row ``key_row``) frame to frame by DIFT
    matching (:func:`match_points`). ``features``: per-row ``(C, h, w)`` maps indexed by row
    (a ``(T, C, h, w)`` tensor or :class:`StreamedFeatures`), read in tracking order: from the
    key row forward, then backward.

    Returns tracks ``(T, P, 2)`` float32 and visible ``(T, P)`` bool (a point is hidden where
    the match fails the cycle check: matching back lands more than one feature cell away).
    """
    import torch

    width, height = image_size
    t_count = len(features)
    tracks = np.zeros((t_count, len(points), 2), np.float32)
    visible = np.ones((t_count, len(points)), bool)
    tracks[key_row] = points
    with torch.no_grad():
        key = features[key_row]
        cell = max(width / key.shape[-1], height / key.shape[-2])
        for direction in (1, -1):
            i = key_row
            while 0 <= i + direction < t_count:
                j = i + direction
                src, dst = features[i], features[j]
                here = torch.from_numpy(tracks[i]).to(dst.device)
                moved = match_points(src, dst, here, image_size)
                back = match_points(dst, src, moved, image_size)
                ok = (torch.linalg.norm(back - here, dim=1) <= cell).cpu().numpy()
                tracks[j] = moved.cpu().numpy()
                visible[j] = visible[i] & ok
                i = j
    return tracks, visible
