"""Point-to-Point end to end on the tiny random AnimateDiff model loaded through the store:
``mw.anchor_tokens``, ``mw.render`` with a PromptEdit, the ``prompt`` command, windows,
seeds, cancel and NaN detection."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

import motionwright as mw  # noqa: E402
from motionwright.errors import Cancelled  # noqa: E402
from motionwright.methods.pointtopoint import prompt_edit  # noqa: E402
from tiny_models import tiny_model  # noqa: E402
from tiny_pointtopoint import fast_settings, moving_frames, tiny_models  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    from tiny_pointtopoint import one_thread

    yield from one_thread()


FAST_CLI = ["--size", "32x32", "--steps", "2", "--finetune-steps", "1", "--device", "cpu",
            "--dtype", "float32"]


@pytest.fixture(scope="module")
def models():
    return tiny_models()


@pytest.fixture(scope="module")
def clip():
    return mw.Clip.from_frames(moving_frames(4, (48, 40)), fps=25)


def test_anchor_tokens_of_a_clip(models, clip):
    found = mw.anchor_tokens(clip, models, settings=fast_settings(max_anchors=None))
    tr = found.trajectories
    assert tr.num_frames == 4 and 1 <= len(found) <= tr.num_points
    pts = tr.tracks[tr.visible]
    assert (pts >= -0.5).all() and (pts[:, 0] <= 47.5).all() and (pts[:, 1] <= 39.5).all()
    assert found.features.shape[:2] == (tr.num_points, 4)
    # FPS with the τ stop: every pair of anchors is at least τ apart (eq. 3)
    from motionwright.methods.pointtopoint import token_distances

    idx = found.indices
    d = token_distances(torch.as_tensor(found.features[idx]), tr.visible[:, idx])
    off = d[~np.eye(len(idx), dtype=bool)]
    assert (off >= found.tau - 1e-6).all()


@pytest.mark.slow
def test_render_with_diffusion_keeps_size_rate_and_reproduces(models, clip, monkeypatch):
    import motionwright.methods.pointtopoint.edit as edit_mod

    monkeypatch.setattr(edit_mod, "PointToPointSettings", lambda: fast_settings())
    events = []
    out = mw.render(clip, [mw.PromptEdit("a bronze robot")], backend="diffusion",
                    models=models, progress=events.append)
    assert len(out) == 4 and out.size == (48, 40) and out.fps == clip.fps
    assert events and events[-1].done == events[-1].total
    again = mw.render(clip, [mw.PromptEdit("a bronze robot")], backend="diffusion",
                      models=models)
    assert np.array_equal(np.stack(list(out)), np.stack(list(again)))


@pytest.mark.slow
def test_a_clip_longer_than_one_window(models):
    long = mw.Clip.from_frames(moving_frames(6, (40, 32)), fps=24)
    record: dict = {}
    out = prompt_edit(long, mw.PromptEdit("a cat"), models, settings=fast_settings(),
                      record=record)
    assert len(out) == 6 and out.size == (40, 32)
    assert [(w["start"], w["stop"]) for w in record["windows"]] == [(0, 4), (2, 6)]
    assert [a.trajectories.start_frame for a in record["anchors"]] == [0, 2]
    assert all(w["matched"] is not None for w in record["windows"])
    assert all(len(w["finetune_losses"]) == 1 for w in record["windows"])


def test_cancel_stops_the_edit(models, clip):
    token = mw.CancelToken()

    def stop_soon(event):
        if event.stage == "point-to-point":
            token.cancel()

    with pytest.raises(Cancelled):
        prompt_edit(clip, mw.PromptEdit("a robot"), models, settings=fast_settings(),
                    progress=stop_soon, cancel=token)


def test_nan_latents_are_reported(models, clip):
    from motionwright.methods.pointtopoint.run import DivergedError
    from motionwright.models.hooks import forward_hooks

    unet = models.get("animatediff").pipeline.unet

    def poison(name, module, args, kwargs, output):
        return output * float("nan")

    with forward_hooks(unet, ["conv_out"], poison), pytest.raises(DivergedError,
                                                                 match="NaN"):
        prompt_edit(clip, mw.PromptEdit("a robot"), models,
                    settings=fast_settings(finetune_steps=0))


@pytest.mark.slow
def test_cli_prompt_writes_video_and_anchors(tmp_path, capsys):
    from motionwright.cli.main import main

    src = tmp_path / "shot.%03d.png"
    mw.Clip.from_frames(moving_frames(4, (48, 40))).save(src, codec="png")
    out = tmp_path / "out.%03d.png"
    anchors = tmp_path / "anchors.json"
    assert main(["prompt", str(src), "a bronze robot", "-o", str(out), "--anchors-out",
                 str(anchors), "--tau", "0.5", "--model", str(tiny_model("animatediff")),
                 *FAST_CLI]) == 0
    result = mw.Clip.open(out)
    assert len(result) == 4 and result.size == (48, 40)
    traj = mw.Trajectory.load(anchors)
    assert traj.num_frames == 4 and traj.num_points >= 1
    printed = capsys.readouterr().out
    assert "anchors of" in printed and "tau 0.5" in printed
    assert json.loads(anchors.read_text())["schema"].startswith("Trajectory.")


def test_cli_anchors_only_and_estimate(tmp_path, capsys):
    from motionwright.cli.main import main

    src = tmp_path / "shot.%03d.png"
    mw.Clip.from_frames(moving_frames(3, (32, 32))).save(src, codec="png")
    anchors = tmp_path / "a.json"
    assert main(["prompt", str(src), "x", "--anchors-out", str(anchors), "--model",
                 str(tiny_model("animatediff")), *FAST_CLI]) == 0
    assert mw.Trajectory.load(anchors).num_frames == 3
    assert not list(tmp_path.glob("out*"))
    assert main(["prompt", str(src), "x", "--estimate", "--model",
                 str(tiny_model("animatediff")), *FAST_CLI]) == 0
    text = capsys.readouterr().out
    assert "gpu:" in text and "lowvram:" in text and "sampling" in text


def test_cli_without_output_is_a_one_line_error(tmp_path, capsys):
    from motionwright.cli.main import main

    src = tmp_path / "shot.%03d.png"
    mw.Clip.from_frames(moving_frames(2, (32, 32))).save(src, codec="png")
    assert main(["prompt", str(src), "x", "--model", str(tiny_model("animatediff")),
                 "--device", "cpu"]) == 2
    assert "--anchors-out" in capsys.readouterr().err


def test_previews_while_sampling(models, clip):
    previews = []

    def keep(event):
        if event.preview is not None:
            previews.append(event.preview)

    prompt_edit(clip, mw.PromptEdit("a robot"), models,
                settings=fast_settings(preview_every=1, finetune_steps=0), progress=keep)
    assert len(previews) == 2  # one per sampling step
    assert previews[0].shape == (32, 32, 3) and previews[0].dtype == np.uint8


def test_user_anchors_are_used_for_the_first_window(models, clip):
    found = mw.anchor_tokens(clip, models, settings=fast_settings())
    mine = found.with_indices(found.indices[:1])
    record: dict = {}
    prompt_edit(clip, mw.PromptEdit("a robot"), models, anchors=mine,
                settings=fast_settings(finetune_steps=0, align_at=0.0), record=record)
    used = record["anchors"][0]
    assert used.indices.tolist() == mine.indices.tolist()
    assert np.allclose(used.anchors.tracks, mine.anchors.tracks, atol=1e-3, equal_nan=True)


def test_estimates_shrink_with_the_lighter_policies(models):
    from motionwright.methods.pointtopoint.policy import estimates

    loaded = models.get("animatediff")
    est = estimates(loaded, (32, 32), 4, fast_settings())
    assert est["gpu"].peak_bytes >= est["balanced"].peak_bytes >= est["lowvram"].peak_bytes
    assert set(est["gpu"].phases) == {"anchor selection", "fine-tuning", "sampling",
                                     "decoding"}


def test_finished_windows_are_kept_and_resumed(models, tmp_path, monkeypatch):
    import motionwright.methods.pointtopoint.edit as edit_mod

    long = mw.Clip.from_frames(moving_frames(6, (40, 32)), fps=24)
    s = fast_settings(finetune_steps=0, steps=1)
    first = prompt_edit(long, mw.PromptEdit("a cat"), models, settings=s,
                        resume_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 2 and len(list(tmp_path.glob("*.anchors"))) == 2

    def must_not_run(*args, **kwargs):
        raise AssertionError("a kept window was edited again")

    monkeypatch.setattr("motionwright.methods.pointtopoint.run.edit_window", must_not_run)
    record: dict = {}
    again = edit_mod.prompt_edit(long, mw.PromptEdit("a cat"), models, settings=s,
                                 resume_dir=tmp_path, record=record)
    assert np.array_equal(np.stack(list(first)), np.stack(list(again)))
    assert all(w["resumed"] for w in record["windows"])


def test_sixteen_bit_clips_are_edited_in_eight_bits_with_a_warning(models):
    from motionwright.errors import FidelityWarning

    deep = mw.Clip.from_frames(moving_frames(2, (32, 32)).astype(np.uint16) * 257, fps=24)
    with pytest.warns(FidelityWarning, match="8 bits"):
        out = prompt_edit(deep, mw.PromptEdit("a robot"), models,
                          settings=fast_settings(finetune_steps=0, steps=1))
    assert len(out) == 2 and out.size == (32, 32)


def test_a_subject_mask_keeps_only_tracks_that_start_on_it(models, clip):
    box = np.zeros((40, 48), bool)
    box[8:28, 4:30] = True  # around the moving square's path on the first frames
    found = mw.anchor_tokens(clip, models, settings=fast_settings(max_anchors=None),
                             mask=mw.Mask(box[None]))
    everything = mw.anchor_tokens(clip, models, settings=fast_settings(max_anchors=None))
    assert 0 < found.trajectories.num_points < everything.trajectories.num_points


def test_auto_picks_the_fastest_policy_that_fits(models, monkeypatch):
    from motionwright.methods.pointtopoint.policy import choose_policy_for, estimates
    from motionwright.models.errors import OutOfMemoryError

    loaded = models.get("animatediff")
    s = fast_settings()
    est = estimates(loaded, (32, 32), 4, s)
    free = int(est["lowvram"].peak_bytes / 0.9) + 1  # only lowvram fits (90 % headroom)
    monkeypatch.setattr("motionwright.models.device.memory_available",
                        lambda device: (free, 2 * free))
    assert choose_policy_for(loaded, (32, 32), 4, "auto", s).name == "lowvram"
    monkeypatch.setattr("motionwright.models.device.memory_available",
                        lambda device: (1000, 2000))
    with pytest.raises(OutOfMemoryError, match="lowvram"):
        choose_policy_for(loaded, (32, 32), 4, "auto", s)


def test_out_of_memory_names_the_next_policy(models, clip, monkeypatch):
    from motionwright.models.errors import OutOfMemoryError

    def oom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("motionwright.methods.pointtopoint.run.edit_window", oom)
    with pytest.raises(OutOfMemoryError, match="--memory balanced"):
        prompt_edit(clip, mw.PromptEdit("a robot"), models, settings=fast_settings(),
                    memory="gpu")
