"""The CPU preview renderer, the backend a fresh install renders with.

:func:`~.backend.render` (reached through ``mw.render(..., backend="preview")``) renders drags
and trajectory edits classically — moving-least-squares deformation (:mod:`.mls`), hole filling
(:mod:`.fill`), feathered compositing (:mod:`.composite`) — and shows other edits as overlays
(:mod:`.overlay`). :mod:`.compare` makes side-by-side and overlay clips.
"""
