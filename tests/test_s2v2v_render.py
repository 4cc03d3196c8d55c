"""S²V2V end to end on tiny random models saved in the real on-disk layout and loaded through
the store: ``mw.render(..., backend="diffusion")``, the ``generate`` command, windows, size,
seed, cancel and the divergence guard. The paper's step counts and sizes are scaled down."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

import motionwright as mw
from motionwright.cli.main import main
from motionwright.errors import Cancelled, InvalidInputError
from motionwright.methods.backend import render_guided, required_families
from motionwright.methods.s2v2v import GuidanceDivergedError, GuidedSettings
from motionwright.progress import CancelToken
from tiny_models import tiny_model
from tiny_s2v2v import moving_square_video

FAST = GuidedSettings(steps=1, size=(16, 16), guidance_weight=1.0, max_guidance_ratio=1e9)


def _box(frames, x0=2.0, step=3.0):
    tracks = np.array([[[x0 + step * i, 3], [x0 + step * i + 6, 9]] for i in range(frames)],
                      np.float32)
    return mw.Trajectory(tracks, np.ones((frames, 2), bool))


def _blank(frames=3, size=(24, 16)):
    return mw.Clip.from_frames(np.zeros((frames, size[1], size[0], 3), np.uint8), fps=12)


@pytest.fixture
def small_paper(monkeypatch):
    """The paper's defaults shrunk: 1 step, 16×16 sampling, 2-frame windows."""
    from motionwright.methods.s2v2v import kinds, settings

    monkeypatch.setattr(settings, "TRAJECTORY_STEPS", 1)
    monkeypatch.setattr(settings, "REFERENCE_STEPS", 1)
    for kind in kinds.NATIVE:
        monkeypatch.setitem(kinds.NATIVE, kind, ((16, 16), kinds.NATIVE[kind][1]))


@pytest.mark.slow
def test_render_box_path_keeps_size_and_rate_and_seed_reproduces(small_paper):
    clip = _blank()
    edit = mw.GuidedGeneration(None, None, "a red ball", box=_box(3))
    models = {"zeroscope": str(tiny_model("zeroscope"))}
    assert required_families([edit], models=models) == ["zeroscope"]
    out = mw.render(clip, [edit], backend="diffusion", models=models)
    assert len(out) == 3 and out.size == (24, 16) and out.fps == clip.fps
    frames = np.stack([out[i] for i in range(3)])
    assert frames.dtype == np.uint8 and frames.std() > 0
    again = render_guided(clip, edit, models=models, settings=FAST)
    other = render_guided(clip, edit, models=models, settings=GuidedSettings(
        steps=1, size=(16, 16), guidance_weight=1.0, max_guidance_ratio=1e9, seed=1))
    first = render_guided(clip, edit, models=models, settings=FAST)
    assert np.array_equal(np.stack(list(again)), np.stack(list(first)))
    assert not np.array_equal(np.stack(list(again)), np.stack(list(other)))


@pytest.mark.slow
def test_reference_points_over_several_windows_on_animatediff(tmp_path):
    ref = moving_square_video(tmp_path / "ref.%03d.png", frames=3)
    clip = mw.Clip.open(ref)
    edit = mw.GuidedGeneration(str(ref), mw.PointSet([[4.5, 6.5]], frame=0), "a dog")
    events = []
    settings = GuidedSettings(steps=1, size=(16, 16), window=2, overlap=1,
                              guidance_weight=1.0, max_guidance_ratio=1e9)
    # lowvram: every block recomputed in the backward pass, chunked feed-forward, VAE per frame
    out = render_guided(clip, edit, models={"animatediff": str(tiny_model("animatediff"))},
                        family="animatediff", settings=settings, memory="lowvram",
                        progress=events.append)
    assert len(out) == 3 and out.size == clip.size
    gen = [e for e in events if e.stage == "generate"]
    # encode + inversion (1 step, 2 windows each) + sampling (1 step)
    assert gen[-1].done == gen[-1].total == 1 + 1 + 1


@pytest.mark.slow
def test_cogvideox_box_path_pads_to_its_frame_count_and_previews():
    clip = _blank(frames=3)
    events = []
    settings = GuidedSettings(steps=2, size=(16, 16), guidance_weight=1.0,
                              max_guidance_ratio=1e9, preview_every=1)
    out = render_guided(clip, mw.GuidedGeneration(None, None, "a kite", box=_box(3)),
                        models={"cogvideox": str(tiny_model("cogvideox"))},
                        family="cogvideox", settings=settings, progress=events.append)
    assert len(out) == 3 and out.size == (24, 16)
    previews = [e.preview for e in events if e.preview is not None]
    assert len(previews) == 2 and previews[0].shape == (16, 16, 3)


@pytest.mark.slow
def test_generate_command_writes_the_video(tmp_path, small_paper):
    out = tmp_path / "gen.%03d.png"
    code = main(["generate", "--prompt", "a ball", "--box", "2,3,6,6@0", "--box", "8,3,6,6@2",
                 "--canvas", "24x16", "--model", str(tiny_model("zeroscope")),
                 "--guidance-weight", "1", "-o", str(out)])
    assert code == 0
    written = mw.Clip.open(out)
    assert len(written) == 3 and written.size == (24, 16)


def test_generate_command_refuses_points_without_a_reference(tmp_path, capsys):
    code = main(["generate", "--prompt", "x", "--box", "1,1,4,4@0", "--box", "5,1,4,4@2",
                 "--points", "3,3@0", "-o", str(tmp_path / "o.mp4")])
    assert code == 2 and "--points" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_generate_estimate_prints_each_policy(capsys):
    code = main(["generate", "--prompt", "x", "--box", "1,1,4,4@0", "--box", "5,1,4,4@2",
                 "--model", str(tiny_model("zeroscope")), "--size", "16x16", "--window", "2",
                 "--estimate"])
    out = capsys.readouterr().out
    assert code == 0 and "2 latent frames at 16x16" in out
    assert all(f"  {name}: about " in out for name in ("gpu", "balanced", "lowvram"))


def test_missing_model_is_reported_before_work(tmp_path, monkeypatch):
    from motionwright.models.errors import ModelNotFoundError
    from motionwright.rendering import check_render

    monkeypatch.delenv("MOTIONWRIGHT_GUIDED_FAMILY", raising=False)
    edit = mw.GuidedGeneration(None, None, "x", box=_box(2))
    with pytest.raises(ModelNotFoundError) as info:
        check_render(_blank(2), [edit], backend="diffusion", models=str(tmp_path / "none"))
    assert info.value.family == "zeroscope"


def test_one_guided_generation_per_call():
    edit = mw.GuidedGeneration(None, None, "x", box=_box(2))
    with pytest.raises(InvalidInputError, match="one GuidedGeneration"):
        required_families([edit, edit])


@pytest.mark.slow
def test_cancel_stops_the_run_and_writes_nothing(tmp_path, small_paper):
    token = CancelToken()

    def progress(event):
        if event.stage == "generate":
            token.cancel()

    with pytest.raises(Cancelled):
        out = render_guided(_blank(), mw.GuidedGeneration(None, None, "x", box=_box(3)),
                            models={"zeroscope": str(tiny_model("zeroscope"))},
                            progress=progress, cancel=token)
        out.save(tmp_path / "never.mp4")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_exploding_guidance_is_stopped_naming_the_weight():
    settings = GuidedSettings(steps=1, size=(16, 16), guidance_weight=1e30)
    with pytest.raises(GuidanceDivergedError, match="guidance-weight"):
        render_guided(_blank(), mw.GuidedGeneration(None, None, "x", box=_box(3)),
                      models={"zeroscope": str(tiny_model("zeroscope"))}, settings=settings)
