import dataclasses
import json
import os

import numpy as np
import pytest

from motionwright import (
    DragEdit,
    GuidedGeneration,
    Mask,
    MotionEmbedding,
    MotionTransfer,
    PointSet,
    PromptEdit,
    Trajectory,
    TrajectoryEdit,
)
from motionwright.edits import EDIT_TYPES, absolute_path, edit_from_dict, relative_path
from motionwright.errors import (
    CorruptFileError,
    FrameRangeError,
    InvalidInputError,
    SchemaVersionError,
    ShapeError,
)


def traj(n=2, t=3, start=0):
    rng = np.random.default_rng(n)
    return Trajectory(rng.uniform(0, 30, (t, n, 2)), np.ones((t, n), bool), start_frame=start)


def motion():
    return MotionEmbedding(np.random.default_rng(1).standard_normal((4, 2, 8)),
                           base_model={"family": "svd", "embedding_dim": 8, "fingerprint": "f"})


def all_edits(ref_path="/media/ref.mov"):
    frame = np.random.default_rng(2).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    return [
        DragEdit(PointSet([[1, 2], [3, 4]], frame=2), PointSet([[5, 6], [7, 8]], frame=2),
                 Mask.from_box(0, 0, 10, 10, (32, 24))),
        DragEdit(PointSet([[1, 2]]), PointSet([[5, 6]])),
        TrajectoryEdit(Mask.from_box(2, 2, 8, 8, (32, 24)), traj(), frame),
        TrajectoryEdit(Mask.from_box(2, 2, 8, 8, (32, 24)), traj(3)),
        MotionTransfer(motion(), strength=0.75),
        PromptEdit("a red fox running", negative_prompt="blurry", source_prompt="a dog"),
        GuidedGeneration(ref_path, PointSet([[3, 3]]), "a kite in the sky"),
        GuidedGeneration(ref_path, traj(), "a kite", negative_prompt="text"),
        GuidedGeneration(None, None, "a car driving", box=traj(2, 5)),
    ]


def test_kinds_and_frozen():
    assert set(EDIT_TYPES) == {"drag", "trajectory", "motion-transfer", "prompt",
                               "guided-generation"}
    edit = PromptEdit("x")
    assert edit.kind == "prompt"
    with pytest.raises(dataclasses.FrozenInstanceError):
        edit.prompt = "y"


def test_equality_compares_contents():
    a, b = all_edits(), all_edits()
    assert a == b
    assert a[2] != TrajectoryEdit(a[2].region, a[2].trajectories, a[2].first_frame + 1)
    assert a[2] != a[3]
    assert a[0] != DragEdit(a[0].handles, a[0].targets)
    assert PromptEdit("x") != DragEdit(PointSet([[1, 2]]), PointSet([[1, 2]]))


@pytest.mark.parametrize("index", range(9))
def test_dict_round_trip(index, tmp_path):
    edit = all_edits(str(tmp_path / "refs" / "ref.mov"))[index]
    d = json.loads(json.dumps(edit.to_dict(base_dir=tmp_path)))
    assert d["kind"] == edit.kind and d["schema"] == f"{type(edit).__name__}.1"
    back = edit_from_dict(d, base_dir=tmp_path)
    assert back == edit and type(back) is type(edit)
    if isinstance(edit, GuidedGeneration) and edit.reference:
        assert d["reference"] == "refs/ref.mov"


def test_drag_validation():
    h = PointSet([[1, 2], [3, 4]], frame=2)
    assert DragEdit(h, h.with_points([[0, 0], [1, 1]])).frame == 2
    with pytest.raises(InvalidInputError, match=r"one target per handle \(2\), got 1"):
        DragEdit(h, PointSet([[1, 1]], frame=2))
    with pytest.raises(InvalidInputError, match="frame 2 but targets on frame 3"):
        DragEdit(h, PointSet([[1, 1], [2, 2]], frame=3))
    with pytest.raises(InvalidInputError, match="at least one"):
        DragEdit(PointSet([]), PointSet([]))
    with pytest.raises(InvalidInputError, match="handles: expected PointSet"):
        DragEdit([[1, 2]], h)
    animated = Mask(np.ones((2, 4, 4), bool), start_frame=5)
    with pytest.raises(FrameRangeError, match=r"drag frame 2.*\[5, 7\)"):
        DragEdit(h, h, animated)
    with pytest.raises(InvalidInputError, match="mask"):
        DragEdit(h, h, np.ones((4, 4), bool))


def test_trajectory_edit_validation():
    region = Mask.from_box(0, 0, 4, 4, (16, 8))
    with pytest.raises(ShapeError, match=r"\(8, 16, 3\).*got \(16, 8, 3\)"):
        TrajectoryEdit(region, traj(), np.zeros((16, 8, 3), np.uint8))
    with pytest.raises(ShapeError, match="uint8 or uint16"):
        TrajectoryEdit(region, traj(), np.zeros((8, 16, 3), np.float32))
    with pytest.raises(InvalidInputError, match="at least one point"):
        TrajectoryEdit(region, Trajectory(np.zeros((2, 0, 2)), np.zeros((2, 0), bool)))
    with pytest.raises(InvalidInputError, match="trajectories"):
        TrajectoryEdit(region, PointSet([[1, 1]]))
    src = np.full((8, 16, 3), 60000, np.uint16)
    edit = TrajectoryEdit(region, traj(), src)
    src[0, 0, 0] = 1
    assert edit.first_frame[0, 0, 0] == 60000 and not edit.first_frame.flags.writeable
    assert edit_from_dict(edit.to_dict()) == edit  # 16-bit frames survive the PNG round trip


def test_motion_transfer_validation():
    for bad in (0, -1, float("nan"), float("inf"), "1", True):
        with pytest.raises(InvalidInputError, match="strength"):
            MotionTransfer(motion(), strength=bad)
    with pytest.raises(InvalidInputError, match="motion"):
        MotionTransfer("walk.motion")
    assert MotionTransfer(motion(), 2).strength == 2.0


def test_prompt_validation():
    for bad in ("", "   "):
        with pytest.raises(InvalidInputError, match="prompt: must not be empty"):
            PromptEdit(bad)
    with pytest.raises(InvalidInputError, match="prompt"):
        PromptEdit(None)
    with pytest.raises(InvalidInputError, match="negative_prompt"):
        PromptEdit("ok", negative_prompt=3)


def test_guided_generation_validation(tmp_path):
    edit = GuidedGeneration("ref.mov", None, "a bird")
    assert os.path.isabs(edit.reference) and edit.reference.endswith("ref.mov")
    with pytest.raises(InvalidInputError, match="prompt"):
        GuidedGeneration("ref.mov", None, "")
    with pytest.raises(InvalidInputError, match="reference"):
        GuidedGeneration(None, None, "a bird")
    with pytest.raises(InvalidInputError, match="give reference too"):
        GuidedGeneration(None, PointSet([[1, 1]]), "a bird", box=traj())
    with pytest.raises(InvalidInputError, match="2 points"):
        GuidedGeneration(None, None, "a bird", box=traj(3))
    with pytest.raises(InvalidInputError, match="points"):
        GuidedGeneration("ref.mov", np.zeros((2, 2)), "a bird")


def test_edit_from_dict_errors():
    with pytest.raises(InvalidInputError, match=r"edit kind.*'warp'"):
        edit_from_dict({"kind": "warp"})
    d = PromptEdit("x").to_dict()
    assert edit_from_dict({"kind": "prompt", "prompt": "x"}) == PromptEdit("x")
    with pytest.raises(SchemaVersionError):
        edit_from_dict({**d, "schema": "PromptEdit.5"})
    with pytest.raises(CorruptFileError, match="wrong schema"):
        edit_from_dict({**d, "schema": "DragEdit.1"})
    drag = all_edits()[1].to_dict()
    drag["targets"]["points"] = [[1, 2], [3, 4]]
    drag["targets"]["ids"] = [0, 1]
    with pytest.raises(InvalidInputError, match="one target per handle"):
        edit_from_dict(drag)


def test_paths(tmp_path):
    inside = tmp_path / "media" / "a.mov"
    assert relative_path(inside, tmp_path) == "media/a.mov"
    assert relative_path(inside, None) == str(inside)
    assert relative_path(tmp_path.parent / "b.mov", tmp_path) == "../b.mov"
    assert absolute_path("media/a.mov", tmp_path) == str(inside)
    assert absolute_path(str(inside), "/elsewhere") == str(inside)
    with pytest.raises(InvalidInputError, match="path"):
        absolute_path("", tmp_path)
