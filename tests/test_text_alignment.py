"""Text alignment (Point-to-Point's ViCLIP score on CLIP weights): a tiny random CLIP saved in
the transformers layout checks the mechanics; real weights are gated on
MOTIONWRIGHT_WEIGHTS_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from motionwright import metrics
from motionwright.models.errors import ModelNotFoundError

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    from tiny_models import write_clip_tokenizer

    root = tmp_path_factory.mktemp("clip")
    tokenizer = CLIPTokenizer.from_pretrained(str(write_clip_tokenizer(root / "tok")))
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                     "num_hidden_layers": 1, "vocab_size": 1000, "max_position_embeddings": 16,
                     # the text embedding is read at the end-of-text token
                     "bos_token_id": tokenizer.bos_token_id,
                     "eos_token_id": tokenizer.eos_token_id,
                     "pad_token_id": tokenizer.pad_token_id},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                       "num_hidden_layers": 1, "image_size": 32, "patch_size": 16},
        projection_dim=16)
    folder = root / "clip"
    CLIPModel(config).save_pretrained(str(folder))
    CLIPProcessor(CLIPImageProcessor(size=32, crop_size=32), tokenizer).save_pretrained(
        str(folder))
    return folder


def test_score_is_a_cosine_and_repeatable(tiny_clip):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 255, (12, 40, 48, 3), np.uint8)
    a = metrics.text_alignment(video, "a bronze robot", model=tiny_clip)
    b = metrics.text_alignment(video, "a bronze robot", model=tiny_clip)
    # (the tiny test tokenizer maps most text alike, so the videos differ instead)
    c = metrics.text_alignment(255 - video, "a bronze robot", model=tiny_clip)
    assert -1.0 <= a <= 1.0 and a == b and a != c


def test_missing_weights_say_how_to_provide_them(monkeypatch, tmp_path):
    monkeypatch.delenv("MOTIONWRIGHT_MODEL_CLIP", raising=False)
    video = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ModelNotFoundError, match="MOTIONWRIGHT_MODEL_CLIP"):
        metrics.text_alignment(video, "a cat")
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        metrics.text_alignment(video, "a cat", model=tmp_path)


@pytest.mark.weights
def test_real_clip_prefers_the_matching_prompt():
    root = os.environ.get("MOTIONWRIGHT_WEIGHTS_DIR")
    folder = Path(root or "/nonexistent") / "clip"
    if not (folder / "config.json").is_file():
        pytest.skip("needs a CLIP folder at $MOTIONWRIGHT_WEIGHTS_DIR/clip")
    red = np.zeros((8, 224, 224, 3), np.uint8)
    red[..., 0] = 255
    assert (metrics.text_alignment(red, "a plain red image", model=folder)
            > metrics.text_alignment(red, "a photo of a dog on grass", model=folder))
