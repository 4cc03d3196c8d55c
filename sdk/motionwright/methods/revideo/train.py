"""Training ReVideo's control module: the three stages of §3.3 (the authors released none).

- Stage 1, motion prior: the whole frame is the edit region (no content condition); every
  control-module parameter except the content encoder E_c trains.
- Stage 2, decoupling: samples are ``V1·M + V2·(1−M)`` composites (:mod:`.data`); the whole
  control module trains, starting from stage 1's.
- Stage 3, deblocking: normal videos; only the key/value projections ``W_k``, ``W_v`` of the
  temporal self-attention layers of the control module *and* the SVD UNet, plus the SAFM's
  embedding H (the Γ predictor), train; everything else stays bit-identical.

The objective is SVD's EDM denoising loss (eq. 3 with eq. 2's preconditioning,
:mod:`..svd_edm`) with the control residuals added to the frozen (stage 3: partly tuned)
UNet, conditioned like SVD sampling: the noise-augmented first frame's latent and CLIP
embedding, fps, motion bucket 127, augmentation 0.02.

Defaults (:class:`TrainSettings`): the paper's 40k/30k/20k iterations, batch 4 per GPU at
512×320, Adam; its learning rate is not given — 1e-5, the rate SVD and ControlNet
fine-tuning use. Mixed precision, gradient accumulation and multi-GPU data parallelism come
from Hugging Face ``accelerate`` (run ``accelerate launch -m motionwright train revideo ...``
for several GPUs); gradient checkpointing from diffusers' blocks.

Checkpoints (every ``save_every`` optimiser steps, and at the end) are folders written
atomically: the control module (and, from stage 3, the UNet's temporal K/V) as safetensors,
the Adam state as safetensors, and ``train_state.json`` (schema ``ReVideoTraining.1``: step,
settings, loss curve). Sample randomness and noise are functions of ``(seed, step)``, so a
resumed run reproduces an uninterrupted one exactly. The final folder loads with
``motionwright models add revideo OUT/final``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInputError

STAGE_STEPS = {1: 40_000, 2: 30_000, 3: 20_000}
TRAIN_SCHEMA = "ReVideoTraining"
TRAIN_VERSION = 1
_H_PREFIXES = ("fusion.conv_in.", "fusion.blocks.", "fusion.conv_out.")


@dataclass(frozen=True)
class TrainSettings:
    """One stage's hyper-parameters (see the module docstring for the defaults)."""

    stage: int
    steps: int | None = None
    batch: int = 4
    size: tuple[int, int] = (512, 320)
    frames: int = 14
    lr: float = 1e-5
    grad_accum: int = 1
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    save_every: int = 1000
    seed: int = 0
    fps: int | None = None
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02

    def __post_init__(self) -> None:
        from ..._validate import require_int

        if self.stage not in STAGE_STEPS:
            raise InvalidInputError(f"stage: expected 1, 2 or 3, got {self.stage!r}")
        if self.steps is not None:
            require_int(self.steps, "steps", 1)
        for name in ("batch", "frames", "grad_accum", "save_every"):
            require_int(getattr(self, name), name, 1)
        require_int(self.seed, "seed", 0)
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise InvalidInputError(f"mixed_precision: expected no, fp16 or bf16, got "
                                    f"{self.mixed_precision!r}")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise InvalidInputError(f"lr: expected a learning rate > 0, got {self.lr}")

    @property
    def total_steps(self) -> int:
        """Optimiser steps of this stage (the paper's when not given)."""
        return self.steps or STAGE_STEPS[self.stage]


def stage_parameters(control, unet, stage: int) -> dict[str, Any]:
    """The parameters stage ``stage`` trains, by name (``control.*`` / ``unet.*``)."""
    from .checkpoint import temporal_kv_names

    named = {}
    if stage in (1, 2):
        for name, p in control.named_parameters():
            if stage == 1 and name.startswith("content_encoder."):
                continue
            named[f"control.{name}"] = p
        return named
    control_params = dict(control.named_parameters())
    for name in temporal_kv_names(control):
        named[f"control.{name}"] = control_params[name]
    for name, p in control_params.items():
        if name.startswith(_H_PREFIXES):
            named[f"control.{name}"] = p
    unet_params = dict(unet.named_parameters())
    for name in temporal_kv_names(unet):
        named[f"unet.{name}"] = unet_params[name]
    return named


def training_loss(unet, control, holder, batch: dict[str, Any], sigma, noise):
    """EDM loss (eq. 3) of ``batch`` (latents ``x0`` ``(B, F, C, h, w)``, ``image_latent``,
    ``context``, ``time_ids``, ``conds``) at noise levels ``sigma`` ``(B,)`` with ``noise``."""
    from .. import svd_edm
    from .sampler import denoise

    x0 = batch["x0"]
    noisy = x0 + svd_edm._expand(sigma, x0.ndim) * noise
    den = denoise(unet, control, holder, noisy, sigma, batch["image_latent"], batch["context"],
                  batch["time_ids"], batch["conds"])
    per_sample = ((den - x0) ** 2).flatten(1).mean(dim=1)
    return (svd_edm.loss_weight(sigma).to(x0.device) * per_sample).mean()


class ReVideoTrainer:
    """One training stage on an SVD model and a folder of videos.

    ``init`` is the previous stage's control module (a loaded ``revideo`` model or
    :class:`~motionwright.models.revideo.ControlWeights`; required from stage 2 on);
    ``control_options`` are extra :class:`~.control.ReVideoControlModule` arguments for a
    stage-1 module (e.g. ``encoder_channels``).
    """

    def __init__(self, loaded, data, settings: TrainSettings, output: str | Path, *,
                 init: Any = None, control_options: dict[str, Any] | None = None) -> None:
        import torch
        from accelerate import Accelerator

        from ...models.revideo import ControlWeights
        from .checkpoint import build_control
        from .control import ReVideoControlModule
        from .inject import ControlResiduals

        self.loaded, self.data, self.settings = loaded, data, settings
        self.output = Path(output)
        self.pipe = loaded.pipeline
        self.unet = self.pipe.unet
        self.accelerator = Accelerator(mixed_precision=settings.mixed_precision,
                                       gradient_accumulation_steps=settings.grad_accum,
                                       cpu=str(loaded.device) == "cpu")
        self.device = self.accelerator.device
        self.unet.to(self.device, dtype=torch.float32)
        if init is None:
            if settings.stage != 1:
                raise InvalidInputError(
                    f"init: stage {settings.stage} starts from the previous stage's control "
                    f"module; give --init PATH (the folder stage {settings.stage - 1} wrote)")
            # The new layers' initialisation follows the seed, so a run is reproducible.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(settings.seed)
                control = ReVideoControlModule.from_unet(self.unet, **(control_options or {}))
        else:
            weights = init if isinstance(init, ControlWeights) else init.pipeline
            control = build_control(weights, self.unet)
            self._base_kv = weights.unet_kv
            with torch.no_grad():
                params = dict(self.unet.named_parameters())
                for name, value in weights.unet_kv.items():
                    params[name].copy_(value.to(params[name]))
        self.control = control.to(self.device, dtype=torch.float32)
        self.unet.requires_grad_(False)
        self.control.requires_grad_(False)
        self.trainable = stage_parameters(self.control, self.unet, settings.stage)
        for p in self.trainable.values():
            p.requires_grad_(True)
        if settings.gradient_checkpointing:
            self.control.enable_gradient_checkpointing()
            self.unet.enable_gradient_checkpointing()
        self.optimizer = torch.optim.Adam(list(self.trainable.values()), lr=settings.lr)
        # Data parallelism wraps what trains; hooks and configs use the unwrapped modules.
        self.model = self.accelerator.prepare(self.control)
        if settings.stage == 3:
            self.unet_model = self.accelerator.prepare(self.unet)
        else:
            self.unet_model = self.unet
        self.optimizer = self.accelerator.prepare(self.optimizer)
        self.holder = ControlResiduals()
        self.step = 0
        self.losses: list[float] = []

    # -- batches ---------------------------------------------------------------------------
    def encode(self, samples) -> dict[str, Any]:
        """Latents and conditioning of ``samples`` (no gradients)."""
        import torch

        from .. import svd_edm
        from .._frames import to_model_range
        from ..motion_inversion import clip_embeddings
        from .region import resize

        vae = self.pipe.vae.to(self.device)
        scaling = float(vae.config.scaling_factor)
        stages = len(self.control.config.encoder_channels) - 1
        x0, image, context, conds = [], [], [], {"motion": [], "content": [], "mask": []}
        fps = []
        for k, s in enumerate(samples):
            gen = torch.Generator().manual_seed(self.settings.seed * 1_000_003 + self.step * 97
                                                + k)
            with torch.no_grad():
                pixels = to_model_range(s.frames).to(self.device, vae.dtype)
                x0.append(vae.encode(pixels).latent_dist.mean.float() * scaling)
                first = pixels[:1] + self.settings.noise_aug_strength * torch.randn(
                    pixels[:1].shape, generator=gen).to(self.device)
                image.append(vae.encode(first).latent_dist.mode().float()[0])
                context.append(clip_embeddings(self.loaded, s.frames[:1], self.device)[0])
            lh, lw = x0[-1].shape[-2:]
            cond_size = (lw * 2 ** stages, lh * 2 ** stages)
            mask = resize(s.mask.astype(np.uint8), cond_size) > 0
            flow = np.stack([resize(f, cond_size) for f in s.flow.transpose(1, 0, 2, 3)], 1)
            flow = flow * (cond_size[0] / s.frames.shape[2])
            content = resize(s.frames, cond_size).astype(np.float32) / 127.5 - 1
            content = content * (1 - mask[..., None])
            conds["motion"].append(torch.from_numpy(np.ascontiguousarray(flow)))
            conds["content"].append(torch.from_numpy(content.transpose(0, 3, 1, 2).copy()))
            conds["mask"].append(torch.from_numpy(mask[:, None].astype(np.float32)))
            fps.append(self.settings.fps or min(max(round(s.fps), 6), 10))
        ids = torch.cat([svd_edm.add_time_ids(f, self.settings.motion_bucket_id,
                                              self.settings.noise_aug_strength, 1)
                         for f in fps])
        return {"x0": torch.stack(x0).to(self.device),
                "image_latent": torch.stack(image).to(self.device),
                "context": torch.stack(context)[:, None].to(self.device),
                "time_ids": ids.to(self.device),
                "conds": {k: torch.stack(v).to(self.device) for k, v in conds.items()}}

    def noise_for(self, x0, micro: int):
        """Noise levels ``(B,)`` and noise for micro-batch ``micro`` of the current step."""
        import torch

        from .. import svd_edm

        gen = torch.Generator().manual_seed(self.settings.seed * 7919 + self.step * 31 + micro)
        u = torch.rand(x0.shape[0], generator=gen)
        sigma = svd_edm.sigma_from_uniform(u).to(self.device)
        noise = torch.randn(x0.shape, generator=gen).to(self.device)
        return sigma, noise

    # -- the loop --------------------------------------------------------------------------
    def train_step(self) -> float:
        """One optimiser step (``grad_accum`` micro-batches); returns the mean loss."""
        from .inject import control_residuals

        s = self.settings
        total = 0.0
        self.control.train()
        with control_residuals(self.unet, self.holder):
            for micro in range(s.grad_accum):
                samples = [self.data.sample(s.seed, self.step, micro * s.batch + i)
                           for i in range(s.batch)]
                batch = self.encode(samples)
                sigma, noise = self.noise_for(batch["x0"], micro)
                with self.accelerator.accumulate(self.model), self.accelerator.autocast():
                    loss = training_loss(self.unet_model, self.model, self.holder, batch, sigma,
                                         noise)
                    self.accelerator.backward(loss)
                    self.optimizer.step()
                    self.optimizer.zero_grad(set_to_none=True)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"training diverged at step {self.step} (loss {value}); lower --lr or "
                        f"use --mixed-precision bf16/no")
                total += value
        self.step += 1
        mean = total / s.grad_accum
        self.losses.append(mean)
        return mean

    def run(self, progress=None, cancel=None) -> Path:
        """Train to the stage's step count (resuming from the latest checkpoint in the output
        folder); returns the final folder."""
        from ...progress import Reporter

        self.resume_latest()
        s = self.settings
        reporter = Reporter(f"training ReVideo stage {s.stage}", s.total_steps, progress, cancel)
        if self.step:
            reporter.step(self.step)
        while self.step < s.total_steps:
            self.train_step()
            if self.step % s.save_every == 0 and self.step < s.total_steps:
                self.save(self.output / f"checkpoint-{self.step:07d}")
            reporter.step()
        return self.save(self.output / "final")

    # -- checkpoints -----------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        """Write the control module, the optimiser state and the run record to ``folder``."""
        from safetensors.torch import save_file

        from ..._persist import schema_label, write_json
        from .checkpoint import save_control

        s = self.settings
        meta = {"stage": s.stage, "step": self.step, "trained_steps": self.step}
        save_control(folder, self.accelerator.unwrap_model(self.control),
                     unet=self.unet if s.stage == 3 or getattr(self, "_base_kv", None)
                     else None, meta=meta)
        tensors, groups = self._optimizer_tensors()
        save_file(tensors, str(folder / "optimizer.safetensors.tmp"))
        (folder / "optimizer.safetensors.tmp").replace(folder / "optimizer.safetensors")
        settings = asdict(s)
        settings["size"] = list(s.size)
        write_json(folder / "train_state.json", {
            "schema": schema_label(TRAIN_SCHEMA, TRAIN_VERSION), "step": self.step,
            "settings": settings, "losses": self.losses, "param_groups": groups,
            "saved_at": time.time()})
        return folder

    def _optimizer_tensors(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        opt = getattr(self.optimizer, "optimizer", self.optimizer)
        names = {id(p): n for n, p in self.trainable.items()}
        tensors = {}
        for p, state in opt.state.items():
            for key, value in state.items():
                tensors[f"{names[id(p)]}::{key}"] = value.detach().to("cpu").contiguous()
        groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
        return tensors, groups

    def resume_latest(self) -> int:
        """Load the newest ``checkpoint-*`` in the output folder, if any; returns its step."""
        found = sorted(self.output.glob("checkpoint-*"))
        found = [p for p in found if (p / "train_state.json").is_file()]
        if not found:
            return 0
        return self.load_state(found[-1])

    def load_state(self, folder: Path) -> int:
        """Restore weights, Adam state, step and loss curve from a checkpoint folder."""
        import torch
        from safetensors.torch import load_file

        from ..._persist import read_json, upgrade
        from ...models.revideo import UNET_KV, WEIGHTS

        record = upgrade(read_json(folder / "train_state.json", "ReVideo training state"),
                         TRAIN_SCHEMA, TRAIN_VERSION, source=str(folder))
        with torch.no_grad():
            state = load_file(str(folder / WEIGHTS))
            self.accelerator.unwrap_model(self.control).load_state_dict(state)
            if (folder / UNET_KV).is_file():
                params = dict(self.unet.named_parameters())
                for name, value in load_file(str(folder / UNET_KV)).items():
                    params[name].copy_(value)
        opt = getattr(self.optimizer, "optimizer", self.optimizer)
        saved = load_file(str(folder / "optimizer.safetensors"))
        for name, p in self.trainable.items():
            entries = {k.split("::", 1)[1]: v for k, v in saved.items()
                       if k.split("::", 1)[0] == name}
            if entries:
                opt.state[p] = {k: v.to(p.device) for k, v in entries.items()}
        for group, stored in zip(opt.param_groups, record.get("param_groups", []), strict=False):
            group.update(stored)
        self.step = int(record["step"])
        self.losses = list(record.get("losses", []))
        return self.step
