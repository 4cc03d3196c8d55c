"""The three model kinds S²V2V runs on, behind one interface: how to call the denoiser, which
layers give the temporal features of eq. (3), how latents are encoded and decoded.

- ``zeroscope`` — diffusers ``UNet3DConditionModel``: the temporal transformers
  ``up_blocks.{1,2}.temp_attentions.*`` (outputs ``(B·F, C, h, w)``);
- ``animatediff`` — ``UNetMotionModel``: the motion modules ``up_blocks.{1,2}.motion_modules.*``;
- ``cogvideox`` — ``CogVideoXTransformer3DModel``: every second transformer block counted back
  from the last (15 of CogVideoX-2B's 30), whose ``(B, F·h·w, C)`` tokens are reshaped to
  ``(B, F, h, w, C)`` (paper §3.2, "Variant on DiTs").

The paper names no UNet layers ("several temporal attention layers"). We take the decoder's two
middle-resolution blocks (1/16 and 1/32 of the image for ZeroScope), the resolution MotionClone
reads its temporal attention at, plus the next finer one; a small model without them uses every
decoder temporal layer. Latents are ``(B, C, F, h, w)`` for every kind (the DiT's
``(B, F, C, h, w)`` is transposed at the call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInputError

KINDS = ("zeroscope", "animatediff", "cogvideox")
# Native sampling size (w, h) and frame count of each kind's reference model.
NATIVE = {"zeroscope": ((576, 320), 24), "animatediff": ((512, 512), 16),
          "cogvideox": ((720, 480), 49)}
# The text guidance each pipeline uses by default.
TEXT_GUIDANCE = {"zeroscope": 9.0, "animatediff": 7.5, "cogvideox": 6.0}
_TEMPORAL_PART = {"zeroscope": "temp_attentions", "animatediff": "motion_modules"}
_UNET_BLOCKS = ("up_blocks.1", "up_blocks.2")


@dataclass(frozen=True)
class FeatureLayer:
    """One layer whose output gives features: its module path and whether its output is DiT
    tokens (to reshape) or a ``(B·F, C, h, w)`` map."""

    name: str
    tokens: bool


def kind_of(family_name: str) -> str:
    """The model kind of a family (``zeroscope``, ``animatediff``, ``cogvideox``)."""
    if family_name not in KINDS:
        raise InvalidInputError(f"model: S²V2V runs on {', '.join(KINDS)} models, got the "
                                f"{family_name!r} family; add one with 'motionwright models "
                                f"add zeroscope PATH'")
    return family_name


def feature_layers(denoiser, kind: str) -> list[FeatureLayer]:
    """The layers whose outputs S²V2V correlates, in model order."""
    names = [n for n, _ in denoiser.named_modules()]
    if kind == "cogvideox":
        count = len(denoiser.transformer_blocks)
        return [FeatureLayer(f"transformer_blocks.{i}", True)
                for i in range(count) if (count - 1 - i) % 2 == 0]
    part = _TEMPORAL_PART[kind]

    def temporal(prefixes: tuple[str, ...]) -> list[str]:
        out = []
        for n in names:
            bits = n.split(".")
            if (len(bits) == 4 and bits[2] == part and bits[3].isdigit()
                    and ".".join(bits[:2]) in prefixes):
                out.append(n)
        return out

    chosen = temporal(_UNET_BLOCKS)
    if not chosen:
        ups = tuple(f"up_blocks.{i}" for i in range(len(denoiser.up_blocks)))
        chosen = temporal(ups)
    return [FeatureLayer(n, False) for n in chosen]


def as_grid(output: Any, layer: FeatureLayer, frames: int, latent_hw: tuple[int, int],
            patch: int) -> Any:
    """A layer's output as ``(B, F, h, w, C)`` features."""
    value = output[0] if isinstance(output, tuple) else output
    if hasattr(value, "sample") and not hasattr(value, "shape"):
        value = value.sample
    if layer.tokens:
        from .patterns import tokens_to_grid

        h, w = latent_hw[0] // patch, latent_hw[1] // patch
        return tokens_to_grid(value, frames, h, w)
    bf, c, h, w = value.shape
    return value.reshape(bf // frames, frames, c, h, w).permute(0, 1, 3, 4, 2)


def call_denoiser(loaded, kind: str, latents: Any, t: Any, cond: Any, rotary: Any = None) -> Any:
    """The denoiser's raw output for ``latents`` ``(B, C, F, h, w)`` at timestep ``t`` with
    text embeddings ``cond`` ``(B, L, D)``, in the latents' layout."""
    import torch

    model = loaded.denoiser
    dtype = next(model.parameters()).dtype
    tt = torch.full((latents.shape[0],), int(t), device=latents.device, dtype=torch.long)
    if kind == "cogvideox":
        out = model(hidden_states=latents.transpose(1, 2).to(dtype),
                    encoder_hidden_states=cond.to(dtype), timestep=tt,
                    image_rotary_emb=rotary, return_dict=False)[0]
        return out.transpose(1, 2)
    if kind == "animatediff":  # UNetMotionModel reads one text row per frame
        cond = cond.repeat_interleave(latents.shape[2], dim=0)
    return model(latents.to(dtype), tt, encoder_hidden_states=cond.to(dtype)).sample


def to_noise(output: Any, latents: Any, alpha: float, prediction: str) -> Any:
    """The noise ε a model output means: itself for ε-prediction; for v-prediction
    ε = √ᾱ·v + √(1−ᾱ)·z."""
    if prediction == "v_prediction":
        return alpha ** 0.5 * output + (1 - alpha) ** 0.5 * latents
    return output


def rotary_embeddings(loaded, kind: str, latent_hw: tuple[int, int], frames: int, device):
    """CogVideoX's 3D rotary position embeddings where its config uses them, else None."""
    if kind != "cogvideox" or not loaded.denoiser.config.use_rotary_positional_embeddings:
        return None
    pipe = loaded.pipeline
    scale = pipe.vae_scale_factor_spatial
    return pipe._prepare_rotary_positional_embeddings(latent_hw[0] * scale,
                                                      latent_hw[1] * scale, frames, device)


def patch_size(loaded, kind: str) -> int:
    """Latent cells per DiT token side (1 for UNets)."""
    return int(loaded.denoiser.config.patch_size) if kind == "cogvideox" else 1


def spatial_scale(loaded) -> int:
    """Image pixels per latent cell."""
    vae = loaded.pipeline.vae
    return 2 ** (len(vae.config.block_out_channels) - 1)


def latent_frames(kind: str, frames: int, loaded) -> int:
    """Latent frames for ``frames`` video frames (CogVideoX compresses time 4×, keeping the
    first frame)."""
    if kind == "cogvideox":
        ratio = int(loaded.pipeline.vae.config.temporal_compression_ratio)
        return (frames - 1) // ratio + 1
    return frames


def encode_prompt(loaded, kind: str, prompt: str, negative: str, device) -> tuple[Any, Any]:
    """``(cond, uncond)`` text embeddings ``(1, L, D)`` for ``prompt`` and ``negative``."""
    pipe = loaded.pipeline
    if kind == "cogvideox":
        max_len = int(loaded.denoiser.config.max_text_seq_length)
        return pipe.encode_prompt(prompt, negative_prompt=negative,
                                  do_classifier_free_guidance=True, num_videos_per_prompt=1,
                                  max_sequence_length=max_len, device=device,
                                  dtype=loaded.dtype)
    return pipe.encode_prompt(prompt, device, 1, True, negative_prompt=negative)


def encode_video(loaded, kind: str, frames: Any, chunk: int | None) -> Any:
    """Latents ``(1, C, F', h, w)`` of ``frames`` ``(F, 3, H, W)`` in [−1, 1] (the encoder's
    mean, scaled by the VAE's scaling factor)."""
    import torch

    vae = loaded.pipeline.vae
    sf = vae.config.scaling_factor
    x = frames.to(vae.device, vae.dtype)
    with torch.no_grad():
        if kind == "cogvideox":
            return vae.encode(x.transpose(0, 1)[None]).latent_dist.mean * sf
        step = chunk or len(x)
        parts = [vae.encode(x[i:i + step]).latent_dist.mean for i in range(0, len(x), step)]
        return (torch.cat(parts) * sf).transpose(0, 1)[None]


def decode_video(loaded, kind: str, latents: Any, chunk: int | None) -> Any:
    """Frames ``(F, 3, H, W)`` in [−1, 1] from latents ``(1, C, F', h, w)``."""
    import torch

    vae = loaded.pipeline.vae
    z = latents.to(vae.device, vae.dtype) / vae.config.scaling_factor
    with torch.no_grad():
        if kind == "cogvideox":
            return vae.decode(z).sample[0].transpose(0, 1)
        flat = z[0].transpose(0, 1)
        step = chunk or len(flat)
        return torch.cat([vae.decode(flat[i:i + step]).sample for i in range(0, len(flat), step)])


def family_of_models(models: Any) -> str | None:
    """The S²V2V family ``models`` points at, if it says: a ``{family: path}`` key, a
    :class:`~motionwright.models.Models`' paths, or a diffusers folder's pipeline class."""
    import json
    from pathlib import Path

    from ...models.families import family_of_pipeline

    paths = getattr(models, "paths", models)
    if isinstance(paths, dict):
        for key in paths:
            if str(key).lower() in KINDS:
                return str(key).lower()
        return None
    if isinstance(paths, str | Path):
        index = Path(paths) / "model_index.json"
        try:
            name = json.loads(index.read_text()).get("_class_name", "")
        except (OSError, ValueError, AttributeError):
            return None
        fam = family_of_pipeline(str(name))
        if fam is not None and fam.name in KINDS:
            return fam.name
    return None
