"""The papers' measures on inputs whose answer is known."""

import cv2
import numpy as np
import pytest

import motionwright as mw
from motionwright.errors import InvalidInputError, ShapeError
from motionwright.metrics import (
    end_point_error,
    flow_matching_loss,
    flow_similarity,
    psnr_unedited,
    temporal_smoothness,
    visibility_accuracy,
    warp_error,
)

W, H = 96, 64


def _texture(seed=0):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (60, 80, 3)).astype(np.float32)
    img = cv2.resize(img, (320, 240), interpolation=cv2.INTER_CUBIC)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def _pan(dx_per_frame, frames=5, seed=0, dy_per_frame=0):
    """A window sliding over a texture: every pixel moves by (-dx, -dy) per frame."""
    tex = _texture(seed)
    out = []
    for t in range(frames):
        x = 100 + round(dx_per_frame * t)
        y = 80 + round(dy_per_frame * t)
        out.append(tex[y:y + H, x:x + W])
    return np.stack(out)


def test_flow_similarity_is_one_for_the_same_motion_and_negative_for_the_opposite():
    a = _pan(2)
    assert flow_similarity(a, a) == pytest.approx(1.0, abs=1e-6)
    assert flow_similarity(a, _pan(2, seed=1)) > 0.95  # other content, same motion
    assert flow_similarity(a, _pan(-2)) < -0.9
    assert flow_similarity(mw.Clip.from_frames(a), mw.Clip.from_frames(a)) == pytest.approx(1.0)


def test_warp_error_is_near_zero_when_the_edit_keeps_the_source_motion():
    src = _pan(3)
    assert warp_error(src, src) < 0.02
    noisy = np.clip(src + np.random.default_rng(0).normal(0, 25, src.shape), 0, 255)
    assert warp_error(src, noisy.astype(np.uint8)) > 0.08
    assert warp_error(src, src, scale=10) == pytest.approx(10 * warp_error(src, src))


def test_flow_matching_loss_is_the_squared_flow_difference():
    a = _pan(2)
    assert flow_matching_loss(a, a) == pytest.approx(0.0, abs=1e-9)
    still = np.stack([a[0]] * 5)
    assert flow_matching_loss(a, still) == pytest.approx(4.0, rel=0.2)  # |(2, 0)|² = 4


def test_temporal_smoothness_is_zero_for_linear_motion_and_positive_for_jitter():
    src = _pan(2)
    assert temporal_smoothness(src, src) < 0.1
    assert temporal_smoothness(_pan(3, seed=2), src) < 0.1  # other content, still linear
    tex = _texture(0)
    # Same horizontal pan, but jumping 3 px up and down every frame.
    zigzag = np.stack([tex[80 + 3 * (t % 2):80 + 3 * (t % 2) + H, 100 + 2 * t:100 + 2 * t + W]
                       for t in range(5)])
    assert temporal_smoothness(zigzag, src) > 1.0


def test_psnr_of_the_unedited_region():
    src = _pan(1, frames=2)
    edited = src.copy()
    mask = np.zeros((H, W), bool)
    mask[10:30, 10:40] = True
    edited[:, mask] = 0  # only the edit region changes
    assert psnr_unedited(src, edited, mask) == float("inf")
    off = edited.astype(np.int16)
    off[:, ~mask] += 10
    off = np.clip(off, 0, 255).astype(np.uint8)
    expected = 10 * np.log10(1 / ((np.abs(off.astype(float) - src)[:, ~mask] / 255) ** 2).mean())
    assert psnr_unedited(src, off, mw.Mask(mask[None])) == pytest.approx(expected)
    with pytest.raises(ShapeError, match="mask"):
        psnr_unedited(src, edited, np.zeros((5, 5), bool))
    with pytest.raises(InvalidInputError, match="every pixel"):
        psnr_unedited(src, edited, np.ones((H, W), bool))


def test_end_point_error_and_visibility_accuracy():
    truth = np.zeros((4, 3, 2), np.float32)
    pred = truth + np.array([3.0, 4.0], np.float32)
    assert end_point_error(pred, truth) == pytest.approx(5.0)
    vis = np.ones((4, 3), bool)
    vis[:, 2] = False
    pred[:, 2] = 100
    assert end_point_error(pred, mw.Trajectory(truth, vis)) == pytest.approx(5.0)
    assert visibility_accuracy(vis, np.ones((4, 3), bool)) == pytest.approx(8 / 12)
    with pytest.raises(ShapeError):
        end_point_error(pred[:, :2], truth)
    with pytest.raises(InvalidInputError, match="visible"):
        end_point_error(pred, truth, visible=np.zeros((4, 3), bool))


def test_bad_videos():
    a = _pan(2)
    with pytest.raises(ShapeError, match="frames"):
        flow_similarity(a, a[:3])
    with pytest.raises(InvalidInputError, match="at least 3"):
        temporal_smoothness(a[:2], a[:2])
    with pytest.raises(ShapeError, match="shape"):
        warp_error(a, a[..., :2])
    with pytest.raises(ShapeError, match="shape"):
        flow_matching_loss(a, np.ascontiguousarray(a[:, :32]))
