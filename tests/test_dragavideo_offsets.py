"""Drag-A-Video's drag loop: how the levels' offsets combine, the mask loss, handles reaching
their targets, and half-precision loss scaling."""

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.methods.dragavideo import DragSettings, ddim  # noqa: E402
from motionwright.methods.dragavideo import optimise as opt_module  # noqa: E402
from motionwright.methods.dragavideo.denoise import denoise  # noqa: E402
from motionwright.methods.dragavideo.optimise import level_inputs, optimise  # noqa: E402
from motionwright.models.precision import LossScaler  # noqa: E402

SCHEDULER = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                 steps_offset=1, clip_sample=False, set_alpha_to_one=False)


class IdentityUNet(torch.nn.Module):
    """A stand-in denoiser: its decoder "features" are the input latent itself (so the answer
    of a drag is known) and it predicts zero noise. ``poison`` calls return NaN features;
    ``inputs`` records ``(timestep, input)`` of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.up_blocks = torch.nn.ModuleList([torch.nn.Identity(), torch.nn.Identity()])
        self.down_blocks = torch.nn.ModuleList()
        self.inputs: list = []
        self.calls = 0
        self.poison: set[int] = set()

    def forward(self, x, t, encoder_hidden_states=None):
        self.calls += 1
        self.inputs.append((t, x.detach().clone()))
        h = self.up_blocks[0](x * float("nan") if self.calls in self.poison else x)
        self.up_blocks[1](h)
        return SimpleNamespace(sample=torch.zeros_like(x))


def _schedule(steps=10):
    return ddim.make_schedule(SCHEDULER, steps)


def test_the_inputs_the_drag_optimises_are_the_latents_generation_reaches():
    """Offsets are relative to the sample reached: with a noise prediction that does not
    depend on the input, denoising feeds each offset level exactly :func:`level_inputs`."""
    unet = IdentityUNet()
    schedule = _schedule()
    levels = (8, 7, 5, 4)
    z0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    cond = torch.zeros(1, 3, 8)
    inverted = ddim.invert(unet, z0, cond, schedule, levels)
    g = torch.Generator().manual_seed(1)
    offsets = {lv: torch.randn(2, 4, 8, 8, generator=g) * 0.1 for lv in levels}
    unet.inputs.clear()
    s = DragSettings(steps=10, levels=levels, cross_frame=False)
    denoise(unet, inverted, offsets, levels, schedule, cond, 0, [0, 1], s, 2, None, None)
    fed = {t: x for t, x in unet.inputs}
    want = level_inputs(inverted, offsets, levels, schedule)
    for lv, x in zip(levels, want, strict=True):
        torch.testing.assert_close(fed[schedule.timestep(lv)], x, atol=1e-5, rtol=1e-5)
    # The top level's offset reaches the lowest level grown by sqrt(ᾱ_4 / ᾱ_8) > 1: adding
    # each level's offset to the inverted latent instead would drop that carried part.
    carried = want[-1] - inverted[4] - offsets[4]
    factor = float((schedule.alphas[4] / schedule.alphas[8]) ** 0.5)
    assert factor > 1.0
    assert float(carried.abs().mean()) > float(offsets[8].abs().mean())


def _blob_scene(size=24, frames=2, dtype=torch.float32):
    """Latents whose four channels are smooth patterns around a blob at (8, 12) in every frame;
    one handle on the blob, its target 6 pixels to the right."""
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(),
                            indexing="ij")
    blob = torch.exp(-((xs - 8) ** 2 + (ys - 12) ** 2) / 8.0)
    lat = torch.stack([blob, blob * (xs - 8) / 4, blob * (ys - 12) / 4, 0.2 * torch.cos(xs / 3)])
    z0 = lat[None].repeat(frames, 1, 1, 1).to(dtype)
    prop = SimpleNamespace(handles=np.tile([[[8.0, 12.0]]], (frames, 1, 1)).astype(np.float32),
                           targets=np.tile([[[14.0, 12.0]]], (frames, 1, 1)).astype(np.float32),
                           group=np.zeros(1, np.int64), key_row=0)
    return z0, prop


def _drag(unet, z0, prop, settings, regions=None, levels=(2, 1), size=None):
    schedule = _schedule(4)
    width = getattr(getattr(unet, "config", None), "cross_attention_dim", 8)
    cond = torch.zeros(1, 3, width, dtype=z0.dtype)
    inverted = ddim.invert(unet, z0, cond, schedule, levels)
    size = size or (z0.shape[-1], z0.shape[-2])
    rows = list(range(len(z0)))
    return optimise(unet, None, inverted, levels, schedule, cond, prop, rows,
                    (0, 0, *size), size, regions, settings, len(rows), None, None, None, None)


FAST = dict(steps=4, levels=(2, 1), point_set=1, unit=1.0, patch_radius=1, step_limit=1.0,
            lr=0.1, preview_every=0, lora_steps=0)


def test_handles_walk_to_their_targets_and_stop_there():
    z0, prop = _blob_scene()
    settings = DragSettings(**FAST, iterations=40, stop_distance=1.0)
    _, handles, _, iters, skipped = _drag(IdentityUNet(), z0, prop, settings)
    moved = handles[:, 0, 0] - 8.0
    assert iters < 40 and skipped == 0  # stopped early: arrived
    dist = np.linalg.norm(handles[:, 0] - prop.targets[:, 0], axis=-1)
    assert (dist <= settings.stop_distance * settings.unit).all(), handles
    assert (moved > 4.0).all() and np.allclose(handles[:, 0, 1], 12.0)


def test_handles_move_toward_the_target_every_few_iterations():
    z0, prop = _blob_scene()
    xs = []
    for n in (3, 8, 16):
        settings = DragSettings(**FAST, iterations=n, stop_distance=0.1)
        xs.append(_drag(IdentityUNet(), z0, prop, settings)[1][0, 0, 0])
    assert 8.0 <= xs[0] <= xs[1] <= xs[2] <= 14.0 + 1e-4 and xs[2] > xs[0], xs


@pytest.fixture(scope="module")
def tiny_unet():
    from motionwright.models import load_model
    from tiny_models import tiny_model

    return load_model("sd15", tiny_model("sd15"), device="cpu").pipeline.unet


def test_mask_loss_keeps_offsets_outside_the_mask_small(tiny_unet):
    """On the tiny SD UNet every latent cell feeds the features, so without the mask loss the
    drag moves latents everywhere; with it, what lies outside the mask stays near zero."""
    z0 = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    prop = SimpleNamespace(handles=np.array([[[12.0, 16.0]]], np.float32),
                           targets=np.array([[[20.0, 16.0]]], np.float32),
                           group=np.zeros(1, np.int64), key_row=0)
    inside = np.zeros((32, 32), bool)
    inside[8:24, 6:28] = True
    m = torch.from_numpy(inside[1::2, 1::2])

    def outside_to_inside(weight):
        settings = DragSettings(**{**FAST, "unit": 2.0}, iterations=8, stop_distance=0.1,
                                mask_weight=weight)
        offsets = _drag(tiny_unet, z0, prop, settings, regions=lambda _r: inside,
                        size=(32, 32))[0]
        total = sum(o.abs() for o in offsets.values())[0].sum(0)
        return float(total[~m].mean() / total[m].mean())

    without, with_mask = outside_to_inside(0.0), outside_to_inside(0.1)
    assert without > 0.2  # the drag alone does move the outside
    assert with_mask < 0.2 and with_mask < 0.25 * without, (with_mask, without)


def test_loss_scaler_is_used_for_fp16_and_a_non_finite_step_is_skipped(monkeypatch):
    made = []

    class Spy(LossScaler):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(opt_module, "LossScaler", Spy)
    z0, prop = _blob_scene(dtype=torch.float16)
    unet = IdentityUNet()
    unet.poison = {5}  # invert: 2 calls, references: 1, then iterations 1, 2, ...
    settings = DragSettings(**FAST, iterations=6, stop_distance=0.1)
    offsets, handles, losses, iters, skipped = _drag(unet, z0, prop, settings)
    assert made[0].enabled and skipped == 1 and made[0].skipped == 1
    assert not np.isfinite(losses[1]) and np.isfinite(losses[0]) and np.isfinite(losses[2])
    assert all(torch.isfinite(o).all() for o in offsets.values())
    assert np.isfinite(handles).all() and iters == 6


def test_loss_scaler_scales_only_fp16_and_skips_non_finite_gradients():
    assert LossScaler("cpu", torch.float16).enabled
    assert not LossScaler("cpu", torch.float32).enabled
    assert not LossScaler("cpu", torch.bfloat16).enabled
    for dtype in (torch.float16, torch.float32):
        p = torch.nn.Parameter(torch.ones(3))
        opt = torch.optim.SGD([p], lr=0.1)
        scaler = LossScaler("cpu", dtype, init_scale=8.0)
        scaler.backward((p * torch.tensor([1.0, float("inf"), 1.0])).sum())
        assert scaler.step(opt) is False and scaler.skipped == 1
        assert torch.equal(p.detach(), torch.ones(3))
        if scaler.enabled:
            assert scaler.scale < 8.0
        opt.zero_grad()
        scaler.backward(p.sum())
        assert scaler.step(opt) is True
        torch.testing.assert_close(p.detach(), torch.full((3,), 0.9))
