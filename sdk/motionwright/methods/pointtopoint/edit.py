"""The public entry points: :func:`anchor_tokens` and :func:`prompt_edit` on a whole clip.

Both resize the clip to the working size (:mod:`.frames`); a clip longer than one window
(16 frames) is edited window by window, neighbours sharing ``overlap`` frames that are
cross-faded, each window with its own anchors (the paper's clips are one window). The result
is resized back to the source size and keeps its frame rate and timecode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...progress import Reporter
from .anchors import AnchorTokens
from .frames import WindowJoiner, map_points, resize_frames, windows, working_size
from .resume import WindowStore, window_key
from .settings import PointToPointSettings


def _frames_of(clip, start: int = 0, stop: int | None = None) -> np.ndarray:
    from .._frames import check_frames

    stop = len(clip) if stop is None else stop
    return check_frames(np.stack([clip[i] for i in range(start, stop)]), "clip")


def _size_for(loaded, clip, settings: PointToPointSettings) -> tuple[int, int]:
    from .._frames import size_multiple

    unet = loaded.pipeline.unet
    multiple = size_multiple(getattr(loaded.pipeline, "vae_scale_factor", 8),
                             len(unet.config.block_out_channels))
    return working_size(tuple(clip.size), multiple, settings.size)


def _mask_at(mask: Any, size: tuple[int, int], start: int, count: int = 1) -> Any:
    """The subject mask of frames ``start .. start+count-1`` at the working ``size``: a
    :class:`~motionwright.Mask` of ``count`` frames (None without a mask). ``mask`` is a Mask
    (static or per frame) or an ``(H, W)`` bool array."""
    if mask is None:
        return None
    import cv2

    from ...types import Mask

    def one(frame: int) -> np.ndarray:
        m = np.asarray(mask.at(frame) if hasattr(mask, "at") else mask, np.uint8)
        return cv2.resize(m, size, interpolation=cv2.INTER_NEAREST).astype(bool)

    return Mask(np.stack([one(start + i) for i in range(count)]))


class _ShiftedMask:
    """A mask seen from a window starting at ``start``: ``at(i)`` is the mask's frame
    ``start + i``."""

    def __init__(self, mask: Any, start: int) -> None:
        self.mask, self.start = mask, start

    def at(self, frame: int) -> np.ndarray:
        return self.mask.at(self.start + frame)


def _window_mask(mask: Any, start: int) -> Any:
    """``mask`` for a window starting at ``start`` (an array mask is the same everywhere)."""
    return _ShiftedMask(mask, start) if hasattr(mask, "at") else mask


def _to_clip_pixels(found: AnchorTokens, work: tuple[int, int], native: tuple[int, int],
                    start: int) -> AnchorTokens:
    from ...types import Trajectory

    tr = found.trajectories
    tracks = map_points(tr.tracks, work, native)
    return AnchorTokens(Trajectory(tracks, tr.visible, start), found.features, found.indices,
                        found.tau, found.size, found.base_model)


def anchor_tokens(clip, models: Any = None, *, settings: PointToPointSettings | None = None,
                  prompt: str = "", mask: Any = None, progress=None,
                  cancel=None) -> AnchorTokens:
    """Point-to-Point's anchor tokens of ``clip`` (its first window of ``settings.window``
    frames), found with the ``animatediff`` model: trajectories at the latent grid from three
    keyframes, diffusion features along them (eq. 2, 6), FPS with the τ stop (eq. 3, 4).

    ``prompt`` describes the clip (the text condition of the feature pass; empty by default);
    ``mask`` keeps only tracks starting on the subject. Positions are clip pixels.
    """
    from ...models.loading import as_models
    from .policy import choose_policy_for
    from .run import find_anchor_tokens

    s = settings or PointToPointSettings()
    if len(clip) < 2:
        raise InvalidInputError(f"clip: need at least 2 frames for anchor tokens, got "
                                f"{len(clip)}")
    holder = as_models(models)
    loaded = holder.get("animatediff")
    size = _size_for(loaded, clip, s)
    stop = min(len(clip), s.window)
    loaded.place(choose_policy_for(loaded, size, stop, holder.memory, s))
    frames = resize_frames(_frames_of(clip, 0, stop), size)
    found, _ = find_anchor_tokens(loaded, frames, s, prompt=prompt,
                                  mask=_mask_at(mask, size, 0, stop), progress=progress,
                                  cancel=cancel)
    return _to_clip_pixels(found, size, tuple(clip.size), 0)


def window_anchor_tokens(clip, models: Any = None, *,
                         settings: PointToPointSettings | None = None, prompt: str = "",
                         mask: Any = None, progress=None, cancel=None) -> list[AnchorTokens]:
    """:func:`anchor_tokens` of every window :func:`prompt_edit` would edit (positions in clip
    pixels, each trajectory starting at its window's first frame)."""
    from ...types import Trajectory

    s = settings or PointToPointSettings()
    out = []
    for start, stop in windows(len(clip), s.window, s.overlap):
        found = anchor_tokens(clip[start:stop], models, settings=s, prompt=prompt,
                              mask=_window_mask(mask, start), progress=progress, cancel=cancel)
        tr = found.trajectories
        out.append(AnchorTokens(Trajectory(tr.tracks, tr.visible, start), found.features,
                                found.indices, found.tau, found.size, found.base_model))
    return out


def prompt_edit(clip, edit, models: Any = None, *, settings: PointToPointSettings | None = None,
                anchors: AnchorTokens | None = None, mask: Any = None, memory: Any = None,
                progress=None, cancel=None, record: dict | None = None,
                resume_dir: Any = None):
    """Point-to-Point for one :class:`~motionwright.edits.PromptEdit` on every frame of
    ``clip``; returns a new in-memory Clip at the source size and frame rate.

    ``anchors`` (from :func:`anchor_tokens`, possibly with anchors dropped or added) are used
    for the first window instead of finding them; ``memory``: a policy name, ``auto`` or None
    (the models' policy); ``record``: a dict that receives what each window found and learned;
    ``resume_dir``: a folder where each finished window is kept (frames ``.npy`` and its
    ``.anchors``), so a render interrupted or cancelled later skips the windows already done.
    """
    from ...clip import Clip
    from ...models.loading import as_models
    from ...models.oom import translate_oom
    from .policy import choose_policy_for
    from .run import edit_window

    s = settings or PointToPointSettings()
    if len(clip) < 2:
        raise InvalidInputError(f"clip: need at least 2 frames for a prompt edit, got "
                                f"{len(clip)}")
    if np.dtype(getattr(clip, "dtype", np.uint8)) == np.uint16:
        import warnings

        from ...errors import FidelityWarning

        warnings.warn("the clip has 16 bits per channel; Point-to-Point edits and returns it in "
                      "8 bits (the diffusion model's range)", FidelityWarning, stacklevel=2)
    holder = as_models(models)
    loaded = holder.get("animatediff")
    size = _size_for(loaded, clip, s)
    spans = windows(len(clip), s.window, s.overlap)
    policy = choose_policy_for(loaded, size, min(len(clip), s.window),
                               memory if memory is not None else holder.memory, s)
    loaded.place(policy)
    per_window = 1 + s.finetune_steps + 2 * s.steps
    reporter = Reporter("point-to-point", per_window * len(spans), progress, cancel)
    joiner = WindowJoiner(len(clip), (clip.size[1], clip.size[0], 3))
    found_all = []
    for n, (start, stop) in enumerate(spans):
        frames = resize_frames(_frames_of(clip, start, stop), size)
        given = None
        if n == 0 and anchors is not None:
            given = _to_clip_pixels(anchors, tuple(clip.size), size, 0)
        kept = None if resume_dir is None else WindowStore(resume_dir, window_key(
            frames, edit, s, loaded.identity, given))
        if kept is not None and kept.exists():
            out, found = kept.load()
            rec = {"finetune_losses": [], "matched": None, "resumed": True}
            reporter.step(per_window)
        else:
            with translate_oom("editing with Point-to-Point", policy, loaded.device):
                out, found, rec = edit_window(
                    loaded, frames, edit.prompt, s, source_prompt=edit.source_prompt,
                    negative_prompt=edit.negative_prompt, anchors=given,
                    mask=_mask_at(mask, size, start, stop - start), policy=policy,
                    reporter=reporter,
                    cancel=cancel)
            if kept is not None:
                kept.save(out, found)
        joiner.add(start, resize_frames(out, tuple(clip.size)))
        found_all.append(_to_clip_pixels(found, size, tuple(clip.size), start))
        if record is not None:
            record.setdefault("windows", []).append({"start": start, "stop": stop, **rec})
    if record is not None:
        record["anchors"] = found_all
        record["policy"] = policy.name
    return Clip.from_frames(joiner.video, like=clip)
