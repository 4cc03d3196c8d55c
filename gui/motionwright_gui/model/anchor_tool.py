"""Point-to-Point anchor tokens in the editor: found before the GPU run, shown, edited (no Qt).

:meth:`AnchorTool.find` runs :func:`motionwright.anchor_tokens` on the current clip as a
background job; the viewer draws :meth:`AnchorTool.positions` on each frame; a click near an
anchor drops it, a click elsewhere adds the motion token nearest to it (:meth:`toggle`);
:meth:`render` renders the clip's :class:`~motionwright.PromptEdit` with these anchors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import motionwright as mw

from .events import Signal
from .jobs import Job

if TYPE_CHECKING:
    from .editor import EditorModel


class AnchorTool:
    """The anchor tokens of the editor's current clip (None until found) and their edits."""

    def __init__(self, model: EditorModel, models: Any = None) -> None:
        self.model = model
        self.models = models  # None: the configured animatediff model
        self.tokens: Any = None
        self.changed = Signal("anchors_changed")
        model.clip_changed.connect(self.clear)

    def clear(self) -> None:
        """Forget the anchors (another clip was opened)."""
        if self.tokens is not None:
            self.tokens = None
            self.changed.emit()

    def set_tokens(self, tokens: Any) -> None:
        """Show ``tokens`` (an :class:`~motionwright.AnchorTokens`, e.g. loaded from a file)."""
        self.tokens = tokens
        self.changed.emit()

    def _prompt_edit(self) -> Any:
        for edit in self.model.edits:
            if isinstance(edit, mw.PromptEdit):
                return edit
        return None

    def find(self) -> Job:
        """Find the anchors of the current clip in the background (the model loads on the
        worker; a missing ``animatediff`` model fails before the job is queued)."""
        from motionwright.models import resolve_model

        if self.model.clip is None:
            raise mw.errors.InvalidInputError("open a clip before finding anchors")
        if self.models is None:
            resolve_model("animatediff").layout()
        clip = self.model.clip
        edit = self._prompt_edit()
        prompt = edit.source_prompt if edit is not None else ""

        def work(progress: Any, cancel: Any) -> Any:
            return mw.anchor_tokens(clip, self.models, prompt=prompt, progress=progress,
                                    cancel=cancel)

        return self.model.jobs.submit(Job("Find anchor tokens", "anchors", work,
                                          self.set_tokens, family="animatediff"))

    def positions(self, frame: int) -> list[tuple[int, float, float]]:
        """``(token index, x, y)`` of every anchor visible on ``frame`` (clip pixels)."""
        if self.tokens is None:
            return []
        a = self.tokens.anchors
        row = frame - a.start_frame
        if not 0 <= row < a.num_frames:
            return []
        out = []
        for col, idx in enumerate(self.tokens.indices):
            if a.visible[row, col]:
                x, y = a.tracks[row, col]
                out.append((int(idx), float(x), float(y)))
        return out

    def toggle(self, frame: int, xy: tuple[float, float], radius: float = 6.0) -> str:
        """Drop the anchor within ``radius`` pixels of ``xy`` on ``frame``, or else add the
        motion token nearest to it; returns ``"dropped"``, ``"added"`` or ``"unchanged"``."""
        if self.tokens is None:
            raise mw.errors.InvalidInputError("find the anchors first (Find anchor tokens)")
        near = [(np.hypot(x - xy[0], y - xy[1]), idx) for idx, x, y in self.positions(frame)]
        near = [n for n in near if n[0] <= radius]
        indices = list(self.tokens.indices)
        if near:
            indices.remove(min(near)[1])
            result = "dropped"
        else:
            idx = self.tokens.nearest(frame, xy)
            if idx in indices:  # already an anchor (hidden on this frame): nothing to add
                return "unchanged"
            indices.append(idx)
            result = "added"
        self.tokens = self.tokens.with_indices(indices)
        self.changed.emit()
        return result

    def render(self) -> Job:
        """Render the clip's PromptEdit with the diffusion backend and these anchors (the
        first window's; later windows find their own) into the editor's render folder."""
        from motionwright.methods.pointtopoint import prompt_edit

        from .background import render_folder
        from .render_out import RenderResult, render_target, save_streaming

        edit = self._prompt_edit()
        if edit is None:
            raise mw.errors.InvalidInputError("add a prompt edit to the clip first")
        clip, tokens, models = self.model.clip, self.tokens, self.models
        name = Path(self.model.project.clip(self.model.clip_id).path).name.split(".")[0]
        path, codec = render_target(render_folder(self.model), f"{name or 'clip'}-prompt",
                                    clip.size, False)
        title = f"Render (Point-to-Point) → {path.name}"

        def work(progress: Any, cancel: Any) -> Any:
            out = prompt_edit(clip, edit, models, anchors=tokens, progress=progress,
                              cancel=cancel)
            written = save_streaming(out, path, codec, progress, cancel)
            return RenderResult(title, "diffusion", written, mw.Clip.open(written))

        def done(result: Any) -> None:
            self.model.results.append(result)
            self.model.result_ready.emit(result)

        return self.model.jobs.submit(Job(title, "render", work, done, family="animatediff"))
