"""The drag's VRAM estimate counts every tensor that grows with the clip, and the streamed
DIFT features by their size."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.models import load_model  # noqa: E402
from motionwright.models.estimate import (  # noqa: E402
    drag_bytes_per_frame,
    estimate_dift,
    estimate_drag,
)
from tiny_models import SD15_FULL_UNET, tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def sd15():
    return load_model("sd15", tiny_model("sd15"), device="cpu")


def _estimate(sd15, frames, **kw):
    pipe = sd15.pipeline
    args = dict(latent_hw=(16, 16), dtype=torch.float32, policy="lowvram", frame_batch=1,
                levels=4, cross_frame=False, dift_chunk=1, dift_matching_elements=1 << 10)
    args.update(kw)
    return estimate_drag(pipe.unet, pipe.vae, pipe.text_encoder, frames=frames, **args)


def test_per_frame_bytes_are_the_latents_offsets_adam_and_mask():
    # 4×16×16 latents: 5 levels at fp32 (4 bytes), 4 fp32 offsets with gradient and two Adam
    # moments (16 bytes), one fp32 mask cell per latent position.
    assert drag_bytes_per_frame((16, 16), torch.float32, 4) == 1024 * (5 * 4 + 4 * 16) + 256 * 4
    assert drag_bytes_per_frame((64, 64), torch.float16, 4) == 16384 * (5 * 2 + 64) + 4096 * 4


def test_the_estimate_grows_by_the_per_frame_bytes_and_dift_does_not_grow(sd15):
    small, large = _estimate(sd15, 6), _estimate(sd15, 12)
    per_frame = drag_bytes_per_frame((16, 16), torch.float32, 4)
    assert large.parts["latents + optimiser"] == 12 * per_frame
    # The tracking samples: 9 handle points × 4 levels × 64 channels (the tiny UNet's
    # up_blocks.0) in fp32, 23 samples each gathered and concatenated (45 copies).
    samples = 9 * 4 * 64 * 4 * 45
    grown = large.phases["drag forward+backward"] - small.phases["drag forward+backward"]
    assert grown == 6 * samples
    assert max(large.phases, key=large.phases.get) == "drag forward+backward"
    assert large.peak_bytes - small.peak_bytes == 6 * (per_frame + samples)
    assert small.phases["dift propagation"] == large.phases["dift propagation"] > 0
    # Generation with cross-frame attention runs both branches of every frame at once.
    small, large = (_estimate(sd15, n, cross_frame=True) for n in (6, 12))
    ratio = large.phases["denoise"] / small.phases["denoise"]
    assert 1.9 < ratio <= 2.0, ratio


def test_dift_appears_only_with_dift_and_grows_with_its_chunk(sd15):
    assert "dift propagation" not in _estimate(sd15, 4, dift_chunk=None).phases
    one = _estimate(sd15, 8).phases["dift propagation"]
    four = _estimate(sd15, 8, dift_chunk=4).phases["dift propagation"]
    assert four > one


def test_full_size_dift_features_match_their_arithmetic():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel(**SD15_FULL_UNET)
    parts = estimate_dift(unet, latent_hw=(64, 64), dtype=torch.float16, chunk=4,
                          matching_elements=1 << 23)
    # SD 1.5 up_blocks.1 at 512²: 1280 channels on a 32×32 grid, fp32; three chunks of 4
    # frames at most (the kept chunk, the next one's sum and one UNet output).
    assert parts["dift features"] == 3 * 4 * 1280 * 32 * 32 * 4
    assert parts["dift matching"] == 3 * 4 * (1 << 23)
    assert parts["dift unet pass"] > 0


def test_drag_estimates_count_every_handle_set(sd15):
    import numpy as np

    import motionwright as mw
    from motionwright.methods.dragavideo import DragSettings
    from motionwright.methods.dragavideo.policy import drag_estimates

    clip = mw.Clip.from_frames(np.zeros((4, 40, 48, 3), np.uint8))
    settings = DragSettings(size=(32, 32), lora_steps=0)
    one, three = (drag_estimates(sd15, clip, 0, settings, ("lowvram",), handles=n)["lowvram"]
                  for n in (1, 3))
    grown = three.phases["drag forward+backward"] - one.phases["drag forward+backward"]
    # 2 more handles of 3×3 points, 4 frames, 4 levels, 64 channels, fp32, 45 samples.
    assert grown == 2 * 9 * 4 * 4 * 64 * 4 * 45
    assert "dift propagation" in one.phases
