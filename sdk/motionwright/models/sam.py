"""The ``sam`` family: Segment Anything checkpoints in two formats, found and loaded offline.

- a transformers folder (``config.json`` describing a ``SamModel``, ``model.safetensors``, and
  a ``processor_config.json`` or ``preprocessor_config.json``), run by transformers'
  ``SamModel``/``SamProcessor``;
- one of Meta's official checkpoints (``sam_vit_b_01ec64.pth``, ``sam_vit_l_*``,
  ``sam_vit_h_*``), run by the ``segment-anything`` package where it can be imported (the
  ``sam`` extra).

Both are wrapped in :class:`SamRunner`, whose :meth:`SamRunner.predict` is what
:func:`motionwright.segment` calls. Layout checks read file names and JSON only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import require_extra
from .errors import ModelMismatchError, ModelNotFoundError
from .families import Family
from .layout import ComponentFiles, ModelLayout, fingerprint, read_json_file

_PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
_OFFICIAL_KINDS = ("vit_h", "vit_l", "vit_b")
SEGMENT_ANYTHING = "segment_anything"


def _hint(family: Family) -> str:
    return f"`motionwright models add {family.name} PATH` (e.g. {family.example})"


def sam_layout(family: Family, path: Path) -> ModelLayout:
    """Check ``path`` is a SAM model: a transformers SamModel folder or an official checkpoint."""
    if path.is_file():
        if path.suffix.lower() not in (".pth", ".pt", ".safetensors"):
            raise ModelMismatchError(
                f"sam model: '{path}' is not a SAM checkpoint (expected a .pth file such as "
                f"sam_vit_b_01ec64.pth, or a transformers SamModel folder)"
            )
        return ModelLayout(family.name, path.parent, SEGMENT_ANYTHING, {}, weights_file=path)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelNotFoundError(
            f"sam model at '{path}' is incomplete: config.json is missing; add a transformers "
            f"SamModel folder with {_hint(family)}"
        )
    config = read_json_file(config_path, family, "SAM config")
    arch = config.get("architectures") or []
    if config.get("model_type") != "sam" and "SamModel" not in arch:
        raise ModelMismatchError(
            f"sam model at '{path}': config.json describes "
            f"{(arch or [config.get('model_type')])[0]!r}, not a SamModel"
        )
    weights = tuple(sorted(p for p in path.iterdir()
                           if p.name.startswith(("model", "pytorch_model"))
                           and p.suffix in (".safetensors", ".bin")))
    if not weights:
        raise ModelNotFoundError(
            f"sam model at '{path}' is incomplete: model.safetensors is missing; add a complete "
            f"model with {_hint(family)}"
        )
    if not any((path / f).is_file() for f in _PROCESSOR_FILES):
        raise ModelNotFoundError(
            f"sam model at '{path}' is incomplete: processor_config.json (or "
            f"preprocessor_config.json) is missing; add a complete model with {_hint(family)}"
        )
    return ModelLayout(family.name, path, "SamModel", {
        "model": ComponentFiles("model", "SamModel", path, weights),
        "processor": ComponentFiles("processor", "SamProcessor", path),
    })


def official_kind(path: Path) -> str:
    """``vit_h``/``vit_l``/``vit_b`` from an official checkpoint's file name."""
    for kind in _OFFICIAL_KINDS:
        if kind in path.name:
            return kind
    raise ModelMismatchError(
        f"sam model: cannot tell the size of '{path.name}' (expected vit_h, vit_l or vit_b in "
        f"its name, as in Meta's sam_vit_b_01ec64.pth); rename it"
    )


@dataclass
class SamRunner:
    """A loaded SAM, whichever format: ``predict(image, points, labels, box) -> (H, W) bool``.

    ``backend`` is ``"transformers"`` or ``"segment-anything"``; ``model`` the torch module
    (the ``denoiser`` slot of :class:`~motionwright.models.LoadedModel`).
    """

    backend: str
    model: Any
    processor: Any = None
    predictor: Any = None

    def to(self, device: Any) -> SamRunner:
        """Move the model to ``device``."""
        self.model.to(device)
        return self

    def remove_all_hooks(self) -> None:
        """Nothing to remove (no offload hooks are installed on SAM)."""

    def predict(self, image: np.ndarray, points: np.ndarray | None, labels: np.ndarray | None,
                box: np.ndarray | None) -> tuple[np.ndarray, float]:
        """The best mask for one ``(H, W, 3)`` uint8 image and its prompts, with its score.

        ``points`` ``(N, 2)`` float32 pixels, ``labels`` ``(N,)`` int (1 positive, 0 negative),
        ``box`` ``(4,)`` ``x0, y0, x1, y1``. Returns ``(H, W)`` bool and the predicted IoU.
        """
        import torch

        if self.backend == SEGMENT_ANYTHING:
            self.predictor.set_image(image)
            masks, scores, _ = self.predictor.predict(
                point_coords=points, point_labels=labels, box=box, multimask_output=False)
            return np.asarray(masks[0], bool), float(scores[0])
        kwargs: dict[str, Any] = {}
        if points is not None and len(points):
            kwargs["input_points"] = [[points.astype(float).tolist()]]
            kwargs["input_labels"] = [[labels.astype(int).tolist()]]
        if box is not None:
            kwargs["input_boxes"] = [[box.astype(float).tolist()]]
        inputs = self.processor(images=image, return_tensors="pt", **kwargs)
        device = next(self.model.parameters()).device
        dtype = next(self.model.parameters()).dtype
        feed = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device))
                for k, v in inputs.items() if k not in ("original_sizes", "reshaped_input_sizes")}
        with torch.no_grad():
            out = self.model(**feed, multimask_output=False)
        masks = self.processor.image_processor.post_process_masks(
            out.pred_masks.float().cpu(), inputs["original_sizes"],
            inputs["reshaped_input_sizes"])
        return masks[0][0, 0].numpy().astype(bool), float(out.iou_scores.flatten()[0])


def load_sam(family: Family, layout: ModelLayout, dtype: Any) -> tuple[SamRunner, dict]:
    """Load a SAM layout into a :class:`SamRunner` on the CPU; returns it and its identity."""
    if layout.pipeline_class == SEGMENT_ANYTHING:
        path = layout.weights_file
        assert path is not None
        kind = official_kind(path)
        require_extra("segment_anything", "sam", "official SAM checkpoints")
        from segment_anything import SamPredictor, sam_model_registry

        try:
            model = sam_model_registry[kind](checkpoint=str(path))
        except Exception as exc:
            raise ModelMismatchError(
                f"sam model: cannot load '{path}' as a {kind} checkpoint ({exc})") from exc
        model.eval()
        identity = {"family": family.name, "embedding_dim": 256,
                    "fingerprint": fingerprint(family, {"checkpoint": kind})}
        return SamRunner(SEGMENT_ANYTHING, model, predictor=SamPredictor(model)), identity
    from transformers import SamModel, SamProcessor

    from .loading import quiet_libraries

    root = layout.root
    try:
        with quiet_libraries():
            model = SamModel.from_pretrained(str(root), local_files_only=True, dtype=dtype)
            processor = SamProcessor.from_pretrained(str(root), local_files_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelMismatchError(
            f"sam model: cannot load '{root}' ({first}); re-download it or add another with "
            f"{_hint(family)}"
        ) from exc
    model.eval()
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    width = (config.get("vision_config") or {}).get("output_channels")
    identity = {"family": family.name, "embedding_dim": width,
                "fingerprint": fingerprint(family, config)}
    return SamRunner("transformers", model, processor=processor), identity


def check_sam(family: Family, layout: ModelLayout) -> list[dict[str, Any]]:
    """``motionwright models check`` entries for a SAM layout (loads it on the CPU)."""
    try:
        runner, _ = load_sam(family, layout, None)
    except (ModelMismatchError, ImportError) as exc:
        return [{"name": "model", "class_name": layout.pipeline_class, "status": "error",
                 "message": str(exc)}]
    params = list(runner.model.parameters())
    size = (layout.weights_file.stat().st_size if layout.weights_file is not None
            else layout.size_bytes)
    dtype = str(params[0].dtype).replace("torch.float32", "fp32").replace(
        "torch.float16", "fp16").replace("torch.bfloat16", "bf16")
    return [{"name": "model", "class_name": layout.pipeline_class, "status": "ok",
             "dtype": dtype, "parameters": sum(p.numel() for p in params),
             "size_bytes": size}]
