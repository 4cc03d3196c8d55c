"""S²V2V's equations on inputs whose answers are known by hand: eq. (2)–(5), the regions of
eq. (4), the window blend and the trajectory noise."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from motionwright.methods.s2v2v import (  # noqa: E402
    GuidanceDivergedError,
    WeightSchedule,
    box_region,
    consistency_loss,
    correlation_patterns,
    guided_noise,
    neighbour_region,
    sparsify_patterns,
    tokens_to_grid,
)
from motionwright.methods.s2v2v.guidance import check_guidance  # noqa: E402
from motionwright.methods.s2v2v.inputs import box_video, trajectory_noise  # noqa: E402
from motionwright.methods.s2v2v.sampler import blend_weights, windows  # noqa: E402


def _one_hot_features(frames=2, h=2, w=3, c=8):
    """Frame 0 cell (0, 0) has feature e0; frame 1 cell (1, 2) has e0 too; every other cell an
    axis orthogonal to e0."""
    f = torch.zeros(frames, h, w, c)
    axis = 1
    for t in range(frames):
        for y in range(h):
            for x in range(w):
                f[t, y, x, axis % c or 1] = 1.0
                axis += 1
    f[0, 0, 0] = 0
    f[0, 0, 0, 0] = 1
    f[1, 1, 2] = 0
    f[1, 1, 2, 0] = 1
    return f


def test_correlation_pattern_is_the_softmax_of_cosine_over_temperature():
    feats = _one_hot_features()
    track = torch.tensor([[[0.0, 0.0]], [[2.0, 1.0]]])  # (F=2, N=1, 2) x, y
    m = correlation_patterns(feats, track, temperature=10.0)
    assert m.shape == (1, 2, 2, 2, 3)
    # From frame 0 to frame 1: cos = 1 at (1, 2), 0 elsewhere (5 cells).
    top = math.exp(0.1) / (math.exp(0.1) + 5)
    rest = 1 / (math.exp(0.1) + 5)
    assert m[0, 0, 1, 1, 2].item() == pytest.approx(top, rel=1e-5)
    assert m[0, 0, 1, 0, 0].item() == pytest.approx(rest, rel=1e-5)
    assert m[0, 0, 1].sum().item() == pytest.approx(1.0, rel=1e-5)
    # Only later frames: i <= f is zero (frame 0 to itself, frame 1 to anything).
    assert m[0, 0, 0].abs().sum().item() == 0 and m[0, 1].abs().sum().item() == 0
    # A lower temperature sharpens the same pattern.
    sharp = correlation_patterns(feats, track, temperature=0.1)
    assert sharp[0, 0, 1, 1, 2].item() == pytest.approx(math.exp(10) / (math.exp(10) + 5),
                                                        rel=1e-5)


def test_point_between_cells_takes_the_bilinear_feature():
    feats = torch.zeros(2, 1, 2, 2)
    feats[0, 0, 0] = torch.tensor([1.0, 0.0])
    feats[0, 0, 1] = torch.tensor([0.0, 1.0])
    feats[1, 0, 0] = torch.tensor([1.0, 1.0])  # 45°: cos = 1 with the midpoint's (.5, .5)
    feats[1, 0, 1] = torch.tensor([1.0, -1.0])  # cos = 0
    m = correlation_patterns(feats, torch.tensor([[[0.5, 0.0]], [[0.0, 0.0]]]),
                             temperature=1.0)
    assert m[0, 0, 1, 0, 0].item() == pytest.approx(math.e / (math.e + 1), rel=1e-5)


def test_tokens_reshape_in_frame_row_column_order():
    tokens = torch.arange(2 * 2 * 3 * 1, dtype=torch.float32).reshape(1, 12, 1)
    grid = tokens_to_grid(tokens, 2, 2, 3)
    assert grid.shape == (1, 2, 2, 3, 1)
    assert grid[0, 1, 0, 2, 0].item() == 1 * 6 + 0 * 3 + 2


def test_neighbour_region_keeps_the_k_nearest_cells():
    track = torch.tensor([[[2.0, 2.0]], [[0.0, 0.0]]])
    r = neighbour_region(track, (5, 5), 5)
    assert r.shape == (1, 2, 5, 5)
    plus = {(2, 2), (1, 2), (3, 2), (2, 1), (2, 3)}
    assert {tuple(map(int, p)) for p in torch.nonzero(r[0, 0]).tolist()} == plus
    assert int(r[0, 1].sum()) == 5 and bool(r[0, 1, 0, 0])
    assert int(neighbour_region(track, (5, 5), 1)[0, 0].sum()) == 1


def test_box_region_is_the_cells_inside_the_box():
    r = box_region(torch.tensor([[1.0, 0.0, 2.0, 1.0], [3.2, 3.2, 3.4, 3.4]]), (4, 4))
    assert r.shape == (1, 2, 4, 4)
    assert {tuple(p) for p in torch.nonzero(r[0, 0]).tolist()} == {(0, 1), (0, 2), (1, 1),
                                                                   (1, 2)}
    # A box smaller than a cell keeps the cell under its centre.
    assert torch.nonzero(r[0, 1]).tolist() == [[3, 3]]


def test_sparsify_zeroes_outside_and_renormalises():
    m = torch.zeros(1, 2, 2, 1, 4)
    m[0, 0, 1, 0] = torch.tensor([0.1, 0.2, 0.3, 0.4])
    region = torch.zeros(1, 2, 1, 4, dtype=torch.bool)
    region[0, 1, 0, 2:] = True
    out = sparsify_patterns(m, region)
    assert out[0, 0, 1, 0].tolist() == pytest.approx([0, 0, 3 / 7, 4 / 7])
    # A frame with nothing left stays zero (no division by zero).
    assert out[0, 0, 0].abs().sum().item() == 0 and torch.isfinite(out).all()


def test_consistency_loss_sums_frame_norms_over_later_frames():
    g = torch.zeros(1, 3, 3, 1, 2)
    cur = g.clone()
    cur[0, 0, 1, 0] = torch.tensor([3.0, 4.0])  # (f=0, i=1): norm 5
    cur[0, 1, 2, 0] = torch.tensor([0.0, 2.0])  # (f=1, i=2): norm 2
    cur[0, 2, 1, 0] = torch.tensor([9.0, 9.0])  # i < f: not a pair of eq. (5)
    assert consistency_loss(cur, g).item() == pytest.approx(7.0, rel=1e-5)
    hidden = torch.tensor([[True, True, False]])  # frame 2 hidden: drops (1, 2)
    assert consistency_loss(cur, g, hidden).item() == pytest.approx(5.0, rel=1e-5)
    # Equal maps: zero loss with a finite gradient.
    x = g.clone().requires_grad_(True)
    consistency_loss(x, g).backward()
    assert torch.isfinite(x.grad).all()


def test_guided_noise_and_weight_schedule():
    eps = torch.ones(1, 4, 2, 2, 2)
    grad = torch.full_like(eps, 0.5)
    assert torch.equal(guided_noise(eps, grad, 4.0), torch.full_like(eps, 3.0))
    s = WeightSchedule()
    assert s.weight == 10000.0 and s.sigma(0, 30) == 10000.0 and s.sigma(29, 30) == 10000.0
    part = WeightSchedule(5.0, guided_steps=2)
    assert [part.sigma(i, 4) for i in range(4)] == [5.0, 5.0, 0.0, 0.0]


def test_guard_names_the_setting_to_lower():
    eps = torch.ones(2, 2)
    with pytest.raises(GuidanceDivergedError, match="guidance_weight"):
        check_guidance(eps, torch.tensor([[float("nan"), 0], [0, 0]]), 10.0, max_ratio=50,
                       step=3)
    with pytest.raises(GuidanceDivergedError, match="noise estimate is not finite"):
        check_guidance(eps * float("inf"), torch.zeros(2, 2), 10.0, max_ratio=50, step=0)
    with pytest.raises(GuidanceDivergedError, match="max_guidance_ratio"):
        check_guidance(eps, torch.ones(2, 2), 1000.0, max_ratio=50, step=1)
    assert check_guidance(eps, torch.ones(2, 2), 2.0, max_ratio=50, step=1) == pytest.approx(2)


def test_windows_cover_the_clip_and_blend_to_one():
    assert windows(5, 8, 2) == [(0, 5)]
    spans = windows(10, 4, 2)
    assert spans[0] == (0, 4) and spans[-1][1] == 10
    total = np.zeros(10)
    for (s, e), w in zip(spans, blend_weights(spans, 10), strict=True):
        total[s:e] += w
    assert np.allclose(total, 1.0)


def test_trajectory_noise_moves_the_box_noise_and_stays_standard():
    boxes = np.array([[1, 1, 4, 4], [5, 1, 8, 4], [9, 1, 12, 4]], np.float32)
    gen = torch.Generator().manual_seed(0)
    z = trajectory_noise((1, 4, 3, 8, 16), boxes, gen)
    again = trajectory_noise((1, 4, 3, 8, 16), boxes, torch.Generator().manual_seed(0))
    assert torch.equal(z, again)
    assert z.std(dim=(1, 3, 4)).flatten().tolist() == pytest.approx([1, 1, 1], abs=1e-4)
    # Without the frequency mix (an infinite cut-off) every frame's box holds frame 0's box
    # noise; outside the boxes the noise is independent.
    kept = trajectory_noise((1, 4, 3, 8, 16), boxes, torch.Generator().manual_seed(0),
                            cutoff=1e6)

    def corr(a, b):
        return torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1].item()

    assert corr(kept[0, :, 0, 1:5, 1:5], kept[0, :, 1, 1:5, 5:9]) == pytest.approx(1, abs=1e-4)
    assert corr(kept[0, :, 0, 1:5, 1:5], kept[0, :, 1, 1:5, 5:9]) > corr(
        kept[0, :, 0, 1:5, 1:5], kept[0, :, 1, 1:5, 9:13]) + 0.5


def test_box_video_draws_the_box_where_it_is():
    v = box_video(np.array([[2, 2, 5, 5], [10, 2, 13, 5]], np.float32), (16, 8))
    assert v.shape == (2, 8, 16, 3)
    assert (v[0, 3, 3] != 128).any() and (v[0, 3, 11] == 128).all()
    assert (v[1, 3, 11] != 128).any() and (v[1, 3, 3] == 128).all()
