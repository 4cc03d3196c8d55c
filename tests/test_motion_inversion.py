"""Reenact Anything's motion-textual inversion on a tiny random SVD."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.errors import (  # noqa: E402
    Cancelled,
    FrameRangeError,
    IncompatibleMotionError,
    InvalidInputError,
    ShapeError,
)
from motionwright.methods import svd_edm  # noqa: E402
from motionwright.methods.motion_inversion import (  # noqa: E402
    ApplySettings,
    LearnSettings,
    generate,
    prepare_learning,
)
from motionwright.methods.motion_tokens import (  # noqa: E402
    MotionTokenBank,
    apply_strength,
    init_tokens,
    resample_frames,
    route_motion_tokens,
)
from motionwright.models.hooks import record_attention  # noqa: E402
from motionwright.models.loading import Models, load_model  # noqa: E402
from motionwright.progress import CancelToken  # noqa: E402
from motionwright.synthetic import make_moving_objects  # noqa: E402
from tiny_models import TINY_EMBED, TINY_FRAMES, tiny_model  # noqa: E402

F, N, D = TINY_FRAMES, 5, TINY_EMBED


@pytest.fixture(scope="module")
def loaded():
    return load_model("svd", tiny_model("svd"), device="cpu")


@pytest.fixture(scope="module")
def reference():
    return make_moving_objects(6, size=(48, 32), seed=0).frames


@pytest.fixture(scope="module")
def motion(loaded, reference):
    from motionwright.learn import learn_motion

    return learn_motion(reference, Models({"svd": tiny_model("svd")}, device="cpu"), steps=3,
                        seed=1, fps=12)


# --- token routing (§3.4) --------------------------------------------------------------------

def routed_contexts(unet, tokens, context=None):
    """Run the UNet with ``tokens`` routed; return {site: K/V input} and the output."""
    g = torch.Generator().manual_seed(7)
    sample = torch.randn(1, F, 8, 8, 12, generator=g)
    ids = torch.tensor([[6.0, 127.0, 0.02]])
    bank = MotionTokenBank()
    bank.set(tokens[:-1][None], tokens[-1][None])
    if context is None:
        context = torch.zeros(1, 1, D)
    # recorders first, so the routing processors wrap them and they see the routed tokens
    with torch.no_grad(), record_attention(unet, ("spatial-cross", "temporal-cross")) as rec, \
            route_motion_tokens(unet, bank):
        out = unet(sample, torch.tensor([0.4]), encoder_hidden_states=context,
                   added_time_ids=ids).sample
    return {name: r.calls[0].context for name, r in rec.items()}, out


def changed_rows(a, b):
    return (a - b).abs().flatten(1).amax(dim=1).gt(0).nonzero().flatten().tolist()


def test_frame_group_reaches_only_its_frames_spatial_cross_attention(loaded):
    unet = loaded.pipeline.unet
    tokens = torch.randn(F + 1, N, D, generator=torch.Generator().manual_seed(0))
    base, _ = routed_contexts(unet, tokens)
    for frame in range(F):
        bumped = tokens.clone()
        bumped[frame] += 0.5
        other, _ = routed_contexts(unet, bumped)
        for name, ctx in base.items():
            if "temporal_transformer_blocks" in name:
                assert changed_rows(ctx, other[name]) == [], name
            else:
                assert ctx.shape == (F, N, D)
                assert changed_rows(ctx, other[name]) == [frame], name
                torch.testing.assert_close(other[name][frame], bumped[frame])


def test_temporal_group_reaches_only_temporal_cross_attention(loaded):
    unet = loaded.pipeline.unet
    tokens = torch.randn(F + 1, N, D, generator=torch.Generator().manual_seed(1))
    base, _ = routed_contexts(unet, tokens)
    bumped = tokens.clone()
    bumped[-1] -= 0.5
    other, _ = routed_contexts(unet, bumped)
    temporal = [n for n in base if "temporal_transformer_blocks" in n]
    assert len(temporal) == 7
    for name, ctx in base.items():
        rows = changed_rows(ctx, other[name])
        if name in temporal:
            assert rows == list(range(ctx.shape[0]))  # every pixel
            assert torch.equal(other[name][0], bumped[-1])
        else:
            assert rows == []


def test_the_unets_own_context_is_replaced(loaded):
    unet = loaded.pipeline.unet
    tokens = torch.randn(F + 1, N, D, generator=torch.Generator().manual_seed(2))
    _, out_a = routed_contexts(unet, tokens, torch.zeros(1, 1, D))
    _, out_b = routed_contexts(unet, tokens, torch.randn(1, 3, D))
    assert torch.equal(out_a, out_b)


def test_routing_refuses_a_wrong_frame_count(loaded):
    unet = loaded.pipeline.unet
    bank = MotionTokenBank()
    bank.set(torch.zeros(1, F + 1, N, D), torch.zeros(1, N, D))
    with pytest.raises(RuntimeError, match="must run with 5 frames"), \
            route_motion_tokens(unet, bank), torch.no_grad():
        unet(torch.zeros(1, F, 8, 8, 12), torch.tensor([0.1]),
             encoder_hidden_states=torch.zeros(1, 1, D), added_time_ids=torch.zeros(1, 3))
    with pytest.raises(ValueError, match="disagree"):
        bank.set(torch.zeros(2, F, N, D), torch.zeros(1, N, D))


def test_routing_needs_an_svd_like_unet():
    sd = load_model("sd15", tiny_model("sd15"), device="cpu")
    with pytest.raises(ValueError, match="SVD-like UNet"):
        with route_motion_tokens(sd.pipeline.unet, MotionTokenBank()):
            pass


# --- the SVD objective ------------------------------------------------------------------------

def test_preconditioning_matches_diffusers_svd_sampler(loaded):
    scheduler = loaded.pipeline.scheduler
    scheduler.set_timesteps(10)
    sigma = scheduler.sigmas[3]
    c_skip, c_out, c_in, c_noise = svd_edm.preconditioning(sigma)
    x = torch.randn(2, 3)
    model_out = torch.randn(2, 3)
    torch.testing.assert_close(scheduler.scale_model_input(x.clone(), scheduler.timesteps[3]),
                               x * c_in)
    torch.testing.assert_close(c_noise, scheduler.timesteps[3].float())
    # diffusers' v-prediction denoised sample equals EDM's c_skip·x + c_out·F
    expected = model_out * (-sigma / (sigma**2 + 1) ** 0.5) + x / (sigma**2 + 1)
    torch.testing.assert_close(c_skip * x + c_out * model_out, expected.float())
    torch.testing.assert_close(svd_edm.loss_weight(torch.tensor(2.0)), torch.tensor(1.25))


def test_noise_level_distribution():
    sig = svd_edm.sigma_from_uniform(torch.tensor([0.5, 0.8413447]))
    torch.testing.assert_close(sig, torch.tensor([math.exp(0.7), math.exp(0.7 + 1.6)]),
                               rtol=1e-4, atol=1e-4)
    us = [svd_edm.low_discrepancy_uniform(k, 0.3) for k in range(50)]
    counts = np.histogram(us, bins=10, range=(0, 1))[0]
    assert counts.min() >= 4 and counts.max() <= 6  # evenly covered, unlike random draws


def test_time_ids_follow_the_svd_pipeline():
    ids = svd_edm.add_time_ids(8, 127, 0.02, 2)
    assert ids.shape == (2, 3)
    torch.testing.assert_close(ids[0], torch.tensor([7.0, 127.0, 0.02]))


# --- tokens: init, resampling, strength ------------------------------------------------------

def test_init_tokens_from_clip_embeddings():
    emb = torch.randn(F, D, generator=torch.Generator().manual_seed(0))
    tokens = init_tokens(emb, N, generator=torch.Generator().manual_seed(1))
    assert tokens.shape == (F + 1, N, D) and tokens.dtype == torch.float32
    offsets = tokens[:-1] - emb[:, None]
    torch.testing.assert_close(offsets[0], offsets[3])  # slot noise shared across frames
    assert float(offsets.std()) == pytest.approx(0.1 * float(emb.std()), rel=0.3)
    assert not torch.equal(tokens[0, 0], tokens[0, 1])  # tokens of a group differ
    assert float((tokens[-1] - emb[0]).abs().max()) < 1.0  # temporal starts at frame 0


def test_resample_frames_in_time():
    tokens = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)  # F = 4 groups
    assert resample_frames(tokens, 4) is tokens
    up = resample_frames(tokens, 7)
    assert up.shape == (8, 2, 3)
    np.testing.assert_array_equal(up[0], tokens[0])
    np.testing.assert_array_equal(up[6], tokens[3])
    np.testing.assert_allclose(up[1], tokens[0] + (tokens[1] - tokens[0]) * 0.5)
    np.testing.assert_array_equal(up[-1], tokens[-1])  # temporal group kept
    down = resample_frames(tokens, 2)
    np.testing.assert_array_equal(down[:2], tokens[[0, 3]])
    as_torch = resample_frames(torch.from_numpy(tokens), 7)
    np.testing.assert_allclose(as_torch.numpy(), up)
    with pytest.raises(ValueError, match="num_frames"):
        resample_frames(tokens, 0)


def test_strength_blends_with_the_image_embedding():
    tokens = torch.ones(3, 2, 4)
    base = torch.zeros(4)
    assert apply_strength(tokens, base, 1.0) is tokens
    torch.testing.assert_close(apply_strength(tokens, base, 0.5), torch.full((3, 2, 4), 0.5))


# --- learning -------------------------------------------------------------------------------

@pytest.mark.slow
def test_learning_lowers_the_loss_on_a_fixed_batch(loaded, reference):
    # a higher rate than the default, so 30 steps move the tokens of a random tiny model
    # measurably; the batch of noise levels and noise is fixed and never seen in training
    run = prepare_learning(loaded, reference[:F], fps=12,
                           settings=LearnSettings(steps=30, lr=5e-2, seed=0))
    g = torch.Generator().manual_seed(123)
    sigma = torch.tensor([0.2, 0.7, 2.0, 6.0])
    noise = torch.randn((4, *run.latents.shape[1:]), generator=g)
    with run.session(), torch.no_grad():
        before = float(run.loss(run.initial_tokens, sigma, noise))
    tokens, record = run.run()
    with run.session(), torch.no_grad():
        after = float(run.loss(torch.from_numpy(tokens), sigma, noise))
    assert after < before
    assert tokens.shape == (F + 1, N, D)
    assert not np.allclose(tokens, run.initial_tokens.numpy())
    assert record["steps"] == 30 and len(record["loss_curve"]) == 30
    assert record["conditioning"] == {"fps": 12.0, "motion_bucket_id": 127,
                                      "noise_aug_strength": 0.02}


def test_frozen_model_is_untouched(loaded, reference):
    before = {k: v.clone() for k, v in loaded.pipeline.unet.state_dict().items()}
    run = prepare_learning(loaded, reference[:F], fps=12, settings=LearnSettings(steps=2))
    run.run()
    after = loaded.pipeline.unet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(p.requires_grad for p in loaded.pipeline.unet.parameters())


def test_learn_motion_records_everything(motion, loaded):
    assert motion.tokens.shape == (F + 1, N, D)
    assert motion.base_model == loaded.identity
    assert motion.source["frame_range"] == [0, F] and motion.source["fps"] == "12/1"
    assert motion.source["size"] == [48, 32]
    train = motion.training
    assert train["steps"] == 3 and train["lr"] == 0.01 and train["seed"] == 1
    assert len(train["loss_curve"]) == 3 and train["wall_time_s"] > 0
    assert train["size"] == [40, 24] and train["memory_policy"] == "gpu"


def test_learning_reports_progress_and_cancels(loaded, reference):
    from motionwright.learn import learn_motion

    events = []
    token = CancelToken()

    def on_progress(event):
        events.append(event)
        if event.done == 2:
            token.cancel()

    with pytest.raises(Cancelled, match="after 2 of 5"):
        learn_motion(reference, loaded, steps=5, fps=12, progress=on_progress, cancel=token)
    assert [e.done for e in events] == [1, 2] and events[0].total == 5
    assert events[0].eta is not None


@pytest.mark.slow
def test_learning_checkpointed_gives_the_same_tokens(loaded, reference):
    from motionwright.models.memory import MemoryPolicy

    plain = prepare_learning(loaded, reference[:F], fps=12, settings=LearnSettings(steps=2),
                             memory="gpu").run()[0]
    low = prepare_learning(loaded, reference[:F], fps=12, settings=LearnSettings(steps=2),
                           memory=MemoryPolicy("lowvram-cpu", checkpointing="all")).run()[0]
    np.testing.assert_allclose(low, plain, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs,error,text", [
    ({"frame_range": (3, 9)}, FrameRangeError, "0 <= A < B <= 6"),
    ({"frame_range": (2, 3)}, FrameRangeError, "at least 2 frames"),
    ({"steps": 0}, InvalidInputError, "steps"),
    ({"lr": float("nan")}, InvalidInputError, "lr"),
    ({"lr": -1.0}, InvalidInputError, "lr"),
    ({"tokens_per_frame": 0}, InvalidInputError, "tokens_per_frame"),
    ({"size": (0, 10)}, InvalidInputError, "size"),
    ({"model": "sd15"}, InvalidInputError, "needs an svd model"),
])
def test_learn_motion_rejects_bad_input(loaded, reference, kwargs, error, text):
    from motionwright.learn import learn_motion

    model = kwargs.pop("model", loaded)
    with pytest.raises(error, match=text):
        learn_motion(reference, model, fps=12, **kwargs)


def test_reference_must_be_frames(loaded):
    from motionwright.learn import learn_motion

    with pytest.raises(InvalidInputError, match="at least 2 frames"):
        learn_motion(np.zeros((1, 8, 8, 3), np.uint8), loaded)
    with pytest.raises(InvalidInputError, match="reference_clip"):
        learn_motion("not a clip", loaded)
    with pytest.raises(ShapeError, match="uint8"):
        learn_motion(np.zeros((3, 8, 8, 3), np.float32), loaded, steps=1)


# --- applying -------------------------------------------------------------------------------

def test_apply_gives_the_motions_frames_at_the_requested_size(loaded, motion, reference):
    video = generate(loaded, reference[0], motion, ApplySettings(steps=1, size=(44, 30)))
    assert video.shape == (F, 30, 44, 3) and video.dtype == np.uint8
    default = generate(loaded, reference[0], motion, ApplySettings(steps=1))
    assert default.shape == (F, 24, 40, 3)  # the working size for a 3:2 image


def test_apply_resamples_to_another_frame_count(loaded, motion, reference):
    events = []
    video = generate(loaded, reference[0], motion, ApplySettings(steps=3, num_frames=7),
                     progress=events.append)
    assert video.shape[0] == 7
    assert [e.done for e in events] == [1, 2, 3] and events[-1].stage == "applying motion"


def test_apply_is_deterministic_and_uses_the_motion(loaded, motion, reference):
    a = generate(loaded, reference[0], motion, ApplySettings(steps=1, seed=5))
    b = generate(loaded, reference[0], motion, ApplySettings(steps=1, seed=5))
    np.testing.assert_array_equal(a, b)
    from motionwright.types import MotionEmbedding

    other = MotionEmbedding(motion.tokens + 3.0, base_model=motion.base_model)
    c = generate(loaded, reference[0], other, ApplySettings(steps=1, seed=5))
    assert not np.array_equal(a, c)


def test_apply_refuses_an_incompatible_motion(loaded, motion, reference):
    from motionwright.types import MotionEmbedding

    alien = MotionEmbedding(motion.tokens, base_model={**motion.base_model,
                                                       "fingerprint": "0123456789abcdef"})
    with pytest.raises(IncompatibleMotionError) as info:
        generate(loaded, reference[0], alien, ApplySettings(steps=1))
    assert "0123456789abcdef" in str(info.value)
    assert loaded.identity["fingerprint"] in str(info.value)


def test_apply_cancels_between_steps(loaded, motion, reference):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        generate(loaded, reference[0], motion, ApplySettings(steps=3), cancel=token)


def test_apply_settings_are_validated():
    with pytest.raises(InvalidInputError, match="num_frames"):
        ApplySettings(num_frames=1)
    with pytest.raises(InvalidInputError, match="size"):
        ApplySettings(size=(10, -2))
    with pytest.raises(InvalidInputError, match="strength"):
        ApplySettings(strength=float("inf"))
    with pytest.raises(InvalidInputError, match="guidance"):
        ApplySettings(guidance=(3.0, 1.0))


# --- the diffusion backend --------------------------------------------------------------------

@pytest.mark.slow
def test_render_motion_transfer_through_mw_render(motion, reference):
    from fractions import Fraction

    import motionwright as mw

    shot = mw.Clip.from_frames(reference, fps=Fraction(12))
    models = Models({"svd": tiny_model("svd")}, device="cpu")
    out = mw.render(shot, [mw.MotionTransfer(motion)], backend="diffusion", models=models)
    assert len(out) == F and out.fps == Fraction(12) and out[0].shape == (24, 40, 3)


def test_a_shot_at_another_frame_rate_keeps_the_motions_duration(motion, reference):
    from fractions import Fraction

    import motionwright as mw
    from motionwright.methods.backend import frames_for_shot, render_motion_transfer

    assert frames_for_shot(motion, Fraction(12)) == F
    assert frames_for_shot(motion, Fraction(24)) == 2 * F
    assert frames_for_shot(motion, Fraction(30000, 1001)) == round(F * 30000 / 1001 / 12)
    assert frames_for_shot(motion, None) == F
    shot = mw.Clip.from_frames(reference, fps=Fraction(24))
    models = Models({"svd": tiny_model("svd")}, device="cpu")
    out = render_motion_transfer(shot, mw.MotionTransfer(motion), models=models, steps=2)
    assert len(out) == 2 * F and out.fps == Fraction(24)
