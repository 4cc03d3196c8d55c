"""The knobs of an S²V2V run, with the paper's defaults (§4.1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInputError
from .guidance import DEFAULT_WEIGHT
from .patterns import DEFAULT_TEMPERATURE

REFERENCE_STEPS = 30  # reference-video setting: T = n = 30 (§4.1)
TRAJECTORY_STEPS = 50  # box-trajectory setting: T = n = 50 (§4.1)


@dataclass(frozen=True)
class GuidedSettings:
    """Every knob of a guided generation.

    ``steps``: DDIM sampling (and inversion) steps, None = 30 for a reference clip, 50 for a
    box trajectory; ``guided_steps``: how many of them are guided (None = all, the paper's
    n = T); ``guidance_weight``: σ of eq. (2) (10000); ``temperature``: τ of eq. (3) (10);
    ``neighbourhood``: side in image pixels of Ω of eq. (4), so K = (side / stride)² cells on a
    layer whose cells are ``stride`` pixels apart (at least 1); ``text_guidance``: classifier-
    free guidance scale (None = the pipeline's default); ``size``: working size ``(w, h)``
    (None = the model's native size); ``window``: frames per model call (None = the model's
    native count); ``overlap``: frames two windows share; ``max_guidance_ratio``: the guard's
    limit on σ‖∇L‖ / ‖ε‖; ``seed``; ``preview_every``: a decoded preview every N steps
    (0: none); ``num_points``: points picked automatically when a reference has none.
    """

    steps: int | None = None
    guided_steps: int | None = None
    guidance_weight: float = DEFAULT_WEIGHT
    temperature: float = DEFAULT_TEMPERATURE
    neighbourhood: float = 64.0
    text_guidance: float | None = None
    size: tuple[int, int] | None = None
    window: int | None = None
    overlap: int = 4
    max_guidance_ratio: float = 50.0
    seed: int = 0
    preview_every: int = 0
    num_points: int = 4

    def __post_init__(self) -> None:
        for name in ("steps", "window"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InvalidInputError(f"{name}: expected a positive integer, got {value!r}")
        if self.overlap < 0:
            raise InvalidInputError(f"overlap: expected frames ≥ 0, got {self.overlap!r}")
        if not self.neighbourhood > 0:
            raise InvalidInputError(f"neighbourhood: expected pixels > 0, got "
                                    f"{self.neighbourhood!r}")
        if not self.max_guidance_ratio > 0:
            raise InvalidInputError(f"max_guidance_ratio: expected a number > 0, got "
                                    f"{self.max_guidance_ratio!r}")
        if self.num_points < 1:
            raise InvalidInputError(f"num_points: expected at least 1, got {self.num_points!r}")

    def steps_for(self, trajectory: bool) -> int:
        """The sampling steps for the reference (False) or box-trajectory (True) setting."""
        if self.steps is not None:
            return self.steps
        return TRAJECTORY_STEPS if trajectory else REFERENCE_STEPS


def with_overrides(settings: GuidedSettings, **changes: Any) -> GuidedSettings:
    """``settings`` with the given fields replaced; None values are ignored."""
    return dataclasses.replace(settings, **{k: v for k, v in changes.items() if v is not None})
