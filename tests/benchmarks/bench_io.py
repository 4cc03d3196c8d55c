"""Clip I/O benchmark: sequential decode speed, random-access latency, memory while streaming.

Run ``python tests/benchmarks/bench_io.py [--quick]``. It writes its own H.264 test media to a
temporary folder and prints:

1. sequential decode fps of 1080p H.264 through ``for frame in clip``, against PyAV's plain
   loop (``for f in container.decode(video=0): f.to_ndarray(format="rgb24")``) with PyAV's
   default threading and with frame threading, and the overhead of Clip iteration (target < 10 %);
2. random-access latency (median and p95) of ``clip[i]`` at random indices of a GOP-120 file,
   plus the cost of stepping one frame forward or back after a random access;
3. peak memory growth (VmHWM from /proc/self/status, measured in a fresh process) while
   iterating a long 1080p clip — bounded by the decoder and the frame cache, not the length.

``--quick`` uses 640x360 and fewer frames.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def texture(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth, detailed RGB texture larger than the frame, to pan across."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8 + 8, width // 8 + 8, 3), dtype=np.uint8)
    import cv2

    big = cv2.resize(small, (width + 64, height + 64), interpolation=cv2.INTER_CUBIC)
    noise = rng.integers(0, 24, big.shape, dtype=np.uint8)
    return cv2.add(big, noise)


def write_h264(path: Path, frames: int, size: tuple[int, int], gop: int) -> Path:
    """Encode ``frames`` panning frames with libx264 (3 B-frames, keyframe every ``gop``)."""
    w, h = size
    tex = texture(w, h)
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=Fraction(25))
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    stream.options = {"preset": "superfast", "crf": "23", "bf": "3", "g": str(gop),
                      "keyint_min": str(gop), "sc_threshold": "0"}
    for i in range(frames):
        dx, dy = (3 * i) % 64, (2 * i) % 64
        frame = np.ascontiguousarray(tex[dy:dy + h, dx:dx + w])
        frame[:24, : 8 * ((i % 200) + 1) % w] = 255
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def pyav_loop(path: Path, thread_type: str | None) -> float:
    """Frames per second of PyAV's plain decode-and-convert loop."""
    start = time.perf_counter()
    n = 0
    with av.open(str(path)) as container:
        if thread_type is not None:
            container.streams.video[0].thread_type = thread_type
        for f in container.decode(video=0):
            f.to_ndarray(format="rgb24")
            n += 1
    return n / (time.perf_counter() - start)


def clip_loop(path: Path) -> float:
    """Frames per second of ``for frame in Clip.open(path)`` (open time excluded)."""
    import motionwright as mw

    clip = mw.Clip.open(path)
    start = time.perf_counter()
    n = 0
    for _ in clip:
        n += 1
    return n / (time.perf_counter() - start)


def best_of_interleaved(fns: list, repeats: int) -> list[float]:
    """The best rate of each function over ``repeats`` rounds, run in turn so that load from
    other processes affects them alike."""
    best = [0.0] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            best[k] = max(best[k], fn())
    return best


def bench_sequential(path: Path, repeats: int) -> None:
    import motionwright as mw

    t0 = time.perf_counter()
    clip = mw.Clip.open(path)
    open_s = time.perf_counter() - t0
    print(f"\n[1] sequential decode, {clip.size[0]}x{clip.size[1]} H.264, {len(clip)} frames "
          f"(best of {repeats}; Clip.open took {open_s * 1000:.0f} ms)")
    default, framethreads, ours = best_of_interleaved(
        [lambda: pyav_loop(path, None), lambda: pyav_loop(path, "AUTO"),
         lambda: clip_loop(path)], repeats)
    print(f"    PyAV plain loop, default threading : {default:7.1f} fps")
    print(f"    PyAV plain loop, thread_type=AUTO  : {framethreads:7.1f} fps")
    print(f"    Clip iteration                     : {ours:7.1f} fps")
    print(f"    Clip overhead vs the plain loop     : {100 * (default / ours - 1):+6.1f} % time "
          "(target < 10 %; same threading)")


def bench_random_access(path: Path, samples: int) -> None:
    import motionwright as mw

    t = time.perf_counter()
    clip = mw.Clip.open(path)
    open_ms = 1000 * (time.perf_counter() - t)
    n = len(clip)
    rng = random.Random(0)
    picks = rng.sample(range(n), samples)
    latencies = []
    for i in picks:
        clip.source._cache.clear()
        t = time.perf_counter()
        clip[i]
        latencies.append(time.perf_counter() - t)
    forward, backward = [], []
    for i in rng.sample(range(1, n - 1), min(samples, 10)):
        clip.source._cache.clear()
        clip[i]
        t = time.perf_counter()
        clip[i + 1]
        forward.append(time.perf_counter() - t)
        t = time.perf_counter()
        clip[i - 1]
        backward.append(time.perf_counter() - t)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"\n[2] random access: {clip.size[0]}x{clip.size[1]}, {n} frames, keyframe every "
          f"{clip.info['keyframe_interval']}, 3 B-frames; {samples} random frames, cold cache "
          f"(Clip.open took {open_ms:.0f} ms)")
    print(f"    clip[i] latency: median {1000 * statistics.median(latencies):7.1f} ms, "
          f"p95 {1000 * p95:7.1f} ms, max {1000 * latencies[-1]:7.1f} ms")
    print(f"    then clip[i+1]: median {1000 * statistics.median(forward):6.1f} ms   "
          f"clip[i-1]: median {1000 * statistics.median(backward):6.1f} ms (cached on the way)")


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def memory_child(path: str) -> None:
    """Run in a fresh process: VmHWM growth while iterating the whole clip."""
    import motionwright as mw

    clip = mw.Clip.open(path)
    clip[len(clip) // 2]  # warm the random-access decoder and cache as well
    before = _status_kb("VmRSS")
    frames = 0
    t = time.perf_counter()
    for _ in clip:
        frames += 1
    elapsed = time.perf_counter() - t
    peak = _status_kb("VmHWM")
    frame_mb = clip.size[0] * clip.size[1] * 3 / 2**20
    print(f"{frames} {before} {peak} {frame_mb:.2f} {elapsed:.2f}")


def bench_memory(path: Path) -> None:
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(path)],
                         capture_output=True, text=True, check=True)
    frames, before, peak, frame_mb, elapsed = out.stdout.split()
    growth_mb = (int(peak) - int(before)) / 1024
    print(f"\n[3] memory while iterating {frames} frames ({float(frame_mb):.1f} MB per RGB frame, "
          f"{int(frames) * float(frame_mb) / 1024:.1f} GB in total), {float(elapsed):.1f} s")
    print(f"    RSS before iterating {int(before) / 1024:.0f} MB, peak (VmHWM) "
          f"{int(peak) / 1024:.0f} MB, growth {growth_mb:.0f} MB "
          f"= {growth_mb / float(frame_mb):.1f} frames' worth")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer frames")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.quick:
        size, seq_frames, ra_frames, mem_frames, samples, repeats = (640, 360), 240, 360, 600, 20, 3
    else:
        size, seq_frames, ra_frames, mem_frames, samples, repeats = (
            (1920, 1080), 300, 480, 2000, 40, 3)
    print(f"bench_io: {os.cpu_count()} CPU cores, PyAV {av.__version__}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(prefix="mw_bench_io_") as tmp:
        t = time.perf_counter()
        seq = write_h264(Path(tmp) / "seq.mp4", seq_frames, size, gop=48)
        ra = write_h264(Path(tmp) / "gop120.mp4", ra_frames, size, gop=120)
        print(f"media written in {time.perf_counter() - t:.0f} s")
        bench_sequential(seq, repeats)
        bench_random_access(ra, samples)
        t = time.perf_counter()
        long = write_h264(Path(tmp) / "long.mp4", mem_frames, size, gop=48)
        print(f"\n(long clip written in {time.perf_counter() - t:.0f} s)")
        bench_memory(long)


if __name__ == "__main__":
    main()
