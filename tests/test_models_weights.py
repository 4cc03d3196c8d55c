"""Checks with real model weights, run only when ``MOTIONWRIGHT_WEIGHTS_DIR`` is set.

The folder holds one diffusers model per family, named by family (``svd/``, ``sd15/``,
``animatediff/``, ``zeroscope/``, ``cogvideox/``) or by its usual repository name
(``stable-video-diffusion-img2vid/``, ...). Families without a folder are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

WEIGHTS = os.environ.get("MOTIONWRIGHT_WEIGHTS_DIR")

pytestmark = [
    pytest.mark.weights,
    pytest.mark.slow,
    pytest.mark.skipif(not WEIGHTS, reason="needs real weights: set MOTIONWRIGHT_WEIGHTS_DIR to "
                       "a folder of diffusers models (svd/, sd15/, ...)"),
]

NAMES = {
    "svd": ("svd", "stable-video-diffusion-img2vid", "stable-video-diffusion-img2vid-xt"),
    "sd15": ("sd15", "stable-diffusion-v1-5"),
    "animatediff": ("animatediff",),
    "zeroscope": ("zeroscope", "zeroscope_v2_576w"),
    "cogvideox": ("cogvideox", "CogVideoX-2b"),
}


def model_dir(family: str) -> Path:
    for name in NAMES[family]:
        path = Path(WEIGHTS or "") / name
        if path.is_dir():
            return path
    pytest.skip(f"no {family} model in MOTIONWRIGHT_WEIGHTS_DIR ({', '.join(NAMES[family])})")


@pytest.mark.parametrize("family", list(NAMES))
def test_real_model_checks_out(family):
    pytest.importorskip("diffusers")
    from motionwright.models.loading import check_model, model_identity_of
    from motionwright.models.store import ModelSpec

    spec = ModelSpec(family, model_dir(family))
    reports = check_model(spec)
    assert all(r.status == "ok" for r in reports), [r.message for r in reports]
    assert model_identity_of(spec)["embedding_dim"] > 0


def test_real_svd_learns_and_applies_a_short_motion():
    torch = pytest.importorskip("torch")
    from motionwright.learn import learn_motion
    from motionwright.methods.motion_inversion import ApplySettings, generate
    from motionwright.models.loading import load_model
    from motionwright.synthetic import make_moving_objects

    device = "cuda" if torch.cuda.is_available() else "cpu"
    loaded = load_model("svd", model_dir("svd"), device=device)
    assert loaded.identity["embedding_dim"] == 1024
    frames = make_moving_objects(6, size=(256, 128), seed=0).frames
    motion = learn_motion(frames, loaded, steps=2, fps=12, size=(256, 128))
    assert motion.tokens.shape == (7, 5, 1024) and np.isfinite(motion.tokens).all()
    video = generate(loaded, frames[0], motion, ApplySettings(steps=2, size=(256, 128)))
    assert video.shape == (6, 128, 256, 3)
