"""Point-to-Point anchors in the editor: found as a job, drawn, dropped and added by clicks."""

from __future__ import annotations

import numpy as np
import pytest

import motionwright as mw
from motionwright.methods.pointtopoint import AnchorTokens


def fake_tokens(frames: int = 12) -> AnchorTokens:
    """Three motion tokens moving right one pixel per frame; tokens 0 and 2 are anchors."""
    starts = np.array([[20.0, 30.0], [50.0, 30.0], [70.0, 40.0]], np.float32)
    tracks = np.stack([starts + np.array([t, 0.0]) for t in range(frames)])
    visible = np.ones((frames, 3), bool)
    visible[5:, 2] = False
    return AnchorTokens(mw.Trajectory(tracks, visible), np.zeros((3, frames, 4)), [0, 2],
                        0.65, (96, 64))


def test_positions_follow_the_playhead_frame(model):
    tool = model.anchor_tool
    assert tool.positions(0) == []
    seen = []
    tool.changed.connect(lambda: seen.append(True))
    tool.set_tokens(fake_tokens())
    assert seen
    assert tool.positions(3) == [(0, 23.0, 30.0), (2, 73.0, 40.0)]
    assert tool.positions(6) == [(0, 26.0, 30.0)]  # token 2 is hidden from frame 5


def test_clicks_drop_and_add_anchors(model):
    model.anchor_tool.set_tokens(fake_tokens())
    model.set_tool("anchors")
    model.set_playhead(0)
    from motionwright_gui.model.tools import ToolController

    tools = ToolController(model)
    tools.press(21.0, 31.0)  # on anchor 0: dropped
    assert model.anchor_tool.tokens.indices.tolist() == [2]
    tools.press(49.0, 29.0)  # near token 1: added
    assert model.anchor_tool.tokens.indices.tolist() == [2, 1]
    assert model.anchor_tool.toggle(0, (69.0, 40.0)) == "dropped"
    assert model.anchor_tool.tokens.indices.tolist() == [1]


def test_toggle_before_finding_is_a_clear_error(model):
    with pytest.raises(mw.errors.InvalidInputError, match="find the anchors"):
        model.anchor_tool.toggle(0, (1.0, 1.0))


def test_find_runs_as_a_job_and_a_new_clip_clears(model, monkeypatch, clip_path):
    calls = []

    def fake_anchor_tokens(clip, models=None, **kw):
        calls.append((len(clip), models))
        return fake_tokens(len(clip))

    monkeypatch.setattr(mw, "anchor_tokens", fake_anchor_tokens)
    model.anchor_tool.models = "tiny"  # a given model skips the store lookup
    job = model.anchor_tool.find()
    assert model.jobs.wait(30) and job.state == "done", job.error
    assert calls == [(12, "tiny")]
    assert model.anchor_tool.tokens.indices.tolist() == [0, 2]
    model.open(clip_path)
    assert model.anchor_tool.tokens is None


def test_window_offers_the_anchor_actions_and_draws(window, qtbot):
    assert "find_anchors" in window.actions_by_name
    assert "render_anchors" in window.actions_by_name
    assert "anchors" in window.tool_actions
    window.model.anchor_tool.set_tokens(fake_tokens())
    window.viewer.repaint()  # drawing the anchors must not fail


def test_a_missing_model_is_explained_against_animatediff(window, monkeypatch, tmp_path):
    monkeypatch.setenv("MOTIONWRIGHT_CONFIG_DIR", str(tmp_path / "no-config"))
    monkeypatch.delenv("MOTIONWRIGHT_MODEL_ANIMATEDIFF", raising=False)
    monkeypatch.delenv("MOTIONWRIGHT_MODELS", raising=False)
    reports = []
    monkeypatch.setattr(window, "report", lambda text, *a, **k: reports.append(text))
    window.actions_by_name["find_anchors"].trigger()
    assert reports and "animatediff" in reports[-1] and "svd" not in reports[-1]
