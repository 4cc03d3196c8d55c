"""S²V2V's measures: box mIoU on hand-computed boxes, the generated object's boxes found by
tracking, and the CLIP measures' code path on a tiny random CLIP (real weights: gated)."""

import os

import numpy as np
import pytest

import motionwright as mw
from motionwright.metrics import (
    box_miou,
    clip_box_similarity,
    clip_temporal_consistency,
    clip_text_alignment,
    generated_boxes,
)
from motionwright.models.errors import ModelNotFoundError


def test_box_miou_known_values():
    truth = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    pred = np.array([[0, 0, 10, 10], [5, 0, 15, 10]])  # IoU 1 and 50/150
    assert box_miou(pred, truth) == pytest.approx((1 + 1 / 3) / 2)
    assert box_miou(np.array([[20, 20, 30, 30]]), np.array([[0, 0, 10, 10]])) == 0.0


def test_generated_boxes_follow_a_moving_object():
    frames = np.zeros((5, 48, 64, 3), np.uint8)
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
    truth = []
    for i in range(5):
        x = 6 + 4 * i
        frames[i, 10:22, x:x + 12] = tex
        truth.append([x, 10, x + 12, 22])
    boxes = generated_boxes(mw.Clip.from_frames(frames, fps=8), truth[0])
    assert boxes.shape == (5, 4)
    assert box_miou(boxes, truth) > 0.7


def test_clip_metrics_without_a_model_say_how_to_add_one(monkeypatch):
    monkeypatch.delenv("MOTIONWRIGHT_MODEL_CLIP", raising=False)
    with pytest.raises(ModelNotFoundError, match="MOTIONWRIGHT_MODEL_CLIP"):
        clip_text_alignment(np.zeros((2, 8, 8, 3), np.uint8), "a cat")


def test_clip_metrics_code_path_on_a_tiny_clip(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_s2v2v import make_tiny_clip

    folder = make_tiny_clip(tmp_path / "clip")
    still = np.repeat(np.random.default_rng(1).integers(0, 255, (1, 24, 24, 3), np.uint8), 3, 0)
    assert clip_temporal_consistency(still, clip_model=folder) == pytest.approx(100, abs=1e-3)
    ta = clip_text_alignment(still, "a cat", clip_model=folder)
    assert -100 <= ta <= 100
    boxes = np.array([[2, 2, 12, 12]] * 3)
    assert clip_box_similarity(still, boxes, clip_model=folder) == pytest.approx(1, abs=1e-5)


@pytest.mark.weights
def test_clip_text_alignment_prefers_the_matching_prompt():
    folder = os.path.join(os.environ.get("MOTIONWRIGHT_WEIGHTS_DIR", ""), "clip")
    if not os.path.isdir(folder):
        pytest.skip("no CLIP model under MOTIONWRIGHT_WEIGHTS_DIR/clip")
    red = np.zeros((2, 64, 64, 3), np.uint8)
    red[..., 0] = 230
    assert (clip_text_alignment(red, "a red square", clip_model=folder)
            > clip_text_alignment(red, "a photo of a dog", clip_model=folder))
