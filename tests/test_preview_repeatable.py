"""The preview renders the same edit the same way every time, whatever ran before it."""

import cv2
import numpy as np

import motionwright as mw
from motionwright.synthetic import make_moving_objects


def test_an_unmasked_drag_does_not_depend_on_opencvs_random_state(tmp_path):
    # The drag selects the object under its handle with GrabCut, whose k-means start draws from
    # OpenCV's per-thread generator; earlier work leaves that generator in any state.
    synth = make_moving_objects(6, (64, 48), seed=3)
    path = tmp_path / "shot.mp4"
    mw.Clip.from_frames(synth.frames, fps=24).save(path, codec="h264")
    x, y = synth.tracks[0, 0]
    edit = mw.DragEdit(mw.PointSet(np.array([[x, y]], np.float32)),
                       mw.PointSet(np.array([[x + 3, y]], np.float32)))
    renders = []
    with mw.Clip.open(path) as clip:
        for seed in range(4):
            cv2.setRNGSeed(seed)
            renders.append(mw.render(clip, [edit]).to_array())
    assert all(np.array_equal(r, renders[0]) for r in renders[1:])
