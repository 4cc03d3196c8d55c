"""The SAM click tool: clicks on a frame become a mask through ``mw.segment`` (no Qt).

Clicks (``(x, y, label)`` in frame pixels, label 1 keep / 0 exclude) and the mask they give
are part of the editor's undoable document (:class:`~motionwright_gui.model.document.Snapshot`
fields ``sam_clicks``, ``sam_frame``, ``sam_mask``). Segmenting runs as a background job;
one :class:`motionwright.models.Models` is kept so the model loads once and is reused.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import motionwright as mw

from .jobs import CANCELLED, FAILED, Job

if TYPE_CHECKING:
    from .editor import EditorModel

ADD_COMMAND = "motionwright models add sam PATH"
NOT_CONFIGURED = (f"SAM clicks need a `sam` model: run `{ADD_COMMAND}` (or set "
                  "MOTIONWRIGHT_MODEL_SAM). Use the polygon or brush tool meanwhile.")
CLICK_KIND = "sam-click"


def sam_status() -> tuple[bool, str]:
    """Whether a ``sam`` model is configured, and a sentence saying which or how to add one.

    Reads only the environment and the model store's config file (no weights, no torch).
    """
    from motionwright.models import ModelNotFoundError, resolve_model

    try:
        spec = resolve_model("sam")
    except ModelNotFoundError:
        return False, NOT_CONFIGURED
    except mw.errors.MotionwrightError as exc:
        return False, f"{exc}; fix it, or run `{ADD_COMMAND}`"
    if not Path(spec.path).exists():
        return False, (f"the configured sam model {spec.path} ({spec.source}) does not exist; "
                       f"run `{ADD_COMMAND}`")
    return True, (f"SAM clicks (model {spec.path}): click keeps, Alt+click or right-click "
                  "excludes")


def click_points(clicks: tuple, frame: int) -> mw.PointSet:
    """SAM ``clicks`` ``(x, y, label)`` on ``frame`` as a labelled PointSet ``(N, 2)``
    float32 with int64 labels (1 keep, 0 exclude)."""
    return mw.PointSet(np.array([c[:2] for c in clicks], np.float32), frame=frame,
                       labels=np.array([c[2] for c in clicks], np.int64))


class SamTool:
    """Runs the SAM tool of an :class:`EditorModel`: clicks, propagation and apply.

    ``pending`` holds the clicks of a segmentation still running on frame ``pending_frame``
    (for the viewer to draw); ``models`` is the shared loaded-model holder (None until the
    first click).
    """

    def __init__(self, model: EditorModel) -> None:
        self.model = model
        self.pending: tuple = ()
        self.pending_frame = 0
        self.models: Any = None
        self._warm: Any = None
        self._models_key: Any = None
        self._load_lock = threading.Lock()
        self._jobs: set[int] = set()
        model.jobs.changed.connect(self._on_job)

    # -- model loading ---------------------------------------------------------------------------
    def _shared_models(self) -> Any:
        """The Models holder for the configured sam model (new when the configuration
        changed); call on the UI thread."""
        from motionwright.models import Models, resolve_model

        spec = resolve_model("sam")
        key = (str(spec.path), str(spec.config))
        if self.models is None or key != self._models_key:
            self.models, self._models_key = Models({"sam": spec}), key
        return self.models

    def _loaded(self, models: Any) -> Any:
        with self._load_lock:
            models.get("sam")
        self._warm = models
        return models

    # -- clicks --------------------------------------------------------------------------------
    def clicks_here(self) -> tuple:
        """The committed clicks that belong to the playhead frame."""
        m = self.model
        return m.sam_clicks if m.sam_frame == m.playhead else ()

    def click(self, x: float, y: float, positive: bool = True) -> Job | None:
        """Add a click at frame pixel (x, y) on the playhead frame (``positive`` False: an
        exclude click) and segment with all of that frame's clicks in the background; the
        mask becomes :attr:`EditorModel.sam_mask` as one undoable step. Returns the job (None
        when nothing needs segmenting yet: only exclude clicks so far)."""
        m = self.model
        if m.clip is None:
            raise mw.errors.InvalidInputError("no clip is open; open a clip or project first")
        w, h = m.clip.size
        if not (-0.5 <= x <= w - 0.5 and -0.5 <= y <= h - 0.5):
            return None
        px, py = min(max(float(x), 0.0), w - 1.0), min(max(float(y), 0.0), h - 1.0)
        frame = m.playhead
        base = self.pending if self.pending and self.pending_frame == frame else \
            self.clicks_here()
        clicks = (*base, (px, py, 1 if positive else 0))
        text = "SAM click" if positive else "SAM exclude click"
        if not any(label == 1 for _, _, label in clicks):
            m.change(text, sam_clicks=clicks, sam_frame=frame, sam_mask=None)
            m.message.emit("SAM: add a click on the object (exclude clicks alone give no mask)")
            return None
        models = self._shared_models()
        clip = m.clip
        points = click_points(clicks, frame)
        first = self._warm is not models

        def work(progress: Any, cancel: Any) -> Any:
            loaded = self._loaded(models)
            return mw.segment(clip[frame], points, models=loaded)

        def done(mask: Any) -> None:
            if self.pending == clicks:
                self.pending = ()
            if m.clip is not clip:
                return
            committed = m.sam_clicks if m.sam_frame == frame else ()
            if len(clicks) <= len(committed) or tuple(clicks[:len(committed)]) != committed:
                return
            m.change(text, sam_clicks=clicks, sam_frame=frame, sam_mask=mask)

        self.pending, self.pending_frame = clicks, frame
        m.draft_changed.emit()
        if first:
            m.message.emit("SAM: loading the model (first click)…")
        job = Job(text, CLICK_KIND, work, done, family="sam")
        self._jobs.add(job.id)
        return m.jobs.submit(job, serial=False)

    def _on_job(self, job: Job) -> None:
        if job.id not in self._jobs or job.active:
            return
        self._jobs.discard(job.id)
        if job.state in (FAILED, CANCELLED) and job.kind == CLICK_KIND:
            self.pending = ()
            self.model.draft_changed.emit()

    def clear(self) -> None:
        """Drop the clicks and the SAM mask (undoable)."""
        self.pending = ()
        self.model.change("Clear SAM clicks", sam_clicks=(), sam_mask=None)

    # -- propagate and apply ---------------------------------------------------------------------
    def propagate(self) -> Job:
        """Carry the clicks through the whole clip with ``segment_clip`` as a background job
        (progress, cancel); the animated mask ``(T, H, W)`` replaces :attr:`sam_mask`
        (undoable)."""
        m = self.model
        clicks, frame = m.sam_clicks, m.sam_frame
        if not any(label == 1 for _, _, label in clicks):
            raise mw.errors.InvalidInputError(
                "points: no SAM click to propagate; click on the object with the SAM tool first")
        models = self._shared_models()
        clip = m.clip
        points = click_points(clicks, frame)

        def work(progress: Any, cancel: Any) -> Any:
            loaded = self._loaded(models)
            return mw.segment_clip(clip, points, models=loaded,
                                                  progress=progress, cancel=cancel)

        def done(mask: Any) -> None:
            if m.clip is clip and m.sam_clicks == clicks and m.sam_frame == frame:
                m.change("Propagate SAM mask", sam_mask=mask)

        job = Job("Propagate SAM mask", "segment", work, done, family="sam")
        self._jobs.add(job.id)
        return m.jobs.submit(job, serial=False)

    def apply(self) -> None:
        """Make the SAM mask the selected edit's mask (else the draft mask for the next edit)
        and clear the clicks, as one undoable step."""
        m = self.model
        if m.sam_mask is None:
            raise mw.errors.InvalidInputError(
                "mask: no SAM mask yet; click on the object with the SAM tool first")
        m.set_mask(m.sam_mask, "Apply SAM mask", sam_clicks=(), sam_mask=None)
