"""DDIM inversion and guided DDIM sampling over overlapping windows of latent frames (§3.1,
eq. (2), Algorithm 1's loop).

Latents are ``(1, C, F, h, w)``. A clip longer than the model's window is processed as
overlapping windows; at every step each window's noise estimate is computed on its slice and
the estimates are blended with weights that ramp across the overlaps, so neighbouring windows
agree on the shared frames and no seam forms (the paper works on one window; joining windows
per step is our choice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .guidance import WeightSchedule, check_guidance, check_latents, guided_noise
from .kinds import as_grid, call_denoiser, to_noise
from .patterns import consistency_loss, correlation_patterns, sparsify_patterns


def windows(frames: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """``[start, end)`` ranges of at most ``size`` frames covering ``frames``, neighbours
    sharing ``overlap`` frames (the last window ends at the last frame)."""
    if frames <= size:
        return [(0, frames)]
    stride = max(1, size - min(overlap, size - 1))
    starts = list(range(0, frames - size + 1, stride))
    if starts[-1] + size < frames:
        starts.append(frames - size)
    return [(s, s + size) for s in starts]


def blend_weights(spans: list[tuple[int, int]], frames: int) -> list[np.ndarray]:
    """Per-window frame weights summing to 1 on every frame: a ramp across each overlap."""
    raw = []
    for start, end in spans:
        n = end - start
        ramp = np.minimum(np.arange(1, n + 1), np.arange(n, 0, -1)).astype(np.float64)
        raw.append((start, ramp))
    total = np.zeros(frames)
    for start, ramp in raw:
        total[start:start + len(ramp)] += ramp
    return [ramp / total[start:start + len(ramp)] for start, ramp in raw]


@dataclass
class WindowGuide:
    """What guides one window: per feature layer, the sparsified reference patterns M̂
    ``(N, F, F, h, w)``, the regions Ω ``(N, F, h, w)`` and the visibility ``(N, F)``."""

    guidance: dict[str, Any]
    regions: dict[str, Any]
    valid: Any


@dataclass
class Denoiser:
    """A model kind's denoiser with what a step needs: ``loaded`` model, ``kind``, its feature
    ``layers``, ``prediction`` type, ``patch`` size, ``latent_hw`` and optional rotary
    embeddings per window length."""

    loaded: Any
    kind: str
    layers: list
    prediction: str
    patch: int
    latent_hw: tuple[int, int]
    rotary: Callable[[int], Any]

    def noise(self, latents, t: int, cond, alpha: float):
        """ε for ``latents`` at timestep ``t``."""
        out = call_denoiser(self.loaded, self.kind, latents, t, cond,
                            self.rotary(latents.shape[2]))
        return to_noise(out.float(), latents.float(), alpha, self.prediction)

    def features(self, latents, t: int, cond, alpha: float, *, grad: bool):
        """``(ε, {layer: (F, h, w, C)})`` of one pass (features keep their graph if ``grad``)."""
        from ...models.hooks import FeatureRecorder

        names = [layer.name for layer in self.layers]
        with FeatureRecorder(self.loaded.denoiser, names, detach=not grad) as rec:
            eps = self.noise(latents, t, cond, alpha)
        frames = latents.shape[2]
        feats = {layer.name: as_grid(rec.features[layer.name], layer, frames, self.latent_hw,
                                     self.patch)[0] for layer in self.layers}
        return eps, feats


def reference_patterns(den: Denoiser, feats: dict[str, Any], track_cells: Callable,
                       regions: dict[str, Any], temperature: float) -> dict[str, Any]:
    """Eq. (3)+(4) on every layer: M̂ from ``feats`` with each layer's track and regions."""
    out = {}
    for name, f in feats.items():
        m = correlation_patterns(f, track_cells(name, f.shape[1:3]), temperature=temperature)
        out[name] = sparsify_patterns(m, regions[name])
    return out


def invert(den: Denoiser, latents, uncond, timesteps: np.ndarray, alphas: np.ndarray,
           spans: list[tuple[int, int]], reporter=None):
    """DDIM-invert clean ``latents`` to the top level of the schedule with the null prompt
    (§3.1: the reference's inverted noise z_r initialises sampling)."""
    import torch

    from ..dragavideo.ddim import ddim_move

    weights = blend_weights(spans, latents.shape[2])
    cur = latents.float()
    with torch.no_grad():
        for k in range(len(timesteps)):
            eps = torch.zeros_like(cur)
            for (s, e), wgt in zip(spans, weights, strict=True):
                part = den.noise(cur[:, :, s:e], int(timesteps[k]), uncond, float(alphas[k]))
                eps[:, :, s:e] += part * torch.as_tensor(wgt, dtype=part.dtype,
                                                         device=part.device)[None, None, :,
                                                                             None, None]
            cur = ddim_move(cur, eps, float(alphas[k]), float(alphas[k + 1]))
            check_latents(cur, k, 0.0)
            if reporter is not None:
                reporter.step()
    return cur


def guided_step_noise(den: Denoiser, z, t: int, alpha: float, cond, uncond, text_scale: float,
                      guide: WindowGuide | None, sigma: float, temperature: float,
                      track_cells: Callable, max_ratio: float, step: int):
    """The guided noise estimate ε̂ of eq. (2) for one window's latents ``z``: classifier-free
    text guidance, plus σ·∇_z L_s (eq. 5) from the conditional pass's features."""
    import torch

    if guide is not None and sigma > 0:
        with torch.enable_grad():
            zg = z.detach().float().requires_grad_(True)
            eps_c, feats = den.features(zg, t, cond, alpha, grad=True)
            loss = zg.new_zeros(())
            for name, f in feats.items():
                m = correlation_patterns(f, track_cells(name, f.shape[1:3]),
                                         temperature=temperature)
                current = sparsify_patterns(m, guide.regions[name])
                loss = loss + consistency_loss(current, guide.guidance[name], guide.valid)
            grad = torch.autograd.grad(loss, zg)[0]
        eps_c = eps_c.detach()
    else:
        with torch.no_grad():
            eps_c = den.noise(z, t, cond, alpha)
        grad = torch.zeros_like(eps_c)
    with torch.no_grad():
        eps = eps_c
        if text_scale != 1.0:
            eps_u = den.noise(z, t, uncond, alpha)
            eps = eps_u + text_scale * (eps_c - eps_u)
        if sigma > 0:
            check_guidance(eps, grad, sigma, max_ratio=max_ratio, step=step)
        return guided_noise(eps, grad, sigma)


def sample(den: Denoiser, start, cond, uncond, timesteps: np.ndarray, alphas: np.ndarray,
           spans: list[tuple[int, int]], guides: list[WindowGuide | None], *,
           schedule: WeightSchedule, text_scale: float, temperature: float,
           track_cells: Callable[[int], Callable], max_ratio: float, reporter=None,
           preview: Callable[[Any, int], Any] | None = None):
    """Guided DDIM sampling from the top level of the schedule to the clean latent.

    ``track_cells(window_index)`` gives that window's ``(layer, grid) -> (F, N, 2)`` track;
    ``preview(latents, step)`` may return a preview for the progress event.
    """
    import torch

    from ..dragavideo.ddim import ddim_move

    weights = blend_weights(spans, start.shape[2])
    cur = start.float()
    steps = len(timesteps)
    for i, k in enumerate(range(steps, 0, -1)):
        sigma = schedule.sigma(i, steps)
        t = int(timesteps[k - 1])
        eps = torch.zeros_like(cur)
        for w, ((s, e), wgt) in enumerate(zip(spans, weights, strict=True)):
            part = guided_step_noise(den, cur[:, :, s:e], t, float(alphas[k]), cond, uncond,
                                     text_scale, guides[w], sigma, temperature,
                                     track_cells(w), max_ratio, i)
            eps[:, :, s:e] += part * torch.as_tensor(wgt, dtype=part.dtype,
                                                     device=part.device)[None, None, :, None,
                                                                         None]
        cur = ddim_move(cur, eps, float(alphas[k]), float(alphas[k - 1]))
        check_latents(cur, i, sigma)
        if reporter is not None:
            reporter.step(preview=None if preview is None else preview(cur, i))
    return cur
