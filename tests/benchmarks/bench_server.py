"""Render server benchmark: protocol latency, server overhead, frame fetch throughput.

Printed, with the machine's load average:

- a protocol round trip (``GET /v1/health``), p50/p95;
- submit -> accepted: latency of ``POST /v1/jobs`` for new (uncached) jobs, p50/p95 (each job
  is cancelled right after, so rendering does not disturb the next submit much);
- a ``--frames``-frame 1280×720 preview render (a drag) in-process vs through the server
  (submit, wait, read every result frame as uint8): wall time and the server's overhead
  (goal <= 5 %), with the server on ``--workers`` CPU workers;
- frame fetch at 1920×1080 RGBA float32 (descriptor request + reading the ``.mwf`` file):
  the first pass (the server converts the stored uint8 frames), then copies and memory maps
  of frames already converted (goal >= 200 frames/s);
- cached resubmit: latency of submitting the finished 720p render again, p50/p95.

Run: ``python tests/benchmarks/bench_server.py [--frames 48] [--workers 1]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import motionwright as mw
from motionwright.bridge import Client, request_for
from motionwright.service import Service
from motionwright.service.server import BackgroundServer
from motionwright.synthetic import make_moving_objects


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {1000 * statistics.median(ordered):.1f} ms, p95 {1000 * p95:.1f} ms"


def _shot(folder: Path, frames: int, size: tuple[int, int], seed: int = 1):
    synth = make_moving_objects(frames, size, seed=seed, max_speed=6)
    path = folder / f"shot_{size[0]}x{size[1]}.mp4"
    mw.Clip.from_frames(synth.frames, fps=24).save(path, codec="h264")
    x, y = synth.tracks[0, 0]
    w, h = size
    box = mw.Mask.from_box(max(0, int(x) - w // 8), max(0, int(y) - h // 4), w // 4, h // 2,
                           size=size)
    edit = mw.DragEdit(mw.PointSet(np.array([[x, y]], np.float32)),
                       mw.PointSet(np.array([[x + 12, y + 4]], np.float32)), mask=box)
    return path, edit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--submits", type=int, default=40)
    parser.add_argument("--fetch-frames", type=int, default=8)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}, "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, edit = _shot(folder, args.frames, (1280, 720))
        service = Service(folder / "data", workers=args.workers).start()
        server = BackgroundServer(service, runtime_dir=folder / "run").start()
        try:
            client = Client.find(folder / "run")
            _round_trip(client)
            _submit_latency(client, path, edit, args.submits)
            _render_overhead(client, path, edit, args.frames, args.workers)
            _cached_resubmit(client, path, edit)
            _fetch(client, folder, args.fetch_frames)
        finally:
            server.stop()
            service.stop(drain=False)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def _round_trip(client: Client, count: int = 200) -> None:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        client.health()
        samples.append(time.perf_counter() - start)
    print(f"protocol round trip (GET /v1/health, {count}x): {_percentiles(samples)}")


def _submit_latency(client: Client, path: Path, edit, count: int) -> None:
    samples = []
    for i in range(count):
        request = request_for(path, edit, stop=2, label=f"latency {i}")
        request["settings"] = {"seed": i}
        start = time.perf_counter()
        view = client.submit(request)
        samples.append(time.perf_counter() - start)
        client.cancel(view["id"])
    for view in client.jobs():
        client.delete(view["id"])
    print(f"submit -> accepted ({count} new jobs): {_percentiles(samples)}")


def _render_overhead(client: Client, path: Path, edit, frames: int, workers: int) -> None:
    start = time.perf_counter()
    with mw.Clip.open(path) as clip:
        expected = mw.render(clip, [edit]).to_array()
    local = time.perf_counter() - start
    start = time.perf_counter()
    view = client.submit(request_for(path, edit, label="overhead"))
    client.wait(view["id"])
    # The frames in hand as one array, like the in-process render (files mapped, then copied).
    got = np.stack([frame[..., :3] for frame in client.frames(view["id"], copy=False)])
    remote = time.perf_counter() - start
    assert np.array_equal(got, expected), "server result differs from the in-process render"
    print(f"{frames}-frame 1280x720 preview render: in-process {local:.2f} s, through the "
          f"server ({workers} worker{'s' if workers > 1 else ''}) {remote:.2f} s, overhead "
          f"{100 * (remote - local) / local:+.1f} % (bit-exact)")


def _cached_resubmit(client: Client, path: Path, edit, count: int = 20) -> None:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        view = client.submit(request_for(path, edit, label="overhead"))
        samples.append(time.perf_counter() - start)
        assert view["state"] == "done" and view["cached"]
    print(f"cached resubmit ({count}x, answered done): {_percentiles(samples)}")


def _fetch(client: Client, folder: Path, count: int) -> None:
    path, edit = _shot(folder, count, (1920, 1080), seed=4)
    view = client.submit(request_for(path, edit, label="fetch"))
    client.wait(view["id"])
    start = time.perf_counter()
    for i in range(count):
        client.frame(view["id"], i, "float32")
    first = time.perf_counter() - start
    rounds = max(1, 200 // count)
    start = time.perf_counter()
    for _ in range(rounds):
        for i in range(count):
            frame = client.frame(view["id"], i, "float32")
    copied = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(rounds):
        for _frame in client.frames(view["id"], 0, count, "float32"):
            pass
    batched = time.perf_counter() - start
    assert frame.shape == (1080, 1920, 4) and frame.dtype == np.float32
    buffer = np.empty((1080, 1920, 4), np.float32)
    start = time.perf_counter()
    for _ in range(rounds):
        for i in range(count):
            client.frame(view["id"], i, "float32", out=buffer)
    into = time.perf_counter() - start
    start = time.perf_counter()
    total = 0.0
    for _ in range(rounds):
        for frame in client.frames(view["id"], 0, count, "float32", copy=False):
            total += float(frame[540, 960, 0])
    mapped = time.perf_counter() - start
    n = rounds * count
    print(f"frame fetch 1920x1080 RGBA float32: first pass (server converts) "
          f"{count / first:.0f} frames/s; copies {n / copied:.0f} frames/s "
          f"({n * 1920 * 1080 * 16 / copied / 1e9:.1f} GB/s) one request per frame, "
          f"{n / batched:.0f} frames/s batched (Client.frames); into one buffer (out=) "
          f"{n / into:.0f} frames/s; memory maps, batched, {n / mapped:.0f} frames/s")


if __name__ == "__main__":
    main()
