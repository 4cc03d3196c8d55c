"""OpenFX plugin: milliseconds per Render action at 1920×1080, for each host depth, while the
job runs (source + status band) and once the result is there (the exact copy).

    python tests/benchmarks/bench_ofx.py [--size 1920x1080] [--frames 4] [--passes 3]

Builds the plugin and the test host (tests/ofx_host), serves a protocol-v1 stand-in service
(tests/ofx_support.FakeService, rendering with ``mw.render``; no edits, so the rendering itself
costs nothing) and prints the host-side time of every Render call: the figure an artist feels
when scrubbing. Frames are not dumped, so disk writes are the plugin's own (none on the copy
path; the frame file written by the service on each frame request is counted).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

import motionwright as mw


def main() -> None:
    from motionwright_bridge.ofx_build import BINARY_NAME, build_ofx, platform_folder
    from ofx_support import FakeService, build_host, write_mwf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        plugin = build_ofx(tmp / "b") / "Contents" / platform_folder() / BINARY_NAME
        host = build_host(tmp)
        media = tmp / "shot"
        media.mkdir()
        rng = np.random.default_rng(0)
        frames = rng.integers(0, 256, (args.frames, h, w, 3), dtype=np.uint8)
        clip = mw.Clip.from_frames(frames, fps=24)
        clip.save(media / "f.%04d.png", codec="png")
        project = mw.Project()
        project.add_clip(media / "f.%04d.png", id="shot")
        proj = project.save(tmp / "p.mwproj")
        print(f"plugin render calls, {w}x{h}, {args.frames} frames, {args.passes} passes")
        for depth, sample in (("byte", 1), ("short", 2), ("float", 3)):
            src = tmp / f"src_{depth}"
            src.mkdir()
            for i, frame in enumerate(frames):
                write_mwf(src / f"{i:06d}.mwf", frame, sample)
            with FakeService(tmp / f"run_{depth}", tmp / f"data_{depth}", hold=0.5):
                times = ",".join(str(i) for i in range(args.frames))
                proc = subprocess.run(
                    [str(host), str(plugin), "--source", str(src), "--size", f"{w}x{h}",
                     "--count", str(args.frames), "--depth", depth, "--project", str(proj),
                     "--clip", "1", "--times", times, "--passes", str(args.passes),
                     "--pass-wait-ms", "800", "--no-dump"],
                    capture_output=True, text=True, check=True,
                    env={"MOTIONWRIGHT_RUNTIME_DIR": str(tmp / f"run_{depth}"),
                         "MOTIONWRIGHT_BIN": "/nonexistent", "PATH": "/usr/bin:/bin"})
            ms = [int(line.split()[3]) for line in proc.stdout.splitlines()
                  if line.startswith("ACTION OfxImageEffectActionRender ")]
            first, rest = ms[: args.frames], ms[args.frames:]
            print(json.dumps({"depth": depth,
                              "status_frame_ms_median": statistics.median(first),
                              "result_copy_ms_median": statistics.median(rest) if rest else None,
                              "result_copy_ms_max": max(rest) if rest else None}))


if __name__ == "__main__":
    main()
