"""The edits a user can make to a clip: small frozen dataclasses of typed objects and parameters.

Each edit class has a ``kind`` (``"drag"``, ``"trajectory"``, ``"motion-transfer"``,
``"prompt"``, ``"guided-generation"``), validates its fields on construction, compares by value
and turns into a JSON-safe dict (:meth:`to_dict`) that :func:`edit_from_dict` turns back. Media
paths inside an edit are stored relative to ``base_dir`` when one is given (the project folder).
"""

from __future__ import annotations

import base64
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import _persist
from ._validate import freeze
from .errors import FrameRangeError, InvalidInputError, ShapeError
from .io.image_decode import decode_image
from .types import Mask, MotionEmbedding, PointSet, Trajectory

VERSION = 1


def relative_path(path: str | os.PathLike, base_dir: str | os.PathLike | None) -> str:
    """``path`` as stored in a saved file: relative to ``base_dir`` with ``/`` separators, or
    absolute when there is no ``base_dir`` or it is on another drive."""
    absolute = os.path.abspath(os.fspath(path))
    if base_dir is None:
        return absolute
    try:
        return Path(os.path.relpath(absolute, os.path.abspath(base_dir))).as_posix()
    except ValueError:  # another drive on Windows
        return absolute


def absolute_path(stored: str, base_dir: str | os.PathLike | None) -> str:
    """Inverse of :func:`relative_path`: a stored path made absolute against ``base_dir``."""
    if not isinstance(stored, str) or not stored:
        raise InvalidInputError(f"path: expected a non-empty string, got {stored!r}")
    if os.path.isabs(stored) or base_dir is None:
        return os.path.abspath(stored)
    return os.path.abspath(os.path.join(os.fspath(base_dir), stored))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and bool(np.array_equal(a, b)))
    return bool(a == b)


def _require_type(value: Any, name: str, types: type | tuple[type, ...],
                  allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        if allow_none:
            names += " or None"
        raise InvalidInputError(f"{name}: expected {names}, got {type(value).__name__}")


def _require_prompt(value: Any, name: str, allow_empty: bool = False) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(f"{name}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidInputError(f"{name}: must not be empty; describe what the video should show")


class _Edit:
    """Shared behaviour: value equality over the fields, dict round trip."""

    kind: ClassVar[str]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name))
                   for f in fields(self))  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]

    def _fields_to_dict(self, base_dir: str | os.PathLike | None) -> dict[str, Any]:
        raise NotImplementedError  # every edit class defines it

    def check_against(self, num_frames: int, size: tuple[int, int], name: str = "edit") -> None:
        """Raise a typed error if this edit does not fit a clip of ``num_frames`` frames of
        ``size`` (width, height): frames beyond the clip, points outside it, masks of
        another size. Edits that hold no positions on the clip accept any clip."""

    def to_dict(self, base_dir: str | os.PathLike | None = None) -> dict[str, Any]:
        """A JSON-safe dict with ``kind`` and a ``"<Class>.1"`` schema label; media paths are
        written relative to ``base_dir`` when given."""
        return {"schema": _persist.schema_label(type(self).__name__, VERSION),
                "kind": self.kind, **self._fields_to_dict(base_dir)}


@dataclass(frozen=True, eq=False)
class DragEdit(_Edit):
    """Drag-A-Video: move the content under each handle point to its target on one frame.

    ``handles`` and ``targets`` are :class:`PointSet` s of equal length on the same frame
    (target ``i`` is where handle ``i`` goes); ``mask`` optionally limits the region that may
    change (static, or animated covering that frame). ``anchors`` optionally pins points of
    that frame in place, asking for a deformation (the content between anchors and handles
    bends) instead of moving the dragged object as one piece.
    """

    handles: PointSet
    targets: PointSet
    mask: Mask | None = None
    anchors: PointSet | None = None
    kind: ClassVar[str] = "drag"

    def __post_init__(self) -> None:
        _require_type(self.handles, "handles", PointSet)
        _require_type(self.targets, "targets", PointSet)
        _require_type(self.mask, "mask", Mask, allow_none=True)
        _require_type(self.anchors, "anchors", PointSet, allow_none=True)
        if len(self.handles) == 0:
            raise InvalidInputError("handles: a drag needs at least one handle point")
        if len(self.handles) != len(self.targets):
            raise InvalidInputError(
                f"targets: expected one target per handle ({len(self.handles)}), got "
                f"{len(self.targets)}; give handles and targets in pairs"
            )
        if self.handles.frame != self.targets.frame:
            raise InvalidInputError(
                f"targets: handles are on frame {self.handles.frame} but targets on frame "
                f"{self.targets.frame}; a drag happens on one frame"
            )
        if self.anchors is not None and self.anchors.frame != self.frame:
            raise InvalidInputError(
                f"anchors: handles are on frame {self.frame} but anchors on frame "
                f"{self.anchors.frame}; place the anchors on the drag frame"
            )
        if self.mask is not None:
            try:
                self.mask.at(self.frame)
            except FrameRangeError as exc:
                raise FrameRangeError(
                    f"mask: it does not cover the drag frame {self.frame} (it covers "
                    f"[{self.mask.start_frame}, {self.mask.end_frame})); use a mask for that "
                    "frame or a static mask"
                ) from exc

    @property
    def frame(self) -> int:
        """The frame the drag happens on (the handles' frame)."""
        return self.handles.frame

    def check_against(self, num_frames: int, size: tuple[int, int], name: str = "edit") -> None:
        _check_frame(self.frame, num_frames, f"{name}.handles.frame")
        self.handles.check_inside(size)
        self.targets.check_inside(size)
        if self.anchors is not None:
            self.anchors.check_inside(size)
        if self.mask is not None:
            _check_mask_size(self.mask, size, f"{name}.mask")
            _check_mask_not_empty(self.mask, self.frame, size, f"{name}.mask")

    def _fields_to_dict(self, base_dir: str | os.PathLike | None) -> dict[str, Any]:
        d = {"handles": self.handles.to_dict(), "targets": self.targets.to_dict(),
             "mask": None if self.mask is None else self.mask.to_dict()}
        if self.anchors is not None:
            d["anchors"] = self.anchors.to_dict()
        return d

    @classmethod
    def _from_fields(cls, d: dict[str, Any], base_dir: str | os.PathLike | None) -> DragEdit:
        mask, anchors = d.get("mask"), d.get("anchors")
        return cls(PointSet.from_dict(d["handles"]), PointSet.from_dict(d["targets"]),
                   None if mask is None else Mask.from_dict(mask),
                   None if anchors is None else PointSet.from_dict(anchors))


@dataclass(frozen=True, eq=False)
class TrajectoryEdit(_Edit):
    """ReVideo: move the content in ``region`` along ``trajectories``.

    ``first_frame`` optionally replaces the region's content with an edited first frame:
    ``(H, W, 3)`` uint8 or uint16 RGB of the region's size (stored read-only).
    """

    region: Mask
    trajectories: Trajectory
    first_frame: np.ndarray | None = None
    kind: ClassVar[str] = "trajectory"

    def __post_init__(self) -> None:
        _require_type(self.region, "region", Mask)
        _require_type(self.trajectories, "trajectories", Trajectory)
        if self.trajectories.num_points == 0:
            raise InvalidInputError("trajectories: need at least one point track")
        if self.first_frame is not None:
            frame = np.asarray(self.first_frame)
            w, h = self.region.size
            if frame.shape != (h, w, 3):
                raise ShapeError(
                    f"first_frame: expected shape (H, W, 3) = ({h}, {w}, 3) to match the region, "
                    f"got {frame.shape}"
                )
            if frame.dtype not in (np.uint8, np.uint16):
                raise ShapeError(f"first_frame: expected dtype uint8 or uint16, got {frame.dtype}")
            object.__setattr__(self, "first_frame", freeze(frame.copy()))

    def check_against(self, num_frames: int, size: tuple[int, int], name: str = "edit") -> None:
        _check_mask_size(self.region, size, f"{name}.region")
        traj = self.trajectories
        _check_frame(traj.start_frame, num_frames, f"{name}.trajectories.start_frame")
        if self.region.is_static or self.region.start_frame <= traj.start_frame < \
                self.region.end_frame:
            _check_mask_not_empty(self.region, traj.start_frame, size, f"{name}.region")
        if traj.end_frame > num_frames:
            raise FrameRangeError(
                f"{name}.trajectories: they run to frame {traj.end_frame - 1} but the clip has "
                f"{num_frames} frames (0..{num_frames - 1}); trim them with frames_slice"
            )

    def _fields_to_dict(self, base_dir: str | os.PathLike | None) -> dict[str, Any]:
        return {"region": self.region.to_dict(), "trajectories": self.trajectories.to_dict(),
                "first_frame": None if self.first_frame is None else _png_b64(self.first_frame)}

    @classmethod
    def _from_fields(cls, d: dict[str, Any],
                     base_dir: str | os.PathLike | None) -> TrajectoryEdit:
        first = d.get("first_frame")
        return cls(Mask.from_dict(d["region"]), Trajectory.from_dict(d["trajectories"]),
                   None if first is None else _png_from_b64(first))


@dataclass(frozen=True, eq=False)
class MotionTransfer(_Edit):
    """Reenact Anything: apply a learned ``motion`` to the clip's first frame.

    ``strength`` (> 0, 1 = as learned) scales the motion conditioning. The embedding is stored
    whole in :meth:`to_dict`, so a project keeps working if the ``.motion`` file moves.
    """

    motion: MotionEmbedding
    strength: float = 1.0
    kind: ClassVar[str] = "motion-transfer"

    def __post_init__(self) -> None:
        _require_type(self.motion, "motion", MotionEmbedding)
        s = self.strength
        if isinstance(s, bool) or not isinstance(s, int | float) or not math.isfinite(s) or s <= 0:
            raise InvalidInputError(f"strength: expected a finite number > 0, got {s!r}")
        object.__setattr__(self, "strength", float(self.strength))

    def _fields_to_dict(self, base_dir: str | os.PathLike | None) -> dict[str, Any]:
        return {"motion": self.motion.to_dict(), "strength": self.strength}

    @classmethod
    def _from_fields(cls, d: dict[str, Any],
                     base_dir: str | os.PathLike | None) -> MotionTransfer:
        return cls(MotionEmbedding.from_dict(d["motion"]), d.get("strength", 1.0))


@dataclass(frozen=True, eq=False)
class PromptEdit(_Edit):
    """Point-to-Point: re-render the clip to match ``prompt`` while anchor tokens (found
    automatically) keep its motion. ``source_prompt`` optionally describes the original clip;
    ``negative_prompt`` what to avoid."""

    prompt: str
    negative_prompt: str = ""
    source_prompt: str = ""
    kind: ClassVar[str] = "prompt"

    def __post_init__(self) -> None:
        _require_prompt(self.prompt, "prompt")
        _require_prompt(self.negative_prompt, "negative_prompt", allow_empty=True)
        _require_prompt(self.source_prompt, "source_prompt", allow_empty=True)

    def _fields_to_dict(self, base_dir: str | os.PathLike | None) -> dict[str, Any]:
        return {"prompt": self.prompt, "negative_prompt": self.negative_prompt,
                "source_prompt": self.source_prompt}

    @classmethod
    def _from_fields(cls, d: dict[str, Any], base_dir: str | os.PathLike | None) -> PromptEdit:
        return cls(d["prompt"], d.get("negative_prompt", ""), d.get("source_prompt", ""))


@dataclass(frozen=True, eq=False)
class GuidedGeneration(_Edit):
    """S²V2V: generate a video from ``prompt`` whose motion follows a reference.

    ``reference`` is the path of the reference clip (made absolute on construction); ``points``
    are sparse points on it (a :class:`PointSet` to be tracked, or a :class:`Trajectory`
    already tracked). Instead of a reference, ``box`` may give a box trajectory: a
    :class:`Trajectory` of 2 points, the top-left and bottom-right corners per frame.
    """

    reference: str | None
    points: PointSet | Trajectory | None
    prompt: str
    box: Trajectory | None = None
    negative_prompt: str = ""
    kind: ClassVar[str] = "guided-generation"

    def __post_init__(self) -> None:
        if self.reference is not None:
            if not isinstance(self.reference, str | os.PathLike) or not os.fspath(self.reference):
                raise InvalidInputError(
                    f"reference: expected the path of a clip, got {self.reference!r}"
                )
            object.__setattr__(self, "reference", os.path.abspath(os.fspath(self.reference)))
        _require_type(self.points, "points", (PointSet, Trajectory), allow_none=True)
        _require_type(self.box, "box", Trajectory, allow_none=True)
        _require_prompt(self.prompt, "prompt")
        _require_prompt(self.negative_prompt, "negative_prompt", allow_empty=True)
        if self.reference is None and self.box is None:
            raise InvalidInputError(
                "reference: give a reference clip to take the motion from, or a box trajectory"
            )
        if self.points is not None and self.reference is None:
            raise InvalidInputError(
                "points: sparse points are positions on the reference clip; give reference too"
            )
        if self.box is not None and self.box.num_points != 2:
            raise InvalidInputError(
                f"box: expected a trajectory of 2 points (top-left and bottom-right corners), "
                f"got {self.box.num_points}"
            )

    def _fields_to_dict(self, base_dir: str | os.PathLike | None) -> dict[str, Any]:
        return {
            "reference": None if self.reference is None else relative_path(self.reference,
                                                                            base_dir),
            "points": None if self.points is None else self.points.to_dict(),
            "prompt": self.prompt,
            "box": None if self.box is None else self.box.to_dict(),
            "negative_prompt": self.negative_prompt,
        }

    @classmethod
    def _from_fields(cls, d: dict[str, Any],
                     base_dir: str | os.PathLike | None) -> GuidedGeneration:
        ref = d.get("reference")
        points = d.get("points")
        if points is not None:
            is_track = str(points.get("schema", "")).startswith("Trajectory.")
            points = Trajectory.from_dict(points) if is_track else PointSet.from_dict(points)
        box = d.get("box")
        return cls(None if ref is None else absolute_path(ref, base_dir), points, d["prompt"],
                   None if box is None else Trajectory.from_dict(box),
                   d.get("negative_prompt", ""))


Edit = DragEdit | TrajectoryEdit | MotionTransfer | PromptEdit | GuidedGeneration
EDIT_TYPES: dict[str, type] = {cls.kind: cls for cls in (
    DragEdit, TrajectoryEdit, MotionTransfer, PromptEdit, GuidedGeneration)}


def _check_frame(frame: int, num_frames: int, name: str) -> None:
    if not 0 <= frame < num_frames:
        raise FrameRangeError(
            f"{name}: frame {frame} is outside the clip's {num_frames} frames (0..{num_frames - 1})"
        )


def _check_mask_size(mask: Mask, size: tuple[int, int], name: str) -> None:
    if tuple(mask.size) != tuple(size):
        raise ShapeError(
            f"{name}: expected a mask of the clip's size {size[0]}x{size[1]}, got "
            f"{mask.size[0]}x{mask.size[1]}; resize it with Mask.resized"
        )


def _check_mask_not_empty(mask: Mask, frame: int, size: tuple[int, int], name: str) -> None:
    if mask.bbox(frame) is None:
        raise InvalidInputError(
            f"{name}: empty on frame {frame} (bounding box: none inside the {size[0]}x{size[1]} "
            "frame), so the edit would change nothing; draw the mask inside the frame"
        )


def edit_from_dict(d: dict[str, Any], base_dir: str | os.PathLike | None = None) -> Edit:
    """Rebuild an edit from :meth:`to_dict` output; relative media paths are resolved against
    ``base_dir``. A dict without a schema label is read as the current version."""
    if not isinstance(d, dict):
        raise InvalidInputError(f"edit: expected a dict, got {type(d).__name__}")
    kind = d.get("kind")
    cls = EDIT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidInputError(
            f"edit kind: expected one of {', '.join(EDIT_TYPES)}, got {kind!r:.60}"
        )
    d = dict(d)
    d.setdefault("schema", _persist.schema_label(cls.__name__, VERSION))  # "kind" names the type
    d = _persist.upgrade(d, cls.__name__, VERSION)
    return cls._from_fields(d, base_dir)  # type: ignore[attr-defined]


def _png_b64(image: np.ndarray) -> dict[str, Any]:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise InvalidInputError("first_frame: could not encode it as PNG")
    return {"png": base64.b64encode(buf.tobytes()).decode("ascii"), "dtype": str(image.dtype)}


def _png_from_b64(d: dict[str, Any]) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(d["png"], validate=True), np.uint8)
    image = decode_image(raw, "first_frame PNG")
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInputError("first_frame: the stored PNG is not an RGB image")
    if str(image.dtype) != d.get("dtype", str(image.dtype)):
        raise InvalidInputError(f"first_frame: stored as {d['dtype']}, decoded as {image.dtype}")
    return image[..., ::-1]
