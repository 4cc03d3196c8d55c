"""``motionwright trajectory`` (preview and ReVideo) and ``models add revideo``."""

from __future__ import annotations

import numpy as np
import pytest

import motionwright as mw
from motionwright.cli.main import main


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trajshot")
    frames = np.random.default_rng(2).integers(0, 255, (4, 32, 48, 3), dtype=np.uint8)
    path = folder / "shot.%03d.png"
    mw.Clip.from_frames(frames, fps=8).save(path, codec="png")
    return path, frames


def test_cli_trajectory_preview(shot, tmp_path):
    path, _ = shot
    out = tmp_path / "out.%03d.png"
    assert main(["trajectory", str(path), "--mask-box", "8,8,12,12", "--path", "14,14",
                 "20,14", "-o", str(out)]) == 0
    result = mw.Clip.open(out)
    assert len(result) == 4 and result.size == (48, 32)


def test_cli_trajectory_errors_are_one_line(shot, tmp_path, capsys):
    pytest.importorskip("diffusers")
    from tiny_models import tiny_model

    path, _ = shot
    code = main(["trajectory", str(path), "--mask-box", "8,8,12,12", "--path", "14,14",
                 "-o", str(tmp_path / "o.mp4")])
    assert code == 2 and "at least two points" in capsys.readouterr().err
    code = main(["trajectory", str(path), "--mask-box", "8,8,12,12", "--path", "14,14",
                 "20,14", "--backend", "diffusion", "--model", str(tiny_model("svd")),
                 "--control", str(tmp_path / "nothing"), "-o", str(tmp_path / "o.mp4")])
    assert code == 2 and "motionwright models add revideo" in capsys.readouterr().err


def test_cli_models_add_revideo(tmp_path, capsys):
    pytest.importorskip("diffusers")
    from tiny_revideo import tiny_control

    assert main(["models", "add", "revideo", str(tiny_control())]) == 0
    assert main(["models", "list"]) == 0
    assert "revideo" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_trajectory_diffusion_keeps_outside_pixels(shot, tmp_path):
    pytest.importorskip("diffusers")
    from motionwright.methods.revideo.region import feathered_alpha
    from tiny_models import tiny_model
    from tiny_revideo import tiny_control

    path, frames = shot
    out = tmp_path / "out.%03d.png"
    assert main(["trajectory", str(path), "--mask-box", "8,8,12,12", "--path", "14,14",
                 "20,14", "--backend", "diffusion", "--model", str(tiny_model("svd")),
                 "--control", str(tiny_control()), "--size", "32x32", "--steps", "2",
                 "-o", str(out)]) == 0
    result = mw.Clip.open(out).to_array()
    mask = mw.Mask.from_box(8, 8, 12, 12, (48, 32)).at(0)
    far = feathered_alpha(mask, 8) == 0
    assert np.array_equal(result[:, far], frames[:, far])
    assert not np.array_equal(result[:, mask], frames[:, mask])
