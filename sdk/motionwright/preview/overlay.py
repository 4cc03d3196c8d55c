"""Drawing edits on frames: points, arrows, paths, mask outlines and labels.

Used for the honest preview of edits only the diffusion backend can render, for the demo's
side-by-side comparison and by anything that wants to show what an edit asks for. Colours
follow Drag-A-Video's figures: handles green, targets blue, mask red. Frames are ``(H, W, 3)``
RGB uint8 (uint16 frames are drawn on at their own scale); the input is never modified.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

HANDLE = (40, 220, 60)
TARGET = (40, 110, 255)
MASK = (235, 50, 50)
PATH = (255, 210, 40)
TEXT = (255, 255, 255)


def _scale(frame: np.ndarray, colour: tuple[int, int, int]) -> tuple[int, ...]:
    return tuple(c * 257 for c in colour) if frame.dtype == np.uint16 else colour


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return round(float(xy[0])), round(float(xy[1]))


def _thickness(frame: np.ndarray) -> int:
    return max(1, round(min(frame.shape[:2]) / 360))


def draw_points(frame: np.ndarray, points: np.ndarray, colour: tuple[int, int, int],
                radius: int | None = None) -> None:
    """Draw filled dots with a dark rim at ``points`` ``(N, 2)`` (in place)."""
    r = radius or 2 + 2 * _thickness(frame)
    for xy in np.asarray(points, np.float32).reshape(-1, 2):
        if np.all(np.isfinite(xy)):
            cv2.circle(frame, _pt(xy), r + 1, _scale(frame, (0, 0, 0)), -1, cv2.LINE_AA)
            cv2.circle(frame, _pt(xy), r, _scale(frame, colour), -1, cv2.LINE_AA)


def draw_arrows(frame: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                colour: tuple[int, int, int]) -> None:
    """Draw arrows from ``starts`` to ``ends`` (both ``(N, 2)``) in place."""
    for a, b in zip(np.asarray(starts).reshape(-1, 2), np.asarray(ends).reshape(-1, 2),
                    strict=True):
        if np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
            cv2.arrowedLine(frame, _pt(a), _pt(b), _scale(frame, colour), _thickness(frame),
                            cv2.LINE_AA, tipLength=0.2)


def draw_mask_outline(frame: np.ndarray, mask: np.ndarray,
                      colour: tuple[int, int, int] = MASK) -> None:
    """Outline the True region of ``mask`` ``(H, W)`` in place."""
    contours, _ = cv2.findContours(np.ascontiguousarray(mask, dtype=np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(frame, contours, -1, _scale(frame, colour), _thickness(frame), cv2.LINE_AA)


def draw_tracks(frame: np.ndarray, tracks: np.ndarray, visible: np.ndarray, row: int,
                colour: tuple[int, int, int] = PATH, tail: int | None = None) -> None:
    """Draw each track's path up to ``row`` (the last ``tail`` rows, or all) and its current
    position when visible. ``tracks`` ``(T, N, 2)``, ``visible`` ``(T, N)``; in place."""
    first = 0 if tail is None else max(0, row - tail)
    th = _thickness(frame)
    for n in range(tracks.shape[1]):
        seg = tracks[first:row + 1, n]
        ok = np.isfinite(seg).all(axis=1)
        pts = np.rint(seg[ok]).astype(np.int32)
        if len(pts) >= 2:
            cv2.polylines(frame, [pts.reshape(-1, 1, 2)], False, _scale(frame, colour), th,
                          cv2.LINE_AA)
    now = tracks[row][visible[row]]
    draw_points(frame, now, colour, radius=1 + th)


def draw_label(frame: np.ndarray, text: str, corner: str = "top") -> None:
    """Write ``text`` on a dark band at the top (or bottom) of the frame, in place."""
    h, w = frame.shape[:2]
    scale = max(0.4, min(h, w) / 720)
    th = max(1, round(scale * 1.5))
    (tw, tht), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, th)
    pad = max(4, round(6 * scale))
    y0 = 0 if corner == "top" else h - (tht + base + 2 * pad)
    band = frame[max(0, y0):max(0, y0) + tht + base + 2 * pad, :min(w, tw + 2 * pad)]
    band //= 3
    cv2.putText(frame, text, (pad, max(0, y0) + pad + tht), cv2.FONT_HERSHEY_SIMPLEX, scale,
                _scale(frame, TEXT), th, cv2.LINE_AA)


def diffusion_label(edit: Any) -> str:
    """The label shown on edits the preview cannot render."""
    return f"preview only: the diffusion backend renders this {type(edit).__name__}"


def _points_on(obj: Any, frame_index: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(positions, visible) of a PointSet or Trajectory on ``frame_index``, if it covers it."""
    from ..types import PointSet, Trajectory

    if isinstance(obj, PointSet):
        if obj.frame != frame_index:
            return None
        return obj.points, np.ones(len(obj), bool)
    if isinstance(obj, Trajectory) and obj.start_frame <= frame_index < obj.end_frame:
        row = frame_index - obj.start_frame
        return obj.tracks[row], obj.visible[row]
    return None


def draw_edit_overlay(frame: np.ndarray, edit: Any, frame_index: int,
                      tracks: Any = None) -> np.ndarray:
    """A copy of ``frame`` with what ``edit`` asks for drawn on it, at ``frame_index``.

    - DragEdit: handles (green), targets (blue), arrows between them, the mask outline (red).
      ``tracks`` — a :class:`~motionwright.Trajectory` of the handles (same order), e.g. from
      :func:`motionwright.track`, a
      :class:`~motionwright.propagation.DragPropagation`, or a
      :class:`~motionwright.preview.drag.DragPreview` — places them on every frame (targets
      follow their handles, Drag-A-Video eq. 2) and draws the handles' paths; without it they
      are drawn on the drag frame only. A DragPreview also places the mask on every frame (the
      region it edits there); otherwise the mask is drawn where the edit's mask is.
    - TrajectoryEdit: the region outline and the trajectories' paths and current positions.
    - GuidedGeneration: its points or tracks and box corners.
    - Edit types the preview cannot render also get a label saying the diffusion backend
      renders them (MotionTransfer, PromptEdit, GuidedGeneration).
    """
    from ..edits import DragEdit, GuidedGeneration, TrajectoryEdit
    from ..propagation import DragPropagation
    from ..types import Trajectory

    out = frame.copy()
    if isinstance(edit, DragEdit):
        from .drag import DragPreview

        offsets = edit.targets.points - edit.handles.points
        if isinstance(tracks, DragPreview):
            row = frame_index - tracks.prop.start_frame
            if 0 <= row < len(tracks.prop.handles):
                draw_mask_outline(out, tracks.region(frame_index))
            tracks = tracks.prop
        elif edit.mask is not None:
            try:
                draw_mask_outline(out, edit.mask.at(frame_index))
            except Exception:  # an animated mask that does not cover this frame
                pass
        if isinstance(tracks, DragPropagation):
            row = frame_index - tracks.start_frame
            if 0 <= row < len(tracks.handles):
                k2 = int(np.bincount(tracks.group)[0])
                centres = np.arange(len(tracks.group) // k2) * k2 + k2 // 2
                draw_tracks(out, tracks.handles[:, centres], tracks.visible[:, centres], row,
                            HANDLE, tail=30)
                draw_arrows(out, tracks.handles[row, centres], tracks.targets[row, centres],
                            TARGET)
                draw_points(out, tracks.targets[row, centres], TARGET)
                draw_points(out, tracks.handles[row, centres], HANDLE)
        elif isinstance(tracks, Trajectory) and tracks.start_frame <= frame_index < \
                tracks.end_frame:
            row = frame_index - tracks.start_frame
            key = edit.frame - tracks.start_frame
            pos = tracks.tracks[row]
            targets = pos + offsets if not (0 <= key < tracks.num_frames) else (
                edit.targets.points + pos - tracks.tracks[key])
            draw_tracks(out, tracks.tracks, tracks.visible, row, HANDLE, tail=30)
            draw_arrows(out, pos, targets, TARGET)
            draw_points(out, targets, TARGET)
            draw_points(out, pos, HANDLE)
        elif frame_index == edit.frame:
            draw_arrows(out, edit.handles.points, edit.targets.points, TARGET)
            draw_points(out, edit.targets.points, TARGET)
            draw_points(out, edit.handles.points, HANDLE)
        return out
    if isinstance(edit, TrajectoryEdit):
        try:
            draw_mask_outline(out, edit.region.at(frame_index))
        except Exception:
            pass
        traj = edit.trajectories
        if traj.start_frame <= frame_index < traj.end_frame:
            row = frame_index - traj.start_frame
            full = np.where(traj.visible[..., None], traj.tracks, np.nan)
            draw_tracks(out, full, traj.visible, traj.num_frames - 1, (120, 120, 120))
            draw_tracks(out, full, traj.visible, row, PATH)
        return out
    if isinstance(edit, GuidedGeneration):
        found = _points_on(edit.points, frame_index) if edit.points is not None else None
        if found is not None:
            draw_points(out, found[0][found[1]], HANDLE)
        if edit.box is not None:
            corners = _points_on(edit.box, frame_index)
            if corners is not None and corners[1].all():
                (x0, y0), (x1, y1) = corners[0]
                cv2.rectangle(out, _pt((x0, y0)), _pt((x1, y1)), _scale(out, PATH),
                              _thickness(out), cv2.LINE_AA)
    draw_label(out, diffusion_label(edit))
    return out
