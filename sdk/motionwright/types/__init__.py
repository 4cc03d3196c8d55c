"""The typed value objects: points, tracks, masks and learned motions.

:class:`PointSet`, :class:`Trajectory`, :class:`Mask` and :class:`MotionEmbedding` are
immutable (read-only arrays), validate their inputs on construction, compare by value, and
save/load themselves in versioned formats.
"""

from .mask import Mask
from .motion_embedding import MotionEmbedding
from .pointset import PointSet
from .trajectory import Trajectory

__all__ = ["Mask", "MotionEmbedding", "PointSet", "Trajectory"]
