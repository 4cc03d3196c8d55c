"""The hooks on full-size SD 1.5 and SVD UNets, built on PyTorch's meta device (shapes only,
nothing allocated): how many layers each hook reaches and the shapes at the papers' sizes."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.methods.dragavideo.attention import cross_branch_attention  # noqa: E402
from motionwright.methods.dragavideo.features import feature_block  # noqa: E402
from motionwright.methods.dragavideo.optimise import forward_features  # noqa: E402
from motionwright.methods.motion_tokens import MotionTokenBank, route_motion_tokens  # noqa: E402
from motionwright.models.hooks import FeatureRecorder, attention_sites  # noqa: E402
from tiny_models import SD15_FULL_UNET, SVD_FULL_UNET  # noqa: E402

DTYPES = [torch.float16, torch.bfloat16]
SD_FRAMES = 11  # a 32-frame clip sampled every third frame (Drag-A-Video §4.1), at 512²
SD_LATENT = (64, 64)
SVD_FRAMES, SVD_LATENT = 14, (72, 128)  # SVD img2vid: 14 frames of 1024×576


@pytest.fixture(scope="module")
def sd_unet():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        return UNet2DConditionModel(**SD15_FULL_UNET).requires_grad_(False)


@pytest.fixture(scope="module")
def svd_unet():
    from diffusers import UNetSpatioTemporalConditionModel

    with torch.device("meta"):
        unet = UNetSpatioTemporalConditionModel(**SVD_FULL_UNET)
    # Its mixing factors are made by a constructor that ignores the default device.
    return unet.to("meta").requires_grad_(False)


def _kinds(unet):
    out: dict[str, int] = {}
    for site in attention_sites(unet):
        out[site.kind] = out.get(site.kind, 0) + 1
    return out


def test_full_size_attention_layers_are_classified(sd_unet, svd_unet):
    # SD 1.5: 6 encoder + 1 middle + 9 decoder transformers, one self and one cross each.
    assert _kinds(sd_unet) == {"spatial-self": 16, "spatial-cross": 16}
    # SVD: the same 16 places, each with a spatial and a temporal transformer.
    assert _kinds(svd_unet) == {"spatial-self": 16, "spatial-cross": 16, "temporal-self": 16,
                                "temporal-cross": 16}


@pytest.mark.slow  # a full-size pass on meta still dispatches every op: seconds
@pytest.mark.parametrize("dtype", DTYPES)
def test_drag_hooks_on_full_size_sd15(sd_unet, dtype):
    unet = sd_unet.to(dtype)
    cond = torch.empty(1, 77, 768, device="meta", dtype=dtype)
    # Cross-branch attention on every decoder self-attention, over [source, edited] frames.
    both = torch.empty(2 * SD_FRAMES, 4, *SD_LATENT, device="meta", dtype=dtype)
    with torch.no_grad(), cross_branch_attention(unet, SD_FRAMES, 0) as installed:
        assert len(installed) == 9 and all(n.startswith("up_blocks") for n in installed)
        out = unet(both, 500, encoder_hidden_states=cond.expand(len(both), -1, -1)).sample
    assert out.shape == both.shape and out.dtype == dtype
    # Motion supervision: up_blocks.2 (640 channels at 1/8 of 512²) at the four levels.
    block = feature_block(unet)

    class Levels:
        def timestep(self, level):
            return 20 * level

    inputs = [torch.empty(4, 4, *SD_LATENT, device="meta", dtype=dtype) for _ in range(4)]
    fmap, eps = forward_features(unet, inputs, (42, 41, 35, 30), Levels(), cond, block,
                                 grad=False)
    assert block == "up_blocks.2" and fmap.shape == (4, 4 * 640, 64, 64)
    assert eps.shape == (4, 4, *SD_LATENT) and eps.dtype == dtype
    # DIFT: up_blocks.1, 1280 channels on a 32×32 grid.
    with torch.no_grad(), FeatureRecorder(unet, ["up_blocks.1"]) as rec:
        unet(inputs[0], 261, encoder_hidden_states=cond.expand(4, -1, -1))
    assert rec.features["up_blocks.1"].shape == (4, 1280, 32, 32)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
def test_motion_token_routing_on_full_size_svd(svd_unet, dtype):
    unet = svd_unet.to(dtype)
    bank = MotionTokenBank()
    n = 5
    bank.set(torch.empty(1, SVD_FRAMES, n, 1024, device="meta", dtype=dtype),
             torch.empty(1, n, 1024, device="meta", dtype=dtype))
    sample = torch.empty(1, SVD_FRAMES, 8, *SVD_LATENT, device="meta", dtype=dtype)
    ids = torch.empty(1, 3, device="meta", dtype=dtype)
    context = torch.empty(1, 1, 1024, device="meta", dtype=dtype)
    with torch.no_grad(), route_motion_tokens(unet, bank) as installed:
        assert len(installed) == 32
        out = unet(sample, torch.ones(1, device="meta"), encoder_hidden_states=context,
                   added_time_ids=ids).sample
    assert out.shape == (1, SVD_FRAMES, 4, *SVD_LATENT) and out.dtype == dtype
