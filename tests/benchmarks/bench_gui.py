"""Editor benchmarks: scrub latency on a long-GOP 1080p H.264 clip, with and without the
scrubbing proxy, and UI-thread stalls during jobs.

Run: ``QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--frames 120]
[--clip LONG_GOP.mp4]``. Prints the time to open the clip and to build its proxy, the time from
a scrub request to the exact frame on screen (median, p95; random order, cold cache) — with
the proxy both to the exact frame at proxy resolution and to full resolution once the
playhead rests — frame-step latency, and the number of UI-thread stalls over 50 ms (a 10 ms
QTimer heartbeat) while opening, tracking and rendering. No timing is asserted.
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


def make_clip(folder: Path, frames: int, size: tuple[int, int], gop: int = 250) -> Path:
    """An H.264 clip of a synthetic scene with a keyframe every ``gop`` frames."""
    path = folder / f"bench_{size[0]}x{size[1]}.mp4"
    scene = MovingObjectsScene(frames, size=size, seed=3)
    mw.Clip.from_source(SceneSource(scene, frames, size)).save(
        path, codec="h264", preset="veryfast", options={"g": str(gop)})
    return path


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def wait_for(app, condition, limit: float = 30.0) -> float:
    """Process events until ``condition()``; returns the seconds waited."""
    t0 = time.perf_counter()
    while not condition() and time.perf_counter() - t0 < limit:
        app.processEvents()
        time.sleep(0.0005)
    return time.perf_counter() - t0


def scrub_latency(window, app, indices: list[int],
                  rest: bool = True) -> tuple[list[float], list[float]]:
    """Per scrub: ms until the playhead's frame is on screen at any resolution (proxy or
    full), and — when ``rest`` (the playhead stays until then) — ms until it is there at
    full resolution; without ``rest`` the next scrub follows at once."""
    viewer, any_res, full = window.viewer, [], []
    for i in indices:
        t0 = time.perf_counter()
        window.model.set_playhead(i)
        wait_for(app, lambda: viewer.quality in ("exact", "proxy"))
        any_res.append((time.perf_counter() - t0) * 1000)
        if rest:
            wait_for(app, lambda: viewer.exact)
            full.append((time.perf_counter() - t0) * 1000)
    return any_res, full


def summary(values: list[float]) -> str:
    return (f"median {np.median(values):.0f} ms, p95 {percentile(values, 95):.0f} ms "
            f"(n={len(values)})")


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


def open_window(app, path: Path, proxies: bool):
    """A shown window on ``path`` opened in the background; returns it and the seconds the
    open took with the UI-thread stalls meanwhile."""
    from motionwright_gui.app import create_window

    window = create_window(None, recovery=False)
    window.model.use_proxies = proxies
    window.resize(1600, 1000)
    window.show()
    window.open_path(path)
    n, worst, secs = stalls_during(app, window.model.opening)
    wait_for(app, lambda: window.model.clip is not None)
    return window, (n, worst, secs)


def bench_scrub(app, path: Path, frames: int, scrubs: int, proxies: bool) -> None:
    label = "with proxy" if proxies else "no proxy"
    window, (n, worst, secs) = open_window(app, path, proxies)
    print(f"[{label}] open in the background: {secs:.1f} s, {n} UI stalls > 50 ms "
          f"(longest {worst:.0f} ms)")
    model = window.model
    if proxies:
        job = model.proxy_job
        if job is not None:
            n, worst, secs = stalls_during(app, job, budget=1800)
            print(f"[{label}] proxy built in {secs:.1f} s ({n} UI stalls > 50 ms)")
        wait_for(app, lambda: model.proxy_clip is not None, 60)
        if model.proxy_clip is None:
            print(f"[{label}] no proxy: {job.error.text() if job and job.error else '?'}")
            return
        again_t0 = time.perf_counter()
        reuse, _ = open_window(app, path, proxies)
        wait_for(app, lambda: reuse.model.proxy_clip is not None, 60)
        print(f"[{label}] stored proxy reused on reopening: attached "
              f"{time.perf_counter() - again_t0:.1f} s after the open started")
        reuse.close()
    rng = np.random.default_rng(0)
    order = [int(i) for i in rng.permutation(frames)]
    if proxies:
        moving, _ = scrub_latency(window, app, order[scrubs:2 * scrubs], rest=False)
        print(f"[{label}] continuous scrub -> exact frame (proxy resolution): "
              f"{summary(moving)}")
    any_res, full = scrub_latency(window, app, order[:scrubs])
    if proxies:
        print(f"[{label}] scrub and rest -> exact frame (proxy resolution): {summary(any_res)}")
    print(f"[{label}] scrub and rest -> exact frame at full resolution: {summary(full)}")
    steps, _ = scrub_latency(window, app, list(range(frames // 2, min(frames, frames // 2 + 24))))
    print(f"[{label}] frame steps -> exact frame: {summary(steps)}")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--scrubs", type=int, default=30)
    parser.add_argument("--clip", type=Path, help="an existing long-GOP clip to scrub instead")
    args = parser.parse_args()
    from motionwright_gui.app import application, create_window

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MOTIONWRIGHT_GUI_CACHE", str(Path(tmp) / "cache"))
        path = args.clip
        if path is None:
            t0 = time.perf_counter()
            path = make_clip(Path(tmp), args.frames, (1920, 1080))
            print(f"encoded {args.frames} frames 1920x1080 H.264 (keyframe every 250) in "
                  f"{time.perf_counter() - t0:.1f} s")
        frames = len(mw.Clip.open(path))
        print(f"clip: {path.name}, {frames} frames")
        for proxies in (False, True):
            bench_scrub(app, path, frames, min(args.scrubs, frames), proxies)

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
