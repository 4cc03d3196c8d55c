"""Building render-server job requests (the dict form of ``docs/bridge.md``) from SDK objects."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInputError


def request_for(source_path: str | os.PathLike, edits: Any, *, start: int = 0,
                stop: int | None = None, backend: str = "preview",
                models: Mapping[str, str | os.PathLike] | None = None,
                output: Mapping[str, Any] | None = None, label: str | None = None) -> dict:
    """A job request rendering ``edits`` on frames ``[start, stop)`` of the media file
    ``source_path`` (``stop`` None: to its end).

    ``edits``: one SDK edit or a list of them, with frame numbers relative to ``start`` (as
    for ``mw.render(clip[start:stop], edits)``). ``models``: ``{family: path}`` for the
    diffusion backend. ``output``: ``{"sample": "uint8"|"uint16"|"float32", "file":
    {"path": ..., "codec": ...}}`` or None. The server validates everything again.
    """
    from ..rendering import _as_edit_list

    path = os.path.abspath(os.fspath(source_path))
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise InvalidInputError(f"start: expected a frame index (0 or more), got {start!r}")
    if stop is not None and (isinstance(stop, bool) or not isinstance(stop, int)
                             or stop <= start):
        raise InvalidInputError(f"stop: expected a frame index above start ({start}) or None, "
                                f"got {stop!r}")
    base_dir = os.path.dirname(path)
    source: dict[str, Any] = {"path": path, "start": start}
    if stop is not None:
        source["stop"] = stop
    request: dict[str, Any] = {
        "source": source,
        "edits": [edit.to_dict(base_dir) for edit in _as_edit_list(edits)],
        "backend": backend,
    }
    if models is not None:
        if not isinstance(models, Mapping):
            raise InvalidInputError(
                f"models: expected a mapping of model family to path, e.g. "
                f"{{'sd15': '/models/sd15'}}, got {models!r}")
        request["models"] = {str(k): os.path.abspath(os.fspath(v)) for k, v in models.items()}
    if output is not None:
        request["output"] = dict(output)
    if label is not None:
        request["label"] = label
    return request
