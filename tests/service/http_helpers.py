"""Helpers of the render server tests: a tiny shot, a drag on it, a running server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import motionwright as mw
from motionwright.bridge import Client
from motionwright.service import Service
from motionwright.service.server import BackgroundServer
from motionwright.synthetic import make_moving_objects


def make_shot(folder: Path, frames: int = 5, size: tuple[int, int] = (64, 48),
              seed: int = 3) -> tuple[Path, mw.DragEdit]:
    """A small H.264 shot of moving objects and a drag of its first object on frame 0, inside
    a box around it (an unmasked drag's preview is not reproducible from run to run yet)."""
    synth = make_moving_objects(frames, size, seed=seed)
    path = folder / "shot.mp4"
    mw.Clip.from_frames(synth.frames, fps=24).save(path, codec="h264")
    x, y = synth.tracks[0, 0]
    box = mw.Mask.from_box(max(0, int(x) - 12), max(0, int(y) - 12), 24, 24, size=size)
    edit = mw.DragEdit(mw.PointSet(np.array([[x, y]], np.float32)),
                       mw.PointSet(np.array([[x + 3, y]], np.float32)), mask=box)
    return path, edit


def in_process(path: Path, edit) -> np.ndarray:
    """The in-process preview render of the whole shot, ``T×H×W×3``."""
    with mw.Clip.open(path) as clip:
        return mw.render(clip, [edit]).to_array()


@contextlib.contextmanager
def running_server(tmp_path: Path, *, workers: int = 2,
                   max_body: int | None = None) -> Iterator[tuple[BackgroundServer, Client]]:
    """A started Service over ``tmp_path/data`` behind the HTTP server on a free port, with
    ``server.json`` in ``tmp_path/run``; yields the server and a client found through it."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    service = Service(tmp_path / "data", workers=workers).start()
    server = BackgroundServer(service, runtime_dir=runtime, max_body=max_body).start()
    try:
        yield server, Client.find(runtime)
    finally:
        server.stop()
        service.stop(drain=False)


def env_for(tmp_path: Path) -> dict[str, str]:
    """Environment of a server subprocess keeping its files under ``tmp_path``."""
    env = dict(os.environ)
    env["MOTIONWRIGHT_RUNTIME_DIR"] = str(tmp_path / "run")
    env["MOTIONWRIGHT_DATA_DIR"] = str(tmp_path / "data")
    env["MOTIONWRIGHT_CONFIG_DIR"] = str(tmp_path / "cfg")
    return env
