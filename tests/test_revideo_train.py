"""ReVideo training on tiny models and a tiny generated data set."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

import motionwright as mw  # noqa: E402
from motionwright.methods.revideo import data as rdata  # noqa: E402


def test_random_box_and_decoupling_composite():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y, w, h = rdata.random_box(rng, (200, 120))
        assert w >= 64 and h >= 64 and x + w <= 200 and y + h <= 120
    v1, v2 = np.full((2, 4, 4, 3), 10, np.uint8), np.full((2, 4, 4, 3), 200, np.uint8)
    m = np.zeros((2, 4, 4), bool)
    m[:, :2] = True
    v = rdata.decoupling_composite(v1, v2, m)
    assert (v[:, :2] == 10).all() and (v[:, 2:] == 200).all()


def _moving_tracker(frames, box, rng):
    x, y, w, h = box
    T = len(frames)
    tracks = np.array([[[x + w / 2 + 2 * t, y + h / 2]] for t in range(T)], np.float32)
    return mw.Trajectory(tracks, np.ones((T, 1), bool))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    from motionwright.synthetic import make_moving_objects

    root = tmp_path_factory.mktemp("revideo-data")
    for i in range(2):
        clip = make_moving_objects(5, (32, 32), seed=i, max_speed=3)
        mw.Clip.from_frames(clip.frames, fps=8).save(root / f"v{i}.mp4")
    return root


def _trainer(videos, out, stage, *, init=None, steps=2, lr=1e-3):
    from motionwright.methods.revideo.data import VideoFolder
    from motionwright.methods.revideo.train import ReVideoTrainer, TrainSettings
    from motionwright.models.loading import load_model
    from tiny_models import tiny_model

    svd = load_model("svd", tiny_model("svd"), device="cpu", dtype="fp32")
    data = VideoFolder(videos, frames=4, size=(32, 32), stage=stage, tracker=_moving_tracker)
    settings = TrainSettings(stage=stage, steps=steps, batch=1, size=(32, 32), frames=4, lr=lr,
                             save_every=1)
    return ReVideoTrainer(svd, data, settings, out, init=init,
                          control_options={"encoder_channels": (8, 16)})


def test_stage_samples(videos):
    for stage in (1, 2, 3):
        data = rdata.VideoFolder(videos, frames=4, size=(128, 96), stage=stage,
                                 tracker=_moving_tracker)
        s = data.sample(0, 0, 0)
        assert s.frames.shape == (4, 96, 128, 3) and s.flow.shape == (4, 2, 96, 128)
        assert s.mask.all() if stage == 1 else s.mask.any()
        assert np.abs(s.flow[1:]).max() > 0
        if stage != 1:
            assert not s.mask.all()
            assert np.abs(s.flow[:, :, ~s.mask[0]]).max() == 0
        again = data.sample(0, 0, 0)
        assert np.array_equal(s.frames, again.frames)


@pytest.mark.slow
def test_stage_one_lowers_loss_and_stage_three_changes_exactly_its_parameters(videos, tmp_path):
    from motionwright.methods.revideo.train import stage_parameters, training_loss

    trainer = _trainer(videos, tmp_path / "s1", 1, steps=3, lr=1e-3)
    trainer.data.sample = lambda seed, step, index: rdata.VideoFolder.sample(
        trainer.data, seed, 0, index)  # the same sample every step
    batch = trainer.encode([trainer.data.sample(0, 0, 0)])
    sigma, noise = trainer.noise_for(batch["x0"], 0)
    from motionwright.methods.revideo.inject import control_residuals

    def loss_now():
        with torch.no_grad(), control_residuals(trainer.unet, trainer.holder):
            return float(training_loss(trainer.unet, trainer.control, trainer.holder, batch,
                                       sigma, noise))

    before = loss_now()
    for _ in range(3):
        trainer.train_step()
    assert loss_now() < before
    final = trainer.save(tmp_path / "s1" / "final")

    init = mw.models.load_model("revideo", final, device="cpu")
    t3 = _trainer(videos, tmp_path / "s3", 3, init=init, steps=1)
    unet_before = {k: v.detach().clone() for k, v in t3.unet.named_parameters()}
    ctl_before = {k: v.detach().clone() for k, v in t3.control.named_parameters()}
    trained = set(stage_parameters(t3.control, t3.unet, 3))
    assert trained and all(("attn1.to_k" in n or "attn1.to_v" in n or ".fusion." in n
                            or n.startswith("control.fusion.")) for n in trained)
    t3.train_step()
    for name, p in t3.unet.named_parameters():
        changed = not torch.equal(p, unet_before[name])
        assert changed == (f"unet.{name}" in trained), name
    for name, p in t3.control.named_parameters():
        changed = not torch.equal(p, ctl_before[name])
        assert changed == (f"control.{name}" in trained), name
    out = t3.save(tmp_path / "s3" / "final")
    assert (out / "unet_temporal_kv.safetensors").is_file()

    # A stage-3 checkpoint renders end to end through the store.
    from motionwright.methods.backend import render_trajectory
    from motionwright.methods.revideo import ReVideoSettings

    frames = np.random.default_rng(1).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    mask = mw.Mask.from_box(8, 8, 12, 12, (32, 32))
    traj = mw.Trajectory(np.array([[[14 + t, 14.0]] for t in range(4)], np.float32),
                         np.ones((4, 1), bool))
    result = render_trajectory(mw.Clip.from_frames(frames, fps=8),
                               [mw.TrajectoryEdit(mask, traj)],
                               models={"svd": t3.loaded.spec.path, "revideo": out},
                               settings=ReVideoSettings(steps=1, size=(32, 32), guidance=(1, 1)))
    assert result.to_array().shape == frames.shape


@pytest.mark.slow
def test_stop_and_resume_equals_uninterrupted(videos, tmp_path):
    whole = _trainer(videos, tmp_path / "a", 1, steps=2)
    whole.run()
    first = _trainer(videos, tmp_path / "b", 1, steps=1)
    first.run()  # stops after step 1 (its final); keep the step-1 state as a checkpoint
    first.save(tmp_path / "b" / "checkpoint-0000001")
    resumed = _trainer(videos, tmp_path / "b", 1, steps=2)
    resumed.run()
    assert resumed.step == 2
    a = dict(whole.control.named_parameters())
    for name, p in resumed.control.named_parameters():
        assert torch.equal(p, a[name]), name


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_later_stages_lower_their_loss(videos, tmp_path, stage):
    from motionwright.methods.revideo.inject import control_residuals
    from motionwright.methods.revideo.train import training_loss

    start = _trainer(videos, tmp_path / "s1", 1, steps=1)
    init = mw.models.load_model("revideo", start.save(tmp_path / "s1" / "final"), device="cpu")
    trainer = _trainer(videos, tmp_path / f"s{stage}", stage, init=init, steps=3, lr=1e-3)
    trainer.data.sample = lambda seed, step, index: rdata.VideoFolder.sample(
        trainer.data, seed, 0, index)
    batch = trainer.encode([trainer.data.sample(0, 0, 0)])
    sigma, noise = trainer.noise_for(batch["x0"], 0)

    def loss_now():
        with torch.no_grad(), control_residuals(trainer.unet, trainer.holder):
            return float(training_loss(trainer.unet, trainer.control, trainer.holder, batch,
                                       sigma, noise))

    before = loss_now()
    for _ in range(3):
        trainer.train_step()
    assert loss_now() < before


@pytest.mark.slow
def test_cli_train_stage_one_writes_a_loadable_control_module(videos, tmp_path):
    from motionwright.cli.main import main
    from tiny_models import tiny_model

    out = tmp_path / "run"
    assert main(["train", "revideo", str(videos), "--stage", "1", "-o", str(out),
                 "--model", str(tiny_model("svd")), "--steps", "1", "--batch", "1",
                 "--size", "32x32", "--frames", "4", "--device", "cpu"]) == 0
    assert (out / "final" / "train_state.json").is_file()
    assert main(["models", "add", "revideo", str(out / "final")]) == 0
    code = main(["train", "revideo", str(videos), "--stage", "2", "-o", str(tmp_path / "r2"),
                 "--model", str(tiny_model("svd")), "--steps", "1", "--device", "cpu"])
    assert code == 2  # stage 2 needs --init
