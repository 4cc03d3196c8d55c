"""Settings of a ReVideo render, with the authors' sampling defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import InvalidInputError

DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = (1.0, 4.0)
SIGMA_MIN = 0.002
SIGMA_MAX = 700.0
RHO = 7.0
DEFAULT_MOTION_BUCKET = 127
DEFAULT_NOISE_AUG = 0.02
FPS_RANGE = (6, 10)
FLOW_SIGMA = 10.0


@dataclass(frozen=True)
class ReVideoSettings:
    """Options of a ReVideo render.

    ``steps`` EDM Euler steps (the authors use 15–25); ``guidance`` the per-frame linear
    guidance ramp (first frame, last frame); ``fps`` the fps micro-conditioning (None: the
    clip's rate clamped to the authors' 6–10); ``motion_bucket_id``, ``noise_aug_strength``
    SVD's conditioning (127, 0.02); ``size`` the working ``(width, height)`` (None: the SVD
    model's pixel count at the region's aspect ratio, 1024×576 for 16:9); ``overlap`` frames
    shared by consecutive windows (blended); ``margin`` context pixels around the region's
    box; ``feather`` the composite's soft edge in native pixels; ``flow_sigma`` the Gaussian
    spread of the trajectory maps in working pixels (the authors blur with σ = 10);
    ``control_scale`` multiplies the control residuals; ``seed`` fixes the noise;
    ``cache_dir`` keeps finished windows there so an interrupted render resumes (None: off).
    """

    steps: int = DEFAULT_STEPS
    guidance: tuple[float, float] = DEFAULT_GUIDANCE
    fps: int | None = None
    motion_bucket_id: int = DEFAULT_MOTION_BUCKET
    noise_aug_strength: float = DEFAULT_NOISE_AUG
    size: tuple[int, int] | None = None
    overlap: int = 4
    margin: int = 32
    feather: int = 8
    flow_sigma: float = FLOW_SIGMA
    control_scale: float = 1.0
    seed: int = 0
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        from ..._validate import require_int

        require_int(self.steps, "steps", 1)
        require_int(self.overlap, "overlap", 1)
        require_int(self.margin, "margin", 0)
        require_int(self.feather, "feather", 0)
        require_int(self.seed, "seed", 0)
        require_int(self.motion_bucket_id, "motion_bucket_id", 0)
        if self.fps is not None:
            require_int(self.fps, "fps", 1)
        lo, hi = self.guidance
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi < lo:
            raise InvalidInputError(f"guidance: expected 0 <= first <= last, got {self.guidance}")
        for name in ("noise_aug_strength", "flow_sigma", "control_scale"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InvalidInputError(f"{name}: expected a finite number >= 0, got {value!r}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 8):
            raise InvalidInputError(f"size: expected (width, height) >= 8, got {self.size!r}")

    def fps_for(self, clip_fps) -> int:
        """The fps conditioning for a clip of ``clip_fps``."""
        if self.fps is not None:
            return self.fps
        rate = float(clip_fps) if clip_fps else 8.0
        return int(min(max(round(rate), FPS_RANGE[0]), FPS_RANGE[1]))
