"""Preview-renderer benchmark: frames per second of a drag edit at 1280×720.

A generated 1280×720 shot (photo-textured when scikit-image is installed, see
``photo_scene.py``) gets a DragEdit with two handles on a moving object and a mask as tall as
the frame (``--mask-width`` px wide). Printed: the one-off set-up (tracking and propagating the
handle sets and mask points), the rendering rate over all frames (frames already in memory;
decoding is not counted), the two together, and the peak memory growth while rendering
(tracemalloc), which must not depend on the clip's length.

Run: ``python tests/benchmarks/bench_preview.py [--frames 48] [--mask-width 400]``
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np
from photo_scene import make_scene

import motionwright as mw
from motionwright.edits import DragEdit
from motionwright.preview.backend import render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--mask-width", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    scene, kind = make_scene(args.frames, (width, height), seed=args.seed, num_objects=2,
                             max_speed=8, points_per_object=20)
    frames = np.stack([scene.frame(t) for t in range(args.frames)])
    clip = mw.Clip.from_frames(frames)
    obj = scene.point_object == 0
    handles = scene.tracks[0][obj][:2]
    targets = handles + np.array([[25.0, -15.0], [25.0, -15.0]], np.float32)
    cx = float(np.clip(handles[:, 0].mean(), args.mask_width / 2, width - args.mask_width / 2))
    mask = mw.Mask.from_box(cx - args.mask_width / 2, 0, args.mask_width, height, (width, height))
    edit = DragEdit(mw.PointSet(handles), mw.PointSet(targets), mask)
    print(f"machine: {os.cpu_count()} logical CPUs; {width}x{height}, {args.frames} frames "
          f"({kind} textures), mask {args.mask_width}x{height} px, 2 handles")
    t0 = time.perf_counter()
    out = render(clip, [edit])
    setup = time.perf_counter() - t0
    tracemalloc.start()
    t0 = time.perf_counter()
    for i in range(len(out)):
        out[i]
    draw = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    n = args.frames
    print(f"set-up (tracking + propagation): {setup:.2f} s ({n / setup:.1f} frames/s)")
    print(f"rendering: {n / draw:.1f} fps ({1000 * draw / n:.1f} ms/frame)")
    print(f"end to end: {n / (setup + draw):.1f} fps")
    print(f"peak memory while rendering: {peak / 2**20:.1f} MiB "
          f"(one frame is {frames[0].nbytes / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
