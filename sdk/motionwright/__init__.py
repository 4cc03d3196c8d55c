"""Motionwright: motion-controlled video editing with local diffusion models.

``import motionwright as mw`` gives the typed objects (:class:`Clip`, :class:`PointSet`,
:class:`Trajectory`, :class:`Mask`, :class:`MotionEmbedding`), the edits, :class:`Project`
and :func:`render`. Names are resolved on first use, so importing the package stays cheap and
never needs torch, diffusers or Qt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Clip": "motionwright.clip",
    "Timecode": "motionwright.timecode",
    "PointSet": "motionwright.types",
    "Trajectory": "motionwright.types",
    "Mask": "motionwright.types",
    "MotionEmbedding": "motionwright.types",
    "DragEdit": "motionwright.edits",
    "TrajectoryEdit": "motionwright.edits",
    "MotionTransfer": "motionwright.edits",
    "PromptEdit": "motionwright.edits",
    "GuidedGeneration": "motionwright.edits",
    "Project": "motionwright.project",
    "render": "motionwright.rendering",
    "track": "motionwright.tracking",
    "learn_motion": "motionwright.learn",
    "anchor_tokens": "motionwright.methods.pointtopoint",
    "AnchorTokens": "motionwright.methods.pointtopoint",
    "segment": "motionwright.segmentation",
    "segment_clip": "motionwright.segmentation",
    "CancelToken": "motionwright.progress",
    "ProgressEvent": "motionwright.progress",
    "errors": "motionwright.errors",
    "limits": "motionwright.limits",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'motionwright' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name in ("errors", "limits") else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import errors, limits
    from .clip import Clip
    from .edits import DragEdit, GuidedGeneration, MotionTransfer, PromptEdit, TrajectoryEdit
    from .learn import learn_motion
    from .methods.pointtopoint import AnchorTokens, anchor_tokens
    from .progress import CancelToken, ProgressEvent
    from .project import Project
    from .rendering import render
    from .segmentation import segment, segment_clip
    from .timecode import Timecode
    from .tracking import track
    from .types import Mask, MotionEmbedding, PointSet, Trajectory
