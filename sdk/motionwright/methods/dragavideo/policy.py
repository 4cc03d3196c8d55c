"""The memory policy of a drag: VRAM estimates per policy and the choice among them."""

from __future__ import annotations

from typing import Any

from .plan import frames_per_call, model_size, processed_rows
from .settings import DragSettings


def drag_estimates(loaded, clip, edit_frame: int, settings: DragSettings | None = None,
                   policies: tuple = ("gpu", "balanced", "lowvram"), handles: int = 1) -> dict:
    """``{policy name: VramEstimate}`` of a drag of ``handles`` handle points on ``clip``
    (frames processed under ``settings.stride``, at the model working size) for each of
    ``policies``."""
    from ...models.estimate import estimate_drag
    from ...models.memory import get_policy
    from . import supervision as sup
    from .dift import REFINE_ELEMENTS

    s = settings or DragSettings()
    pipe = loaded.pipeline
    size = model_size(loaded, clip.size, s)
    scale = getattr(pipe, "vae_scale_factor", 8)
    rows = processed_rows(len(clip), s.stride, edit_frame)
    tokens = int(getattr(pipe.tokenizer, "model_max_length", 77))
    out = {}
    for name in policies:
        policy = get_policy(name)
        batch = frames_per_call(policy, len(rows), s)
        out[policy.name] = estimate_drag(
            pipe.unet, pipe.vae, pipe.text_encoder, frames=len(rows),
            latent_hw=(size[1] // scale, size[0] // scale), dtype=loaded.dtype, policy=policy,
            frame_batch=batch, levels=len(set(s.levels)), tokens=tokens,
            lora=s.lora_steps > 0, lora_batch=s.lora_batch, lora_rank=s.lora_rank,
            cross_frame=s.cross_frame,
            dift_chunk=batch if s.correspondence == "dift" else None,
            dift_matching_elements=REFINE_ELEMENTS, points=handles * s.point_set ** 2,
            point_samples=1 + len(sup.step_candidates(s.step_limit, s.unit))
            + (2 * s.patch_radius + 1) ** 2)
    return out


def choose_drag_policy(loaded, clip, edit_frame: int, settings: DragSettings,
                       memory: Any = "auto", handles: int = 1):
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
                                                            names, handles).items()}
    chosen = choose_policy(estimates, available[0], requested or "auto",
                           what="the Drag-A-Video drag", device=str(loaded.device))
    return chosen, estimates.get(chosen.name)

