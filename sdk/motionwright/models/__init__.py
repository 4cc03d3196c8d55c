"""The diffusion runtime shared by every method: model store, loading, device and memory.

- :mod:`.families` — the model families (``svd``, ``sd15``, ``animatediff``, ``zeroscope``,
  ``cogvideox``) and what a complete model of each holds;
- :mod:`.store` / :mod:`.config` — which local weights serve each family (``--model``, the
  ``MOTIONWRIGHT_MODEL_<FAMILY>`` / ``MOTIONWRIGHT_MODELS`` variables, ``config.toml``);
- :mod:`.layout` — checking a folder or single file against a family without reading weights;
- :mod:`.loading` — loading a pipeline offline (:func:`load_model`, :class:`Models`);
- :mod:`.device`, :mod:`.memory`, :mod:`.estimate`, :mod:`.oom` — device and dtype choice,
  memory policies, VRAM estimates, out-of-memory messages;
- :mod:`.hooks` — attention processors, forward hooks and activation checkpointing on
  diffusers' own model classes;
- :mod:`.callbacks` — per-step progress and cancellation for diffusers pipelines.

Importing this package needs no torch; the names below resolve on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FAMILIES": "families",
    "Family": "families",
    "get_family": "families",
    "ModelSpec": "store",
    "ModelStore": "store",
    "resolve_model": "store",
    "configured_models": "store",
    "LoadedModel": "loading",
    "Models": "loading",
    "load_model": "loading",
    "check_model": "loading",
    "MemoryPolicy": "memory",
    "POLICIES": "memory",
    "get_policy": "memory",
    "choose_policy": "memory",
    "select_device": "device",
    "select_dtype": "device",
    "enforce_offline": "offline",
    "ModelNotFoundError": "errors",
    "ModelMismatchError": "errors",
    "OutOfMemoryError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'motionwright.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
