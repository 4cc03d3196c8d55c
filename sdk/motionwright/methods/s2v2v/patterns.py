"""S²V2V's motion representation: correlation patterns (eq. 3), their sparsification (eq. 4)
and the sparse motion consistency loss (eq. 5).

Shapes, for one feature layer:

- ``features`` ``(F, h, w, C)``: a temporal-attention layer's output on a latent grid of
  ``h×w`` cells (a DiT's ``(F·h·w)×C`` tokens reshaped by :func:`tokens_to_grid`);
- ``track`` ``(F, N, 2)`` float: where each of the N sparse points is on every frame, ``(x, y)``
  in *grid cells* of this layer (cell centres at integers, OpenCV's convention);
- ``patterns`` ``(N, F, F, h, w)``: ``patterns[n, f, i]`` is M_i for point n taken on frame f,
  a distribution over the cells of frame i (zero where i ≤ f: only later frames correlate);
- ``region`` ``(N, F, h, w)`` bool: Ω_i of eq. (4) for each point and frame.

Torch is imported by the functions, not by this module.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidInputError, ShapeError

DEFAULT_TEMPERATURE = 10.0


def _check_features(features: Any) -> None:
    if getattr(features, "ndim", None) != 4:
        raise ShapeError(f"features: expected (F, h, w, C), got shape "
                         f"{tuple(getattr(features, 'shape', ()))}")


def _check_track(track: Any, frames: int) -> None:
    shape = tuple(getattr(track, "shape", ()))
    if len(shape) != 3 or shape[2] != 2 or shape[0] != frames:
        raise ShapeError(f"track: expected ({frames}, N, 2) point positions per frame, got "
                         f"shape {shape}")


def tokens_to_grid(tokens: Any, frames: int, height: int, width: int) -> Any:
    """A DiT block's ``(B, F·h·w, C)`` (or ``(F·h·w, C)``) tokens as ``(B, F, h, w, C)`` (or
    ``(F, h, w, C)``), the layout CogVideoX flattens its patches in (frame, row, column)."""
    expected = frames * height * width
    if tokens.shape[-2] != expected:
        raise ShapeError(f"tokens: expected {frames}×{height}×{width} = {expected} video "
                         f"tokens, got {tokens.shape[-2]}")
    return tokens.reshape(*tokens.shape[:-2], frames, height, width, tokens.shape[-1])


def point_features(features: Any, track: Any) -> Any:
    """The feature of each point on each frame, ``(F, N, C)``: bilinear between the four
    cells around the point (positions are clamped to the grid)."""
    import torch

    frames, h, w, _ = features.shape
    xy = torch.as_tensor(track, dtype=features.dtype, device=features.device)
    x = xy[..., 0].clamp(0, w - 1)
    y = xy[..., 1].clamp(0, h - 1)
    x0 = x.floor().long().clamp(max=w - 2) if w > 1 else x.floor().long()
    y0 = y.floor().long().clamp(max=h - 2) if h > 1 else y.floor().long()
    x1 = (x0 + 1).clamp(max=w - 1)
    y1 = (y0 + 1).clamp(max=h - 1)
    ax = (x - x0).unsqueeze(-1)
    ay = (y - y0).unsqueeze(-1)
    f = torch.arange(frames, device=features.device).unsqueeze(1).expand_as(x0)
    top = features[f, y0, x0] * (1 - ax) + features[f, y0, x1] * ax
    bottom = features[f, y1, x0] * (1 - ax) + features[f, y1, x1] * ax
    return top * (1 - ay) + bottom * ay


def correlation_patterns(features: Any, track: Any, *,
                         temperature: float = DEFAULT_TEMPERATURE) -> Any:
    """Eq. (3): for each point n and frame f, M_i(j, k) = softmax over the cells (j, k) of
    frame i of cos(f_p, F[i, j, k]) / τ, for every later frame i > f.

    ``features`` ``(F, h, w, C)``, ``track`` ``(F, N, 2)`` (grid cells); returns ``(N, F, F,
    h, w)`` with zeros where ``i <= f``. Differentiable in ``features``.
    """
    import torch

    _check_features(features)
    frames = features.shape[0]
    _check_track(track, frames)
    if not temperature > 0:
        raise InvalidInputError(f"temperature: expected a positive number, got {temperature!r}")
    unit = torch.nn.functional.normalize(features.float(), dim=-1)
    query = torch.nn.functional.normalize(point_features(features.float(), track), dim=-1)
    # cos[n, f, i, j, k] = <query of point n on frame f, cell (j, k) of frame i>
    cos = torch.einsum("fnc,ijkc->nfijk", query, unit)
    logits = (cos / temperature).flatten(-2)
    probs = torch.softmax(logits, dim=-1).reshape(*cos.shape)
    later = torch.ones(frames, frames, dtype=torch.bool, device=features.device).triu(1)
    return probs * later[None, :, :, None, None]


def neighbour_region(track: Any, grid: tuple[int, int], k: int) -> Any:
    """Ω of eq. (4) from tracked points: on each frame, the ``k`` cells nearest to the point's
    position there (Euclidean distance between cell centres, ties broken by cell order).

    ``track`` ``(F, N, 2)`` grid cells, ``grid`` ``(h, w)``; returns ``(N, F, h, w)`` bool.
    """
    import torch

    h, w = grid
    if not 1 <= k <= h * w:
        raise InvalidInputError(f"k: expected 1..{h * w} neighbours on a {w}x{h} grid, got {k}")
    xy = torch.as_tensor(track, dtype=torch.float32)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")
    cells = torch.stack([xs.flatten(), ys.flatten()], -1)  # (h·w, 2)
    dist = torch.cdist(xy.reshape(-1, 2), cells)  # (F·N, h·w)
    # A tiny index term makes ties deterministic (the lower cell index wins).
    dist = dist + torch.arange(h * w, dtype=torch.float32) * 1e-6
    nearest = dist.topk(k, largest=False).indices
    mask = torch.zeros_like(dist, dtype=torch.bool).scatter_(1, nearest, True)
    frames, n = xy.shape[:2]
    return mask.reshape(frames, n, h, w).transpose(0, 1).contiguous()


def box_region(boxes: Any, grid: tuple[int, int]) -> Any:
    """Ω of eq. (4) for a box trajectory: the cells whose centres lie inside the box on each
    frame (at least the cell under the box centre).

    ``boxes`` ``(F, 4)`` ``x0, y0, x1, y1`` in grid cells; returns ``(1, F, h, w)`` bool.
    """
    import torch

    h, w = grid
    b = torch.as_tensor(boxes, dtype=torch.float32)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ShapeError(f"boxes: expected (F, 4) corners x0, y0, x1, y1, got shape "
                         f"{tuple(b.shape)}")
    ys = torch.arange(h, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, dtype=torch.float32)[None, None, :]
    inside = ((xs >= b[:, 0, None, None]) & (xs <= b[:, 2, None, None])
              & (ys >= b[:, 1, None, None]) & (ys <= b[:, 3, None, None]))
    cx = ((b[:, 0] + b[:, 2]) / 2).round().long().clamp(0, w - 1)
    cy = ((b[:, 1] + b[:, 3]) / 2).round().long().clamp(0, h - 1)
    inside[torch.arange(len(b)), cy, cx] = True
    return inside.unsqueeze(0)


def sparsify_patterns(patterns: Any, region: Any) -> Any:
    """Eq. (4): hard shrinkage of M_i to Ω_i, then renormalisation to unit L1 norm per frame.

    ``patterns`` ``(N, F, F, h, w)``, ``region`` ``(N, F, h, w)`` bool (Ω of frame i, the same
    for every source frame f); entries of frames with nothing left stay zero.
    """
    import torch

    if patterns.ndim != 5:
        raise ShapeError(f"patterns: expected (N, F, F, h, w), got shape {tuple(patterns.shape)}")
    n, frames, _, h, w = patterns.shape
    if tuple(region.shape) != (n, frames, h, w):
        raise ShapeError(f"region: expected ({n}, {frames}, {h}, {w}) like the patterns, got "
                         f"shape {tuple(region.shape)}")
    kept = patterns * region.to(patterns.device)[:, None].to(patterns.dtype)
    total = kept.abs().sum(dim=(-2, -1), keepdim=True)
    return torch.where(total > 0, kept / total.clamp_min(torch.finfo(kept.dtype).tiny), kept)


def consistency_loss(current: Any, guidance: Any, valid: Any = None) -> Any:
    """Eq. (5): L_s = Σ_f Σ_{i>f} ‖M̂'_i − M̂_i‖₂, summed over points too.

    ``current`` / ``guidance`` ``(N, F, F, h, w)``; ``valid`` optional ``(N, F)`` bool: pairs
    (f, i) count only where the point is visible on both frames. The norm is the Frobenius
    norm of each frame's difference map (the paper writes ‖·‖ without a subscript).
    """
    import torch

    if tuple(current.shape) != tuple(guidance.shape):
        raise ShapeError(f"current: expected the guidance's shape {tuple(guidance.shape)}, got "
                         f"{tuple(current.shape)}")
    diff = (current - guidance.to(current.dtype)).flatten(-2)
    # sqrt of (sum of squares + ε²) keeps the gradient finite where the maps agree exactly
    eps = torch.finfo(diff.dtype).eps
    norms = torch.sqrt((diff * diff).sum(-1) + eps * eps) - eps  # (N, F, F)
    frames = current.shape[1]
    pairs = torch.ones(frames, frames, dtype=torch.bool, device=current.device).triu(1)
    weight = pairs[None].to(norms.dtype)
    if valid is not None:
        v = torch.as_tensor(valid, device=current.device).bool()
        weight = weight * (v[:, :, None] & v[:, None, :]).to(norms.dtype)
    return (norms * weight).sum()
