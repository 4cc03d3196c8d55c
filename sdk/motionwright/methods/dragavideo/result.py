"""What a Drag-A-Video run returns: :class:`DragResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
    backward pass; ``estimate_bytes``: the policy's VRAM estimate (None on the CPU);
    ``skipped_iterations``: drag iterations whose step was skipped (non-finite gradients).
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
    skipped_iterations: int = 0

    @property
    def frames(self) -> np.ndarray:
        """Every frame as one ``(T, H, W, 3)`` array (T full frames in memory: small clips)."""
        return self.clip.to_array()
