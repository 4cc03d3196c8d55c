"""Ray farm benchmark: what rendering through a Ray cluster costs against the local executor.

Printed, with the machine's load average:

- starting a local Ray instance (``--cpus`` CPUs), which ``render --ray local`` pays each time;
- a ``--frames``-frame ``--size`` preview render (a drag) of ``--shots`` shots through the
  service with the local executor and with the Ray executor: wall time and the farm's
  overhead (on one machine the farm cannot win; the figure is the per-chunk cost of going
  through Ray, which a cluster of several machines amortises);
- a cached resubmit through the Ray-backed service.

Run: ``python tests/benchmarks/bench_farm.py [--frames 24] [--size 640x360] [--shots 2]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import motionwright as mw
from motionwright.service import Service
from motionwright.service.executor import LocalExecutor
from motionwright.synthetic import make_moving_objects


def _shots(folder: Path, count: int, frames: int, size: tuple[int, int]) -> list[dict]:
    requests = []
    for n in range(count):
        scene = make_moving_objects(frames, size, seed=n + 1, num_objects=2, max_speed=2)
        path = folder / f"shot{n}.mov"
        mw.Clip.from_frames(scene.frames, fps=24).save(path, codec="prores")
        x, y = map(float, scene.tracks[0, 0])
        edit = mw.DragEdit(mw.PointSet([[x, y]]), mw.PointSet([[x + 8, y]]))
        requests.append({"source": {"path": str(path)}, "edits": [edit.to_dict()],
                         "backend": "preview", "label": f"shot{n}"})
    return requests


def _render_all(service: Service, requests: list[dict]) -> float:
    start = time.perf_counter()
    ids = [service.submit(r)["id"] for r in requests]
    for job_id in ids:
        view = service.wait(job_id, timeout=3600)
        assert view["state"] == "done", view["error"]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--shots", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    import ray

    from motionwright.service.farm import RayExecutor

    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        requests = _shots(folder, args.shots, args.frames, size)
        with Service(folder / "local", executor=LocalExecutor(args.cpus)) as service:
            local = _render_all(service, requests)
        t = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, configure_logging=False,
                 log_to_driver=False)
        print(f"Ray start ({args.cpus} CPUs): {time.perf_counter() - t:.1f} s")
        try:
            executor = RayExecutor("local")
            with Service(folder / "farm", executor=executor,
                         workers=executor.workers) as service:
                farm = _render_all(service, requests)
                cached = _render_all(service, requests)
        finally:
            ray.shutdown()
    frames = args.shots * args.frames
    print(f"{args.shots} shots x {args.frames} frames {args.size} preview: local "
          f"{local:.2f} s ({frames / local:.1f} frames/s), Ray {farm:.2f} s "
          f"({frames / farm:.1f} frames/s), overhead {100 * (farm / local - 1):+.0f} %")
    print(f"cached resubmit of {args.shots} shots through the Ray service: {cached * 1000:.0f} ms")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
