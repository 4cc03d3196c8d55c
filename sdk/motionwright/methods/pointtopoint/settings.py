"""The knobs of a Point-to-Point run: :class:`PointToPointSettings`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInputError
from .tokens import DEFAULT_TAU


@dataclass(frozen=True)
class PointToPointSettings:
    """Every knob of a Point-to-Point edit (the paper's values, else VideoSwap's public ones).

    ``size``: model working size ``(w, h)`` (default: 512×512, or 768×448 / 448×768 for
    clips wider / taller than 4:3, the paper's two sizes); ``window`` / ``overlap``: frames
    per AnimateDiff window (16, the paper's clip length) and frames shared by neighbouring
    windows of a longer clip; ``tau``: the FPS stop threshold (0.65); ``max_anchors``: cap on
    the anchor count (None: only τ stops); ``feature_timestep``: the noise level t features
    are read at (261, DIFT's); ``feature_block``: the decoder block whose output gives the
    features (``up_blocks.1``); ``steps``: DDIM steps (50); ``guidance``: CFG scale (7.5);
    ``finetune_steps`` / ``finetune_lr``: the injection MLPs' fine-tuning (50 steps of the
    paper's 50–100, AdamW 5e-4); ``drop_rate``: anchors dropped per fine-tuning step (0.2);
    ``hidden``: the MLPs' hidden width (128); ``injection_scale``: weight of the injected
    features (0.5); ``align_at``: fraction of the sampling steps after which anchors are
    re-located (0.5, "the middle of the denoising process"); ``seed``: all randomness;
    ``preview_every``: a preview frame every N sampling steps (0: none).
    """

    size: tuple[int, int] | None = None
    window: int = 16
    overlap: int = 4
    tau: float = DEFAULT_TAU
    max_anchors: int | None = None
    feature_timestep: int = 261
    feature_block: int = 1
    steps: int = 50
    guidance: float = 7.5
    finetune_steps: int = 50
    finetune_lr: float = 5e-4
    drop_rate: float = 0.2
    hidden: int = 128
    injection_scale: float = 0.5
    align_at: float = 0.5
    seed: int = 0
    preview_every: int = 0

    def __post_init__(self) -> None:
        def positive(name: str, value: Any, minimum: float = 1) -> None:
            if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
                raise InvalidInputError(f"{name}: expected a number ≥ {minimum}, got {value!r}")

        positive("window", self.window, 2)
        positive("steps", self.steps, 1)
        positive("hidden", self.hidden, 1)
        positive("feature_timestep", self.feature_timestep, 0)
        positive("feature_block", self.feature_block, 0)
        positive("finetune_steps", self.finetune_steps, 0)
        positive("guidance", self.guidance, 0)
        positive("tau", self.tau, 0)
        positive("preview_every", self.preview_every, 0)
        if not 0 <= self.overlap < self.window:
            raise InvalidInputError(f"overlap: expected 0 ≤ overlap < window ({self.window}), "
                                    f"got {self.overlap!r}")
        if not 0 <= self.drop_rate < 1:
            raise InvalidInputError(f"drop_rate: expected 0 ≤ rate < 1, got {self.drop_rate!r}")
        if not 0 <= self.align_at <= 1:
            raise InvalidInputError(f"align_at: expected a fraction in [0, 1], "
                                    f"got {self.align_at!r}")
        if self.max_anchors is not None:
            positive("max_anchors", self.max_anchors, 1)

    def replace(self, **changes: Any) -> PointToPointSettings:
        """A copy with ``changes`` (None values are ignored, so CLI flags pass straight in)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
