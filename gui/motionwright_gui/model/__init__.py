"""The editor's Qt-free, evented model: document, playhead, tools, undo, frames and jobs."""

from . import edit_ops, playback
from .document import Snapshot
from .editor import TIMINGS, TOOLS, EditorModel, sam_available
from .events import Signal
from .explain import Explanation, explain
from .frames import FrameCache, FrameLoader
from .jobs import Job, JobQueue
from .recovery import Recovery
from .render_out import RenderResult, render_target, save_streaming
from .sam_tool import SamTool, sam_status
from .tools import ToolController
from .undo import Command, UndoStack

__all__ = ["TIMINGS", "TOOLS", "Command", "EditorModel", "Explanation", "FrameCache",
           "FrameLoader", "Job", "JobQueue", "Recovery", "RenderResult", "SamTool", "Signal",
           "Snapshot", "ToolController", "UndoStack", "edit_ops", "explain", "playback",
           "render_target", "sam_available", "sam_status", "save_streaming"]
