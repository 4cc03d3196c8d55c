"""Drag-A-Video (Teng et al.): point-based drag editing of real footage on SD 1.5.

The method (paper §3), module by module:

- §3.2 point-set propagation — :mod:`motionwright.propagation.dragavideo` with the SAM
  foreground split (:mod:`motionwright.segmentation`; without a SAM model a
  :class:`~motionwright.errors.FallbackWarning`) and DIFT correspondences (:mod:`.dift`; SD
  UNet decoder block 1 at t = 261, averaged over noise draws, as DIFT; streamed a chunk of
  frames at a time and matched to a fraction of a pixel); the optical-flow tracker is the
  fallback (``correspondence="flow"``).
- Per-frame DDIM inversion (:mod:`.ddim`), learnable latent offsets at the levels
  {42, 41, 35, 30} of a 50-step schedule (§4.1).
- Video-level motion supervision, eq. (3)–(5), and temporal-consistent point tracking with a
  shared Δp ∈ [−l, l], eq. (6)–(7) (:mod:`.supervision`).
- Optional LoRA on the UNet attention trained on the clip's frames (:mod:`.lora`), and
  cross-branch/cross-frame self-attention in the decoder while denoising (:mod:`.attention`).
- The native-resolution crop → model size → feathered composite round trip (:mod:`.region`),
  the lazy result clip (:mod:`.output`, with :mod:`.carry` for frames skipped under
  ``stride``) and each frame's edit region (:mod:`.edit_region`).
- The run (:mod:`.run`, :func:`drag_clip`) with its settings (:mod:`.settings`) and result
  (:mod:`.result`): text/VAE encoding (:mod:`.encode`), the §3.2 inputs (:mod:`.correspondence`),
  the drag loop with progress, previews and cancel (:mod:`.optimise`), generation
  (:mod:`.denoise`); the memory side: what is processed (:mod:`.plan`), the policy and its
  VRAM estimates (:mod:`.policy`), where components sit (:mod:`.placement`).

Defaults, and why (paper §4.1 where it speaks, DragDiffusion's public defaults where it is
silent, since the authors build on it):

- Adam without weight decay, lr 0.01, at most 60 iterations, l = 3, timesteps {42,41,35,30}
  of 50: §4.1.
- Early stop when every user handle is within 2 supervision units of its target in every
  frame (DragDiffusion's threshold); LoRA rank 16, AdamW lr 5e-4, batch 4, 80 steps; mask
  loss weight λ = 0.1; drag-loss patch radius 1; supervision at half the image resolution
  (``unit`` = 2 pixels); features from decoder block n−2 (SD 1.5 ``up_blocks.2``); empty
  prompt, no classifier-free guidance (DragDiffusion's guidance 1.0).
- Handle sets of 3×3 points 4 pixels apart: the paper's ablation (Fig. 6).
- Handle-feature moving average decay 0.9 (footnote 2 follows FreeDrag's moving average; the
  paper gives no value).
- The tracking reference is each frame's original handle feature in the input (§3.1, as
  DragGAN/DragDiffusion). Tracking uses the features of the same forward pass as the loss,
  so frames can be processed in chunks with one UNet pass per iteration; the handles a loss
  uses are therefore one iteration behind DragDiffusion's order.
- At generation the edited branch starts from the top level's latent plus its offset and adds
  each lower level's offset to the sample the chain has reached; so each offset is optimised
  relative to that sample: the UNet input at a level is its inverted latent plus the offsets
  at and above it carried down by DDIM with the noise prediction held fixed (one UNet call per
  level, no backpropagation through the sampling chain; :mod:`.optimise`). The paper does not
  say how the levels combine.
- In fp16 the drag loss is scaled (:class:`~motionwright.models.precision.LossScaler`, shared
  with motion learning); a step with non-finite gradients is skipped.
- Cross-branch attention (MasaCtrl) only while denoising the result, on every decoder
  self-attention, from the first step (DragDiffusion's use of it); each edited frame also
  attends to the drag frame's source (cross-frame, for temporal consistency).
"""

from .plan import processed_rows
from .result import DragResult
from .run import drag_clip
from .settings import DragSettings, with_overrides

__all__ = ["DragResult", "DragSettings", "drag_clip", "processed_rows", "with_overrides"]
