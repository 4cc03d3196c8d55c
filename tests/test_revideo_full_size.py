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
