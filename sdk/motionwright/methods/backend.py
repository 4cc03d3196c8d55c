"""The ``"diffusion"`` render backend: the papers' methods on local diffusion models.

``render(clip, edits, *, models, progress, cancel)`` is called by :func:`motionwright.render`.
Each edit type has its paper's method: :class:`~motionwright.edits.DragEdit` (Drag-A-Video),
:class:`~motionwright.edits.TrajectoryEdit` (ReVideo), :class:`~motionwright.edits.MotionTransfer`
(Reenact Anything), :class:`~motionwright.edits.PromptEdit` (Point-to-Point) and
:class:`~motionwright.edits.GuidedGeneration` (S²V2V). One call renders edits of one kind.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import InvalidInputError


def frames_for_shot(motion, shot_fps: Any) -> int:
    """How many frames a motion spans on a shot of ``shot_fps``.

    The motion's own frame count when the frame rates match (or either is unknown); otherwise
    the count that keeps the motion's duration, ``round(F · shot_fps / motion_fps)``.
    """
    source = motion.source or {}
    learned = source.get("fps")
    if learned is None or shot_fps is None:
        return motion.num_frames
    ratio = Fraction(shot_fps) / Fraction(str(learned))
    if ratio == 1:
        return motion.num_frames
    return max(2, round(motion.num_frames * ratio))


# Each method in the order edits are matched: (plan kind, edit type, several in one call).
_METHODS = (
    ("prompt", "PromptEdit", False),
    ("trajectory", "TrajectoryEdit", True),
    ("drag", "DragEdit", True),
    ("guided", "GuidedGeneration", False),
    ("transfer", "MotionTransfer", False),
)


def _plan(edits: list) -> tuple[str, list]:
    """The method and its edits: ``("prompt", [edit])``, ``("trajectory", edits)``,
    ``("drag", drags)``, ``("guided", [edit])`` or ``("transfer", [transfer])``; raises
    InvalidInputError for edits of several kinds, or several edits of a kind rendered one at
    a time."""
    names = [type(e).__name__ for e in edits]
    for kind, name, several in _METHODS:
        count = names.count(name)
        if not count:
            continue
        if count != len(edits) or (count > 1 and not several):
            one = "" if several else "one "
            raise InvalidInputError(
                f"edits: the diffusion backend renders {one}{name}{'s' if several else ''} per "
                f"call, in separate calls from other edits; got {', '.join(names)}: render "
                f"them in calls one after another, each on the previous result")
        return kind, list(edits)
    raise InvalidInputError(f"edits: the diffusion backend renders none of {', '.join(names)}")


def required_families(edits: list, *, models: Any = None) -> list[str]:
    """The model families rendering ``edits`` needs: ``sd15`` for DragEdits, ``svd`` and
    ``revideo`` for TrajectoryEdits, the family a MotionTransfer's motion was learned on
    (``svd``). SAM, which a drag uses only when it is
    configured, is not listed. Raises like :func:`render` for edits this backend cannot
    render."""
    kind, items = _plan(edits)
    if kind == "drag":
        return ["sd15"]
    if kind == "guided":
        return [guided_family(models)]
    if kind == "prompt":
        return ["animatediff"]
    if kind == "trajectory":
        return ["svd", "revideo"]
    return [items[0].motion.base_model["family"]]


def preflight(edits: list, *, models: Any = None) -> None:
    """Check, in milliseconds, that :func:`render` can start on ``edits``: this backend renders
    them and every family they need has a model configured whose files are all on disk (no
    weights are read, torch is not imported). Raises the error :func:`render` would raise
    (:class:`~motionwright.models.ModelNotFoundError` naming the family and the command that
    adds it, ModelMismatchError, InvalidInputError)."""
    from ..models.loading import as_models
    from ..models.store import resolve_model

    holder = as_models(models)
    for family in required_families(edits, models=models):
        if family not in holder._loaded:
            resolve_model(family, holder.path_for(family), store=holder.store).layout()


def render(clip, edits: list, *, models: Any = None, progress=None, cancel=None):
    """Render ``edits`` on ``clip`` with diffusion models; returns a new in-memory Clip.

    ``models`` is None (the configured models), a path, ``{family: path}`` or a
    :class:`motionwright.models.Models` (reused across calls, so several shots share one load).
    Missing or incomplete models are reported before any work starts (:func:`preflight`).
    """
    preflight(edits, models=models)
    kind, items = _plan(edits)
    if kind == "trajectory":
        return render_trajectory(clip, items, models=models, progress=progress, cancel=cancel)
    if kind == "drag":
        for drag in items:
            clip = render_drag(clip, drag, models=models, progress=progress, cancel=cancel)
        return clip
    if kind == "guided":
        return render_guided(clip, items[0], models=models, progress=progress, cancel=cancel)
    if kind == "prompt":
        from .pointtopoint import prompt_edit

        return prompt_edit(clip, items[0], models, progress=progress, cancel=cancel)
    return render_motion_transfer(clip, items[0], models=models, progress=progress,
                                  cancel=cancel)


def render_motion_transfer(clip, edit, *, models: Any = None, num_frames: int | None = None,
                           size: tuple[int, int] | None = None, steps: int | None = None,
                           seed: int = 0, memory: Any = None, progress=None, cancel=None):
    """Apply ``edit.motion`` from ``clip``'s first frame; the result has the shot's frame rate.

    ``num_frames`` defaults to :func:`frames_for_shot`; ``size`` to the model's working size for
    the shot's aspect ratio; ``steps`` to 25 sampling steps.
    """
    from ..clip import Clip
    from ..models.loading import as_models
    from .motion_inversion import DEFAULT_SAMPLING_STEPS, ApplySettings, generate

    holder = as_models(models)
    family = edit.motion.base_model["family"]
    loaded = holder.get(family)
    frames = num_frames or frames_for_shot(edit.motion, clip.fps)
    settings = ApplySettings(num_frames=frames, size=size,
                             steps=steps or DEFAULT_SAMPLING_STEPS, seed=seed,
                             strength=edit.strength)
    policy = memory if memory is not None else holder.memory
    video = generate(loaded, clip[0], edit.motion, settings, memory=policy,
                     progress=progress, cancel=cancel)
    return Clip.from_frames(video, fps=clip.fps)


def render_drag(clip, edit, *, models: Any = None, settings: Any = None, memory: Any = None,
                progress=None, cancel=None):
    """Drag-A-Video for one :class:`~motionwright.edits.DragEdit` on every frame of ``clip``
    with the ``sd15`` model (and ``sam`` where configured); returns a lazy Clip that
    composites the edited region into each source frame when it is read (frames stream from
    ``clip``; only the region crops are held).

    ``settings``: a :class:`~motionwright.methods.dragavideo.DragSettings` (default: the
    paper's); ``memory``: ``auto`` (the fastest policy whose VRAM estimate fits the free
    accelerator memory), a policy name (``gpu``, ``balanced``, ``lowvram``) or None for the
    models' policy.
    """
    import warnings
    from pathlib import Path

    from ..errors import FallbackWarning
    from ..models.loading import as_models
    from .dragavideo import DragSettings, drag_clip

    if getattr(edit, "anchors", None) is not None:
        warnings.warn("the drag's anchors shape only the CPU preview; Drag-A-Video keeps the "
                      "content outside the mask in place instead (its mask loss)",
                      FallbackWarning, stacklevel=2)
    holder = as_models(models)
    loaded = holder.get("sd15")
    # A single path names the sd15 model; SAM then comes from the store.
    sam_models = None if isinstance(holder.paths, str | Path) else holder
    policy = memory if memory is not None else holder.memory
    result = drag_clip(loaded, clip, edit, settings or DragSettings(), memory=policy,
                       sam_models=sam_models, progress=progress, cancel=cancel)
    return result.clip


def guided_family(models: Any = None) -> str:
    """The family a GuidedGeneration renders with: the one ``models`` names (a
    ``{family: path}`` entry, or the pipeline class of a model folder given alone), else the
    ``MOTIONWRIGHT_GUIDED_FAMILY`` variable, else ``zeroscope`` (the paper's reference-video
    model)."""
    import os

    from .s2v2v.kinds import family_of_models

    found = family_of_models(models)
    if found is not None:
        return found
    return os.environ.get("MOTIONWRIGHT_GUIDED_FAMILY", "zeroscope").strip().lower()


def render_guided(clip, edit, *, models: Any = None, family: str | None = None,
                  settings: Any = None, memory: Any = None, progress=None, cancel=None):
    """S²V2V for one :class:`~motionwright.edits.GuidedGeneration`: a new video of
    ``len(clip)`` frames at ``clip``'s size and frame rate whose motion follows the edit's
    reference points or box. ``family``: ``zeroscope`` (default), ``animatediff`` or
    ``cogvideox``; ``settings``: a :class:`~motionwright.methods.s2v2v.GuidedSettings`."""
    from ..clip import Clip
    from ..models.loading import as_models
    from .s2v2v import GuidedSettings
    from .s2v2v.policy import resolve_policy
    from .s2v2v.run import generate

    holder = as_models(models)
    loaded = holder.get(family or guided_family(models))
    policy = resolve_policy(loaded, memory if memory is not None else holder.memory)
    video = generate(loaded, clip, edit, settings or GuidedSettings(), policy=policy,
                     progress=progress, cancel=cancel)
    if clip.dtype != video.dtype:
        import warnings

        from ..errors import FidelityWarning

        warnings.warn(f"the generated video has {video.dtype} samples (the video model's "
                      f"range), the reference {clip.dtype}: the extra bit depth is not kept",
                      FidelityWarning, stacklevel=2)
    return Clip.from_frames(video, fps=clip.fps, start_timecode=clip.start_timecode)


def render_trajectory(clip, edits: list, *, models: Any = None, settings: Any = None,
                      memory: Any = None, progress=None, cancel=None):
    """ReVideo for :class:`~motionwright.edits.TrajectoryEdit` edits (several regions render
    together) with the ``svd`` model and the ``revideo`` control module; returns an in-memory
    Clip of the source's size and frame rate.

    ``settings``: a :class:`~motionwright.methods.revideo.ReVideoSettings` (default: the
    authors'); ``memory``: ``auto``, a policy name or None for the models' policy.
    """
    from ..models.loading import as_models
    from .revideo import ReVideoSettings
    from .revideo.run import trajectory_clip

    holder = as_models(models)
    preflight(list(edits), models=holder)
    loaded = holder.get("svd")
    control = holder.get("revideo")
    policy = memory if memory is not None else holder.memory
    return trajectory_clip(loaded, control.pipeline, clip, list(edits),
                           settings or ReVideoSettings(), memory=policy, progress=progress,
                           cancel=cancel)
