"""Loading a family's model from local files into a diffusers pipeline, offline.

:func:`load_model` resolves the model (``motionwright.models.store``), checks its files
(``layout``), loads each component with its own diffusers / transformers class from the local
folder (``local_files_only=True``, offline mode enforced) and builds the family's pipeline. A
component that fails to load becomes a one-line :class:`ModelMismatchError` naming the family
and the folder. :class:`Models` caches loaded models so several renders share one load.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, require_extra
from .device import dtype_name, select_device, select_dtype
from .errors import ModelMismatchError, ModelNotFoundError
from .families import FAMILIES, Family, get_family
from .layout import ComponentFiles, ModelLayout, denoiser_config, model_identity
from .memory import MemoryPolicy, get_policy
from .offline import enforce_offline
from .store import ModelSpec, ModelStore, resolve_model


def _import_runtime() -> None:
    for module in ("torch", "diffusers", "transformers"):
        require_extra(module, "diffusion", "the diffusion backend")


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence diffusers/transformers info logs and progress bars while loading."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    saved = (dlog.get_verbosity(), tlog.get_verbosity(), not dlog.is_progress_bar_enabled(),
             tlog.is_progress_bar_enabled())
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        dlog.set_verbosity(saved[0])
        tlog.set_verbosity(saved[1])
        if not saved[2]:
            dlog.enable_progress_bar()
        if saved[3]:
            tlog.enable_progress_bar()


@dataclass
class LoadedModel:
    """A family's pipeline loaded from local files, with what it is and where it runs.

    ``identity`` is ``{"family", "embedding_dim", "fingerprint"}``: what a learned motion
    records as its base model. ``placement`` is the memory policy the pipeline is currently
    placed with (None while it sits on the CPU as loaded).
    """

    family: Family
    spec: ModelSpec
    layout: ModelLayout
    pipeline: Any
    device: Any
    dtype: Any
    identity: dict[str, Any]
    placement: MemoryPolicy | None = field(default=None)

    @property
    def denoiser(self):
        """The UNet or transformer."""
        return getattr(self.pipeline, self.family.denoiser)

    def describe(self) -> str:
        """One line: family, path, device and dtype."""
        return (f"{self.family.name} model '{self.spec.path}' on {self.device} "
                f"({dtype_name(self.dtype)})")

    def reset_placement(self) -> None:
        """Remove offload hooks and move every component back to the CPU."""
        if self.placement is None:
            return
        with contextlib.suppress(Exception):
            self.pipeline.remove_all_hooks()
        self.pipeline.to("cpu")
        self.placement = None

    def place(self, policy: MemoryPolicy) -> None:
        """Put the pipeline on its device for generating, as ``policy`` says.

        ``offload="model"`` / ``"sequential"`` use diffusers' CPU offload hooks (accelerators
        only); otherwise the whole pipeline moves to the device. Learning places the
        components it needs itself (see ``methods.motion_inversion``).
        """
        if self.placement == policy:
            return
        self.reset_placement()
        on_accelerator = self.device.type != "cpu"
        if on_accelerator and policy.offload != "none":
            self.pipeline.to("cpu")  # the offload hooks move each component in when it runs
        if on_accelerator and policy.offload == "model":
            self.pipeline.enable_model_cpu_offload(device=self.device)
        elif on_accelerator and policy.offload == "sequential":
            self.pipeline.enable_sequential_cpu_offload(device=self.device)
        else:
            self.pipeline.to(self.device)
        set_forward_chunking(self.denoiser, policy.forward_chunking)
        self.placement = policy


def set_forward_chunking(model, enabled: bool) -> None:
    """Run ``model``'s feed-forward layers in chunks (less memory, same result) or not."""
    for module in model.modules():
        if hasattr(module, "set_chunk_feed_forward"):
            module.set_chunk_feed_forward(chunk_size=1 if enabled else None, dim=0)


def _library(name: str):
    import importlib

    return importlib.import_module(name)


def _component_class(family: Family, files: ComponentFiles):
    comp = family.component(files.name)
    module = _library(comp.library)
    cls = getattr(module, files.class_name, None)
    if cls is None and comp.kind == "tokenizer":
        cls = module.AutoTokenizer
    elif cls is None and comp.kind == "processor":
        cls = getattr(module, "CLIPImageProcessor", None) or module.AutoImageProcessor
    if cls is None:
        raise ModelMismatchError(
            f"{family.name} model at '{files.folder.parent}': its {files.name} is a "
            f"{files.class_name}, which this {comp.library} version does not provide"
        )
    return cls


def _load_component(family: Family, files: ComponentFiles, dtype) -> Any:
    comp = family.component(files.name)
    cls = _component_class(family, files)
    kwargs: dict[str, Any] = {"local_files_only": True}
    if comp.kind == "model":
        kwargs["torch_dtype" if comp.library == "diffusers" else "dtype"] = dtype
        if files.variant:
            kwargs["variant"] = files.variant
    try:
        return cls.from_pretrained(str(files.folder), **kwargs)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if type(exc).__name__ == "OutOfMemoryError":
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelMismatchError(
            f"{family.name} model: cannot load {files.name} from '{files.folder}' ({first}); "
            f"re-download it or add another with `motionwright models add {family.name} PATH`"
        ) from exc


def read_state_dict(path: Path, family: Family) -> dict[str, Any]:
    """Tensors of a ``.safetensors`` or ``.ckpt`` file (never unpickling arbitrary objects)."""
    import torch

    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelMismatchError(
            f"{family.name} model: '{path}' is not a readable checkpoint ({exc})"
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelMismatchError(f"{family.name} model: '{path}' does not hold a tensor state dict")
    return state


def _denoiser_from_file(family: Family, layout: ModelLayout, dtype) -> Any:
    """Build the denoiser from the config folder and fill it with the single file's weights."""
    import torch

    path = layout.weights_file
    assert path is not None
    files = layout.components[family.denoiser]
    cls = _component_class(family, files)
    state = read_state_dict(path, family)
    for prefix in (f"{family.denoiser}.", "model.", ""):
        if prefix and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
            break
    config = cls.load_config(str(files.folder))
    with torch.device("meta"):
        model = cls.from_config(config)
    expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing:
        hint = f" and {len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else ""
        raise ModelMismatchError(
            f"'{path}' does not hold {family.name} {family.denoiser} weights for the config in "
            f"'{files.folder}': {len(missing)} tensors missing (e.g. {missing[0]}){hint}; "
            f"is it a model of another family, or an original (non-diffusers) checkpoint?"
        )
    model.load_state_dict({k: state[k] for k in expected}, strict=True, assign=True)
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()]
                if t.device.type == "meta"]
    if leftover:
        raise ModelMismatchError(f"'{path}': no values for {leftover[0]}")
    return model if dtype is None else model.to(dtype=dtype)


def _original_sd15(layout: ModelLayout, dtype) -> Any:
    """An original-format SD 1.5 checkpoint, converted by diffusers with the local config."""
    from diffusers import StableDiffusionPipeline

    try:
        return StableDiffusionPipeline.from_single_file(
            str(layout.weights_file), config=str(layout.root), local_files_only=True,
            torch_dtype=dtype)
    except Exception as exc:
        raise ModelMismatchError(
            f"sd15 model: cannot convert '{layout.weights_file}' with the config in "
            f"'{layout.root}' ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from exc


def _motion_adapter(path: Path, dtype) -> Any:
    from diffusers import MotionAdapter

    try:
        if path.is_dir():
            return MotionAdapter.from_pretrained(str(path), torch_dtype=dtype,
                                                 local_files_only=True)
        return MotionAdapter.from_single_file(str(path), torch_dtype=dtype,
                                              local_files_only=True)
    except Exception as exc:
        raise ModelMismatchError(
            f"animatediff: cannot load the motion adapter '{path}' "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
            f"use a diffusers MotionAdapter folder"
        ) from exc


def _build_pipeline(family: Family, components: dict[str, Any]) -> Any:
    import diffusers

    cls = getattr(diffusers, family.pipeline)
    params = inspect.signature(cls.__init__).parameters
    kwargs = {k: v for k, v in components.items() if k in params}
    for name, param in params.items():
        if name in ("self",) or name in kwargs or param.kind in (param.VAR_POSITIONAL,
                                                                 param.VAR_KEYWORD):
            continue
        if name == "requires_safety_checker":
            kwargs[name] = False
        elif param.default is inspect.Parameter.empty:
            kwargs[name] = None
    pipe = cls(**kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _has_component(family: Family, name: str) -> bool:
    return any(c.name == name for c in family.components)


def _is_original_sd15(state_keys: list[str]) -> bool:
    return any(k.startswith("model.diffusion_model.") for k in state_keys)


def load_model(family: str | Family, model: Any = None, *, device: Any = "auto",
               dtype: Any = "auto", store: ModelStore | None = None) -> LoadedModel:
    """Load the ``family`` model (``model``: a path, ModelSpec or None for the configured one).

    The pipeline is returned on the CPU; :meth:`LoadedModel.place` moves it as a memory policy
    says. Raises ModelNotFoundError / ModelMismatchError with one-line messages.
    """
    fam = family if isinstance(family, Family) else get_family(family)
    # Check the files before importing torch/diffusers, so a missing model fails at once.
    spec = resolve_model(fam, model, store=store)
    layout = spec.layout()
    _import_runtime()
    enforce_offline()
    dev = select_device(device)
    dt = select_dtype(dtype, dev)
    if fam.name == "sam":
        from .sam import load_sam

        pipe, identity = load_sam(fam, layout, dt)
        return LoadedModel(fam, spec, layout, pipe, dev, dt, identity)
    if fam.name == "revideo":
        from .revideo import read_control

        weights, identity = read_control(fam, layout)
        return LoadedModel(fam, spec, layout, weights, dev, dt, identity)
    with quiet_libraries():
        if layout.weights_file is not None and fam.name == "sd15":
            from safetensors import safe_open

            keys: list[str] = []
            if layout.weights_file.suffix.lower() == ".safetensors":
                with safe_open(str(layout.weights_file), framework="numpy") as fh:
                    keys = list(fh.keys())
            if _is_original_sd15(keys) or layout.weights_file.suffix.lower() != ".safetensors":
                pipe = _original_sd15(layout, dt)
                pipe.set_progress_bar_config(disable=True)
                identity = model_identity(fam, dict(pipe.unet.config))
                return LoadedModel(fam, spec, layout, pipe, dev, dt, identity)
        components: dict[str, Any] = {}
        # An AnimateDiff motion adapter sits on an SD 1.5 base: its files are sd15 components.
        owner = FAMILIES["sd15"] if layout.adapter is not None else fam
        for name, files in layout.components.items():
            if layout.adapter is not None and not _has_component(fam, name):
                continue
            if name == fam.denoiser and layout.weights_file is not None:
                components[name] = _denoiser_from_file(fam, layout, dt)
            else:
                components[name] = _load_component(owner, files, dt)
        if layout.adapter is not None:
            components["motion_adapter"] = _motion_adapter(layout.adapter, dt)
        pipe = _build_pipeline(fam, components)
    config = dict(getattr(pipe, fam.denoiser).config)
    identity = model_identity(fam, config)
    return LoadedModel(fam, spec, layout, pipe, dev, dt, identity)


def model_identity_of(spec: ModelSpec) -> dict[str, Any]:
    """A model's identity (family, embedding width, fingerprint) from its configs alone."""
    fam = get_family(spec.family)
    layout = spec.layout()
    return model_identity(fam, denoiser_config(fam, layout))


class Models:
    """Loaded models shared by several runs: each family is loaded once, on first use.

    ``paths`` is None (use the store), one path (for every family asked for), or
    ``{family: path}``. ``device``, ``dtype`` and ``memory`` (a policy name, a
    :class:`MemoryPolicy` or ``"auto"``) apply to every model.
    """

    def __init__(self, paths: Any = None, *, device: Any = "auto", dtype: Any = "auto",
                 memory: str | MemoryPolicy = "auto", store: ModelStore | None = None) -> None:
        if paths is not None and not isinstance(paths, str | Path | dict | ModelSpec):
            raise InvalidInputError(
                f"models: expected None, a path, or {{family: path}}, got {type(paths).__name__}"
            )
        if isinstance(paths, dict):
            for key in paths:
                get_family(key)
        self.paths = paths
        self.device = device
        self.dtype = dtype
        self.memory = memory if memory == "auto" else get_policy(memory)
        self.store = store
        self._loaded: dict[str, LoadedModel] = {}

    def path_for(self, family: str) -> Any:
        """The explicit path given for ``family`` (None: use the store)."""
        if isinstance(self.paths, dict):
            return self.paths.get(family)
        return self.paths

    def get(self, family: str) -> LoadedModel:
        """The loaded ``family`` model (loading it on first use)."""
        fam = get_family(family)
        if fam.name not in self._loaded:
            self._loaded[fam.name] = load_model(fam, self.path_for(fam.name), device=self.device,
                                                dtype=self.dtype, store=self.store)
        return self._loaded[fam.name]

    def release(self) -> None:
        """Drop every loaded model (freeing its memory once nothing else refers to it)."""
        for loaded in self._loaded.values():
            loaded.reset_placement()
        self._loaded.clear()


def as_models(models: Any) -> Models:
    """``models`` as given to ``render``/``learn_motion``: a Models, a path, a dict, or None."""
    if isinstance(models, Models):
        return models
    if isinstance(models, LoadedModel):
        holder = Models(models.spec.path)
        holder._loaded[models.family.name] = models
        return holder
    return Models(models)


@dataclass(frozen=True)
class ComponentReport:
    """What ``motionwright models check`` found for one component."""

    name: str
    class_name: str
    status: str
    dtype: str | None = None
    parameters: int | None = None
    size_bytes: int = 0
    message: str = ""


def check_model(spec: ModelSpec) -> list[ComponentReport]:
    """Load every component of ``spec`` on the CPU (stored dtype) and report on each.

    A layout problem (missing file, wrong family) is reported as one failed ``files`` entry.
    """
    _import_runtime()
    enforce_offline()
    fam = get_family(spec.family)
    try:
        layout = spec.layout()
    except (ModelNotFoundError, ModelMismatchError) as exc:
        return [ComponentReport("files", "-", "missing" if isinstance(exc, ModelNotFoundError)
                                else "wrong", message=str(exc))]
    if fam.name == "sam":
        from .sam import check_sam

        return [ComponentReport(**r) for r in check_sam(fam, layout)]
    if fam.name == "revideo":
        from .revideo import check_revideo

        return [ComponentReport(**r) for r in check_revideo(fam, layout)]
    reports = []
    owner = FAMILIES["sd15"] if layout.adapter is not None else fam
    with quiet_libraries():
        for name, files in layout.components.items():
            if layout.adapter is not None and not _has_component(fam, name):
                continue
            try:
                if name == fam.denoiser and layout.weights_file is not None:
                    weights = layout.weights_file
                    obj = (None if _is_sd15_file(fam, layout)
                           else _denoiser_from_file(fam, layout, None))
                    size = weights.stat().st_size
                else:
                    weights = files.weights[0] if files.weights else None
                    obj = _load_component(owner, files, None)
                    size = files.size_bytes
            except (ModelMismatchError, ModelNotFoundError) as exc:
                reports.append(ComponentReport(name, files.class_name, "error", message=str(exc)))
                continue
            params = None
            if obj is not None and hasattr(obj, "parameters"):
                params = sum(t.numel() for t in obj.parameters())
            reports.append(ComponentReport(name, files.class_name, "ok", stored_dtype(weights),
                                           params, size))
        if layout.adapter is not None:
            try:
                adapter = _motion_adapter(layout.adapter, None)
                reports.append(ComponentReport(
                    "motion_adapter", "MotionAdapter", "ok",
                    dtype_name(next(adapter.parameters()).dtype),
                    sum(t.numel() for t in adapter.parameters()), layout.size_bytes))
            except ModelMismatchError as exc:
                reports.append(ComponentReport("motion_adapter", "MotionAdapter", "error",
                                               message=str(exc)))
    return reports


_SAFETENSORS_DTYPES = {"BF16": "bf16", "F16": "fp16", "F32": "fp32", "F64": "fp64",
                       "F8_E4M3": "fp8", "F8_E5M2": "fp8"}


def stored_dtype(path: Path | None) -> str | None:
    """The dtype most of a weights file's floating tensors are stored in (from its header)."""
    if path is None or path.suffix.lower() != ".safetensors" or not path.is_file():
        return None
    import json
    import struct

    try:
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(min(length, 100_000_000)))
    except (OSError, ValueError, struct.error):
        return None
    counts: dict[str, int] = {}
    for key, info in header.items():
        if key != "__metadata__" and isinstance(info, dict):
            name = _SAFETENSORS_DTYPES.get(str(info.get("dtype")))
            if name:
                counts[name] = counts.get(name, 0) + 1
    return max(counts, key=counts.get) if counts else None


def _is_sd15_file(family: Family, layout: ModelLayout) -> bool:
    return family.name == "sd15" and layout.weights_file is not None and (
        layout.weights_file.suffix.lower() != ".safetensors")


__all__ = ["FAMILIES", "ComponentReport", "LoadedModel", "Models", "as_models", "check_model",
           "load_model", "model_identity_of", "quiet_libraries", "read_state_dict"]
