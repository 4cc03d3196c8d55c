"""The CLI core: info, render validation, error reporting (one line, exit 2, --debug)."""

import json

import numpy as np
import pytest

import motionwright as mw
from motionwright.cli.main import main
from motionwright.synthetic import make_moving_objects


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shot")
    frames = make_moving_objects(12, (96, 64), seed=5).frames
    path = folder / "shot.mp4"
    mw.Clip.from_frames(frames, fps=25, start_timecode="10:00:00:00").save(path, codec="h264")
    return path


def test_info_text_and_json(shot, capsys):
    assert main(["info", str(shot)]) == 0
    text = capsys.readouterr().out
    assert "frames" in text and "12" in text and "96x64" in text and "10:00:00:00" in text
    assert main(["info", str(shot), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 12 and list(info["size"]) == [96, 64]
    assert info["codec"] == "h264" and info["timecode"] == "10:00:00:00"


def test_error_is_one_line_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.mp4" in err and "Traceback" not in err


def test_debug_shows_traceback(tmp_path, capsys):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 50)
    assert main(["--debug", "info", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "garbage.mp4" in err


def _project_with_drag(tmp_path, shot):
    project = mw.Project()
    ref = project.add_clip(shot, id="shot")
    edit = mw.DragEdit(mw.PointSet([[40, 30]], frame=0), mw.PointSet([[46, 28]], frame=0),
                       mask=mw.Mask.from_box(20, 10, 50, 45, size=(96, 64)))
    project.add_edit(ref.id, edit)
    return project.save(tmp_path / "p.mwproj")


def test_render_refuses_moved_media(tmp_path, capsys):
    frames = np.zeros((3, 16, 16, 3), np.uint8)
    media = tmp_path / "gone.mp4"
    mw.Clip.from_frames(frames, fps=24).save(media, codec="h264")
    project = mw.Project()
    project.add_clip(media, id="gone")
    project.add_edit("gone", mw.PromptEdit("a red car"))
    path = project.save(tmp_path / "p.mwproj")
    media.unlink()
    assert main(["render", str(path), "-o", str(tmp_path / "out.mp4")]) == 2
    assert "gone.mp4" in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()


def test_render_refuses_bad_range(tmp_path, shot, capsys):
    path = _project_with_drag(tmp_path, shot)
    assert main(["render", str(path), "-o", str(tmp_path / "o.mp4"), "--range", "5:40"]) == 2
    assert "5:40" in capsys.readouterr().err


def test_render_refuses_project_without_edits(tmp_path, shot, capsys):
    project = mw.Project()
    project.add_clip(shot, id="shot")
    path = project.save(tmp_path / "empty.mwproj")
    assert main(["render", str(path), "-o", str(tmp_path / "o.mp4")]) == 2
    assert "no edits" in capsys.readouterr().err


def test_render_refuses_garbage_project(tmp_path, capsys):
    path = tmp_path / "bad.mwproj"
    path.write_text("not json at all")
    assert main(["render", str(path), "-o", str(tmp_path / "o.mp4")]) == 2
    assert "bad.mwproj" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["5", "a:b", "9:3"])
def test_render_range_syntax(bad, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "x.mwproj", "-o", str(tmp_path / "o.mp4"), "--range", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "A:B" in err or "A < B" in err


class _Stream:
    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def _events(total, seconds_per_step):
    from motionwright.progress import ProgressEvent

    return [ProgressEvent("decode", i, total, i * seconds_per_step, None)
            for i in range(1, total + 1)]


def test_progress_bar_draws_only_after_a_second():
    from motionwright.cli._common import _Bar

    quick, slow = _Stream(True), _Stream(True)
    for event in _events(5, 0.1):
        _Bar(quick)(event)
    bar = _Bar(slow)
    for event in _events(5, 0.5):
        bar(event)
    assert quick.text == ""
    assert "[" in slow.text and "5/5" in slow.text and slow.text.endswith("\n")


def test_progress_in_a_log_is_one_line_per_stage():
    from motionwright.cli._common import _Bar

    log = _Stream(False)
    bar = _Bar(log)
    for event in _events(5, 0.5):
        bar(event)
    assert log.text == "decode: 5/5 in 2.5s\n"


def test_a_command_listed_by_two_installed_copies_registers_once(monkeypatch):
    from importlib.metadata import EntryPoint

    import motionwright.cli.main as cli_main

    entry = EntryPoint("gui", "motionwright_gui.cli:register", "motionwright.commands")
    monkeypatch.setattr(cli_main, "entry_points", lambda group: [entry, entry])
    parser = cli_main.build_parser()  # argparse refuses a second "gui" subparser
    assert parser.parse_args(["info", "x"]).command == "info"
