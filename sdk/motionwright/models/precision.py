"""Optimiser steps that survive half precision: :class:`LossScaler`.

Gradients of a loss computed by an fp16 model underflow to zero (small ones) or overflow to
inf (large ones). Dynamic loss scaling (``torch.amp.GradScaler``) multiplies the loss before
the backward pass, unscales the gradients before the step, skips a step whose gradients are not
finite and lowers the scale after it. bf16 has fp32's range and needs no scaling; fp32 neither.
Every run that optimises through a half-precision model (motion learning, the drag) steps
through one of these, so a non-finite step is skipped the same way everywhere.
"""

from __future__ import annotations

from typing import Any


class LossScaler:
    """Backward passes and optimiser steps with dynamic loss scaling when ``dtype`` is fp16.

    ``enabled``: whether scaling is used (fp16 on a device ``GradScaler`` supports: CUDA or
    the CPU). Either way :meth:`step` skips a step whose gradients are not finite and returns
    whether it stepped; ``skipped`` counts the skipped steps.
    """

    def __init__(self, device: Any, dtype: Any, *, init_scale: float = 2.0 ** 16) -> None:
        import torch

        kind = torch.device(device).type
        self.enabled = dtype == torch.float16 and kind in ("cuda", "cpu")
        self._scaler = (torch.amp.GradScaler(kind, init_scale=init_scale) if self.enabled
                        else None)
        self.skipped = 0

    @property
    def scale(self) -> float:
        """The current loss scale (1 when not scaling)."""
        return float(self._scaler.get_scale()) if self._scaler is not None else 1.0

    def backward(self, loss) -> None:
        """``loss.backward()``, on the scaled loss when scaling (gradients accumulate)."""
        (self._scaler.scale(loss) if self._scaler is not None else loss).backward()

    def step(self, optimizer) -> bool:
        """Unscale the gradients and step ``optimizer`` unless a gradient is not finite;
        returns whether the step was taken."""
        import torch

        if self._scaler is not None:
            self._scaler.unscale_(optimizer)
        finite = all(bool(torch.isfinite(p.grad).all()) for group in optimizer.param_groups
                     for p in group["params"] if p.grad is not None)
        if self._scaler is not None:
            self._scaler.step(optimizer)  # skips the step itself when unscaling found inf/NaN
            self._scaler.update()
        elif finite:
            optimizer.step()
        if not finite:
            self.skipped += 1
        return finite
