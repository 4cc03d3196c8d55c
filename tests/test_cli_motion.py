"""``motionwright models`` and ``motionwright motion`` end to end on tiny models."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.cli import main as cli_main  # noqa: E402
from tiny_models import TINY_FRAMES, make_svd, tiny_model  # noqa: E402


@pytest.fixture(autouse=True)
def only_model_commands(monkeypatch):
    """Only the commands under test, whatever else the CLI grows meanwhile."""
    monkeypatch.setattr(cli_main, "COMMANDS", ["motion", "models"])


def run(capsys, *argv):
    status = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory):
    from motionwright import Clip
    from motionwright.synthetic import make_moving_objects

    folder = tmp_path_factory.mktemp("ref")
    frames = make_moving_objects(6, size=(48, 32), seed=2).frames
    Clip.from_frames(frames, fps=Fraction(12)).save(folder / "walk.%04d.png", codec="png")
    return folder / "walk.%04d.png"


@pytest.fixture(scope="module")
def learned(tmp_path_factory, reference_dir):
    out = tmp_path_factory.mktemp("motions") / "walk.motion"
    status = cli_main.main(["motion", "learn", str(reference_dir), "-o", str(out), "--model",
                            str(tiny_model("svd")), "--steps", "3", "--device", "cpu",
                            "--seed", "4"])
    assert status == 0
    return out


# --- models ----------------------------------------------------------------------------------

def test_models_add_list_check_remove(capsys):
    svd = tiny_model("svd")
    status, out, _ = run(capsys, "models", "add", "svd", str(svd))
    assert status == 0 and "StableVideoDiffusionPipeline" in out and "config.toml" in out
    status, out, _ = run(capsys, "models", "list", "--json")
    rows = {r["family"]: r for r in json.loads(out)["models"]}
    assert rows["svd"]["status"] == "ok" and rows["svd"]["path"] == str(svd.resolve())
    assert rows["sd15"]["status"] == "not configured"
    status, out, _ = run(capsys, "models", "list")
    assert "not configured  (motionwright models add sd15 PATH)" in out
    status, out, _ = run(capsys, "models", "check")
    assert status == 0
    assert "unet" in out and "UNetSpatioTemporalConditionModel" in out and "fp32" in out
    status, out, _ = run(capsys, "models", "check", "--json")
    comps = json.loads(out)["svd"]["components"]
    assert {c["name"] for c in comps} >= {"unet", "vae", "image_encoder"}
    status, out, _ = run(capsys, "models", "remove", "svd")
    assert status == 0 and "removed" in out


def test_models_check_reports_problems(capsys, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model("svd"), broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    status, out, _ = run(capsys, "models", "check", "svd", "--model", str(broken))
    assert status == 1 and "unet/diffusion_pytorch_model.safetensors is missing" in out


def test_models_add_errors_are_one_line(capsys, tmp_path):
    status, _, err = run(capsys, "models", "add", "svd", str(tmp_path / "nope"))
    assert status == 2 and err.count("\n") == 1 and "does not exist" in err
    status, _, err = run(capsys, "models", "add", "svd", str(tiny_model("sd15")))
    assert status == 2 and "models add sd15" in err
    status, _, err = run(capsys, "models", "add", "sdxl", str(tmp_path))
    assert status == 2 and "family: expected one of" in err


def test_missing_model_error_names_the_command(capsys, reference_dir, tmp_path):
    status, _, err = run(capsys, "motion", "learn", str(reference_dir), "-o",
                         str(tmp_path / "x.motion"), "--device", "cpu")
    assert status == 2 and "motionwright models add svd PATH" in err
    assert not (tmp_path / "x.motion").exists()


# --- motion learn / info / apply ----------------------------------------------------------------

def test_learn_writes_a_motion_file(learned):
    from motionwright.types import MotionEmbedding

    motion = MotionEmbedding.load(learned)
    assert motion.tokens.shape == (TINY_FRAMES + 1, 5, 32)
    assert motion.training["steps"] == 3 and motion.training["seed"] == 4
    assert motion.source["frame_range"] == [0, TINY_FRAMES]
    assert motion.source["path"].endswith("walk.%04d.png")


def test_info_text_and_json(capsys, learned):
    status, out, _ = run(capsys, "motion", "info", str(learned))
    assert status == 0
    assert "5 x 5 x 32" in out and "frames 0:4 at 12/1 fps" in out
    assert "3 steps, lr 0.01, seed 4" in out and "loss" in out
    status, out, _ = run(capsys, "motion", "info", str(learned), "--json")
    info = json.loads(out)
    assert info["shape"] == [5, 5, 32] and info["training"]["steps"] == 3
    assert info["training"]["loss_first"] is not None and info["training"]["wall_time_s"] > 0


def test_info_checks_compatibility(capsys, learned, tmp_path):
    status, out, _ = run(capsys, "motion", "info", str(learned), "--model",
                         str(tiny_model("svd")))
    assert status == 0 and "compatible with" in out
    other = make_svd(tmp_path / "svd-5f", frames=5)
    status, out, _ = run(capsys, "motion", "info", str(learned), "--model", str(other),
                         "--json")
    compat = json.loads(out)["compatibility"]
    assert status == 1 and compat["compatible"] is False
    assert "learned on svd" in compat["message"] and "differ" in compat["message"]


def test_apply_to_an_image(capsys, learned, reference_dir, tmp_path):
    from motionwright import Clip

    image = reference_dir.parent / "walk.0002.png"
    out = tmp_path / "out.mp4"
    status, stdout, _ = run(capsys, "motion", "apply", str(learned), "--image", str(image),
                            "-o", str(out), "--model", str(tiny_model("svd")), "--steps", "2",
                            "--device", "cpu", "--size", "48x32")
    assert status == 0, stdout
    result = Clip.open(out)
    assert len(result) == TINY_FRAMES and result.size == (48, 32)


@pytest.mark.slow
def test_apply_to_several_shots_with_one_load(capsys, learned, reference_dir, tmp_path,
                                              monkeypatch):
    from motionwright import Clip
    from motionwright.models import loading

    shots = []
    for i, fps in enumerate((Fraction(12), Fraction(24))):
        frames = np.full((3, 32, 48, 3), 40 * (i + 1), np.uint8)
        path = tmp_path / f"shot{i}.mp4"
        Clip.from_frames(frames, fps=fps).save(path)
        shots.append(path)
    loads = []
    real = loading.load_model
    monkeypatch.setattr(loading, "load_model", lambda *a, **k: loads.append(1) or real(*a, **k))
    out_dir = tmp_path / "renders"
    status, stdout, _ = run(capsys, "motion", "apply", str(learned), "--clip", str(shots[0]),
                            "--clip", str(shots[1]), "-o", str(out_dir), "--model",
                            str(tiny_model("svd")), "--steps", "2", "--device", "cpu")
    assert status == 0 and len(loads) == 1
    first, second = Clip.open(out_dir / "shot0.mp4"), Clip.open(out_dir / "shot1.mp4")
    assert len(first) == TINY_FRAMES and first.fps == 12
    assert len(second) == 2 * TINY_FRAMES and second.fps == 24  # same duration at 24 fps
    assert "shot1.mp4" in stdout


def test_apply_refuses_an_incompatible_model(capsys, learned, reference_dir, tmp_path):
    other = make_svd(tmp_path / "svd-5f", frames=5)
    capsys.readouterr()
    out = tmp_path / "x.mp4"
    status, _, err = run(capsys, "motion", "apply", str(learned), "--image",
                         str(reference_dir.parent / "walk.0000.png"), "-o", str(out), "--model",
                         str(other), "--steps", "1", "--device", "cpu")
    assert status == 2 and "this motion was learned on svd" in err and err.count("\n") == 1
    assert not out.exists()


def test_interrupted_learning_leaves_no_file(capsys, reference_dir, tmp_path, monkeypatch):
    from motionwright.cli import cmd_motion

    def interrupt_at_step_two():
        def on_event(event):
            if event.done == 2:
                raise KeyboardInterrupt
        return on_event

    monkeypatch.setattr(cmd_motion, "progress_bar", interrupt_at_step_two)
    out = tmp_path / "never.motion"
    status, _, err = run(capsys, "motion", "learn", str(reference_dir), "-o", str(out),
                         "--model", str(tiny_model("svd")), "--steps", "4", "--device", "cpu")
    assert status == 130 and "interrupted" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_estimate_prints_each_policy(capsys, reference_dir, tmp_path):
    status, out, _ = run(capsys, "motion", "learn", str(reference_dir), "-o",
                         str(tmp_path / "x.motion"), "--model", str(tiny_model("svd")),
                         "--estimate", "--device", "cpu")
    assert status == 0
    assert "learning 4 frames at 40x24" in out
    assert all(f"  {name}:" in out for name in ("gpu", "balanced", "lowvram"))
    assert not (tmp_path / "x.motion").exists()


def test_bad_arguments_are_rejected(capsys, learned):
    with pytest.raises(SystemExit):
        cli_main.main(["motion", "learn", "ref", "-o", "x.motion", "--steps", "0"])
    with pytest.raises(SystemExit):
        cli_main.main(["motion", "apply", str(learned), "-o", "x.mp4"])  # no --image/--clip
    with pytest.raises(SystemExit):
        cli_main.main(["motion", "apply", str(learned), "--image", "a.png", "-o", "x.mp4",
                       "--size", "12"])
    capsys.readouterr()
    status, _, err = run(capsys, "motion", "info", str(learned.parent / "missing.motion"))
    assert status == 2 and "not found" in err
