"""Peak accelerator memory of a run, estimated before it starts.

The denoiser is rebuilt from its config on PyTorch's ``meta`` device, where a forward pass
computes only shapes, in about a second for full-size SVD. During that pass:

- for learning, every tensor autograd saves for the backward pass is counted, attributed to the
  block that saved it; blocks the memory policy recomputes keep only their inputs, plus the
  largest such block's activations (and as much again for their gradients) while it is
  recomputed;
- for generation, the largest module output and the skip connections kept for the decoder are
  counted, twice over for classifier-free guidance.

Attention probabilities, which fused attention kernels never store, are replaced by the
kernels' own outputs. Weights count at their dtype for each component on the device at the
time. The result is an estimate: ``tests/benchmarks/bench_motion.py`` prints it next to the
measured peak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .memory import MemoryPolicy, get_policy


@dataclass(frozen=True)
class VramEstimate:
    """Estimated peak bytes of one run under one policy, with the parts that make it up.

    ``parts``: what is held at the peak (always-held parts plus the largest phase);
    ``phases``: where a run has phases that do not overlap, each phase's own bytes."""

    policy: str
    peak_bytes: int
    parts: dict[str, int] = field(default_factory=dict)
    phases: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: ``"balanced: 17.3 GiB (weights 3.0 GiB, activations ...)"``."""
        from .memory import format_bytes

        parts = ", ".join(f"{k} {format_bytes(v)}" for k, v in self.parts.items())
        return f"{self.policy}: {format_bytes(self.peak_bytes)} ({parts})"


def _nbytes(t) -> int:
    return t.numel() * t.element_size()


def meta_copy(model, dtype):
    """An empty copy of a diffusers model on the ``meta`` device (no memory, no weights)."""
    import torch

    with torch.device("meta"):
        copy = type(model).from_config(model.config) if hasattr(model, "config") else model
    return copy.to(device="meta", dtype=dtype).requires_grad_(False)


@dataclass
class _Trace:
    outside: int = 0
    segment_saved: dict[str, int] = field(default_factory=dict)
    segment_inputs: dict[str, int] = field(default_factory=dict)
    largest_output: int = 0
    skip_bytes: int = 0


def _is_attention_probs(shape: tuple[int, ...]) -> bool:
    return len(shape) >= 3 and shape[-1] == shape[-2] and shape[-1] > 64


def _trace(model, run: Callable[[], Any], segment_of: Callable[[str, Any], bool] | None,
           *, training: bool) -> _Trace:
    import torch

    trace = _Trace()
    params = {p.untyped_storage()._cdata for p in model.parameters()}
    stack: list[str] = []
    handles = []
    seen: set[int] = set()

    if segment_of is not None:
        prefixes: list[str] = []
        for name, module in model.named_modules():
            if not name or any(name.startswith(p) for p in prefixes) or not segment_of(name,
                                                                                       module):
                continue
            prefixes.append(name + ".")

            def pre(mod, args, kwargs, _name=name):
                stack.append(_name)
                tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
                trace.segment_inputs[_name] = sum(_nbytes(t) for t in tensors)

            def post(mod, args, kwargs, out, _name=name):
                stack.pop()

            handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(module.register_forward_hook(post, with_kwargs=True))

    def pack(t):
        storage = t.untyped_storage()
        key = storage._cdata
        if key in params or key in seen:
            return t
        seen.add(key)
        size = storage.nbytes()
        if _is_attention_probs(tuple(t.shape)):
            # Fused kernels keep the output (B·H, L, head_dim) and a row statistic instead.
            size = size * 2 // max(t.shape[-1], 1)
        if stack:
            trace.segment_saved[stack[-1]] = trace.segment_saved.get(stack[-1], 0) + size
        else:
            trace.outside += size
        return t

    def on_output(mod, args, out):
        tensors = out if isinstance(out, tuple) else (out,)
        for t in tensors:
            if isinstance(t, torch.Tensor):
                trace.largest_output = max(trace.largest_output, _nbytes(t))

    if not training:
        for name, module in model.named_modules():
            if name and not list(module.children()):
                handles.append(module.register_forward_hook(on_output))
            if name.startswith("down_blocks.") and name.count(".") == 1:
                def on_down(mod, args, out):
                    skips = out[1] if isinstance(out, tuple) and len(out) > 1 else ()
                    trace.skip_bytes += sum(_nbytes(t) for t in skips)

                handles.append(module.register_forward_hook(on_down))
    try:
        with torch.device("meta"):
            if training:
                with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                    run()
            else:
                with torch.no_grad():
                    run()
    finally:
        for handle in handles:
            handle.remove()
    return trace


def _weights_bytes(module, dtype) -> int:
    import torch

    size = torch.empty((), dtype=dtype).element_size()
    return sum(p.numel() for p in module.parameters()) * size


def svd_unet_inputs(unet, *, batch: int, frames: int, latent_hw: tuple[int, int], dtype,
                    tokens: int, requires_grad: bool):
    """Meta inputs for an SVD UNet forward: ``(args, kwargs)``."""
    import torch

    h, w = latent_hw
    cfg = unet.config
    sample = torch.empty(batch, frames, cfg.in_channels, h, w, device="meta", dtype=dtype)
    context = torch.empty(batch, tokens, cfg.cross_attention_dim, device="meta", dtype=dtype,
                          requires_grad=requires_grad)
    ids = torch.empty(batch, 3, device="meta", dtype=dtype)
    return (sample, torch.ones(batch, device="meta"), context, ids), {}


def estimate_svd_learning(unet, vae, image_encoder, *, frames: int, latent_hw: tuple[int, int],
                          dtype, tokens_per_frame: int, policy: str | MemoryPolicy) -> VramEstimate:
    """Estimated peak bytes of learning a motion on an SVD model under ``policy``."""
    policy = get_policy(policy)
    unet_meta = meta_copy(unet, dtype)
    args, kwargs = svd_unet_inputs(unet_meta, batch=1, frames=frames, latent_hw=latent_hw,
                                   dtype=dtype, tokens=tokens_per_frame, requires_grad=True)
    segment_of = policy.checkpoint_predicate()
    trace = _trace(unet_meta, lambda: unet_meta(*args, **kwargs), segment_of, training=True)
    if segment_of is None:
        saved = trace.outside + sum(trace.segment_saved.values())
        working = saved // 10  # gradient buffers of the first layers the backward pass reaches
    else:
        saved = trace.outside + sum(trace.segment_inputs.values())
        working = 2 * max([*trace.segment_saved.values(), 0])
    unet_w = _weights_bytes(unet, dtype)
    parts = {"unet weights": unet_w, "saved activations": saved, "recompute/gradients": working}
    if policy.offload == "none":
        parts["vae + image encoder weights"] = (_weights_bytes(vae, dtype)
                                                + _weights_bytes(image_encoder, dtype))
    return VramEstimate(policy.name, sum(parts.values()), parts)


def estimate_svd_generation(unet, vae, image_encoder, *, frames: int,
                            latent_hw: tuple[int, int], dtype, guidance: bool,
                            policy: str | MemoryPolicy) -> VramEstimate:
    """Estimated peak bytes of generating ``frames`` frames with an SVD model."""
    import torch

    policy = get_policy(policy)
    batch = 2 if guidance else 1
    unet_meta = meta_copy(unet, dtype)
    args, kwargs = svd_unet_inputs(unet_meta, batch=batch, frames=frames, latent_hw=latent_hw,
                                   dtype=dtype, tokens=1, requires_grad=False)
    trace = _trace(unet_meta, lambda: unet_meta(*args, **kwargs), None, training=False)
    factor = 2 if policy.forward_chunking else 4
    unet_act = trace.skip_bytes + factor * trace.largest_output
    vae_dtype = torch.float32 if (dtype == torch.float16 and vae.config.get("force_upcast")
                                  ) else dtype
    vae_meta = meta_copy(vae, vae_dtype)
    chunk = min(policy.vae_chunk or frames, frames)
    latents = torch.empty(chunk, vae.config.latent_channels, *latent_hw, device="meta",
                          dtype=vae_dtype)
    vae_trace = _trace(vae_meta, lambda: vae_meta.decode(latents, num_frames=chunk), None,
                       training=False)
    vae_act = 4 * vae_trace.largest_output
    unet_w = _weights_bytes(unet, dtype)
    vae_w = _weights_bytes(vae, vae_dtype)
    enc_w = _weights_bytes(image_encoder, dtype)
    if policy.offload == "none":
        peak = unet_w + vae_w + enc_w + max(unet_act, vae_act)
        parts = {"weights": unet_w + vae_w + enc_w, "activations": max(unet_act, vae_act)}
    else:
        peak = max(unet_w + unet_act, vae_w + vae_act)
        parts = {"unet weights + activations": unet_w + unet_act,
                 "vae weights + decode": vae_w + vae_act}
    return VramEstimate(policy.name, peak, parts)


def _saved_for_backward(trace: _Trace, checkpointed: bool) -> int:
    """Bytes a backward pass holds: saved tensors (or, for recomputed blocks, their inputs
    plus the largest block's activations and gradients while it is recomputed)."""
    if not checkpointed:
        saved = trace.outside + sum(trace.segment_saved.values())
        return saved + saved // 10
    return (trace.outside + sum(trace.segment_inputs.values())
            + 2 * max([*trace.segment_saved.values(), 0]))


def _sd_unet_inputs(unet, batch: int, latent_hw: tuple[int, int], dtype, tokens: int,
                    requires_grad: bool):
    import torch

    h, w = latent_hw
    cfg = unet.config
    sample = torch.empty(batch, cfg.in_channels, h, w, device="meta", dtype=dtype,
                         requires_grad=requires_grad)
    context = torch.empty(batch, tokens, cfg.cross_attention_dim, device="meta", dtype=dtype)
    return sample, torch.ones(batch, device="meta"), context


def _lora_parameters(unet, rank: int, targets: tuple[str, ...]) -> int:
    count = 0
    for name, module in unet.named_modules():
        if any(name.endswith("." + t) for t in targets) and hasattr(module, "in_features"):
            count += rank * (module.in_features + module.out_features)
    return count


def _generation_pass(unet_meta, batch: int, latent_hw, dtype, tokens: int, chunked: bool,
                     watch: str | None = None) -> tuple[int, tuple[int, ...] | None]:
    """Activation bytes of a no-grad UNet pass of ``batch`` latents (skip connections plus the
    largest output, twice over with feed-forward chunking, else four times) and the output
    shape of module ``watch``."""
    sample, t, context = _sd_unet_inputs(unet_meta, batch, latent_hw, dtype, tokens,
                                         requires_grad=False)
    seen: dict[str, tuple[int, ...]] = {}
    handle = None
    if watch is not None:
        def keep(mod, args, out):
            seen["shape"] = tuple((out[0] if isinstance(out, tuple) else out).shape)

        handle = unet_meta.get_submodule(watch).register_forward_hook(keep)
    try:
        trace = _trace(unet_meta, lambda: unet_meta(sample, t, encoder_hidden_states=context),
                       None, training=False)
    finally:
        if handle is not None:
            handle.remove()
    return trace.skip_bytes + (2 if chunked else 4) * trace.largest_output, seen.get("shape")


def estimate_dift(unet, *, latent_hw: tuple[int, int], dtype, chunk: int, block: int = 1,
                  tokens: int = 77, chunked: bool = False, matching_elements: int = 0,
                  unet_meta=None) -> dict[str, int]:
    """Bytes of the DIFT point propagation of a drag (beyond the weights), which streams the
    clip ``chunk`` frames at a time (``motionwright.methods.dragavideo.dift``): ``"dift
    features"``: fp32 features of decoder block ``block`` for three chunks (the chunk kept
    while the next is computed, that one's sum over the noise draws and one UNet output:
    ``3 · chunk · C · h' · w' · 4``; SD 1.5 at 512²: 1280 × 32 × 32, 5.2 MB a frame);
    ``"dift unet pass"``: one no-grad UNet pass of ``chunk`` latents; ``"dift matching"``: the
    fp32 features the refinement samples at once (``matching_elements``, a fixed budget, with
    their normalised copy and products). None of it grows with the clip."""
    unet_meta = unet_meta if unet_meta is not None else meta_copy(unet, dtype)
    name = f"up_blocks.{min(block, len(unet_meta.up_blocks) - 1)}"
    act, shape = _generation_pass(unet_meta, chunk, latent_hw, dtype, tokens, chunked, name)
    per_frame = 4 * int(shape[1]) * int(shape[2]) * int(shape[3])
    return {"dift features": 3 * chunk * per_frame, "dift unet pass": act,
            "dift matching": 3 * 4 * matching_elements}


def drag_bytes_per_frame(latent_hw: tuple[int, int], dtype, levels: int) -> int:
    """Device bytes a drag holds for each frame it processes, whatever the phase: the inverted
    latents of the offset levels and the clean one at ``dtype``, the fp32 offsets with their
    gradients and Adam's two moments, and the fp32 mask of the latent cells outside the edit."""
    import torch

    h, w = latent_hw
    elem = torch.empty((), dtype=dtype).element_size()
    lat = 4 * h * w
    return lat * (levels + 1) * elem + lat * levels * 4 * 4 + h * w * 4


def estimate_drag(unet, vae, text_encoder, *, frames: int, latent_hw: tuple[int, int], dtype,
                  policy: str | MemoryPolicy, frame_batch: int, levels: int = 4,
                  tokens: int = 77, lora: bool = False, lora_batch: int = 4,
                  lora_rank: int = 16, cross_frame: bool = True,
                  lora_targets: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0"),
                  dift_chunk: int | None = None, dift_block: int = 1,
                  dift_matching_elements: int = 0, points: int = 9,
                  point_samples: int = 23) -> VramEstimate:
    """Estimated peak bytes of a Drag-A-Video run on an SD 1.5 model under ``policy``.

    ``frames``: frames the diffusion processes; ``latent_hw``: the latent size of the model
    working size; ``frame_batch``: frames per UNet call while dragging (one call holds
    ``levels · frame_batch`` latents, forward and backward, with gradients to the inputs only).
    Counted: UNet weights (always on the device); the largest of the drag pass, the LoRA
    training pass (batch ``lora_batch``, gradients to the attention projections, when
    ``lora``), the denoising pass (``2 · frames`` latents with ``cross_frame``, no gradients)
    and the VAE at ``policy.vae_chunk`` frames, and with ``dift_chunk`` the DIFT propagation
    (:func:`estimate_dift`); text encoder and VAE weights stay resident only under
    ``offload="none"``; per processed frame, :func:`drag_bytes_per_frame`. The drag phase
    also holds, per processed frame, the fp32 features the tracking samples for each of the
    ``points`` handle points at every level: ``point_samples`` of them (the reference, the Δp
    candidates and the loss patch: 1 + 13 + 9 by default), the samples of one iteration
    gathered once and concatenated once.
    """
    import torch

    policy = get_policy(policy)
    frame_batch = max(1, min(frame_batch, frames))
    unet_meta = meta_copy(unet, dtype)
    segment_of = policy.checkpoint_predicate()
    sample, t, context = _sd_unet_inputs(unet_meta, levels * frame_batch, latent_hw, dtype,
                                         tokens, requires_grad=True)
    trace = _trace(unet_meta, lambda: unet_meta(sample, t, encoder_hidden_states=context),
                   segment_of, training=True)
    drag = _saved_for_backward(trace, segment_of is not None)
    n_up = len(unet.config.block_out_channels)
    channels = list(reversed(unet.config.block_out_channels))[max(0, n_up - 2)]
    drag += frames * points * levels * channels * 4 * (2 * point_samples - 1)
    lora_pass = lora_w = 0
    if lora:
        for name, p in unet_meta.named_parameters():
            if any(f".{target}." in f".{name}" for target in lora_targets):
                p.requires_grad_(True)
        batch = max(1, min(lora_batch, frames))
        sample, t, context = _sd_unet_inputs(unet_meta, batch, latent_hw, dtype, tokens,
                                             requires_grad=False)
        trace = _trace(unet_meta, lambda: unet_meta(sample, t, encoder_hidden_states=context),
                       segment_of, training=True)
        lora_pass = _saved_for_backward(trace, segment_of is not None)
        unet_meta.requires_grad_(False)
        # fp32 adapter weights, gradients and AdamW's two moments.
        lora_w = 16 * _lora_parameters(unet, lora_rank, lora_targets)
    batch = 2 * frames if cross_frame else frame_batch
    denoise, _ = _generation_pass(unet_meta, batch, latent_hw, dtype, tokens,
                                  policy.forward_chunking)
    # The two branches' latents, their concatenation and the noise predicted for it.
    elem = torch.empty((), dtype=dtype).element_size()
    denoise += 3 * batch * 4 * latent_hw[0] * latent_hw[1] * elem
    vae_meta = meta_copy(vae, dtype)
    chunk = min(policy.vae_chunk or frames, frames)
    latents = torch.empty(chunk, vae.config.latent_channels, *latent_hw, device="meta",
                          dtype=dtype)
    vae_trace = _trace(vae_meta, lambda: vae_meta.decode(latents), None, training=False)
    vae_act = 4 * vae_trace.largest_output
    state = frames * drag_bytes_per_frame(latent_hw, dtype, levels)
    unet_w = _weights_bytes(unet, dtype)
    te_w = _weights_bytes(text_encoder, dtype) if text_encoder is not None else 0
    vae_w = _weights_bytes(vae, dtype)
    resident = te_w + vae_w if policy.offload == "none" else 0
    phases = {"drag forward+backward": drag, "denoise": denoise,
              "vae": vae_act + (0 if resident else vae_w), "text encoder": 0 if resident else te_w}
    if lora:
        phases["lora training"] = lora_pass
    if dift_chunk:
        dift = estimate_dift(unet, latent_hw=latent_hw, dtype=dtype,
                             chunk=max(1, min(dift_chunk, frames)), block=dift_block,
                             tokens=tokens, chunked=policy.forward_chunking,
                             matching_elements=dift_matching_elements, unet_meta=unet_meta)
        phases["dift propagation"] = sum(dift.values())
    top = max(phases, key=phases.get)
    parts = {"unet weights": unet_w, "latents + optimiser": state + lora_w}
    if resident:
        parts["text encoder + vae weights"] = resident
    parts[top] = phases[top]
    return VramEstimate(policy.name, sum(parts.values()), parts, phases)
