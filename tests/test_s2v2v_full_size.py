"""S²V2V on the full-size models, built on PyTorch's meta device (shapes only): which layers
the feature hooks reach and the shapes at the paper's frame counts and sizes, fp16 and bf16."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.methods.s2v2v.kinds import as_grid, feature_layers  # noqa: E402
from motionwright.methods.s2v2v.patterns import correlation_patterns  # noqa: E402
from motionwright.models.hooks import FeatureRecorder  # noqa: E402
from tiny_s2v2v import PAPER_SHAPES, full_size_denoiser  # noqa: E402

KINDS = ["zeroscope", "animatediff", "cogvideox"]
# Building three full-size models, even on meta, takes seconds.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models():
    return {kind: full_size_denoiser(kind) for kind in KINDS}


def test_feature_hooks_reach_the_expected_layers(models):
    zs = feature_layers(models["zeroscope"], "zeroscope")
    assert [layer.name for layer in zs] == [f"up_blocks.{b}.temp_attentions.{i}"
                                            for b in (1, 2) for i in range(3)]
    ad = feature_layers(models["animatediff"], "animatediff")
    assert [layer.name for layer in ad] == [f"up_blocks.{b}.motion_modules.{i}"
                                            for b in (1, 2) for i in range(3)]
    cog = feature_layers(models["cogvideox"], "cogvideox")
    # Every second of CogVideoX-2B's 30 blocks, ending with the last.
    assert len(cog) == 15 and cog[-1].name == "transformer_blocks.29"
    assert all(layer.tokens for layer in cog)


def _inputs(kind, model, dtype):
    _, lat_f, h, w = PAPER_SHAPES[kind]
    cfg = model.config
    if kind == "cogvideox":
        x = torch.empty(1, lat_f, cfg.in_channels, h, w, device="meta", dtype=dtype)
        text = torch.empty(1, 226, cfg.text_embed_dim, device="meta", dtype=dtype)
        return lambda: model(hidden_states=x, encoder_hidden_states=text,
                             timestep=torch.ones(1, dtype=torch.long, device="meta"),
                             return_dict=False)[0]
    x = torch.empty(1, cfg.in_channels, lat_f, h, w, device="meta", dtype=dtype)
    rows = lat_f if kind == "animatediff" else 1
    text = torch.empty(rows, 77, cfg.cross_attention_dim, device="meta", dtype=dtype)
    return lambda: model(x, torch.ones(1, device="meta"), encoder_hidden_states=text).sample


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("kind", KINDS)
def test_features_and_patterns_at_the_papers_sizes(models, kind, dtype):
    model = models[kind].to(dtype)
    _, lat_f, h, w = PAPER_SHAPES[kind]
    layers = feature_layers(model, kind)
    patch = 2 if kind == "cogvideox" else 1
    with torch.no_grad(), FeatureRecorder(model, [layer.name for layer in layers]) as rec:
        out = _inputs(kind, model, dtype)()
    assert out.dtype == dtype
    for layer in layers:
        grid = as_grid(rec.features[layer.name], layer, lat_f, (h, w), patch)[0]
        assert grid.shape[0] == lat_f and grid.dtype == dtype
        if kind == "cogvideox":
            assert grid.shape == (13, 30, 45, 1920)
        else:  # decoder blocks 1 and 2: 1/4 and 1/2 of the latent grid
            assert grid.shape[1:3] in ((h // 4, w // 4), (h // 2, w // 2))
    track = torch.zeros(lat_f, 2, 2, device="meta")
    m = correlation_patterns(grid, track)
    assert m.shape == (2, lat_f, lat_f, *grid.shape[1:3])


def test_memory_estimates_shrink_with_the_policy(models):
    from motionwright.methods.s2v2v.policy import estimate_guided, pattern_bytes
    from motionwright.models.memory import ORDER, get_policy

    _, lat_f, h, w = PAPER_SHAPES["zeroscope"]
    extra = pattern_bytes(models["zeroscope"], "zeroscope", frames=lat_f, latent_hw=(h, w),
                          points=4)
    # Six layers: three at 10×18 cells and three at 20×36, 4 points, 24² frame pairs, 4 copies.
    assert extra == 16 * 4 * 24 * 24 * 3 * (10 * 18 + 20 * 36)
    est = {name: estimate_guided(models["zeroscope"], "zeroscope", frames=lat_f,
                                 latent_hw=(h, w), dtype=torch.float16, tokens=77,
                                 policy=get_policy(name), feature_bytes=extra)
           for name in ORDER}
    weights = sum(p.numel() for p in models["zeroscope"].parameters()) * 2
    assert est["gpu"] > est["balanced"] >= est["lowvram"] > weights + extra
