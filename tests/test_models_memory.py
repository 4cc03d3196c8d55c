"""Memory policies, VRAM estimates, out-of-memory messages and per-step callbacks."""

from __future__ import annotations

import pytest

from motionwright.errors import Cancelled, InvalidInputError
from motionwright.models.errors import OutOfMemoryError
from motionwright.models.memory import (
    GIB,
    POLICIES,
    MemoryPolicy,
    choose_policy,
    get_policy,
    smaller_policy,
)

ESTIMATES = {"gpu": 40 * GIB, "balanced": 20 * GIB, "lowvram": 11 * GIB}


def test_named_policies_and_validation():
    assert get_policy("GPU") is POLICIES["gpu"]
    assert get_policy(POLICIES["lowvram"]).checkpointing == "all"
    assert smaller_policy(POLICIES["gpu"]).name == "balanced"
    assert smaller_policy(POLICIES["lowvram"]) is None
    with pytest.raises(InvalidInputError, match="memory: expected auto, gpu"):
        get_policy("tiny")
    with pytest.raises(InvalidInputError, match="offload"):
        MemoryPolicy("x", offload="disk")
    with pytest.raises(InvalidInputError, match="attention"):
        MemoryPolicy("x", attention="xformers")
    with pytest.raises(InvalidInputError, match="vae_chunk"):
        MemoryPolicy("x", vae_chunk=0)
    assert POLICIES["gpu"].with_attention("math").attention == "math"


def test_checkpoint_predicates():
    class BasicTransformerBlock:
        pass

    class SpatioTemporalResBlock:
        pass

    assert POLICIES["gpu"].checkpoint_predicate() is None
    balanced = POLICIES["balanced"].checkpoint_predicate()
    low = POLICIES["lowvram"].checkpoint_predicate()
    assert balanced("a", BasicTransformerBlock()) and not balanced("b", SpatioTemporalResBlock())
    assert low("b", SpatioTemporalResBlock())


def test_auto_picks_the_fastest_policy_that_fits():
    assert choose_policy(ESTIMATES, 80 * GIB).name == "gpu"
    assert choose_policy(ESTIMATES, 24 * GIB).name == "balanced"
    assert choose_policy(ESTIMATES, 13 * GIB).name == "lowvram"
    assert choose_policy(ESTIMATES, None).name == "gpu"  # CPU: one device, nothing to offload


def test_nothing_fits_says_what_is_needed():
    with pytest.raises(OutOfMemoryError) as info:
        choose_policy(ESTIMATES, 8 * GIB, what="learning a motion", device="cuda:0")
    text = str(info.value)
    assert "learning a motion needs about 11.0 GiB" in text and "lowvram" in text
    assert "cuda:0 has 8.0 GiB free" in text and "--size" in text


def test_explicit_policy_that_does_not_fit_warns_with_one_that_would():
    with pytest.warns(UserWarning, match="the lowvram policy would fit"):
        policy = choose_policy(ESTIMATES, 14 * GIB, "gpu")
    assert policy.name == "gpu"


# --- with torch -------------------------------------------------------------------------------


def test_oom_is_translated_with_the_policy_to_try():
    torch = pytest.importorskip("torch")
    from motionwright.models.oom import translate_oom

    with pytest.raises(OutOfMemoryError) as info:
        with translate_oom("learning a motion", POLICIES["gpu"], torch.device("cpu")):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert "ran out of memory while learning a motion with the gpu memory policy" in str(
        info.value)
    assert "try --memory balanced" in str(info.value)
    with pytest.raises(OutOfMemoryError, match="smaller --size"):
        with translate_oom("applying", POLICIES["lowvram"], torch.device("cpu")):
            raise RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)")
    with pytest.raises(ValueError, match="unrelated"):
        with translate_oom("x", POLICIES["gpu"], torch.device("cpu")):
            raise ValueError("unrelated")


def test_step_callback_reports_and_cancels():
    from motionwright.models.callbacks import step_callback
    from motionwright.progress import CancelToken, Reporter

    events = []
    token = CancelToken()
    callback = step_callback(Reporter("sampling", 3, events.append, token))
    assert callback(None, 0, 1.0, {"latents": 1}) == {"latents": 1}
    assert events[-1].done == 1 and events[-1].eta is not None
    token.cancel()
    with pytest.raises(Cancelled):
        callback(None, 1, 0.5, {})


@pytest.fixture(scope="module")
def tiny_svd():
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from motionwright.models.loading import load_model
    from tiny_models import tiny_model

    return load_model("svd", tiny_model("svd"), device="cpu").pipeline


def test_learning_estimate_orders_policies(tiny_svd):
    import torch

    from motionwright.models.estimate import estimate_svd_learning

    est = {name: estimate_svd_learning(tiny_svd.unet, tiny_svd.vae, tiny_svd.image_encoder,
                                       frames=4, latent_hw=(16, 16), dtype=torch.float32,
                                       tokens_per_frame=5, policy=name) for name in POLICIES}
    weights = sum(p.numel() for p in tiny_svd.unet.parameters()) * 4
    assert est["gpu"].parts["unet weights"] == weights
    assert est["gpu"].peak_bytes > est["balanced"].peak_bytes > est["lowvram"].peak_bytes > weights
    assert "saved activations" in est["lowvram"].describe()
    more = estimate_svd_learning(tiny_svd.unet, tiny_svd.vae, tiny_svd.image_encoder, frames=8,
                                 latent_hw=(16, 16), dtype=torch.float32, tokens_per_frame=5,
                                 policy="gpu")
    assert more.parts["saved activations"] > 1.8 * est["gpu"].parts["saved activations"]


def test_generation_estimate(tiny_svd):
    import torch

    from motionwright.models.estimate import estimate_svd_generation

    gpu = estimate_svd_generation(tiny_svd.unet, tiny_svd.vae, tiny_svd.image_encoder, frames=4,
                                  latent_hw=(16, 16), dtype=torch.float32, guidance=True,
                                  policy="gpu")
    low = estimate_svd_generation(tiny_svd.unet, tiny_svd.vae, tiny_svd.image_encoder, frames=4,
                                  latent_hw=(16, 16), dtype=torch.float32, guidance=True,
                                  policy="lowvram")
    unguided = estimate_svd_generation(tiny_svd.unet, tiny_svd.vae, tiny_svd.image_encoder,
                                       frames=4, latent_hw=(16, 16), dtype=torch.float32,
                                       guidance=False, policy="gpu")
    assert gpu.peak_bytes > low.peak_bytes > 0
    assert gpu.peak_bytes > unguided.peak_bytes
