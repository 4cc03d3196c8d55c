"""``mw.learn_motion``: learn the motion of a reference shot as a reusable MotionEmbedding."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from .errors import FrameRangeError, InvalidInputError


def _reference_window(reference: Any, frame_range: tuple[int | None, int | None] | None,
                      default_frames: int, fps: Any) -> tuple[np.ndarray, Fraction, dict]:
    """The frames to learn from, their frame rate and a description of the source."""
    if isinstance(reference, np.ndarray):
        total = reference.shape[0] if reference.ndim == 4 else 0
        rate = Fraction(fps) if fps is not None else Fraction(24)
        path, timecode, size = None, None, None
        get = reference.__getitem__
    else:
        for attr in ("__len__", "__getitem__", "fps", "size"):
            if not hasattr(reference, attr):
                raise InvalidInputError(
                    f"reference_clip: expected a Clip or a (T, H, W, 3) array, got "
                    f"{type(reference).__name__}"
                )
        total = len(reference)
        rate = Fraction(fps) if fps is not None else Fraction(reference.fps)
        path = getattr(reference, "source_path", None)
        timecode = getattr(reference, "start_timecode", None)
        size = list(reference.size)
        get = reference.__getitem__
    if total < 2:
        raise InvalidInputError(f"reference_clip: expected at least 2 frames, got {total}")
    start, stop = frame_range if frame_range is not None else (None, None)
    start = 0 if start is None else int(start)
    stop = min(total, start + default_frames) if stop is None else int(stop)
    if not 0 <= start < total or not start < stop <= total:
        raise FrameRangeError(
            f"frame_range: expected A:B with 0 <= A < B <= {total} (the clip has {total} frames), "
            f"got {start}:{stop}"
        )
    if stop - start < 2:
        raise FrameRangeError(f"frame_range: expected at least 2 frames, got {start}:{stop}")
    frames = np.stack([np.asarray(get(i)) for i in range(start, stop)])
    if size is None:
        size = [int(frames.shape[2]), int(frames.shape[1])]
    source = {"path": path, "frame_range": [start, stop], "fps": f"{rate.numerator}/"
              f"{rate.denominator}", "size": size, "frames_total": total}
    if timecode is not None:
        source["start_timecode"] = str(timecode)
    return frames, rate, source


def learn_motion(reference_clip: Any, model: Any = "svd", *, tokens_per_frame: int = 5,
                 steps: int = 1000, lr: float = 1e-2, seed: int = 0,
                 frame_range: tuple[int | None, int | None] | None = None,
                 size: tuple[int, int] | None = None, fps: Any = None,
                 motion_bucket_id: int = 127, memory: Any = "auto", device: Any = "auto",
                 dtype: Any = "auto", progress=None, cancel=None):
    """Learn the motion of ``reference_clip`` by motion-textual inversion (Reenact Anything).

    ``reference_clip`` is a :class:`~motionwright.Clip` (or a ``(T, H, W, 3)`` uint8 array, then
    ``fps`` gives its frame rate, default 24). ``model`` is ``"svd"`` (the configured model),
    a path to an SVD model, or a :class:`motionwright.models.Models`. The window is
    ``frame_range`` ``(A, B)`` (B exclusive), by default the first ``num_frames`` frames the
    model was trained for (14 for SVD). ``size`` ``(width, height)`` is the working
    resolution (default: the clip's aspect ratio at the model's native pixel count, 1024×576
    for 16:9). ``memory`` is ``"auto"``, ``"gpu"``, ``"balanced"`` or ``"lowvram"``.

    Returns a :class:`~motionwright.MotionEmbedding` of ``(F+1, N, d)`` tokens recording the
    base model, the source window and the training run (steps, lr, seed, loss curve, wall
    time). ``progress`` receives one event per step with an ETA; ``cancel`` stops the run
    (raising :class:`~motionwright.errors.Cancelled`; nothing is written).
    """
    from .errors import require_extra

    require_extra("torch", "diffusion", "learning a motion")
    from .methods.motion_inversion import LearnSettings, prepare_learning
    from .models.loading import as_models
    from .types import MotionEmbedding

    settings = LearnSettings(tokens_per_frame=tokens_per_frame, steps=steps, lr=lr, seed=seed,
                             motion_bucket_id=motion_bucket_id)
    if size is not None and (len(size) != 2 or any(
            isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1 for v in size)):
        raise InvalidInputError(f"size: expected (width, height) positive integers, got {size!r}")
    if isinstance(model, str) and model.strip().lower() == "svd":
        holder = as_models(None)
    elif isinstance(model, str) and model.strip().lower() in ("sd15", "animatediff", "zeroscope",
                                                                "cogvideox"):
        raise InvalidInputError(
            f"model: motion-textual inversion needs an svd model, got {model!r}")
    else:
        holder = as_models(model)
    if holder.device == "auto" and device != "auto":
        holder.device = device
    if holder.dtype == "auto" and dtype != "auto":
        holder.dtype = dtype
    loaded = holder.get("svd")
    default_frames = int(loaded.pipeline.unet.config.num_frames or 14)
    frames, rate, source = _reference_window(reference_clip, frame_range, default_frames, fps)
    run = prepare_learning(loaded, frames, fps=float(rate), settings=settings, size=size,
                           memory=memory)
    tokens, record = run.run(progress=progress, cancel=cancel)
    return MotionEmbedding(tokens, kind="motion-textual-inversion",
                           base_model=dict(loaded.identity), source=source, training=record)
