"""A render or learning job that cannot run fails before it is queued, naming the model it needs."""

from __future__ import annotations

import numpy as np
import pytest

import motionwright as mw
from motionwright.models import ModelNotFoundError
from motionwright_gui.model.explain import explain


def add_transfer(model):
    tokens = np.zeros((3, 2, 16), np.float32)
    motion = mw.MotionEmbedding(tokens, base_model={"family": "svd", "embedding_dim": 16,
                                                    "fingerprint": "0"})
    model.add_edit(mw.MotionTransfer(motion))


@pytest.mark.parametrize(("add", "family"), [
    (lambda m: m.add_drag_pair((10, 10), (14, 12)), "sd15"),
    (add_transfer, "svd"),
])
def test_diffusion_render_without_model_fails_at_once_naming_family(model, add, family):
    add(model)
    with pytest.raises(ModelNotFoundError) as info:
        model.render("diffusion")
    assert model.jobs.jobs == []
    why = explain(info.value)  # the default family must not win over the error's own
    assert why.title == f"No {family} model is configured"
    assert why.command == f"motionwright models add {family} /path/to/{family}-model"
    assert f"models add {family}" in why.detail


def test_learning_without_model_fails_at_once(model):
    with pytest.raises(ModelNotFoundError, match="no svd model configured"):
        model.learn_motion()
    assert model.jobs.jobs == []


def test_failure_inside_a_job_is_explained_against_the_edits_family(model, monkeypatch):
    from motionwright_gui.model import background

    model.add_drag_pair((10, 10), (14, 12))
    monkeypatch.setattr("motionwright.rendering.check_render", lambda *a, **k: None)
    job = background.render(model, "diffusion")
    assert job.family == "sd15"
    model.jobs.wait(30)
    assert job.state == "failed" and "sd15" in job.error.text()
