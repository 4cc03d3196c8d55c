"""Point-to-Point with real AnimateDiff weights, run only when ``MOTIONWRIGHT_WEIGHTS_DIR``
holds an ``animatediff/`` pipeline folder (see ``test_models_weights.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

WEIGHTS = os.environ.get("MOTIONWRIGHT_WEIGHTS_DIR")
pytestmark = [
    pytest.mark.weights,
    pytest.mark.slow,
    pytest.mark.skipif(not WEIGHTS, reason="needs real weights: set MOTIONWRIGHT_WEIGHTS_DIR"),
]


def _model() -> Path:
    path = Path(WEIGHTS or "") / "animatediff"
    if not path.is_dir():
        pytest.skip("no animatediff/ folder in MOTIONWRIGHT_WEIGHTS_DIR")
    return path


def test_real_anchors_are_sparse_and_on_the_moving_object():
    pytest.importorskip("torch")
    import motionwright as mw
    from motionwright.methods.pointtopoint import PointToPointSettings
    from motionwright.synthetic import make_moving_objects

    scene = make_moving_objects(16, (512, 512), seed=3, num_objects=1, max_speed=6)
    clip = mw.Clip.from_frames(scene.frames, fps=8)
    found = mw.anchor_tokens(clip, {"animatediff": str(_model())},
                             settings=PointToPointSettings())
    # The paper's anchors are a handful of tracks, not a dense grid.
    assert 1 <= len(found) <= 64 < found.trajectories.num_points
    assert np.isfinite(found.features).all()


def test_real_edit_keeps_the_motion():
    pytest.importorskip("torch")
    import motionwright as mw
    from motionwright.methods.pointtopoint import PointToPointSettings, prompt_edit
    from motionwright.metrics import flow_similarity
    from motionwright.synthetic import make_moving_objects

    scene = make_moving_objects(16, (512, 512), seed=3, num_objects=1, max_speed=6)
    clip = mw.Clip.from_frames(scene.frames, fps=8)
    out = prompt_edit(clip, mw.PromptEdit("a red ball on a wooden table"),
                      {"animatediff": str(_model())}, settings=PointToPointSettings())
    assert len(out) == 16 and out.size == (512, 512)
    assert flow_similarity(clip, out) > 0.3
