"""The ``revideo`` family: ReVideo control modules, found, read and converted offline.

Two formats are accepted (``motionwright models add revideo PATH``):

- a folder written by Motionwright (training or conversion): ``revideo.json`` (schema
  ``ReVideoControl.1``), ``config.json`` (the :class:`ReVideoControlModule` config),
  ``diffusion_pytorch_model.safetensors`` and, after stage-3 training,
  ``unet_temporal_kv.safetensors`` (the SVD UNet's fine-tuned temporal key/value weights);
- the authors' released checkpoint, one ``.ckpt``/``.pth``/``.safetensors`` file in the
  ``sgm`` naming, converted on load by :func:`convert_official` (the key mapping is documented
  in ``docs/revideo.md``). It holds the control module under ``model.ctrlnet_model.`` (or
  without a prefix) and, where present, the SVD UNet under ``model.diffusion_model.``, of which
  only the temporal self-attention key/value weights (what stage 3 fine-tunes) are kept.

The control module's shape follows the SVD UNet it is attached to, so reading returns a
:class:`ControlWeights` (tensors in diffusers names, plus the config when the folder has one);
:func:`motionwright.methods.revideo.checkpoint.build_control` builds the module.
Layout checks read only file names and JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelMismatchError, ModelNotFoundError
from .families import Family
from .layout import ComponentFiles, ModelLayout, fingerprint, read_json_file

SCHEMA = "ReVideoControl"
VERSION = 1
CONTROL_CLASS = "ReVideoControlModule"
WEIGHTS = "diffusion_pytorch_model.safetensors"
UNET_KV = "unet_temporal_kv.safetensors"
OFFICIAL = "revideo-official"
_SUFFIXES = (".ckpt", ".pth", ".pt", ".safetensors", ".bin")


def _hint(family: Family) -> str:
    return f"`motionwright models add {family.name} PATH` (e.g. {family.example})"


def revideo_layout(family: Family, path: Path) -> ModelLayout:
    """Check ``path`` is a ReVideo control module: our folder or the authors' checkpoint."""
    if path.is_file():
        if path.suffix.lower() not in _SUFFIXES:
            raise ModelMismatchError(
                f"revideo model: '{path}' is not a checkpoint (expected the authors' .ckpt / "
                f".pth / .safetensors file, or a folder written by `motionwright train revideo`)")
        return ModelLayout(family.name, path.parent, OFFICIAL, {}, weights_file=path)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelNotFoundError(
            f"revideo model at '{path}' is incomplete: config.json is missing; add a control "
            f"module with {_hint(family)}")
    config = read_json_file(config_path, family, "control module config")
    if config.get("_class_name") != CONTROL_CLASS:
        raise ModelMismatchError(
            f"revideo model at '{path}': config.json describes "
            f"{config.get('_class_name')!r}, not a {CONTROL_CLASS}")
    weights = path / WEIGHTS
    if not weights.is_file():
        raise ModelNotFoundError(
            f"revideo model at '{path}' is incomplete: {WEIGHTS} is missing; add a complete "
            f"control module with {_hint(family)}")
    extra = (path / UNET_KV,) if (path / UNET_KV).is_file() else ()
    return ModelLayout(family.name, path, CONTROL_CLASS, {
        "controlnet": ComponentFiles("controlnet", CONTROL_CLASS, path, (weights, *extra))})


@dataclass
class ControlWeights:
    """A read control module: ``state`` (diffusers names), ``config`` (None for the official
    checkpoint: it follows the SVD UNet), ``unet_kv`` (UNet temporal key/value overrides, may
    be empty), ``source`` (``"motionwright"`` or ``"official"``) and ``meta`` (revideo.json)."""

    state: dict[str, Any]
    config: dict[str, Any] | None
    unet_kv: dict[str, Any] = field(default_factory=dict)
    source: str = "motionwright"
    meta: dict[str, Any] = field(default_factory=dict)

    def to(self, device: Any) -> ControlWeights:
        """Nothing to move (the module is built on use)."""
        return self

    def remove_all_hooks(self) -> None:
        """Nothing installed."""


# --- the official checkpoint's key mapping (sgm names -> diffusers names) -------------------

_RES = {"in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
        "out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut"}
_TOP = {"time_embed.0": "time_embedding.linear_1", "time_embed.2": "time_embedding.linear_2",
        "label_emb.0.0": "add_embedding.linear_1", "label_emb.0.2": "add_embedding.linear_2"}
_EMBEDDERS = {"controlnet_cond_embedding": "motion_encoder", "mask_embedding": "content_encoder",
              "weight_embedding": "fusion"}


def _resblock(rest: str) -> str:
    """An sgm ``VideoResBlock`` sub-key as diffusers' ``SpatioTemporalResBlock`` names it."""
    if rest.startswith("time_mixer."):
        return rest
    prefix = "spatial_res_block"
    if rest.startswith("time_stack."):
        prefix, rest = "temporal_res_block", rest[len("time_stack."):]
    for old, new in _RES.items():
        if rest == old or rest.startswith(old + "."):
            return f"{prefix}.{new}{rest[len(old):]}"
    raise KeyError(rest)


def _transformer(rest: str) -> str:
    """An sgm ``SpatialVideoTransformer`` sub-key as ``TransformerSpatioTemporalModel``'s."""
    if rest.startswith("time_stack."):
        return "temporal_transformer_blocks." + rest[len("time_stack."):]
    if rest.startswith("time_pos_embed.0."):
        return "time_pos_embed.linear_1." + rest[len("time_pos_embed.0."):]
    if rest.startswith("time_pos_embed.2."):
        return "time_pos_embed.linear_2." + rest[len("time_pos_embed.2."):]
    return rest


def input_block_name(index: int, layers: int, levels: int) -> tuple[str, str]:
    """``(diffusers prefix, kind)`` of sgm ``input_blocks.<index>``: kind is ``conv_in``,
    ``level`` (a resnet + attention slot) or ``down`` (a downsampler)."""
    if index == 0:
        return "conv_in", "conv_in"
    k = index - 1
    level, slot = divmod(k, layers + 1)
    if level >= levels:
        raise KeyError(f"input_blocks.{index}")
    if slot < layers:
        return f"down_blocks.{level}.{{kind}}.{slot}", "level"
    return f"down_blocks.{level}.downsamplers.0", "down"


def _encoder_key(key: str, layers: int, levels: int) -> str:
    m = re.match(r"input_blocks\.(\d+)\.(\d+)\.(.*)$", key)
    if m:
        index, part, rest = int(m.group(1)), int(m.group(2)), m.group(3)
        prefix, kind = input_block_name(index, layers, levels)
        if kind == "conv_in":
            return f"conv_in.{rest}"
        if kind == "down":
            return f"{prefix}.{rest.replace('op.', 'conv.', 1)}"
        if part == 0:
            return f"{prefix.format(kind='resnets')}.{_resblock(rest)}"
        return f"{prefix.format(kind='attentions')}.{_transformer(rest)}"
    m = re.match(r"middle_block\.(\d)\.(.*)$", key)
    if m:
        part, rest = int(m.group(1)), m.group(2)
        if part == 1:
            return f"mid_block.attentions.0.{_transformer(rest)}"
        return f"mid_block.resnets.{part // 2}.{_resblock(rest)}"
    m = re.match(r"output_blocks\.(\d+)\.(\d)\.(.*)$", key)
    if m:
        index, part, rest = int(m.group(1)), int(m.group(2)), m.group(3)
        level, slot = divmod(index, layers + 1)
        if part == 1 and rest.startswith(("time_stack.", "norm.", "proj_", "transformer_blocks.",
                                          "time_pos_embed.", "time_mixer.")):
            return f"up_blocks.{level}.attentions.{slot}.{_transformer(rest)}"
        if part == 0:
            return f"up_blocks.{level}.resnets.{slot}.{_resblock(rest)}"
        return f"up_blocks.{level}.upsamplers.0.{rest}"
    raise KeyError(key)


def official_key(key: str, *, layers: int = 2, levels: int = 4) -> str:
    """The diffusers name of one control-module key of the authors' checkpoint (no prefix)."""
    for old, new in _TOP.items():
        if key.startswith(old + "."):
            return new + key[len(old):]
    for old, new in _EMBEDDERS.items():
        if key.startswith(old + "."):
            return new + key[len(old):]
    m = re.match(r"controlnet_down_blocks\.(\d+)\.0\.(.*)$", key)
    if m:
        return f"controlnet_down_blocks.{m.group(1)}.{m.group(2)}"
    if key.startswith("controlnet_mid_block.0."):
        return "controlnet_mid_block." + key[len("controlnet_mid_block.0."):]
    return _encoder_key(key, layers, levels)


_KV = re.compile(r".*time_stack\.\d+\.attn1\.to_[kv]\.weight$")


def convert_official(state: dict[str, Any], *, layers: int = 2, levels: int = 4
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(control module state, UNet temporal K/V state)`` in diffusers names from the
    authors' checkpoint ``state``. Raises ModelMismatchError for a key it cannot place."""
    control: dict[str, Any] = {}
    unet_kv: dict[str, Any] = {}
    bare = not any(k.startswith("model.") for k in state)
    for key, value in state.items():
        if key.startswith("model.ctrlnet_model.") or bare:
            name = key[len("model.ctrlnet_model."):] if not bare else key
            try:
                control[official_key(name, layers=layers, levels=levels)] = value
            except KeyError as exc:
                raise ModelMismatchError(
                    f"revideo model: the checkpoint key {key!r} is not part of ReVideo's "
                    f"control module ({exc}); is this the authors' ReVideo checkpoint?") from exc
        elif key.startswith("model.diffusion_model.") and _KV.match(key):
            name = key[len("model.diffusion_model."):]
            unet_kv[_encoder_key(name, layers, levels)] = value
    if not control:
        raise ModelMismatchError(
            "revideo model: the checkpoint holds no control module (no 'model.ctrlnet_model.' "
            "keys); is this the authors' ReVideo checkpoint?")
    return control, unet_kv


def read_control(family: Family, layout: ModelLayout) -> tuple[ControlWeights, dict]:
    """Read a layout's tensors (CPU, as stored) and its identity."""
    from safetensors.torch import load_file

    from .loading import read_state_dict

    if layout.pipeline_class == OFFICIAL:
        assert layout.weights_file is not None
        state = read_state_dict(layout.weights_file, family)
        if "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        control, unet_kv = convert_official(state)
        identity = {"family": family.name, "embedding_dim": None,
                    "fingerprint": fingerprint(family, {"checkpoint": layout.weights_file.name})}
        return ControlWeights(control, None, unet_kv, "official"), identity
    root = layout.root
    config = read_json_file(root / "config.json", family, "control module config")
    meta = {}
    if (root / "revideo.json").is_file():
        from .._persist import read_json, upgrade

        meta = upgrade(read_json(root / "revideo.json", "ReVideo control description"), SCHEMA,
                       VERSION, source=str(root / "revideo.json"))
    try:
        state = load_file(str(root / WEIGHTS))
        unet_kv = load_file(str(root / UNET_KV)) if (root / UNET_KV).is_file() else {}
    except Exception as exc:
        raise ModelMismatchError(
            f"revideo model: cannot read the weights in '{root}' ({exc}); train or convert it "
            f"again") from exc
    identity = {"family": family.name, "embedding_dim": config.get("cross_attention_dim"),
                "fingerprint": fingerprint(family, config)}
    return ControlWeights(state, config, unet_kv, "motionwright", meta), identity


def check_revideo(family: Family, layout: ModelLayout) -> list[dict[str, Any]]:
    """``motionwright models check`` entries for a control module (reads its tensors)."""
    try:
        weights, _ = read_control(family, layout)
    except (ModelMismatchError, ModelNotFoundError) as exc:
        return [{"name": "controlnet", "class_name": CONTROL_CLASS, "status": "error",
                 "message": str(exc)}]
    params = sum(int(t.numel()) for t in weights.state.values())
    size = (layout.weights_file.stat().st_size if layout.weights_file is not None
            else layout.size_bytes)
    first = next(iter(weights.state.values()))
    dtype = {"torch.float32": "fp32", "torch.float16": "fp16", "torch.bfloat16": "bf16"}.get(
        str(first.dtype), str(first.dtype))
    return [{"name": "controlnet", "class_name": CONTROL_CLASS, "status": "ok", "dtype": dtype,
             "parameters": params, "size_bytes": size}]
