"""Building, applying and saving ReVideo control modules.

- :func:`build_control` makes the :class:`~.control.ReVideoControlModule` of read weights
  (:class:`motionwright.models.revideo.ControlWeights`) for a given SVD UNet;
- :func:`temporal_kv_names` lists the temporal self-attention key/value projections (what
  stage 3 fine-tunes, §3.3) and :func:`unet_overrides` applies a checkpoint's fine-tuned UNet
  values for the duration of a render, restoring the shared SVD model afterwards;
- :func:`save_control` writes a Motionwright control-module folder atomically (schema
  ``ReVideoControl.1``, safetensors only).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ...models.errors import ModelMismatchError
from ...models.revideo import SCHEMA, UNET_KV, VERSION, ControlWeights
from .control import ReVideoControlModule


def build_control(weights: ControlWeights, unet) -> ReVideoControlModule:
    """The control module of ``weights`` for ``unet`` (same dtype and device as the UNet)."""
    if weights.config is None:
        module = ReVideoControlModule.from_unet(unet, copy_weights=False)
    else:
        config = {k: v for k, v in weights.config.items() if not k.startswith("_")}
        module = ReVideoControlModule.from_config(config)
    result = module.load_state_dict(weights.state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        parts = []
        if result.missing_keys:
            parts.append(f"{len(result.missing_keys)} missing (e.g. {result.missing_keys[0]})")
        if result.unexpected_keys:
            parts.append(f"{len(result.unexpected_keys)} unexpected "
                         f"(e.g. {result.unexpected_keys[0]})")
        raise ModelMismatchError(
            f"revideo model: its weights do not fit the svd model's control module: "
            f"{'; '.join(parts)}; use a control module trained for this svd model")
    param = next(unet.parameters())
    return module.to(device=param.device, dtype=param.dtype).eval()


def temporal_kv_names(model) -> list[str]:
    """Parameter names of the key/value projections of ``model``'s temporal self-attention."""
    return [name for name, _ in model.named_parameters()
            if "temporal_transformer_blocks" in name
            and (".attn1.to_k." in name or ".attn1.to_v." in name)]


@contextlib.contextmanager
def unet_overrides(unet, values: dict[str, Any]) -> Iterator[int]:
    """Use ``values`` (parameter name -> tensor) in ``unet`` while the block runs; yields how
    many parameters were replaced. Unknown names raise ModelMismatchError."""
    params = dict(unet.named_parameters())
    unknown = [k for k in values if k not in params]
    if unknown:
        raise ModelMismatchError(
            f"revideo model: its UNet weights do not fit the svd model ({unknown[0]!r}); use a "
            f"control module trained for this svd model")
    saved = {}
    with torch.no_grad():
        for name, value in values.items():
            saved[name] = params[name].detach().clone()
            params[name].copy_(value.to(params[name]))
    try:
        yield len(values)
    finally:
        with torch.no_grad():
            for name, value in saved.items():
                params[name].copy_(value)


def save_control(folder: str | Path, module: ReVideoControlModule, *, unet=None,
                 meta: dict[str, Any] | None = None) -> Path:
    """Write ``module`` (and, when ``unet`` is given, its temporal K/V weights) to ``folder``
    atomically; returns the folder."""
    from safetensors.torch import save_file

    from ..._atomic_folder import atomic_folder
    from ..._persist import schema_label, write_json

    target = Path(folder)
    with atomic_folder(target) as stage:
        module.save_pretrained(str(stage), safe_serialization=True)
        if unet is not None:
            params = dict(unet.named_parameters())
            kv = {k: params[k].detach().to("cpu").contiguous() for k in temporal_kv_names(unet)}
            save_file(kv, str(stage / UNET_KV))
        payload = {"schema": schema_label(SCHEMA, VERSION), **(meta or {})}
        write_json(stage / "revideo.json", payload)
    return target
