"""Render service tests: tiny generated shots (32×24) and a started Service per test."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from service_helpers import CountingRender

import motionwright as mw
from motionwright.service import Service
from motionwright.service.executor import LocalExecutor
from motionwright.synthetic import make_moving_objects

SIZE = (32, 24)


@pytest.fixture(scope="session")
def shot_folder(tmp_path_factory):
    """A folder with a 6-frame PNG sequence ``shot.%03d.png`` and its synthetic scene."""
    folder = tmp_path_factory.mktemp("svc-shot")
    scene = make_moving_objects(6, SIZE, seed=1, num_objects=1, max_speed=1)
    mw.Clip.from_frames(scene.frames).save(folder / "shot.%03d.png", codec="png")
    return folder, scene


@pytest.fixture
def shot(shot_folder):
    """``(pattern path, scene)`` of the session's tiny shot."""
    folder, scene = shot_folder
    return str(folder / "shot.%03d.png"), scene


@pytest.fixture
def counting():
    """A fresh :class:`CountingRender`."""
    return CountingRender()


@pytest.fixture
def service(tmp_path, counting):
    """A started Service in a fresh data folder whose chunks go through ``counting``."""
    svc = Service(tmp_path / "data", workers=2,
                  executor=LocalExecutor(2, render=counting)).start()
    yield svc
    svc.stop(drain=False)
