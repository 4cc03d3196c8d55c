"""Hostile structured files: each kind of attack gets a typed error, in bounded time and memory."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from motionwright import Mask, MotionEmbedding, PointSet, Project, Trajectory, limits
from motionwright.errors import (
    CorruptFileError,
    InvalidInputError,
    LimitExceededError,
    MediaNotFoundError,
)
from motionwright.io import images, rle, tracks


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- JSON ------------------------------------------------------------------------------------

@pytest.mark.parametrize("load", [PointSet.load, Trajectory.load, Mask.load, Project.load,
                                  images.read_sidecar])
def test_deeply_nested_json_is_refused_before_parsing(load, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"schema": "X.1", "points": ' + _nested(200_000) + "}")
    with pytest.raises(LimitExceededError, match="max_json_depth") as info:
        load(path)
    assert "deep.json" in str(info.value) and "MOTIONWRIGHT_MAX_JSON_DEPTH" in str(info.value)


def test_nesting_inside_strings_does_not_count(tmp_path):
    path = tmp_path / "p.json"
    PointSet([[1, 2]]).save(path)
    payload = json.loads(path.read_text())
    payload["note"] = "[" * 1000 + '\\"{'
    path.write_text(json.dumps(payload))
    assert PointSet.load(path) == PointSet([[1, 2]])


def test_raised_depth_limit_lets_a_trusted_file_through(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"schema": "PointSet.1", "points": [[1, 2]],
                                "extra": json.loads(_nested(100))}))
    with pytest.raises(LimitExceededError):
        PointSet.load(path)
    with limits.override(max_json_depth=200):
        assert len(PointSet.load(path)) == 1


def test_huge_numbers_and_oversized_files_are_refused(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"schema": "PointSet.1", "frame": ' + "9" * 100_000 + ', "points": []}')
    with pytest.raises(LimitExceededError, match="max_number_digits"):
        PointSet.load(path)
    PointSet([[1, 2]] * 100).save(path)
    with limits.override(max_text_bytes=100), pytest.raises(LimitExceededError,
                                                            match="max_text_bytes"):
        PointSet.load(path)


@pytest.mark.parametrize("version", ["4" * 5000, "²"])
def test_schema_versions_that_are_not_plain_numbers_are_wrong_schemas(version, tmp_path):
    path = tmp_path / "s.mwseq.json"
    path.write_text(json.dumps({"schema": f"ImageSequence.{version}", "fps": "24/1"}))
    with pytest.raises(CorruptFileError, match="wrong schema"):
        images.read_sidecar(path)


def test_motion_metadata_json_is_bounded_too(tmp_path):
    import safetensors.numpy

    path = tmp_path / "m.motion"
    path.write_bytes(safetensors.numpy.save(
        {"tokens": np.zeros((2, 1, 1), np.float32)},
        metadata={"schema": "MotionEmbedding.1", "motionwright": _nested(10_000)}))
    with pytest.raises(LimitExceededError, match="max_json_depth"):
        MotionEmbedding.load(path)


@pytest.mark.parametrize("field", ["labels", "ids"])
def test_one_long_string_in_a_number_list_does_not_blow_up_memory(field, tmp_path):
    path = tmp_path / "p.json"
    points = [[0, 0]] * 10_000
    path.write_text(json.dumps({"schema": "PointSet.1", "points": points,
                                field: ["a" * 100_000] + [1] * 9_999}))
    with pytest.raises(CorruptFileError, match=f"{field}: expected numbers"):
        PointSet.load(path)


def test_text_among_visibility_and_rle_counts_is_refused(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"schema": "Trajectory.1", "tracks": [[[1, 2]]] * 10_000,
                                "visible": [["a" * 100_000]] + [[1]] * 9_999}))
    with pytest.raises(CorruptFileError, match="visible: expected numbers"):
        Trajectory.load(path)
    with pytest.raises(InvalidInputError, match="rle counts: expected numbers"):
        rle.decode({"size": [100, 100], "counts": ["a" * 100_000] + [1] * 9_999})


# -- project ---------------------------------------------------------------------------------

def _write_project(path, clips, edits=None):
    path.write_text(json.dumps({"schema": "Project.1", "clips": clips, "edits": edits or {},
                                "motions": {}}))


def test_project_with_many_clips_loads_in_linear_time(tmp_path):
    path = tmp_path / "big.mwproj"
    _write_project(path, [{"id": f"c{i}", "path": f"m{i}.mp4"} for i in range(20_000)])
    assert len(Project.load(path).clips) == 20_000
    _write_project(path, [{"id": "same", "path": f"m{i}.mp4"} for i in range(20_000)])
    with pytest.raises(CorruptFileError, match="'same' twice"):
        Project.load(path)


def test_project_with_unhashable_or_hostile_values_gets_typed_errors(tmp_path):
    path = tmp_path / "bad.mwproj"
    for clips, edits in [([{"id": ["a"], "path": "m.mp4"}], None),
                         ([{"id": "a", "path": {"x": 1}}], None),
                         ([{"id": "a", "path": "m.mp4"}], {"a": [{"kind": ["drag"]}]}),
                         ([{"id": "a", "path": "m.mp4", "in_frame": 1e300}], None)]:
        _write_project(path, clips, edits)
        with pytest.raises(CorruptFileError, match=r"bad\.mwproj"):
            Project.load(path)


def test_unlookupable_media_paths_are_missing_not_oserrors(tmp_path):
    path = tmp_path / "odd.mwproj"
    nul, long = "clip\u0000.mp4", "x" * 5000 + ".mp4"
    _write_project(path, [{"id": "a", "path": nul}, {"id": "b", "path": long},
                          {"id": "c", "path": "y" * 5000 + "/f.%04d.png"}])
    project = Project.load(path)
    assert len(project.missing_media()) == 3
    with pytest.raises(MediaNotFoundError, match="clip 'a'"):
        Project.load(path, check_media=True)


# -- After Effects keyframe text -------------------------------------------------------------

AE_TEXT = ("Adobe After Effects 8.0 Keyframe Data\n\n\tUnits Per Second\t{rate}\n"
           "\tSource Width\t{w}\n\tSource Height\t{h}\n\n"
           "Motion Trackers\tTracker #1\tTrack Point #1\tFeature Center\n"
           "\tFrame\tX pixels\tY pixels\t\n\t0\t1.5\t2.5\t\n\t{last}\t3.5\t4.5\t\n\n"
           "End of Keyframe Data\n")


def _ae(tmp_path, rate="25", w="640", h="360", last="2"):
    path = tmp_path / "ae.txt"
    path.write_text(AE_TEXT.format(rate=rate, w=w, h=h, last=last))
    return path


def test_ae_huge_frame_span_is_refused_before_allocating(tmp_path):
    with pytest.raises(LimitExceededError, match="max_frames"):
        tracks.load_ae_keyframes(_ae(tmp_path, last="1000000000000"))
    with pytest.raises(CorruptFileError, match="at most 18 digits"):
        tracks.load_ae_keyframes(_ae(tmp_path, last="9" * 5000))
    with limits.override(max_frames=10):
        with pytest.raises(LimitExceededError, match="max_frames = 10"):
            tracks.load_ae_keyframes(_ae(tmp_path, last="11"))
        assert tracks.load_ae_keyframes(_ae(tmp_path, last="9"))[0].num_frames == 10


def test_ae_track_point_numbers_that_are_not_plain_numbers_give_ids_in_order(tmp_path):
    for number in ("9" * 5000, "²", "0"):
        path = tmp_path / "ae.txt"
        path.write_text(AE_TEXT.format(rate="25", w="640", h="360", last="2").replace(
            "Track Point #1", f"Track Point #{number}"))
        assert tracks.load_ae_keyframes(path)[0].ids.tolist() == [0]


@pytest.mark.parametrize("rate", ["inf", "nan", "1e400", "-25", "0", "fast", "1e-300"])
def test_ae_bad_rates_are_typed_errors(rate, tmp_path):
    with pytest.raises(CorruptFileError, match="Units Per Second"):
        tracks.load_ae_keyframes(_ae(tmp_path, rate=rate))


@pytest.mark.parametrize(("w", "h", "error"), [("inf", "360", CorruptFileError),
                                               ("-640", "360", CorruptFileError),
                                               ("640.5", "360", CorruptFileError),
                                               ("1e9", "1e9", LimitExceededError)])
def test_ae_bad_sizes_are_typed_errors(w, h, error, tmp_path):
    with pytest.raises(error, match="Source Width"):
        tracks.load_ae_keyframes(_ae(tmp_path, w=w, h=h))


# -- .npz tracks -----------------------------------------------------------------------------

def _npy(header: str, data: bytes) -> bytes:
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


def _npz(path, members: dict[str, bytes], compress=False):
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, payload in members.items():
            archive.writestr(name + ".npy", payload)
    return path


def _good_members():
    buf = io.BytesIO()
    np.savez(buf, tracks=np.zeros((3, 2, 2), np.float32), visible=np.ones((3, 2), bool))
    with zipfile.ZipFile(buf) as archive:
        return {n[:-4]: archive.read(n) for n in archive.namelist()}


@pytest.mark.parametrize("header", [
    "{'descr': '<f4', 'fortran_order': False, 'shape': (",  # tokenize error
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 2), 'x': __import__('os')}",
    "{'descr': '|O', 'fortran_order': False, 'shape': (3, 2, 2), }",
    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3, 2, 2), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, -2, 2), }",
    "[1, 2, 3]",
    "{'descr': 7, 'fortran_order': False, 'shape': (3, 2, 2), }",
])
def test_npz_malformed_headers_are_corrupt_files(header, tmp_path):
    members = _good_members()
    members["tracks"] = _npy(header, bytes(48))
    with pytest.raises(CorruptFileError, match=r"bad\.npz"):
        Trajectory.load(_npz(tmp_path / "bad.npz", members))


def test_npz_huge_declared_shape_is_refused_before_allocating(tmp_path):
    members = _good_members()
    members["tracks"] = _npy("{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (100000, 100000, 2), }", bytes(48))
    with pytest.raises(LimitExceededError, match="max_array_bytes"):
        Trajectory.load(_npz(tmp_path / "huge.npz", members))
    members["tracks"] = _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2, 2), }",
                             bytes(48))
    with pytest.raises(CorruptFileError, match="holds 48 bytes"):
        Trajectory.load(_npz(tmp_path / "short.npz", members))


def test_npz_zip_bomb_is_refused_by_its_declared_size(tmp_path):
    members = _good_members()
    members["visible"] = members["visible"][:128] + bytes(8 * 2**20)
    path = _npz(tmp_path / "bomb.npz", members, compress=True)
    assert path.stat().st_size < 100_000
    with limits.override(max_array_bytes=2**20), pytest.raises(LimitExceededError,
                                                               match="uncompressed size"):
        Trajectory.load(path)


def test_npz_lying_about_its_size_is_a_corrupt_file(tmp_path):
    path = _npz(tmp_path / "lie.npz", _good_members(), compress=True)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PK\x01\x02")  # first central directory entry: declared size at +24
    raw[at + 24: at + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match=r"lie\.npz"):
        Trajectory.load(path)


def test_npz_track_counts_are_limited(tmp_path):
    path = tmp_path / "t.npz"
    Trajectory(np.zeros((20, 3, 2)), np.ones((20, 3), bool)).save(path)
    with limits.override(max_frames=19), pytest.raises(LimitExceededError, match="max_frames"):
        Trajectory.load(path)
    with limits.override(max_points=2), pytest.raises(LimitExceededError, match="max_points"):
        Trajectory.load(path)


def test_npy_file_is_not_an_npz(tmp_path):
    path = tmp_path / "single.npz"
    np.save(path.with_suffix(".npy"), np.zeros(3))
    path.with_suffix(".npy").rename(path)
    with pytest.raises(CorruptFileError, match=r"single \.npy array"):
        Trajectory.load(path)


# -- RLE masks -------------------------------------------------------------------------------

def test_rle_claiming_gigapixels_is_refused(tmp_path):
    with pytest.raises(LimitExceededError, match="max_pixels"):
        rle.decode({"size": [100_000, 100_000], "counts": rle.counts_to_string([10**10])})
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"schema": "Mask.1", "frames": [
        {"size": [60_000, 60_000], "counts": [3_600_000_000]}]}))
    with pytest.raises(LimitExceededError, match="max_pixels"):
        Mask.load(path)


def test_rle_mask_frames_and_total_size_are_limited(tmp_path):
    path = tmp_path / "m.json"
    Mask(np.zeros((30, 4, 4), bool)).save(path)
    with limits.override(max_frames=29), pytest.raises(LimitExceededError, match="max_frames"):
        Mask.load(path)
    with limits.override(max_array_bytes=400), pytest.raises(LimitExceededError,
                                                             match="max_array_bytes"):
        Mask.load(path)


@pytest.mark.parametrize("counts", [
    [0, 2**62, 2**62, 2**62, 2**62 + 4],  # wraps around int64 to exactly 2x2 = 4
    [0] * 100 + [4],  # more runs than pixels
    "1" + "[" * 100_000 + "1",  # one "number" 100 000 characters long
    "0" * 10_000,  # far more text than 2x2 pixels need
])
def test_rle_counts_that_would_hang_or_blow_up_are_refused(counts, tmp_path):
    with pytest.raises(InvalidInputError, match="rle counts"):
        rle.decode({"size": [2, 2], "counts": counts})
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"schema": "Mask.1", "frames": [{"size": [2, 2],
                                                                "counts": counts}]}))
    with pytest.raises(CorruptFileError, match=r"m\.json"):
        Mask.load(path)


# -- PNG mask sequences ----------------------------------------------------------------------

def _png_header_only(width: int, height: int) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)))


def test_png_mask_declaring_gigapixels_is_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(LimitExceededError, match=r"100000x100000 pixels"):
        Mask.load(tmp_path / "bomb.png")


def test_project_first_frame_png_declaring_gigapixels_is_refused(tmp_path):
    import base64

    from motionwright.edits import TrajectoryEdit

    project = Project(clips=["shot.mp4"])
    edit = TrajectoryEdit(Mask(np.ones((2, 2), bool)),
                          Trajectory(np.zeros((1, 1, 2)), np.ones((1, 1), bool)),
                          np.zeros((2, 2, 3), np.uint8))
    project.add_edit("shot", edit)
    path = project.save(tmp_path / "p.mwproj")
    payload = json.loads(path.read_text())
    payload["edits"]["shot"][0]["first_frame"]["png"] = base64.b64encode(
        _png_header_only(100_000, 100_000)).decode()
    path.write_text(json.dumps(payload))
    with pytest.raises(LimitExceededError, match="first_frame PNG"):
        Project.load(path)


def test_png_mask_sequence_with_a_far_frame_number_is_a_quick_gap_error(tmp_path):
    Mask(np.ones((2, 3, 3), bool)).save(tmp_path / "m.%04d.png")
    (tmp_path / "m.0001.png").rename(tmp_path / "m.99999999999999.png")
    with pytest.raises(CorruptFileError, match="frame 1 is missing"):
        Mask.load(tmp_path / "m.%04d.png")


def test_png_mask_sequence_length_is_limited(tmp_path):
    Mask(np.ones((5, 3, 3), bool)).save(tmp_path / "m.%04d.png")
    with limits.override(max_frames=4), pytest.raises(LimitExceededError, match="max_frames"):
        Mask.load(tmp_path / "m.%04d.png")
    assert Mask.load(tmp_path / "m.%04d.png").num_frames == 5


def test_json_tracks_and_points_are_limited(tmp_path):
    path = tmp_path / "t.json"
    Trajectory(np.zeros((6, 4, 2)), np.ones((6, 4), bool)).save(path)
    with limits.override(max_frames=5), pytest.raises(LimitExceededError, match=r"t\.json"):
        Trajectory.load(path)
    with limits.override(max_points=3), pytest.raises(LimitExceededError, match="max_points"):
        Trajectory.load(path)
    PointSet(np.zeros((4, 2))).save(path)
    with limits.override(max_points=3), pytest.raises(LimitExceededError, match="max_points"):
        PointSet.load(path)
