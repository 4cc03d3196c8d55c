"""Tiny random diffusion models of every family, saved in the real diffusers on-disk layout.

Tests load them back through :mod:`motionwright.models` so that every test exercises the real
loading code, fully offline. Tokenizers are made locally: the CLIP tokenizer from a vocabulary and
merges written here, the T5 tokenizer from a small unigram vocabulary; nothing is downloaded.

``tiny_model(family)`` builds each family once per test process and returns its folder.
``SVD_FULL_UNET`` and friends hold the full-size Stable Video Diffusion configuration and
``SD15_FULL_UNET`` / ``SD15_FULL_VAE`` Stable Diffusion 1.5's, for the benchmarks and the
meta-device checks (random weights; speed and memory do not depend on weight values).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

TINY_FRAMES = 4
TINY_EMBED = 32

SVD_FULL_UNET = {
    "sample_size": 96,
    "in_channels": 8,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
    "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
    "block_out_channels": [320, 640, 1280, 1280],
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 768,
    "layers_per_block": 2,
    "cross_attention_dim": 1024,
    "transformer_layers_per_block": 1,
    "num_attention_heads": [5, 10, 20, 20],
    "num_frames": 14,
}
SVD_FULL_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 4,
    "sample_size": 768,
    "scaling_factor": 0.18215,
    "force_upcast": True,
}
SVD_FULL_IMAGE_ENCODER = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "projection_dim": 1024,
    "num_hidden_layers": 32,
    "num_attention_heads": 16,
    "image_size": 224,
    "patch_size": 14,
    "hidden_act": "gelu",
}
SD15_FULL_UNET = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": [320, 640, 1280, 1280],
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
}
SD15_FULL_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "sample_size": 512,
    "scaling_factor": 0.18215,
}
SVD_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "sigma_max": 700.0,
    "sigma_min": 0.002,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "timestep_type": "continuous",
    "use_karras_sigmas": True,
}

_CACHE: dict[str, Path] = {}
_ROOT: Path | None = None


def tiny_model(family: str) -> Path:
    """The folder of a tiny random ``family`` model, built once per process."""
    global _ROOT
    if family not in _CACHE:
        if _ROOT is None:
            _ROOT = Path(tempfile.mkdtemp(prefix="mw-tiny-models-"))
        _CACHE[family] = BUILDERS[family](_ROOT / family)
    return _CACHE[family]


# --- tokenizers ---------------------------------------------------------------------------

def _byte_alphabet() -> list[str]:
    """The 256 printable characters a byte-level BPE uses for raw bytes (GPT-2 / CLIP order)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars = [chr(b) for b in keep]
    extra = 0
    for b in range(256):
        if b not in keep:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


_MERGES = [("t", "h"), ("th", "e</w>"), ("a", "n"), ("an", "d</w>"), ("i", "n"), ("in", "g</w>"),
           ("o", "n</w>"), ("e", "r</w>")]


def write_clip_tokenizer(folder: Path) -> Path:
    """Write a small byte-level BPE vocabulary and merges for a CLIP tokenizer into ``folder``.

    The vocabulary holds every byte symbol (alone and word-final) plus a few merges, so any text
    tokenizes; it is small enough for a tiny text encoder with ``vocab_size`` 1000.
    """
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "_raw"
    raw.mkdir(exist_ok=True)
    tokens: list[str] = []
    for ch in _byte_alphabet():
        tokens += [ch, ch + "</w>"]
    for a, b in _MERGES:
        tokens.append(a + b)
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    (raw / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    merges = "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in _MERGES) + "\n"
    (raw / "merges.txt").write_text(merges, encoding="utf-8")
    tokenizer = CLIPTokenizer(vocab_file=str(raw / "vocab.json"),
                              merges_file=str(raw / "merges.txt"), model_max_length=16)
    tokenizer.save_pretrained(str(folder))
    for f in raw.iterdir():
        f.unlink()
    raw.rmdir()
    return folder


def write_t5_tokenizer(folder: Path) -> Path:
    """Write a small unigram T5 tokenizer (letters and a few words) into ``folder``."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(f"▁{w}", -3.0) for w in ("a", "the", "cat", "dog", "runs", "walks", "video")]
    pieces += [(ch, -5.0) for ch in "abcdefghijklmnopqrstuvwxyz0123456789.,"]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=4, model_max_length=16)
    tokenizer.save_pretrained(str(folder))
    return folder


def _clip_text_encoder():
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=TINY_EMBED,
        intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, vocab_size=1000,
        max_position_embeddings=16))


def _vae_2d():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(32, 64), in_channels=3, out_channels=3,
                         down_block_types=("DownEncoderBlock2D",) * 2,
                         up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4,
                         layers_per_block=1, sample_size=32)


def _unet_2d():
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4,
        out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=TINY_EMBED,
        attention_head_dim=8)


# --- families -----------------------------------------------------------------------------

def make_svd(folder: Path, *, frames: int = TINY_FRAMES, seed: int = 0) -> Path:
    """A tiny Stable Video Diffusion image-to-video model (UNet, temporal VAE, CLIP vision)."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(
        sample_size=16, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal",) * 2,
        up_block_types=("CrossAttnUpBlockSpatioTemporal",) * 2,
        block_out_channels=(32, 64), addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24, layers_per_block=1,
        cross_attention_dim=TINY_EMBED, num_attention_heads=(2, 4), num_frames=frames)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=(32, 64), in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2, latent_channels=4, layers_per_block=1,
        sample_size=32)
    # The pipeline resizes the CLIP input to 224 pixels, so the tiny encoder keeps that size and
    # uses 32-pixel patches (49 tokens).
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=TINY_EMBED, num_hidden_layers=1, num_attention_heads=2,
        image_size=224, intermediate_size=37, patch_size=32))
    pipe = StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet,
        scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER),
        feature_extractor=_clip_image_processor())
    pipe.save_pretrained(str(folder))
    return folder


def _clip_image_processor():
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(crop_size=224, size=224)


def make_sd15(folder: Path, *, seed: int = 0) -> Path:
    """A tiny Stable Diffusion 1.5-style text-to-image model."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    torch.manual_seed(seed)
    tok_dir = write_clip_tokenizer(folder.parent / f".{folder.name}-tokenizer")
    pipe = StableDiffusionPipeline(
        vae=_vae_2d(), text_encoder=_clip_text_encoder(),
        tokenizer=CLIPTokenizer.from_pretrained(str(tok_dir)), unet=_unet_2d(),
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, steps_offset=1,
                                beta_schedule="scaled_linear", clip_sample=False),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder))
    return folder


def make_motion_adapter(folder: Path, *, seed: int = 0) -> Path:
    """A tiny AnimateDiff motion adapter matching the tiny SD 1.5 UNet."""
    import torch
    from diffusers import MotionAdapter

    torch.manual_seed(seed)
    adapter = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=1,
                            motion_norm_num_groups=2, motion_num_attention_heads=4)
    adapter.save_pretrained(str(folder))
    return folder


def make_animatediff(folder: Path, *, seed: int = 0) -> Path:
    """A tiny AnimateDiff pipeline (SD 1.5 UNet inflated with a motion adapter)."""
    import torch
    from diffusers import AnimateDiffPipeline, DDIMScheduler, MotionAdapter
    from transformers import CLIPTokenizer

    torch.manual_seed(seed)
    tok_dir = write_clip_tokenizer(folder.parent / f".{folder.name}-tokenizer")
    adapter = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=1,
                            motion_norm_num_groups=2, motion_num_attention_heads=4)
    pipe = AnimateDiffPipeline(
        vae=_vae_2d(), text_encoder=_clip_text_encoder(),
        tokenizer=CLIPTokenizer.from_pretrained(str(tok_dir)), unet=_unet_2d(),
        motion_adapter=adapter,
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear",
                                clip_sample=False))
    pipe.save_pretrained(str(folder))
    return folder


def make_zeroscope(folder: Path, *, seed: int = 0) -> Path:
    """A tiny ZeroScope-style text-to-video model (UNet3DConditionModel)."""
    import torch
    from diffusers import DDIMScheduler, TextToVideoSDPipeline, UNet3DConditionModel
    from transformers import CLIPTokenizer

    torch.manual_seed(seed)
    tok_dir = write_clip_tokenizer(folder.parent / f".{folder.name}-tokenizer")
    unet = UNet3DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4,
        out_channels=4, down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), cross_attention_dim=TINY_EMBED,
        attention_head_dim=4, norm_num_groups=32)
    pipe = TextToVideoSDPipeline(
        vae=_vae_2d(), text_encoder=_clip_text_encoder(),
        tokenizer=CLIPTokenizer.from_pretrained(str(tok_dir)), unet=unet,
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012,
                                beta_schedule="scaled_linear", clip_sample=False))
    pipe.save_pretrained(str(folder))
    return folder


def make_cogvideox(folder: Path, *, seed: int = 0) -> Path:
    """A tiny CogVideoX text-to-video model (3D transformer, causal 3D VAE, T5)."""
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDDIMScheduler,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    torch.manual_seed(seed)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4,
        time_embed_dim=2, text_embed_dim=TINY_EMBED, num_layers=1, sample_width=8,
        sample_height=8, sample_frames=9, patch_size=2, temporal_compression_ratio=4,
        max_text_seq_length=16)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8),
        latent_channels=4, layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    text_encoder = T5EncoderModel(T5Config(vocab_size=64, d_model=TINY_EMBED, d_kv=8, d_ff=37,
                                           num_layers=1, num_heads=4))
    tok_dir = write_t5_tokenizer(folder.parent / f".{folder.name}-tokenizer")
    pipe = CogVideoXPipeline(tokenizer=T5Tokenizer.from_pretrained(str(tok_dir)),
                             text_encoder=text_encoder, vae=vae, transformer=transformer,
                             scheduler=CogVideoXDDIMScheduler())
    pipe.save_pretrained(str(folder))
    return folder


BUILDERS = {
    "svd": make_svd,
    "sd15": make_sd15,
    "animatediff": make_animatediff,
    "zeroscope": make_zeroscope,
    "cogvideox": make_cogvideox,
    "motion_adapter": make_motion_adapter,
}


def make_sam(folder: Path, *, seed: int = 0) -> Path:
    """A tiny random Segment Anything model in transformers' layout (64-pixel input)."""
    import torch
    from transformers import SamConfig, SamModel, SamProcessor
    from transformers.models.sam.configuration_sam import (
        SamMaskDecoderConfig,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )

    torch.manual_seed(seed)
    vision = SamVisionConfig(hidden_size=32, output_channels=16, num_hidden_layers=2,
                             num_attention_heads=2, image_size=64, patch_size=8, mlp_dim=64,
                             global_attn_indexes=[1], window_size=4, num_pos_feats=8)
    prompt = SamPromptEncoderConfig(hidden_size=16, image_size=64, patch_size=8,
                                    mask_input_channels=4)
    decoder = SamMaskDecoderConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                   mlp_dim=32, iou_head_hidden_dim=16)
    model = SamModel(SamConfig(vision_config=vision.to_dict(),
                               prompt_encoder_config=prompt.to_dict(),
                               mask_decoder_config=decoder.to_dict()))
    try:
        from transformers import SamImageProcessorPil as _Processor
    except ImportError:
        from transformers import SamImageProcessor as _Processor
    images = _Processor(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64},
                        mask_size={"longest_edge": 16}, mask_pad_size={"height": 16, "width": 16})
    model.save_pretrained(str(folder))
    SamProcessor(image_processor=images).save_pretrained(str(folder))
    return folder


BUILDERS["sam"] = make_sam
