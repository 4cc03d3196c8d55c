"""A tiny random ReVideo control module for the tiny SVD model, saved in the real layout.

``tiny_control()`` builds it once per process: the control module is made from the tiny SVD
UNet (its encoder copied, as training starts), its zero-initialised outputs replaced by small
random weights so the control visibly changes the result, and written by the project's own
``save_control`` (``config.json``, ``diffusion_pytorch_model.safetensors``, ``revideo.json``).
The condition encoders downsample once (the tiny VAE's factor 2 is not SVD's 8).
"""

from __future__ import annotations

from pathlib import Path

from tiny_models import _ROOT, tiny_model  # noqa: F401

TINY_ENCODER = (8, 16)
_CACHE: dict[str, Path] = {}


def make_control(folder: Path, *, seed: int = 0, zero: bool = False) -> Path:
    """Build and save a tiny control module for the tiny svd model into ``folder``."""
    import torch

    from motionwright.methods.revideo.checkpoint import save_control
    from motionwright.methods.revideo.control import ReVideoControlModule
    from motionwright.models.loading import load_model

    svd = load_model("svd", tiny_model("svd"), device="cpu", dtype="fp32")
    module = ReVideoControlModule.from_unet(svd.pipeline.unet, encoder_channels=TINY_ENCODER)
    if not zero:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in module.named_parameters():
                if "controlnet_" in name or "conv_out" in name:
                    p.copy_(0.05 * torch.randn(p.shape, generator=gen))
    save_control(folder, module, meta={"stage": 0, "source": "tiny test model"})
    return folder


def tiny_control() -> Path:
    """The folder of the tiny control module (built once per process)."""
    if "control" not in _CACHE:
        root = tiny_model("svd").parent
        _CACHE["control"] = make_control(root / "revideo")
    return _CACHE["control"]
