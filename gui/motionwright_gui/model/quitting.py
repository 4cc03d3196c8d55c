"""Closing the editor: unsaved changes and running jobs are asked about first (no Qt).

The questions go through an ``ask`` function (a dialog in the window, a stub in tests and
scripts) that gets a :class:`Question` and returns the key of the chosen answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .jobs import Job

if TYPE_CHECKING:
    from .editor import EditorModel

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"
CANCEL_JOBS, KEEP_WORKING = "cancel-jobs", "keep-working"
# Jobs the editor starts on its own; they are dropped on close without asking.
SILENT_KINDS = ("preview", "sam-click")


@dataclass(frozen=True)
class Question:
    """A question with ``choices``: ``(key, button text)`` pairs, the safe answer last (it is
    also what closing the dialog without choosing means)."""

    title: str
    text: str
    choices: tuple[tuple[str, str], ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The answer keys, in order."""
        return tuple(key for key, _ in self.choices)


Ask = Callable[[Question], str]


def close_anyway(question: Question) -> str:
    """An ``ask`` that always closes: discard unsaved changes, cancel running jobs (for
    scripts that take screenshots, and tests)."""
    return DISCARD if DISCARD in question.keys else CANCEL_JOBS


def running_jobs(model: EditorModel) -> list[Job]:
    """The user's jobs still queued or running (renders, tracking, learning, SAM
    propagation); the live preview, single SAM clicks and renders on the render server
    (which go on after the editor closes) are not counted."""
    return [j for j in model.jobs.active() if j.kind not in SILENT_KINDS and not j.remote]


def may_close(model: EditorModel, ask: Ask, save: Callable[[], bool]) -> bool:
    """Whether the editor may close now. Running jobs are asked about (cancel them and quit,
    or keep working), then unsaved changes (save, discard or cancel); ``save()`` saves and
    returns whether it did (False, e.g. when the user dismissed the file dialog, keeps the
    editor open). Nothing is cancelled here: the caller cancels the jobs once this says
    True."""
    jobs = running_jobs(model)
    if jobs:
        names = "\n".join(f"• {j.title}" for j in jobs[:5])
        more = f"\n… and {len(jobs) - 5} more" if len(jobs) > 5 else ""
        question = Question(
            "Jobs are running",
            f"{len(jobs)} job{'s' * (len(jobs) != 1)} still running:\n{names}{more}\n\n"
            "Quitting cancels them (a cancelled render leaves no file).",
            ((CANCEL_JOBS, "Cancel jobs and quit"), (KEEP_WORKING, "Keep working")))
        if ask(question) != CANCEL_JOBS:
            return False
    if model.dirty:
        name = Path(model.project.path).name if model.project.path else "this project"
        question = Question(
            "Unsaved changes",
            f"Save the changes to {name} before quitting?",
            ((SAVE, "Save"), (DISCARD, "Discard"), (CANCEL, "Cancel")))
        answer = ask(question)
        if answer == SAVE:
            return save()
        return answer == DISCARD
    return True
