"""The papers' methods on diffusers models, one module per method.

- :mod:`.backend` — the ``"diffusion"`` render backend used by :func:`motionwright.render`;
- :mod:`.motion_inversion` — Reenact Anything's motion-textual inversion (learn and apply);
- :mod:`.motion_tokens` — its motion-text embedding and token-routing attention processors;
- :mod:`.svd_edm` — Stable Video Diffusion's EDM training objective.
"""
