"""Finished windows kept on disk, so an interrupted ReVideo render resumes where it stopped.

With a cache folder, each finished window's frames (working size, uint8) are written
atomically as ``<key>-<start>.safetensors``; the key hashes everything the window depends on
(the crop's frames, masks and motion maps, the reference image, the settings, the models'
fingerprints), so a changed edit or setting never reuses a stale window.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np


def render_key(parts: list[Any]) -> str:
    """A short hex key of ``parts`` (arrays by their bytes and shape, others by ``repr``)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(repr((part.shape, str(part.dtype))).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()[:24]


class WindowCache:
    """Read and write finished windows under ``folder`` for one render ``key``."""

    def __init__(self, folder: str | Path, key: str) -> None:
        self.folder = Path(folder)
        self.key = key

    def path(self, start: int) -> Path:
        """The file of the window starting at frame ``start``."""
        return self.folder / f"revideo-{self.key}-{start:06d}.safetensors"

    def load(self, start: int) -> np.ndarray | None:
        """The window's frames ``(F, h, w, 3)`` uint8, or None when not (validly) stored."""
        from safetensors.numpy import load_file

        path = self.path(start)
        if not path.is_file():
            return None
        try:
            frames = load_file(str(path))["frames"]
        except Exception:
            return None  # a damaged file is rendered again
        return frames if frames.dtype == np.uint8 and frames.ndim == 4 else None

    def store(self, start: int, frames: np.ndarray) -> None:
        """Write the window's frames atomically."""
        from safetensors.numpy import save_file

        from ..._persist import atomic_path

        with atomic_path(self.path(start)) as tmp:
            save_file({"frames": np.ascontiguousarray(frames)}, str(tmp))
