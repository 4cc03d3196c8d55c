"""Adding the control module's residuals to the SVD UNet through hooks (no forked UNet).

ControlNet-style control adds a residual to every skip connection and to the mid-block output
(eq. 4: ``y_c = F(z_t; Θ) + 𝒵(F(z_t + 𝒵(f_c); Θ_c))``). diffusers'
``UNetSpatioTemporalConditionModel`` takes no residual arguments, so:

- a forward hook on ``mid_block`` adds the mid residual to its output;
- a forward pre-hook (with keyword arguments) on each up block adds the matching skip
  residuals to the ``res_hidden_states_tuple`` it receives — up block ``i`` consumes the last
  ``len(resnets)`` skips still unconsumed, the same split the UNet makes — so the encoder's
  main path is untouched, exactly as ControlNet adds to skips only.

:class:`ControlResiduals` holds the residuals of the current UNet call; ``None`` means "add
nothing" (the hooks then pass everything through unchanged).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class ControlResiduals:
    """The residuals the hooks add on the next UNet calls: ``down`` (skips, UNet order) and
    ``mid``; ``scale`` multiplies both (the control strength)."""

    def __init__(self) -> None:
        self.down: tuple[Any, ...] | None = None
        self.mid: Any = None
        self.scale: float = 1.0

    def set(self, down, mid, scale: float = 1.0) -> None:
        """Use ``down``/``mid`` on the following UNet calls."""
        self.down, self.mid, self.scale = tuple(down), mid, float(scale)

    def clear(self) -> None:
        """Add nothing any more."""
        self.down, self.mid = None, None


def skip_slices(unet) -> list[tuple[int, int]]:
    """For each up block, the ``[start, stop)`` range of the skip list it consumes."""
    total = 1 + sum(len(b.resnets) + (len(b.downsamplers) if b.downsamplers else 0)
                    for b in unet.down_blocks)
    slices = []
    stop = total
    for block in unet.up_blocks:
        start = stop - len(block.resnets)
        slices.append((start, stop))
        stop = start
    return slices


@contextlib.contextmanager
def control_residuals(unet, holder: ControlResiduals) -> Iterator[int]:
    """Install the hooks on ``unet`` while the block runs; yields how many modules are hooked
    (the up blocks and the mid block)."""
    handles = []
    slices = skip_slices(unet)

    def mid_hook(module, args, output):
        if holder.mid is None:
            return None
        return output + holder.scale * holder.mid.to(output.dtype)

    def make_pre_hook(start: int, stop: int):
        def pre_hook(module, args, kwargs):
            if holder.down is None:
                return None
            skips = kwargs["res_hidden_states_tuple"]
            added = tuple(s + holder.scale * r.to(s.dtype)
                          for s, r in zip(skips, holder.down[start:stop], strict=True))
            return args, {**kwargs, "res_hidden_states_tuple": added}
        return pre_hook

    try:
        handles.append(unet.mid_block.register_forward_hook(mid_hook))
        for block, (start, stop) in zip(unet.up_blocks, slices, strict=True):
            handles.append(block.register_forward_pre_hook(make_pre_hook(start, stop),
                                                           with_kwargs=True))
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()
