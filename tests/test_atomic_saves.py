"""Saves that survive the saving process being killed, and the clean-up of what it left."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import motionwright as mw
from motionwright import Mask
from motionwright._atomic_folder import atomic_folder, recover_folder
from motionwright._persist import clean_stale, name_tag, read_json, write_json

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".mw-"))


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _masks():
    rng = np.random.default_rng(0)
    old = Mask(rng.random((3, 8, 10)) > 0.5, start_frame=0)
    new = Mask(rng.random((5, 8, 10)) > 0.5, start_frame=2)
    return old, new


def _kill_during(loop, delay):
    """Fork a child that runs ``loop`` forever; SIGKILL it after ``delay`` seconds."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        try:
            loop()
        finally:
            os._exit(0)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@needs_fork
def test_png_sequence_mask_is_wholly_old_or_new_after_kill_9(tmp_path):
    old, new = _masks()
    folder = tmp_path / "matte"
    old.save(folder)

    def save_forever():
        while True:
            new.save(folder)
            old.save(folder)

    rng = random.Random(1)
    litter = 0
    for _ in range(14):
        _kill_during(save_forever, rng.uniform(0.0, 0.04))
        litter += bool(_temps(tmp_path) or _temps(folder))
        loaded = Mask.load(folder)
        assert loaded in (old, new)
    assert litter > 0  # the kills did land in the middle of saves
    old.save(folder)
    assert _temps(tmp_path) == [] and _temps(folder) == []
    assert Mask.load(folder) == old


@needs_fork
def test_single_file_save_after_kill_9_is_old_or_new_and_leaves_no_temp(tmp_path):
    path = tmp_path / "state.json"
    write_json(path, {"schema": "T.1", "n": 0})
    big = list(range(20000))

    def save_forever():
        n = 0
        while True:
            n += 1
            write_json(path, {"schema": "T.1", "n": n, "pad": big})

    rng = random.Random(2)
    for _ in range(12):
        _kill_during(save_forever, rng.uniform(0.0, 0.05))
        assert read_json(path, "state")["schema"] == "T.1"
    write_json(path, {"schema": "T.1", "n": -1})
    assert _temps(tmp_path) == []
    assert json.loads(path.read_text())["n"] == -1


def _half_swapped(tmp_path, with_new):
    """The state a writer killed between its two renames leaves: folder moved aside, new
    version complete beside it (or already gone)."""
    old, new = _masks()
    folder = tmp_path / "matte"
    old.save(folder)
    pid, tag = _dead_pid(), name_tag("matte")
    folder.rename(tmp_path / f".mw-{pid}-{tag}-k1.old")
    if with_new:
        new.save(tmp_path / "staged")
        (tmp_path / "staged").rename(tmp_path / f".mw-{pid}-{tag}-k1.new")
    return folder, old, new


@pytest.mark.parametrize("with_new", [True, False])
def test_load_recovers_an_interrupted_swap(tmp_path, with_new):
    folder, old, new = _half_swapped(tmp_path, with_new)
    assert Mask.load(folder) == (new if with_new else old)
    assert folder.is_dir()


def test_stale_cleaning_keeps_the_only_copy_of_a_missing_folder(tmp_path):
    folder, old, _ = _half_swapped(tmp_path, with_new=False)
    assert clean_stale(tmp_path) == []  # the aside folder is all there is of 'matte'
    assert recover_folder(folder) and Mask.load(folder) == old
    assert not recover_folder(folder)  # nothing left to do


def test_stale_temps_of_dead_writers_go_and_the_rest_stays(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    names = [f".mw-{dead}-0123abcd-x1.part.json", f".mw-{alive}-0123abcd-x2.part",
             "notes.txt", ".hidden", f".mw-{dead}-0123abcd-x3.new"]
    for name in names[:4]:
        (tmp_path / name).write_text("x")
    (tmp_path / names[4]).mkdir()
    removed = clean_stale(tmp_path)
    assert sorted(p.name for p in removed) == sorted([names[0], names[4]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:4])


def test_folder_save_keeps_other_files_and_drops_old_frames(tmp_path):
    old, new = _masks()
    folder = tmp_path / "matte"
    new.save(folder)
    (folder / "notes.txt").write_text("keep me")
    (folder / "sub").mkdir()
    (folder / "sub" / "a.txt").write_text("me too")
    old.save(folder)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["mask.0000.png", "mask.0001.png", "mask.0002.png", "notes.txt", "sub"]
    assert (folder / "sub" / "a.txt").read_text() == "me too"
    assert Mask.load(folder) == old


def test_pattern_save_keeps_other_sequences_of_the_folder(tmp_path):
    old, new = _masks()
    old.save(tmp_path / "mattes" / "a.%04d.png")
    new.save(tmp_path / "mattes" / "b.%04d.png")
    old.save(tmp_path / "mattes" / "b.%04d.png")
    assert Mask.load(tmp_path / "mattes" / "a.%04d.png") == old
    assert Mask.load(tmp_path / "mattes" / "b.%04d.png") == old


def test_failed_folder_save_leaves_the_old_folder_and_no_temp(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(folder) as stage:
        (stage / "a.txt").write_text("new")
        raise RuntimeError("crash")
    assert (folder / "a.txt").read_text() == "old"
    assert _temps(tmp_path) == []


def test_folder_save_through_a_symlink_replaces_the_real_folder(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with atomic_folder(tmp_path / "link") as stage:
        (stage / "a.txt").write_text("new")
    assert (tmp_path / "link").is_symlink()
    assert (real / "a.txt").read_text() == "new"


def test_clip_open_recovers_an_interrupted_swap_of_a_sequence(tmp_path):
    frames = np.zeros((2, 6, 8, 3), np.uint8)
    mw.Clip.from_frames(frames, fps=25).save(tmp_path / "seq", codec="png")
    pid = _dead_pid()
    (tmp_path / "seq").rename(tmp_path / f".mw-{pid}-{name_tag('seq')}-k1.old")
    clip = mw.Clip.open(tmp_path / "seq")
    assert len(clip) == 2 and clip.fps == 25


def test_clip_png_save_that_fails_midway_keeps_the_old_sequence(tmp_path):
    from fractions import Fraction

    folder = tmp_path / "seq"
    old = np.full((4, 16, 16, 3), 10, np.uint8)
    mw.Clip.from_frames(old, fps=Fraction(24)).save(folder, codec="png")
    (folder / "notes.txt").write_text("keep me")

    class Failing:
        fps, size, start_timecode = Fraction(24), (16, 16), None

        def __len__(self):
            return 6

        def read(self, index):
            if index == 3:
                raise RuntimeError("renderer died")
            return np.full((16, 16, 3), 200, np.uint8)

    with pytest.raises(RuntimeError, match="renderer died"):
        mw.Clip.from_source(Failing()).save(folder, codec="png")
    back = mw.Clip.open(folder)
    assert len(back) == 4 and int(back[3].max()) == 10
    assert (folder / "notes.txt").read_text() == "keep me"
    assert _temps(tmp_path) == [] and _temps(folder) == []
