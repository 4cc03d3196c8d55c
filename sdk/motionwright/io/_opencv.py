"""OpenCV, imported with EXR reading switched on.

OpenCV reads ``OPENCV_IO_ENABLE_OPENEXR`` when it first decodes an EXR file, so the variable is
set before ``cv2`` is imported here; import ``cv2`` from this module wherever images are read.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

import cv2

__all__ = ["cv2"]
