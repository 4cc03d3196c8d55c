"""Moving-least-squares image deformation (Schaefer, McPhail & Warren, SIGGRAPH 2006).

Given control points p_i that should land on q_i, every location v gets its own best transform
of the control points, weighted by w_i = 1 / |p_i − v|^(2α), and is mapped by it:

- affine:      f(v) = (v − p*)·M + q*,  M = (Σ w p̂ᵀp̂)⁻¹ Σ w p̂ᵀq̂
- similarity:  f(v) = S(v − p*) + q*,   S the rotation-scale closest to taking p̂ to q̂
- rigid:       as similarity with the scale removed (|f(v) − q*| = |v − p*|)

with p* = Σ w p / Σ w, q* likewise, p̂ = p − p*, q̂ = q − q*. The weighted sums are expanded
(Σ w p̂·q̂ = Σ w p·q − W p*·q*, …) so each is one matrix–vector product over the control points,
and the dense field is computed on a coarse grid and interpolated: smooth by construction.

To *backward*-warp an image (each output pixel fetches its source pixel), deform with the
control points swapped: from where things should go (targets) to where they are (handles).
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("rigid", "similarity", "affine")


def mls_map(src: np.ndarray, dst: np.ndarray, points: np.ndarray, kind: str = "rigid",
            alpha: float = 1.0) -> np.ndarray:
    """Deform ``points`` ``(G, 2)`` by the MLS map taking ``src`` ``(C, 2)`` onto ``dst``.

    Returns ``(G, 2)`` float32. With one control point the map is a translation; a location on
    a control point maps exactly onto its destination.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    p = np.asarray(src, np.float32).reshape(-1, 2)
    q = np.asarray(dst, np.float32).reshape(-1, 2)
    v = np.asarray(points, np.float32).reshape(-1, 2)
    if len(p) == 0:
        return v.astype(np.float32)
    if len(p) == 1:
        return (v + (q[0] - p[0])).astype(np.float32)
    dx = v[:, 0:1] - p[None, :, 0]
    dy = v[:, 1:2] - p[None, :, 1]
    d2 = np.maximum(dx * dx + dy * dy, 1e-6)
    w = 1.0 / d2 if alpha == 1.0 else 1.0 / d2**alpha  # (G, C)
    wsum = w.sum(axis=1)
    ps = (w @ p) / wsum[:, None]
    qs = (w @ q) / wsum[:, None]
    rel = v - ps
    if kind == "affine":
        pxx = w @ (p[:, 0] * p[:, 0]) - wsum * ps[:, 0] * ps[:, 0]
        pxy = w @ (p[:, 0] * p[:, 1]) - wsum * ps[:, 0] * ps[:, 1]
        pyy = w @ (p[:, 1] * p[:, 1]) - wsum * ps[:, 1] * ps[:, 1]
        cxx = w @ (p[:, 0] * q[:, 0]) - wsum * ps[:, 0] * qs[:, 0]
        cxy = w @ (p[:, 0] * q[:, 1]) - wsum * ps[:, 0] * qs[:, 1]
        cyx = w @ (p[:, 1] * q[:, 0]) - wsum * ps[:, 1] * qs[:, 0]
        cyy = w @ (p[:, 1] * q[:, 1]) - wsum * ps[:, 1] * qs[:, 1]
        det = pxx * pyy - pxy * pxy
        det = np.where(np.abs(det) < 1e-9, 1e-9, det)
        # rel · inv([[pxx, pxy], [pxy, pyy]]) · [[cxx, cxy], [cyx, cyy]]
        ax = (rel[:, 0] * pyy - rel[:, 1] * pxy) / det
        ay = (-rel[:, 0] * pxy + rel[:, 1] * pxx) / det
        out = np.stack([ax * cxx + ay * cyx, ax * cxy + ay * cyy], axis=1) + qs
        return out.astype(np.float32)
    dot = (w @ (p[:, 0] * q[:, 0] + p[:, 1] * q[:, 1])
           - wsum * (ps[:, 0] * qs[:, 0] + ps[:, 1] * qs[:, 1]))
    cross = (w @ (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0])
             - wsum * (ps[:, 0] * qs[:, 1] - ps[:, 1] * qs[:, 0]))
    if kind == "similarity":
        mu = w @ (p[:, 0] ** 2 + p[:, 1] ** 2) - wsum * (ps[:, 0] ** 2 + ps[:, 1] ** 2)
        mu = np.maximum(mu, 1e-9)
        c, s = dot / mu, cross / mu
    else:
        norm = np.maximum(np.hypot(dot, cross), 1e-9)
        c, s = dot / norm, cross / norm
    out = np.stack([c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]], axis=1) + qs
    return out.astype(np.float32)


_GRIDS: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}


def _dense_grid(w: int, h: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Coarse-grid coordinates of every pixel of a ``w``×``h`` box (cached per shape)."""
    key = (w, h, step)
    if key not in _GRIDS:
        if len(_GRIDS) > 8:
            _GRIDS.clear()
        _GRIDS[key] = np.meshgrid(np.arange(w, dtype=np.float32) / step,
                                  np.arange(h, dtype=np.float32) / step)
    return _GRIDS[key]


def backward_maps(handles: np.ndarray, targets: np.ndarray, box: tuple[int, int, int, int],
                  kind: str = "rigid", step: int = 8, alpha: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Source coordinates for every pixel of ``box`` = (x0, y0, x1, y1) (exclusive ends) so
    that content at ``handles`` ``(C, 2)`` appears at ``targets``.

    Returns ``(map_x, map_y)``, each ``(y1−y0, x1−x0)`` float32 in frame pixels, ready for
    ``cv2.remap``. The MLS field is evaluated every ``step`` pixels and interpolated.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    gw, gh = max(2, -(-w // step) + 1), max(2, -(-h // step) + 1)
    gx = np.linspace(x0, x0 + (gw - 1) * step, gw, dtype=np.float32)
    gy = np.linspace(y0, y0 + (gh - 1) * step, gh, dtype=np.float32)
    mx, my = np.meshgrid(gx, gy)
    grid = np.stack([mx.ravel(), my.ravel()], axis=1)
    mapped = mls_map(targets, handles, grid, kind, alpha).reshape(gh, gw, 2)
    # Corner-aligned bilinear interpolation: pixel (x0 + i) is coarse sample i / step.
    cx, cy = _dense_grid(w, h, step)
    dense = cv2.remap(mapped, cx, cy, interpolation=cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(dense[..., 0]), np.ascontiguousarray(dense[..., 1])
