"""ReVideo's control module in diffusers terms (§3.2, structure A of Fig. 2).

A trainable copy of the SVD UNet's encoder — ``conv_in``, the time and micro-conditioning
embeddings, every down block and the mid block, built from the UNet's own config with
diffusers' own block classes — whose input after ``conv_in`` receives the fused condition
``f_c`` of :class:`~.fusion.AdaptiveFusion` (eq. 5). Each skip feature and the mid-block output
pass through a 1×1 convolution initialised at zero (ControlNet's zero-conv, the 𝒵 of eq. 4)
and are added to the UNet's skip connections and mid-block output by :mod:`.inject`, so the
SVD UNet itself is neither copied nor changed.

Inputs (as the SVD UNet's): ``sample`` ``(B, F, 8, h, w)`` (noisy latent scaled by c_in with
the image latent concatenated), ``timestep`` ``(B,)`` (c_noise), ``encoder_hidden_states``
``(B, 1, d)``, ``added_time_ids`` ``(B, 3)``; conditions at pixel size ``(B, F, C, 8h, 8w)``:
``motion`` C = 2 (displacement maps), ``content`` C = 3 (the unedited region in [-1, 1], zero
inside the region), ``mask`` C = 1 (1 inside the edited region).
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.unets.unet_3d_blocks import UNetMidBlockSpatioTemporal, get_down_block
from torch import nn

from .fusion import ENCODER_CHANNELS, AdaptiveFusion, ConditionEncoder

UNET_KEYS = ("in_channels", "down_block_types", "block_out_channels", "addition_time_embed_dim",
             "projection_class_embeddings_input_dim", "layers_per_block", "cross_attention_dim",
             "transformer_layers_per_block", "num_attention_heads", "num_frames")


def _per_block(value: Any, count: int) -> list:
    return list(value) if isinstance(value, list | tuple) else [value] * count


def _zero_conv(channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(channels, channels, kernel_size=1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class ReVideoControlModule(ModelMixin, ConfigMixin):
    """The control module: encoder copy + condition encoders + SAFM + zero convolutions."""

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(self, in_channels: int = 8,
                 down_block_types: tuple[str, ...] = (
                     "CrossAttnDownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal",
                     "CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                 block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
                 addition_time_embed_dim: int = 256,
                 projection_class_embeddings_input_dim: int = 768,
                 layers_per_block: int | list = 2, cross_attention_dim: int | list = 1024,
                 transformer_layers_per_block: int | list = 1,
                 num_attention_heads: int | list = (5, 10, 20, 20), num_frames: int = 25,
                 motion_channels: int = 2, content_channels: int = 3, mask_channels: int = 1,
                 encoder_channels: tuple[int, ...] = ENCODER_CHANNELS) -> None:
        super().__init__()
        levels = len(block_out_channels)
        layers = _per_block(layers_per_block, levels)
        cross = _per_block(cross_attention_dim, levels)
        depth = _per_block(transformer_layers_per_block, levels)
        heads = _per_block(num_attention_heads, levels)
        width = block_out_channels[0]
        self.conv_in = nn.Conv2d(in_channels, width, kernel_size=3, padding=1)
        time_dim = width * 4
        self.time_proj = Timesteps(width, True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(width, time_dim)
        self.add_time_proj = Timesteps(addition_time_embed_dim, True, downscale_freq_shift=0)
        self.add_embedding = TimestepEmbedding(projection_class_embeddings_input_dim, time_dim)
        self.motion_encoder = ConditionEncoder(motion_channels, width, tuple(encoder_channels))
        self.content_encoder = ConditionEncoder(content_channels, width, tuple(encoder_channels))
        self.fusion = AdaptiveFusion(width, mask_channels, tuple(encoder_channels))
        self.down_blocks = nn.ModuleList()
        zero = [_zero_conv(width)]
        out = width
        for i, kind in enumerate(down_block_types):
            inp, out = out, block_out_channels[i]
            last = i == levels - 1
            self.down_blocks.append(get_down_block(
                kind, num_layers=layers[i], transformer_layers_per_block=depth[i],
                in_channels=inp, out_channels=out, temb_channels=time_dim,
                add_downsample=not last, resnet_eps=1e-5, cross_attention_dim=cross[i],
                num_attention_heads=heads[i], resnet_act_fn="silu"))
            zero += [_zero_conv(out) for _ in range(layers[i] + (0 if last else 1))]
        self.controlnet_down_blocks = nn.ModuleList(zero)
        self.mid_block = UNetMidBlockSpatioTemporal(
            block_out_channels[-1], temb_channels=time_dim,
            transformer_layers_per_block=depth[-1], cross_attention_dim=cross[-1],
            num_attention_heads=heads[-1])
        self.controlnet_mid_block = _zero_conv(block_out_channels[-1])
        self.gradient_checkpointing = False

    @classmethod
    def from_unet(cls, unet, *, copy_weights: bool = True, **extra) -> ReVideoControlModule:
        """A control module shaped after ``unet`` (a ``UNetSpatioTemporalConditionModel``),
        its encoder initialised from the UNet's weights (as ControlNet is)."""
        config = {k: unet.config[k] for k in UNET_KEYS}
        config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items()}
        module = cls(**config, **extra)
        if copy_weights:
            for name in ("conv_in", "time_embedding", "add_embedding", "down_blocks",
                         "mid_block"):
                getattr(module, name).load_state_dict(getattr(unet, name).state_dict())
        return module.to(dtype=unet.dtype)

    @property
    def skip_count(self) -> int:
        """How many skip residuals the module produces (12 for SVD)."""
        return len(self.controlnet_down_blocks)

    def condition(self, motion, content, mask, timestep):
        """``f_c`` ``(B·F, C0, h, w)``: both encoders and the SAFM (eq. 5) on flattened frames."""
        frames = motion.shape[1]
        t = timestep.reshape(-1).repeat_interleave(frames)
        dtype = self.conv_in.weight.dtype
        m = self.motion_encoder(motion.flatten(0, 1).to(dtype))
        c = self.content_encoder(content.flatten(0, 1).to(dtype))
        return self.fusion(c, m, mask.flatten(0, 1).to(dtype), t.to(dtype))

    def forward(self, sample, timestep, encoder_hidden_states, added_time_ids, *, motion,
                content, mask) -> tuple[tuple[Any, ...], Any]:
        """``(skip residuals, mid residual)``: 12 tensors ``(B·F, C_i, h_i, w_i)`` in the order
        of the UNet's skip connections, and ``(B·F, C, h/8, w/8)``."""
        batch, frames = sample.shape[:2]
        timestep = timestep.reshape(-1).expand(batch) if timestep.numel() == 1 else timestep
        emb = self.time_embedding(self.time_proj(timestep).to(sample.dtype))
        ids = self.add_time_proj(added_time_ids.flatten()).reshape(batch, -1).to(emb.dtype)
        emb = emb + self.add_embedding(ids)
        emb = emb.repeat_interleave(frames, dim=0)
        context = encoder_hidden_states.repeat_interleave(frames, dim=0)
        h = self.conv_in(sample.flatten(0, 1))
        h = h + self.condition(motion, content, mask, timestep).to(h.dtype)
        indicator = torch.zeros(batch, frames, dtype=h.dtype, device=h.device)
        skips = [h]
        for block in self.down_blocks:
            if getattr(block, "has_cross_attention", False):
                h, res = block(hidden_states=h, temb=emb, encoder_hidden_states=context,
                               image_only_indicator=indicator)
            else:
                h, res = block(hidden_states=h, temb=emb, image_only_indicator=indicator)
            skips.extend(res)
        h = self.mid_block(hidden_states=h, temb=emb, encoder_hidden_states=context,
                           image_only_indicator=indicator)
        down = tuple(conv(s) for conv, s in zip(self.controlnet_down_blocks, skips, strict=True))
        return down, self.controlnet_mid_block(h)
