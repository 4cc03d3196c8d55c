"""Point-to-Point (anchor tokens): swap the subject by prompt while its motion stays.

The method on AnimateDiff (SD 1.5 + motion adapter, the ``animatediff`` family), step by step:

- Trajectory collection (App. A) — :func:`motionwright.propagation.collect_trajectories`:
  per-latent-pixel tracks from the first, middle and last frames, redundant tracks removed,
  tracks outside a subject mask dropped when one is given (OpenCV DIS flow instead of RAFT).
- Feature extraction (App. A, eq. 6) — :mod:`.features`: noise of timestep t added to every
  frame, one AnimateDiff UNet pass, the output of decoder block 1, minus its mean over frames.
- Motion tokens (eq. 2), distances (eq. 3), farthest point sampling with the adaptive stop at
  τ = 0.65 (eq. 4), anchor matching (eq. 5) — :mod:`.tokens` (:func:`select_anchor_tokens`).
- Injection (§ Anchor Token Selection) — :mod:`.injection`: per-level MLPs, splatted along
  each anchor's trajectory onto the encoder feature maps only at its locations.
- Fine-tuning the MLPs on the source clip with the denoising objective, DDIM inversion,
  50-step DDIM sampling with classifier-free guidance, anchor token alignment in the middle of
  denoising (§ Anchor Token Alignment) — :mod:`.run`.
- Whole clips (working size, windows, native size back) — :mod:`.edit`
  (:func:`anchor_tokens`, :func:`prompt_edit`); memory — :mod:`.policy`; the saved form of
  the anchors — :mod:`.anchors` (:class:`AnchorTokens`).

Where the paper is silent (details and reasons in ``docs/pointtopoint.md``):

- Eq. (3)'s scale: per-frame unit vectors, inner products averaged over the frames both tokens
  are visible in, ``d = 1 − mean`` (τ = 0.65 needs a fixed scale); tokens never visible
  together are at distance 1.
- FPS seed: the token with the largest total distance (the paper: "an arbitrary seed").
- t = 261 and decoder block 1 for features (DIFT's values, used by VideoSwap).
- MLP layout feature width → 128 → level channels per encoder level, zero-initialised last
  layer, 50 fine-tuning steps (the paper's range is 50–100), AdamW lr 5e-4, 20 % anchor drop,
  CFG 7.5, injection scale 0.5 on every step (VideoSwap's public settings).
- Alignment reads the generated video's features from its current clean estimate noised to
  t, after half of the sampling steps; inversion uses the source prompt with the injection on.
"""

from .anchors import AnchorTokens
from .edit import anchor_tokens, prompt_edit
from .settings import PointToPointSettings
from .tokens import (
    DEFAULT_TAU,
    match_anchor_tokens,
    normalise_features,
    sample_motion_tokens,
    select_anchor_tokens,
    token_distances,
)

__all__ = [
    "DEFAULT_TAU",
    "AnchorTokens",
    "PointToPointSettings",
    "anchor_tokens",
    "match_anchor_tokens",
    "normalise_features",
    "prompt_edit",
    "sample_motion_tokens",
    "select_anchor_tokens",
    "token_distances",
]
