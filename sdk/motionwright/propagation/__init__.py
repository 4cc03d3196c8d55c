"""Carrying the papers' inputs through a clip.

- :mod:`.dragavideo` — Drag-A-Video §3.2: handle point sets, foreground/background split,
  eq. (1) and (2), mask points and per-frame masks (Fig. 5);
- :mod:`.revideo` — ReVideo §3.2/A.1: sparsify, length threshold, length-weighted sampling;
- :mod:`.pointtopoint` — Point-to-Point trajectory collection from three keyframes.
"""

from .dragavideo import (
    DragPropagation,
    expand_point_sets,
    mask_from_points,
    propagate_background,
    propagate_drag,
    propagate_targets,
    split_by_motion,
    split_foreground,
)
from .pointtopoint import collect_trajectories
from .revideo import collect_training_trajectories, path_lengths, sample_trajectories, sparsify

__all__ = [
    "DragPropagation",
    "collect_training_trajectories",
    "collect_trajectories",
    "expand_point_sets",
    "mask_from_points",
    "path_lengths",
    "propagate_background",
    "propagate_drag",
    "propagate_targets",
    "sample_trajectories",
    "sparsify",
    "split_by_motion",
    "split_foreground",
]
