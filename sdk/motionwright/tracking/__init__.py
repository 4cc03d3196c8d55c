"""Point tracking: follow points placed on one frame through a clip.

:func:`track` is the entry point (``mw.track``); :class:`TrackerOptions` tunes it;
:class:`PointTracker` is the frame-by-frame core on plain arrays and
:func:`chained_flow_tracks` the plain chained-flow baseline the benchmarks compare against.
"""

from .api import track
from .baseline import chained_flow_tracks
from .core import PointTracker, TrackerOptions, track_frames

__all__ = ["PointTracker", "TrackerOptions", "chained_flow_tracks", "track", "track_frames"]
