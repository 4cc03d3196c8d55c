"""Autosave to a recovery file and recovery after a crash."""

from __future__ import annotations

import os
import time
from pathlib import Path

import motionwright as mw

from .settings import read_json_file, state_dir, write_json_file


class Recovery:
    """The recovery copy of the open project in ``folder`` (default: the editor's state
    folder): ``recovery.mwproj`` plus ``recovery.json`` (the original path, the clip shown,
    when it was written). Cleared on save and on a clean exit; present at start-up only when
    the previous session ended without either."""

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder) if folder is not None else state_dir()
        self.project_path = self.folder / "recovery.mwproj"
        self.meta_path = self.folder / "recovery.json"

    def save(self, project: mw.Project, clip_id: str | None = None) -> Path:
        """Write a copy of ``project`` (its own ``path`` is left untouched)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        copy = mw.Project.from_dict(project.to_dict())
        copy.save(self.project_path)
        write_json_file(self.meta_path, {
            "original": None if project.path is None else str(project.path),
            "clip_id": clip_id, "time": time.time(),
        })
        return self.project_path

    def available(self) -> bool:
        """Whether a recovery copy exists."""
        return self.project_path.exists() and self.meta_path.exists()

    def load(self) -> tuple[mw.Project, str | None, str | None]:
        """The recovered project, the path it was saved under before (or None) and the clip
        id that was shown."""
        meta = read_json_file(self.meta_path, {})
        project = mw.Project.load(self.project_path)
        original = meta.get("original")
        project.path = None if original is None else Path(original)
        return project, original, meta.get("clip_id")

    def clear(self) -> None:
        """Delete the recovery copy."""
        for p in (self.project_path, self.meta_path):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
