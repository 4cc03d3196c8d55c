"""Project: clips, the edits made to each, tracked points per clip and a library of learned
motions (``.mwproj``).

A project file is versioned JSON (``"Project.2"``; ``"Project.1"`` files, which had no
tracks, are upgraded on load) written atomically. Media (clips, motion
files, reference clips of edits) are referred to by path, stored relative to the project file's
folder (absolute when on another drive), so a project folder can be moved or shared whole.
Loading never opens the media: a moved clip is reported by :meth:`Project.missing_media` or,
with ``check_media=True`` / :meth:`Project.check_media`, raises MediaNotFoundError naming it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _persist
from ._validate import require_int
from .edits import EDIT_TYPES, Edit, GuidedGeneration, absolute_path, edit_from_dict, relative_path
from .errors import InvalidInputError, MediaNotFoundError
from .types import Trajectory
from .types._common import reading

SCHEMA = "Project"
VERSION = 2


def _add_tracks(payload: dict[str, Any]) -> dict[str, Any]:
    """Project.1 -> Project.2: version 2 adds ``tracks`` (clip id -> Trajectory)."""
    payload.setdefault("tracks", {})
    return payload


# UPGRADERS[v] turns a Project.v payload into a Project.(v+1) payload.
UPGRADERS: dict[int, _persist.Upgrader] = {1: _add_tracks}
SUFFIX = ".mwproj"

_FRAME_FIELD = re.compile(r"%0?\d*d")


@dataclass(frozen=True)
class ClipRef:
    """A clip in a project: the media ``path`` (a video file, an image-sequence folder or a
    printf pattern; made absolute), a unique ``id``, the frames used ``[in_frame, out_frame)``
    (``out_frame`` None = to the end) and an optional display ``name``.

    The id is a name, not a path: one with ``/``, ``\\``, NUL or control characters, ``.``
    or ``..``, or over 200 characters, is refused (UnsafePathError / InvalidInputError), also
    when a project file is loaded."""

    path: str
    id: str
    in_frame: int = 0
    out_frame: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        from .file_names import check_id

        if not isinstance(self.path, str | os.PathLike) or not os.fspath(self.path):
            raise InvalidInputError(f"path: expected the path of a clip, got {self.path!r}")
        object.__setattr__(self, "path", os.path.abspath(os.fspath(self.path)))
        check_id(self.id, "id")
        object.__setattr__(self, "in_frame", require_int(self.in_frame, "in_frame", 0))
        if self.out_frame is not None:
            out = require_int(self.out_frame, "out_frame")
            if out <= self.in_frame:
                raise InvalidInputError(
                    f"out_frame: expected a frame after in_frame {self.in_frame} (exclusive), "
                    f"got {out}"
                )
        if self.name is not None and not isinstance(self.name, str):
            raise InvalidInputError(f"name: expected a string or None, got {self.name!r}")


class Project:
    """An editing session: ``clips`` (list of :class:`ClipRef`), ``edits`` (clip id -> list of
    edits, applied in order), ``motions`` (name -> ``.motion`` file path), ``tracks`` (clip id
    -> the :class:`~motionwright.Trajectory` of points tracked through that clip) and the
    ``path`` of the ``.mwproj`` file (None until saved).

    The attributes are plain lists and dicts; :meth:`validate` (run on construction and before
    saving) checks them. Paths are held absolute in memory.
    """

    def __init__(self, clips: Any = (), edits: dict[str, list[Edit]] | None = None,
                 motions: dict[str, str | os.PathLike] | None = None,
                 path: str | os.PathLike | None = None,
                 tracks: dict[str, Trajectory] | None = None) -> None:
        self.clips: list[ClipRef] = []
        for clip in clips:
            if isinstance(clip, ClipRef):
                self.clips.append(clip)
            else:
                self.add_clip(clip)
        self.edits: dict[str, list[Edit]] = {k: list(v) for k, v in (edits or {}).items()}
        self.motions: dict[str, str] = {}
        for name, motion_path in (motions or {}).items():
            self.add_motion(name, motion_path)
        self.tracks: dict[str, Trajectory] = dict(tracks or {})
        self.path: Path | None = None if path is None else Path(path)
        self.validate()

    # -- editing ----------------------------------------------------------------------------
    def add_clip(self, path: str | os.PathLike, *, id: str | None = None, in_frame: int = 0,
                 out_frame: int | None = None, name: str | None = None) -> ClipRef:
        """Add a clip by path (id derived from the file name unless given); returns it."""
        clip_id = id if id is not None else self._new_id(path)
        if any(c.id == clip_id for c in self.clips):
            raise InvalidInputError(f"id: the project already has a clip with id {clip_id!r}")
        ref = ClipRef(os.fspath(path), clip_id, in_frame, out_frame, name)
        self.clips.append(ref)
        return ref

    def _new_id(self, path: str | os.PathLike) -> str:
        stem = _FRAME_FIELD.sub("", Path(os.fspath(path)).name)
        stem = Path(stem).stem if Path(stem).suffix else stem
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_.") or "clip"
        taken = {c.id for c in self.clips}
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def clip(self, clip_id: str) -> ClipRef:
        """The clip with id ``clip_id``."""
        for c in self.clips:
            if c.id == clip_id:
                return c
        raise InvalidInputError(
            f"clip id: no clip {clip_id!r} in this project (clips: "
            f"{', '.join(c.id for c in self.clips) or 'none'})"
        )

    def add_edit(self, clip_id: str, edit: Edit) -> None:
        """Append ``edit`` to the edits of clip ``clip_id``."""
        self.clip(clip_id)
        _check_edit(edit, f"edits[{clip_id!r}]")
        self.edits.setdefault(clip_id, []).append(edit)

    def add_motion(self, name: str, path: str | os.PathLike) -> None:
        """Add (or replace) a ``.motion`` file in the motion library under ``name``."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"motion name: expected a non-empty string, got {name!r}")
        if not isinstance(path, str | os.PathLike) or not os.fspath(path):
            raise InvalidInputError(f"motions[{name!r}]: expected a file path, got {path!r}")
        self.motions[name] = os.path.abspath(os.fspath(path))

    def set_tracks(self, clip_id: str, tracks: Trajectory | None) -> None:
        """Keep ``tracks`` as the points tracked through clip ``clip_id`` (None forgets them)."""
        self.clip(clip_id)
        if tracks is None:
            self.tracks.pop(clip_id, None)
            return
        _check_tracks(tracks, f"tracks[{clip_id!r}]")
        self.tracks[clip_id] = tracks

    def relink_clip(self, clip_id: str, path: str | os.PathLike) -> ClipRef:
        """Point clip ``clip_id`` at media that moved to ``path``; returns the new ClipRef."""
        old = self.clip(clip_id)
        new = ClipRef(os.fspath(path), old.id, old.in_frame, old.out_frame, old.name)
        self.clips[self.clips.index(old)] = new
        return new

    def validate(self) -> None:
        """Check the attributes: ClipRefs with unique ids, edits only for known clips, motion
        names and paths."""
        ids: set[str] = set()
        for i, clip in enumerate(self.clips):
            if not isinstance(clip, ClipRef):
                raise InvalidInputError(
                    f"clips[{i}]: expected a ClipRef, got {type(clip).__name__}"
                )
            if clip.id in ids:
                raise InvalidInputError(f"clips: ids must be unique, got {clip.id!r} twice")
            ids.add(clip.id)
        for clip_id, edits in self.edits.items():
            if clip_id not in ids:
                listed = ", ".join(sorted(ids)[:10]) + (", …" if len(ids) > 10 else "")
                raise InvalidInputError(
                    f"edits: clip id {clip_id!r:.80} is not one of the project's clips "
                    f"({listed or 'none'}); add the clip first"
                )
            if not isinstance(edits, list):
                raise InvalidInputError(f"edits[{clip_id!r}]: expected a list of edits")
            for j, edit in enumerate(edits):
                _check_edit(edit, f"edits[{clip_id!r}][{j}]")
        for name, motion_path in self.motions.items():
            if not isinstance(name, str) or not name or not isinstance(motion_path, str):
                raise InvalidInputError(f"motions: expected name -> path, got {name!r}")
        for clip_id, tracks in self.tracks.items():
            if clip_id not in ids:
                raise InvalidInputError(
                    f"tracks: clip id {clip_id!r} is not one of the project's clips "
                    f"({', '.join(ids) or 'none'}); add the clip first"
                )
            _check_tracks(tracks, f"tracks[{clip_id!r}]")

    # -- media ------------------------------------------------------------------------------
    def media(self) -> list[tuple[str, str]]:
        """Every media path the project refers to, as ``(what, absolute path)`` pairs."""
        out = [(f"clip {c.id!r}", c.path) for c in self.clips]
        for clip_id, edits in self.edits.items():
            for j, edit in enumerate(edits):
                if isinstance(edit, GuidedGeneration) and edit.reference is not None:
                    out.append((f"reference of edit {j} of clip {clip_id!r}", edit.reference))
        out += [(f"motion {name!r}", p) for name, p in self.motions.items()]
        return out

    def missing_media(self) -> list[str]:
        """The media paths that do not exist (clips, edit references, motion files), in that
        order, each once."""
        missing: list[str] = []
        for _, p in self.media():
            if p not in missing and not _media_exists(p):
                missing.append(p)
        return missing

    def check_media(self) -> None:
        """Raise MediaNotFoundError naming every missing media path."""
        missing = [(what, p) for what, p in self.media() if not _media_exists(p)]
        if missing:
            listed = "; ".join(f"{what}: '{p}'" for what, p in missing)
            raise MediaNotFoundError(
                f"project media not found — {listed}; move the files back or relink them "
                "(Project.relink_clip(id, new_path), Project.add_motion(name, new_path))"
            )

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self, base_dir: str | os.PathLike | None = None) -> dict[str, Any]:
        """A JSON-safe dict labelled ``"Project.2"``; paths relative to ``base_dir`` if given."""
        self.validate()
        return {
            "schema": _persist.schema_label(SCHEMA, VERSION),
            "clips": [{"id": c.id, "path": relative_path(c.path, base_dir),
                       "in_frame": c.in_frame, "out_frame": c.out_frame, "name": c.name}
                      for c in self.clips],
            "edits": {clip_id: [e.to_dict(base_dir) for e in edits]
                      for clip_id, edits in self.edits.items()},
            "motions": {name: relative_path(p, base_dir) for name, p in self.motions.items()},
            "tracks": {clip_id: t.to_dict() for clip_id, t in self.tracks.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], base_dir: str | os.PathLike | None = None) -> Project:
        """Rebuild a project from :meth:`to_dict` output; relative paths are resolved against
        ``base_dir`` (older versions are upgraded, newer ones refused)."""
        return cls._from_payload(d, base_dir, "")

    @classmethod
    def _from_payload(cls, d: Any, base_dir: str | os.PathLike | None,
                      source: str) -> Project:
        with reading(source, "Motionwright project"):
            if not isinstance(d, dict):
                raise InvalidInputError(f"expected a JSON object, got {type(d).__name__}")
            d = _persist.upgrade(dict(d), SCHEMA, VERSION, UPGRADERS, source=source)
            clips = [ClipRef(absolute_path(c["path"], base_dir), c["id"], c.get("in_frame", 0),
                             c.get("out_frame"), c.get("name"))
                     for c in _typed(d.get("clips", []), list, "clips")]
            edits = {clip_id: [edit_from_dict(e, base_dir) for e in _typed(items, list, clip_id)]
                     for clip_id, items in _typed(d.get("edits", {}), dict, "edits").items()}
            motions = {name: absolute_path(p, base_dir)
                       for name, p in _typed(d.get("motions", {}), dict, "motions").items()}
            tracks = {clip_id: Trajectory.from_dict(_typed(t, dict, f"tracks[{clip_id!r}]"))
                      for clip_id, t in _typed(d.get("tracks", {}), dict, "tracks").items()}
            return cls(clips, edits, motions, tracks=tracks)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the project to ``path`` (default: where it was loaded or last saved),
        atomically; returns the path written and remembers it."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise InvalidInputError(
                "path: this project has never been saved; give a path like 'shot.mwproj'"
            )
        target = Path(os.path.abspath(target))
        _persist.write_json(target, self.to_dict(base_dir=target.parent))
        self.path = target
        return target

    @classmethod
    def load(cls, path: str | os.PathLike, check_media: bool = False) -> Project:
        """Read a ``.mwproj`` file. Missing media do not stop loading unless ``check_media``
        (see :meth:`missing_media`); a file that is not a project raises CorruptFileError, one
        from a newer Motionwright SchemaVersionError."""
        p = Path(os.path.abspath(path))
        payload = _persist.read_json(p, "Motionwright project")
        project = cls._from_payload(payload, p.parent, str(p))
        project.path = p
        if check_media:
            project.check_media()
        return project

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Project):
            return NotImplemented
        return (self.clips == other.clips and self.motions == other.motions
                and self.tracks == other.tracks
                and {k: v for k, v in self.edits.items() if v}
                == {k: v for k, v in other.edits.items() if v})

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n_edits = sum(len(v) for v in self.edits.values())
        where = f", path='{self.path}'" if self.path else ""
        return (f"Project(clips={len(self.clips)}, edits={n_edits}, "
                f"motions={len(self.motions)}{where})")


def _check_edit(edit: Any, name: str) -> None:
    if not isinstance(edit, tuple(EDIT_TYPES.values())):
        raise InvalidInputError(
            f"{name}: expected an edit ({', '.join(t.__name__ for t in EDIT_TYPES.values())}), "
            f"got {type(edit).__name__}"
        )


def _check_tracks(tracks: Any, name: str) -> None:
    if not isinstance(tracks, Trajectory):
        raise InvalidInputError(f"{name}: expected a Trajectory, got {type(tracks).__name__}")


def _typed(value: Any, kind: type, name: str) -> Any:
    if not isinstance(value, kind):
        raise InvalidInputError(f"{name}: expected a JSON {kind.__name__}, got {value!r:.60}")
    return value


def _media_exists(path: str) -> bool:
    """A file or folder exists, or, for a printf pattern, at least one frame file does.

    A path the system cannot even look up (a NUL byte, too long a name) does not exist.
    """
    p = Path(path)
    try:
        if not _FRAME_FIELD.search(p.name):
            return p.exists()
        if not p.parent.is_dir():
            return False
        before, after = _FRAME_FIELD.split(p.name, maxsplit=1)
        regex = re.compile(re.escape(before) + r"\d+" + re.escape(after) + r"\Z")
        return any(regex.match(f.name) for f in p.parent.iterdir())
    except (OSError, ValueError):
        return False
