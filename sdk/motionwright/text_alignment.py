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

import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInputError, require_extra

ENV = "MOTIONWRIGHT_MODEL_CLIP"
FRAMES = 8


def clip_weights(model: Any = None) -> Path:
    """The CLIP folder to use: ``model``, else ``$MOTIONWRIGHT_MODEL_CLIP``; a clear error when
    neither names a folder holding ``config.json``."""
    from .models.errors import ModelNotFoundError

    chosen = model if model is not None else os.environ.get(ENV)
    if not chosen:
        raise ModelNotFoundError(
            f"text alignment needs CLIP weights: pass model=FOLDER or set {ENV} to a local "
            f"transformers CLIP folder (e.g. clip-vit-large-patch14); the score is skipped")
    path = Path(chosen).expanduser()
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(f"CLIP model: '{path}' is not a transformers CLIP folder "
                                 f"(no config.json); give a complete clip-vit-* folder")
    return path


def _uniform(frames_total: int, count: int) -> list[int]:
    if frames_total <= count:
        return list(range(frames_total))
    return [round(i) for i in np.linspace(0, frames_total - 1, count)]


def text_alignment(video: Any, prompt: str, *, model: Any = None, device: str = "cpu") -> float:
    """Cosine similarity between ``prompt`` and the mean CLIP embedding of 8 frames of
    ``video`` (a Clip or ``(T, H, W, 3)`` uint8 array); higher is better aligned."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInputError(f"prompt: expected non-empty text, got {prompt!r}")
    path = clip_weights(model)
    for name in ("torch", "transformers"):
        require_extra(name, "diffusion", "text alignment")
    import torch
    from transformers import AutoProcessor, CLIPModel

    from .models.offline import enforce_offline

    enforce_offline()
    length = len(video)
    if length < 1:
        raise InvalidInputError("video: expected at least one frame, got none")
    picks = [np.asarray(video[i]) for i in _uniform(length, FRAMES)]
    picks = [(f >> 8).astype(np.uint8) if f.dtype == np.uint16 else f for f in picks]
    net = CLIPModel.from_pretrained(str(path), local_files_only=True).to(device).eval()
    proc = AutoProcessor.from_pretrained(str(path), local_files_only=True)
    inputs = proc(text=[prompt], images=picks, return_tensors="pt", padding=True,
                  truncation=True)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    with torch.no_grad():
        out = net(**inputs)
    img = torch.nn.functional.normalize(out.image_embeds.float(), dim=-1).mean(0)
    txt = torch.nn.functional.normalize(out.text_embeds.float()[0], dim=-1)
    return float(torch.dot(torch.nn.functional.normalize(img, dim=0), txt))
