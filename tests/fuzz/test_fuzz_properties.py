"""Property-based fuzzing of the payload parsers (in process: every input here is small).

A valid payload with some fields replaced by arbitrary JSON values must give back a valid
object that round-trips through ``to_dict``, or raise a MotionwrightError, never anything else.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fuzz_formats import _mask, _motion, _points, _trajectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motionwright import Mask, MotionEmbedding, PointSet, Project, Trajectory, _safejson
from motionwright.edits import DragEdit
from motionwright.errors import MotionwrightError
from motionwright.io import rle
from motionwright.project import ClipRef

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=25)


def _replace_fields(payload: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    keys = [*sorted(payload), "extra"]
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        payload[key] = data.draw(json_values)
    return payload


def _check(from_dict: Any, payload: dict[str, Any]) -> None:
    try:
        loaded = from_dict(payload)
    except MotionwrightError:
        return
    assert from_dict(loaded.to_dict()) == loaded


@SETTINGS
@given(st.data())
def test_pointset_payloads(data):
    _check(PointSet.from_dict, _replace_fields(_points().to_dict(), data))


@SETTINGS
@given(st.data())
def test_trajectory_payloads(data):
    _check(Trajectory.from_dict, _replace_fields(_trajectory().to_dict(), data))


@SETTINGS
@given(st.data())
def test_mask_payloads(data):
    _check(Mask.from_dict, _replace_fields(_mask().to_dict(), data))


@SETTINGS
@given(st.data())
def test_motion_payloads(data):
    _check(MotionEmbedding.from_dict, _replace_fields(_motion().to_dict(), data))


@SETTINGS
@given(st.data())
def test_project_edit_payloads(data):
    handles = _points()
    edit = DragEdit(handles, handles.with_points(handles.points + 1), _mask())
    payload = Project(clips=[ClipRef("/media/a.mp4", "a")], edits={"a": [edit]}).to_dict()
    _replace_fields(payload["edits"]["a"][0], data)
    _check(Project.from_dict, payload)


@SETTINGS
@given(st.lists(st.integers(-3, 40), max_size=3), st.one_of(
    st.lists(st.integers(-5, 2**64), max_size=12), st.text(max_size=40), json_values))
def test_rle_decode_gives_the_declared_size_or_a_typed_error(size, counts):
    try:
        mask = rle.decode({"size": size, "counts": counts})
    except MotionwrightError:
        return
    assert mask.shape == tuple(size) and mask.dtype == np.bool_
    assert np.array_equal(rle.decode(rle.encode(mask, compressed=True)), mask)


@SETTINGS
@given(st.binary(max_size=200) | st.text(alphabet='[]{}"\\,:0123456789e.- ax', max_size=200))
def test_bounded_json_parse_returns_or_raises_typed(raw):
    try:
        _safejson.parse(raw, "fuzz.json", "test file")
    except MotionwrightError:
        pass
