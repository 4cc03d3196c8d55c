import json
import struct
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import safetensors.numpy

from motionwright import MotionEmbedding
from motionwright.errors import (
    CorruptFileError,
    IncompatibleMotionError,
    InvalidInputError,
    MediaNotFoundError,
    SchemaVersionError,
    ShapeError,
)

BASE = {"family": "svd-img2vid", "embedding_dim": 16, "fingerprint": "c0ffee"}


def make(f=14, n=5, d=16, training=True):
    rng = np.random.default_rng(0)
    return MotionEmbedding(
        rng.standard_normal((f + 1, n, d)),
        base_model=dict(BASE, embedding_dim=d),
        source={"path": "/shots/ref.mov", "frame_range": (10, 24), "fps": Fraction(24000, 1001),
                "size": (1024, 576)},
        training={"steps": 300, "lr": 0.01, "seed": 7, "loss_curve": [0.9, 0.4, 0.5],
                  "wall_time_s": 12.5} if training else None,
    )


def test_shapes_and_views():
    me = make()
    assert me.tokens.dtype == np.float32 and me.tokens.shape == (15, 5, 16)
    assert (me.num_frames, me.tokens_per_frame, me.embedding_dim) == (14, 5, 16)
    assert me.frame_tokens.shape == (14, 5, 16)
    assert np.array_equal(me.temporal_tokens, me.tokens[-1])
    assert me.kind == "motion-textual-inversion"
    assert me.source["fps"] == "24000/1001" and me.source["frame_range"] == [10, 24]
    with pytest.raises(ValueError):
        me.tokens[0, 0, 0] = 1.0
    me.base_model["family"] = "changed"
    assert me.base_model["family"] == "svd-img2vid"
    assert "frames=14" in repr(me)


def test_validation():
    with pytest.raises(ShapeError, match=r"\(F\+1, N, d\)"):
        MotionEmbedding(np.zeros((4, 16)), base_model=BASE)
    with pytest.raises(ShapeError, match="F >= 1"):
        MotionEmbedding(np.zeros((1, 5, 16)), base_model=BASE)
    bad = np.zeros((3, 2, 16))
    bad[1, 1, 3] = np.nan
    with pytest.raises(InvalidInputError, match=r"tokens.*\(1, 1, 3\)"):
        MotionEmbedding(bad, base_model=BASE)
    with pytest.raises(ShapeError, match=r"embedding_dim is 16.*d = 8"):
        MotionEmbedding(np.zeros((3, 2, 8)), base_model=BASE)
    with pytest.raises(InvalidInputError, match="fingerprint"):
        MotionEmbedding(np.zeros((3, 2, 16)), base_model={"family": "svd", "embedding_dim": 16})
    with pytest.raises(InvalidInputError, match="base_model"):
        MotionEmbedding(np.zeros((3, 2, 16)))
    with pytest.raises(InvalidInputError, match="kind"):
        MotionEmbedding(np.zeros((3, 2, 16)), kind="", base_model=BASE)
    with pytest.raises(InvalidInputError, match="training"):
        MotionEmbedding(np.zeros((3, 2, 16)), base_model=BASE, training={"loss": float("nan")})
    with pytest.raises(InvalidInputError, match="loss_curve"):
        MotionEmbedding(np.zeros((3, 2, 16)), base_model=BASE, training={"loss_curve": "low"})
    with pytest.raises(InvalidInputError, match="source"):
        MotionEmbedding(np.zeros((3, 2, 16)), base_model=BASE, source={"clip": object()})


def test_check_compatible():
    me = make()
    me.check_compatible(dict(BASE, extra="ignored"))
    other = {"family": "sd15", "embedding_dim": 768, "fingerprint": "beef"}
    with pytest.raises(IncompatibleMotionError) as info:
        me.check_compatible(other)
    msg = str(info.value)
    for part in ("svd-img2vid", "sd15", "16", "768", "c0ffee", "beef", "learn the motion again"):
        assert part in msg
    with pytest.raises(IncompatibleMotionError, match="fingerprint differ"):
        me.check_compatible(dict(BASE, fingerprint="other"))
    with pytest.raises(InvalidInputError, match="family"):
        me.check_compatible({"embedding_dim": 16, "fingerprint": "c0ffee"})


def test_summary():
    s = make().summary()
    assert s["shape"] == [15, 5, 16] and s["kind"] == "motion-textual-inversion"
    assert s["base_model"] == BASE and s["source"]["size"] == [1024, 576]
    assert s["training"] == {"steps": 300, "lr": 0.01, "seed": 7, "loss_first": 0.9,
                             "loss_last": 0.5, "loss_min": 0.4, "wall_time_s": 12.5}
    json.dumps(s)
    assert make(training=False).summary()["training"] is None


def test_motion_file_round_trip(tmp_path):
    me = make()
    path = tmp_path / "walk.motion"
    me.save(path)
    back = MotionEmbedding.load(path)
    assert back == me and back.tokens.dtype == np.float32
    with safetensors.safe_open(path, framework="numpy") as fh:
        meta = fh.metadata()
        assert list(fh.keys()) == ["tokens"]
    assert meta["schema"] == "MotionEmbedding.1"
    assert json.loads(meta["motionwright"])["base_model"] == BASE
    assert not list(tmp_path.glob(".*"))
    assert me != make(training=False)


def test_dict_round_trip():
    me = make()
    d = json.loads(json.dumps(me.to_dict()))
    assert d["schema"] == "MotionEmbedding.1" and d["shape"] == [15, 5, 16]
    assert MotionEmbedding.from_dict(d) == me
    with pytest.raises(CorruptFileError, match="do not fill"):
        MotionEmbedding.from_dict({**d, "shape": [15, 5, 17]})


def test_load_does_not_import_torch(tmp_path):
    path = tmp_path / "m.motion"
    make().save(path)
    code = ("import sys, motionwright as mw; mw.MotionEmbedding.load(sys.argv[1]); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)


def test_not_a_motion_file(tmp_path):
    path = tmp_path / "x.motion"
    good = tmp_path / "good.motion"
    make().save(good)
    cases = {
        "garbage": b"\x13\x37 definitely not safetensors" * 10,
        "json": json.dumps({"schema": "MotionEmbedding.1"}).encode(),
        "empty": b"",
        "truncated": good.read_bytes()[:-100],
        "plain safetensors": safetensors.numpy.save({"tokens": np.zeros((3, 2, 16), np.float32)}),
        "other metadata": safetensors.numpy.save({"w": np.zeros(2, np.float32)},
                                                 metadata={"format": "pt"}),
    }
    for name, blob in cases.items():
        path.write_bytes(blob)
        with pytest.raises(CorruptFileError, match=r"x\.motion") as info:
            MotionEmbedding.load(path)
        assert not isinstance(info.value, SchemaVersionError), name
    meta = {"schema": "MotionEmbedding.1", "motionwright": json.dumps({"kind": "k"})}
    path.write_bytes(safetensors.numpy.save({"w": np.zeros(2, np.float32)}, metadata=meta))
    with pytest.raises(CorruptFileError, match=r"base_model|tokens"):
        MotionEmbedding.load(path)
    with pytest.raises(MediaNotFoundError):
        MotionEmbedding.load(tmp_path / "missing.motion")


def test_future_schema(tmp_path):
    me = make()
    path = tmp_path / "future.motion"
    me.save(path)
    blob = path.read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    header["__metadata__"]["schema"] = "MotionEmbedding.2"
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + blob[8 + n:])
    with pytest.raises(SchemaVersionError, match=r"MotionEmbedding\.2.*future\.motion"):
        MotionEmbedding.load(path)
