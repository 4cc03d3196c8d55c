"""The CPU preview renderer, the backend a fresh install renders with.

:func:`~.backend.render` (reached through ``mw.render(..., backend="preview")``) renders drags
and trajectory edits classically — objects and regions moved as one piece (:mod:`.layers`,
the dragged object found by :mod:`.objects`), moving-least-squares deformation around anchors
(:mod:`.mls`, :mod:`.composite`), hole filling (:mod:`.fill`) — and shows other edits as
overlays (:mod:`.overlay`). :mod:`.compare` makes side-by-side and overlay clips.
"""
