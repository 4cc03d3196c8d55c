"""Video-level motion supervision (§3.3, eq. 3–5) and temporal-consistent tracking (§3.4,
eq. 6–7).

Shapes: ``F`` frames, ``P`` handle points, ``Q`` = (2r+1)² patch offsets, ``C`` channels.
Handle positions ``handles`` / ``targets`` are ``(F, P, 2)`` torch float32 in model-image
pixels; ``active`` ``(P,)`` bool marks points still moving (a point whose user handle reached
its target stops). ``unit`` is the size, in image pixels, of one step of the supervision grid:
DragDiffusion supervises at half the image resolution, so ``unit`` = 2 and the paper's
``l = 3`` is 6 pixels at 512².
"""

from __future__ import annotations

import numpy as np

from .features import patch_offsets, sample_points


def directions(handles, targets):
    """d_k^i: unit vectors ``(F, P, 2)`` from each handle to its target (zero where equal)."""
    import torch

    delta = targets - handles
    norm = torch.linalg.norm(delta, dim=-1, keepdim=True)
    return torch.where(norm > 1e-6, delta / norm.clamp_min(1e-6), torch.zeros_like(delta))


def patch_features(fmap, centres, image_size, radius: int, unit: float):
    """Features of the (2r+1)² patch around each centre: ``(F, P, Q, C)``."""
    import torch

    offs = torch.from_numpy(patch_offsets(radius, unit)).to(centres.device)
    pts = (centres[:, :, None, :] + offs[None, None]).flatten(1, 2)
    feats = sample_points(fmap, pts, image_size)
    return feats.reshape(centres.shape[0], centres.shape[1], offs.shape[0], -1)


def handle_template(fmap, handles, image_size, radius: int, unit: float):
    """Eq. (3): the handle patches' features averaged over all frames, ``(P, Q, C)``,
    detached (the stop-gradient of eq. 4)."""
    return patch_features(fmap, handles, image_size, radius, unit).detach().mean(dim=0)


def update_template(template, fresh, decay: float):
    """The moving average of the frame-averaged handle features over iterations (the paper's
    footnote 2, after FreeDrag): ``decay · template + (1 − decay) · fresh``."""
    return decay * template + (1.0 - decay) * fresh


def drag_loss(fmap, handles, targets, template, active, image_size, radius: int, unit: float):
    """Eq. (4) summed over frames and the active points of every handle set:
    ``‖F(p + d) − sg(F̄(p))‖₁`` over each patch, where the patch moved one ``unit`` along d.

    ``fmap`` ``(F, C, h, w)`` may hold several timesteps' features concatenated on channels.
    The L1 is a mean over the patch and channels times the patch size, as DragDiffusion
    scales it; ``template`` ``(P, Q, C)``.
    """
    import torch

    if not bool(active.any()):
        return fmap.sum() * 0.0
    d = directions(handles, targets)
    moved = patch_features(fmap, handles + d * unit, image_size, radius, unit)
    diff = (moved - template[None].to(moved.dtype)).abs().mean(dim=(2, 3))  # (F, P)
    q = (2 * radius + 1) ** 2
    return q * (diff * active[None].to(diff.dtype)).sum() + torch.zeros((), device=fmap.device)


def mask_loss(displacement, outside):
    """Eq. (5): ``‖(x_{t,k} − x_{t,0}) ⊙ (1 − M)‖₁`` summed over frames, for the
    ``displacement`` ``(F, 4, h, w)`` of the model input at a level from the inverted latent
    (the offsets that reach it, :func:`.optimise.level_inputs`); ``outside`` ``(F, 1, h, w)``
    is 1 outside the edit mask."""
    return (displacement * outside).abs().sum()


def step_candidates(limit: float, unit: float) -> np.ndarray:
    """The Δp values tried by eq. (6): ``[-l, l]`` in half-unit steps, in image pixels."""
    n = round(limit * 2)
    return (np.arange(-n, n + 1, dtype=np.float32) / 2.0) * unit


def shared_step(sample, reference, handles, targets, active, limit: float, unit: float):
    """Eq. (6)–(7): one Δp per handle point, shared by every frame.

    ``sample(points (F, P·K, 2)) -> (F, P·K, C)`` reads the current features; ``reference``
    ``(F, P, C)`` are the original handle features in the input (§3.1: "minimise the feature
    distance from the original handle point"). For each point the Δp ∈ [−l, l] minimising
    ``Σ_i ‖F(p^i + Δp·d^i) − F_ref^i‖₁`` moves it along its own direction in every frame.
    Returns the new handles ``(F, P, 2)`` and the chosen steps ``(P,)`` (image pixels).
    """
    import torch

    cands = torch.from_numpy(step_candidates(limit, unit)).to(handles.device)
    d = directions(handles, targets)
    f, p, _ = handles.shape
    pts = handles[:, :, None, :] + cands[None, None, :, None] * d[:, :, None, :]
    feats = sample(pts.reshape(f, p * len(cands), 2)).reshape(f, p, len(cands), -1)
    cost = (feats - reference[:, :, None, :].to(feats.dtype)).abs().sum(dim=-1).sum(dim=0)
    best = cands[cost.argmin(dim=1)]
    best = torch.where(active, best, torch.zeros_like(best))
    return handles + best[None, :, None] * d, best
