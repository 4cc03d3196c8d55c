"""The preview renders the same edit the same way every time, whatever ran before it."""

import cv2
import numpy as np
import pytest

import motionwright as mw
from motionwright.synthetic import make_moving_objects


@pytest.mark.parametrize("masked", [False, True])
def test_a_drag_does_not_depend_on_opencvs_random_state(tmp_path, masked):
    # An unmasked drag selects the object under its handle with GrabCut (a k-means start), a
    # masked one carries its region by a RANSAC fit: both draw from OpenCV's per-thread
    # generator, which earlier work leaves in any state.
    synth = make_moving_objects(6, (64, 48), seed=3)
    path = tmp_path / "shot.mp4"
    mw.Clip.from_frames(synth.frames, fps=24).save(path, codec="h264")
    x, y = synth.tracks[0, 0]
    mask = mw.Mask.from_box(max(0, int(x) - 12), max(0, int(y) - 12), 24, 24, size=(64, 48))
    edit = mw.DragEdit(mw.PointSet(np.array([[x, y]], np.float32)),
                       mw.PointSet(np.array([[x + 3, y]], np.float32)),
                       mask=mask if masked else None)
    renders = []
    with mw.Clip.open(path) as clip:
        for seed in range(4):
            cv2.setRNGSeed(seed)
            renders.append(mw.render(clip, [edit]).to_array())
    assert all(np.array_equal(r, renders[0]) for r in renders[1:])
