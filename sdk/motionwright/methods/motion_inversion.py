"""Reenact Anything: motion-textual inversion on Stable Video Diffusion.

**Learning** (paper §3.3–3.4). The reference window's F frames are encoded once: their VAE
latents (posterior means, scaled) are the clean targets ``x0``, the noise-augmented first
frame's latent is SVD's image conditioning, and their CLIP image embeddings initialise the
motion-text embedding ``m`` of ``(F+1)·N`` tokens (see
:func:`~motionwright.methods.motion_tokens.init_tokens`). The UNet, VAE and image encoder stay
frozen; only ``m`` is optimised with SVD's EDM objective (eq. 3, :mod:`.svd_edm`), conditioned
on the first-frame latent, fps, motion bucket and noise augmentation as SVD is. Frame ``f``'s
tokens reach frame ``f``'s spatial cross-attention and the last group the temporal
cross-attention (:mod:`.motion_tokens`).

Defaults, and why:

- ``N = 5`` tokens per frame: the paper's default (§4.5: more tokens help, then saturate).
- Adam (the paper's optimiser), peak learning rate ``1e-2``: the one published setting for
  this method (the public reimplementation uses 1e-2 with 10 % linear warm-up). No weight
  decay: it would pull the tokens toward zero, which is SVD's *unconditional* embedding.
- 1000 steps, 10 % linear warm-up, then cosine decay to 10 % of the peak. The paper reports
  about an hour per motion on an A100 (the reimplementation runs 5000 steps); the tokens are
  few (75 × 1024 values), and two choices make a shorter run converge: noise levels follow a
  golden-ratio low-discrepancy sequence through SVD's log-normal distribution (every noise
  level is visited evenly within a few dozen steps, instead of by chance), and the cosine
  decay settles the tokens at the end. 1000 steps fit the target of learning at the paper's
  setting (14 frames, 1024×576) in minutes on one H100; ``tests/benchmarks/bench_motion.py``
  measures seconds per step and projects the total. Raise ``steps`` for hard motions.
- Conditioning: the reference's own frame rate (SVD's fps micro-conditioning describes the
  frames it sees; the paper is silent), motion bucket 127 and noise augmentation 0.02, SVD's
  sampling defaults, so the tokens are learned under the conditioning they are applied with.

**Applying**. The target image (or a shot's first frame) is SVD's image input; the learned
tokens replace its CLIP image embedding in every cross-attention, through the same
processors, inside diffusers' own ``StableVideoDiffusionPipeline`` (25 Euler steps, SVD's
default guidance 1 → 3 across frames; the unconditional branch gets zero tokens, as SVD's zero
image embedding). Asked for ``F' ≠ F`` frames, the per-frame token groups are resampled in
time (:func:`~motionwright.methods.motion_tokens.resample_frames`) and the fps conditioning is
scaled by ``F'/F``, so the motion keeps its duration.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import InvalidInputError, ShapeError
from ..models.hooks import activation_checkpointing
from ..models.loading import LoadedModel
from ..models.memory import MemoryPolicy, attention_backend, get_policy
from ..models.oom import translate_oom
from ..models.precision import LossScaler
from ..progress import Reporter
from . import svd_edm
from ._frames import (
    check_frames,
    fit_frame,
    fit_frames,
    size_multiple,
    to_model_range,
    working_size,
)
from .motion_tokens import (
    MotionTokenBank,
    apply_strength,
    init_tokens,
    resample_frames,
    route_motion_tokens,
)

KIND = "motion-textual-inversion"
DEFAULT_TOKENS_PER_FRAME = 5
DEFAULT_STEPS = 1000
DEFAULT_LR = 1e-2
WARMUP_FRACTION = 0.1
FINAL_LR_FRACTION = 0.1
DEFAULT_MOTION_BUCKET = 127
DEFAULT_NOISE_AUG = 0.02
DEFAULT_SAMPLING_STEPS = 25
DEFAULT_GUIDANCE = (1.0, 3.0)
CURVE_POINTS = 200


@dataclass(frozen=True)
class LearnSettings:
    """Hyper-parameters of one learning run (see the module docstring for the defaults)."""

    tokens_per_frame: int = DEFAULT_TOKENS_PER_FRAME
    steps: int = DEFAULT_STEPS
    lr: float = DEFAULT_LR
    seed: int = 0
    motion_bucket_id: int = DEFAULT_MOTION_BUCKET
    noise_aug_strength: float = DEFAULT_NOISE_AUG
    warmup_fraction: float = WARMUP_FRACTION

    def __post_init__(self) -> None:
        from .._validate import require_int

        require_int(self.tokens_per_frame, "tokens_per_frame", 1)
        require_int(self.steps, "steps", 1)
        require_int(self.seed, "seed", 0)
        require_int(self.motion_bucket_id, "motion_bucket_id", 0)
        for name in ("lr", "noise_aug_strength", "warmup_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                    value):
                raise InvalidInputError(f"{name}: expected a finite number, got {value!r}")
        if self.lr <= 0:
            raise InvalidInputError(f"lr: expected a learning rate > 0, got {self.lr}")
        if not 0 <= self.noise_aug_strength <= 1:
            raise InvalidInputError(f"noise_aug_strength: expected 0..1, "
                                    f"got {self.noise_aug_strength}")
        if not 0 <= self.warmup_fraction < 1:
            raise InvalidInputError(f"warmup_fraction: expected 0 <= f < 1, "
                                    f"got {self.warmup_fraction}")

    def lr_at(self, step: int) -> float:
        """The learning rate of optimisation step ``step`` (0-based)."""
        warmup = int(self.steps * self.warmup_fraction)
        if step < warmup:
            return self.lr * (step + 1) / warmup
        span = max(self.steps - warmup, 1)
        progress = min((step - warmup) / span, 1.0)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.lr * (FINAL_LR_FRACTION + (1.0 - FINAL_LR_FRACTION) * cosine)


def check_svd(loaded: LoadedModel) -> None:
    """Raise unless ``loaded`` is an SVD model (motion-textual inversion needs one)."""
    if loaded.family.name != "svd":
        raise InvalidInputError(
            f"model: motion-textual inversion runs on an svd model, got {loaded.family.name}"
        )


def geometry(loaded: LoadedModel) -> tuple[int, int]:
    """``(pixel multiple, native side)`` of an SVD model: sizes it can run and its pixel count."""
    pipe = loaded.pipeline
    vae_scale = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    levels = len(pipe.unet.config.block_out_channels)
    native = int(pipe.unet.config.sample_size or 96) * vae_scale
    return size_multiple(vae_scale, levels), native


def model_size(loaded: LoadedModel, source_size: tuple[int, int],
               requested: tuple[int, int] | None) -> tuple[int, int]:
    """The ``(width, height)`` the model runs at for frames of ``source_size``."""
    multiple, native = geometry(loaded)
    return working_size(source_size, native, multiple, requested)


def clip_embeddings(loaded: LoadedModel, frames: np.ndarray, device) -> Any:
    """CLIP image embeddings ``(T, d)`` float32 (on the CPU) of ``(T, H, W, 3)`` uint8 frames.

    As SVD prepares its image input: resized with antialiasing to the encoder's input size,
    then normalised with the feature extractor's mean and standard deviation.
    """
    import torch
    import torch.nn.functional as F

    pipe = loaded.pipeline
    encoder = pipe.image_encoder
    side = int(encoder.config.image_size)
    mean = torch.tensor(pipe.feature_extractor.image_mean).reshape(1, 3, 1, 1)
    std = torch.tensor(pipe.feature_extractor.image_std).reshape(1, 3, 1, 1)
    out = []
    for start in range(0, len(frames), 8):
        x = to_model_range(frames[start:start + 8])
        x = F.interpolate(x, size=(side, side), mode="bicubic", align_corners=True,
                          antialias=True)
        x = ((x + 1.0) / 2.0 - mean) / std
        param = next(encoder.parameters())
        with torch.no_grad():
            emb = encoder(x.to(device=device, dtype=param.dtype)).image_embeds
        out.append(emb.float().cpu())
    return torch.cat(out)


@dataclass
class Reference:
    """A reference window encoded once.

    ``latents`` ``(1, F, C, h, w)`` float32: the frames' scaled VAE posterior means (targets);
    ``first_frame`` ``(1, C, h, w)`` float32: the unscaled latent of the noise-augmented first
    frame (SVD's image conditioning); ``embeddings`` ``(F, d)`` float32: CLIP image embeddings;
    ``size``: the working ``(width, height)``; ``fps``: the conditioning frame rate.
    """

    latents: Any
    first_frame: Any
    embeddings: Any
    size: tuple[int, int]
    fps: float

    @property
    def num_frames(self) -> int:
        """F."""
        return int(self.latents.shape[1])


def _vae_dtype(loaded: LoadedModel):
    import torch

    vae = loaded.pipeline.vae
    if loaded.dtype == torch.float16 and vae.config.get("force_upcast", False):
        return torch.float32
    return loaded.dtype


def encode_reference(loaded: LoadedModel, frames: np.ndarray, *, size: tuple[int, int],
                     fps: float, settings: LearnSettings, policy: MemoryPolicy,
                     device) -> Reference:
    """Encode the reference frames ``(F, H, W, 3)`` uint8 once (VAE latents, CLIP embeddings).

    Under an offloading policy the VAE and the image encoder leave the GPU afterwards.
    """
    import torch

    pipe = loaded.pipeline
    fitted = fit_frames(frames, size)
    vae_dtype = _vae_dtype(loaded)
    pipe.vae.to(device=device, dtype=vae_dtype)
    pipe.image_encoder.to(device)
    chunk = policy.vae_chunk or len(fitted)
    scaling = float(pipe.vae.config.scaling_factor)
    latents = []
    with torch.no_grad():
        pixels = to_model_range(fitted)
        for start in range(0, len(pixels), chunk):
            batch = pixels[start:start + chunk].to(device=device, dtype=vae_dtype)
            latents.append(pipe.vae.encode(batch).latent_dist.mean.float() * scaling)
        gen = torch.Generator().manual_seed(settings.seed)
        first = pixels[:1] + settings.noise_aug_strength * torch.randn(pixels[:1].shape,
                                                                       generator=gen)
        first_latent = pipe.vae.encode(first.to(device=device, dtype=vae_dtype)
                                       ).latent_dist.mode().float()
        embeddings = clip_embeddings(loaded, fitted, device)
    if policy.offload != "none":
        pipe.vae.to("cpu")
        pipe.image_encoder.to("cpu")
        if getattr(device, "type", "cpu") == "cuda":
            torch.cuda.empty_cache()
    pipe.vae.to(dtype=loaded.dtype)
    return Reference(torch.cat(latents)[None], first_latent, embeddings, size, float(fps))


class MotionInversion:
    """One learning run: the frozen SVD UNet, an encoded reference and the tokens to optimise.

    ``tokens`` is the ``(F+1, N, d)`` float32 parameter. :meth:`loss` evaluates eq. 3 for given
    noise levels and noise (inside :meth:`session`); :meth:`run` optimises.
    """

    def __init__(self, loaded: LoadedModel, reference: Reference, settings: LearnSettings,
                 policy: MemoryPolicy, device) -> None:
        import torch

        check_svd(loaded)
        self.loaded = loaded
        self.reference = reference
        self.settings = settings
        self.policy = policy
        self.device = device
        self.unet = loaded.pipeline.unet
        self.bank = MotionTokenBank()
        gen = torch.Generator().manual_seed(settings.seed)
        start = init_tokens(reference.embeddings, settings.tokens_per_frame, generator=gen)
        self.initial_tokens = start.clone()
        self.tokens = torch.nn.Parameter(start.to(device))
        # The pipeline takes an integer frame rate; learn under the same rounding.
        self.time_ids = svd_edm.add_time_ids(max(1, round(reference.fps)),
                                             settings.motion_bucket_id,
                                             settings.noise_aug_strength, 1, device=device)
        self.latents = reference.latents.to(device)
        self.first_frame = reference.first_frame.to(device)
        self.vram_estimate: int | None = None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Freeze the UNet on the device with the routing processors, checkpointing and
        attention backend of the memory policy installed."""
        self.unet.requires_grad_(False)
        self.unet.eval()
        self.unet.to(self.device)
        predicate = self.policy.checkpoint_predicate()
        with contextlib.ExitStack() as stack:
            stack.enter_context(attention_backend(self.unet, self.policy))
            stack.enter_context(route_motion_tokens(self.unet, self.bank))
            if predicate is not None:
                stack.enter_context(activation_checkpointing(self.unet, predicate))
            yield

    def loss(self, tokens, sigma, noise):
        """Eq. 3 for ``tokens`` ``(F+1, N, d)``, noise levels ``sigma`` ``(B,)`` and noise
        ``(B, F, C, h, w)``; the reference is repeated over the batch."""
        batch = sigma.shape[0]
        spatial = tokens[:-1][None].expand(batch, -1, -1, -1)
        temporal = tokens[-1][None].expand(batch, -1, -1)
        self.bank.set(spatial, temporal)
        x0 = self.latents.expand(batch, -1, -1, -1, -1)
        first = self.first_frame.expand(batch, -1, -1, -1)
        ids = self.time_ids.expand(batch, -1)
        return svd_edm.edm_loss(self.unet, x0, noise, sigma.to(self.device), first, ids, temporal)

    def run(self, progress=None, cancel=None) -> tuple[np.ndarray, dict[str, Any]]:
        """Optimise the tokens; returns them ``(F+1, N, d)`` float32 and the training record."""
        import torch

        s = self.settings
        optimizer = torch.optim.Adam([self.tokens], lr=s.lr)
        scaler = LossScaler(self.device, self.loaded.dtype)
        gen = torch.Generator(device=self.device).manual_seed(s.seed)
        offset = float(torch.rand(1, generator=torch.Generator().manual_seed(s.seed + 1)))
        reporter = Reporter("learning motion", s.steps, progress, cancel)
        losses: list[float] = []
        start = time.perf_counter()
        with self.session(), translate_oom("learning a motion", self.policy, self.device):
            for step in range(s.steps):
                for group in optimizer.param_groups:
                    group["lr"] = s.lr_at(step)
                u = svd_edm.low_discrepancy_uniform(step, offset)
                sigma = svd_edm.sigma_from_uniform(torch.tensor([u]))
                noise = torch.randn(self.latents.shape, generator=gen, device=self.device)
                loss = self.loss(self.tokens, sigma, noise)
                optimizer.zero_grad(set_to_none=True)
                scaler.backward(loss)
                scaler.step(optimizer)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"learning diverged at step {step} (loss {value}); lower --lr")
                losses.append(value)
                reporter.step()
        wall = time.perf_counter() - start
        tokens = self.tokens.detach().float().cpu().numpy()
        record = self.record(losses, wall)
        return tokens, record

    def record(self, losses: list[float], wall_time: float) -> dict[str, Any]:
        """The training record stored in the ``.motion`` file."""
        from ..models.device import dtype_name

        s = self.settings
        stride = max(1, math.ceil(len(losses) / CURVE_POINTS))
        curve = [float(np.mean(losses[i:i + stride])) for i in range(0, len(losses), stride)]
        return {
            "method": KIND,
            "steps": s.steps,
            "lr": s.lr,
            "seed": s.seed,
            "optimizer": "adam",
            "lr_schedule": f"linear warm-up {int(s.steps * s.warmup_fraction)} steps, "
                           f"cosine to {FINAL_LR_FRACTION:g}x",
            "tokens_per_frame": s.tokens_per_frame,
            "loss_curve": curve,
            "loss_curve_stride": stride,
            "wall_time_s": round(wall_time, 3),
            "sigma_distribution": f"lognormal({svd_edm.P_MEAN}, {svd_edm.P_STD}), "
                                  "golden-ratio sequence",
            "conditioning": {"fps": self.reference.fps,
                             "motion_bucket_id": s.motion_bucket_id,
                             "noise_aug_strength": s.noise_aug_strength},
            "size": list(self.reference.size),
            "frames": self.reference.num_frames,
            "device": str(self.device),
            "dtype": dtype_name(self.loaded.dtype),
            "memory_policy": self.policy.name,
            "vram_estimate_bytes": self.vram_estimate,
        }


def prepare_learning(loaded: LoadedModel, frames: np.ndarray, *, fps: float,
                     settings: LearnSettings, size: tuple[int, int] | None = None,
                     memory: str | MemoryPolicy = "auto") -> MotionInversion:
    """Encode ``frames`` ``(F, H, W, 3)`` uint8 and set up a :class:`MotionInversion`."""
    check_svd(loaded)
    frames = check_frames(frames, "reference")
    if len(frames) < 2:
        raise ShapeError(f"reference: expected at least 2 frames to learn a motion, "
                         f"got {len(frames)}")
    if not math.isfinite(fps) or fps <= 0:
        raise InvalidInputError(f"fps: expected a positive frame rate, got {fps}")
    work = model_size(loaded, (frames.shape[2], frames.shape[1]), size)
    device = loaded.device
    policy, estimate = choose_learning_policy(loaded, len(frames), work,
                                              settings.tokens_per_frame, memory)
    loaded.reset_placement()
    with translate_oom("encoding the reference", policy, device):
        reference = encode_reference(loaded, frames, size=work, fps=fps, settings=settings,
                                     policy=policy, device=device)
    run = MotionInversion(loaded, reference, settings, policy, device)
    run.vram_estimate = estimate
    return run


def choose_learning_policy(loaded: LoadedModel, frames: int, size: tuple[int, int],
                           tokens_per_frame: int, memory: str | MemoryPolicy
                           ) -> tuple[MemoryPolicy, int | None]:
    """The memory policy for learning (as requested, or the fastest that fits the GPU) and its
    estimated peak bytes (None on the CPU)."""
    from ..models.device import memory_available
    from ..models.estimate import estimate_svd_learning
    from ..models.memory import ORDER, choose_policy

    available = memory_available(loaded.device)
    if available is None:
        return (get_policy("gpu") if memory == "auto" else get_policy(memory)), None
    pipe = loaded.pipeline
    vae_scale = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    latent = (size[1] // vae_scale, size[0] // vae_scale)
    requested = get_policy(memory) if memory != "auto" else None
    names = list(ORDER)
    if requested is not None and requested.name not in names:
        names.append(requested.name)
    estimates = {}
    for name in names:
        policy = requested if requested is not None and name == requested.name else name
        estimates[name] = estimate_svd_learning(
            pipe.unet, pipe.vae, pipe.image_encoder, frames=frames, latent_hw=latent,
            dtype=loaded.dtype, tokens_per_frame=tokens_per_frame, policy=policy).peak_bytes
    chosen = choose_policy(estimates, available[0], requested or "auto",
                           what="learning a motion", device=str(loaded.device))
    return chosen, estimates.get(chosen.name)


def choose_generation_policy(loaded: LoadedModel, frames: int, size: tuple[int, int],
                             memory: str | MemoryPolicy, guidance: bool = True) -> MemoryPolicy:
    """The memory policy for generating: as requested, or the fastest that fits the GPU."""
    from ..models.device import memory_available
    from ..models.estimate import estimate_svd_generation
    from ..models.memory import ORDER, choose_policy

    available = memory_available(loaded.device)
    if available is None:
        return get_policy("gpu") if memory == "auto" else get_policy(memory)
    if memory == "auto" and loaded.placement is not None:
        # Already placed by an earlier shot: keep it (its memory is not "free" any more).
        return loaded.placement
    pipe = loaded.pipeline
    vae_scale = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    latent = (size[1] // vae_scale, size[0] // vae_scale)
    estimates = {name: estimate_svd_generation(
        pipe.unet, pipe.vae, pipe.image_encoder, frames=frames, latent_hw=latent,
        dtype=loaded.dtype, guidance=guidance, policy=name).peak_bytes for name in ORDER}
    return choose_policy(estimates, available[0], memory, what="applying a motion",
                         device=str(loaded.device))


@dataclass(frozen=True)
class ApplySettings:
    """Options of applying a motion: frame count, size, sampling, conditioning overrides."""

    num_frames: int | None = None
    size: tuple[int, int] | None = None
    steps: int = DEFAULT_SAMPLING_STEPS
    seed: int = 0
    strength: float = 1.0
    guidance: tuple[float, float] = DEFAULT_GUIDANCE
    fps: float | None = None
    motion_bucket_id: int | None = None
    noise_aug_strength: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from .._validate import require_int

        if self.num_frames is not None:
            require_int(self.num_frames, "num_frames", 2)
        require_int(self.steps, "steps", 1)
        require_int(self.seed, "seed", 0)
        if self.size is not None:
            if len(self.size) != 2 or any(
                    isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1
                    for v in self.size):
                raise InvalidInputError(f"size: expected (width, height) positive integers, "
                                        f"got {self.size!r}")
        if not math.isfinite(self.strength) or self.strength <= 0:
            raise InvalidInputError(f"strength: expected a finite number > 0, got {self.strength}")
        lo, hi = self.guidance
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi < lo:
            raise InvalidInputError(f"guidance: expected 0 <= min <= max, got {self.guidance}")


def conditioning_of(motion) -> dict[str, float]:
    """The fps / motion bucket / noise augmentation a motion was learned with."""
    cond = dict((motion.training or {}).get("conditioning") or {})
    fps = cond.get("fps")
    if fps is None and motion.source and motion.source.get("fps"):
        fps = float(Fraction(str(motion.source["fps"])))
    return {"fps": float(fps) if fps else 7.0,
            "motion_bucket_id": float(cond.get("motion_bucket_id", DEFAULT_MOTION_BUCKET)),
            "noise_aug_strength": float(cond.get("noise_aug_strength", DEFAULT_NOISE_AUG))}


def generate(loaded: LoadedModel, image: np.ndarray, motion, settings: ApplySettings, *,
             memory: str | MemoryPolicy = "auto", progress=None, cancel=None) -> np.ndarray:
    """Apply ``motion`` to ``image`` (H×W×3 uint8): returns ``(F', h, w, 3)`` uint8 frames.

    ``F'`` is ``settings.num_frames`` or the motion's frame count; the frames have
    ``settings.size`` if given, else the model's working size for the image's aspect ratio.
    """
    import torch
    from PIL import Image

    from ..models.callbacks import step_callback

    check_svd(loaded)
    if motion.kind != KIND:
        raise InvalidInputError(f"motion: expected a {KIND!r} embedding, got {motion.kind!r}")
    motion.check_compatible(loaded.identity)
    image = check_frames(np.asarray(image)[None], "image")[0]
    frames = settings.num_frames or motion.num_frames
    work = model_size(loaded, (image.shape[1], image.shape[0]), settings.size)
    cond = conditioning_of(motion)
    fps = settings.fps if settings.fps is not None else cond["fps"] * frames / motion.num_frames
    bucket = settings.motion_bucket_id if settings.motion_bucket_id is not None else (
        cond["motion_bucket_id"])
    aug = settings.noise_aug_strength if settings.noise_aug_strength is not None else (
        cond["noise_aug_strength"])
    guided = settings.guidance[1] > 1.0
    policy = choose_generation_policy(loaded, frames, work, memory, guided)
    loaded.place(policy)
    pipe = loaded.pipeline
    fitted = fit_frame(image, work)
    tokens = resample_frames(torch.from_numpy(np.array(motion.tokens)), frames)
    if settings.strength != 1.0:
        tokens = apply_strength(tokens, clip_embeddings(loaded, fitted[None], _exec_device(loaded)
                                                        )[0], settings.strength)
    spatial, temporal = tokens[:-1][None], tokens[-1][None]
    if guided:
        spatial = torch.cat([torch.zeros_like(spatial), spatial])
        temporal = torch.cat([torch.zeros_like(temporal), temporal])
    bank = MotionTokenBank()
    bank.set(spatial.to(loaded.device), temporal.to(loaded.device))
    reporter = Reporter("applying motion", settings.steps, progress, cancel)
    generator = torch.Generator().manual_seed(settings.seed)
    with contextlib.ExitStack() as stack:
        stack.enter_context(attention_backend(pipe.unet, policy))
        stack.enter_context(route_motion_tokens(pipe.unet, bank))
        stack.enter_context(translate_oom("applying a motion", policy, loaded.device))
        out = pipe(
            image=Image.fromarray(fitted), height=work[1], width=work[0], num_frames=frames,
            num_inference_steps=settings.steps, min_guidance_scale=settings.guidance[0],
            max_guidance_scale=settings.guidance[1], fps=max(1, round(fps)),
            motion_bucket_id=round(bucket), noise_aug_strength=float(aug),
            decode_chunk_size=policy.vae_chunk or frames, generator=generator,
            output_type="np", callback_on_step_end=step_callback(reporter),
        ).frames
    video = np.clip(np.asarray(out[0]) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if settings.size is not None and tuple(settings.size) != work:
        video = fit_frames(video, tuple(settings.size))
    return video


def _exec_device(loaded: LoadedModel):
    return getattr(loaded.pipeline, "_execution_device", loaded.device)
