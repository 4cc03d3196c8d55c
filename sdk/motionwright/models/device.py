"""Choosing the device (cuda / mps / cpu) and the weight dtype (bf16 / fp16 / fp32)."""

from __future__ import annotations

from typing import Any

from ..errors import BackendUnavailableError, InvalidInputError

DEVICES = ("auto", "cuda", "mps", "cpu")
DTYPES = {"auto": None, "bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16",
          "float16": "float16", "half": "float16", "fp32": "float32", "float32": "float32"}


def select_device(requested: Any = "auto"):
    """A ``torch.device``: ``"auto"`` picks cuda, then mps, then cpu.

    ``"cuda:1"`` picks a GPU by index. Asking for an accelerator this machine lacks raises
    :class:`BackendUnavailableError` saying what is available.
    """
    import torch

    if isinstance(requested, torch.device):
        text = str(requested)
    else:
        text = str(requested or "auto").strip().lower()
    kind = text.split(":", 1)[0]
    if kind not in DEVICES:
        raise InvalidInputError(f"device: expected one of {', '.join(DEVICES)}, got {requested!r}")
    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if has_mps else "cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only torch build" if torch.version.cuda is None else "no visible GPU"
            raise BackendUnavailableError(
                f"device: 'cuda' was requested but this machine has {build}; "
                "use --device cpu or install a CUDA build of torch"
            )
        device = torch.device(text)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise BackendUnavailableError(
                f"device: {text!r} does not exist ({torch.cuda.device_count()} GPU(s) visible)"
            )
        return device
    if kind == "mps" and not has_mps:
        raise BackendUnavailableError("device: 'mps' was requested but Metal is not available; "
                                      "use --device cpu")
    return torch.device(text)


def select_dtype(requested: Any = "auto", device=None):
    """A ``torch.dtype``: ``"auto"`` is bf16 on GPUs that support it, else fp16 on accelerators,
    and fp32 on the CPU."""
    import torch

    if isinstance(requested, torch.dtype):
        return requested
    key = str(requested or "auto").strip().lower()
    if key not in DTYPES:
        raise InvalidInputError(f"dtype: expected bf16, fp16, fp32 or auto, got {requested!r}")
    if DTYPES[key] is not None:
        dtype = getattr(torch, DTYPES[key])
        if device is not None and torch.device(device).type == "cpu" and dtype == torch.float16:
            raise InvalidInputError("dtype: fp16 is not supported on the CPU; use fp32 or bf16")
        return dtype
    device = torch.device(device) if device is not None else select_device("auto")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def dtype_name(dtype) -> str:
    """``"bf16"``, ``"fp16"`` or ``"fp32"`` for a torch dtype (its str for others)."""
    import torch

    return {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}.get(
        dtype, str(dtype).replace("torch.", ""))


def memory_available(device) -> tuple[int, int] | None:
    """``(free, total)`` bytes of accelerator memory, or None on the CPU."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return int(free), int(total)
    if device.type == "mps" and hasattr(torch.mps, "recommended_max_memory"):
        total = int(torch.mps.recommended_max_memory())
        used = int(torch.mps.current_allocated_memory())
        return max(total - used, 0), total
    return None
