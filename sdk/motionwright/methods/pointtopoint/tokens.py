"""Point-to-Point's equations on motion tokens: normalisation, sampling, distance, FPS, matching.

- eq. (6) :func:`normalise_features` — features minus their mean over frames;
- eq. (2) :func:`sample_motion_tokens` — a token is the normalised feature read along one
  trajectory, one vector per frame;
- eq. (3) :func:`token_distances` — the distance between two tokens from their frame-wise inner
  products (see there for the scale the paper leaves implicit);
- eq. (4) :func:`select_anchor_tokens` — farthest point sampling with the adaptive stop at τ;
- eq. (5) :func:`match_anchor_tokens` — each anchor's nearest target token (anchor alignment).

Arrays: features ``(T, C, h, w)``; tracks ``(T, N, 2)`` float in feature-map cells (x right,
y down, cell centres at integers); visible ``(T, N)`` bool; tokens ``(N, T, C)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InvalidInputError, ShapeError

DEFAULT_TAU = 0.65


def normalise_features(features):
    """Eq. (6): ``f̄_t = f_t − (1/T) Σ_s f_s`` for ``(T, C, h, w)`` features (torch or numpy).

    Subtracting the mean over frames removes what is static in the clip, so what remains
    describes motion (MOFT's normalisation, which the paper follows)."""
    if features.ndim != 4:
        raise ShapeError(f"features: expected (T, C, h, w), got shape {tuple(features.shape)}")
    return features - features.mean(0, keepdims=True) if isinstance(features, np.ndarray) \
        else features - features.mean(0, keepdim=True)


def sample_motion_tokens(features, tracks, visible):
    """Eq. (2): the motion tokens ``(N, T, C)`` of the trajectories ``tracks``.

    ``features`` ``(T, C, h, w)`` torch tensor (normalised, eq. 6); ``tracks`` ``(T, N, 2)`` in
    feature-map cells; ``visible`` ``(T, N)``. Each entry is the bilinear sample of frame t's
    features at the track's position there; hidden entries are zero (they take no part in
    eq. (3))."""
    import torch

    t_count, _, h, w = features.shape
    tracks = torch.as_tensor(np.nan_to_num(np.asarray(tracks, np.float32)),
                             device=features.device)
    vis = torch.as_tensor(np.array(visible, bool), device=features.device)
    if tracks.ndim != 3 or tracks.shape[0] != t_count or tracks.shape[2] != 2:
        raise ShapeError(f"tracks: expected ({t_count}, N, 2), got {tuple(tracks.shape)}")
    if tuple(vis.shape) != tuple(tracks.shape[:2]):
        raise ShapeError(f"visible: expected {tuple(tracks.shape[:2])}, got {tuple(vis.shape)}")
    # grid_sample with align_corners=True puts -1/+1 on the centres of the edge cells.
    gx = tracks[..., 0] / max(w - 1, 1) * 2 - 1
    gy = tracks[..., 1] / max(h - 1, 1) * 2 - 1
    grid = torch.stack([gx, gy], -1)[:, :, None, :].to(features.dtype)  # (T, N, 1, 2)
    out = torch.nn.functional.grid_sample(features, grid, mode="bilinear",
                                          padding_mode="border", align_corners=True)
    tokens = out[..., 0].permute(2, 0, 1)  # (N, T, C)
    return tokens * vis.T[..., None].to(tokens.dtype)


def token_distances(tokens_a, visible_a, tokens_b=None, visible_b=None) -> np.ndarray:
    """Eq. (3): distances ``(Na, Nb)`` float64 between motion tokens (``b`` defaults to ``a``).

    The paper defines the distance as the sum of frame-wise inner products, negated so that
    similar tokens are near, and thresholds it at τ = 0.65. A threshold needs a fixed scale, so
    each per-frame vector is made unit length and the sum is averaged over the frames where
    both tokens are visible: ``d(i, j) = 1 − (1/|T_ij|) Σ_{t∈T_ij} ⟨f̂_i^t, f̂_j^t⟩`` in [0, 2]
    (0: the same motion, 1: unrelated). Two tokens never visible together are at distance 1.
    """
    import torch

    def unit(tok):
        tok = torch.as_tensor(tok).float()
        return tok / tok.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    a = unit(tokens_a)
    va = torch.as_tensor(np.asarray(visible_a, bool).T.astype(np.float32), device=a.device)
    if tokens_b is None:
        b, vb = a, va
    else:
        b = unit(tokens_b).to(a.device)
        vb = torch.as_tensor(np.asarray(visible_b, bool).T.astype(np.float32), device=a.device)
    if va.shape != a.shape[:2] or vb.shape != b.shape[:2]:
        raise ShapeError(f"visible: expected (T, N) matching tokens (N, T, C) "
                         f"{tuple(a.shape)}, got {tuple(va.shape[::-1])}")
    a = a * va[..., None]
    b = b * vb[..., None]
    dots = torch.einsum("itc,jtc->ij", a, b)
    shared = va @ vb.T
    mean = torch.where(shared > 0, dots / shared.clamp_min(1), torch.zeros_like(dots))
    return (1.0 - mean).cpu().numpy().astype(np.float64)


def select_anchor_tokens(distances: Any, tau: float = DEFAULT_TAU, *, start: int | None = None,
                         max_tokens: int | None = None) -> np.ndarray:
    """Eq. (4): anchor indices by farthest point sampling with the adaptive stop at ``tau``.

    ``distances`` ``(N, N)`` symmetric (eq. 3). Starting from ``start`` (default: the token
    with the largest total distance to all others — the paper allows any seed; this one is
    deterministic and independent of the order of the tracks), each step takes the token whose
    distance to its nearest selected token is largest; when that distance falls below ``tau``
    the token is redundant and sampling stops. ``max_tokens`` caps the count. Returns int64
    indices in selection order.
    """
    d = np.asarray(distances, np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] == 0:
        raise ShapeError(f"distances: expected a square (N, N) matrix with N ≥ 1, "
                         f"got shape {d.shape}")
    if not np.isfinite(d).all():
        raise InvalidInputError("distances: contains NaN or infinite values; recompute them "
                                "from finite features")
    if not np.isfinite(tau) or tau < 0:
        raise InvalidInputError(f"tau: expected a non-negative number, got {tau!r}")
    n = d.shape[0]
    first = int(np.argmax(d.sum(1))) if start is None else int(start)
    if not 0 <= first < n:
        raise InvalidInputError(f"start: expected a token index in 0..{n - 1}, got {start}")
    cap = n if max_tokens is None else int(max_tokens)
    if cap < 1:
        raise InvalidInputError(f"max_tokens: expected at least 1, got {max_tokens}")
    chosen = [first]
    nearest = d[first].copy()  # distance of every token to its nearest selected token
    nearest[first] = -np.inf
    while len(chosen) < cap:
        nxt = int(np.argmax(nearest))
        if not nearest[nxt] >= tau:
            break
        chosen.append(nxt)
        nearest = np.minimum(nearest, d[nxt])
        nearest[chosen] = -np.inf
    return np.asarray(chosen, np.int64)


def match_anchor_tokens(anchor_tokens, anchor_visible, target_tokens,
                        target_visible) -> np.ndarray:
    """Eq. (5): for each anchor token ``(K, T, C)`` the index of the target motion token
    ``(N, T, C)`` (features of the video being generated) at the smallest eq. (3) distance.
    Returns int64 ``(K,)``."""
    d = token_distances(anchor_tokens, anchor_visible, target_tokens, target_visible)
    return np.asarray(d.argmin(1), np.int64)
