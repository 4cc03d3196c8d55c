"""Frame sizes and resizing shared by the diffusion methods.

Models work at sizes that are multiples of their total downsampling (VAE factor times the
UNet's downsampling); frames are centre-cropped to the working aspect ratio (no stretching,
which would distort motion) and resized with area averaging when shrinking.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidInputError, ShapeError


def size_multiple(vae_scale_factor: int, unet_levels: int) -> int:
    """The pixel multiple a UNet of ``unet_levels`` resolution levels needs (and diffusers'
    pipelines' multiple of 8)."""
    return math.lcm(8, int(vae_scale_factor) * 2 ** max(int(unet_levels) - 1, 0))


def working_size(source_size: tuple[int, int], native_side: int, multiple: int,
                 requested: tuple[int, int] | None = None) -> tuple[int, int]:
    """The ``(width, height)`` a model runs at.

    ``requested`` is rounded to the nearest ``multiple``; otherwise the source's aspect ratio
    at the model's native pixel count (``native_side²``, e.g. 1024×576 for SVD) is used.
    """
    if requested is not None:
        w, h = requested
        return (max(multiple, round(w / multiple) * multiple),
                max(multiple, round(h / multiple) * multiple))
    sw, sh = source_size
    aspect = sw / sh
    area = float(native_side) ** 2
    w = math.sqrt(area * aspect)
    h = math.sqrt(area / aspect)
    return (max(multiple, round(w / multiple) * multiple),
            max(multiple, round(h / multiple) * multiple))


def check_frames(frames, name: str) -> np.ndarray:
    """``frames`` as a ``(T, H, W, 3)`` uint8 array (uint16 is scaled down to 8 bits)."""
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] < 1:
        raise ShapeError(f"{name}: expected frames of shape (T, H, W, 3), got {arr.shape}")
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ShapeError(f"{name}: expected uint8 (or uint16) frames, got {arr.dtype}")
    return arr


def fit_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop ``frame`` (H×W×3 uint8) to ``size``'s aspect ratio and resize to ``size``."""
    import cv2

    tw, th = size
    h, w = frame.shape[:2]
    if tw <= 0 or th <= 0:
        raise InvalidInputError(f"size: expected a positive width and height, got {size}")
    target = tw / th
    if w / h > target:
        cw = max(1, round(h * target))
        x0 = (w - cw) // 2
        frame = frame[:, x0:x0 + cw]
    elif w / h < target:
        ch = max(1, round(w / target))
        y0 = (h - ch) // 2
        frame = frame[y0:y0 + ch]
    if frame.shape[1] == tw and frame.shape[0] == th:
        return np.ascontiguousarray(frame)
    shrink = frame.shape[1] > tw
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(frame), (tw, th), interpolation=interp)


def fit_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """:func:`fit_frame` for every frame of a ``(T, H, W, 3)`` array."""
    return np.stack([fit_frame(f, size) for f in frames])


def to_model_range(frames: np.ndarray):
    """``(T, H, W, 3)`` uint8 -> torch ``(T, 3, H, W)`` float32 in [-1, 1]."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    return t / 127.5 - 1.0
