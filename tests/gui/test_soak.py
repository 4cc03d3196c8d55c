"""The editor survives long playback and thousands of frame steps on the installed PySide6."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import motionwright as mw
from conftest import make_frames

SOAK = Path(__file__).with_name("soak.py")


def run_soak(folder: Path, play_seconds: float, steps: int) -> dict:
    clip = folder / "soak"
    mw.Clip.from_frames(make_frames(48, (160, 96)), fps=Fraction(24)).save(clip, codec="png")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1",
           "MOTIONWRIGHT_GUI_STATE": str(folder / "state")}
    result = subprocess.run(
        [sys.executable, str(SOAK), str(clip), "--play-seconds", str(play_seconds),
         "--steps", str(steps)], capture_output=True, text=True, env=env,
        timeout=120 + play_seconds + steps / 20)
    assert result.returncode == 0, f"the editor died (exit {result.returncode}):\n" \
                                   f"{result.stderr[-2000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def check(report: dict, frames: int) -> None:
    assert report["painted"] >= frames and report["visited"] >= frames
    # A build that drops a reference per call loses dozens per painted frame.
    assert abs(report["none_drift"]) < 200, report


def test_playback_and_frame_steps_keep_none_alive(tmp_path):
    check(run_soak(tmp_path, play_seconds=3, steps=1400), 1500)


@pytest.mark.slow
def test_long_soak(tmp_path):
    check(run_soak(tmp_path, play_seconds=30, steps=10000), 12000)
