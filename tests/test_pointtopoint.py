"""Point-to-Point: each equation on inputs with a known answer, the anchor tokens file, the
injection, and the full-size AnimateDiff wiring on the meta device."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.errors import (  # noqa: E402
    CorruptFileError,
    InvalidInputError,
    SchemaVersionError,
    ShapeError,
)
from motionwright.methods.pointtopoint import (  # noqa: E402
    AnchorTokens,
    PointToPointSettings,
    match_anchor_tokens,
    normalise_features,
    sample_motion_tokens,
    select_anchor_tokens,
    token_distances,
)
from motionwright.methods.pointtopoint.frames import (  # noqa: E402
    blend_windows,
    map_points,
    windows,
    working_size,
)
from motionwright.methods.pointtopoint.injection import (  # noqa: E402
    Injection,
    injecting,
    make_injector,
    splat,
)
from motionwright.types import Trajectory  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    from tiny_pointtopoint import one_thread

    yield from one_thread()


# --- eq. (6): normalisation ------------------------------------------------------------------


def test_normalise_subtracts_the_mean_over_frames():
    base = torch.randn(1, 3, 2, 2)
    delta = torch.randn(1, 3, 2, 2)
    feats = torch.cat([base + t * delta for t in range(5)])  # mean is base + 2·delta
    out = normalise_features(feats)
    for t in range(5):
        assert torch.allclose(out[t], (t - 2) * delta[0], atol=1e-5)
    arr = normalise_features(feats.numpy())
    assert np.allclose(arr, out.numpy(), atol=1e-6)
    with pytest.raises(ShapeError, match="features"):
        normalise_features(torch.zeros(3, 2, 2))


# --- eq. (2): motion tokens -------------------------------------------------------------------


def test_tokens_are_bilinear_samples_along_the_track_and_zero_where_hidden():
    h, w = 5, 6
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    frame = torch.stack([xs, ys])  # channel 0 = x, channel 1 = y
    feats = torch.stack([frame, frame * 2])  # frame 1 doubles the values
    tracks = np.array([[[1.5, 2.25], [0, 0]], [[3.0, 1.0], [4, 4]]], np.float32)
    visible = np.array([[True, True], [True, False]])
    tok = sample_motion_tokens(feats, tracks, visible)
    assert tok.shape == (2, 2, 2)
    assert torch.allclose(tok[0, 0], torch.tensor([1.5, 2.25]))
    assert torch.allclose(tok[0, 1], torch.tensor([6.0, 2.0]))
    assert torch.allclose(tok[1, 0], torch.tensor([0.0, 0.0]))
    assert torch.equal(tok[1, 1], torch.zeros(2))  # hidden
    with pytest.raises(ShapeError, match="tracks"):
        sample_motion_tokens(feats, tracks[:1], visible[:1])


# --- eq. (3): distances -----------------------------------------------------------------------


def test_distances_of_same_opposite_and_unrelated_tokens():
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    tokens = torch.stack([
        torch.stack([e0, e1]),        # 0
        torch.stack([3 * e0, 2 * e1]),  # 1: same directions, other lengths
        torch.stack([-e0, -e1]),      # 2: opposite
        torch.stack([e1, e0]),        # 3: orthogonal on both frames
    ])
    vis = np.ones((2, 4), bool)
    d = token_distances(tokens, vis)
    assert d.shape == (4, 4) and d.dtype == np.float64
    assert d[0, 1] == pytest.approx(0.0, abs=1e-6)
    assert d[0, 2] == pytest.approx(2.0, abs=1e-6)
    assert d[0, 3] == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(d, d.T)


def test_distances_average_only_shared_frames():
    a = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    b = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]])  # agrees on frame 0, opposes on frame 1
    both = np.ones((2, 1), bool)
    assert token_distances(a, both, b, both)[0, 0] == pytest.approx(1.0)
    only_first = np.array([[True], [False]])
    assert token_distances(a, both, b, only_first)[0, 0] == pytest.approx(0.0, abs=1e-6)
    never = (np.array([[True], [False]]), np.array([[False], [True]]))
    assert token_distances(a, never[0], b, never[1])[0, 0] == pytest.approx(1.0)


# --- eq. (4): farthest point sampling with the τ stop ----------------------------------------


def _line(xs):
    x = np.asarray(xs, float)
    return np.abs(x[:, None] - x[None, :])


def test_fps_on_a_line_stops_below_tau():
    d = _line([0.0, 0.1, 0.5, 1.0, 1.05])
    # seed: largest total distance (index 0); then 4 (1.05), then 2 (0.5); the next best is
    # index 1 at 0.1 < 0.3, redundant: stop.
    assert select_anchor_tokens(d, tau=0.3).tolist() == [0, 4, 2]
    assert select_anchor_tokens(d, tau=0.3, max_tokens=2).tolist() == [0, 4]
    assert select_anchor_tokens(d, tau=0.0).tolist() == [0, 4, 2, 1, 3]
    assert select_anchor_tokens(d, tau=2.0).tolist() == [0]
    assert select_anchor_tokens(d, tau=0.3, start=3).tolist() == [3, 0, 2]


def test_fps_default_tau_is_the_papers():
    import inspect

    assert inspect.signature(select_anchor_tokens).parameters["tau"].default == 0.65
    assert PointToPointSettings().tau == 0.65
    # three clusters 1 apart: 0.65 keeps one token per cluster
    d = _line([0.0, 0.05, 1.0, 1.02, 2.0, 2.1])
    assert sorted(select_anchor_tokens(d).tolist()) in ([0, 2, 5], [0, 3, 5], [1, 2, 5],
                                                         [1, 3, 5], [0, 2, 4], [0, 3, 4],
                                                         [1, 2, 4], [1, 3, 4])
    assert len(select_anchor_tokens(d)) == 3


def test_fps_refuses_bad_input():
    with pytest.raises(ShapeError, match="distances"):
        select_anchor_tokens(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="NaN"):
        select_anchor_tokens(np.full((2, 2), np.nan))
    with pytest.raises(InvalidInputError, match="tau"):
        select_anchor_tokens(np.zeros((2, 2)), tau=-1)
    with pytest.raises(InvalidInputError, match="start"):
        select_anchor_tokens(np.zeros((2, 2)), start=5)


# --- eq. (5): anchor alignment ------------------------------------------------------------------


def test_each_anchor_matches_its_most_similar_target_token():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(6, 3, 8, generator=g)
    vis = np.ones((3, 6), bool)
    perm = [4, 0, 2]
    anchors = target[perm] * 5.0 + 0.01 * torch.randn(3, 3, 8, generator=g)
    assert match_anchor_tokens(anchors, vis[:, :3], target, vis).tolist() == perm


# --- injection --------------------------------------------------------------------------------


def test_splat_is_bilinear_and_only_at_the_anchor():
    values = torch.tensor([[[2.0], [4.0]]])  # 1 anchor, 2 frames, 1 channel
    tracks = np.array([[[1.5, 2.0]], [[0.0, 0.0]]], np.float32)
    vis = np.array([[True], [False]])
    out = splat(values, tracks, vis, (4, 4), (4, 4))
    assert out.shape == (2, 1, 4, 4)
    assert out[0, 0, 2, 1] == pytest.approx(1.0) and out[0, 0, 2, 2] == pytest.approx(1.0)
    assert out[0].sum() == pytest.approx(2.0)
    assert torch.count_nonzero(out[0]) == 2
    assert torch.count_nonzero(out[1]) == 0  # hidden: nothing
    # latent cell (1.5, 2) is (0.5, 0.75) at half size: x splits ½–½, y ¼–¾
    half = splat(values, tracks, vis, (4, 4), (2, 2))
    assert half[0, 0, 1, 0] == pytest.approx(0.75) and half[0, 0, 0, 1] == pytest.approx(0.25)
    assert half[0].sum() == pytest.approx(2.0)


@pytest.fixture(scope="module")
def tiny_unet():
    """The tiny AnimateDiff UNet, built and loaded through the store once for this module."""
    from tiny_pointtopoint import tiny_models

    return tiny_models().get("animatediff").pipeline.unet


def test_injection_changes_encoder_features_only_at_anchor_locations(tiny_unet):
    from motionwright.models.hooks import FeatureRecorder

    unet = tiny_unet
    inj = make_injector(unet, 5, hidden=4)
    frames, hw = 2, (8, 8)
    tokens = torch.randn(1, frames, 5)
    tracks = np.array([[[2.0, 3.0]], [[5.0, 1.0]]], np.float32)
    injection = Injection(inj, tokens, tracks, np.ones((frames, 1), bool), hw)
    x = torch.randn(frames, 4, *hw)
    cond = torch.randn(1, 16, 32)
    from motionwright.methods.pointtopoint.features import video_unet

    with torch.no_grad():
        plain = video_unet(unet, x, 10, cond)
        with injecting(unet, injection):
            zero_init = video_unet(unet, x, 10, cond)
    assert torch.equal(plain, zero_init)  # zero-initialised last layer: no change yet
    for mlp in inj.mlps:
        torch.nn.init.normal_(mlp[2].weight)
    injection.project()
    with torch.no_grad():
        with FeatureRecorder(unet, ["down_blocks.0"]) as before:
            video_unet(unet, x, 10, cond)
        with injecting(unet, injection), FeatureRecorder(unet, ["down_blocks.0"]) as after:
            changed = video_unet(unet, x, 10, cond)
    assert not torch.equal(plain, changed)
    diff = (after.features["down_blocks.0"] - before.features["down_blocks.0"]).abs().sum(1)
    level_hw = tuple(diff.shape[-2:])
    where = splat(torch.ones(1, frames, 1), tracks, np.ones((frames, 1), bool), hw,
                  level_hw)[:, 0] > 0
    assert diff[where].min() > 0
    assert torch.count_nonzero(diff[~where]) == 0


# --- frames and windows -----------------------------------------------------------------------


def test_working_sizes_and_windows():
    assert working_size((1920, 1080), 8) == (768, 448)
    assert working_size((1080, 1920), 8) == (448, 768)
    assert working_size((640, 480), 8) == (512, 512)
    assert working_size((640, 480), 8, (101, 60)) == (104, 64)
    assert windows(10, 16, 4) == [(0, 10)]
    assert windows(20, 16, 4) == [(0, 16), (4, 20)]
    assert windows(6, 4, 1) == [(0, 4), (2, 6)]
    pts = map_points(np.array([[0.0, 0.0], [31.0, 15.0]]), (32, 16), (64, 32))
    assert np.allclose(pts, [[0.5, 0.5], [62.5, 30.5]])


def test_blend_windows_crossfades_the_overlap():
    a = np.full((4, 2, 2, 3), 100, np.uint8)
    b = np.full((4, 2, 2, 3), 200, np.uint8)
    out = blend_windows([(0, a), (2, b)], 6)
    assert out[0, 0, 0, 0] == 100 and out[5, 0, 0, 0] == 200
    assert 100 < out[2, 0, 0, 0] < out[3, 0, 0, 0] < 200  # ramps from one to the other


# --- AnchorTokens ------------------------------------------------------------------------------


def _tokens(n=5, t=3, c=4):
    rng = np.random.default_rng(0)
    tracks = rng.random((t, n, 2)).astype(np.float32) * 30
    vis = np.ones((t, n), bool)
    vis[0, 1] = False
    tracks[0, 1] = np.nan
    return AnchorTokens(Trajectory(tracks, vis, 2), rng.random((n, t, c)), [3, 0], 0.65,
                        (32, 32), {"family": "animatediff"})


def test_anchor_tokens_round_trip(tmp_path):
    a = _tokens()
    path = tmp_path / "clip.anchors"
    a.save(path)
    b = AnchorTokens.load(path)
    assert b.trajectories == a.trajectories and b.trajectories.start_frame == 2
    assert np.array_equal(b.features, a.features) and b.indices.tolist() == [3, 0]
    assert b.tau == 0.65 and b.size == (32, 32) and b.base_model == {"family": "animatediff"}
    assert b.anchors.num_points == 2 and b.anchors.ids.tolist() == [3, 0]
    assert list(tmp_path.iterdir()) == [path]  # atomic: no temp file left


def test_anchor_tokens_editing_and_errors(tmp_path):
    a = _tokens()
    assert a.with_indices([1, 2, 4]).indices.tolist() == [1, 2, 4]
    xy = a.trajectories.tracks[1, 4]
    assert a.nearest(3, tuple(xy)) == 4
    with pytest.raises(InvalidInputError, match="indices"):
        a.with_indices([9])
    with pytest.raises(InvalidInputError, match="indices"):
        a.with_indices([1, 1])
    bad = tmp_path / "bad.anchors"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(CorruptFileError, match=r"bad\.anchors"):
        AnchorTokens.load(bad)
    import safetensors.numpy

    newer = tmp_path / "newer.anchors"
    newer.write_bytes(safetensors.numpy.save(
        {"tracks": np.zeros((1, 1, 2), np.float32)},
        metadata={"schema": "AnchorTokens.9", "motionwright": "{}"}))
    with pytest.raises(SchemaVersionError):
        AnchorTokens.load(newer)


def test_merged_anchor_track_places_each_window():
    from motionwright.methods.pointtopoint.anchors import merged_anchor_track

    a = _tokens()
    merged = merged_anchor_track([a, a.with_indices([4])], 6)
    assert merged.num_frames == 6 and merged.num_points == 3
    assert not merged.visible[:2].any() and not merged.visible[5].any()
    assert np.array_equal(merged.tracks[2:5, 0], a.trajectories.tracks[:, 3])


# --- full-size AnimateDiff on the meta device -------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_full_size_wiring_on_meta(dtype):
    from motionwright.methods.pointtopoint.features import decoder_block_name, video_unet
    from motionwright.models.hooks import FeatureRecorder
    from tiny_pointtopoint import full_size_unet

    dt = getattr(torch, dtype)
    unet = full_size_unet(dt)
    inj = make_injector(unet, 1280).to(device="meta")
    assert inj.channels == (320, 640, 1280, 1280)
    frames, hw = 16, (64, 64)  # 16 frames at 512×512
    tracks = np.full((frames, 3, 2), 10.0, np.float32)
    injection = Injection(inj, torch.zeros(3, frames, 1280, device="meta"), tracks,
                          np.ones((frames, 3), bool), hw, 0.5)
    calls = []

    def counting(name, *rest):
        calls.append(name)

    from motionwright.models.hooks import forward_hooks

    x = torch.zeros(frames, 4, *hw, device="meta", dtype=dt)
    cond = torch.zeros(2, 77, 768, device="meta", dtype=dt)
    block = decoder_block_name(unet, 1)
    with torch.no_grad(), injecting(unet, injection), FeatureRecorder(unet, [block]) as rec, \
            forward_hooks(unet, [f"down_blocks.{i}" for i in range(4)], counting):
        out = video_unet(unet, x, 261, cond)
    assert out.shape == (2 * frames, 4, 64, 64) and out.dtype == dt
    assert len(calls) == 4  # the injection sits on all four encoder levels
    assert tuple(rec.features[block].shape) == (2 * frames, 1280, 32, 32)
