"""The papers' evaluation measures, so results can be set beside their tables.

- :func:`flow_similarity`, :func:`warp_error` — Point-to-Point ("Flow Similarity, which
  measures the cosine similarity between the optical flow fields of the source and edited
  videos, and Warp Error, which evaluates spatial consistency by computing pixel-wise
  differences after warping the edited frame using the source flow");
- :func:`flow_matching_loss` — S²V2V's FML, ‖FL(x_ref) − FL(x_0)‖²;
- :func:`temporal_smoothness` — Drag-A-Video appendix A (distance of each pixel to the segment
  joining its matches in the neighbouring frames, kept where the edit is less smooth than the
  input);
- :func:`psnr_unedited` — ReVideo's PSNR of the region outside the edit;
- :func:`end_point_error`, :func:`visibility_accuracy` — for point tracks.

The papers estimate flow with RAFT; here it is OpenCV DIS (``"medium"`` preset), so absolute
values differ somewhat from theirs while comparisons between methods hold. Videos are
:class:`~motionwright.Clip` s or ``(T, H, W, 3)`` arrays; they are read one frame pair at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from .errors import InvalidInputError, ShapeError
from .tracking.flow import PRESETS, to_grey


def _length(video: Any) -> int:
    return len(video)


def _frames(video: Any, name: str) -> Iterator[np.ndarray]:
    arr = video if not isinstance(video, np.ndarray) else np.asarray(video)
    if isinstance(arr, np.ndarray) and (arr.ndim != 4 or arr.shape[-1] != 3):
        raise ShapeError(f"{name}: expected frames of shape (T, H, W, 3), got {arr.shape}")
    yield from iter(arr)


def _check_pair(a: Any, b: Any, names: tuple[str, str], min_frames: int = 2) -> None:
    if _length(a) != _length(b):
        raise ShapeError(
            f"{names[1]}: expected as many frames as {names[0]} ({_length(a)}), got {_length(b)}"
        )
    if _length(a) < min_frames:
        raise InvalidInputError(
            f"{names[0]}: need at least {min_frames} frames for this measure, got {_length(a)}"
        )


def _as_float(frame: np.ndarray) -> np.ndarray:
    top = 65535.0 if frame.dtype == np.uint16 else 255.0
    return frame.astype(np.float32) / top


class _Flow:
    """DIS optical flow between greyscale frames, ``(H, W, 2)`` float32 pixels."""

    def __init__(self, preset: str = "medium") -> None:
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._dis.calc(to_grey(a), to_grey(b), None)


def _pairs(video: Any, name: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    it = _frames(video, name)
    prev = next(it)
    for cur in it:
        yield prev, cur
        prev = cur


def _check_size(a: np.ndarray, b: np.ndarray, name: str) -> None:
    if a.shape != b.shape:
        raise ShapeError(f"{name}: expected frames of shape {a.shape}, got {b.shape}")


def _sample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``x + flow(x)`` (bilinear, border replicated)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def flow_similarity(source: Any, edited: Any) -> float:
    """Point-to-Point's Flow Similarity: the cosine similarity between the source's and the
    edit's optical flow, per consecutive frame pair (each field taken as one vector), averaged
    over pairs. 1 means the same motion; pairs where both are still are skipped."""
    _check_pair(source, edited, ("source", "edited"))
    flow = _Flow()
    scores = []
    for (s0, s1), (e0, e1) in zip(_pairs(source, "source"), _pairs(edited, "edited"),
                                  strict=True):
        _check_size(s0, e0, "edited")
        fs, fe = flow(s0, s1).ravel(), flow(e0, e1).ravel()
        ns, ne = float(np.linalg.norm(fs)), float(np.linalg.norm(fe))
        if ns < 1e-6 and ne < 1e-6:
            continue
        scores.append(float(fs @ fe) / max(ns * ne, 1e-12))
    return float(np.mean(scores)) if scores else 1.0


def warp_error(source: Any, edited: Any, *, scale: float = 1.0) -> float:
    """Point-to-Point's Warp Error: warp each edited frame t+1 back onto frame t with the
    *source's* flow t→t+1 and take the mean absolute difference with edited frame t (values in
    [0, 1], times ``scale``), over pixels whose source flow passes a forward–backward check."""
    _check_pair(source, edited, ("source", "edited"))
    flow = _Flow()
    errors = []
    for (s0, s1), (e0, e1) in zip(_pairs(source, "source"), _pairs(edited, "edited"),
                                  strict=True):
        _check_size(s0, e0, "edited")
        fwd, bwd = flow(s0, s1), flow(s1, s0)
        back = _sample(bwd, fwd)
        ok = np.linalg.norm(fwd + back, axis=2) <= 1.0 + 0.05 * np.linalg.norm(fwd, axis=2)
        warped = _sample(_as_float(e1), fwd)
        diff = np.abs(warped - _as_float(e0)).mean(axis=2)
        if ok.any():
            errors.append(float(diff[ok].mean()))
    return float(np.mean(errors)) * float(scale) if errors else 0.0


def flow_matching_loss(reference: Any, generated: Any) -> float:
    """S²V2V's flow-matching loss ‖FL(x_ref) − FL(x_0)‖²: the squared difference of the two
    videos' optical flow, per pixel and frame pair, averaged (pixels²)."""
    _check_pair(reference, generated, ("reference", "generated"))
    flow = _Flow()
    losses = []
    for (r0, r1), (g0, g1) in zip(_pairs(reference, "reference"),
                                  _pairs(generated, "generated"), strict=True):
        _check_size(r0, g0, "generated")
        d = flow(r0, r1) - flow(g0, g1)
        losses.append(float((d * d).sum(axis=2).mean()))
    return float(np.mean(losses))


def _segment_distance(flow_back: np.ndarray, flow_fwd: np.ndarray) -> np.ndarray:
    """Per pixel x: distance from x to the segment [x + flow_back(x), x + flow_fwd(x)]."""
    a, b = flow_back, flow_fwd  # positions relative to x
    ab = b - a
    denom = (ab * ab).sum(axis=2)
    t = np.where(denom > 1e-12, -(a * ab).sum(axis=2) / np.maximum(denom, 1e-12), 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = a + ab * t[..., None]
    return np.linalg.norm(closest, axis=2)


def temporal_smoothness(edited: Any, source: Any) -> float:
    """Drag-A-Video's temporal smoothness (appendix A; lower is smoother).

    For each frame i with neighbours i−1 and i+1, the flow from i to both gives every pixel's
    matches there; its distance to the segment between them measures how far from linear the
    motion is. Pixels where the edited video's distance is smaller than the input's are left
    out ("we filter out the pixels whose distances on the edited video [are] smaller than their
    distances on the input video"), and the rest are averaged over all pixels and frames.
    """
    _check_pair(edited, source, ("edited", "source"), min_frames=3)
    flow = _Flow()
    total, count = 0.0, 0
    e_it, s_it = _frames(edited, "edited"), _frames(source, "source")
    e_win = [next(e_it), next(e_it)]
    s_win = [next(s_it), next(s_it)]
    for e_next, s_next in zip(e_it, s_it, strict=True):
        e_win.append(e_next)
        s_win.append(s_next)
        _check_size(s_win[1], e_win[1], "edited")
        d_edit = _segment_distance(flow(e_win[1], e_win[0]), flow(e_win[1], e_win[2]))
        d_src = _segment_distance(flow(s_win[1], s_win[0]), flow(s_win[1], s_win[2]))
        keep = d_edit >= d_src
        total += float(d_edit[keep].sum())
        count += int(keep.sum())
        e_win.pop(0)
        s_win.pop(0)
    return total / count if count else 0.0


def psnr_unedited(source: Any, edited: Any, mask: Any) -> float:
    """ReVideo's PSNR of the unedited region: over the pixels outside ``mask`` (the edit region:
    a :class:`~motionwright.Mask`, or an ``(H, W)`` / ``(T, H, W)`` bool array), in dB with the
    peak at the frames' full scale. Identical pixels give ``inf``."""
    from .types import Mask

    _check_pair(source, edited, ("source", "edited"), min_frames=1)
    sq, n = 0.0, 0
    for t, (s, e) in enumerate(zip(_frames(source, "source"), _frames(edited, "edited"),
                                   strict=True)):
        _check_size(s, e, "edited")
        if isinstance(mask, Mask):
            m = mask.at(t) if mask.is_static or mask.start_frame <= t < mask.end_frame else \
                np.zeros(s.shape[:2], bool)
        else:
            arr = np.asarray(mask, bool)
            m = arr if arr.ndim == 2 else arr[t]
        if m.shape != s.shape[:2]:
            raise ShapeError(f"mask: expected shape {s.shape[:2]}, got {m.shape}")
        keep = ~m
        d = _as_float(s)[keep] - _as_float(e)[keep]
        sq += float((d * d).sum())
        n += int(d.size)
    if n == 0:
        raise InvalidInputError("mask: it covers every pixel; there is no unedited region")
    mse = sq / n
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def _tracks_of(value: Any, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    from .types import Trajectory

    if isinstance(value, Trajectory):
        return np.asarray(value.tracks), np.asarray(value.visible)
    arr = np.asarray(value, np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 2:
        raise ShapeError(f"{name}: expected a Trajectory or tracks (T, N, 2), got {arr.shape}")
    return arr, None


def end_point_error(predicted: Any, truth: Any, visible: Any = None) -> float:
    """Mean distance (pixels) between predicted and true positions over the entries where the
    point is truly visible (``visible`` ``(T, N)``, or the truth Trajectory's visibility;
    everything when neither is given)."""
    pred, _ = _tracks_of(predicted, "predicted")
    true, true_vis = _tracks_of(truth, "truth")
    if pred.shape != true.shape:
        raise ShapeError(f"predicted: expected tracks of shape {true.shape}, got {pred.shape}")
    vis = true_vis if visible is None else np.asarray(visible, bool)
    if vis is None:
        vis = np.ones(true.shape[:2], bool)
    if vis.shape != true.shape[:2]:
        raise ShapeError(f"visible: expected shape {true.shape[:2]}, got {vis.shape}")
    if not vis.any():
        raise InvalidInputError("visible: no entry is visible, so there is nothing to measure")
    err = np.linalg.norm(pred - true, axis=2)[vis]
    return float(np.mean(err))


def visibility_accuracy(predicted: Any, truth: Any) -> float:
    """Fraction of (frame, point) entries whose visibility is predicted right. Takes
    Trajectories or ``(T, N)`` bool arrays."""
    from .types import Trajectory

    p = np.asarray(predicted.visible if isinstance(predicted, Trajectory) else predicted, bool)
    t = np.asarray(truth.visible if isinstance(truth, Trajectory) else truth, bool)
    if p.shape != t.shape or p.ndim != 2:
        raise ShapeError(f"predicted: expected visibility of shape {t.shape}, got {p.shape}")
    return float((p == t).mean())


def text_alignment(video: Any, prompt: str, *, model: Any = None, device: str = "cpu") -> float:
    """Point-to-Point's text alignment (ViCLIP score) computed with CLIP weights; see
    :mod:`motionwright.text_alignment` (raises ModelNotFoundError without the weights)."""
    from .text_alignment import text_alignment as score

    return score(video, prompt, model=model, device=device)


def trajectory_following_error(edited: Any, trajectories: Any) -> float:
    """ReVideo's motion accuracy: mean distance (pixels) between where the content under each
    trajectory's first position goes in ``edited`` (tracked with :func:`motionwright.track`)
    and where the trajectory says it should be, over the frames where the trajectory is
    visible. ``edited`` is a Clip or ``(T, H, W, 3)`` array covering the trajectory's frames.
    On generated footage with known motion this is the trajectory-following error."""
    from .clip import Clip
    from .tracking import track
    from .types import PointSet, Trajectory

    if not isinstance(trajectories, Trajectory):
        raise InvalidInputError(f"trajectories: expected a Trajectory, got "
                                f"{type(trajectories).__name__}")
    clip = edited if isinstance(edited, Clip) else Clip.from_frames(np.asarray(edited), fps=24)
    start, stop = trajectories.start_frame, trajectories.end_frame
    if stop > len(clip):
        raise InvalidInputError(f"edited: the trajectories run to frame {stop - 1} but the video "
                                f"has {len(clip)} frames")
    tracks, visible = np.asarray(trajectories.tracks), np.asarray(trajectories.visible)
    keep = visible[0] & np.isfinite(tracks[0]).all(axis=1)
    if not keep.any():
        raise InvalidInputError("trajectories: no point is visible on their first frame")
    tracked = track(clip, PointSet(tracks[0, keep], frame=start), frames=(start, stop))
    return end_point_error(tracked.tracks, tracks[:, keep], visible[:, keep])


def clip_consistency(edited: Any, *, models: Any = None) -> float:
    """ReVideo's temporal consistency: the mean cosine similarity of consecutive frames' CLIP
    image embeddings. The CLIP image encoder is the ``svd`` model's (from the model store or
    ``models``); without one this raises ModelNotFoundError naming the command that adds it."""
    from .methods._frames import check_frames
    from .methods.motion_inversion import clip_embeddings
    from .models.loading import as_models

    frames = check_frames(np.asarray(edited.to_array() if hasattr(edited, "to_array")
                                     else edited), "edited")
    if len(frames) < 2:
        raise InvalidInputError(f"edited: expected at least 2 frames, got {len(frames)}")
    loaded = as_models(models).get("svd")
    emb = clip_embeddings(loaded, frames, loaded.device).numpy()
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    return float(np.mean(np.sum(emb[1:] * emb[:-1], axis=1)))


# S²V2V's measures (CLIP ones need a local CLIP model), in their own module.
from .guided_metrics import box_miou as box_miou  # noqa: E402
from .guided_metrics import clip_box_similarity as clip_box_similarity  # noqa: E402
from .guided_metrics import clip_temporal_consistency as clip_temporal_consistency  # noqa: E402
from .guided_metrics import clip_text_alignment as clip_text_alignment  # noqa: E402
from .guided_metrics import generated_boxes as generated_boxes  # noqa: E402
