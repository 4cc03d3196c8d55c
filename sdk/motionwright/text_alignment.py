"""Text alignment of a video with a prompt (Point-to-Point's "ViCLIP score"), on CLIP weights.

ViCLIP (InternVid) encodes 8 frames jointly with a video transformer; its weights are not a
transformers model. Here the score is CLIP's: 8 frames sampled uniformly, each encoded by a
transformers ``CLIPModel``, their unit embeddings averaged and compared with the prompt's unit
text embedding by cosine similarity. Values are on CLIP's scale (about 0.2–0.35 for a matching
prompt), close to but not the same as ViCLIP's; compare methods with the same weights.

The weights are a local transformers CLIP folder (``config.json``, ``model.safetensors``, the
tokenizer and image processor files), given as ``model`` or by the ``MOTIONWRIGHT_MODEL_CLIP``
environment variable; nothing is downloaded. Without them :func:`text_alignment` raises
:class:`~motionwright.models.errors.ModelNotFoundError` saying how to provide them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInputError, require_extra

FRAMES = 8


def _uniform(frames_total: int, count: int) -> list[int]:
    if frames_total <= count:
        return list(range(frames_total))
    return [round(i) for i in np.linspace(0, frames_total - 1, count)]


def text_alignment(video: Any, prompt: str, *, model: Any = None, device: str = "cpu") -> float:
    """Cosine similarity between ``prompt`` and the mean CLIP embedding of 8 frames of
    ``video`` (a Clip or ``(T, H, W, 3)`` uint8 array); higher is better aligned."""
    from .guided_metrics import ClipScorer, _clip_folder

    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInputError(f"prompt: expected non-empty text, got {prompt!r}")
    _clip_folder(model)  # a missing model is reported before torch is imported
    for name in ("torch", "transformers"):
        require_extra(name, "diffusion", "text alignment")
    import torch

    length = len(video)
    if length < 1:
        raise InvalidInputError("video: expected at least one frame, got none")
    picks = [np.asarray(video[i]) for i in _uniform(length, FRAMES)]
    picks = [(f >> 8).astype(np.uint8) if f.dtype == np.uint16 else f for f in picks]
    scorer = ClipScorer(model, device)
    img = torch.nn.functional.normalize(scorer.images(picks).mean(0), dim=0)
    return float(torch.dot(img, scorer.text(prompt)[0]))
