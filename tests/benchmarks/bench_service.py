"""The render service in-process: overhead against ``mw.render``, cached resubmit, frame reads.

    python tests/benchmarks/bench_service.py [--frames 48] [--size 1280x720] [--workers 2]

Renders a synthetic shot (a drag on a moving object, H.264 in an .mp4) with the preview
backend three ways and prints the wall time of each: ``mw.render`` in-process (open, track,
render every frame), the same through a :class:`~motionwright.service.Service` (submit to
done: checking the request, the cache key, rendering in chunks on the CPU workers, writing
``.mwf`` frames, recording chunks) and a cached resubmit. Then the cost of asking for frames
as 1080p-sized float32 (the first ask converts and writes the file; later asks only describe
it). The HTTP layer's own figures are in ``bench_server.py``. The machine's load average is
printed with the figures: the service's worker threads need free cores to pay off.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    import motionwright as mw
    from motionwright.service import Service, chunks, framefile, request
    from motionwright.synthetic import make_moving_objects

    folder = tempfile.mkdtemp(prefix="mw-bench-service-")
    scene = make_moving_objects(args.frames, (width, height), seed=1, num_objects=1,
                                max_speed=2)
    source = os.path.join(folder, "shot.mp4")
    mw.Clip.from_frames(scene.frames).save(source, codec="h264")
    x, y = scene.tracks[0, 0]
    edit = mw.DragEdit(mw.PointSet([[x, y]]), mw.PointSet([[x + 8, y]]))
    job_request = {"source": {"path": source}, "edits": [edit.to_dict()]}
    print(f"{args.frames} frames {width}x{height}, {args.workers} workers, "
          f"load average {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    expected = mw.render(mw.Clip.open(source), [edit]).to_array()
    in_process = time.perf_counter() - start
    print(f"mw.render in-process:      {in_process:7.2f} s")

    chunks._prepared.clear()
    request._media.clear()
    svc = Service(os.path.join(folder, "data"), workers=args.workers).start()
    try:
        start = time.perf_counter()
        job = svc.wait(svc.submit(job_request)["id"])
        through = time.perf_counter() - start
        print(f"Service submit to done:    {through:7.2f} s "
              f"({(through / in_process - 1) * 100:+.1f} % against in-process)")
        got = np.stack([framefile.read_rgb(svc.frame(job["id"], i)["path"])
                        for i in range(args.frames)])
        print(f"  frames equal mw.render: {np.array_equal(got, expected)}")
        start = time.perf_counter()
        cached = svc.submit(job_request)
        print(f"cached resubmit:           {(time.perf_counter() - start) * 1000:7.1f} ms "
              f"(cached: {cached['cached']})")
        count = min(args.frames, 10)
        start = time.perf_counter()
        for i in range(count):
            svc.frame(job["id"], i, "float32")
        first = (time.perf_counter() - start) / count
        start = time.perf_counter()
        for _ in range(10):
            for i in range(count):
                svc.frame(job["id"], i, "float32")
        later = (time.perf_counter() - start) / (10 * count)
        print(f"float32 frame, first ask:  {first * 1000:7.1f} ms ({1 / first:.0f} frames/s)")
        print(f"float32 frame, later asks: {later * 1000:7.3f} ms ({1 / later:.0f} frames/s)")
    finally:
        svc.stop()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
