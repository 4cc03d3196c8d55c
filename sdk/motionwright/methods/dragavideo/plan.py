"""What a drag processes: the diffusion rows, the model working size, frames per UNet call."""

from __future__ import annotations

from .settings import DragSettings


def processed_rows(count: int, stride: int, key_row: int) -> list[int]:
    """The rows diffusion processes: every ``stride``-th row, the key row and the last row."""
    return sorted({*range(0, count, stride), key_row, count - 1})


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

