"""ReVideo (Mou et al.): change a region's content and motion on Stable Video Diffusion.

The paper, step by step, and where it is implemented:

- §3.2 task: content ``c_con = V·(1−M)`` (the unedited region), motion ``c_mot`` (N maps of
  2 channels, displacement relative to the previous frame, Gaussian-spread; A.1's sampler for
  training) and the edited first frame as SVD's reference image — :mod:`.run`,
  :mod:`motionwright.flowmaps`, :mod:`motionwright.propagation.revideo`.
- Eq. 4 / structure A: one control module, a trainable copy of the SVD encoder with
  zero-initialised outputs added to the UNet's skips and mid block — :mod:`.control`,
  :mod:`.inject` (hooks; diffusers' SVD UNet is used as it is).
- App. A.3 encoders E_c, E_m (three conv + downsample sub-blocks to latent size) and §3.4
  SAFM, ``Γ = H(M, t)`` and eq. 5 — :mod:`.fusion`.
- §3.3 the three training stages (motion prior, decoupling with ``V = V1·M + V2·(1−M)``,
  deblocking on temporal self-attention K/V and H only) — :mod:`.train`, :mod:`.data`.
- §4.1 / App. sampling: 14 frames, EDM Euler, linear guidance 1→4, fps and motion-bucket
  conditioning, noise augmentation 0.02; the sliding window conditioned on the last edited
  frame — :mod:`.sampler`, :mod:`.run`, :mod:`.region`.
- The authors' checkpoint and its key mapping — :mod:`motionwright.models.revideo`,
  :mod:`.checkpoint`.

Choices where the paper is silent are listed in ``docs/revideo.md``.
"""

from .settings import ReVideoSettings

__all__ = ["ReVideoSettings"]
