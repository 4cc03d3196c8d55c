"""Loader limits: defaults, environment variables, process-wide and scoped overrides."""

from __future__ import annotations

import pytest

import motionwright as mw
from motionwright import limits
from motionwright.errors import CorruptFileError, InvalidInputError, LimitExceededError


def test_defaults_are_positive_and_reachable_through_mw():
    assert mw.limits.current() == limits.Limits.from_env({})
    assert limits.Limits().max_json_depth == 64


def test_environment_variable_raises_a_limit(monkeypatch):
    monkeypatch.setenv("MOTIONWRIGHT_MAX_FRAMES", "5_000_000")
    assert limits.current().max_frames == 5_000_000


def test_bad_environment_value_is_a_typed_error(monkeypatch):
    monkeypatch.setenv("MOTIONWRIGHT_MAX_FRAMES", "lots")
    with pytest.raises(InvalidInputError, match="MOTIONWRIGHT_MAX_FRAMES"):
        limits.current()
    monkeypatch.setenv("MOTIONWRIGHT_MAX_FRAMES", "0")
    with pytest.raises(InvalidInputError, match="max_frames"):
        limits.current()


def test_override_is_scoped_and_checks_names():
    before = limits.current().max_points
    with limits.override(max_points=3) as inside:
        assert inside.max_points == 3 == limits.current().max_points
    assert limits.current().max_points == before
    with pytest.raises(InvalidInputError, match="max_pointz"), limits.override(max_pointz=3):
        pass


def test_set_limits_applies_to_the_process_until_reset():
    try:
        assert limits.set_limits(max_pixels=10).max_pixels == 10
        assert limits.current().max_pixels == 10
    finally:
        limits.set_limits()
    assert limits.current().max_pixels == limits.Limits().max_pixels
    with pytest.raises(InvalidInputError, match="unknown limit 'max_pixel'"):
        limits.set_limits(max_pixel=10)


def test_check_names_limit_value_and_how_to_raise_it():
    with pytest.raises(LimitExceededError) as info:
        limits.Limits(max_frames=10).check("max_frames", 11, "'a.npz' frames")
    text = str(info.value)
    assert "'a.npz' frames: 11 is above the limit max_frames = 10" in text
    assert "MOTIONWRIGHT_MAX_FRAMES" in text and "override(max_frames=" in text
    assert isinstance(info.value, CorruptFileError)
    assert limits.Limits(max_frames=10).check("max_frames", 10, "x") == 10
