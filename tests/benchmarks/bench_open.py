"""Clip.open benchmark: indexing a long-GOP 1080p file with and without progress and cancel.

Run ``python tests/benchmarks/bench_open.py [--frames N] [--repeats R]``. It writes a long-GOP
H.264 file (3 B-frames, keyframe every 250 frames) to a temporary folder, then opens it
``R`` times each way, interleaved, and prints the median and best open times, the overhead of
passing ``progress`` and ``cancel`` (target: negligible, under 2 %) and how many progress
events one open sent.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_io import write_h264  # the script's own folder is on sys.path

import motionwright as mw


def time_open(path: Path, hooked: bool, events: list) -> float:
    """Seconds one ``Clip.open`` takes, with ``progress`` and ``cancel`` when ``hooked``."""
    token = mw.CancelToken()
    start = time.perf_counter()
    if hooked:
        mw.Clip.open(path, progress=events.append, cancel=token)
    else:
        mw.Clip.open(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000, help="frames in the test file")
    parser.add_argument("--repeats", type=int, default=5, help="opens each way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_h264(Path(folder) / "long_gop_1080p.mp4", args.frames, (1920, 1080), 250)
        print(f"{path.name}: {args.frames} frames, {path.stat().st_size / 2**20:.1f} MiB")
        plain, hooked = [], []
        events: list = []
        for _ in range(args.repeats):
            plain.append(time_open(path, False, events))
            events.clear()
            hooked.append(time_open(path, True, events))
        for name, times in (("plain", plain), ("progress+cancel", hooked)):
            print(f"{name:<16} median {statistics.median(times):.3f}s  best {min(times):.3f}s")
        overhead = statistics.median(hooked) / statistics.median(plain) - 1
        print(f"overhead {overhead * 100:+.1f} %  ({len(events)} progress events per open)")


if __name__ == "__main__":
    main()
