"""Moving a layer of content rigidly: fit the transform, lift the layer out, put it back moved.

The rigid counterpart of :mod:`.composite`'s deformation, used when an edit moves a whole
object or region (a drag without anchors, a trajectory edit whose tracks move together):
:func:`fit_similarity` turns point correspondences into one rotation–scale–translation, and
:func:`move_layer` fills the place the layer leaves from its surroundings and pastes the layer
at its new place with an anti-aliased edge. Frames ``(H, W, 3)`` uint8/uint16; masks
``(H, W)`` bool; points ``(N, 2)`` float pixels; matrices ``(2, 3)`` float64 mapping source
to destination pixel coordinates.
"""

from __future__ import annotations

import cv2
import numpy as np

from .boxes import bounding_box
from .fill import fill_holes

IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The ``(2, 3)`` similarity (rotation, uniform scale, translation) taking ``src`` ``(N, 2)``
    closest to ``dst`` in least squares; a translation for one point, the identity for none."""
    p = np.asarray(src, np.float64).reshape(-1, 2)
    q = np.asarray(dst, np.float64).reshape(-1, 2)
    if len(p) == 0:
        return IDENTITY.copy()
    pc, qc = p.mean(axis=0), q.mean(axis=0)
    a, b = p - pc, q - qc
    spread = float((a ** 2).sum())
    if len(p) == 1 or spread < 1e-9:
        c, s = 1.0, 0.0
    else:
        c = float((a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]).sum()) / spread
        s = float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()) / spread
    rot = np.array([[c, -s], [s, c]])
    return np.concatenate([rot, (qc - rot @ pc)[:, None]], axis=1)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` ``(N, 2)`` mapped by the ``(2, 3)`` ``matrix``, as float32."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def in_box(matrix: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
    """``matrix`` re-expressed in the local pixel coordinates of ``box`` = (x0, y0, ...), so
    that it maps a crop of the frame at that box the way ``matrix`` maps the frame."""
    origin = np.array([box[0], box[1]], np.float64)
    local = np.array(matrix, np.float64, copy=True)
    local[:, 2] += local[:, :2] @ origin - origin
    return local


def blend(top: np.ndarray, base: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha·top + (1 − alpha)·base`` for images ``(h, w, 3)`` of one dtype and weights
    ``(h, w)`` float32 in [0, 1], rounded back to that dtype."""
    top, base = np.ascontiguousarray(top), np.ascontiguousarray(base)
    if base.dtype == np.uint8:
        return cv2.blendLinear(top, base, alpha, 1.0 - alpha)
    a = alpha[..., None]
    mixed = top.astype(np.float32) * a + base.astype(np.float32) * (1.0 - a)
    if np.issubdtype(base.dtype, np.integer):
        mixed = np.clip(np.rint(mixed), 0, np.iinfo(base.dtype).max)
    return mixed.astype(base.dtype)


def _placed(content: np.ndarray, layer: np.ndarray, matrix: np.ndarray,
            keep: np.ndarray | None):
    """``(box, moved, alpha)``: the box the moved layer lands in, the content warped into it
    and the layer's coverage there (``(h, w)`` float32); None when it lands off the frame."""
    box = bounding_box(layer)
    if box is None:
        return None
    h, w = layer.shape
    x0, y0, x1, y1 = box
    corners = transform_points(matrix, [[x0 - 1, y0 - 1], [x1, y0 - 1], [x0 - 1, y1], [x1, y1]])
    dx0, dy0 = (max(0, int(np.floor(v)) - 1) for v in corners.min(axis=0))
    dx1 = min(w, int(np.ceil(corners[:, 0].max())) + 2)
    dy1 = min(h, int(np.ceil(corners[:, 1].max())) + 2)
    if dx1 <= dx0 or dy1 <= dy0:
        return None
    local = matrix.copy()
    local[:, 2] -= (dx0, dy0)
    size = (dx1 - dx0, dy1 - dy0)
    moved = cv2.warpAffine(content, local, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(layer.astype(np.float32), local, size, flags=cv2.INTER_LINEAR,
                           borderValue=0.0)
    if keep is not None:
        alpha *= keep[dy0:dy1, dx0:dx1]
    return (dx0, dy0, dx1, dy1), moved, alpha


def move_layer(frame: np.ndarray, content: np.ndarray, layer: np.ndarray, matrix: np.ndarray,
               *, hole: np.ndarray | None = None, keep: np.ndarray | None = None
               ) -> np.ndarray:
    """``frame`` with the ``layer`` ``(H, W)`` bool of ``content`` moved by ``matrix``.

    ``hole`` (default: ``layer``) is the place the layer leaves; where the moved layer does
    not cover it again, it is filled from the frame's pixels around it (never from the hole's
    own). The layer is pasted at its new place, its edge anti-aliased; ``keep`` limits where
    it may land (e.g. the edit's region). Pixels outside ``hole`` and the moved layer are the
    frame's own, bit for bit. Returns a new frame.
    """
    hole = layer if hole is None else hole
    placed = _placed(content, layer, matrix, keep)
    revealed = hole.copy()
    if placed is not None:
        (x0, y0, x1, y1), moved, alpha = placed
        revealed[y0:y1, x0:x1] &= alpha < 1.0
    out = fill_holes(frame, revealed, margin=16, known=~hole) if revealed.any() else \
        frame.copy()
    if placed is not None:
        base = out[y0:y1, x0:x1]
        cv2.copyTo(blend(moved, base, alpha), (alpha > 0).astype(np.uint8), base)
    return out
