"""Editor benchmarks: scrub latency on a 1080p H.264 clip and UI-thread stalls during jobs.

Run: ``QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--frames 48]``.
Prints the time from a scrub request to the exact frame on screen (median, p95; cold and
after the cache warmed) and the number of UI-thread stalls over 50 ms (a 10 ms QTimer
heartbeat) while tracking and while rendering.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

import motionwright as mw
from motionwright.synthetic import MovingObjectsScene


class SceneSource:
    """Frames of a synthetic scene computed on demand (keeps memory low while encoding)."""

    def __init__(self, scene: MovingObjectsScene, n: int, size: tuple[int, int]) -> None:
        self.scene, self.n, self.size = scene, n, size
        self.fps = mw.Clip.from_frames(np.zeros((1, 2, 2, 3), np.uint8)).fps
        self.start_timecode = None

    def __len__(self) -> int:
        return self.n

    def read(self, i: int) -> np.ndarray:
        return self.scene.frame(i)


def make_clip(folder: Path, frames: int, size: tuple[int, int]) -> Path:
    path = folder / f"bench_{size[0]}x{size[1]}.mp4"
    scene = MovingObjectsScene(frames, size=size, seed=3)
    mw.Clip.from_source(SceneSource(scene, frames, size)).save(path, codec="h264")
    return path


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def scrub_latency(window, app, indices: list[int]) -> list[float]:
    out = []
    for i in indices:
        t0 = time.perf_counter()
        window.model.set_playhead(i)
        while not window.viewer.exact:
            app.processEvents()
            time.sleep(0.0005)
            if time.perf_counter() - t0 > 20:
                break
        app.processEvents()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def stalls_during(app, job, budget: float = 120.0) -> tuple[int, float, float]:
    """(stalls over 50 ms, longest gap ms, seconds) while ``job`` runs."""
    from PySide6.QtCore import QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(10)
    t0 = time.perf_counter()
    while job.active and time.perf_counter() - t0 < budget:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    return sum(g > 50 for g in gaps), max(gaps, default=0.0), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--scrubs", type=int, default=40)
    args = parser.parse_args()
    from motionwright_gui.app import application, create_window

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = make_clip(Path(tmp), args.frames, (1920, 1080))
        print(f"encoded {args.frames} frames 1920x1080 H.264 in {time.perf_counter() - t0:.1f} s")
        window = create_window(path, recovery=False)
        window.resize(1600, 1000)
        window.show()
        app.processEvents()
        rng = np.random.default_rng(0)
        cold = scrub_latency(window, app, [int(i) for i in rng.permutation(args.frames)
                                           [:args.scrubs]])
        warm = scrub_latency(window, app, [int(i) for i in rng.integers(0, args.frames,
                                                                         args.scrubs)])
        step = scrub_latency(window, app, list(range(args.frames)))
        print(f"scrub -> exact frame, random, cold cache: median {np.median(cold):.1f} ms, "
              f"p95 {percentile(cold, 95):.1f} ms (n={len(cold)})")
        print(f"scrub -> exact frame, random, warm cache: median {np.median(warm):.1f} ms, "
              f"p95 {percentile(warm, 95):.1f} ms (n={len(warm)})")
        print(f"frame step 0..{args.frames - 1} (prefetch): median {np.median(step):.1f} ms, "
              f"p95 {percentile(step, 95):.1f} ms")
        window.close()

        small = make_clip(Path(tmp), 24, (320, 240))
        window = create_window(small, recovery=False)
        window.show()
        model = window.model
        for xy in [(100, 100), (200, 120), (160, 180)]:
            model.add_track_point(xy)
        n, worst, secs = stalls_during(app, model.track())
        print(f"tracking 24 frames 320x240: {n} UI stalls > 50 ms (longest {worst:.0f} ms, "
              f"{secs:.1f} s)")
        model.add_drag_pair((100, 100), (110, 95))
        n, worst, secs = stalls_during(app, model.render("preview"))
        print(f"preview render 24 frames 320x240: {n} UI stalls > 50 ms (longest {worst:.0f} ms,"
              f" {secs:.1f} s)")
        window.close()


if __name__ == "__main__":
    main()
