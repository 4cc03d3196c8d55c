"""The Drag-A-Video run on SD 1.5: propagate, crop, (LoRA), invert, drag, denoise, paste.

:func:`drag_clip` is what the ``diffusion`` backend calls for a :class:`~motionwright.DragEdit`.
See the package docstring for the method and its defaults.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from ...progress import Reporter
from .carry import StrideCarry
from .correspondence import DiftCorrespondence, foreground_mask
from .ddim import Schedule, invert, make_schedule, make_train_alphas
from .denoise import denoise
from .edit_region import EditRegions
from .encode import decode_latents, encode_frames, encode_text, to_uint8
from .optimise import optimise
from .placement import Placement
from .plan import frames_per_call, model_size, processed_rows
from .policy import choose_drag_policy
from .region import crop_box, points_from_model, to_model
from .result import DragResult
from .settings import DragSettings


def drag_clip(loaded, clip, edit, settings: DragSettings | None = None, *,
              memory: Any = "auto", sam_models: Any = None, progress=None,
              cancel=None) -> DragResult:
    """Run Drag-A-Video for ``edit`` on every frame of ``clip`` with the loaded ``sd15`` model.

    Frames are read from ``clip`` as needed (streaming); only the region crops, at the model
    size, are kept, and the result is a lazy clip compositing them into each source frame
    when read. ``memory``: ``"auto"`` (the fastest policy whose :func:`~.policy.drag_estimates` fits
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
    policy, estimate = choose_drag_policy(loaded, clip, edit.frame, s, memory,
                                          len(edit.handles))
    t_count = len(clip)
    planned = processed_rows(t_count, s.stride, edit.frame)
    chunk = frames_per_call(policy, len(planned), s)
    vae_chunk = min(policy.vae_chunk or len(planned), len(planned))
    unet, vae = pipe.unet, pipe.vae
    notes: list[str] = []
    native = clip.size
    size = model_size(loaded, native, s)

    with translate_oom("the Drag-A-Video drag", policy, device):
        place = Placement(loaded, policy)
        try:
            with attention_backend(unet, policy):
                with place.on_device(pipe.text_encoder):
                    cond = encode_text(pipe, s.prompt, device).to(dtype)
                schedule: Schedule = make_schedule(pipe.scheduler.config, s.steps)
                alphas_train = torch.as_tensor(make_train_alphas(pipe.scheduler.config))

                # §3.2: carry the drag to every frame.
                foreground = foreground_mask(clip, edit, s, sam_models, notes)
                correspond = None
                if s.correspondence == "dift":
                    correspond = DiftCorrespondence(pipe, clip, cond, alphas_train.numpy(), s,
                                                    size, device, dtype, chunk, place.vae)
                spacing = max(8, round(min(native) / 16))
                prop = propagate_drag(clip, edit.handles, edit.targets, mask=edit.mask,
                                      k=s.point_set, spacing=s.point_spacing,
                                      mask_spacing=spacing, foreground=foreground,
                                      correspond=correspond, progress=progress, cancel=cancel)
                rows = processed_rows(t_count, s.stride, prop.key_row)
                regions = None if edit.mask is None else EditRegions(edit, prop, native)
                corners = np.zeros((0, 2), np.float32) if regions is None else regions.corners()
                box = crop_box(np.concatenate([prop.handles[rows].reshape(-1, 2),
                                               prop.targets[rows].reshape(-1, 2), corners]),
                               None, native, size)
                wanted = set(rows)
                crops = np.stack([to_model(to_uint8(f), box, size) for r, f in enumerate(clip)
                                  if r in wanted])
                key_frame = clip[prop.start_frame + prop.key_row]
                with place.vae():
                    z0 = encode_frames(vae, crops, device, dtype, vae_chunk)
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
                    offsets, handles, losses, iters, skipped = optimise(
                        unet, vae, inverted, levels, schedule, cond, prop, rows, box, size,
                        regions, s, chunk, key_frame, place, progress, cancel)
                    edited = denoise(unet, inverted, offsets, levels, schedule, cond,
                                      prop.key_row, rows, s, chunk, progress, cancel)
                with place.vae():
                    crops_out = decode_latents(vae, edited, vae_chunk)
        finally:
            place.close()
    if skipped:
        notes.append(f"{skipped} of {iters} drag iterations skipped: non-finite gradients "
                     "(half-precision loss scaling lowered its scale)")
    handles_native = np.stack([points_from_model(h, box, size) for h in handles])
    region_at = regions if regions is not None else (lambda _row: None)
    carry = None
    if len(rows) < t_count:
        carry = StrideCarry(prop, rows, handles_native, region_at, box, native, s.feather)
    out = Clip.from_source(DragOutput(clip, crops_out, rows, box, region_at, s.feather, carry))
    return DragResult(out, box, rows, handles_native, losses, list(lora_losses), iters, notes,
                      memory=policy.name, frame_batch=chunk, vae_chunk=vae_chunk,
                      checkpointed=int(checkpointed), estimate_bytes=estimate,
                      skipped_iterations=skipped)

