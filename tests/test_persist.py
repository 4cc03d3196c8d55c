"""Atomic writes and schema labels shared by every saved format."""

import json

import pytest

from motionwright._persist import atomic_open, read_json, upgrade, write_json
from motionwright.errors import CorruptFileError, MediaNotFoundError, SchemaVersionError


def test_write_json_round_trip(tmp_path):
    path = tmp_path / "sub" / "a.json"
    write_json(path, {"schema": "Thing.1", "x": [1, 2]})
    assert read_json(path, "thing") == {"schema": "Thing.1", "x": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]


def test_failed_write_leaves_nothing_and_keeps_old_file(tmp_path):
    path = tmp_path / "a.json"
    write_json(path, {"old": True})
    with pytest.raises(RuntimeError), atomic_open(path) as fh:
        fh.write("half")
        raise RuntimeError("crash")
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_nan_is_refused_and_nothing_written(tmp_path):
    with pytest.raises(ValueError):
        write_json(tmp_path / "n.json", {"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_read_json_errors(tmp_path):
    with pytest.raises(MediaNotFoundError, match=r"nope\.json"):
        read_json(tmp_path / "nope.json", "project")
    garbage = tmp_path / "g.json"
    garbage.write_bytes(b"\x00\xff not json")
    with pytest.raises(CorruptFileError, match="not a project"):
        read_json(garbage, "project")
    garbage.write_text("[1, 2]")
    with pytest.raises(CorruptFileError, match="JSON object"):
        read_json(garbage, "project")


def test_upgrade_steps_through_versions():
    upgraders = {1: lambda p: {"schema": p["schema"], "b": p["a"]},
                 2: lambda p: {**p, "c": p["b"] * 2}}
    out = upgrade({"schema": "T.1", "a": 3}, "T", 3, upgraders)
    assert out == {"schema": "T.3", "b": 3, "c": 6}


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        ({"schema": "T.9"}, SchemaVersionError, "newer Motionwright"),
        ({"schema": "Other.1"}, CorruptFileError, "expected 'T.<version>'"),
        ({}, CorruptFileError, "no schema label"),
        ({"schema": "T.x"}, CorruptFileError, "wrong schema"),
    ],
)
def test_upgrade_refuses(payload, error, match):
    with pytest.raises(error, match=match):
        upgrade(payload, "T", 2, {1: dict})
