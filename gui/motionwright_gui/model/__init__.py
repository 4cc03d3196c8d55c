"""The editor's Qt-free, evented model: document, playhead, tools, undo, frames and jobs."""

from .editor import TIMINGS, TOOLS, EditorModel, Snapshot, sam_available
from .events import Signal
from .explain import Explanation, explain
from .frames import FrameCache, FrameLoader
from .jobs import Job, JobQueue
from .recovery import Recovery
from .tools import ToolController
from .undo import Command, UndoStack

__all__ = ["TIMINGS", "TOOLS", "Command", "EditorModel", "Explanation", "FrameCache",
           "FrameLoader", "Job", "JobQueue", "Recovery", "Signal", "Snapshot", "ToolController",
           "UndoStack", "explain", "sam_available"]
