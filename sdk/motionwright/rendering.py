"""``mw.render``: the one call that renders edits, for the CLI, the editor, the bridge and scripts.

It validates the clip and the edits against each other, then hands them to a backend module
loaded on first use:

- ``"preview"``: CPU approximations of each edit, no weights (``motionwright.preview``);
- ``"diffusion"``: the papers' methods on local diffusion models (``motionwright.methods``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import BackendUnavailableError, InvalidInputError

BACKENDS = {
    "preview": "motionwright.preview.backend",
    "diffusion": "motionwright.methods.backend",
}


def _as_edit_list(edits: Any) -> list:
    from .edits import EDIT_TYPES

    edit_types = tuple(EDIT_TYPES.values())
    items = [edits] if isinstance(edits, edit_types) else edits
    if not isinstance(items, Iterable) or isinstance(items, str | bytes):
        raise InvalidInputError(f"edits: expected an edit or a list of edits, got {edits!r}")
    items = list(items)
    for i, edit in enumerate(items):
        if not isinstance(edit, edit_types):
            names = ", ".join(t.__name__ for t in edit_types)
            raise InvalidInputError(f"edits[{i}]: expected one of {names}, got {edit!r}")
    if not items:
        raise InvalidInputError("edits: expected at least one edit, got an empty list")
    return items


def load_backend(backend: str):
    """Import and return the backend module named ``backend``."""
    if backend not in BACKENDS:
        raise InvalidInputError(
            f"backend: expected one of {', '.join(sorted(BACKENDS))}, got {backend!r}"
        )
    try:
        return importlib.import_module(BACKENDS[backend])
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("motionwright"):
            raise BackendUnavailableError(
                f"the {backend!r} backend is not part of this Motionwright build"
            ) from exc
        raise


def render(clip, edits: Sequence | Any, *, backend: str = "preview", models: Any = None,
           progress=None, cancel=None):
    """Render ``edits`` on ``clip`` and return the result as a :class:`~motionwright.Clip`.

    ``edits`` is one edit or a list of them (applied in order). ``progress`` receives
    :class:`~motionwright.progress.ProgressEvent` s; ``cancel`` (a
    :class:`~motionwright.progress.CancelToken` or callable) stops the render with
    :class:`~motionwright.errors.Cancelled`. ``models`` selects diffusion models (see
    ``motionwright.models``) and is ignored by the preview backend. The preview backend returns a
    lazy clip whose frames are computed as they are read; save or iterate it to render.
    """
    items, module = _checked(clip, edits, backend)
    if backend == "preview":
        return module.render(clip, items, progress=progress, cancel=cancel)
    return module.render(clip, items, models=models, progress=progress, cancel=cancel)


def check_render(clip, edits: Sequence | Any, *, backend: str = "preview",
                 models: Any = None) -> None:
    """Check, without rendering and without loading weights, that :func:`render` with the same
    arguments can start: the edits fit the clip, the backend renders them and (diffusion) every
    model family they need is configured with all its files on disk. Raises the error
    :func:`render` would raise, e.g. :class:`~motionwright.models.ModelNotFoundError` naming the
    family (``sd15`` for a DragEdit, ``svd`` for a MotionTransfer) and the command that adds it.
    """
    items, module = _checked(clip, edits, backend)
    preflight = getattr(module, "preflight", None)
    if preflight is not None:
        preflight(items, models=models)


def _checked(clip, edits: Any, backend: str) -> tuple[list, Any]:
    """The edit list (checked against ``clip``) and the backend module."""
    from .clip import Clip

    if not isinstance(clip, Clip):
        raise InvalidInputError(f"clip: expected a motionwright Clip, got {type(clip).__name__}")
    items = _as_edit_list(edits)
    for i, edit in enumerate(items):
        edit.check_against(len(clip), clip.size, name=f"edits[{i}]")
    return items, load_backend(backend)
