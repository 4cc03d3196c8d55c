"""``motionwright drag --backend diffusion`` end to end on a tiny random SD 1.5."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

import motionwright as mw
from motionwright.cli.main import main
from motionwright.edits import DragEdit
from motionwright.errors import InvalidInputError
from motionwright.synthetic import make_moving_objects
from tiny_models import tiny_model

FAST = ["--size", "32x32", "--steps", "10", "--iterations", "2", "--lora-steps", "0",
        "--correspondence", "flow"]


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dragshot")
    scene = make_moving_objects(3, (64, 48), seed=5, num_objects=1, max_speed=2)
    path = folder / "shot.%03d.png"
    mw.Clip.from_frames(scene.frames).save(path, codec="png")
    return path, scene


def test_cli_diffusion_drag_with_mask_box_leaves_outside_pixels(shot, tmp_path):
    path, scene = shot
    out = tmp_path / "out.%03d.png"
    x, y = scene.tracks[0, 0]
    assert main(["drag", str(path), "--handle", f"{x},{y}", "--target", f"{x + 6},{y}",
                 "--mask-box", "10,8,40,30", "--backend", "diffusion",
                 "--model", str(tiny_model("sd15")), *FAST, "-o", str(out)]) == 0
    result = mw.Clip.open(out)
    assert len(result) == 3 and result.size == (64, 48)
    key_mask = mw.Mask.from_box(10, 8, 40, 30, (64, 48)).at(0)
    got = result[0]
    assert np.array_equal(got[~key_mask], scene.frames[0][~key_mask])
    assert not np.array_equal(got[key_mask], scene.frames[0][key_mask])


def test_cli_diffusion_drag_with_mask_points_and_stride(shot, tmp_path):
    path, scene = shot
    out = tmp_path / "out.%03d.png"
    x, y = scene.tracks[0, 0]
    assert main(["drag", str(path), "--handle", f"{x},{y}", "--target", f"{x},{y + 5}",
                 "--mask-point", f"{x},{y}", "--mask-patch", "20", "--stride", "2",
                 "--backend", "diffusion", "--model", str(tiny_model("sd15")), *FAST,
                 "-o", str(out)]) == 0
    first = mw.Clip.open(out)[0]
    from motionwright.propagation.dragavideo import mask_from_points

    square = mask_from_points([[x, y]], (64, 48), 20)
    assert np.array_equal(first[~square], scene.frames[0][~square])


def test_cli_bad_diffusion_options_are_one_line_errors(shot, tmp_path, capsys):
    path, _ = shot
    code = main(["drag", str(path), "--handle", "10,10", "--target", "20,10",
                 "--backend", "diffusion", "--model", str(tiny_model("sd15")),
                 "--iterations", "0", "-o", str(tmp_path / "o.mp4")])
    assert code == 2 and "iterations" in capsys.readouterr().err
    code = main(["drag", str(path), "--handle", "10,10", "--target", "20,10",
                 "--backend", "diffusion", "--model", str(tmp_path / "nothing"),
                 "-o", str(tmp_path / "o.mp4")])
    assert code == 2 and "motionwright models add sd15" in capsys.readouterr().err


def test_render_dispatches_drag_edits_to_the_diffusion_backend(shot):
    path, scene = shot
    clip = mw.Clip.open(path)
    x, y = scene.tracks[0, 0]
    edit = DragEdit(mw.PointSet([[x, y]]), mw.PointSet([[x + 4, y]]))
    with pytest.raises(InvalidInputError, match="separate calls"):
        from motionwright.edits import MotionTransfer
        from motionwright.methods.backend import render

        render(clip, [edit, object.__new__(MotionTransfer)], models=None)


def test_cli_estimate_prints_each_memory_profile_and_writes_nothing(shot, tmp_path, capsys):
    path, scene = shot
    x, y = scene.tracks[0, 0]
    out = tmp_path / "never.mp4"
    assert main(["drag", str(path), "--handle", f"{x},{y}", "--target", f"{x + 6},{y}",
                 "--backend", "diffusion", "--model", str(tiny_model("sd15")), "--size",
                 "32x32", "--lora-steps", "0", "--estimate", "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dragging 3 frames at 32x32 (no LoRA)")
    profiles = [line.strip().split(":")[0] for line in lines[1:]]
    assert profiles == ["gpu", "balanced", "lowvram"]
    assert "frames per UNet call" in lines[-1] and not out.exists()
    code = main(["drag", str(path), "--handle", f"{x},{y}", "--target", f"{x + 6},{y}",
                 "--estimate", "-o", str(out)])
    assert code == 2 and "--backend diffusion" in capsys.readouterr().err


def test_cli_drag_without_output_is_a_one_line_error(shot, capsys):
    path, _ = shot
    code = main(["drag", str(path), "--handle", "10,10", "--target", "20,10"])
    assert code == 2 and "-o/--output" in capsys.readouterr().err
