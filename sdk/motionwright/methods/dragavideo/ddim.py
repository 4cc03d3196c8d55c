"""Deterministic DDIM on SD 1.5 latents: the sampling schedule, per-frame inversion, steps.

Latents are indexed by *level*: level 0 is the clean latent and level ``k`` is the latent
after ``k`` inversion steps of an ``S``-step schedule (``S`` = 50 by default). The paper's
timesteps {42, 41, 35, 30} "of 50" are levels: the latent reached after 42, 41, 35 and 30
inversion steps (DragDiffusion's inversion strength 0.7 is level 35 of 50). The UNet is called
at level ``k`` with the training timestep ``timestep(k)``. Tensors: ``(B, 4, h, w)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Schedule:
    """The ``steps``-step DDIM schedule of a scheduler config.

    ``timesteps`` ``(steps,)`` int ascending: ``timesteps[k-1]`` is the UNet timestep of level
    ``k``; ``alphas`` ``(steps+1,)`` float64: ᾱ of each level (level 0 uses ᾱ of timestep 0,
    as diffusers' DDIM does without ``set_alpha_to_one``).
    """

    timesteps: np.ndarray
    alphas: np.ndarray

    @property
    def steps(self) -> int:
        """Number of levels above the clean latent."""
        return len(self.timesteps)

    def timestep(self, level: int) -> int:
        """The UNet timestep used at ``level`` (1..steps)."""
        return int(self.timesteps[level - 1])


def make_schedule(scheduler_config: dict[str, Any], steps: int) -> Schedule:
    """The DDIM schedule of ``steps`` levels for a diffusers scheduler config (its betas and
    training length; the spacing is DDIM's ``leading`` spacing with SD's ``steps_offset``)."""
    from diffusers import DDIMScheduler

    sched = DDIMScheduler.from_config(dict(scheduler_config))
    sched.set_timesteps(steps)
    asc = np.asarray(sched.timesteps.numpy()[::-1], np.int64).copy()
    acp = sched.alphas_cumprod.double().numpy()
    alphas = np.concatenate([[acp[0]], acp[asc]])
    return Schedule(asc, alphas)


def ddim_move(latent, eps, alpha_from: float, alpha_to: float):
    """Move ``latent`` at noise level ``alpha_from`` to ``alpha_to`` along the predicted noise
    ``eps`` (the deterministic DDIM update, used both ways)."""
    x0 = (latent - (1.0 - alpha_from) ** 0.5 * eps) / alpha_from ** 0.5
    return alpha_to ** 0.5 * x0 + (1.0 - alpha_to) ** 0.5 * eps


def predict_x0(latent, eps, alpha: float):
    """The clean latent DDIM predicts from ``latent`` at level ᾱ = ``alpha``."""
    return (latent - (1.0 - alpha) ** 0.5 * eps) / alpha ** 0.5


def invert(unet, latents, cond, schedule: Schedule, levels: tuple[int, ...], *,
           batch: int = 8, step=None) -> dict[int, Any]:
    """DDIM-invert clean ``latents`` ``(F, 4, h, w)``; returns ``{level: latents}`` for
    ``levels`` (and level 0). ``cond`` ``(1, L, D)`` text embeddings; frames run ``batch`` at a
    time; ``step()`` is called after each level (progress/cancel)."""
    import torch

    top = max(levels)
    keep = {0: latents.clone()}
    cur = latents
    with torch.no_grad():
        for k in range(top):
            t = schedule.timestep(k + 1)
            eps = run_unet(unet, cur, t, cond, batch)
            cur = ddim_move(cur, eps, schedule.alphas[k], schedule.alphas[k + 1])
            if k + 1 in levels:
                keep[k + 1] = cur.clone()
            if step is not None:
                step()
    return keep


def run_unet(unet, latents, t: int, cond, batch: int):
    """The UNet's noise prediction for ``latents`` ``(B, 4, h, w)`` at timestep ``t``, ``batch``
    frames per call."""
    import torch

    outs = []
    for i in range(0, latents.shape[0], batch):
        chunk = latents[i:i + batch]
        outs.append(unet(chunk, t, encoder_hidden_states=cond.expand(chunk.shape[0], -1, -1)
                         ).sample)
    return torch.cat(outs)


def make_train_alphas(config: dict) -> np.ndarray:
    """ᾱ for every training timestep of a scheduler config (float64)."""
    from diffusers import DDIMScheduler

    return DDIMScheduler.from_config(dict(config)).alphas_cumprod.double().numpy()
