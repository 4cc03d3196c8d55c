"""What a model path holds: checks a diffusers folder or a single weights file against a family.

Everything here reads only JSON configs and file names (and a safetensors header), never
weights, so ``motionwright models add`` and ``motion info --model`` stay instant and need no
torch. :func:`inspect_layout` returns a :class:`ModelLayout` or raises a one-line error naming
the family, the missing file and the command that fixes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelMismatchError, ModelNotFoundError
from .families import COMPONENT_FAMILIES, Family, class_matches, family_of_pipeline

WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
_MODEL_STEMS = ("diffusion_pytorch_model", "model", "pytorch_model")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "spiece.model", "tokenizer_config.json")


@dataclass(frozen=True)
class ComponentFiles:
    """The files of one component: its folder, class, weight files and weight variant."""

    name: str
    class_name: str
    folder: Path
    weights: tuple[Path, ...] = ()
    variant: str | None = None

    @property
    def size_bytes(self) -> int:
        """Total size of the weight files on disk."""
        return sum(p.stat().st_size for p in self.weights if p.is_file())


@dataclass(frozen=True)
class ModelLayout:
    """A checked model: which family, the root folder, and each component's files.

    ``weights_file`` is set when a single checkpoint file supplies the denoiser (or, for an
    SD 1.5 original checkpoint, the whole model); ``adapter`` is an AnimateDiff motion adapter
    (folder or file) to combine with the SD 1.5 base in ``root``.
    """

    family: str
    root: Path
    pipeline_class: str
    components: dict[str, ComponentFiles] = field(default_factory=dict)
    weights_file: Path | None = None
    adapter: Path | None = None

    @property
    def size_bytes(self) -> int:
        """Total size of every weight file the model uses."""
        total = sum(c.size_bytes for c in self.components.values())
        for extra in (self.weights_file, self.adapter):
            if extra is not None and extra.is_file():
                total += extra.stat().st_size
            elif extra is not None and extra.is_dir():
                total += sum(p.stat().st_size for p in extra.iterdir()
                             if p.suffix in WEIGHT_SUFFIXES)
        return total


def _add_hint(family: Family) -> str:
    return f"`motionwright models add {family.name} PATH` (e.g. {family.example})"


def read_json_file(path: Path, family: Family, what: str) -> dict[str, Any]:
    """Read a config JSON file, turning unreadable JSON into ModelMismatchError."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelMismatchError(
            f"{family.name} model: '{path}' is not a valid {what} ({exc}); "
            f"re-download the model or add another with {_add_hint(family)}"
        ) from exc
    if not isinstance(data, dict):
        raise ModelMismatchError(f"{family.name} model: '{path}' is not a valid {what}")
    return data


def _weight_files(folder: Path) -> tuple[tuple[Path, ...], str | None]:
    """The weight files of a model component folder and their variant (``None`` = plain)."""
    found: dict[str | None, list[Path]] = {}
    for stem in _MODEL_STEMS:
        for path in sorted(folder.glob(f"{stem}*")):
            name = path.name
            if name.endswith(".index.json"):
                base = name[: -len(".index.json")]
                index_path = path
                try:
                    with open(index_path, encoding="utf-8") as fh:
                        shards = sorted(set(json.load(fh).get("weight_map", {}).values()))
                except (OSError, ValueError):
                    shards = []
                files = [folder / s for s in shards] or [index_path]
            elif path.suffix in (".safetensors", ".bin"):
                base = name
                files = [path]
            else:
                continue
            # stem[.variant].ext[.index.json] -> variant
            middle = base[len(stem):].rsplit(".", 1)[0].lstrip(".")
            if "-of-" in middle:  # a shard file, reached through its index
                continue
            found.setdefault(middle or None, []).extend(files)
    for variant in (None, "fp16", "bf16", "fp32"):
        if variant in found:
            return tuple(found[variant]), variant
    if found:
        variant, files = next(iter(found.items()))
        return tuple(files), variant
    return (), None


def _config_class(config: dict[str, Any]) -> str | None:
    if isinstance(config.get("_class_name"), str):
        return config["_class_name"]
    arch = config.get("architectures")
    if isinstance(arch, list) and arch and isinstance(arch[0], str):
        return arch[0]
    return None


def _check_component(family: Family, root: Path, name: str, class_name: str,
                     *, weights_optional: bool) -> ComponentFiles:
    comp = family.component(name)
    folder = root / name
    rel = f"{name}/"
    if not folder.is_dir():
        raise ModelNotFoundError(
            f"{family.name} model at '{root}' is incomplete: the folder {rel} is missing; "
            f"add a complete model with {_add_hint(family)}"
        )
    if comp.kind == "scheduler":
        need = ["scheduler_config.json"]
    elif comp.kind == "processor":
        need = ["preprocessor_config.json"]
    elif comp.kind == "tokenizer":
        if not any((folder / f).is_file() for f in _TOKENIZER_FILES):
            raise ModelNotFoundError(
                f"{family.name} model at '{root}' is incomplete: {rel}tokenizer.json (or "
                f"vocab.json) is missing; add a complete model with {_add_hint(family)}"
            )
        need = []
    else:
        need = ["config.json"]
    for fname in need:
        if not (folder / fname).is_file():
            raise ModelNotFoundError(
                f"{family.name} model at '{root}' is incomplete: {rel}{fname} is missing; "
                f"add a complete model with {_add_hint(family)}"
            )
    if comp.kind != "model":
        return ComponentFiles(name, class_name, folder)
    config = read_json_file(folder / "config.json", family, f"{name} config")
    found_class = _config_class(config)
    if found_class and not class_matches(found_class, comp.classes):
        raise ModelMismatchError(
            f"{family.name} model at '{root}': {rel}config.json describes a {found_class}, "
            f"expected {' or '.join(comp.classes)}; this is not a {family.name} model"
        )
    weights, variant = _weight_files(folder)
    missing = [p for p in weights if not p.is_file()]
    if missing:
        raise ModelNotFoundError(
            f"{family.name} model at '{root}' is incomplete: {rel}{missing[0].name} is missing; "
            f"add a complete model with {_add_hint(family)}"
        )
    if not weights and not weights_optional:
        stem = "diffusion_pytorch_model" if comp.library == "diffusers" else "model"
        raise ModelNotFoundError(
            f"{family.name} model at '{root}' is incomplete: {rel}{stem}.safetensors is missing; "
            f"add a complete model with {_add_hint(family)}"
        )
    return ComponentFiles(name, found_class or class_name, folder, weights, variant)


def describe_path(path: Path) -> tuple[str | None, str]:
    """Guess what ``path`` holds: ``(family or None, short description)``."""
    if path.is_file():
        return None, f"a {path.suffix or 'plain'} file"
    index = path / "model_index.json"
    if index.is_file():
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
            cls = data.get("_class_name")
        except (OSError, ValueError, AttributeError):
            return None, "a folder with an unreadable model_index.json"
        fam = family_of_pipeline(str(cls))
        return (fam.name if fam else None), f"a {cls} folder"
    config = path / "config.json"
    if config.is_file():
        try:
            cls = _config_class(json.loads(config.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            cls = None
        if cls:
            return COMPONENT_FAMILIES.get(cls), f"a single {cls} component"
    return None, "a folder without model_index.json"


def _check_weights_file(family: Family, path: Path) -> None:
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        raise ModelMismatchError(
            f"{family.name} model: '{path}' is not a weights file (expected .safetensors or "
            f".ckpt); add a diffusers folder with {_add_hint(family)}"
        )
    if path.suffix.lower() == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="numpy") as fh:
                keys = list(fh.keys())
        except Exception as exc:  # safetensors raises its own error types
            raise ModelMismatchError(
                f"{family.name} model: '{path}' is not a readable safetensors file ({exc})"
            ) from exc
        if not keys:
            raise ModelMismatchError(f"{family.name} model: '{path}' holds no tensors")


def inspect_layout(family: Family, path: str | Path, config: str | Path | None = None
                   ) -> ModelLayout:
    """Check that ``path`` (with ``config`` for a single file) is a complete ``family`` model."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"{family.name} model not found: '{path}' does not exist; "
            f"add one with {_add_hint(family)}"
        )
    if family.name == "animatediff" and not (path / "model_index.json").is_file():
        return _animatediff_adapter_layout(family, path, config)
    if family.name == "sam":
        from .sam import sam_layout

        return sam_layout(family, path)
    if family.name == "revideo":
        from .revideo import revideo_layout

        return revideo_layout(family, path)
    if path.is_file():
        _check_weights_file(family, path)
        if config is None:
            raise ModelNotFoundError(
                f"{family.name} model: the single file '{path}' needs a local config folder "
                f"(a diffusers {family.example} folder, weights optional); add it with "
                f"`motionwright models add {family.name} '{path}' --config FOLDER`"
            )
        base = inspect_folder(family, Path(config).expanduser(), weights_optional=True)
        return ModelLayout(family.name, base.root, base.pipeline_class, base.components,
                           weights_file=path)
    return inspect_folder(family, path)


def inspect_folder(family: Family, root: Path, *, weights_optional: bool = False
                   ) -> ModelLayout:
    """Check a diffusers pipeline folder against ``family``."""
    if not root.is_dir():
        raise ModelNotFoundError(
            f"{family.name} model not found: '{root}' is not a folder; "
            f"add one with {_add_hint(family)}"
        )
    index_path = root / "model_index.json"
    if not index_path.is_file():
        owner, what = describe_path(root)
        if owner and owner != family.name:
            raise ModelMismatchError(
                f"'{root}' holds {what} of the {owner} family, not a {family.name} model; "
                f"add it with `motionwright models add {owner} '{root}'`"
            )
        raise ModelMismatchError(
            f"'{root}' is not a diffusers model folder (no model_index.json, it is {what}); "
            f"add a {family.name} model with {_add_hint(family)}"
        )
    index = read_json_file(index_path, family, "model_index.json")
    cls = str(index.get("_class_name"))
    if cls not in family.pipelines:
        owner = family_of_pipeline(cls)
        hint = (f"add it with `motionwright models add {owner.name} '{root}'`" if owner
                else f"add a {family.name} model with {_add_hint(family)}")
        raise ModelMismatchError(
            f"'{root}' holds a {cls} model, not a {family.name} model "
            f"({family.pipeline}); {hint}"
        )
    components: dict[str, ComponentFiles] = {}
    for comp in family.components:
        entry = index.get(comp.name)
        present = isinstance(entry, list) and len(entry) == 2 and entry[1] is not None
        if not present:
            if comp.required:
                raise ModelNotFoundError(
                    f"{family.name} model at '{root}' is incomplete: model_index.json lists no "
                    f"{comp.name}; add a complete model with {_add_hint(family)}"
                )
            continue
        class_name = str(entry[1])
        if not class_matches(class_name, comp.classes):
            raise ModelMismatchError(
                f"{family.name} model at '{root}': its {comp.name} is a {class_name}, expected "
                f"{' or '.join(comp.classes)}"
            )
        optional_weights = weights_optional and comp.name == family.denoiser
        components[comp.name] = _check_component(family, root, comp.name, class_name,
                                                 weights_optional=optional_weights)
    return ModelLayout(family.name, root, cls, components)


def _animatediff_adapter_layout(family: Family, path: Path, config: str | Path | None
                                ) -> ModelLayout:
    """An AnimateDiff motion adapter (folder or file), to be combined with an SD 1.5 base."""
    if path.is_dir():
        cfg = path / "config.json"
        if not cfg.is_file():
            raise ModelMismatchError(
                f"'{path}' is neither an AnimateDiff pipeline (no model_index.json) nor a "
                f"motion adapter (no config.json); add one with {_add_hint(family)}"
            )
        cls = _config_class(read_json_file(cfg, family, "motion adapter config"))
        if cls != "MotionAdapter":
            owner = COMPONENT_FAMILIES.get(cls or "")
            raise ModelMismatchError(
                f"'{path}' holds a {cls} component, not an AnimateDiff motion adapter"
                + (f"; add it with `motionwright models add {owner} '{path}'`"
                   if owner and owner != "animatediff" else "")
            )
        weights, _ = _weight_files(path)
        if not weights:
            raise ModelNotFoundError(
                f"animatediff motion adapter at '{path}' is incomplete: "
                f"diffusion_pytorch_model.safetensors is missing"
            )
    else:
        _check_weights_file(family, path)
    if config is None:
        raise ModelNotFoundError(
            f"animatediff: the motion adapter '{path}' needs an SD 1.5 base model; add one with "
            f"`motionwright models add sd15 PATH` (e.g. stable-diffusion-v1-5)"
        )
    from .families import FAMILIES

    base = inspect_folder(FAMILIES["sd15"], Path(config).expanduser())
    return ModelLayout(family.name, base.root, "AnimateDiffPipeline", base.components,
                       adapter=path)


def denoiser_config(family: Family, layout: ModelLayout) -> dict[str, Any]:
    """The denoiser's config (UNet or transformer), read from disk."""
    comp = layout.components.get(family.denoiser)
    if comp is None:
        raise ModelNotFoundError(
            f"{family.name} model at '{layout.root}' has no {family.denoiser} config"
        )
    return read_json_file(comp.folder / "config.json", family, f"{family.denoiser} config")


def fingerprint(family: Family, config: dict[str, Any]) -> str:
    """A short stable hash of a denoiser config: the architecture a motion was learned on.

    Keys starting with ``_`` (paths, library versions) are left out, except the class name.
    """
    kept = {k: v for k, v in config.items() if not k.startswith("_") or k == "_class_name"}
    text = json.dumps({"family": family.name, "config": kept}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def model_identity(family: Family, config: dict[str, Any]) -> dict[str, Any]:
    """``{"family", "embedding_dim", "fingerprint"}`` of a model, from its denoiser config."""
    dim = config.get(family.embedding_key)
    if isinstance(dim, list):
        dim = dim[0] if dim else None
    return {"family": family.name, "embedding_dim": int(dim) if dim is not None else None,
            "fingerprint": fingerprint(family, config)}
