"""Memory policies: how much of a model sits on the GPU and how much work is recomputed.

Three named policies, fastest first:

- ``gpu``: every component on the accelerator, nothing recomputed, the VAE decodes all frames
  at once. Fastest; needs the most memory.
- ``balanced``: only the component at work sits on the GPU (model CPU offload); learning
  recomputes the transformer blocks in the backward pass; the VAE works 4 frames at a time.
- ``lowvram``: as ``balanced``, and learning recomputes every transformer and residual block;
  the VAE works one frame at a time and feed-forward layers run in chunks.

``attention`` picks the attention kernel: ``sdpa`` (PyTorch chooses), ``flash``,
``efficient`` (memory-efficient SDPA) or ``math`` (plain matmuls, for debugging).
:func:`choose_policy` takes a VRAM estimate per policy and picks the fastest that fits.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InvalidInputError
from .errors import OutOfMemoryError

ATTENTION_BACKENDS = ("sdpa", "flash", "efficient", "math")
TRANSFORMER_BLOCKS = ("BasicTransformerBlock", "TemporalBasicTransformerBlock",
                      "CogVideoXBlock", "FreeNoiseTransformerBlock")
RESIDUAL_BLOCKS = ("SpatioTemporalResBlock", "ResnetBlock2D", "TemporalConvLayer")
GIB = 1024 ** 3


@dataclass(frozen=True)
class MemoryPolicy:
    """How a run uses accelerator memory.

    ``offload``: ``"none"`` (all components on the device), ``"model"`` (only the component at
    work), ``"sequential"`` (layer by layer, slowest). ``checkpointing``: what learning
    recomputes in the backward pass (``"none"``, ``"transformers"``, ``"all"``). ``vae_chunk``:
    frames per VAE call (None = all). ``forward_chunking``: run feed-forward layers in chunks.
    ``attention``: one of :data:`ATTENTION_BACKENDS`.
    """

    name: str
    offload: str = "none"
    checkpointing: str = "none"
    vae_chunk: int | None = None
    forward_chunking: bool = False
    attention: str = "sdpa"

    def __post_init__(self) -> None:
        if self.offload not in ("none", "model", "sequential"):
            raise InvalidInputError(f"offload: expected none, model or sequential, "
                                    f"got {self.offload!r}")
        if self.checkpointing not in ("none", "transformers", "all"):
            raise InvalidInputError(f"checkpointing: expected none, transformers or all, "
                                    f"got {self.checkpointing!r}")
        if self.attention not in ATTENTION_BACKENDS:
            raise InvalidInputError(f"attention: expected one of {', '.join(ATTENTION_BACKENDS)}, "
                                    f"got {self.attention!r}")
        if self.vae_chunk is not None and self.vae_chunk < 1:
            raise InvalidInputError(f"vae_chunk: expected a positive frame count, "
                                    f"got {self.vae_chunk}")

    def with_attention(self, attention: str) -> MemoryPolicy:
        """The same policy with another attention backend."""
        return replace(self, attention=attention)

    def checkpoint_predicate(self) -> Callable[[str, Any], bool] | None:
        """Which modules learning recomputes under this policy (None: nothing)."""
        if self.checkpointing == "none":
            return None
        names = set(TRANSFORMER_BLOCKS)
        if self.checkpointing == "all":
            names |= set(RESIDUAL_BLOCKS)
        return lambda _name, module: type(module).__name__ in names


POLICIES: dict[str, MemoryPolicy] = {
    "gpu": MemoryPolicy("gpu"),
    "balanced": MemoryPolicy("balanced", offload="model", checkpointing="transformers",
                             vae_chunk=4),
    "lowvram": MemoryPolicy("lowvram", offload="model", checkpointing="all", vae_chunk=1,
                            forward_chunking=True),
}
ORDER = ("gpu", "balanced", "lowvram")


def get_policy(policy: str | MemoryPolicy) -> MemoryPolicy:
    """A policy by name (``gpu``, ``balanced``, ``lowvram``) or as given."""
    if isinstance(policy, MemoryPolicy):
        return policy
    key = str(policy).strip().lower()
    if key not in POLICIES:
        raise InvalidInputError(
            f"memory: expected auto, {', '.join(ORDER)}, got {policy!r}"
        )
    return POLICIES[key]


def smaller_policy(policy: MemoryPolicy) -> MemoryPolicy | None:
    """The next policy that uses less memory than ``policy`` (None after ``lowvram``)."""
    if policy.name in ORDER:
        index = ORDER.index(policy.name)
        if index + 1 < len(ORDER):
            return POLICIES[ORDER[index + 1]]
    return None


def format_bytes(n: int | float) -> str:
    """``n`` bytes as GiB (or MiB when small), e.g. ``"17.3 GiB"``."""
    if n >= GIB / 2:
        return f"{n / GIB:.1f} GiB"
    return f"{n / 1024 ** 2:.0f} MiB"


def choose_policy(estimates: dict[str, int], free: int | None, requested: str | MemoryPolicy =
                  "auto", *, what: str = "this run", device: str = "the GPU",
                  headroom: float = 0.9) -> MemoryPolicy:
    """Pick a policy from ``estimates`` (policy name -> peak bytes) for ``free`` bytes.

    ``requested="auto"`` returns the fastest policy whose estimate fits in ``headroom`` of
    ``free``; none fitting raises :class:`OutOfMemoryError` saying what the smallest needs.
    An explicit policy that does not fit is kept, with a warning naming one that would.
    ``free=None`` (the CPU) takes the ``gpu`` policy: everything stays on the one device.
    """
    if free is None:
        return get_policy("gpu") if requested == "auto" else get_policy(requested)
    budget = free * headroom
    fitting = [name for name in ORDER if name in estimates and estimates[name] <= budget]
    if requested != "auto":
        policy = get_policy(requested)
        need = estimates.get(policy.name)
        if need is not None and need > budget:
            hint = ""
            if fitting:
                hint = (f"; the {fitting[0]} policy would fit "
                        f"(about {format_bytes(estimates[fitting[0]])})")
            warnings.warn(
                f"{what} with the {policy.name} memory policy needs about {format_bytes(need)} "
                f"but {device} has {format_bytes(free)} free{hint}", stacklevel=2)
        return policy
    if fitting:
        return POLICIES[fitting[0]]
    smallest = min(estimates.items(), key=lambda kv: kv[1])
    raise OutOfMemoryError(
        f"{what} needs about {format_bytes(smallest[1])} even with the {smallest[0]} memory "
        f"policy, but {device} has {format_bytes(free)} free; use a smaller --size or fewer "
        f"frames, or free the GPU"
    )


@contextlib.contextmanager
def attention_backend(model, policy: MemoryPolicy) -> Iterator[None]:
    """Run ``model``'s attention with ``policy.attention`` while the block runs."""
    if policy.attention == "math":
        from diffusers.models.attention_processor import AttnProcessor

        originals = dict(model.attn_processors)
        model.set_attn_processor(AttnProcessor())
        try:
            yield
        finally:
            model.set_attn_processor(originals)
        return
    if policy.attention in ("flash", "efficient"):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        backend = (SDPBackend.FLASH_ATTENTION if policy.attention == "flash"
                   else SDPBackend.EFFICIENT_ATTENTION)
        with sdpa_kernel([backend, SDPBackend.MATH]):
            yield
        return
    yield
