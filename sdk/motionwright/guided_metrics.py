"""S²V2V's evaluation measures beyond the flow-matching loss (also exported by
:mod:`motionwright.metrics`):

- reference-video setting (paper Table 1, after MotionClone): :func:`clip_text_alignment` (TA,
  the mean CLIP similarity of each frame to the prompt) and :func:`clip_temporal_consistency`
  (TC, the mean CLIP similarity of consecutive frames), both ×100;
- trajectory setting (Table 2, after FreeTraj): :func:`box_miou` (mIoU of the generated
  object's boxes against the ground-truth boxes), :func:`generated_boxes` (those boxes, found
  by tracking points of the first box through the video with :func:`motionwright.track`) and
  :func:`clip_box_similarity` (CSIM-GT: the mean CLIP similarity of the ground-truth-box crops
  of consecutive frames).

CLIP weights are never downloaded: the CLIP metrics take a local transformers ``CLIPModel``
folder (``clip_model=PATH`` or the ``MOTIONWRIGHT_MODEL_CLIP`` variable) and raise
:class:`~motionwright.models.ModelNotFoundError` saying so without one. Boxes are ``(F, 4)``
``x0, y0, x1, y1`` pixel arrays.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import InvalidInputError, ShapeError

_CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
_CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def _boxes(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ShapeError(f"{name}: expected (F, 4) boxes x0, y0, x1, y1, got shape {arr.shape}")
    return arr


def box_miou(predicted: Any, truth: Any) -> float:
    """Mean over frames of the intersection over union of two ``(F, 4)`` box sequences."""
    p, t = _boxes(predicted, "predicted"), _boxes(truth, "truth")
    if p.shape != t.shape:
        raise ShapeError(f"predicted: expected {t.shape[0]} boxes like truth, got {p.shape[0]}")
    ix = np.clip(np.minimum(p[:, 2], t[:, 2]) - np.maximum(p[:, 0], t[:, 0]), 0, None)
    iy = np.clip(np.minimum(p[:, 3], t[:, 3]) - np.maximum(p[:, 1], t[:, 1]), 0, None)
    inter = ix * iy
    area = lambda b: np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)  # noqa: E731
    union = area(p) + area(t) - inter
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)))


def generated_boxes(video: Any, first_box: Any, *, grid: int = 3) -> np.ndarray:
    """The generated object's box on every frame: a ``grid×grid`` lattice of points inside
    ``first_box`` (x0, y0, x1, y1 on frame 0) is tracked through ``video`` and the box follows
    the median motion of the points still visible (its size kept)."""
    from .clip import Clip
    from .tracking.api import track
    from .types import PointSet

    clip = video if isinstance(video, Clip) else Clip.from_frames(np.asarray(video), fps=8)
    x0, y0, x1, y1 = (float(v) for v in np.asarray(first_box, np.float64).reshape(4))
    if not (x1 > x0 and y1 > y0):
        raise InvalidInputError(f"first_box: expected x0 < x1 and y0 < y1, got "
                                f"{(x0, y0, x1, y1)}")
    fx = np.linspace(x0, x1, grid + 2)[1:-1]
    fy = np.linspace(y0, y1, grid + 2)[1:-1]
    pts = np.array([[x, y] for y in fy for x in fx], np.float32)
    traj = track(clip, PointSet(pts, frame=0))
    moves = traj.tracks - pts[None]
    out = np.zeros((traj.num_frames, 4))
    for f in range(traj.num_frames):
        seen = traj.visible[f]
        d = np.median(moves[f][seen] if seen.any() else moves[f], axis=0)
        out[f] = [x0 + d[0], y0 + d[1], x1 + d[0], y1 + d[1]]
    return out


def _clip_folder(clip_model: Any) -> str:
    from .models.errors import ModelNotFoundError

    path = clip_model or os.environ.get("MOTIONWRIGHT_MODEL_CLIP")
    if not path:
        raise ModelNotFoundError(
            "clip_model: the CLIP metrics need a local transformers CLIPModel folder "
            "(config.json, weights, tokenizer); give clip_model=PATH or set "
            "MOTIONWRIGHT_MODEL_CLIP=PATH (nothing is downloaded)")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ModelNotFoundError(
            f"clip_model: {str(path)!r} is not a transformers CLIP folder (no config.json); "
            f"give a complete clip-vit-* folder")
    return str(path)


class ClipScorer:
    """A local CLIP model embedding frames and prompts (unit vectors, fp32, on the CPU unless
    ``device`` says otherwise)."""

    def __init__(self, clip_model: Any = None, device: str = "cpu") -> None:
        folder = _clip_folder(clip_model)  # before importing transformers: fails fast
        from transformers import CLIPModel, CLIPTokenizer

        from .models.offline import enforce_offline

        enforce_offline()
        self.model = CLIPModel.from_pretrained(folder, use_safetensors=True).to(device).eval()
        self.tokenizer = CLIPTokenizer.from_pretrained(folder)
        self.device = device
        self.size = int(self.model.config.vision_config.image_size)

    def images(self, frames: list[np.ndarray]):
        """``(N, D)`` unit embeddings of RGB uint8 images (resized to the model's input)."""
        import cv2
        import torch

        batch = [(cv2.resize(f, (self.size, self.size), interpolation=cv2.INTER_AREA)
                  .astype(np.float32) / 255.0 - _CLIP_MEAN) / _CLIP_STD for f in frames]
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).to(self.device)
        with torch.no_grad():
            emb = self.model.get_image_features(pixel_values=x)
        emb = getattr(emb, "pooler_output", emb)
        return torch.nn.functional.normalize(emb.float(), dim=-1)

    def text(self, prompt: str):
        """``(1, D)`` unit embedding of ``prompt``."""
        import torch

        tokens = self.tokenizer([prompt], padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            emb = self.model.get_text_features(**{k: v.to(self.device)
                                                  for k, v in tokens.items()})
        emb = getattr(emb, "pooler_output", emb)
        return torch.nn.functional.normalize(emb.float(), dim=-1)


def _frames_of(video: Any) -> list[np.ndarray]:
    frames = [np.asarray(video[i]) for i in range(len(video))]
    if not frames:
        raise InvalidInputError("video: no frames to score")
    return [(f >> 8).astype(np.uint8) if f.dtype == np.uint16 else f for f in frames]


def clip_text_alignment(video: Any, prompt: str, *, clip_model: Any = None,
                        scorer: ClipScorer | None = None) -> float:
    """TA: 100 × the mean cosine similarity between each frame's and the prompt's CLIP
    embedding."""
    scorer = scorer or ClipScorer(clip_model)
    img = scorer.images(_frames_of(video))
    return float(100 * (img @ scorer.text(prompt).T).mean())


def clip_temporal_consistency(video: Any, *, clip_model: Any = None,
                              scorer: ClipScorer | None = None) -> float:
    """TC: 100 × the mean cosine similarity of consecutive frames' CLIP embeddings."""
    frames = _frames_of(video)
    if len(frames) < 2:
        raise InvalidInputError("video: temporal consistency needs at least 2 frames")
    scorer = scorer or ClipScorer(clip_model)
    img = scorer.images(frames)
    return float(100 * (img[1:] * img[:-1]).sum(-1).mean())


def clip_box_similarity(video: Any, boxes: Any, *, clip_model: Any = None,
                        scorer: ClipScorer | None = None) -> float:
    """CSIM-GT: the mean CLIP cosine similarity of consecutive frames' crops inside the
    ground-truth ``boxes`` ``(F, 4)`` (clamped to the frame; at least one pixel)."""
    frames = _frames_of(video)
    b = _boxes(boxes, "boxes")
    if len(b) != len(frames) or len(frames) < 2:
        raise ShapeError(f"boxes: expected one box per frame ({len(frames)} ≥ 2), got {len(b)}")
    crops = []
    for f, (x0, y0, x1, y1) in zip(frames, b, strict=True):
        h, w = f.shape[:2]
        a, c = int(np.clip(np.floor(x0), 0, w - 1)), int(np.clip(np.floor(y0), 0, h - 1))
        bb, d = int(np.clip(np.ceil(x1), a + 1, w)), int(np.clip(np.ceil(y1), c + 1, h))
        crops.append(np.ascontiguousarray(f[c:d, a:bb]))
    scorer = scorer or ClipScorer(clip_model)
    img = scorer.images(crops)
    return float((img[1:] * img[:-1]).sum(-1).mean())
