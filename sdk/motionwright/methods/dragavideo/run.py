"""The Drag-A-Video run loop on SD 1.5: propagate, crop, (LoRA), invert, drag, denoise, paste.

:func:`drag_clip` is what the ``diffusion`` backend calls for a :class:`~motionwright.DragEdit`.
See the package docstring for the method and its defaults.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...progress import Reporter
from . import supervision as sup
from .ddim import Schedule, ddim_move, invert, make_schedule, predict_x0, run_unet
from .features import dift_features, dift_track, feature_block, sample_points
from .region import (
    composite,
    crop_box,
    mask_to_model,
    points_from_model,
    points_to_model,
    to_model,
)

_CORRESPONDENCE = ("dift", "flow")
_SEGMENTERS = ("auto", "sam", "none")


@dataclass(frozen=True)
class DragSettings:
    """Every knob of a Drag-A-Video run (defaults: the paper's §4.1, else DragDiffusion's).

    ``size``: model working size ``(w, h)`` (default 512×512, SD 1.5's native size);
    ``steps``: DDIM schedule length; ``levels``: the timesteps (levels of ``steps``) with
    learnable latent offsets; ``iterations``: maximum drag iterations; ``lr``: Adam's learning
    rate for the offsets; ``step_limit``: l of eq. (7) in supervision-grid units;
    ``patch_radius``: r of the drag-loss patch; ``unit``: image pixels per supervision-grid
    unit; ``mask_weight``: λ of the mask loss; ``feature_ema``: decay of the handle-feature
    moving average; ``stop_distance``: a handle within this many units of its target in every
    frame has arrived; ``lora_*``: LoRA fine-tuning (0 steps: off); ``cross_frame``:
    cross-branch/cross-frame decoder attention while denoising; ``stride``: process every
    k-th frame and carry the edit to the others with the tracked motion; ``point_set`` /
    ``point_spacing``: the k×k handle sets of §3.2 (spacing in source pixels);
    ``correspondence``: ``"dift"`` or ``"flow"`` point propagation; ``segmenter``: SAM for the
    foreground split (``"auto"`` uses it when a ``sam`` model is configured);
    ``frame_batch``: frames per UNet call (None: the memory policy decides);
    ``preview_every``: an intermediate preview every N iterations (0: none).
    """

    size: tuple[int, int] | None = None
    steps: int = 50
    levels: tuple[int, ...] = (42, 41, 35, 30)
    iterations: int = 60
    lr: float = 0.01
    step_limit: float = 3.0
    patch_radius: int = 1
    unit: float = 2.0
    mask_weight: float = 0.1
    feature_ema: float = 0.9
    stop_distance: float = 2.0
    lora_steps: int = 80
    lora_rank: int = 16
    lora_lr: float = 5e-4
    lora_batch: int = 4
    cross_frame: bool = True
    stride: int = 1
    point_set: int = 3
    point_spacing: float = 4.0
    correspondence: str = "dift"
    dift_timestep: int = 261
    dift_ensemble: int = 4
    segmenter: str = "auto"
    feature_block: int | None = None
    frame_batch: int | None = None
    prompt: str = ""
    feather: float = 8.0
    seed: int = 0
    preview_every: int = 1

    def __post_init__(self) -> None:
        for name in ("steps", "iterations", "stride", "point_set", "dift_ensemble"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise InvalidInputError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("lora_steps", "preview_every", "patch_radius"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 0:
                raise InvalidInputError(f"{name}: expected an integer >= 0, got {value!r}")
        for name in ("lr", "step_limit", "unit", "stop_distance", "lora_lr", "point_spacing"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise InvalidInputError(f"{name}: expected a positive number, got {value!r}")
        if not self.levels or any(not 1 <= int(t) <= self.steps for t in self.levels):
            raise InvalidInputError(
                f"levels: expected timesteps between 1 and steps={self.steps}, got "
                f"{self.levels!r}")
        if not 0.0 <= self.feature_ema < 1.0:
            raise InvalidInputError(f"feature_ema: expected 0 <= decay < 1, got "
                                    f"{self.feature_ema!r}")
        if self.mask_weight < 0 or self.feather < 0:
            raise InvalidInputError("mask_weight, feather: expected numbers >= 0")
        if self.correspondence not in _CORRESPONDENCE:
            raise InvalidInputError(f"correspondence: expected dift or flow, got "
                                    f"{self.correspondence!r}")
        if self.segmenter not in _SEGMENTERS:
            raise InvalidInputError(f"segmenter: expected auto, sam or none, got "
                                    f"{self.segmenter!r}")
        if self.frame_batch is not None and self.frame_batch < 1:
            raise InvalidInputError(f"frame_batch: expected a positive frame count, got "
                                    f"{self.frame_batch!r}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 8):
            raise InvalidInputError(f"size: expected (width, height) of at least 8 pixels, "
                                    f"got {self.size!r}")


@dataclass
class DragResult:
    """The edited clip and what the run did.

    ``clip``: every frame of the result as a lazy :class:`~motionwright.Clip` (each frame is
    composited from the source frame when read; see :mod:`.output`); ``box``: the crop box;
    ``rows``: the frames processed by diffusion; ``handles`` ``(R, P, 2)``: final handle
    positions on those frames (source pixels); ``drag_losses``: per iteration;
    ``iterations``: how many ran; ``notes``: fallbacks taken (e.g. no SAM model);
    ``memory``: the memory policy used; ``frame_batch``: frames per UNet call while dragging;
    ``vae_chunk``: frames per VAE call; ``checkpointed``: UNet blocks recomputed in the
    backward pass; ``estimate_bytes``: the policy's VRAM estimate (None on the CPU).
    """

    clip: Any
    box: tuple[int, int, int, int]
    rows: list[int]
    handles: np.ndarray
    drag_losses: list[float] = field(default_factory=list)
    lora_losses: list[float] = field(default_factory=list)
    iterations: int = 0
    notes: list[str] = field(default_factory=list)
    memory: str = "gpu"
    frame_batch: int = 1
    vae_chunk: int = 1
    checkpointed: int = 0
    estimate_bytes: int | None = None

    @property
    def frames(self) -> np.ndarray:
        """Every frame as one ``(T, H, W, 3)`` array (T full frames in memory: small clips)."""
        return self.clip.to_array()


def processed_rows(count: int, stride: int, key_row: int) -> list[int]:
    """The rows diffusion processes: every ``stride``-th row, the key row and the last row."""
    return sorted({*range(0, count, stride), key_row, count - 1})


def _encode_text(pipe, prompt: str, device):
    import torch

    tok = pipe.tokenizer(prompt, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                         truncation=True, return_tensors="pt")
    with torch.no_grad():
        return pipe.text_encoder(tok.input_ids.to(device))[0]


def _encode_frames(vae, crops: np.ndarray, device, dtype, chunk: int):
    import torch

    from .._frames import to_model_range

    out = []
    with torch.no_grad():
        for i in range(0, len(crops), chunk):
            x = to_model_range(crops[i:i + chunk]).to(device, dtype)
            out.append(vae.encode(x).latent_dist.mean * vae.config.scaling_factor)
    return torch.cat(out)


def _decode(vae, latents, chunk: int) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(latents), chunk):
            img = vae.decode(latents[i:i + chunk] / vae.config.scaling_factor).sample
            img = ((img.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            out.append(img.permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out)


def _to8(frame: np.ndarray) -> np.ndarray:
    return (frame >> 8).astype(np.uint8) if frame.dtype == np.uint16 else frame


def _foreground(clip, edit, settings: DragSettings, sam_models: Any, notes: list[str]):
    """The SAM mask of the dragged object on the drag frame (handles as positive clicks)."""
    if settings.segmenter == "none":
        return None
    from ...models.errors import ModelNotFoundError
    from ...segmentation import segment
    from ...types import PointSet

    try:
        pts = PointSet(edit.handles.points, frame=edit.frame,
                       labels=np.ones(len(edit.handles), np.int64))
        mask = segment(clip[edit.frame], pts, models=sam_models).at(edit.frame)
    except ModelNotFoundError:
        if settings.segmenter == "sam":
            raise
        notes.append("no sam model configured: foreground split by mask or motion")
        return None
    return mask if mask.any() else None


class _Dift:
    """DIFT correspondences over whole frames at the model's scale (for §3.2); frames are read
    from the clip one at a time and shrunk to the model size."""

    def __init__(self, pipe, clip, cond, schedule_alphas, settings, size, device, dtype,
                 chunk: int, vae_on) -> None:
        self.pipe, self.clip, self.cond = pipe, clip, cond
        self.alphas, self.settings, self.size = schedule_alphas, settings, size
        self.device, self.dtype, self.chunk, self.vae_on = device, dtype, chunk, vae_on

    def __call__(self, points: np.ndarray, key: int, span: range):
        import cv2

        w, h = self.clip.size
        small = np.stack([cv2.resize(_to8(f), self.size, interpolation=cv2.INTER_AREA)
                          for f in self.clip[span.start:span.stop]])
        with self.vae_on():
            latents = _encode_frames(self.pipe.vae, small, self.device, self.dtype, self.chunk)
        feats = dift_features(self.pipe.unet, latents, self.cond, self.alphas,
                              timestep=self.settings.dift_timestep,
                              ensemble=self.settings.dift_ensemble, seed=self.settings.seed,
                              batch=self.chunk)
        scale = np.array([self.size[0] / w, self.size[1] / h], np.float32)
        pts = (points + 0.5) * scale - 0.5
        tracks, visible = dift_track(feats, pts, key - span.start, self.size)
        return (tracks + 0.5) / scale - 0.5, visible


def frames_per_call(policy, frames: int, settings: DragSettings) -> int:
    """Frames per UNet call while dragging: ``settings.frame_batch``, else the policy's
    (``gpu``: up to 16, ``balanced``: 4, ``lowvram``: 1), at most ``frames``."""
    default = {"gpu": 16, "balanced": 4, "lowvram": 1}.get(policy.name, 4)
    return max(1, min(settings.frame_batch or default, frames))


def model_size(loaded, native: tuple[int, int], settings: DragSettings) -> tuple[int, int]:
    """The model working size ``(w, h)`` of a run (``settings.size`` rounded, else 512²)."""
    from .._frames import size_multiple, working_size

    pipe = loaded.pipeline
    multiple = size_multiple(getattr(pipe, "vae_scale_factor", 8), len(pipe.unet.down_blocks))
    return working_size(native, 512, multiple, requested=tuple(settings.size or (512, 512)))


def drag_estimates(loaded, clip, edit_frame: int, settings: DragSettings | None = None,
                   policies: tuple = ("gpu", "balanced", "lowvram")) -> dict:
    """``{policy name: VramEstimate}`` of a drag on ``clip`` (frames processed under
    ``settings.stride``, at the model working size) for each of ``policies``."""
    from ...models.estimate import estimate_drag
    from ...models.memory import get_policy

    s = settings or DragSettings()
    pipe = loaded.pipeline
    size = model_size(loaded, clip.size, s)
    scale = getattr(pipe, "vae_scale_factor", 8)
    rows = processed_rows(len(clip), s.stride, edit_frame)
    tokens = int(getattr(pipe.tokenizer, "model_max_length", 77))
    out = {}
    for name in policies:
        policy = get_policy(name)
        out[policy.name] = estimate_drag(
            pipe.unet, pipe.vae, pipe.text_encoder, frames=len(rows),
            latent_hw=(size[1] // scale, size[0] // scale), dtype=loaded.dtype, policy=policy,
            frame_batch=frames_per_call(policy, len(rows), s), levels=len(set(s.levels)),
            tokens=tokens, lora=s.lora_steps > 0, lora_batch=s.lora_batch,
            lora_rank=s.lora_rank, cross_frame=s.cross_frame)
    return out


def choose_drag_policy(loaded, clip, edit_frame: int, settings: DragSettings,
                       memory: Any = "auto"):
    """The memory policy of a drag (as requested, or the fastest whose estimate fits the free
    accelerator memory) and its estimated peak bytes (None on the CPU)."""
    from ...models.device import memory_available
    from ...models.memory import ORDER, choose_policy, get_policy

    memory = "auto" if memory is None else memory
    requested = None if memory == "auto" else get_policy(memory)
    available = memory_available(loaded.device)
    if available is None:
        return requested or get_policy("gpu"), None
    names = tuple(ORDER) if requested is None or requested.name in ORDER else (
        *ORDER, requested)
    estimates = {k: v.peak_bytes for k, v in drag_estimates(loaded, clip, edit_frame, settings,
                                                            names).items()}
    chosen = choose_policy(estimates, available[0], requested or "auto",
                           what="the Drag-A-Video drag", device=str(loaded.device))
    return chosen, estimates.get(chosen.name)


class _Placement:
    """Where the components sit under a policy: everything on the device (``offload`` none,
    or the CPU), or the UNet on the device and the text encoder and VAE moved in only while
    they work (model CPU offload of the idle components)."""

    def __init__(self, loaded, policy) -> None:
        from ...models.loading import set_forward_chunking

        self.loaded, self.policy = loaded, policy
        self.device = loaded.device
        self.offload = policy.offload != "none" and self.device.type != "cpu"
        pipe = loaded.pipeline
        if not self.offload:
            loaded.place(policy)
            return
        loaded.reset_placement()
        pipe.text_encoder.to("cpu")
        pipe.vae.to("cpu")
        pipe.unet.to(self.device)
        set_forward_chunking(pipe.unet, policy.forward_chunking)

    @contextlib.contextmanager
    def on_device(self, module):
        """``module`` on the device while the block runs (back to the CPU after, when
        offloading)."""
        if not self.offload:
            yield module
            return
        module.to(self.device)
        try:
            yield module
        finally:
            module.to("cpu")

    def vae(self):
        """:meth:`on_device` for the VAE."""
        return self.on_device(self.loaded.pipeline.vae)

    def close(self) -> None:
        """Undo the feed-forward chunking of an offloading placement."""
        if self.offload:
            from ...models.loading import set_forward_chunking

            set_forward_chunking(self.loaded.pipeline.unet, False)


class _Regions:
    """Each frame's edit region on demand (:func:`_region`), never all frames at once."""

    def __init__(self, edit, prop, native) -> None:
        self.edit, self.prop, self.native = edit, prop, native

    def __call__(self, row: int) -> np.ndarray | None:
        return _region(self.edit, self.prop, row, self.native)

    def corners(self) -> np.ndarray:
        """``(2·T, 2)`` the top-left and bottom-right pixel of every frame's region."""
        out = []
        for row in range(len(self.prop.handles)):
            m = self(row)
            if m is None or not m.any():
                continue
            ys, xs = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            out += [[xs[0], ys[0]], [xs[-1], ys[-1]]]
        return np.asarray(out, np.float32).reshape(-1, 2)


def drag_clip(loaded, clip, edit, settings: DragSettings | None = None, *,
              memory: Any = "auto", sam_models: Any = None, progress=None,
              cancel=None) -> DragResult:
    """Run Drag-A-Video for ``edit`` on every frame of ``clip`` with the loaded ``sd15`` model.

    Frames are read from ``clip`` as needed (streaming); only the region crops, at the model
    size, are kept, and the result is a lazy clip compositing them into each source frame
    when read. ``memory``: ``"auto"`` (the fastest policy whose :func:`drag_estimates` fits
    the free accelerator memory; ``gpu`` on the CPU), a policy name or a
    :class:`~motionwright.models.MemoryPolicy`: ``gpu`` keeps every component on the device
    and runs up to 16 frames per UNet call; ``balanced`` (the 12 GB profile) keeps the text
    encoder and VAE off the device while idle, recomputes the UNet's transformer blocks in
    the backward pass and runs 4 frames per call, the VAE 4 frames at a time; ``lowvram``
    one frame per call, recomputing every block, chunked feed-forward. ``sam_models``: where
    the ``sam`` model comes from (None: the store). Progress stages: ``propagate``/``track``,
    ``lora``, ``invert``, ``drag`` (one step per iteration, with a preview of the drag
    frame), ``denoise``. Out of accelerator memory raises
    :class:`~motionwright.models.OutOfMemoryError` naming the policy to try.
    """
    import torch

    from ...clip import Clip
    from ...models.hooks import activation_checkpointing
    from ...models.memory import attention_backend
    from ...models.oom import translate_oom
    from ...propagation.dragavideo import propagate_drag
    from .output import DragOutput

    s = settings or DragSettings()
    pipe = loaded.pipeline
    device, dtype = loaded.device, loaded.dtype
    policy, estimate = choose_drag_policy(loaded, clip, edit.frame, s, memory)
    t_count = len(clip)
    planned = processed_rows(t_count, s.stride, edit.frame)
    chunk = frames_per_call(policy, len(planned), s)
    vae_chunk = min(policy.vae_chunk or len(planned), len(planned))
    unet, vae = pipe.unet, pipe.vae
    notes: list[str] = []
    native = clip.size
    size = model_size(loaded, native, s)

    with translate_oom("the Drag-A-Video drag", policy, device):
        place = _Placement(loaded, policy)
        try:
            with attention_backend(unet, policy):
                with place.on_device(pipe.text_encoder):
                    cond = _encode_text(pipe, s.prompt, device).to(dtype)
                schedule: Schedule = make_schedule(pipe.scheduler.config, s.steps)
                alphas_train = torch.as_tensor(make_train_alphas(pipe.scheduler.config))

                # §3.2: carry the drag to every frame.
                foreground = _foreground(clip, edit, s, sam_models, notes)
                correspond = None
                if s.correspondence == "dift":
                    correspond = _Dift(pipe, clip, cond, alphas_train.numpy(), s, size, device,
                                       dtype, chunk, place.vae)
                spacing = max(8, round(min(native) / 16))
                prop = propagate_drag(clip, edit.handles, edit.targets, mask=edit.mask,
                                      k=s.point_set, spacing=s.point_spacing,
                                      mask_spacing=spacing, foreground=foreground,
                                      correspond=correspond, progress=progress, cancel=cancel)
                rows = processed_rows(t_count, s.stride, prop.key_row)
                regions = None if edit.mask is None else _Regions(edit, prop, native)
                corners = np.zeros((0, 2), np.float32) if regions is None else regions.corners()
                box = crop_box(np.concatenate([prop.handles[rows].reshape(-1, 2),
                                               prop.targets[rows].reshape(-1, 2), corners]),
                               None, native, size)
                wanted = set(rows)
                crops = np.stack([to_model(_to8(f), box, size) for r, f in enumerate(clip)
                                  if r in wanted])
                key_frame = clip[prop.start_frame + prop.key_row]
                with place.vae():
                    z0 = _encode_frames(vae, crops, device, dtype, vae_chunk)
                del crops

                predicate = policy.checkpoint_predicate()
                ckpt = (activation_checkpointing(unet, predicate) if predicate is not None
                        else contextlib.nullcontext(0))
                lora_report = Reporter("lora", s.lora_steps, progress, cancel)
                from .lora import clip_lora

                with ckpt as checkpointed, clip_lora(
                        unet, z0, cond, alphas_train, steps=s.lora_steps, rank=s.lora_rank,
                        lr=s.lora_lr, batch=s.lora_batch, seed=s.seed,
                        step=lora_report.step) as lora_losses:
                    levels = tuple(sorted({int(t) for t in s.levels}, reverse=True))
                    inv_report = Reporter("invert", max(levels), progress, cancel)
                    inverted = invert(unet, z0, cond, schedule, levels, batch=chunk,
                                      step=inv_report.step)
                    offsets, handles, losses, iters = _optimise(
                        unet, vae, inverted, levels, schedule, cond, prop, rows, box, size,
                        regions, s, chunk, key_frame, place, progress, cancel)
                    edited = _denoise(unet, inverted, offsets, levels, schedule, cond,
                                      prop.key_row, rows, s, chunk, progress, cancel)
                with place.vae():
                    crops_out = _decode(vae, edited, vae_chunk)
        finally:
            place.close()
    handles_native = np.stack([points_from_model(h, box, size) for h in handles])
    region_at = regions if regions is not None else (lambda _row: None)
    carry = None
    if len(rows) < t_count:
        carry = _Carry(prop, rows, handles_native, region_at, box, native, s.feather)
    out = Clip.from_source(DragOutput(clip, crops_out, rows, box, region_at, s.feather, carry))
    return DragResult(out, box, rows, handles_native, losses, list(lora_losses), iters, notes,
                      memory=policy.name, frame_batch=chunk, vae_chunk=vae_chunk,
                      checkpointed=int(checkpointed), estimate_bytes=estimate)


def make_train_alphas(config: dict) -> np.ndarray:
    """ᾱ for every training timestep of a scheduler config (float64)."""
    from diffusers import DDIMScheduler

    return DDIMScheduler.from_config(dict(config)).alphas_cumprod.double().numpy()


def _region(edit, prop, row: int, native) -> np.ndarray | None:
    """Row ``row``'s ``(H, W)`` bool edit mask (None: no mask, the whole crop may change).
    The user's mask on the drag frame (and on frames an animated mask covers); elsewhere the
    union of patches around the propagated mask points (Fig. 5)."""
    if edit.mask is None:
        return None
    m = edit.mask
    index = prop.start_frame + row
    if index == edit.frame:
        return m.at(edit.frame)
    if not m.is_static and m.start_frame <= index < m.end_frame:
        return m.at(index)
    return prop.mask(index, native)


def _forward(unet, inputs: list, levels, schedule, cond, block: str, grad: bool):
    """Features ``(B, L·C, h, w)`` (levels concatenated on channels) and the noise
    prediction of the lowest level, for per-level inputs ``(B, 4, h, w)``."""
    import torch

    from ...models.hooks import FeatureRecorder

    b = inputs[0].shape[0]
    x = torch.cat(inputs)
    t = torch.tensor([schedule.timestep(lv) for lv in levels for _ in range(b)],
                     device=x.device)
    with torch.set_grad_enabled(grad), FeatureRecorder(unet, [block], detach=not grad) as rec:
        eps = unet(x, t, encoder_hidden_states=cond.expand(x.shape[0], -1, -1)).sample
        fmap = rec.features[block]
    fmap = fmap.reshape(len(levels), b, *fmap.shape[1:]).permute(1, 0, 2, 3, 4)
    return fmap.flatten(1, 2).float(), eps[-b:]


def _optimise(unet, vae, inverted, levels, schedule, cond, prop, rows, box, size, regions,
              s: DragSettings, chunk: int, key_frame, place, progress, cancel):
    """§3.3–3.4: Adam on the per-level latent offsets, alternating with shared-Δp tracking."""
    import torch

    block = feature_block(unet, s.feature_block)
    device = inverted[0].device
    n = len(rows)
    handles = torch.from_numpy(np.stack(
        [points_to_model(prop.handles[r], box, size) for r in rows])).to(device)
    targets = torch.from_numpy(np.stack(
        [points_to_model(prop.targets[r], box, size) for r in rows])).to(device)
    group = torch.from_numpy(prop.group).to(device)
    k2 = s.point_set ** 2
    centres = torch.arange(int(prop.group.max()) + 1, device=device) * k2 + k2 // 2
    lat_h, lat_w = inverted[0].shape[-2:]
    outside = torch.zeros((n, 1, lat_h, lat_w), device=device)
    if regions is not None:
        import cv2

        for i, r in enumerate(rows):
            m = mask_to_model(regions(r), box, size).astype(np.float32)
            small = cv2.resize(m, (lat_w, lat_h), interpolation=cv2.INTER_AREA)
            outside[i, 0] = torch.from_numpy((small <= 0).astype(np.float32))
    offsets = {lv: torch.zeros_like(inverted[lv], dtype=torch.float32, requires_grad=True)
               for lv in levels}
    opt = torch.optim.Adam(list(offsets.values()), lr=s.lr)
    dtype = inverted[levels[0]].dtype

    def inputs(idx):
        return [inverted[lv][idx] + offsets[lv][idx].to(dtype) for lv in levels]

    # Reference features of the input (tracking, §3.1) and the first template (eq. 3).
    refs, temps = [], []
    for i in range(0, n, chunk):
        idx = slice(i, i + chunk)
        fmap, _ = _forward(unet, inputs(idx), levels, schedule, cond, block, grad=False)
        refs.append(sample_points(fmap, handles[idx], size))
        temps.append(sup.patch_features(fmap, handles[idx], size, s.patch_radius, s.unit))
    reference = torch.cat(refs)
    template = torch.cat(temps).mean(dim=0)
    active = torch.ones(len(group), dtype=torch.bool, device=device)
    reporter = Reporter("drag", s.iterations, progress, cancel)
    losses: list[float] = []
    cands = torch.from_numpy(sup.step_candidates(s.step_limit, s.unit)).to(device)
    iters = 0
    key_pos = rows.index(prop.key_row)
    for k in range(s.iterations):
        iters = k + 1
        opt.zero_grad(set_to_none=True)
        total = 0.0
        cand_feats, fresh = [], []
        eps_key = None
        for i in range(0, n, chunk):
            idx = slice(i, i + chunk)
            fmap, eps = _forward(unet, inputs(idx), levels, schedule, cond, block, grad=True)
            loss = sup.drag_loss(fmap, handles[idx], targets[idx], template, active, size,
                                 s.patch_radius, s.unit)
            drag_value = float(loss.detach())
            if s.mask_weight > 0 and regions is not None:
                for lv in levels:
                    loss = loss + s.mask_weight * sup.mask_loss(offsets[lv][idx], outside[idx])
            loss.backward()
            total += drag_value
            with torch.no_grad():
                fm = fmap.detach()
                d = sup.directions(handles[idx], targets[idx])
                pts = handles[idx][:, :, None] + cands[None, None, :, None] * d[:, :, None]
                cand_feats.append(sample_points(fm, pts.flatten(1, 2), size))
                fresh.append(sup.patch_features(fm, handles[idx], size, s.patch_radius, s.unit))
                if i <= key_pos < i + chunk:
                    eps_key = eps[key_pos - i:key_pos - i + 1].detach()
        opt.step()
        losses.append(total)
        with torch.no_grad():
            feats = torch.cat(cand_feats)
            handles, _ = sup.shared_step(lambda pts, _f=feats: _f, reference, handles, targets,
                                         active, s.step_limit, s.unit)
            template = sup.update_template(template, torch.cat(fresh).mean(dim=0),
                                           s.feature_ema)
            dist = torch.linalg.norm(handles[:, centres] - targets[:, centres], dim=-1)
            arrived = (dist <= s.stop_distance * s.unit).all(dim=0)
            active = ~arrived[group]
        preview = None
        if s.preview_every and (k % s.preview_every == 0) and eps_key is not None:
            with place.vae():
                preview = _preview(vae, inverted, offsets, levels, schedule, eps_key, rows,
                                   prop.key_row, key_frame, box, s)
        reporter.step(preview=preview)
        if not bool(active.any()):
            break
    return ({lv: o.detach() for lv, o in offsets.items()}, handles.cpu().numpy(), losses,
            iters)


def _preview(vae, inverted, offsets, levels, schedule, eps, rows, key_row, frame, box, s):
    """The drag frame as the lowest level currently predicts it, pasted into the source."""
    lv = levels[-1]
    i = rows.index(key_row)
    with _no_grad():
        z = inverted[lv][i:i + 1] + offsets[lv][i:i + 1].to(inverted[lv].dtype)
        x0 = predict_x0(z, eps.detach().to(z.dtype), float(schedule.alphas[lv]))
        crop = _decode(vae, x0, 1)[0]
    return composite(frame, crop, box, None, 0.0)


def _no_grad():
    import torch

    return torch.no_grad()


def _denoise(unet, inverted, offsets, levels, schedule, cond, key_row, rows, s, chunk: int,
             progress, cancel):
    """Denoise from the highest level: the edited branch starts from the inverted latent plus
    its offset and takes each lower level's offset when it reaches that level; with
    ``cross_frame`` the source branch runs alongside for the decoder's cross-branch
    attention. Returns the edited clean latents ``(R, 4, h, w)``."""
    import torch

    from .attention import cross_branch_attention

    top = levels[0]
    n = len(rows)
    src = inverted[top].clone()
    edit = inverted[top] + offsets[top].to(src.dtype)
    reporter = Reporter("denoise", top, progress, cancel)
    ctx = (cross_branch_attention(unet, n, rows.index(key_row)) if s.cross_frame
           else contextlib.nullcontext())
    with torch.no_grad(), ctx:
        for lv in range(top, 0, -1):
            if lv != top and lv in offsets:
                edit = edit + offsets[lv].to(edit.dtype)
            t = schedule.timestep(lv)
            a_from, a_to = float(schedule.alphas[lv]), float(schedule.alphas[lv - 1])
            if s.cross_frame:
                eps = run_unet(unet, torch.cat([src, edit]), t, cond, 2 * n)
                e_src, e_edit = eps[:n], eps[n:]
                src = ddim_move(src, e_src, a_from, a_to)
            else:
                e_edit = run_unet(unet, edit, t, cond, chunk)
            edit = ddim_move(edit, e_edit, a_from, a_to)
            reporter.step()
    return edit


class _Carry:
    """Frames skipped by ``stride``: the drag displacement of the neighbouring processed rows,
    interpolated in time, moves each frame's tracked handle sets (the preview's MLS warp)."""

    def __init__(self, prop, rows, handles_native, region_at, box, native, feather) -> None:
        self.prop, self.rows = prop, np.asarray(rows)
        self.disp = handles_native - prop.handles[rows]
        self.region_at, self.box, self.native, self.feather = region_at, box, native, feather

    def __call__(self, row: int, frame: np.ndarray) -> np.ndarray:
        import cv2

        from ...preview.composite import contour_anchors, deform_region

        prop = self.prop
        j = int(np.searchsorted(self.rows, row))
        a, b = self.rows[j - 1], self.rows[j]
        w = (row - a) / (b - a)
        move = (1 - w) * self.disp[j - 1] + w * self.disp[j]
        width, height = self.native
        region = self.region_at(row)
        if region is None:
            x0, y0, x1, y1 = self.box
            region = np.zeros((height, width), bool)
            region[y0:y1, x0:x1] = True
        elif not region.any():
            region = prop.mask(prop.start_frame + row, self.native)
        if not region.any():
            return frame
        anchors = contour_anchors(region, spacing=24.0)
        valid = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        return deform_region(frame, frame, valid, region, prop.handles[row],
                             prop.handles[row] + move, anchors=anchors, feather=self.feather)


def with_overrides(settings: DragSettings, **changes: Any) -> DragSettings:
    """``settings`` with the non-None ``changes`` applied."""
    return dataclasses.replace(settings, **{k: v for k, v in changes.items() if v is not None})
