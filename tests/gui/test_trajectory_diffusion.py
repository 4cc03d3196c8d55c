"""The editor's trajectory pen reaches the diffusion backend (ReVideo on SVD)."""

from __future__ import annotations

import pytest

from motionwright.models import ModelNotFoundError


def test_trajectory_render_on_diffusion_names_the_missing_models(model, monkeypatch):
    pytest.importorskip("diffusers")
    from tiny_models import tiny_model

    model.add_trajectory([[40.0, 30.0], [60.0, 34.0]])
    with pytest.raises(ModelNotFoundError, match="svd"):
        model.render("diffusion")
    monkeypatch.setenv("MOTIONWRIGHT_MODEL_SVD", str(tiny_model("svd")))
    with pytest.raises(ModelNotFoundError, match="models add revideo"):
        model.render("diffusion")
    assert model.jobs.jobs == []
