"""Job requests are validated strictly, with typed errors naming the field."""

import math

import pytest
from service_helpers import drag_for, request_for

import motionwright as mw
from motionwright.errors import (
    FrameRangeError,
    InvalidInputError,
    LimitExceededError,
    MediaNotFoundError,
    UnsafePathError,
)
from motionwright.service.request import parse_request


def parse(d, tmp_path, **kw):
    return parse_request(d, data_dir=tmp_path, **kw)


def test_a_good_request_is_parsed_with_defaults(shot, tmp_path):
    path, scene = shot
    req = parse(request_for(path, [drag_for(scene)], label="shot_010"), tmp_path)
    assert req.source == {"path": path, "start": 0, "stop": 6}
    assert req.frames == 6 and req.sample == "uint8" and req.label == "shot_010"
    assert req.backend == "preview" and req.output_file is None
    again = parse(req.to_dict(), tmp_path)
    assert again == req
    assert req.edit_objects() == [drag_for(scene)]


@pytest.mark.parametrize("change, field", [
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: d["source"].update(fps=24), "source.fps"),
    (lambda d: d.update(output={"sample": "uint8", "extra": 1}), "output.extra"),
    (lambda d: d["source"].update(start="0"), "source.start"),
    (lambda d: d["source"].update(start=True), "source.start"),
    (lambda d: d.update(backend="gpu"), "backend"),
    (lambda d: d.update(edits=[]), "edits"),
    (lambda d: d.update(edits="drag"), "edits"),
    (lambda d: d.update(label="x" * 201), "label"),
    (lambda d: d.update(label=5), "label"),
    (lambda d: d.update(settings={"seed": -1}), "settings.seed"),
    (lambda d: d.update(settings={"steps": 4}), "settings.steps"),
    (lambda d: d.update(output={"sample": "int8"}), "output.sample"),
    (lambda d: d["edits"][0].update(kind="teleport"), "edit kind"),
    (lambda d: d["edits"][0]["handles"].update(points=[[math.nan, 1.0]]), "edits[0]"),
    (lambda d: d.update(models={"sdxl": "/m"}), "models.sdxl"),
    (lambda d: d.update(models={"sd15": "rel/model"}), "models.sd15"),
])
def test_bad_fields_are_refused_by_name(shot, tmp_path, change, field):
    path, scene = shot
    d = request_for(path, [drag_for(scene)])
    change(d)
    with pytest.raises(InvalidInputError) as info:
        parse(d, tmp_path)
    assert field in str(info.value)


def test_non_finite_numbers_anywhere_are_refused_with_their_path(shot, tmp_path):
    path, scene = shot
    d = request_for(path, [drag_for(scene)])
    d["edits"][0]["targets"]["points"][0][1] = math.inf
    with pytest.raises(InvalidInputError, match=r"edits\[0\]\.targets\.points\[0\]\[1\]"):
        parse(d, tmp_path)


def test_sources_must_exist_be_absolute_and_hold_the_range(shot, tmp_path):
    path, scene = shot
    edits = [drag_for(scene)]
    with pytest.raises(UnsafePathError, match=r"source\.path"):
        parse(request_for("shots/a.mov", edits), tmp_path)
    with pytest.raises(UnsafePathError, match=r"'\.\.'"):
        parse(request_for(str(tmp_path / ".." / "a.mov"), edits), tmp_path)
    with pytest.raises(MediaNotFoundError, match=r"source\.path"):
        parse(request_for(str(tmp_path / "missing.mov"), edits), tmp_path)
    with pytest.raises(FrameRangeError, match=r"source\.start/stop"):
        parse({**request_for(path, edits), "source": {"path": path, "start": 2, "stop": 9}},
              tmp_path)
    with pytest.raises(FrameRangeError, match=r"source\.stop"):
        parse({**request_for(path, edits), "source": {"path": path, "start": 3, "stop": 3}},
              tmp_path)


def test_edit_frames_are_relative_to_the_source_start(shot, tmp_path):
    path, scene = shot
    x, y = scene.tracks[3, 0]
    late = mw.DragEdit(mw.PointSet([[x, y]], frame=3), mw.PointSet([[x + 2, y]], frame=3))
    ok = {**request_for(path, [late]), "source": {"path": path, "start": 0, "stop": 4}}
    assert parse(ok, tmp_path).frames == 4
    short = {**request_for(path, [late]), "source": {"path": path, "start": 2, "stop": 5}}
    with pytest.raises(FrameRangeError, match=r"edits\[0\]"):
        parse(short, tmp_path)


def test_output_files_only_go_to_allowed_folders(shot, tmp_path):
    path, scene = shot
    edits = [drag_for(scene)]
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    def out(p):
        return {**request_for(path, edits), "output": {"file": {"path": p, "codec": "png"}}}

    beside = str(tmp_path.parent / "x.%03d.png")  # not the shot's folder, not the data dir
    with pytest.raises(UnsafePathError, match=r"output\.file\.path"):
        parse(out(str(outside / "r.%03d.png")), tmp_path / "data")
    with pytest.raises(UnsafePathError, match=r"output\.file\.path"):
        parse(out("renders/r.mov"), tmp_path)
    with pytest.raises(UnsafePathError, match=r"output\.file\.path"):
        parse(out(str(outside / ".." / "r.mov")), tmp_path)
    with pytest.raises(UnsafePathError):
        parse(out(beside), tmp_path / "data")
    (outside / "link").symlink_to(tmp_path.parent)
    req = parse(out(str(outside / "r.%03d.png")), tmp_path / "data",
                allowed_output_roots=(outside,))
    assert req.output_file == {"path": str(outside / "r.%03d.png"), "codec": "png"}
    with pytest.raises(UnsafePathError):  # a symlink out of an allowed folder
        parse(out(str(outside / "link" / "r.mov")), tmp_path / "data",
              allowed_output_roots=(outside,))
    shot_dir = path.rsplit("/", 1)[0]
    assert parse(out(shot_dir + "/render.%03d.png"), tmp_path / "data").output_file
    with pytest.raises(InvalidInputError, match=r"output\.file\.codec"):
        parse({**request_for(path, edits),
               "output": {"file": {"path": shot_dir + "/r.mov", "codec": "divx"}}}, tmp_path)


def test_huge_and_deep_payloads_hit_the_limits(shot, tmp_path):
    path, scene = shot
    d = request_for(path, [drag_for(scene)], label="x" * 150)
    with mw.limits.override(max_text_bytes=400), pytest.raises(LimitExceededError,
                                                               match="request size"):
        parse(d, tmp_path)
    deep: list = []
    for _ in range(80):
        deep = [deep]
    with pytest.raises(InvalidInputError, match="max_json_depth"):
        parse({**d, "settings": {"seed": deep}}, tmp_path)


def test_uploads_are_named_by_id_only(shot, tmp_path):
    path, scene = shot
    base = request_for(path, [drag_for(scene)])
    for bad in ("../../etc", "abc", "/tmp/x"):
        with pytest.raises(UnsafePathError, match=r"source\.upload"):
            parse({**base, "source": {"upload": bad}}, tmp_path)
    with pytest.raises(MediaNotFoundError, match=r"source\.upload"):
        parse({**base, "source": {"upload": "0" * 32}}, tmp_path)


def test_diffusion_requests_name_the_missing_model(shot, tmp_path):
    from motionwright.models import ModelNotFoundError

    path, scene = shot
    with pytest.raises(ModelNotFoundError, match="motionwright models add sd15"):
        parse({**request_for(path, [drag_for(scene)]), "backend": "diffusion"}, tmp_path)


def test_diffusion_settings_are_checked_by_name(shot, tmp_path):
    path, scene = shot
    base = {**request_for(path, [drag_for(scene)]), "backend": "diffusion",
            "models": {"sd15": str(tmp_path)}}
    for settings, field in (({"memory": "huge"}, "settings.memory"),
                            ({"iterations": 0}, "iterations"),
                            ({"iterations": 2.5}, "settings.iterations"),
                            ({"size": [4, 4]}, "settings.size"),
                            ({"levels": "all"}, "settings.levels"),
                            ({"colour": 1}, "settings.colour")):
        with pytest.raises(InvalidInputError) as info:
            parse({**base, "settings": settings}, tmp_path)
        assert field in str(info.value)


def test_settings_of_a_method_that_takes_none_here_are_refused(shot, tmp_path):
    path, _ = shot
    d = request_for(path, [mw.PromptEdit("a bronze robot")], backend="diffusion",
                    settings={"steps": 5})
    with pytest.raises(InvalidInputError, match=r"settings: .*prompt.*remove steps"):
        parse(d, tmp_path)
