"""The knobs of a Drag-A-Video run: :class:`DragSettings` and :func:`with_overrides`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InvalidInputError

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



def with_overrides(settings: DragSettings, **changes: Any) -> DragSettings:
    """``settings`` with the non-None ``changes`` applied."""
    return dataclasses.replace(settings, **{k: v for k, v in changes.items() if v is not None})
