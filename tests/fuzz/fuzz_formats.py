"""The structured formats under fuzz: a small valid file of each, how to load it, and how to
save what loaded (for the round trip)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import fuzz_mutations as mut
import numpy as np

from motionwright import Mask, MotionEmbedding, PointSet, Project, Trajectory
from motionwright.edits import (
    DragEdit,
    GuidedGeneration,
    MotionTransfer,
    PromptEdit,
    TrajectoryEdit,
)
from motionwright.io import images, tracks


@dataclasses.dataclass(frozen=True)
class Format:
    """One fuzzed format: ``write(path)`` makes the valid seed file, ``load(path)`` reads a
    file, ``save(obj, path)`` writes what loaded (None: load-only)."""

    name: str
    suffix: str
    write: Callable[[Path], None]
    load: Callable[[Path], Any]
    save: Callable[[Any, Path], None] | None
    mutators: list[mut.Mutator]


def _points() -> PointSet:
    return PointSet([[1.0, 2.5], [30.25, 4.0], [7.0, 8.0]], frame=3, labels=[1, 0, 1],
                    ids=[4, 9, 2])


def _trajectory() -> Trajectory:
    rng = np.random.default_rng(0)
    trk = rng.uniform(0, 60, (5, 3, 2)).astype(np.float32)
    vis = np.ones((5, 3), bool)
    vis[1, 2] = vis[3, 0] = False
    trk[1, 2] = np.nan
    return Trajectory(trk, vis, start_frame=2, ids=[7, 8, 10])


def _mask() -> Mask:
    data = np.zeros((3, 6, 8), bool)
    data[0, 1:4, 2:7] = True
    data[1, 2:5, 3:8] = True
    data[2, 5, 0] = True
    return Mask(data, start_frame=2)


def _motion() -> MotionEmbedding:
    tokens = np.random.default_rng(1).standard_normal((3, 2, 4)).astype(np.float32)
    return MotionEmbedding(tokens, base_model={"family": "svd", "embedding_dim": 4,
                                               "fingerprint": "abc123"},
                           source={"path": "ref.mp4", "fps": Fraction(24000, 1001)},
                           training={"steps": 10, "lr": 0.01, "loss_curve": [1.0, 0.5]})


def _project(path: Path) -> None:
    p = Project()
    p.add_clip(path.parent / "shot.mp4", in_frame=2, out_frame=40, name="Shot")
    p.add_clip(path.parent / "frames" / "f.%04d.png", id="seq")
    handles = _points()
    p.add_edit("shot", DragEdit(handles, handles.with_points(handles.points + 3), _mask()))
    p.add_edit("shot", TrajectoryEdit(Mask(_mask().data[:1]), _trajectory(),
                                      np.full((6, 8, 3), 200, np.uint8)))
    p.add_edit("seq", MotionTransfer(_motion(), 0.5))
    p.add_edit("seq", PromptEdit("a red car", negative_prompt="blur"))
    p.add_edit("seq", GuidedGeneration(str(path.parent / "ref.mp4"), _points(), "a bird"))
    p.add_motion("wave", path.parent / "wave.motion")
    p.save(path)


def _save_project(project: Project, path: Path) -> None:
    project.save(path)


def _load_ae(path: Path) -> tuple[Trajectory, dict[str, Any]]:
    return tracks.load_ae_keyframes(path)


def _save_ae(loaded: tuple[Trajectory, dict[str, Any]], path: Path) -> None:
    traj, info = loaded
    tracks.save_ae_keyframes(traj, path, info["fps"] or 24, info["size"] or (64, 64))


def _write_sidecar(path: Path) -> None:
    from motionwright._persist import write_json

    write_json(path, {"schema": f"{images.SIDECAR_TYPE}.{images.SIDECAR_VERSION}",
                      "pattern": "f.%04d.png", "first_number": 1, "frames": 10,
                      "fps": "24000/1001", "start_timecode": "01:00:00:00", "drop_frame": False})


FORMATS = [
    Format("pointset-json", ".json", lambda p: _points().save(p), PointSet.load,
           lambda o, p: o.save(p), mut.JSON_MUTATORS),
    Format("trajectory-json", ".json", lambda p: _trajectory().save(p), Trajectory.load,
           lambda o, p: o.save(p), mut.JSON_MUTATORS),
    Format("trajectory-cotracker", ".npz", lambda p: _trajectory().save(p, "cotracker"),
           lambda p: Trajectory.load(p, "cotracker"), lambda o, p: o.save(p, "cotracker"),
           mut.NPZ_MUTATORS),
    Format("trajectory-tapvid", ".npz", lambda p: _trajectory().save(p, "tapvid"),
           lambda p: Trajectory.load(p, "tapvid"), lambda o, p: o.save(p, "tapvid"),
           mut.NPZ_MUTATORS),
    Format("after-effects", ".txt",
           lambda p: tracks.save_ae_keyframes(_trajectory(), p, Fraction(24000, 1001),
                                              (64, 64)),
           _load_ae, _save_ae, mut.TEXT_MUTATORS),
    Format("mask-rle-json", ".json", lambda p: _mask().save(p), Mask.load,
           lambda o, p: o.save(p), mut.JSON_MUTATORS),
    Format("project", ".mwproj", _project, Project.load, _save_project, mut.JSON_MUTATORS),
    Format("motion", ".motion", lambda p: _motion().save(p), MotionEmbedding.load,
           lambda o, p: o.save(p), mut.BINARY_MUTATORS),
    Format("sequence-sidecar", images.SIDECAR_SUFFIX, _write_sidecar, images.read_sidecar,
           None, mut.JSON_MUTATORS),
]


def loaded_equal(a: Any, b: Any) -> bool:
    """Whether two loaded objects are equal. After Effects results compare their trajectories
    and sizes (the format writes the frame rate to six significant digits; a file without a
    size was saved with a stand-in one)."""
    if isinstance(a, tuple):
        return a[0] == b[0] and a[1]["size"] in (None, b[1]["size"])
    return a == b
