"""Turning an accelerator out-of-memory error into a clear message with the policy to try."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .errors import OutOfMemoryError
from .memory import MemoryPolicy, format_bytes, smaller_policy


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a CUDA / MPS / allocator out-of-memory error."""
    if type(exc).__name__ == "OutOfMemoryError" and not isinstance(exc, OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text
                                              or "mps backend out of memory" in text)


def oom_message(what: str, policy: MemoryPolicy, device) -> str:
    """The one-line message for running out of memory during ``what`` under ``policy``."""
    used = ""
    try:
        import torch

        if getattr(device, "type", None) == "cuda":
            peak = torch.cuda.max_memory_allocated(device)
            total = torch.cuda.get_device_properties(device).total_memory
            used = f" (peak {format_bytes(peak)} of {format_bytes(total)})"
    except Exception:  # reporting must never hide the original problem
        used = ""
    nxt = smaller_policy(policy)
    advice = (f"try --memory {nxt.name}" if nxt is not None
              else "use a smaller --size or fewer frames, or close other programs using the GPU")
    return (f"{device} ran out of memory while {what} with the {policy.name} memory policy"
            f"{used}; {advice}")


@contextlib.contextmanager
def translate_oom(what: str, policy: MemoryPolicy, device) -> Iterator[None]:
    """Re-raise accelerator out-of-memory errors in the block as :class:`OutOfMemoryError`."""
    try:
        yield
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:
            pass
        raise OutOfMemoryError(oom_message(what, policy, device)) from exc
