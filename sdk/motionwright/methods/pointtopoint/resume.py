"""Finished windows of a Point-to-Point render, kept on disk so an interrupted render resumes.

Each window is stored under a key that hashes everything its result depends on (the working-
size frames, the edit's prompts, the settings, the model's identity and any anchors the user
chose): ``<key>.npy`` (the edited frames, uint8, read with ``allow_pickle=False``) and
``<key>.anchors`` (:class:`~.anchors.AnchorTokens`). Both are written atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ... import _persist
from .anchors import AnchorTokens


def window_key(frames: np.ndarray, edit: Any, settings: Any, identity: dict,
               anchors: AnchorTokens | None) -> str:
    """A hex digest naming one window's result."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(frames).tobytes())
    h.update(json.dumps([edit.prompt, edit.negative_prompt, edit.source_prompt,
                         dataclasses.asdict(settings), identity], sort_keys=True,
                        default=str).encode())
    if anchors is not None:
        h.update(np.ascontiguousarray(anchors.indices).tobytes())
        h.update(np.nan_to_num(anchors.trajectories.tracks).tobytes())
    return h.hexdigest()[:32]


class WindowStore:
    """The files of one finished window in ``folder``."""

    def __init__(self, folder: Any, key: str) -> None:
        self.folder = Path(folder)
        self.frames_path = self.folder / f"{key}.npy"
        self.anchors_path = self.folder / f"{key}.anchors"

    def exists(self) -> bool:
        """Whether both files of the window are there."""
        return self.frames_path.is_file() and self.anchors_path.is_file()

    def load(self) -> tuple[np.ndarray, AnchorTokens]:
        """The window's edited frames ``(T, h, w, 3)`` uint8 and its anchors."""
        frames = np.load(self.frames_path, allow_pickle=False)
        return frames, AnchorTokens.load(self.anchors_path)

    def save(self, frames: np.ndarray, anchors: AnchorTokens) -> None:
        """Keep the window (anchors first, so a window is complete once its frames exist)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        anchors.save(self.anchors_path)
        with _persist.atomic_open(self.frames_path, "wb") as fh:
            np.save(fh, np.ascontiguousarray(frames, np.uint8), allow_pickle=False)
