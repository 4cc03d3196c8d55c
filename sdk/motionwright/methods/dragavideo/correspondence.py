"""§3.2 inputs of the point propagation: the SAM foreground split and DIFT correspondences."""

from __future__ import annotations

from typing import Any

import numpy as np

from .encode import encode_frames, to_uint8
from .features import dift_features, dift_track
from .settings import DragSettings


def foreground_mask(clip, edit, settings: DragSettings, sam_models: Any, notes: list[str]):
    """The SAM mask of the dragged object on the drag frame (handles as positive clicks)."""
    if settings.segmenter == "none":
        return None
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
        notes.append("no sam model configured: foreground split by mask or motion")
        return None
    return mask if mask.any() else None


class DiftCorrespondence:
    """DIFT correspondences over whole frames at the model's scale (for §3.2); frames are read
    from the clip one at a time and shrunk to the model size."""

    def __init__(self, pipe, clip, cond, schedule_alphas, settings, size, device, dtype,
                 chunk: int, vae_on) -> None:
        self.pipe, self.clip, self.cond = pipe, clip, cond
        self.alphas, self.settings, self.size = schedule_alphas, settings, size
        self.device, self.dtype, self.chunk, self.vae_on = device, dtype, chunk, vae_on

    def __call__(self, points: np.ndarray, key: int, span: range):
        import cv2

        w, h = self.clip.size
        small = np.stack([cv2.resize(to_uint8(f), self.size, interpolation=cv2.INTER_AREA)
                          for f in self.clip[span.start:span.stop]])
        with self.vae_on():
            latents = encode_frames(self.pipe.vae, small, self.device, self.dtype, self.chunk)
        feats = dift_features(self.pipe.unet, latents, self.cond, self.alphas,
                              timestep=self.settings.dift_timestep,
                              ensemble=self.settings.dift_ensemble, seed=self.settings.seed,
                              batch=self.chunk)
        scale = np.array([self.size[0] / w, self.size[1] / h], np.float32)
        pts = (points + 0.5) * scale - 0.5
        tracks, visible = dift_track(feats, pts, key - span.start, self.size)
        return (tracks + 0.5) / scale - 0.5, visible

