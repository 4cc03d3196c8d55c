"""Drawn paths to timed trajectories: a curve the user sketched becomes per-frame positions.

:func:`trajectory_from_path` turns a polyline into a :class:`~motionwright.Trajectory` of one
moving point over ``num_frames`` frames, timed at uniform speed along the curve, with ease-in
and ease-out, by the spacing of the drawn points (a hand that slowed down while drawing leaves
dense points there, and the motion slows there too), or by any monotone timing function. Static
anchor points — parts that must hold still — are appended as extra, motionless tracks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validate import as_array, require_finite, require_int
from .errors import InvalidInputError

TIMINGS = ("uniform", "ease", "drawn")


def _ease(u: np.ndarray) -> np.ndarray:
    """Smoothstep ease in/out: 3u² − 2u³ (zero speed at both ends)."""
    return u * u * (3.0 - 2.0 * u)


def _arc_positions(poly: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Points at ``fractions`` (0–1) of the arc length of polyline ``poly`` ``(M, 2)``."""
    seg = np.linalg.norm(np.diff(poly, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0:
        return np.repeat(poly[:1], len(fractions), axis=0)
    s = np.clip(fractions, 0.0, 1.0) * total
    x = np.interp(s, cum, poly[:, 0])
    y = np.interp(s, cum, poly[:, 1])
    return np.stack([x, y], axis=1)


def path_positions(polyline: Any, num_frames: int,
                   timing: str | Callable[[np.ndarray], np.ndarray] = "uniform") -> np.ndarray:
    """Positions ``(num_frames, 2)`` float64 along ``polyline`` ``(M, 2)`` (M ≥ 1).

    ``timing``: ``"uniform"`` (constant speed along the curve), ``"ease"`` (smoothstep ease in
    and out), ``"drawn"`` (each drawn vertex is reached at evenly spaced times, so the speed
    follows the spacing of the drawn points), or a callable mapping normalised time
    ``u`` ``(T,)`` in [0, 1] to the fraction of the arc length covered (non-decreasing, 0 to 1).
    The first frame is at the first vertex and the last at the last vertex.
    """
    poly = as_array(polyline, "polyline", np.float64, (None, 2), "(M, 2)")
    if len(poly) == 0:
        raise InvalidInputError("polyline: the path is empty; draw at least one point")
    require_finite(poly, "polyline")
    num_frames = require_int(num_frames, "num_frames", 1)
    u = np.linspace(0.0, 1.0, num_frames) if num_frames > 1 else np.zeros(1)
    if callable(timing):
        frac = np.asarray(timing(u), np.float64)
        if frac.shape != u.shape or not np.all(np.isfinite(frac)):
            raise InvalidInputError(
                f"timing: the function must return {num_frames} finite fractions, got "
                f"{frac.shape}"
            )
        if np.any(np.diff(frac) < -1e-9) or frac.min() < -1e-9 or frac.max() > 1 + 1e-9:
            raise InvalidInputError(
                "timing: the function must rise from 0 to 1 without going back; got values "
                f"from {frac.min():.3g} to {frac.max():.3g}"
            )
        return _arc_positions(poly, frac)
    if timing == "uniform":
        return _arc_positions(poly, u)
    if timing == "ease":
        return _arc_positions(poly, _ease(u))
    if timing == "drawn":
        if len(poly) == 1:
            return np.repeat(poly, num_frames, axis=0)
        knots = np.linspace(0.0, 1.0, len(poly))
        return np.stack([np.interp(u, knots, poly[:, 0]), np.interp(u, knots, poly[:, 1])],
                        axis=1)
    raise InvalidInputError(
        f"timing: expected one of {', '.join(TIMINGS)} or a function, got {timing!r}"
    )


def trajectory_from_path(polyline: Any, num_frames: int, *,
                         timing: str | Callable[[np.ndarray], np.ndarray] = "uniform",
                         anchors: Any = None, start_frame: int = 0):
    """A :class:`~motionwright.Trajectory` that follows a drawn ``polyline`` over time.

    Track 0 moves along ``polyline`` ``(M, 2)`` (pixels) over ``num_frames`` frames starting at
    ``start_frame``, timed by ``timing`` (see :func:`path_positions`). ``anchors`` ``(K, 2)``
    adds K static tracks (ids 1..K) that hold still — e.g. to pin the parts of a region that
    must not move. Every track is visible on every frame.
    """
    from .types import Trajectory

    moving = path_positions(polyline, num_frames, timing)
    tracks = [moving[:, None, :]]
    if anchors is not None:
        pins = as_array(anchors, "anchors", np.float64, (None, 2), "(K, 2)")
        require_finite(pins, "anchors")
        tracks.append(np.broadcast_to(pins[None], (len(moving), len(pins), 2)))
    stacked = np.concatenate(tracks, axis=1).astype(np.float32)
    visible = np.ones(stacked.shape[:2], bool)
    return Trajectory(stacked, visible, start_frame=require_int(start_frame, "start_frame", 0))
