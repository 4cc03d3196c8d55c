"""Hooks into diffusers' own model classes: attention processors, forward hooks, checkpointing.

Every method conditions or reads a diffusers model through this small layer instead of a
forked copy of the model:

- :func:`attention_sites` lists the attention layers of a UNet or transformer, classified as
  spatial / temporal / joint and self / cross attention, with the block they sit in;
- :func:`attention_processors` installs processors on chosen sites (via diffusers'
  ``set_attn_processor``) for the duration of a ``with`` block and restores the previous ones;
- :class:`RecordingProcessor` wraps a processor and records the tensors each call received
  (query-side ``hidden_states`` and key/value-side ``context``); :class:`AttentionMapRecorder`
  records attention probabilities (temporal correlations, cross-attention maps);
- :func:`forward_hooks` / :class:`FeatureRecorder` read (or replace) module outputs, e.g.
  UNet decoder features;
- :func:`activation_checkpointing` recomputes chosen modules in the backward pass (wrapping the
  instances' ``forward`` with ``torch.utils.checkpoint``), for gradients through a frozen model
  in little memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

_TEMPORAL_PARTS = ("temporal_transformer_blocks", "motion_modules", "temp_attentions",
                   "temporal_transformer")


@dataclass(frozen=True)
class AttentionSite:
    """One attention layer of a model.

    ``name`` is its module path (``down_blocks.0.attentions.0.transformer_blocks.0.attn2``);
    ``axis`` is ``"spatial"`` (tokens are pixels of one frame), ``"temporal"`` (tokens are the
    frames of one pixel) or ``"joint"`` (one sequence over space, time and text); ``role`` is
    ``"self"`` or ``"cross"``; ``block`` is the top-level block (``down_blocks.1``,
    ``mid_block``, ``up_blocks.0``, ``transformer_blocks.3``).
    """

    name: str
    module: Any = field(repr=False, compare=False)
    axis: str
    role: str
    block: str

    @property
    def key(self) -> str:
        """The key of this site in ``model.attn_processors``."""
        return f"{self.name}.processor"

    @property
    def kind(self) -> str:
        """``"<axis>-<role>"``, e.g. ``"temporal-cross"``."""
        return f"{self.axis}-{self.role}"


def _block_of(name: str) -> str:
    parts = name.split(".")
    if parts[0] in ("down_blocks", "up_blocks", "transformer_blocks") and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def attention_sites(model, kinds: tuple[str, ...] | None = None) -> list[AttentionSite]:
    """The attention layers of ``model`` that diffusers lets us set processors on.

    ``kinds`` keeps only sites whose :attr:`AttentionSite.kind` is listed.
    """
    processors = set(model.attn_processors)
    joint = "Transformer" in type(model).__name__
    sites = []
    for name, module in model.named_modules():
        if f"{name}.processor" not in processors:
            continue
        parts = name.split(".")
        if any(p in _TEMPORAL_PARTS for p in parts):
            axis = "temporal"
        elif joint:
            axis = "joint"
        else:
            axis = "spatial"
        role = "cross" if getattr(module, "is_cross_attention", False) else "self"
        site = AttentionSite(name, module, axis, role, _block_of(name))
        if kinds is None or site.kind in kinds:
            sites.append(site)
    return sites


ProcessorFactory = Callable[[AttentionSite, Any], Any]


@contextlib.contextmanager
def attention_processors(model, make: ProcessorFactory,
                         kinds: tuple[str, ...] | None = None) -> Iterator[dict[str, Any]]:
    """Install processors made by ``make(site, current_processor)`` while the block runs.

    ``make`` returns the processor for a site, or ``None`` to keep the current one. Yields
    ``{site name: installed processor}``; on exit every previous processor is restored, even
    when the block raises.
    """
    originals = dict(model.attn_processors)
    updated = dict(originals)
    installed: dict[str, Any] = {}
    for site in attention_sites(model, kinds):
        processor = make(site, originals[site.key])
        if processor is not None:
            updated[site.key] = processor
            installed[site.name] = processor
    model.set_attn_processor(dict(updated))
    try:
        yield installed
    finally:
        model.set_attn_processor(dict(originals))


@dataclass
class AttentionCall:
    """What one attention call received: query-side ``hidden`` and key/value-side ``context``.

    Both are detached copies (``context`` is ``hidden`` itself for self-attention).
    """

    hidden: Any
    context: Any


class ProcessorWrapper:
    """Base for processors that adjust an attention call, then run the processor they wrap.

    diffusers passes a processor only the keyword arguments its ``__call__`` names, so the
    common ones (``temb``, ``image_rotary_emb``) are named here and forwarded to ``inner`` when
    given and accepted by it.
    """

    def __init__(self, inner: Any) -> None:
        import inspect

        self.inner = inner
        params = inspect.signature(inner.__call__).parameters
        self._inner_names = set(params)
        self._inner_var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())

    def call_inner(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                   **extras):
        """Run the wrapped processor with the extras it accepts (None values dropped)."""
        passed = {k: v for k, v in extras.items()
                  if v is not None and (self._inner_var_kw or k in self._inner_names)}
        return self.inner(attn, hidden_states, encoder_hidden_states=encoder_hidden_states,
                          attention_mask=attention_mask, **passed)

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, image_rotary_emb=None, **kwargs):
        return self.call_inner(attn, hidden_states, encoder_hidden_states, attention_mask,
                               temb=temb, image_rotary_emb=image_rotary_emb, **kwargs)


class RecordingProcessor(ProcessorWrapper):
    """A processor that records each call's inputs in :attr:`calls`, then runs ``inner``."""

    def __init__(self, inner: Any, *, keep: bool = True) -> None:
        super().__init__(inner)
        self.keep = keep
        self.calls: list[AttentionCall] = []

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, image_rotary_emb=None, **kwargs):
        if self.keep:
            context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
            self.calls.append(AttentionCall(hidden_states.detach().clone(),
                                            context.detach().clone()))
        return self.call_inner(attn, hidden_states, encoder_hidden_states, attention_mask,
                               temb=temb, image_rotary_emb=image_rotary_emb, **kwargs)


class AttentionMapRecorder(ProcessorWrapper):
    """A processor that records attention probabilities, then runs ``inner`` unchanged.

    Each call appends ``softmax(QKᵀ/√d)`` averaged over heads, ``(batch, queries, keys)``
    float32 and detached, to :attr:`maps` (e.g. temporal self-attention correlations between
    frames, or which cross-attention tokens each pixel reads). For 3-D token inputs (the UNet
    blocks' usual form); the probabilities are recomputed, so record few sites at a time.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.maps: list[Any] = []

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, image_rotary_emb=None, **kwargs):
        import torch

        if hidden_states.ndim == 3:
            with torch.no_grad():
                query_in = hidden_states
                if attn.group_norm is not None:
                    query_in = attn.group_norm(query_in.transpose(1, 2)).transpose(1, 2)
                context = query_in if encoder_hidden_states is None else encoder_hidden_states
                if encoder_hidden_states is not None and attn.norm_cross:
                    context = attn.norm_encoder_hidden_states(context)
                query = attn.head_to_batch_dim(attn.to_q(query_in))
                key = attn.head_to_batch_dim(attn.to_k(context))
                probs = attn.get_attention_scores(query, key, None)
                batch = hidden_states.shape[0]
                probs = probs.reshape(batch, attn.heads, *probs.shape[1:]).float().mean(1)
            self.maps.append(probs)
        return self.call_inner(attn, hidden_states, encoder_hidden_states, attention_mask,
                               temb=temb, image_rotary_emb=image_rotary_emb, **kwargs)


@contextlib.contextmanager
def record_attention_maps(model, kinds: tuple[str, ...], *,
                          where: Callable[[AttentionSite], bool] | None = None
                          ) -> Iterator[dict[str, AttentionMapRecorder]]:
    """Record the attention probabilities of the sites of ``kinds`` (and ``where``) while the
    block runs; yields ``{site name: recorder}``."""

    def make(site, current):
        if where is not None and not where(site):
            return None
        return AttentionMapRecorder(current)

    with attention_processors(model, make, kinds) as installed:
        yield installed


@contextlib.contextmanager
def record_attention(model, kinds: tuple[str, ...] | None = None
                     ) -> Iterator[dict[str, RecordingProcessor]]:
    """Record the inputs of every attention site of ``kinds`` while the block runs.

    Composes with processors already installed: each recorder wraps the current processor.
    """
    with attention_processors(model, lambda site, current: RecordingProcessor(current),
                              kinds) as installed:
        yield installed


HookFn = Callable[[str, Any, tuple, dict, Any], Any]


@contextlib.contextmanager
def forward_hooks(model, names: list[str] | tuple[str, ...], fn: HookFn) -> Iterator[None]:
    """Call ``fn(name, module, args, kwargs, output)`` after each named module's forward.

    A non-None return value replaces the module's output (for injecting residuals). Unknown
    names raise KeyError listing a few valid ones.
    """
    modules = dict(model.named_modules())
    handles = []
    try:
        for name in names:
            if name not in modules:
                sample = ", ".join(list(modules)[1:6])
                raise KeyError(f"{type(model).__name__} has no module {name!r} (e.g. {sample})")

            def hook(module, args, kwargs, output, _name=name):
                return fn(_name, module, args, kwargs, output)

            handles.append(modules[name].register_forward_hook(hook, with_kwargs=True))
        yield
    finally:
        for handle in handles:
            handle.remove()


class FeatureRecorder:
    """Keeps the output of named modules from the last forward pass, e.g. UNet decoder features.

    Use as ``with FeatureRecorder(unet, ["up_blocks.1"]) as rec: unet(...)``; then
    ``rec.features["up_blocks.1"]`` is that block's output (detached unless ``detach=False``).
    """

    def __init__(self, model, names: list[str] | tuple[str, ...], *, detach: bool = True) -> None:
        self.model = model
        self.names = tuple(names)
        self.detach = detach
        self.features: dict[str, Any] = {}
        self._stack: contextlib.ExitStack | None = None

    def _store(self, name, module, args, kwargs, output):
        value = output[0] if isinstance(output, tuple) else output
        if hasattr(value, "sample") and not hasattr(value, "shape"):
            value = value.sample
        self.features[name] = value.detach() if self.detach else value
        return None

    def __enter__(self) -> FeatureRecorder:
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(forward_hooks(self.model, self.names, self._store))
        return self

    def __exit__(self, *exc) -> None:
        assert self._stack is not None
        self._stack.close()


@contextlib.contextmanager
def activation_checkpointing(model, should_wrap: Callable[[str, Any], bool]) -> Iterator[int]:
    """Recompute every module ``should_wrap(name, module)`` picks during backward.

    The instances' ``forward`` is wrapped with non-reentrant ``torch.utils.checkpoint`` while
    gradients are enabled, so tensors a processor reads by reference (not passed as arguments)
    still receive gradients. Yields how many modules were wrapped; restores them on exit.
    """
    from torch import is_grad_enabled
    from torch.utils.checkpoint import checkpoint

    wrapped = []
    prefixes: list[str] = []
    for name, module in model.named_modules():
        if not name or any(name.startswith(p) for p in prefixes):
            continue  # inside a module already recomputed as a whole
        if not should_wrap(name, module):
            continue
        prefixes.append(name + ".")
        original = module.forward

        def forward(*args, _original=original, **kwargs):
            if is_grad_enabled():
                return checkpoint(_original, *args, use_reentrant=False, **kwargs)
            return _original(*args, **kwargs)

        module.forward = forward
        wrapped.append(module)
    try:
        yield len(wrapped)
    finally:
        for module in wrapped:
            del module.forward


def modules_by_class(*class_names: str) -> Callable[[str, Any], bool]:
    """A predicate for :func:`activation_checkpointing` picking modules by class name."""
    names = frozenset(class_names)
    return lambda _name, module: type(module).__name__ in names
