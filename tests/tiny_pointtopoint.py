"""Tiny inputs for the Point-to-Point tests: a moving clip, fast settings, the tiny AnimateDiff
model loaded through the store, and the full-size AnimateDiff configs for the meta device."""

from __future__ import annotations

import numpy as np

from tiny_models import SD15_FULL_UNET, tiny_model

# AnimateDiff's v1.5 motion adapter (mm_sd_v15_v2 layout).
MOTION_ADAPTER_FULL = {
    "block_out_channels": [320, 640, 1280, 1280],
    "motion_layers_per_block": 2,
    "motion_mid_block_layers_per_block": 1,
    "motion_num_attention_heads": 8,
    "motion_norm_num_groups": 32,
    "motion_max_seq_length": 32,
    "use_motion_mid_block": True,
}


def moving_frames(frames: int = 4, size: tuple[int, int] = (48, 40), seed: int = 0):
    """``(T, H, W, 3)`` uint8: a textured background with a bright square moving right."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = (rng.random((h, w, 3)) * 80).astype(np.uint8)
    out = []
    for t in range(frames):
        f = base.copy()
        x = 6 + 3 * t
        f[12:24, x:x + 12] = (230, 200, 40)
        out.append(f)
    return np.stack(out)


def fast_settings(**changes):
    """Settings that run in seconds on the tiny model (working size 32×32)."""
    from motionwright.methods.pointtopoint import PointToPointSettings

    base = {"size": (32, 32), "steps": 2, "finetune_steps": 1, "window": 4, "overlap": 1,
            "max_anchors": 8}
    base.update(changes)
    return PointToPointSettings(**base)


def tiny_models():
    """The tiny AnimateDiff model on the CPU in float32, loaded through the model store."""
    from motionwright.models.loading import Models

    return Models({"animatediff": str(tiny_model("animatediff"))}, device="cpu",
                  dtype="float32")


def full_size_unet(dtype):
    """The full-size AnimateDiff UNet (SD 1.5 + v1.5 motion adapter) on the meta device."""
    import torch
    from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel

    with torch.device("meta"):
        unet2d = UNet2DConditionModel.from_config(SD15_FULL_UNET)
        adapter = MotionAdapter.from_config(MOTION_ADAPTER_FULL)
        unet = UNetMotionModel.from_unet2d(unet2d, adapter, load_weights=False)
    return unet.to(dtype=dtype).requires_grad_(False)


def one_thread():
    """Generator for a fixture: run torch on one thread (the tiny models are far faster so on
    a shared, loaded machine), restoring the count afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
