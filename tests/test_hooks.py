"""The hook layer on diffusers' own models: attention sites, processors, forward hooks,
activation checkpointing."""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.models.hooks import (  # noqa: E402
    FeatureRecorder,
    ProcessorWrapper,
    activation_checkpointing,
    attention_processors,
    attention_sites,
    forward_hooks,
    modules_by_class,
    record_attention,
    record_attention_maps,
)
from motionwright.models.loading import load_model  # noqa: E402
from tiny_models import TINY_EMBED, TINY_FRAMES, tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def svd_unet():
    return load_model("svd", tiny_model("svd"), device="cpu").pipeline.unet


def svd_inputs(frames=TINY_FRAMES, seed=0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(1, frames, 8, 8, 12, generator=g)
    context = torch.randn(1, 1, TINY_EMBED, generator=g)
    ids = torch.tensor([[6.0, 127.0, 0.02]])
    return sample, torch.tensor([0.3]), context, ids


def run_unet(unet, inputs):
    sample, t, context, ids = inputs
    return unet(sample, t, encoder_hidden_states=context, added_time_ids=ids).sample


def count(sites):
    out: dict[str, int] = {}
    for s in sites:
        out[s.kind] = out.get(s.kind, 0) + 1
    return out


def test_svd_sites_are_classified(svd_unet):
    sites = attention_sites(svd_unet)
    # 2 down + 3 up... of the tiny model: 7 transformers, each with 4 attention layers
    assert count(sites) == {"spatial-self": 7, "spatial-cross": 7, "temporal-self": 7,
                            "temporal-cross": 7}
    cross = attention_sites(svd_unet, ("temporal-cross",))
    assert all("temporal_transformer_blocks" in s.name and s.name.endswith("attn2")
               for s in cross)
    assert {s.block for s in sites} == {"down_blocks.0", "down_blocks.1", "mid_block",
                                        "up_blocks.0", "up_blocks.1"}
    assert sites[0].key == sites[0].name + ".processor"


@pytest.mark.parametrize("family,expected", [
    ("sd15", {"spatial-self", "spatial-cross"}),
    ("animatediff", {"spatial-self", "spatial-cross", "temporal-self"}),
    ("zeroscope", {"spatial-self", "spatial-cross", "temporal-self"}),
    ("cogvideox", {"joint-self"}),
])
def test_other_families_sites(family, expected):
    loaded = load_model(family, tiny_model(family), device="cpu")
    assert set(count(attention_sites(loaded.denoiser))) == expected


def test_processors_are_installed_and_restored(svd_unet):
    before = dict(svd_unet.attn_processors)
    with attention_processors(svd_unet, lambda site, cur: ProcessorWrapper(cur),
                              ("spatial-cross",)) as installed:
        assert len(installed) == 7
        now = svd_unet.attn_processors
        assert all(isinstance(now[f"{n}.processor"], ProcessorWrapper) for n in installed)
        others = [k for k in now if k.removesuffix(".processor") not in installed]
        assert all(now[k] is before[k] for k in others)
    assert all(svd_unet.attn_processors[k] is v for k, v in before.items())


def test_processors_are_restored_when_the_block_raises(svd_unet):
    before = dict(svd_unet.attn_processors)
    with pytest.raises(RuntimeError, match="boom"), attention_processors(
            svd_unet, lambda site, cur: ProcessorWrapper(cur)):
        raise RuntimeError("boom")
    assert all(svd_unet.attn_processors[k] is v for k, v in before.items())


def test_wrapper_is_transparent_and_recorder_sees_inputs(svd_unet):
    inputs = svd_inputs()
    with torch.no_grad():
        plain = run_unet(svd_unet, inputs)
        with record_attention(svd_unet, ("spatial-cross", "temporal-self")) as rec:
            wrapped = run_unet(svd_unet, inputs)
    assert torch.equal(plain, wrapped)
    cross = [r for name, r in rec.items() if name.endswith("transformer_blocks.0.attn2")
             and "temporal" not in name]
    first = cross[0].calls[0]
    # the spatial cross-attention receives the context repeated to every frame
    assert first.context.shape == (TINY_FRAMES, 1, TINY_EMBED)
    assert torch.equal(first.context[2], inputs[2][0])
    temporal_self = [r for name, r in rec.items() if "temporal" in name]
    call = temporal_self[0].calls[0]
    assert call.context is not call.hidden and torch.equal(call.context, call.hidden)
    assert call.hidden.shape[1] == TINY_FRAMES  # tokens are the frames of one pixel


def test_forward_hooks_read_and_replace_outputs(svd_unet):
    inputs = svd_inputs()
    with torch.no_grad(), FeatureRecorder(svd_unet, ["up_blocks.1", "mid_block"]) as rec:
        plain = run_unet(svd_unet, inputs)
    assert rec.features["up_blocks.1"].shape[0] == TINY_FRAMES
    assert set(rec.features) == {"up_blocks.1", "mid_block"}

    def zero_mid(name, module, args, kwargs, output):
        return torch.zeros_like(output)

    with torch.no_grad(), forward_hooks(svd_unet, ["mid_block"], zero_mid):
        changed = run_unet(svd_unet, inputs)
    assert not torch.allclose(plain, changed)
    with torch.no_grad():
        assert torch.equal(run_unet(svd_unet, inputs), plain)  # hook removed
    with pytest.raises(KeyError, match=re.escape("no module 'down_blocks.9'")):
        with forward_hooks(svd_unet, ["down_blocks.9"], zero_mid):
            pass


def test_checkpointing_gives_the_same_gradients(svd_unet):
    sample, t, _, ids = svd_inputs(seed=3)
    context = torch.randn(1, 3, TINY_EMBED, requires_grad=True)

    def grad():
        context.grad = None
        out = svd_unet(sample, t, encoder_hidden_states=context, added_time_ids=ids).sample
        out.square().mean().backward()
        return context.grad.clone()

    plain = grad()
    pick = modules_by_class("BasicTransformerBlock", "TemporalBasicTransformerBlock",
                            "SpatioTemporalResBlock", "ResnetBlock2D")
    resblocks = sum(type(m).__name__ == "SpatioTemporalResBlock" for m in svd_unet.modules())
    with activation_checkpointing(svd_unet, pick) as wrapped:
        # 7 spatial + 7 temporal transformer blocks and every residual block; the
        # ResnetBlock2D inside each SpatioTemporalResBlock is not wrapped a second time
        assert wrapped == 7 * 2 + resblocks
        checkpointed = grad()
    torch.testing.assert_close(checkpointed, plain, rtol=1e-5, atol=1e-7)
    assert "forward" not in vars(svd_unet.down_blocks[0].resnets[0])


def test_attention_maps_of_temporal_self_attention(svd_unet):
    inputs = svd_inputs(seed=4)
    with torch.no_grad():
        plain = run_unet(svd_unet, inputs)
        with record_attention_maps(svd_unet, ("temporal-self", "spatial-cross"),
                                   where=lambda s: s.block == "mid_block") as rec:
            recorded = run_unet(svd_unet, inputs)
    assert torch.equal(plain, recorded)
    assert len(rec) == 2 and all("mid_block" in name for name in rec)
    temporal = next(r for n, r in rec.items() if "temporal" in n).maps[0]
    assert temporal.shape[1:] == (TINY_FRAMES, TINY_FRAMES)  # frame-to-frame, per pixel
    torch.testing.assert_close(temporal.sum(-1), torch.ones(temporal.shape[:2]))
    cross = next(r for n, r in rec.items() if "temporal" not in n).maps[0]
    assert cross.shape[0] == TINY_FRAMES and cross.shape[-1] == 1
