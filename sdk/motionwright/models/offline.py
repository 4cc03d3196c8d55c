"""Offline mode for huggingface_hub, transformers and diffusers: nothing is ever downloaded.

:func:`enforce_offline` sets the environment variables those libraries read and, when they are
already imported, flips the module-level flags they copied at import time. Every loader also
passes ``local_files_only=True`` and only local paths, so a missing file is an error, never a
download.
"""

from __future__ import annotations

import os
import sys

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}

# Modules that copy ``HF_HUB_OFFLINE`` into their own namespace when imported.
_FLAG_MODULES = (
    "huggingface_hub.constants",
    "diffusers.utils.hub_utils",
    "diffusers.utils.constants",
    "diffusers.loaders.lora_base",
    "diffusers.models.attention_dispatch",
    "transformers.utils.hub",
)


def enforce_offline() -> None:
    """Put huggingface_hub, transformers and diffusers in offline mode for this process."""
    os.environ.update(OFFLINE_ENV)
    for name in _FLAG_MODULES:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "HF_HUB_OFFLINE"):
            module.HF_HUB_OFFLINE = True


def is_offline() -> bool:
    """Whether the hub libraries would refuse network access now."""
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        return False
    constants = sys.modules.get("huggingface_hub.constants")
    return constants is None or bool(getattr(constants, "HF_HUB_OFFLINE", True))
