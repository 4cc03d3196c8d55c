"""The motion library (no Qt): the project's motions, the ``.motion`` files in the project's
``motions/`` folder and in the user library folder, and a cheap fingerprint of all of them so a
view can notice files that appear, change or go away."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import motionwright as mw

from .settings import user_motion_dir

if TYPE_CHECKING:
    from .editor import EditorModel

MOTION_SUFFIX = ".motion"


def library_folders(model: EditorModel) -> list[tuple[str, Path]]:
    """``(scope, folder)`` scanned for ``.motion`` files: ``motions/`` next to the saved
    project (scope ``project``), then the user library (scope ``user``). Folders need not
    exist."""
    folders = []
    if model.project.path is not None:
        folders.append(("project", Path(model.project.path).parent / "motions"))
    folders.append(("user", user_motion_dir()))
    return folders


def _motion_files(folder: Path) -> list[Path]:
    try:
        return sorted(f for f in folder.iterdir()
                      if f.suffix == MOTION_SUFFIX and f.is_file())
    except OSError:  # missing or unreadable folder
        return []


def library_entries(model: EditorModel) -> list[dict[str, Any]]:
    """The motion library: the project's motions, then the ``.motion`` files of
    :func:`library_folders` not already listed, each ``{"name", "path", "scope", "summary"}``
    (summary None while a file cannot be read, e.g. half copied)."""
    out = [{"name": n, "path": p, "scope": "project"} for n, p in model.project.motions.items()]
    known = {os.path.abspath(e["path"]) for e in out}
    for scope, folder in library_folders(model):
        for f in _motion_files(folder):
            if os.path.abspath(f) not in known:
                known.add(os.path.abspath(f))
                out.append({"name": f.stem, "path": str(f), "scope": scope})
    for e in out:
        try:
            e["summary"] = mw.MotionEmbedding.load(e["path"]).summary()
        except (mw.errors.MotionwrightError, OSError, ValueError):
            e["summary"] = None
    return out


def library_fingerprint(model: EditorModel) -> tuple:
    """What the library looks like on disk: every listed or found file with its size and
    modification time (a stat per file, nothing is read). It changes when a file is added,
    removed, replaced or finishes copying."""
    paths = list(model.project.motions.values())
    for _, folder in library_folders(model):
        paths += [str(f) for f in _motion_files(folder)]
    out = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((p, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((p, None, None))
    return tuple(out)
