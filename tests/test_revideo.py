"""ReVideo: equations on hand-known inputs, hooks, key mapping, store and end-to-end renders."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

import motionwright as mw  # noqa: E402
from motionwright.methods.revideo import region as rg  # noqa: E402
from motionwright.methods.revideo.fusion import AdaptiveFusion, ConditionEncoder, fuse  # noqa: E402
from motionwright.methods.revideo.sampler import edm_sigmas, guidance_ramp, guided  # noqa: E402
from motionwright.models.revideo import convert_official, official_key  # noqa: E402


def test_eq5_fusion_by_hand():
    content, motion = torch.tensor([2.0]), torch.tensor([10.0])
    assert float(fuse(content, motion, torch.tensor([0.0]))) == 2.0
    assert float(fuse(content, motion, torch.tensor([1.0]))) == 10.0
    assert float(fuse(content, motion, torch.tensor([0.25]))) == 4.0


def test_encoders_reach_latent_size_and_start_at_zero():
    enc = ConditionEncoder(2, 32)
    with torch.no_grad():
        out = enc(torch.randn(3, 2, 64, 40))
    assert out.shape == (3, 32, 8, 5)
    assert float(out.abs().max()) == 0.0
    fusion = AdaptiveFusion(32)
    with torch.no_grad():
        gamma = fusion.weight(torch.ones(3, 1, 64, 40), torch.tensor([0.1, 0.2, 0.3]))
    assert gamma.shape == (3, 32, 8, 5)
    assert torch.allclose(gamma, torch.full_like(gamma, 0.5))  # σ(0) before training


def test_edm_sigmas_and_guidance_ramp():
    s = edm_sigmas(25)
    assert len(s) == 26 and float(s[-1]) == 0.0
    assert abs(float(s[0]) - 700.0) < 1e-2 and abs(float(s[-2]) - 0.002) < 1e-6
    assert torch.all(s[:-1][1:] < s[:-1][:-1])
    ramp = guidance_ramp(14, 1.0, 4.0)
    assert float(ramp[0]) == 1.0 and float(ramp[-1]) == 4.0
    u, c = torch.zeros(1, 14, 1, 1, 1), torch.ones(1, 14, 1, 1, 1)
    assert torch.allclose(guided(u, c, ramp).flatten(), ramp)


def test_windows_and_blend():
    assert rg.window_starts(10, 14, 4) == [0]
    assert rg.window_starts(30, 14, 4) == [0, 10, 16]
    w = rg.blend_weights(3)
    assert np.allclose(w, [0.25, 0.5, 0.75])


def test_composite_leaves_far_pixels_untouched():
    src = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    mask = np.zeros((40, 50), bool)
    mask[10:20, 10:20] = True
    box = (5, 5, 30, 30)
    out = rg.composite(src, np.zeros((16, 16, 3), np.uint8), mask, box, feather=3)
    far = rg.feathered_alpha(mask, 3) == 0
    assert np.array_equal(out[far], src[far])
    assert np.all(out[mask] < src[mask].astype(int) + 1)
    assert (out[mask] == 0).all()


def test_crop_box_keeps_aspect_inside_frame():
    masks = np.zeros((2, 100, 200), bool)
    masks[0, 40:50, 150:160] = True
    x0, y0, w, h = rg.crop_box(masks, 16 / 9, 8)
    assert x0 >= 0 and y0 >= 0 and x0 + w <= 200 and y0 + h <= 100
    assert abs(w / h - 16 / 9) < 0.1
    assert x0 <= 150 and x0 + w >= 160


def test_official_key_mapping_by_hand():
    cases = {
        "input_blocks.0.0.weight": "conv_in.weight",
        "input_blocks.1.0.in_layers.0.weight":
            "down_blocks.0.resnets.0.spatial_res_block.norm1.weight",
        "input_blocks.2.0.time_stack.out_layers.3.bias":
            "down_blocks.0.resnets.1.temporal_res_block.conv2.bias",
        "input_blocks.3.0.op.weight": "down_blocks.0.downsamplers.0.conv.weight",
        "input_blocks.4.1.time_stack.0.attn1.to_k.weight":
            "down_blocks.1.attentions.0.temporal_transformer_blocks.0.attn1.to_k.weight",
        "input_blocks.5.1.time_pos_embed.0.weight":
            "down_blocks.1.attentions.1.time_pos_embed.linear_1.weight",
        "input_blocks.11.0.time_mixer.mix_factor":
            "down_blocks.3.resnets.1.time_mixer.mix_factor",
        "middle_block.1.proj_in.weight": "mid_block.attentions.0.proj_in.weight",
        "middle_block.2.emb_layers.1.weight":
            "mid_block.resnets.1.spatial_res_block.time_emb_proj.weight",
        "time_embed.2.bias": "time_embedding.linear_2.bias",
        "label_emb.0.0.weight": "add_embedding.linear_1.weight",
        "controlnet_down_blocks.11.0.weight": "controlnet_down_blocks.11.weight",
        "controlnet_mid_block.0.bias": "controlnet_mid_block.bias",
        "controlnet_cond_embedding.blocks.5.weight": "motion_encoder.blocks.5.weight",
        "mask_embedding.conv_out.bias": "content_encoder.conv_out.bias",
        "weight_embedding.conv_final.weight": "fusion.conv_final.weight",
    }
    for old, new in cases.items():
        assert official_key(old) == new


def test_convert_official_keeps_unet_temporal_kv_only():
    t = torch.zeros(1)
    state = {"model.ctrlnet_model.input_blocks.0.0.weight": t,
             "model.diffusion_model.output_blocks.4.1.time_stack.0.attn1.to_v.weight": t,
             "model.diffusion_model.output_blocks.4.1.time_stack.0.attn1.to_q.weight": t,
             "first_stage_model.decoder.conv_in.weight": t}
    control, kv = convert_official(state)
    assert list(control) == ["conv_in.weight"]
    assert list(kv) == ["up_blocks.1.attentions.1.temporal_transformer_blocks.0.attn1.to_v.weight"]
    with pytest.raises(mw.models.ModelMismatchError, match="control module"):
        convert_official({"model.diffusion_model.x": t})


@pytest.fixture(scope="module")
def svd():
    from motionwright.models.loading import load_model
    from tiny_models import tiny_model

    return load_model("svd", tiny_model("svd"), device="cpu", dtype="fp32")


def _unet_inputs(frames=4):
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(1, frames, 8, 8, 8, generator=gen), torch.tensor([0.3]),
            torch.randn(1, 1, 32, generator=gen), torch.tensor([[6.0, 127.0, 0.02]]))


@pytest.mark.slow
def test_untrained_control_adds_nothing_and_hooks_reach_every_skip(svd):
    from motionwright.methods.revideo.control import ReVideoControlModule
    from motionwright.methods.revideo.inject import ControlResiduals, control_residuals

    unet = svd.pipeline.unet
    control = ReVideoControlModule.from_unet(unet, encoder_channels=(8, 16))
    x, t, ctx, ids = _unet_inputs()
    conds = {"motion": torch.randn(1, 4, 2, 16, 16), "content": torch.randn(1, 4, 3, 16, 16),
             "mask": torch.ones(1, 4, 1, 16, 16)}
    with torch.no_grad():
        base = unet(x, t, ctx, added_time_ids=ids).sample
        down, mid = control(x, t, ctx, ids, **conds)
        assert len(down) == control.skip_count == 4
        holder = ControlResiduals()
        with control_residuals(unet, holder) as hooked:
            assert hooked == 1 + len(unet.up_blocks)
            holder.set(down, mid)
            same = unet(x, t, ctx, added_time_ids=ids).sample
            assert torch.equal(same, base)
            for k in range(len(down)):
                bumped = [d if i != k else torch.ones_like(d) for i, d in enumerate(down)]
                holder.set(bumped, mid)
                assert not torch.allclose(unet(x, t, ctx, added_time_ids=ids).sample, base)
        assert torch.equal(unet(x, t, ctx, added_time_ids=ids).sample, base)  # hooks removed


def test_store_layout_and_missing_control_message(tmp_path):
    from motionwright.models import ModelNotFoundError
    from motionwright.models.store import ModelStore
    from tiny_revideo import tiny_control

    store = ModelStore(tmp_path / "config.toml")
    spec = store.add("revideo", tiny_control())
    assert spec.layout().pipeline_class == "ReVideoControlModule"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="motionwright models add revideo"):
        store.add("revideo", tmp_path / "empty")


def test_backend_plans_trajectory_edits():
    from motionwright.methods.backend import required_families

    mask = mw.Mask.from_box(4, 4, 8, 8, (32, 32))
    traj = mw.Trajectory(np.array([[[8.0, 8.0]], [[9.0, 8.0]]], np.float32), np.ones((2, 1), bool))
    assert required_families([mw.TrajectoryEdit(mask, traj)]) == ["svd", "revideo"]


def _edit(size=(56, 40), frames=6, boxes=((10, 8, 20, 16),)):
    masks = None
    tracks = []
    for x, y, w, h in boxes:
        m = mw.Mask.from_box(x, y, w, h, size)
        masks = m if masks is None else masks.union(m)
        tracks.append(np.stack([[[x + w / 2 + t, y + h / 2]] for t in range(frames)]))
    traj = mw.Trajectory(np.concatenate(tracks, 1).astype(np.float32),
                         np.ones((frames, len(boxes)), bool))
    return mw.TrajectoryEdit(masks, traj)


@pytest.mark.slow
def test_render_end_to_end_windows_native_size_seed(svd):
    from motionwright.methods.backend import render_trajectory
    from motionwright.methods.revideo import ReVideoSettings
    from tiny_revideo import tiny_control

    frames = np.random.default_rng(0).integers(0, 255, (6, 40, 56, 3), dtype=np.uint8)
    clip = mw.Clip.from_frames(frames, fps=8)
    edit = _edit(boxes=((4, 4, 12, 12), (36, 20, 12, 12)))  # two regions, one edit
    settings = ReVideoSettings(steps=2, size=(32, 32), overlap=2, feather=2)
    models = mw.models.Models({"svd": svd.spec.path, "revideo": tiny_control()}, device="cpu",
                              dtype="fp32")
    seen = []
    out = render_trajectory(clip, [edit], models=models, settings=settings,
                            progress=lambda p: seen.append(p))
    arr = out.to_array()
    assert arr.shape == frames.shape and out.fps == clip.fps
    masks = np.stack([edit.region.at(t) for t in range(6)])
    far = np.stack([rg.feathered_alpha(m, 2) == 0 for m in masks])
    assert np.array_equal(arr[far], frames[far])
    assert (arr[masks] != frames[masks]).mean() > 0.5
    again = render_trajectory(clip, [edit], models=models, settings=settings).to_array()
    assert np.array_equal(arr, again)
    assert seen


@pytest.mark.slow
def test_cancel_leaves_no_file(svd, tmp_path):
    from motionwright.errors import Cancelled
    from motionwright.methods.backend import render_trajectory
    from motionwright.methods.revideo import ReVideoSettings
    from tiny_revideo import tiny_control

    frames = np.zeros((4, 32, 32, 3), np.uint8)
    clip = mw.Clip.from_frames(frames, fps=8)
    edit = _edit(size=(32, 32), frames=4, boxes=((8, 8, 12, 12),))
    out = tmp_path / "out.mp4"
    with pytest.raises(Cancelled):
        render_trajectory(clip, [edit], models={"svd": svd.spec.path, "revideo": tiny_control()},
                          settings=ReVideoSettings(steps=3, size=(32, 32)),
                          cancel=lambda: True).save(out)
    assert not out.exists()


def test_trajectory_following_error_on_known_motion():
    from motionwright.metrics import trajectory_following_error
    from motionwright.synthetic import make_moving_objects

    scene = make_moving_objects(6, (96, 72), seed=3, max_speed=3)
    truth = scene.trajectory()
    assert trajectory_following_error(scene.frames, truth) < 1.5
    still = np.repeat(scene.frames[:1], 6, axis=0)  # nothing moves: the error is the motion
    assert trajectory_following_error(still, truth) > 2.0


def test_nan_latents_are_reported():
    from motionwright.methods.revideo.inject import ControlResiduals
    from motionwright.methods.revideo.sampler import sample

    class NanUNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, t, encoder_hidden_states=None, added_time_ids=None,
                    return_dict=False):
            return (torch.full_like(x[:, :, :4], float("nan")),)

    with pytest.raises(FloatingPointError, match="non-finite"):
        sample(NanUNet(), None, ControlResiduals(), shape=(1, 2, 4, 2, 2),
               image_latent=torch.zeros(1, 4, 2, 2), context=torch.zeros(1, 1, 4),
               time_ids=torch.zeros(1, 3), conds={}, steps=2, guidance=(1.0, 1.0),
               generator=torch.Generator().manual_seed(0))


@pytest.mark.slow
def test_finished_windows_are_kept_and_reused(svd, tmp_path):
    from motionwright.methods.backend import render_trajectory
    from motionwright.methods.revideo import ReVideoSettings
    from tiny_revideo import tiny_control

    frames = np.random.default_rng(4).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    clip = mw.Clip.from_frames(frames, fps=8)
    edit = _edit(size=(32, 32), frames=4, boxes=((8, 8, 12, 12),))
    settings = ReVideoSettings(steps=1, size=(32, 32), guidance=(1.0, 1.0),
                               cache_dir=str(tmp_path / "windows"))
    models = {"svd": svd.spec.path, "revideo": tiny_control()}
    first = render_trajectory(clip, [edit], models=models, settings=settings).to_array()
    stored = sorted((tmp_path / "windows").glob("revideo-*.safetensors"))
    assert len(stored) == 1
    # A resumed render reads the window instead of sampling it again.
    from motionwright.methods.revideo.run import ReVideoRun

    def no_sampling(*args, **kwargs):
        raise AssertionError("the stored window was sampled again")

    original = ReVideoRun.window_video
    ReVideoRun.window_video = no_sampling
    try:
        again = render_trajectory(clip, [edit], models=models, settings=settings).to_array()
    finally:
        ReVideoRun.window_video = original
    assert np.array_equal(first, again)
    other = ReVideoSettings(steps=1, size=(32, 32), guidance=(1.0, 1.0), seed=1,
                            cache_dir=str(tmp_path / "windows"))
    render_trajectory(clip, [edit], models=models, settings=other)
    assert len(list((tmp_path / "windows").glob("revideo-*.safetensors"))) == 2


def test_edited_first_frame_applies_inside_its_region_only():
    size = (40, 30)
    mask = mw.Mask.from_box(5, 5, 10, 10, size)
    traj = mw.Trajectory(np.array([[[10.0, 10.0]], [[11.0, 10.0]]], np.float32),
                         np.ones((2, 1), bool))
    edited = np.full((30, 40, 3), 200, np.uint8)
    region = rg.unite([mw.TrajectoryEdit(mask, traj, edited)], 2, size)
    inside = mask.at(0)
    assert np.array_equal(region.first_mask, inside)
    assert (region.first_frame[inside] == 200).all()
