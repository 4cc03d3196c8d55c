"""Training samples for ReVideo's three stages (§3.3, §4.1, App. A.1) from a folder of videos.

A sample is ``frames`` consecutive frames of one video, centre-cropped and resized to the
training size (512×320 in the paper), with:

- trajectories from :func:`motionwright.track` on a grid, sampled as App. A.1 (sparsify,
  keep paths longer than the mean, draw 1–10 with probability proportional to length —
  :func:`motionwright.propagation.revideo.sample_trajectories`), turned into the Gaussian-spread
  displacement maps ``c_mot``;
- the editing mask ``M``: the whole frame in stage 1 ("trajectory sampling is performed
  throughout the video", so the content condition ``V·(1−M)`` is empty and only motion control
  is learned); a random rectangle of at least 64×64 in stages 2 and 3, the trajectories
  sampled inside it;
- stage 2's decoupling composite ``V = V1·M + V2·(1−M)`` of two different videos (Fig. 4), the
  trajectories coming from V1 (the edited part).

Each sample's randomness comes from ``numpy.random.default_rng((seed, step, index))``, so a
resumed run draws exactly the samples an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mxf")
MIN_REGION = 64


@dataclass
class Sample:
    """One training sample: ``frames`` ``(F, H, W, 3)`` uint8 (the target V), ``mask``
    ``(F, H, W)`` bool (M), ``flow`` ``(F, 2, H, W)`` float32 (c_mot), ``fps``."""

    frames: np.ndarray
    mask: np.ndarray
    flow: np.ndarray
    fps: float


def random_box(rng: np.random.Generator, size: tuple[int, int],
               minimum: int = MIN_REGION) -> tuple[int, int, int, int]:
    """A random ``(x, y, w, h)`` inside a frame of ``size`` with sides of at least
    ``minimum`` pixels (or the whole side when the frame is smaller)."""
    W, H = size
    lo_w, lo_h = min(minimum, W), min(minimum, H)
    w = int(rng.integers(lo_w, W + 1))
    h = int(rng.integers(lo_h, H + 1))
    return int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1)), w, h


def decoupling_composite(v1: np.ndarray, v2: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Stage 2's ``V = V1·M + V2·(1−M)`` for ``(F, H, W, 3)`` videos and ``(F, H, W)`` M."""
    return np.where(mask[..., None], v1, v2)


class VideoFolder:
    """The training videos of a folder (sorted; every file with a video suffix, and image-
    sequence sub-folders), read as ``(F, H, W, 3)`` uint8 windows at ``size``.

    ``tracker(frames, box, rng)`` returns a :class:`~motionwright.Trajectory` of sampled
    trajectories for a window (default: :func:`track_and_sample`).
    """

    def __init__(self, folder: str | Path, *, frames: int, size: tuple[int, int],
                 stage: int, grid: float = 16.0, tracker: Any = None) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise InvalidInputError(f"data: expected a folder of videos, got '{root}'")
        self.paths = sorted(p for p in root.iterdir()
                            if p.suffix.lower() in VIDEO_SUFFIXES or p.is_dir())
        need = 2 if stage == 2 else 1
        if len(self.paths) < need:
            raise InvalidInputError(
                f"data: '{root}' holds {len(self.paths)} videos; stage {stage} needs at least "
                f"{need} (stage 2 composites two different videos)")
        self.frames, self.size, self.stage, self.grid = frames, tuple(size), stage, grid
        self.tracker = tracker or track_and_sample
        self._clips: dict[Path, Any] = {}

    def _clip(self, path: Path):
        from ...clip import Clip

        if path not in self._clips:
            clip = Clip.open(path)
            if len(clip) < self.frames:
                raise InvalidInputError(
                    f"data: '{path}' has {len(clip)} frames, fewer than the {self.frames} a "
                    f"sample needs; remove it or lower --frames")
            self._clips[path] = clip
        return self._clips[path]

    def window(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """A random window of video ``index`` at the training size, and its frame rate."""
        from .._frames import fit_frames

        clip = self._clip(self.paths[index % len(self.paths)])
        start = int(rng.integers(0, len(clip) - self.frames + 1))
        raw = np.asarray(clip[start:start + self.frames].to_array())
        if raw.dtype == np.uint16:
            raw = (raw >> 8).astype(np.uint8)
        return fit_frames(raw, self.size), float(clip.fps or 8)

    def sample(self, seed: int, step: int, index: int, sigma: float = 10.0) -> Sample:
        """The ``index``-th sample of optimisation step ``step``."""
        rng = np.random.default_rng((seed, step, index))
        first = int(rng.integers(0, len(self.paths)))
        v1, fps = self.window(first, rng)
        W, H = self.size
        box = (0, 0, W, H) if self.stage == 1 else random_box(rng, self.size)
        mask = np.zeros((self.frames, H, W), bool)
        x, y, w, h = box
        mask[:, y:y + h, x:x + w] = True
        traj = self.tracker(v1, box, rng)
        flow = traj.to_flow_maps(self.size, sigma) * mask[:, None]
        frames = v1
        if self.stage == 2:
            other = (first + 1 + int(rng.integers(0, len(self.paths) - 1))) % len(self.paths)
            v2, _ = self.window(other, rng)
            frames = decoupling_composite(v1, v2, mask)
        return Sample(frames, mask, flow.astype(np.float32), fps)


def track_and_sample(frames: np.ndarray, box: tuple[int, int, int, int],
                     rng: np.random.Generator, grid: float = 16.0):
    """Trajectories of ``frames`` inside ``box``: tracked with :func:`motionwright.track`
    from a grid and sampled as App. A.1. A window where nothing moves gives an all-hidden
    single track (an empty motion condition) instead of failing the run."""
    from ...clip import Clip
    from ...propagation.revideo import collect_training_trajectories
    from ...types import Trajectory

    clip = Clip.from_frames(frames, fps=8)
    cell = min(grid, box[2] / 2, box[3] / 2)
    try:
        return collect_training_trajectories(clip, grid=cell, region=box, rng=rng)
    except InvalidInputError:
        T = len(frames)
        return Trajectory(np.zeros((T, 1, 2), np.float32), np.zeros((T, 1), bool))
