"""S²V2V (double sparse guidance): generate a video from a prompt whose motion follows a
reference clip's sparse points, or a box trajectory — training-free, on ZeroScope, AnimateDiff
and CogVideoX.

The paper, step by step, and where each step lives:

- §3.1 inversion noise: the reference (or, for a box trajectory, FreeTraj's trajectory noise,
  ref. [52]) initialises sampling — :func:`.sampler.invert`, :func:`.inputs.trajectory_noise`.
- Sparse point guidance, eq. (3): features of temporal-attention layers from a t′ = 1 pass with
  the null prompt (:mod:`.kinds` picks the layers per model kind; the DiT's tokens are reshaped
  (f·h·w)×c → f×h×w×c); the softmax of cosine similarity / τ (τ = 10) over each later frame —
  :func:`correlation_patterns`.
- Sparsity-based guidance, eq. (4): hard shrinkage to the K nearest cells of the tracked point
  (K from the layer's stride) or to the box region, then L1 renormalisation —
  :func:`sparsify_patterns`, :func:`neighbour_region`, :func:`box_region`.
- Sparse motion consistency loss, eq. (5) — :func:`consistency_loss`.
- Guided noise, eq. (2): ε̂ = ε + σ_t ∇_z L_s with σ = 10000 on every step (n = T: 30 steps for
  a reference, 50 for a trajectory) — :func:`guided_noise`, :class:`WeightSchedule`; the guard
  against non-finite or exploding guidance — :func:`.guidance.check_guidance`.
- The run (:func:`.run.generate`) with its settings (:class:`GuidedSettings`); long clips as
  overlapping windows blended per step (:mod:`.sampler`).

Where the paper is silent (see ``docs/s2v2v.md``): which UNet layers (decoder blocks 1–2), the
norm of eq. (5) (Frobenius per frame map), K (the cells of a 64-pixel square), the box video
(a checkered box on grey), text guidance (each pipeline's default scale), the t′ = 1 noise
(one fixed draw).
"""

from .guidance import GuidanceDivergedError, WeightSchedule, guided_noise
from .patterns import (
    box_region,
    consistency_loss,
    correlation_patterns,
    neighbour_region,
    sparsify_patterns,
    tokens_to_grid,
)
from .settings import GuidedSettings, with_overrides

__all__ = ["GuidanceDivergedError", "GuidedSettings", "WeightSchedule", "box_region",
           "consistency_loss", "correlation_patterns", "guided_noise", "neighbour_region",
           "sparsify_patterns", "tokens_to_grid", "with_overrides"]
