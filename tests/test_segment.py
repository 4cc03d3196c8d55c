"""``mw.segment`` and ``segment_clip`` on a tiny random SAM loaded through the model store."""

import shutil

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import motionwright as mw
from motionwright.errors import InvalidInputError, ShapeError
from motionwright.models import ModelMismatchError, ModelNotFoundError, ModelStore
from motionwright.models.loading import check_model, load_model
from motionwright.models.store import ModelSpec
from motionwright.segmentation import segment, segment_clip
from motionwright.synthetic import make_moving_objects
from tiny_models import tiny_model


@pytest.fixture(scope="module")
def frames():
    return make_moving_objects(3, (48, 40), seed=2, num_objects=1).frames


def test_sam_loads_through_the_store_and_checks(frames):
    ModelStore().add("sam", tiny_model("sam"))
    loaded = load_model("sam", device="cpu")
    assert loaded.identity["family"] == "sam" and loaded.identity["embedding_dim"] == 16
    assert type(loaded.denoiser).__name__ == "SamModel"
    reports = check_model(ModelSpec("sam", tiny_model("sam")))
    assert [r.status for r in reports] == ["ok"] and reports[0].parameters > 0


def test_segment_returns_a_frame_sized_mask(frames):
    pts = mw.PointSet([[20.0, 18.0], [5.0, 5.0]], frame=1, labels=[1, 0])
    mask = segment(frames[1], pts, models={"sam": tiny_model("sam")})
    assert isinstance(mask, mw.Mask) and mask.size == (48, 40) and mask.start_frame == 1
    assert mask.at(1).dtype == bool
    boxed = segment(frames[0], box=(4, 4, 30, 20), models={"sam": tiny_model("sam")})
    assert boxed.data.shape == (1, 40, 48)


def test_segment_clip_tracks_prompts_through_every_frame(frames):
    clip = mw.Clip.from_frames(frames)
    events = []
    mask = segment_clip(clip, mw.PointSet([[20.0, 18.0]], frame=0), box=(4, 4, 30, 20),
                        models={"sam": tiny_model("sam")}, progress=events.append)
    assert mask.data.shape == (3, 40, 48) and mask.start_frame == 0
    assert [e.done for e in events if e.stage == "segment"] == [1, 2, 3]


def test_missing_sam_model_names_the_family_and_the_command(frames):
    with pytest.raises(ModelNotFoundError, match="motionwright models add sam PATH"):
        segment(frames[0], mw.PointSet([[10.0, 10.0]]))


def test_incomplete_or_wrong_sam_folders_are_clear(tmp_path):
    broken = tmp_path / "sam"
    shutil.copytree(tiny_model("sam"), broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match=r"model\.safetensors is missing"):
        load_model("sam", broken, device="cpu")
    with pytest.raises(ModelMismatchError, match="not a SamModel"):
        load_model("sam", tiny_model("sd15") / "unet", device="cpu")
    odd = tmp_path / "weights.bin"
    odd.write_bytes(b"x")
    with pytest.raises(ModelMismatchError, match="not a SAM checkpoint"):
        load_model("sam", odd, device="cpu")


def test_official_checkpoint_without_the_package_asks_for_the_extra(tmp_path):
    ckpt = tmp_path / "sam_vit_b_01ec64.pth"
    ckpt.write_bytes(b"x")
    with pytest.raises(ImportError, match="sam"):
        load_model("sam", ckpt, device="cpu")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(), InvalidInputError, "at least one click"),
    (dict(points=mw.PointSet([[1.0, 1.0]], labels=[2])), InvalidInputError, "labels"),
    (dict(points=mw.PointSet([[1.0, 1.0]], labels=[0])), InvalidInputError, "positive"),
    (dict(points=mw.PointSet([[100.0, 1.0]])), InvalidInputError, "outside the 48x40"),
    (dict(box=(0, 0, 100, 10)), InvalidInputError, "outside"),
    (dict(box=(0, 0, -1, 10)), InvalidInputError, "positive"),
])
def test_bad_prompts_are_typed_errors(frames, kwargs, error, message):
    with pytest.raises(error, match=message):
        segment(frames[0], models={"sam": tiny_model("sam")}, **kwargs)


def test_bad_frames_are_shape_errors():
    with pytest.raises(ShapeError, match="frame"):
        segment(np.zeros((4, 4)), mw.PointSet([[1.0, 1.0]]))
    with pytest.raises(ShapeError, match="uint8"):
        segment(np.zeros((4, 4, 3), np.float32), mw.PointSet([[1.0, 1.0]]))
