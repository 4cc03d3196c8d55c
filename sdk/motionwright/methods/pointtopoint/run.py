"""Running Point-to-Point on one window of frames: anchors, fine-tuning, inversion, sampling.

:func:`find_anchor_tokens` (trajectory collection, features, eq. 2–4) and :func:`edit_window`
(injection fine-tuning, DDIM inversion, 50-step CFG sampling with anchor alignment, eq. 5).
Frames here are already at the working size; :mod:`.edit` handles native size and windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import MotionwrightError
from ...progress import Reporter
from ..dragavideo.ddim import ddim_move, make_schedule, make_train_alphas, predict_x0
from ..dragavideo.encode import decode_latents, encode_frames, encode_text
from .anchors import AnchorTokens
from .features import extract_features, motion_tokens, video_unet
from .injection import Injection, injecting, make_injector
from .settings import PointToPointSettings
from .tokens import match_anchor_tokens, select_anchor_tokens, token_distances


class DivergedError(MotionwrightError, RuntimeError):
    """The latents became NaN or infinite while editing."""


def _check_finite(x, what: str) -> None:
    import torch

    if not bool(torch.isfinite(x).all()):
        raise DivergedError(
            f"{what}: the latents became NaN or infinite; lower the guidance (--guidance), "
            f"use float32 (--dtype float32) or fewer fine-tuning steps")


def latent_tracks(traj, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Tracks ``(T, N, 2)`` in latent cells and visibility of a Trajectory in working-size
    pixels (``scale``: the VAE's downsampling)."""
    tracks = (np.asarray(traj.tracks, np.float32) + 0.5) / scale - 0.5
    return tracks, np.asarray(traj.visible, bool)


def find_anchor_tokens(loaded, frames: np.ndarray, settings: PointToPointSettings, *,
                       prompt: str = "", mask: Any = None, latents=None, progress=None,
                       cancel=None) -> tuple[AnchorTokens, Any]:
    """Anchor tokens of working-size frames ``(T, h, w, 3)`` uint8; returns them (positions
    in working-size pixels) and the frames' latents. ``mask``: keep only tracks starting
    inside the subject (``(h, w)`` bool at the working size)."""
    import torch

    from ...clip import Clip
    from ...propagation.pointtopoint import collect_trajectories

    pipe = loaded.pipeline
    dev = loaded.device
    scale = int(getattr(pipe, "vae_scale_factor", 8))
    if latents is None:
        latents = encode_frames(pipe.vae, frames, dev, loaded.dtype, 4)
    traj = collect_trajectories(Clip.from_frames(frames, fps=24), stride=scale, mask=mask,
                                progress=progress, cancel=cancel)
    Reporter("anchors", 1, None, cancel).check()
    tracks, visible = latent_tracks(traj, scale)
    cond = encode_text(pipe, prompt, dev).to(loaded.dtype)
    alphas = make_train_alphas(pipe.scheduler.config)
    gen = torch.Generator().manual_seed(settings.seed)
    feats = extract_features(pipe.unet, latents, cond, timestep=settings.feature_timestep,
                             alpha=float(alphas[settings.feature_timestep]),
                             block=settings.feature_block, generator=gen)
    tokens = motion_tokens(feats, tracks, visible, tuple(latents.shape[-2:]))
    dist = token_distances(tokens, visible)
    chosen = select_anchor_tokens(dist, settings.tau, max_tokens=settings.max_anchors)
    found = AnchorTokens(traj, tokens.float().cpu().numpy(), chosen, settings.tau,
                         (frames.shape[2], frames.shape[1]), dict(loaded.identity))
    return found, latents


def _target(scheduler, x0, noise, t):
    """The fine-tuning target of the scheduler's parametrisation (ε or v)."""
    if getattr(scheduler.config, "prediction_type", "epsilon") == "v_prediction":
        return scheduler.get_velocity(x0, noise, t)
    return noise


def finetune(loaded, injection: Injection, latents, cond, settings: PointToPointSettings,
             reporter: Reporter, policy=None) -> list[float]:
    """Fine-tune the injection MLPs on the source window with the denoising objective (App. A:
    50–100 steps; AdamW lr 5e-4 and 20 % anchor drop are VideoSwap's). Returns the losses."""
    import contextlib

    import torch

    from ...models.hooks import activation_checkpointing
    from ...models.precision import LossScaler

    pipe = loaded.pipeline
    unet = pipe.unet
    unet.requires_grad_(False)
    params = list(injection.injector.parameters())
    opt = torch.optim.AdamW(params, lr=settings.finetune_lr)
    scaler = LossScaler(loaded.device, loaded.dtype)  # gradients pass an fp16 UNet
    gen = torch.Generator().manual_seed(settings.seed + 1)
    rng = np.random.default_rng(settings.seed + 1)
    train_steps = int(pipe.scheduler.config.num_train_timesteps)
    losses: list[float] = []
    k_count = injection.tokens.shape[0]
    predicate = policy.checkpoint_predicate() if policy is not None else None
    guard = (activation_checkpointing(unet, predicate) if predicate is not None
             else contextlib.nullcontext())
    with guard, injecting(unet, injection):
        for _ in range(settings.finetune_steps):
            t = int(torch.randint(0, train_steps, (1,), generator=gen))
            noise = torch.randn(latents.shape, generator=gen).to(latents.device, latents.dtype)
            noisy = pipe.scheduler.add_noise(latents, noise, torch.tensor([t]))
            keep = rng.random(k_count) >= settings.drop_rate
            injection.keep = keep if keep.any() else None
            injection.project()
            pred = video_unet(unet, noisy, t, cond)
            target = _target(pipe.scheduler, latents, noise, torch.tensor([t]))
            loss = torch.nn.functional.mse_loss(pred.float(), target.float())
            opt.zero_grad(set_to_none=True)
            if not bool(torch.isfinite(loss)):
                raise DivergedError("fine-tuning: the loss became NaN or infinite; lower "
                                    "finetune_lr or use float32")
            scaler.backward(loss)
            scaler.step(opt)  # a step with non-finite gradients (fp16) is skipped
            losses.append(float(loss.detach()))
            reporter.step()
    injection.keep = None
    injection.project()
    return losses


def edit_window(loaded, frames: np.ndarray, prompt: str, settings: PointToPointSettings, *,
                source_prompt: str = "", negative_prompt: str = "", anchors: AnchorTokens
                | None = None, mask: Any = None, policy=None, reporter: Reporter,
                progress=None, cancel=None) -> tuple[np.ndarray, AnchorTokens, dict]:
    """Edit working-size frames ``(T, h, w, 3)`` uint8 to ``prompt``; returns the edited
    frames, the anchor tokens used and a record (fine-tuning losses, matched tracks)."""
    import torch

    pipe = loaded.pipeline
    dev, dt = loaded.device, loaded.dtype
    unet = pipe.unet
    latents = None
    if anchors is None:
        anchors, latents = find_anchor_tokens(loaded, frames, settings, prompt=source_prompt,
                                              mask=mask, progress=progress, cancel=cancel)
    if latents is None:
        latents = encode_frames(pipe.vae, frames, dev, dt, 4)
    reporter.step()
    scale = int(getattr(pipe, "vae_scale_factor", 8))
    tracks, visible = latent_tracks(anchors.trajectories, scale)
    latent_hw = tuple(latents.shape[-2:])
    idx = anchors.indices
    src_tokens = torch.as_tensor(anchors.features[idx]).to(dev)
    with torch.random.fork_rng(devices=[]):  # the MLPs' initial weights follow the seed
        torch.manual_seed(settings.seed)
        injector = make_injector(unet, anchors.features.shape[-1], settings.hidden).to(dev)
    injection = Injection(injector, src_tokens, tracks[:, idx], visible[:, idx], latent_hw,
                          settings.injection_scale)
    cond_src = encode_text(pipe, source_prompt, dev).to(dt)
    losses = finetune(loaded, injection, latents, cond_src, settings, reporter, policy)
    schedule = make_schedule(pipe.scheduler.config, settings.steps)
    x = latents
    with torch.no_grad(), injecting(unet, injection):
        for k in range(settings.steps):  # DDIM inversion with the source prompt
            eps = video_unet(unet, x, schedule.timestep(k + 1), cond_src)
            x = ddim_move(x, eps, schedule.alphas[k], schedule.alphas[k + 1])
            _check_finite(x, "DDIM inversion")
            reporter.step()
        cond = torch.cat([encode_text(pipe, negative_prompt, dev),
                          encode_text(pipe, prompt, dev)]).to(dt)
        align_level = round(settings.steps * (1 - settings.align_at))
        matched = None
        for k in range(settings.steps, 0, -1):
            eps_u, eps_c = video_unet(unet, x, schedule.timestep(k), cond).chunk(2)
            eps = eps_u + settings.guidance * (eps_c - eps_u)
            if k == align_level and settings.align_at > 0:
                matched = _align(loaded, injection, predict_x0(x, eps, schedule.alphas[k]),
                                 cond[1:], tracks, visible, latent_hw, settings)
            x = ddim_move(x, eps, schedule.alphas[k], schedule.alphas[k - 1])
            _check_finite(x, "sampling")
            preview = None
            if settings.preview_every and (settings.steps - k + 1) % settings.preview_every == 0:
                preview = decode_latents(pipe.vae, predict_x0(x, eps, schedule.alphas[k - 1])
                                         [:1], 1)[0]
            reporter.step(preview=preview)
    out = decode_latents(pipe.vae, x, decode_chunk(policy))
    record = {"finetune_losses": losses,
              "matched": None if matched is None else matched.tolist()}
    return out, anchors, record


def decode_chunk(policy) -> int:
    """Frames per VAE decode call: the policy's, else 4 (decoding a whole 16-frame window at
    512² at once would need more memory than the UNet)."""
    return policy.vae_chunk if policy is not None and policy.vae_chunk else 4


def _align(loaded, injection: Injection, x0, cond, tracks, visible, latent_hw,
           settings: PointToPointSettings) -> np.ndarray:
    """§ Anchor Token Alignment: features of the video being generated (its current clean
    estimate noised to t, as for the source) along every motion-token track; each anchor moves
    to the track of its most similar token (eq. 5) for the remaining steps."""
    import torch

    pipe = loaded.pipeline
    alphas = make_train_alphas(pipe.scheduler.config)
    gen = torch.Generator().manual_seed(settings.seed + 2)
    injection.enabled = False
    try:
        feats = extract_features(pipe.unet, x0, cond, timestep=settings.feature_timestep,
                                 alpha=float(alphas[settings.feature_timestep]),
                                 block=settings.feature_block, generator=gen)
    finally:
        injection.enabled = True
    target = motion_tokens(feats, tracks, visible, latent_hw)
    src_vis = injection.visible
    matched = match_anchor_tokens(injection.tokens, src_vis, target, visible)
    injection.tracks = tracks[:, matched]
    injection.visible = visible[:, matched]
    return matched
