"""ReVideo at full size on PyTorch's meta device: hooks, shapes and estimates, fp16 and bf16."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

# Building the full-size models, even on the meta device, takes tens of seconds here.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full_unet():
    from diffusers import UNetSpatioTemporalConditionModel

    from tiny_models import SVD_FULL_UNET

    with torch.device("meta"):
        return UNetSpatioTemporalConditionModel(**SVD_FULL_UNET).to("meta")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_control_and_hooks_hold_at_the_papers_setting(full_unet, dtype):
    from motionwright.methods.revideo.control import ReVideoControlModule
    from motionwright.methods.revideo.inject import ControlResiduals, control_residuals
    from motionwright.methods.revideo.policy import control_inputs

    unet = full_unet.to(dtype)
    with torch.device("meta"):
        control = ReVideoControlModule.from_unet(unet, copy_weights=False).to("meta", dtype)
    assert control.skip_count == 12
    frames, latent = 14, (40, 64)  # 512x320
    args, kwargs = control_inputs(control, batch=2, frames=frames, latent_hw=latent,
                                  cond_hw=(320, 512), dtype=dtype, embed=1024)
    with torch.no_grad(), torch.device("meta"):
        down, mid = control(*args, **kwargs)
    widths = [320] * 4 + [640] * 3 + [1280] * 5
    assert [d.shape[1] for d in down] == widths
    assert down[0].shape == (2 * frames, 320, 40, 64) and mid.shape == (2 * frames, 1280, 5, 8)
    assert all(d.dtype == dtype for d in down)
    holder = ControlResiduals()
    with control_residuals(unet, holder) as hooked, torch.no_grad(), torch.device("meta"):
        assert hooked == 5  # four up blocks + the mid block
        holder.set(down, mid)
        out = unet(args[0], args[1], args[2], added_time_ids=args[3]).sample
    assert out.shape == (2, frames, 4, 40, 64)


def test_estimate_grows_with_size_and_policies_order(full_unet):
    from diffusers import AutoencoderKLTemporalDecoder
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from motionwright.methods.revideo.control import ReVideoControlModule
    from motionwright.methods.revideo.policy import estimate_revideo
    from tiny_models import SVD_FULL_IMAGE_ENCODER, SVD_FULL_VAE

    with torch.device("meta"):
        vae = AutoencoderKLTemporalDecoder(**{k: v for k, v in SVD_FULL_VAE.items()
                                              if k != "down_block_types"})
        enc = CLIPVisionModelWithProjection(CLIPVisionConfig(**SVD_FULL_IMAGE_ENCODER))
        control = ReVideoControlModule.from_unet(full_unet, copy_weights=False)
    small = estimate_revideo(full_unet, vae, enc, control, frames=14, latent_hw=(40, 64),
                             dtype=torch.float16, guidance=True, policy="gpu")
    large = estimate_revideo(full_unet, vae, enc, control, frames=14, latent_hw=(72, 128),
                             dtype=torch.float16, guidance=True, policy="gpu")
    low = estimate_revideo(full_unet, vae, enc, control, frames=14, latent_hw=(72, 128),
                           dtype=torch.float16, guidance=True, policy="lowvram")
    assert small.peak_bytes < large.peak_bytes
    assert low.peak_bytes <= large.peak_bytes
    assert large.parts["control module weights"] > 1e9  # ~0.7 B parameters in fp16


_RES_INV = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
            "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def _res_inv(rest: str) -> str:
    if rest.startswith("time_mixer."):
        return rest
    part, _, tail = rest.partition(".")
    name, _, tail = tail.partition(".")
    prefix = "time_stack." if part == "temporal_res_block" else ""
    return f"{prefix}{_RES_INV[name]}.{tail}"


def _tr_inv(rest: str) -> str:
    rest = rest.replace("temporal_transformer_blocks.", "time_stack.", 1)
    rest = rest.replace("time_pos_embed.linear_1.", "time_pos_embed.0.", 1)
    return rest.replace("time_pos_embed.linear_2.", "time_pos_embed.2.", 1)


def to_official(key: str) -> str:
    """The sgm name of a control-module key, written from the sgm layout independently of the
    loader's mapping (SVD: two layers per level, four levels)."""
    simple = {"time_embedding.linear_1.": "time_embed.0.", "time_embedding.linear_2.":
              "time_embed.2.", "add_embedding.linear_1.": "label_emb.0.0.",
              "add_embedding.linear_2.": "label_emb.0.2.",
              "motion_encoder.": "controlnet_cond_embedding.", "content_encoder.":
              "mask_embedding.", "fusion.": "weight_embedding.", "conv_in.": "input_blocks.0.0.",
              "controlnet_mid_block.": "controlnet_mid_block.0."}
    for new, old in simple.items():
        if key.startswith(new):
            return old + key[len(new):]
    parts = key.split(".")
    if parts[0] == "controlnet_down_blocks":
        return f"controlnet_down_blocks.{parts[1]}.0.{'.'.join(parts[2:])}"
    if parts[0] == "mid_block":
        rest = ".".join(parts[3:])
        if parts[1] == "attentions":
            return f"middle_block.1.{_tr_inv(rest)}"
        return f"middle_block.{2 * int(parts[2])}.{_res_inv(rest)}"
    level, kind, j = int(parts[1]), parts[2], int(parts[3])
    rest = ".".join(parts[4:])
    if kind == "downsamplers":
        return f"input_blocks.{3 + 3 * level}.0.op.{rest.split('.', 1)[1]}"
    index = 1 + 3 * level + j
    if kind == "resnets":
        return f"input_blocks.{index}.0.{_res_inv(rest)}"
    return f"input_blocks.{index}.1.{_tr_inv(rest)}"


def test_official_mapping_covers_every_key_of_the_full_size_module(full_unet):
    from motionwright.methods.revideo.control import ReVideoControlModule
    from motionwright.models.revideo import convert_official

    with torch.device("meta"):
        control = ReVideoControlModule.from_unet(full_unet, copy_weights=False)
    keys = list(control.state_dict())
    official = {f"model.ctrlnet_model.{to_official(k)}": torch.empty(0) for k in keys}
    official["model.diffusion_model.output_blocks.5.1.time_stack.0.attn1.to_k.weight"] = \
        torch.empty(0)
    converted, kv = convert_official(official)
    assert sorted(converted) == sorted(keys)
    unet_keys = set(full_unet.state_dict())
    assert list(kv) == ["up_blocks.1.attentions.2.temporal_transformer_blocks.0.attn1.to_k.weight"]
    assert set(kv) <= unet_keys
