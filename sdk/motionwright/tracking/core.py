"""The point tracker on plain frames: flow prediction, checks, keyframe refinement, re-acquisition.

:class:`PointTracker` follows N points from their keyframe through a run of frames in one
direction (forward or backward in time). Each step:

1. predicts every visible point with dense DIS flow and measures its forward–backward round-trip
   error (:mod:`motionwright.tracking.flow`);
2. aligns the point's keyframe patch at the prediction (similarity Lucas–Kanade,
   :mod:`motionwright.tracking.appearance`), so positions stay anchored to the keyframe and do
   not drift;
3. keeps a point visible when it is inside the frame, its patch still matches (NCC) and the flow
   round trip agrees; otherwise the point is hidden and carried along by its last velocity;
4. searches for hidden points near their predicted position each frame and brings them back
   when the keyframe patch is found again.

Frames are ``(H, W, 3)`` RGB uint8 arrays (or ``(H, W)`` grey); points ``(N, 2)`` float32
pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .appearance import AlignResult, KeyframeTemplates, search
from .flow import FlowEstimator, PreparedFrame, forward_backward_error, prepare


@dataclass(frozen=True)
class TrackerOptions:
    """Tuning of :class:`PointTracker` (pixels are full-resolution pixels).

    ``flow_preset``: DIS preset ("ultrafast", "fast", "medium"); ``flow_max_side``: long side of
    the frame copy the flow runs on; ``patch_radius``: half-size of the keyframe patch;
    ``fb_threshold`` + ``fb_relative``·|motion|: allowed forward–backward round-trip error;
    ``visible_ncc``: NCC of the fitting part of the patch at or above which a point counts as
    seen (and the patch centre itself must fit); ``trust_ncc``: NCC at
    which the patch alone proves visibility even if the flow round trip disagrees;
    ``reacquire_ncc``: NCC the fitting part of the patch must reach to bring a hidden point
    back, with at most ``reacquire_centre`` of the patch centre not fitting; ``search_ncc``:
    plain NCC at which a template-search hit is worth a fit; ``search_support``: the fraction
    of the patch that must fit for a search hit to count;
    ``search_radius``: search window half-size (grows by ``search_growth`` per hidden frame up to
    ``max_search_radius``); ``max_correction``: how far (plus 25% of the motion) the appearance
    fit may move a point away from the flow prediction; ``flat_texture``: patch cornerness
    (grey levels² per pixel², see :class:`~.appearance.KeyframeTemplates`) below which a
    keyframe patch gives no evidence and the flow alone decides — and below which the part of
    a patch that still fits proves nothing;
    ``companions``: how many nearby points that moved alike carry a hidden point along;
    ``min_support``: the least (weighted) fraction of the patch that must still fit.
    """

    flow_preset: str = "fast"
    flow_max_side: int = 640
    patch_radius: int = 8
    fb_threshold: float = 2.0
    fb_relative: float = 0.15
    visible_ncc: float = 0.8
    trust_ncc: float = 0.85
    reacquire_ncc: float = 0.95
    reacquire_centre: float = 0.25
    search_ncc: float = 0.7
    search_support: float = 0.8
    search_radius: int = 12
    search_growth: int = 2
    max_search_radius: int = 40
    max_correction: float = 2.0
    flat_texture: float = 0.5
    companions: int = 8
    min_support: float = 0.3


class PointTracker:
    """Tracks N points from a keyframe, one frame at a time, in one direction.

    Create it with the keyframe and the points on it, then call :meth:`step` with each next
    frame (in the direction of travel); :attr:`positions` ``(N, 2)`` and :attr:`visible`
    ``(N,)`` describe the latest frame.
    """

    def __init__(self, key_frame: np.ndarray | PreparedFrame, points: np.ndarray,
                 options: TrackerOptions | None = None,
                 flow: FlowEstimator | None = None) -> None:
        self.options = options or TrackerOptions()
        opts = self.options
        self._flow = flow or FlowEstimator(opts.flow_preset)
        key = key_frame if isinstance(key_frame, PreparedFrame) else prepare(
            key_frame, opts.flow_max_side)
        self._key = key
        self._prev = key
        pts = np.asarray(points, np.float32).reshape(-1, 2)
        n = len(pts)
        self.templates = KeyframeTemplates(key.fine, pts, opts.patch_radius)
        self.positions = pts.copy()
        self.shapes = np.tile(np.eye(2, dtype=np.float32), (n, 1, 1))
        h, w = key.fine.shape
        self.size = (w, h)
        self.visible = self._inside(pts)
        self.velocity = np.zeros((n, 2), np.float32)
        self.hidden_for = np.zeros(n, np.int64)
        # Frames each point has been followed without a break (its velocity is known from 2).
        self.age = np.zeros(n, np.int64)
        self._flat = self.templates.texture < opts.flat_texture
        # For a hidden point: the companions it moved with when last seen (-1 pads), their
        # positions then, and its own position and shape then (see _carry_hidden).
        width = 2 * opts.companions
        self._comp_idx = np.full((n, width), -1, np.int64)
        self._comp_then = np.zeros((n, width, 2), np.float32)
        self._own_then = np.zeros((n, 2), np.float32)
        self._shape_then = np.tile(np.eye(2, dtype=np.float32), (n, 1, 1))

    def _inside(self, pts: np.ndarray) -> np.ndarray:
        w, h = self.size
        x, y = pts[:, 0], pts[:, 1]
        return (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5) & np.isfinite(x)

    def step(self, frame: np.ndarray | PreparedFrame,
             flows: tuple[np.ndarray, np.ndarray] | None = None,
             ) -> tuple[np.ndarray, np.ndarray]:
        """Advance to ``frame``; return (positions ``(N, 2)``, visible ``(N,)``) copies.

        ``flows`` may bring the forward and backward flow between the previous frame and this
        one, already computed (see :meth:`FlowEstimator.pair`).
        """
        opts = self.options
        cur = frame if isinstance(frame, PreparedFrame) else prepare(frame, opts.flow_max_side)
        prev_pos = self.positions.copy()
        new_pos = prev_pos + self.velocity
        new_vis = np.zeros(len(prev_pos), bool)
        seen = np.flatnonzero(self.visible)
        if len(seen):
            fwd, bwd = flows if flows is not None else self._flow.pair(self._prev, cur)
            pred, fb = forward_backward_error(fwd, bwd, prev_pos[seen], cur.scale)
            motion = np.linalg.norm(pred - prev_pos[seen], axis=1)
            fb_ok = fb <= opts.fb_threshold + opts.fb_relative * motion
            res = self.templates.align(cur.fine, pred, self.shapes[seen], index=seen)
            fits = self._fits(res, seen, pred, motion)
            trusted = fits & (fb_ok | (res.ncc >= opts.trust_ncc))
            flat = self._flat[seen]
            good = trusted & ~flat
            new_pos[seen[good]] = res.positions[good]
            self.shapes[seen[good]] = res.shapes[good]
            # Flat patches carry no appearance evidence: the flow alone decides.
            new_pos[seen[flat]] = pred[flat]
            new_vis[seen[good]] = True
            new_vis[seen[flat & fb_ok]] = True
            # A lost point keeps the flow's prediction for this frame only if the flow agreed.
            lost = ~good & ~flat
            new_pos[seen[lost]] = np.where(fb_ok[lost][:, None], pred[lost],
                                           prev_pos[seen[lost]] + self.velocity[seen[lost]])
            if lost.any():
                self._second_chance(cur, seen[lost], seen[good], prev_pos, new_pos, new_vis)
        lost = seen[~new_vis[seen]]
        self._remember_companions(lost, prev_pos)
        self._carry_hidden(new_pos, new_vis)
        self._reacquire(cur, new_pos, new_vis, retry=lost)
        new_vis &= self._inside(new_pos)
        self._comp_idx[new_vis] = -1
        was = self.visible
        both = was & new_vis
        self.velocity[both] = 0.5 * self.velocity[both] + 0.5 * (new_pos[both] - prev_pos[both])
        self.hidden_for = np.where(new_vis, 0, self.hidden_for + 1)
        self.age = np.where(both, self.age + 1, 0)
        self.positions = new_pos.astype(np.float32)
        self.visible = new_vis
        self._prev = cur
        return self.positions.copy(), self.visible.copy()

    def _fits(self, res: AlignResult, idx: np.ndarray, start: np.ndarray,
              motion: np.ndarray) -> np.ndarray:
        """Whether each appearance fit (of points ``idx`` started at ``start``) shows the
        point: converged, matching, centre uncovered, close to its start, plausible shape."""
        opts = self.options
        moved = np.linalg.norm(res.positions - start, axis=1)
        # A near-perfect fit outweighs the smooth-shape prior (the prior may be stale).
        shape_ok = _shape_change_ok(self.shapes[idx], res.shapes) | (
            (res.ncc >= opts.reacquire_ncc) & (res.support >= 0.8))
        return (res.converged & shape_ok & (res.ncc >= opts.visible_ncc)
                & (res.texture >= opts.flat_texture)
                & (res.centre_out < 0.5) & (res.support >= opts.min_support)
                & (moved <= opts.max_correction + 0.25 * motion))

    def _second_chance(self, cur: PreparedFrame, lost: np.ndarray, good: np.ndarray,
                       prev_pos: np.ndarray, pos: np.ndarray, vis: np.ndarray) -> None:
        """Refit points the flow misled, starting where their neighbours' motion puts them.

        Near a motion boundary the flow blurs an object's motion into its surroundings; the
        point's own recent velocity and the neighbours that were tracked well this frame give
        better starting points. The velocity and each of the nearest few neighbours'
        displacements are tried (one batched fit) and the best fit that passes — with a strong
        match, since the flow no longer vouches for it — wins.
        """
        opts = self.options
        disp = pos[good] - prev_pos[good]
        k = min(opts.companions, len(good))
        starts = []
        if k:
            dist = np.linalg.norm(prev_pos[lost][:, None, :] - prev_pos[good][None], axis=2)
            near = np.argsort(dist, axis=1)[:, :k]
            starts.append(prev_pos[lost][:, None, :] + disp[near])
        # The point's own velocity, once it has one (NaN rows are dropped below).
        vel = np.where((self.age[lost] >= 2)[:, None], prev_pos[lost] + self.velocity[lost],
                       np.nan)
        starts.insert(0, vel[:, None, :])
        hyp = np.concatenate(starts, axis=1)  # (L, H, 2)
        usable = np.isfinite(hyp).all(axis=2)
        # Drop hypotheses within a pixel of an earlier one for the same point.
        gap = np.linalg.norm(hyp[:, :, None, :] - hyp[:, None, :, :], axis=3)
        earlier = np.tril(np.ones(gap.shape[1:], bool), k=-1)
        dup = ((gap <= 1.0) & earlier[None] & usable[:, None, :]).any(axis=2)
        take = usable & ~dup
        if not take.any():
            return
        rows, cols = np.nonzero(take)
        idx = lost[rows]
        start = hyp[rows, cols].astype(np.float32)
        res = self.templates.align(cur.fine, start, self.shapes[idx], index=idx)
        motion = np.linalg.norm(start - prev_pos[idx], axis=1)
        ok = self._fits(res, idx, start, motion) & (res.ncc >= opts.trust_ncc)
        if not ok.any():
            return
        # The best fit per point: sort passing fits by point, then by NCC descending.
        cand = np.flatnonzero(ok)
        order = cand[np.lexsort((-res.ncc[cand], idx[cand]))]
        first = np.r_[True, idx[order][1:] != idx[order][:-1]]
        for h in order[first]:
            i = int(idx[h])
            pos[i] = res.positions[h]
            self.shapes[i] = res.shapes[h]
            vis[i] = True

    def _remember_companions(self, lost: np.ndarray, prev_pos: np.ndarray) -> None:
        """Note, for each point just lost, the nearest visible points that moved like it —
        lately (velocity) and all along (displacement since the keyframe, allowing for
        rotation with distance) — and their positions and its own at that moment."""
        seen = np.flatnonzero(self.visible)
        key = self.templates.points
        travel = prev_pos - key
        width = self._comp_idx.shape[1]
        for i in lost:
            others = seen[seen != i]
            dv = np.linalg.norm(self.velocity[others] - self.velocity[i], axis=1)
            speed = np.linalg.norm(self.velocity[i])
            dd = np.linalg.norm(travel[others] - travel[i], axis=1)
            spread = np.linalg.norm(key[others] - key[i], axis=1)
            alike = others[(dv <= 0.75 + 0.25 * speed)
                           & (dd <= 3.0 + 0.1 * np.linalg.norm(travel[i]) + 0.05 * spread)]
            dist = np.linalg.norm(prev_pos[alike] - prev_pos[i], axis=1)
            alike = alike[np.argsort(dist)[:width]]
            self._comp_idx[i] = -1
            self._comp_idx[i, :len(alike)] = alike
            self._comp_then[i, :len(alike)] = prev_pos[alike]
            self._own_then[i] = prev_pos[i]
            self._shape_then[i] = self.shapes[i]

    def _carry_hidden(self, pos: np.ndarray, vis: np.ndarray) -> None:
        """Move hidden points with the first ``companions`` of their companions seen now.

        Companions whose displacement since the loss disagrees with the median are left out
        (one of them may have been dragged along by the occluder); three or more give a
        similarity fit, which also turns and scales the patch shape, fewer a shift. Without
        any, a hidden point keeps its velocity.
        """
        hidden = np.flatnonzero(~vis & (self._comp_idx[:, 0] >= 0))
        if len(hidden) == 0:
            return
        idx = self._comp_idx[hidden]
        valid = idx >= 0
        safe = np.where(valid, idx, 0)
        alive = valid & vis[safe]
        alive &= np.cumsum(alive, axis=1) <= self.options.companions
        rows = alive.any(axis=1)
        if not rows.any():
            return
        hidden, safe, alive = hidden[rows], safe[rows], alive[rows]
        then = self._comp_then[hidden]
        now = pos[safe]
        moved = np.where(alive[..., None], now - then, np.nan)
        median = np.nanmedian(moved, axis=1)
        spread = np.linalg.norm(moved - median[:, None], axis=2)
        limit = 1.5 + 0.1 * np.linalg.norm(median, axis=1)
        inl = alive & (np.nan_to_num(spread, nan=np.inf) <= limit[:, None])
        count = inl.sum(axis=1)
        own = self._own_then[hidden]
        pos[hidden] = own + median
        fit = count >= 3
        if fit.any():
            w = inl[fit][..., None].astype(np.float32)
            src, dst, n = then[fit], now[fit], count[fit][:, None]
            ms, md = (w * src).sum(1) / n, (w * dst).sum(1) / n
            a, b = (src - ms[:, None]) * w, (dst - md[:, None]) * w
            denom = np.maximum((a * a).sum(axis=(1, 2)), 1e-9)
            c = (a * b).sum(axis=(1, 2)) / denom
            s = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(axis=1) / denom
            rot = np.stack([np.stack([c, -s], 1), np.stack([s, c], 1)], 1).astype(np.float32)
            rel = own[fit] - ms
            pos[hidden[fit]] = md + np.matmul(rot, rel[:, :, None])[:, :, 0]
            self.shapes[hidden[fit]] = np.matmul(rot, self._shape_then[hidden[fit]])

    def _reacquire(self, cur: PreparedFrame, pos: np.ndarray, vis: np.ndarray,
                   retry: np.ndarray) -> None:
        """Bring back hidden points (and points just lost) whose keyframe patch is found again.

        First a robust fit right at the predicted position (a point that was carried along
        correctly reappears there, possibly while its patch is still partly covered), then a
        template search around it for the rest. The fit keeps the shape from before: letting
        it change too would let a patch fit look-alike texture elsewhere.
        """
        opts = self.options
        hidden = np.flatnonzero(~self.visible)
        # Points hidden for long are looked for every other frame.
        hidden = hidden[(self.hidden_for[hidden] <= 6) | (self.hidden_for[hidden] % 2 == 0)]
        candidates = np.union1d(hidden, retry).astype(np.int64)
        candidates = candidates[self._inside(pos[candidates]) & ~self._flat[candidates]]
        if len(candidates) == 0:
            return
        left = self._accept_refit(cur, candidates, pos[candidates], pos, vis,
                                  opts.min_support)
        if len(left) == 0:
            return
        # Searching is the costly part: long-hidden points are searched every fourth frame.
        hid = self.hidden_for[left]
        left = left[self.visible[left] | (hid <= 3) | (hid % 4 == 0)]
        if len(left) == 0:
            return
        templates = self.templates.warped_templates(left, self.shapes[left], self._key.fine)
        found, scores = [], []
        for i, template in zip(left, templates, strict=True):
            # A point seen on the previous frame is searched for only close by.
            radius = (int(opts.max_correction) + 2 if self.visible[i] else min(
                opts.max_search_radius,
                opts.search_radius + opts.search_growth * int(self.hidden_for[i])))
            xy, score = search(cur.fine, template, pos[i], radius)
            found.append(xy)
            scores.append(score)
        good = np.asarray(scores) >= opts.search_ncc
        if good.any():
            # Away from the prediction, most of the patch must fit: a partial fit can slide
            # along an edge or a repeated structure.
            self._accept_refit(cur, left[good], np.asarray(found, np.float32)[good], pos, vis,
                               opts.search_support)

    def _accept_refit(self, cur: PreparedFrame, idx: np.ndarray, start: np.ndarray,
                      pos: np.ndarray, vis: np.ndarray, min_support: float) -> np.ndarray:
        """Fit points ``idx`` from ``start``; mark those that clearly fit (with at least
        ``min_support`` of the patch) as visible and return the indices that did not."""
        opts = self.options
        res = self.templates.align(cur.fine, start, self.shapes[idx], index=idx, fit_shape=False)
        moved = np.linalg.norm(res.positions - start, axis=1)
        ok = (res.converged & (res.ncc >= opts.reacquire_ncc) & (moved <= opts.max_correction)
              & (res.texture >= opts.flat_texture)
              & (res.centre_out < opts.reacquire_centre) & (res.support >= min_support))
        pos[idx[ok]] = res.positions[ok]
        self.shapes[idx[ok]] = res.shapes[ok]
        vis[idx[ok]] = True
        return idx[~ok]


def _shape_change_ok(before: np.ndarray, after: np.ndarray, limit: float = 0.1) -> np.ndarray:
    """Whether each 2×2 shape changed by less than ``limit`` (relative area, and rotation in
    radians) in one frame: real surfaces turn and scale smoothly."""
    det_b, det_a = np.linalg.det(before), np.linalg.det(after)
    ratio = det_a / np.where(np.abs(det_b) > 1e-9, det_b, 1e-9)
    rel = np.matmul(after, np.linalg.inv(before))
    angle = np.arctan2(rel[:, 1, 0] - rel[:, 0, 1], rel[:, 0, 0] + rel[:, 1, 1])
    return (np.abs(ratio - 1.0) < limit) & (np.abs(angle) < limit)


def track_frames(frames: Iterable[np.ndarray | PreparedFrame], key_frame: np.ndarray,
                 points: np.ndarray, options: TrackerOptions | None = None,
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Track ``points`` from ``key_frame`` through ``frames`` (in order of travel).

    Yields (positions ``(N, 2)`` float32, visible ``(N,)`` bool) for each frame of ``frames``
    (the keyframe itself is not yielded).
    """
    tracker = PointTracker(key_frame, points, options)
    for frame in frames:
        yield tracker.step(frame)
