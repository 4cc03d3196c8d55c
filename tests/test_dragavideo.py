"""Drag-A-Video on a tiny random SD 1.5: inversion, losses, shared-Δp tracking, the run loop."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

import motionwright as mw  # noqa: E402
from motionwright.edits import DragEdit  # noqa: E402
from motionwright.errors import Cancelled, InvalidInputError  # noqa: E402
from motionwright.methods.dragavideo import DragSettings, ddim, drag_clip, processed_rows, region  # noqa: E402  # noqa: E402
from motionwright.methods.dragavideo import supervision as sup  # noqa: E402
from motionwright.methods.dragavideo.attention import cross_branch_attention  # noqa: E402
from motionwright.methods.dragavideo.dift import dift_track  # noqa: E402
from motionwright.methods.dragavideo.features import sample_points  # noqa: E402
from motionwright.models import load_model  # noqa: E402
from motionwright.progress import CancelToken  # noqa: E402
from motionwright.synthetic import make_moving_objects  # noqa: E402
from tiny_models import tiny_model  # noqa: E402

FAST = dict(size=(32, 32), steps=10, levels=(8, 7, 5, 4), lora_steps=0, segmenter="none",
            dift_ensemble=1, correspondence="flow")


@pytest.fixture(scope="module")
def sd15():
    return load_model("sd15", tiny_model("sd15"), device="cpu")


@pytest.fixture(scope="module")
def scene():
    syn = make_moving_objects(3, (48, 40), seed=3, num_objects=1, max_speed=2)
    return syn, mw.Clip.from_frames(syn.frames)


def test_inversion_then_reconstruction_returns_the_input_latents(sd15):
    unet = sd15.pipeline.unet
    sched = ddim.make_schedule(sd15.pipeline.scheduler.config, 50)
    torch.manual_seed(0)
    z0 = torch.randn(2, 4, 16, 16) * 0.5
    cond = torch.zeros(1, 16, 32)
    inv = ddim.invert(unet, z0, cond, sched, (6,))
    assert set(inv) == {0, 6} and not torch.allclose(inv[6], z0, atol=1e-2)
    z = inv[6]
    with torch.no_grad():
        for lv in range(6, 0, -1):
            eps = ddim.run_unet(unet, z, sched.timestep(lv), cond, 8)
            z = ddim.ddim_move(z, eps, sched.alphas[lv], sched.alphas[lv - 1])
    err = (z - z0).abs().mean() / z0.abs().mean()
    assert err < 0.02, float(err)


def test_schedule_levels_follow_the_paper_numbering(sd15):
    sched = ddim.make_schedule(sd15.pipeline.scheduler.config, 50)
    assert sched.steps == 50 and sched.timestep(1) < sched.timestep(42) < sched.timestep(50)
    assert np.all(np.diff(sched.alphas) < 0)


def test_mask_loss_is_zero_when_unchanged_outside_and_positive_after_a_perturbation():
    offset = torch.zeros(2, 4, 8, 8)
    outside = torch.ones(2, 1, 8, 8)
    outside[:, :, 2:6, 2:6] = 0
    inside_only = offset.clone()
    inside_only[:, :, 3, 3] = 5.0  # inside the mask: allowed
    assert float(sup.mask_loss(inside_only, outside)) == 0.0
    bumped = offset.clone()
    bumped[1, 0, 0, 0] = 0.5  # outside the mask
    assert float(sup.mask_loss(bumped, outside)) == pytest.approx(0.5)


def _synthetic_maps(frames=3, size=32, channels=6, answer=2.0):
    """Feature maps where the reference feature sits ``answer`` pixels along each handle's
    direction (a different direction per frame), with a smooth background."""
    g = torch.Generator().manual_seed(0)
    handles = torch.tensor([[[10.0, 12.0]], [[14.0, 9.0]], [[12.0, 16.0]]])[:frames]
    targets = handles + torch.tensor([[[8.0, 0.0]], [[0.0, 8.0]], [[6.0, 6.0]]])[:frames]
    d = sup.directions(handles, targets)
    ref = torch.randn(frames, 1, channels, generator=g)
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(),
                            indexing="ij")
    fmap = torch.zeros(frames, channels, size, size)
    for i in range(frames):
        spot = handles[i, 0] + answer * d[i, 0]
        w = torch.exp(-((xs - spot[0]) ** 2 + (ys - spot[1]) ** 2) / 2.0)
        fmap[i] = ref[i, 0][:, None, None] * w[None]
    return fmap, handles, targets, ref, d


def test_shared_step_moves_every_frame_by_the_same_amount_and_finds_the_minimiser():
    fmap, handles, targets, ref, d = _synthetic_maps(answer=2.0)
    active = torch.ones(1, dtype=torch.bool)

    def sample(pts):
        return sample_points(fmap, pts, (32, 32))

    new, step = sup.shared_step(sample, ref, handles, targets, active, limit=3.0, unit=1.0)
    assert float(step[0]) == pytest.approx(2.0)
    moved = new - handles
    lengths = torch.linalg.norm(moved, dim=-1)
    torch.testing.assert_close(lengths, torch.full_like(lengths, 2.0))
    torch.testing.assert_close(moved / lengths[..., None], d)
    # Steps never exceed l, and a finished point does not move.
    _, step = sup.shared_step(sample, ref, handles, targets, active, limit=1.0, unit=1.0)
    assert float(step[0]) == pytest.approx(1.0)
    still, step = sup.shared_step(sample, ref, handles, targets, ~active, limit=3.0, unit=1.0)
    assert torch.equal(still, handles) and float(step[0]) == 0.0


def test_drag_loss_is_zero_when_features_match_and_template_averages_frames():
    fmap = torch.ones(2, 3, 16, 16)
    handles = torch.tensor([[[5.0, 5.0]], [[6.0, 6.0]]])
    targets = handles + 4
    tmpl = sup.handle_template(fmap, handles, (16, 16), 1, 1.0)
    assert tmpl.shape == (1, 9, 3)
    active = torch.ones(1, dtype=torch.bool)
    assert float(sup.drag_loss(fmap, handles, targets, tmpl, active, (16, 16), 1, 1.0)) == 0
    assert float(sup.drag_loss(fmap, handles, targets, tmpl + 1, active, (16, 16), 1, 1.0)) > 0
    ema = sup.update_template(torch.zeros(2), torch.ones(2), 0.9)
    torch.testing.assert_close(ema, torch.full((2,), 0.1))


def test_dift_track_follows_a_shifted_feature_map():
    g = torch.Generator().manual_seed(1)
    base = torch.randn(1, 8, 16, 16, generator=g)
    feats = torch.cat([base, torch.roll(base, shifts=(0, 2), dims=(2, 3))])
    tracks, visible = dift_track(feats, np.array([[11.0, 13.0]], np.float32), 0, (32, 32))
    np.testing.assert_allclose(tracks[1, 0] - tracks[0, 0], [4.0, 0.0], atol=1.0)
    assert visible.all()


def test_region_round_trip_keeps_outside_pixels_bit_identical():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)
    box = region.crop_box(np.array([[40.0, 30.0], [50.0, 30.0]]), None, (90, 60), (32, 32))
    x0, y0, x1, y1 = box
    assert 0 <= x0 < x1 <= 90 and 0 <= y0 < y1 <= 60
    assert abs((x1 - x0) - (y1 - y0)) <= 1  # the model's square aspect
    pts = np.array([[41.0, 33.0]], np.float32)
    back = region.points_from_model(region.points_to_model(pts, box, (32, 32)), box, (32, 32))
    np.testing.assert_allclose(back, pts, atol=1e-4)
    edited = np.zeros((32, 32, 3), np.uint8)
    reg = np.zeros((60, 90), bool)
    reg[25:40, 38:55] = True
    out = region.composite(frame, edited, box, reg, feather=3.0)
    assert np.array_equal(out[~reg], frame[~reg])
    assert (out[reg] != frame[reg]).any()


def test_cross_branch_attention_keeps_the_source_branch(sd15):
    unet = sd15.pipeline.unet
    torch.manual_seed(0)
    x = torch.randn(4, 4, 16, 16)
    cond = torch.zeros(4, 16, 32)
    with torch.no_grad():
        plain = unet(x, 10, encoder_hidden_states=cond).sample
        with cross_branch_attention(unet, 2, 0) as installed:
            assert installed and all(name.startswith("up_blocks") for name in installed)
            mixed = unet(x, 10, encoder_hidden_states=cond).sample
    torch.testing.assert_close(mixed[:2], plain[:2], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(mixed[2:], plain[2:], atol=1e-4)
    assert all(type(p).__name__ != "CrossBranchAttention" for p in unet.attn_processors.values())


def test_drag_loss_decreases_and_outside_pixels_stay(sd15, scene):
    syn, clip = scene
    h = syn.tracks[0, 0]
    target = np.clip(h + np.array([10, 4]), 0, [47, 39])
    mask = mw.Mask.from_box(4, 4, 40, 32, clip.size)
    edit = DragEdit(mw.PointSet([h], frame=0), mw.PointSet([target], frame=0), mask)
    events = []
    res = drag_clip(sd15, clip, edit, DragSettings(**FAST, iterations=8, lr=0.05,
                                                   stop_distance=0.1),
                    progress=events.append)
    assert res.frames.shape == syn.frames.shape and res.iterations == 8
    first, last = np.mean(res.drag_losses[:3]), np.mean(res.drag_losses[-3:])
    assert last < first, res.drag_losses
    assert np.array_equal(res.frames[0][~mask.at(0)], syn.frames[0][~mask.at(0)])
    drag_events = [e for e in events if e.stage == "drag"]
    assert len(drag_events) == 8 and drag_events[0].preview.shape == syn.frames[0].shape
    assert {"invert", "denoise"} <= {e.stage for e in events}


def test_lora_and_dift_and_stride_run_and_leave_the_model_unchanged(sd15, scene):
    syn, clip = scene
    before = {k: v.clone() for k, v in sd15.pipeline.unet.state_dict().items()}
    h = syn.tracks[0, 0]
    edit = DragEdit(mw.PointSet([h], frame=0), mw.PointSet([h + np.array([6, 0])], frame=0))
    settings = DragSettings(**{**FAST, "correspondence": "dift", "lora_steps": 2, "stride": 2,
                               "iterations": 2})
    res = drag_clip(sd15, clip, edit, settings)
    assert res.rows == [0, 2] and len(res.lora_losses) == 2
    x0, y0, x1, y1 = res.box
    outside = np.ones(syn.frames.shape[1:3], bool)
    outside[y0:y1, x0:x1] = False
    for t in range(len(clip)):
        assert np.array_equal(res.clip[t][outside], syn.frames[t][outside])
    after = sd15.pipeline.unet.state_dict()
    assert set(after) == set(before)
    assert all(torch.equal(after[k], before[k]) for k in before)


def test_cancel_stops_the_drag(sd15, scene):
    syn, clip = scene
    h = syn.tracks[0, 0]
    edit = DragEdit(mw.PointSet([h], frame=0), mw.PointSet([h + np.array([8, 0])], frame=0))
    token = CancelToken()

    def on_progress(event):
        if event.stage == "drag":
            token.cancel()

    with pytest.raises(Cancelled, match="drag"):
        drag_clip(sd15, clip, edit, DragSettings(**FAST, iterations=5),
                  progress=on_progress, cancel=token)


@pytest.mark.parametrize("bad, message", [
    (dict(iterations=0), "iterations"), (dict(levels=(60,)), "levels"),
    (dict(lr=float("nan")), "lr"), (dict(correspondence="raft"), "correspondence"),
    (dict(segmenter="yes"), "segmenter"), (dict(feature_ema=1.0), "feature_ema"),
    (dict(size=(4, 4)), "size"), (dict(stride=0), "stride"), (dict(lora_steps=-1), "lora_steps"),
])
def test_bad_settings_are_typed_errors(bad, message):
    with pytest.raises(InvalidInputError, match=message):
        DragSettings(**bad)


def test_processed_rows_cover_key_and_ends():
    assert processed_rows(7, 3, 4) == [0, 3, 4, 6]
    assert processed_rows(4, 1, 0) == [0, 1, 2, 3]
