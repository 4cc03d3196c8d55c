"""§3.2 inputs of the point propagation: the SAM foreground split and DIFT correspondences."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .dift import StreamedFeatures, dift_features, dift_track
from .encode import encode_frames, to_uint8
from .settings import DragSettings

NO_SAM = ("no sam model configured: the foreground split is made by the mask or by motion "
          "instead of SAM (add one with: motionwright models add sam PATH)")


def foreground_mask(clip, edit, settings: DragSettings, sam_models: Any, notes: list[str]):
    """The SAM mask of the dragged object on the drag frame (handles as positive clicks).

    With ``segmenter="auto"`` and no SAM model, the split falls back to the mask or to motion:
    that is said with a :class:`~motionwright.errors.FallbackWarning` and in ``notes``."""
    if settings.segmenter == "none":
        return None
    from ...errors import FallbackWarning
    from ...models.errors import ModelNotFoundError
    from ...segmentation import segment
    from ...types import PointSet

    try:
        pts = PointSet(edit.handles.points, frame=edit.frame,
                       labels=np.ones(len(edit.handles), np.int64))
        mask = segment(clip[edit.frame], pts, models=sam_models).at(edit.frame)
    except ModelNotFoundError:
        if settings.segmenter == "sam":
            raise
        notes.append(NO_SAM)
        warnings.warn(NO_SAM, FallbackWarning, stacklevel=2)
        return None
    return mask if mask.any() else None


class DiftCorrespondence:
    """DIFT correspondences over whole frames at the model's scale (for §3.2). Frames are read
    from the clip, shrunk to the model size, encoded and turned into features ``chunk`` at a
    time as the tracking reaches them (:class:`~.dift.StreamedFeatures`); ``last`` is the
    feature stream of the latest call (for inspection)."""

    def __init__(self, pipe, clip, cond, schedule_alphas, settings, size, device, dtype,
                 chunk: int, vae_on) -> None:
        self.pipe, self.clip, self.cond = pipe, clip, cond
        self.alphas, self.settings, self.size = schedule_alphas, settings, size
        self.device, self.dtype, self.chunk, self.vae_on = device, dtype, chunk, vae_on
        self.last: StreamedFeatures | None = None

    def features(self, rows: range, start: int):
        """DIFT features ``(len(rows), C, h, w)`` of clip frames ``start + rows``."""
        import cv2

        s = self.settings
        frames = self.clip[start + rows.start:start + rows.stop]  # streamed, decoded forward
        small = np.stack([cv2.resize(to_uint8(f), self.size, interpolation=cv2.INTER_AREA)
                          for f in frames])
        with self.vae_on():
            latents = encode_frames(self.pipe.vae, small, self.device, self.dtype, self.chunk)
        return dift_features(self.pipe.unet, latents, self.cond, self.alphas,
                             [start + r for r in rows], timestep=s.dift_timestep,
                             ensemble=s.dift_ensemble, seed=s.seed, batch=self.chunk)

    def __call__(self, points: np.ndarray, key: int, span: range):
        w, h = self.clip.size
        self.last = StreamedFeatures(lambda rows: self.features(rows, span.start), len(span),
                                     self.chunk)
        scale = np.array([self.size[0] / w, self.size[1] / h], np.float32)
        pts = (points + 0.5) * scale - 0.5
        tracks, visible = dift_track(self.last, pts, key - span.start, self.size)
        return (tracks + 0.5) / scale - 0.5, visible
