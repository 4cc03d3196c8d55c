import json
import os
import shutil

import numpy as np
import pytest

from motionwright import (
    DragEdit,
    GuidedGeneration,
    Mask,
    MotionEmbedding,
    MotionTransfer,
    PointSet,
    Project,
    PromptEdit,
    Trajectory,
    TrajectoryEdit,
)
from motionwright import (
    project as project_module,
)
from motionwright.errors import (
    CorruptFileError,
    InvalidInputError,
    MediaNotFoundError,
    SchemaVersionError,
)
from motionwright.project import ClipRef


@pytest.fixture
def media(tmp_path):
    """A project folder with a video, an image sequence and a motion file."""
    root = tmp_path / "job"
    (root / "plates").mkdir(parents=True)
    (root / "plates" / "shot010.mp4").write_bytes(b"video")
    seq = root / "plates" / "shot020"
    seq.mkdir()
    for i in range(3):
        (seq / f"shot020.{i:04d}.png").write_bytes(b"png")
    me = MotionEmbedding(np.random.default_rng(0).standard_normal((3, 2, 8)),
                         base_model={"family": "svd", "embedding_dim": 8, "fingerprint": "f"})
    (root / "motions").mkdir()
    me.save(root / "motions" / "walk.motion")
    return root, me


def full_project(root, me):
    p = Project()
    a = p.add_clip(root / "plates" / "shot010.mp4", in_frame=4, out_frame=40, name="Hero")
    b = p.add_clip(root / "plates" / "shot020" / "shot020.%04d.png")
    region = Mask.from_box(0, 0, 8, 8, (32, 24))
    tr = Trajectory(np.random.default_rng(1).uniform(0, 20, (3, 2, 2)), np.ones((3, 2), bool))
    p.add_edit(a.id, DragEdit(PointSet([[1, 2]], frame=5), PointSet([[4, 4]], frame=5), region))
    p.add_edit(a.id, TrajectoryEdit(region, tr, np.zeros((24, 32, 3), np.uint8)))
    p.add_edit(a.id, MotionTransfer(me, 0.5))
    p.add_edit(b.id, PromptEdit("a snowy street"))
    p.add_edit(b.id, GuidedGeneration(str(root / "plates" / "shot010.mp4"), tr, "a kite"))
    p.add_motion("walk", root / "motions" / "walk.motion")
    return p


def test_ids_and_validation(tmp_path):
    p = Project()
    assert p.add_clip("a/shot010.mov").id == "shot010"
    assert p.add_clip("b/shot010.mov").id == "shot010-2"
    assert p.add_clip("c/plate.%04d.exr").id == "plate"
    assert p.add_clip("d/x.mov", id="custom").id == "custom"
    with pytest.raises(InvalidInputError, match="already has a clip"):
        p.add_clip("e.mov", id="custom")
    with pytest.raises(InvalidInputError, match="out_frame"):
        p.add_clip("e.mov", in_frame=10, out_frame=10)
    with pytest.raises(InvalidInputError, match="in_frame"):
        p.add_clip("e.mov", in_frame=-1)
    with pytest.raises(InvalidInputError, match="no clip 'nope'"):
        p.add_edit("nope", PromptEdit("x"))
    with pytest.raises(InvalidInputError, match="expected an edit"):
        p.add_edit("custom", "prompt")
    with pytest.raises(InvalidInputError, match="not one of the project's clips"):
        Project(clips=["a.mov"], edits={"b": [PromptEdit("x")]})
    with pytest.raises(InvalidInputError, match="unique"):
        Project(clips=[ClipRef("a.mov", "a"), ClipRef("b.mov", "a")])
    with pytest.raises(InvalidInputError, match="never been saved"):
        Project().save()


def test_round_trip_with_every_edit_type(media):
    root, me = media
    p = full_project(root, me)
    path = p.save(root / "job.mwproj")
    assert p.path == path and path.exists()
    raw = json.loads(path.read_text())
    assert raw["schema"] == "Project.2"
    assert raw["clips"][0] == {"id": "shot010", "path": "plates/shot010.mp4", "in_frame": 4,
                               "out_frame": 40, "name": "Hero"}
    assert raw["clips"][1]["path"] == "plates/shot020/shot020.%04d.png"
    assert raw["motions"] == {"walk": "motions/walk.motion"}
    assert raw["edits"]["shot020"][1]["reference"] == "plates/shot010.mp4"
    assert {e["kind"] for es in raw["edits"].values() for e in es} == {
        "drag", "trajectory", "motion-transfer", "prompt", "guided-generation"}
    back = Project.load(path)
    assert back == p and back.path == path
    assert back.missing_media() == []
    back.check_media()
    assert not [f for f in root.iterdir() if f.name.startswith(".")]


def test_moving_the_project_folder_keeps_media(media, tmp_path):
    root, me = media
    full_project(root, me).save(root / "job.mwproj")
    moved = tmp_path / "archive" / "job"
    shutil.move(str(root), str(moved))
    back = Project.load(moved / "job.mwproj", check_media=True)
    assert back.clips[0].path == str(moved / "plates" / "shot010.mp4")
    assert back.motions["walk"] == str(moved / "motions" / "walk.motion")


def test_saving_elsewhere_rewrites_relative_paths(media, tmp_path):
    root, me = media
    p = full_project(root, me)
    p.save(tmp_path / "other" / "copy.mwproj")
    raw = json.loads((tmp_path / "other" / "copy.mwproj").read_text())
    assert raw["clips"][0]["path"] == "../job/plates/shot010.mp4"
    assert Project.load(tmp_path / "other" / "copy.mwproj") == p


def test_missing_media(media):
    root, me = media
    p = full_project(root, me)
    p.save(root / "job.mwproj")
    os.remove(root / "plates" / "shot010.mp4")
    shutil.rmtree(root / "plates" / "shot020")
    back = Project.load(root / "job.mwproj")  # loading never needs the media
    missing = back.missing_media()
    assert missing == [str(root / "plates" / "shot010.mp4"),
                       str(root / "plates" / "shot020" / "shot020.%04d.png")]
    with pytest.raises(MediaNotFoundError, match=r"clip 'shot010'.*shot010\.mp4.*relink"):
        back.check_media()
    with pytest.raises(MediaNotFoundError, match=r"reference of edit 1 of clip 'shot020'"):
        Project.load(root / "job.mwproj", check_media=True)
    (root / "new").mkdir()
    (root / "new" / "s10.mp4").write_bytes(b"video")
    back.relink_clip("shot010", root / "new" / "s10.mp4")
    assert back.clip("shot010").in_frame == 4
    assert str(root / "plates" / "shot010.mp4") in back.missing_media()  # still the reference
    os.remove(root / "motions" / "walk.motion")
    assert str(root / "motions" / "walk.motion") in back.missing_media()


def test_not_a_project(tmp_path):
    path = tmp_path / "x.mwproj"
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(CorruptFileError, match=r"x\.mwproj"):
        Project.load(path)
    path.write_text(json.dumps({"schema": "Mask.1", "frames": []}))
    with pytest.raises(CorruptFileError, match="wrong schema"):
        Project.load(path)
    path.write_text(json.dumps({"clips": []}))
    with pytest.raises(CorruptFileError, match="no schema label"):
        Project.load(path)
    path.write_text(json.dumps({"schema": "Project.1", "clips": [{"id": "a"}]}))
    with pytest.raises(CorruptFileError, match=r"x\.mwproj.*path"):
        Project.load(path)
    path.write_text(json.dumps({"schema": "Project.1", "clips": [],
                                "edits": {"ghost": [{"kind": "prompt", "prompt": "x"}]}}))
    with pytest.raises(CorruptFileError, match="ghost"):
        Project.load(path)
    path.write_text(json.dumps({"schema": "Project.1", "clips": [{"id": "a", "path": "a.mov"}],
                                "edits": {"a": [{"kind": "prompt", "prompt": ""}]}}))
    with pytest.raises(CorruptFileError, match="prompt"):
        Project.load(path)
    with pytest.raises(MediaNotFoundError):
        Project.load(tmp_path / "absent.mwproj")


def test_future_version_refused(tmp_path):
    path = tmp_path / "new.mwproj"
    path.write_text(json.dumps({"schema": "Project.3", "clips": []}))
    with pytest.raises(SchemaVersionError, match="newer Motionwright"):
        Project.load(path)
    path.write_text(json.dumps({"schema": "Project.1", "clips": [{"id": "a", "path": "a.mov"}],
                                "edits": {"a": [{**PromptEdit("x").to_dict(),
                                                 "schema": "PromptEdit.4"}]}}))
    with pytest.raises(SchemaVersionError, match=r"new\.mwproj.*PromptEdit\.4"):
        Project.load(path)


def tracked(n_frames=5, start=2):
    rng = np.random.default_rng(3)
    tracks = rng.uniform(0, 50, (n_frames, 3, 2)).astype(np.float32)
    visible = np.ones((n_frames, 3), bool)
    visible[1, 2] = False
    tracks[1, 2] = np.nan
    return Trajectory(tracks, visible, start_frame=start, ids=[4, 7, 9])


def test_tracks_round_trip_per_clip(tmp_path):
    (tmp_path / "a.mov").write_bytes(b"v")
    p = Project(["a.mov", "b.mov"])
    p.set_tracks("a", tracked())
    path = p.save(tmp_path / "t.mwproj")
    raw = json.loads(path.read_text())
    assert raw["schema"] == "Project.2" and set(raw["tracks"]) == {"a"}
    back = Project.load(path)
    assert back == p and back.tracks["a"] == tracked()
    assert np.isnan(back.tracks["a"].tracks[1, 2]).all() and not back.tracks["a"].visible[1, 2]
    assert back.tracks["a"].start_frame == 2 and list(back.tracks["a"].ids) == [4, 7, 9]
    back.set_tracks("a", None)
    assert back != p and back.tracks == {}
    assert Project.from_dict(p.to_dict()) == p


def test_project_1_files_load_without_tracks_and_save_as_project_2(tmp_path):
    path = tmp_path / "old.mwproj"
    path.write_text(json.dumps({"schema": "Project.1", "clips": [{"id": "a", "path": "a.mov"}],
                                "edits": {}, "motions": {}}))
    p = Project.load(path)
    assert p.tracks == {} and [c.id for c in p.clips] == ["a"]
    p.set_tracks("a", tracked())
    p.save()
    assert json.loads(path.read_text())["schema"] == "Project.2"
    assert Project.load(path).tracks["a"] == tracked()


def test_bad_tracks_are_refused(tmp_path):
    p = Project(["a.mov"])
    with pytest.raises(InvalidInputError, match=r"tracks.*expected a Trajectory"):
        p.set_tracks("a", np.zeros((2, 1, 2)))
    with pytest.raises(InvalidInputError, match="no clip 'b'"):
        p.set_tracks("b", tracked())
    with pytest.raises(InvalidInputError, match="tracks: clip id 'b'"):
        Project(["a.mov"], tracks={"b": tracked()})
    path = tmp_path / "x.mwproj"
    base = {"schema": "Project.2", "clips": [{"id": "a", "path": "a.mov"}]}
    for tracks, match in [([], "tracks: expected a JSON dict"),
                          ({"a": 3}, r"tracks\['a'\]: expected a JSON dict"),
                          ({"a": {"schema": "Trajectory.1", "tracks": "x"}}, "tracks"),
                          ({"ghost": tracked().to_dict()}, "ghost")]:
        path.write_text(json.dumps({**base, "tracks": tracks}))
        with pytest.raises(CorruptFileError, match=match):
            Project.load(path)


def test_upgrader_runs_on_older_files(tmp_path, monkeypatch):
    """A future Project.2 renaming clip "in"/"out" would register UPGRADERS[1]; loading a
    Project.1 file then runs it before reading."""
    path = tmp_path / "old.mwproj"
    path.write_text(json.dumps({"schema": "Project.1", "clips": [
        {"id": "a", "path": "a.mov", "in": 3, "out": 9}]}))

    def one_to_two(payload):
        for clip in payload["clips"]:
            clip["in_frame"] = clip.pop("in")
            clip["out_frame"] = clip.pop("out")
        return payload

    monkeypatch.setattr(project_module, "VERSION", 2)
    monkeypatch.setattr(project_module, "UPGRADERS", {1: one_to_two})
    p = Project.load(path)
    assert (p.clips[0].in_frame, p.clips[0].out_frame) == (3, 9)
    p.save()
    assert json.loads(path.read_text())["schema"] == "Project.2"
    monkeypatch.setattr(project_module, "UPGRADERS", {})
    path.write_text(json.dumps({"schema": "Project.1", "clips": []}))
    with pytest.raises(SchemaVersionError, match="cannot upgrade"):
        Project.load(path)


def test_repr_and_equality(media):
    root, me = media
    p = full_project(root, me)
    assert "clips=2, edits=5, motions=1" in repr(p)
    q = full_project(root, me)
    assert p == q
    q.add_edit("shot020", PromptEdit("night"))
    assert p != q
