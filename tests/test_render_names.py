"""Clip ids from untrusted projects: refused when they are paths; render outputs stay inside."""

import json
import re

import numpy as np
import pytest

import motionwright as mw
from motionwright.cli.main import main
from motionwright.errors import CorruptFileError, InvalidInputError, UnsafePathError
from motionwright.file_names import check_id, path_inside, safe_file_name, safe_file_names

HOSTILE = ["../x", "/tmp/x", "a/../../b", "a\\b", "x\0y", ".", "..", "line\nbreak"]


@pytest.mark.parametrize("clip_id", HOSTILE)
def test_path_like_ids_are_refused(clip_id):
    with pytest.raises(UnsafePathError, match="looks like a path"):
        check_id(clip_id)
    with pytest.raises(UnsafePathError):
        mw.Project().add_clip("shot.mp4", id=clip_id)


def test_overlong_and_empty_ids_are_refused():
    with pytest.raises(InvalidInputError, match="at most 200"):
        check_id("a" * 201)
    with pytest.raises(InvalidInputError, match="non-empty"):
        check_id("")
    for fine in ("Shot 1", "a..b", "plan-séquence", "a" * 200):
        assert check_id(fine) == fine


@pytest.mark.parametrize("clip_id", ["../x", "/tmp/x", "x\0y"])
def test_project_file_with_a_path_as_id_does_not_load(tmp_path, clip_id):
    path = tmp_path / "p.mwproj"
    path.write_text(json.dumps({"schema": "Project.1", "clips": [
        {"id": clip_id, "path": "shot.mp4"}], "edits": {}, "motions": {}}))
    with pytest.raises(CorruptFileError, match="looks like a path"):
        mw.Project.load(path)


def test_safe_file_names_are_portable_distinct_and_inside(tmp_path):
    ids = [*HOSTILE, "A" * 1000, "Shot 1", "shot_1", "SHOT_1", "con", "nul.mp4", "...", "ok"]
    names = safe_file_names(ids)
    assert len({n.casefold() for n in names.values()}) == len(ids)
    for name in names.values():
        assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}", name), name
        assert path_inside(tmp_path, name).parent == tmp_path
    assert names["ok"] == "ok" and names["shot_1"] == "shot_1"
    assert names["SHOT_1"] == "SHOT_1-2"  # same name as 'shot_1' on a case-insensitive disk
    assert names["con"].startswith("_con-")
    assert safe_file_name("../x") != safe_file_name("__x")


def test_path_inside_refuses_escapes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "link").symlink_to(tmp_path / "elsewhere")
    for parts in (("..", "x"), ("/tmp/x",), ("link", "f.mp4"), ("a/../../b",)):
        with pytest.raises(UnsafePathError, match="outside the folder"):
            path_inside(out, *parts)
    assert path_inside(out, "sub", "frame.%04d.png") == out / "sub" / "frame.%04d.png"


@pytest.fixture(scope="module")
def two_clip_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proj")
    frames = np.zeros((3, 32, 32, 3), np.uint8)
    frames[:, 8:20, 8:20] = 200
    media = folder / "shot.mp4"
    mw.Clip.from_frames(frames, fps=24).save(media, codec="h264")
    project = mw.Project()
    edit = mw.DragEdit(mw.PointSet([[14, 14]], frame=0), mw.PointSet([[16, 14]], frame=0),
                       mask=mw.Mask.from_box(4, 4, 20, 20, size=(32, 32)))
    for clip_id in ("Shot 1", "shot_1", "SHOT_1"):
        project.add_clip(media, id=clip_id)
        project.add_edit(clip_id, edit)
    return project.save(folder / "p.mwproj")


def test_render_names_outputs_safely_inside_the_folder(tmp_path, two_clip_project, capsys):
    out = tmp_path / "out"
    assert main(["render", str(two_clip_project), "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{safe_file_name('Shot 1')}.mp4", "SHOT_1-2.mp4", "shot_1.mp4"])
    assert list(tmp_path.iterdir()) == [out]


def test_render_refuses_an_output_symlinked_out_of_the_folder(tmp_path, two_clip_project,
                                                              capsys):
    out, victim = tmp_path / "out", tmp_path / "victim"
    out.mkdir()
    victim.mkdir()
    (out / "shot_1.mp4").symlink_to(victim / "shot.mp4")
    assert main(["render", str(two_clip_project), "-o", str(out)]) == 2
    assert "outside the folder" in capsys.readouterr().err
    assert list(victim.iterdir()) == [] and list(out.iterdir()) == [out / "shot_1.mp4"]
