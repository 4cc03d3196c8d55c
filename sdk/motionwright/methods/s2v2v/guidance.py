"""Eq. (2): the guided noise estimate ε̂ = ε + σ_t ∇_z L_s, its weighting schedule, and the
guard against the non-finite and exploding latents gradient-guided samplers are known for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInputError, MotionwrightError

DEFAULT_WEIGHT = 10000.0


class GuidanceDivergedError(MotionwrightError, RuntimeError):
    """Guided sampling produced non-finite values or an exploding guidance term; the message
    names the setting to lower."""


@dataclass(frozen=True)
class WeightSchedule:
    """σ_t of eq. (2) over a ``steps``-step sampling run: ``weight`` on the first
    ``guided_steps`` steps (counted from the noisiest), zero after. The paper guides every
    step (n = T) with σ = 10000."""

    weight: float = DEFAULT_WEIGHT
    guided_steps: int | None = None

    def __post_init__(self) -> None:
        if not self.weight >= 0:
            raise InvalidInputError(f"guidance_weight: expected a number ≥ 0, got "
                                    f"{self.weight!r}")
        if self.guided_steps is not None and self.guided_steps < 0:
            raise InvalidInputError(f"guided_steps: expected a count ≥ 0, got "
                                    f"{self.guided_steps!r}")

    def sigma(self, step: int, steps: int) -> float:
        """σ at sampling step ``step`` (0 = the noisiest) of ``steps``."""
        n = steps if self.guided_steps is None else min(self.guided_steps, steps)
        return self.weight if 0 <= step < n else 0.0


def guided_noise(eps: Any, grad: Any, sigma: float) -> Any:
    """Eq. (2): ``eps + sigma * grad`` (``grad`` = ∇_z L_s, the shape of ``eps``)."""
    if tuple(eps.shape) != tuple(grad.shape):
        raise InvalidInputError(f"grad: expected the noise estimate's shape "
                                f"{tuple(eps.shape)}, got {tuple(grad.shape)}")
    return eps + sigma * grad.to(eps.dtype)


def check_guidance(eps: Any, grad: Any, sigma: float, *, max_ratio: float, step: int) -> float:
    """Raise :class:`GuidanceDivergedError` when the noise estimate or the gradient is not
    finite, or when the guidance term σ‖∇L‖ exceeds ``max_ratio`` × ‖ε‖; returns that ratio."""
    import torch

    if not bool(torch.isfinite(eps).all()):
        raise GuidanceDivergedError(
            f"step {step}: the model's noise estimate is not finite (NaN/inf latents); lower "
            f"guidance_weight (--guidance-weight, now {sigma:g}) or run in float32 (--dtype "
            f"float32)")
    if not bool(torch.isfinite(grad).all()):
        raise GuidanceDivergedError(
            f"step {step}: the guidance gradient is not finite; lower guidance_weight "
            f"(--guidance-weight, now {sigma:g}) or run in float32 (--dtype fp32)")
    size = float(eps.float().norm())
    push = sigma * float(grad.float().norm())
    ratio = push / max(size, 1e-12)
    if ratio > max_ratio:
        raise GuidanceDivergedError(
            f"step {step}: the guidance term is {ratio:.3g}× the noise estimate (limit "
            f"max_guidance_ratio={max_ratio:g}); the latents would explode. Lower "
            f"guidance_weight (--guidance-weight, now {sigma:g}) or raise max_guidance_ratio")
    return ratio


def check_latents(latents: Any, step: int, sigma: float) -> None:
    """Raise :class:`GuidanceDivergedError` when ``latents`` hold NaN or inf."""
    import torch

    if not bool(torch.isfinite(latents).all()):
        raise GuidanceDivergedError(
            f"step {step}: the latents became non-finite (NaN/inf); lower guidance_weight "
            f"(--guidance-weight, now {sigma:g}) or run in float32 (--dtype fp32)")
