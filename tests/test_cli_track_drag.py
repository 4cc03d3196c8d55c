"""``motionwright track`` and ``motionwright drag``: outputs, round trips and one-line errors."""

import numpy as np
import pytest

import motionwright as mw
from motionwright.cli.main import main
from motionwright.errors import CorruptFileError
from motionwright.synthetic import make_moving_objects


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shot")
    scene = make_moving_objects(10, (128, 96), seed=7, num_objects=1, max_speed=3,
                                points_per_object=3)
    path = folder / "shot.mp4"
    mw.Clip.from_frames(scene.frames).save(path, codec="h264", crf=12)
    return path, scene


def test_track_writes_npz_and_json_that_load_back(shot, tmp_path):
    path, scene = shot
    x, y = scene.tracks[2, 0]
    out = tmp_path / "tracks.npz"
    assert main(["track", str(path), "--points", f"{x},{y}", "40,30", "--frame", "2",
                 "-o", str(out)]) == 0
    traj = mw.Trajectory.load(out)
    assert (traj.num_frames, traj.num_points) == (10, 2)
    np.testing.assert_allclose(traj.tracks[2], [[x, y], [40, 30]], atol=1e-4)
    np.testing.assert_allclose(traj.tracks[:, 0], scene.tracks[:, 0], atol=1.0)
    js = tmp_path / "tracks.json"
    assert main(["track", str(path), "--points", "40,30", "--range", "3:8", "--frame", "4",
                 "-o", str(js)]) == 0
    part = mw.Trajectory.load(js)
    assert (part.start_frame, part.num_frames) == (3, 5)


def test_track_overlay_video(shot, tmp_path):
    path, _ = shot
    video = tmp_path / "overlay.mp4"
    assert main(["track", str(path), "--points", "40,30", "-o", str(tmp_path / "t.npz"),
                 "--overlay", str(video)]) == 0
    overlay = mw.Clip.open(video)
    assert len(overlay) == 10 and overlay.size == (128, 96)


def test_drag_renders_and_compares(shot, tmp_path):
    path, scene = shot
    x, y = scene.tracks[0, 0]
    out = tmp_path / "drag" / "f.%04d.png"  # lossless, to check the pixels
    cmp = tmp_path / "compare.mp4"
    assert main(["drag", str(path), "--handle", f"{x},{y}", "--target", f"{x + 8},{y - 4}",
                 "--mask-box", "10,10,100,70", "-o", str(out), "--compare", str(cmp)]) == 0
    result = mw.Clip.open(out)
    assert len(result) == 10 and result.size == (128, 96)
    assert mw.Clip.open(cmp).size == (256, 96)
    src = mw.Clip.open(path)
    outside = np.ones((96, 128), bool)
    outside[10:80, 10:110] = False
    for i in (0, 5, 9):
        assert np.array_equal(result[i][outside], src[i][outside])
        assert not np.array_equal(result[i], src[i])


def test_drag_with_a_mask_file(shot, tmp_path):
    path, scene = shot
    mask_path = tmp_path / "mask.png"
    mw.Mask.from_box(20, 20, 80, 60, (128, 96)).save(mask_path)
    x, y = scene.tracks[0, 0]
    assert main(["drag", str(path), "--handle", f"{x},{y}", "--target", f"{x + 5},{y}",
                 "--mask", str(mask_path), "-o", str(tmp_path / "d.mp4")]) == 0


@pytest.mark.parametrize("argv, words", [
    (["track", "{shot}", "--points", "500,10", "-o", "{tmp}/t.npz"], "outside"),
    (["track", "{shot}", "--points", "10,10", "--frame", "40", "-o", "{tmp}/t.npz"], "frame"),
    (["track", "{shot}", "--points", "10,10", "-o", "{tmp}/t.csv"], ".npz or .json"),
    (["track", "{tmp}/missing.mp4", "--points", "10,10", "-o", "{tmp}/t.npz"], "missing.mp4"),
    (["drag", "{shot}", "--handle", "10,10", "--handle", "20,20", "--target", "15,10",
      "-o", "{tmp}/d.mp4"], "pairs"),
    (["drag", "{shot}", "--handle", "10,10", "--target", "15,10", "--frame", "99",
      "-o", "{tmp}/d.mp4"], "frame"),
    (["drag", "{shot}", "--handle", "10,10", "--target", "15,10", "--mask", "{tmp}/small.png",
      "-o", "{tmp}/d.mp4"], "size"),
])
def test_bad_input_is_one_line_and_exit_2(shot, tmp_path, capsys, argv, words):
    mw.Mask.from_box(0, 0, 10, 10, (64, 48)).save(tmp_path / "small.png")
    args = [a.format(shot=shot[0], tmp=tmp_path) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
    assert not (tmp_path / "t.npz").exists() and not (tmp_path / "d.mp4").exists()


def test_track_file_of_the_wrong_layout_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, positions=np.zeros((3, 2, 2)))
    with pytest.raises(CorruptFileError, match="not a track file"):
        mw.Trajectory.load(bad)


def test_drag_anchors_pin_points_in_place(shot, tmp_path):
    path, scene = shot
    (hx, hy), (ax, ay) = scene.tracks[0, 0], scene.tracks[0, 1]
    common = ["drag", str(path), "--handle", f"{hx},{hy}", "--target", f"{hx + 8},{hy}",
              "--mask-box", f"{min(hx, ax) - 24},{min(hy, ay) - 24},64,64"]
    assert main([*common, "-o", str(tmp_path / "free")]) == 0
    assert main([*common, "--anchor", f"{ax},{ay}", "-o", str(tmp_path / "pinned")]) == 0
    source, free, pinned = (mw.Clip.open(p)[0].astype(int)
                            for p in (path, tmp_path / "free", tmp_path / "pinned"))
    x, y = round(ax), round(ay)
    near = np.s_[y - 1:y + 2, x - 1:x + 2]
    assert np.abs(pinned[near] - source[near]).mean() < np.abs(free[near] - source[near]).mean()
    assert not np.array_equal(pinned, free)
