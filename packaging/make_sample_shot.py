"""Regenerate the bundled sample shot in ``resources/`` (deterministic).

Writes ``resources/sample_shot.mp4`` (H.264, 48 frames, 640×360, 24 fps, timecode 01:00:00:00)
and ``resources/sample_shot.json``: the demo's drag edit (handles, targets, mask box on one
frame) and the ground-truth tracks of points on the moving objects.

The shot wears photographs from scikit-image's bundled sample data (read from the installed
wheel, nothing is downloaded): "coffee" (CC0, Rachel Michetti) as the scene, "chelsea" (CC0,
Stefan van der Walt) and "astronaut" (public domain, NASA) on the moving objects.

    pip install scikit-image && python packaging/make_sample_shot.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import motionwright as mw
from motionwright._persist import write_json
from motionwright.synthetic import MovingObjectsScene

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SIZE = (640, 360)
FRAMES = 48


PHOTOS = {"scene": "coffee.png", "objects": ["chelsea.png", "astronaut.png"]}
CREDITS = ("scikit-image sample photographs: coffee (CC0, Rachel Michetti), chelsea (CC0, "
           "Stefan van der Walt), astronaut (public domain, NASA)")


def _photo(name: str) -> np.ndarray:
    import cv2
    import skimage

    bgr = cv2.imread(str(Path(skimage.__file__).parent / "data" / name), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"scikit-image's sample photo {name} is missing")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def main() -> None:
    scene = MovingObjectsScene(FRAMES, SIZE, seed=7, num_objects=2, max_speed=3.0,
                               points_per_object=6, object_scale=0.34)
    scene.use_images(_photo(PHOTOS["scene"]), [_photo(n) for n in PHOTOS["objects"]])
    shot = scene.materialise()
    clip = mw.Clip.from_frames(shot.frames, fps=24, start_timecode="01:00:00:00")
    clip.save(RESOURCES / "sample_shot.mp4", codec="h264", crf=24)

    # The demo drags the first object's top edge up and to the right on frame 0; the mask is a
    # box around that object on frame 0 (the preview carries it along with the tracked object).
    ys, xs = np.nonzero(shot.object_ids[0] == 0)
    cx, top = float(xs.mean()), float(ys.min())
    handle = [cx, top + 10.0]
    target = [cx + 14.0, top - 8.0]
    pad = 16
    x0, y0 = max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad)
    x1, y1 = min(SIZE[0], int(xs.max()) + pad), min(SIZE[1], int(ys.max()) + pad)
    box = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
    write_json(RESOURCES / "sample_shot.json", {
        "schema": "SampleShot.1",
        "media": "sample_shot.mp4",
        "credits": CREDITS,
        "size": list(SIZE),
        "drag": {"frame": 0, "handles": [handle], "targets": [target], "mask_box": box},
        "ground_truth": mw.Trajectory(shot.tracks, shot.visible).to_dict(),
    })
    size = (RESOURCES / "sample_shot.mp4").stat().st_size
    print(f"wrote {RESOURCES / 'sample_shot.mp4'} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
