"""Full-size configurations of the three model kinds S²V2V runs on (for meta-device checks and
the benchmark) and small helpers for its tests. The tiny random models themselves come from
:mod:`tiny_models` (``tiny_model("zeroscope")`` and friends).

- ZeroScope v2 576w: diffusers' ``UNet3DConditionModel`` defaults (ModelScope's UNet);
- AnimateDiff: SD 1.5's UNet with a v1-5-2 motion adapter (a motion module after every
  transformer, a motion mid block, 32 positions), as a ``UNetMotionModel``;
- CogVideoX-2B: ``CogVideoXTransformer3DModel`` defaults (30 blocks of 30 heads × 64).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ZEROSCOPE_FULL_UNET: dict = {}
ANIMATEDIFF_FULL_UNET = {
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "cross_attention_dim": 768,
    "num_attention_heads": 8,
    "motion_num_attention_heads": 8,
    "motion_max_seq_length": 32,
    "use_motion_mid_block": True,
}
COGVIDEOX_2B_TRANSFORMER: dict = {}
# The paper's settings: (frames, latent frames, latent h, w).
PAPER_SHAPES = {
    "zeroscope": (24, 24, 40, 72),      # 24 frames of 576×320
    "animatediff": (16, 16, 64, 64),    # 16 frames of 512²
    "cogvideox": (49, 13, 60, 90),      # 49 frames of 720×480
}


def full_size_denoiser(kind: str, device: str = "meta"):
    """The full-size denoiser of ``kind`` with random (or no, on meta) weights."""
    import torch
    from diffusers import CogVideoXTransformer3DModel, UNet3DConditionModel, UNetMotionModel

    with torch.device(device):
        if kind == "zeroscope":
            model = UNet3DConditionModel(**ZEROSCOPE_FULL_UNET)
        elif kind == "animatediff":
            model = UNetMotionModel(**ANIMATEDIFF_FULL_UNET)
        else:
            model = CogVideoXTransformer3DModel(**COGVIDEOX_2B_TRANSFORMER)
    return model.to(device).requires_grad_(False)


def moving_square_video(path: Path, frames: int = 3, size: tuple[int, int] = (24, 16)) -> Path:
    """A small PNG-sequence clip of a white square moving right on black, for references."""
    import motionwright as mw

    w, h = size
    video = np.zeros((frames, h, w, 3), np.uint8)
    for i in range(frames):
        video[i, 4:10, 2 + 3 * i:8 + 3 * i] = 255
    mw.Clip.from_frames(video, fps=8).save(path)
    return path


def make_tiny_clip(folder: Path) -> Path:
    """A tiny random transformers CLIPModel folder with a local tokenizer (for the CLIP
    metrics' code path; its scores mean nothing)."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    from tiny_models import write_clip_tokenizer

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"vocab_size": 1000, "hidden_size": 32, "intermediate_size": 37,
                     "num_hidden_layers": 1, "num_attention_heads": 4,
                     "max_position_embeddings": 16},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
                       "num_attention_heads": 4, "image_size": 32, "patch_size": 8},
        projection_dim=16)
    CLIPModel(config).save_pretrained(str(folder), safe_serialization=True)
    write_clip_tokenizer(folder)
    return folder
