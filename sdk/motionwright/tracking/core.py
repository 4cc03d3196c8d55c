"""The point tracker on plain frames: flow, keyframe anchoring, neighbours, visibility.

:class:`PointTracker` follows N points from their keyframe through a run of frames in one
direction (forward or backward in time). Besides the caller's points it follows a few dozen
*support points* of its own, picked on the keyframe's most distinct texture. Each step:

1. predicts every point with dense DIS flow and measures its forward–backward round-trip error
   (:mod:`motionwright.tracking.flow`);
2. *anchors* points whose keyframe patch is well conditioned (a clear minimum of the structure
   tensor) by aligning that patch at the prediction (similarity Lucas–Kanade,
   :mod:`motionwright.tracking.appearance`): anchored positions are measured against the
   keyframe, so they never drift;
3. checks every point against its anchored neighbours that move with it (same motion this
   frame, one similarity transform from the keyframe): an anchored fit that strays from them
   slid along an edge or onto another surface and is dropped; a point that cannot be anchored
   (a flat patch, a patch straddling two motions) takes the transform of one group of moving
   neighbours, or the flow, whichever leaves its surroundings looking most like the keyframe;
   a textured point whose patch stops fitting (being covered) moves with the neighbours it
   has been moving with;
4. collects evidence of visibility (anchoring, the flow round trip, how the patch compares with
   the keyframe) and changes a point's visibility only on clear or repeated evidence, so it
   does not flicker;
5. carries hidden points with the neighbours they moved with when last seen (or holds them
   where they were last confirmed), brings them back when their keyframe patch is found again, and
   keeps every position within :attr:`TrackerOptions.bounds_margin` pixels of the frame.

Frames are ``(H, W, 3)`` RGB uint8 arrays (or ``(H, W)`` grey); points ``(N, 2)`` float32
pixels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .appearance import AlignResult, KeyframeTemplates, sample_patches, search
from .flow import FlowEstimator, PreparedFrame, forward_backward_error, prepare


@dataclass(frozen=True)
class TrackerOptions:
    """Tuning of :class:`PointTracker` (pixels are full-resolution pixels).

    ``flow_preset``: DIS preset ("ultrafast", "fast", "medium"); ``flow_max_side``: long side of
    the frame copy the flow runs on; ``patch_radius``: half-size of the keyframe patch;
    ``fb_threshold`` + ``fb_relative``·|motion|: allowed forward–backward round-trip error;
    ``anchor_texture``: patch cornerness (smaller structure-tensor eigenvalue, grey levels² per
    pixel², see :class:`~.appearance.KeyframeTemplates`) from which a patch is well conditioned
    enough to anchor its point; ``visible_ncc``: NCC of the fitting part of the patch at or
    above which an anchoring fit counts (``trust_ncc`` when it starts from the point's own
    recent motion instead of the flow); ``max_correction``: how far (plus 25% of the motion)
    that fit may move a point away from the flow prediction; ``neighbour_tolerance``: how far
    (pixels, plus 2% of the distance) a point may stray from the transform of the anchored
    neighbours that move with it; ``companions``: how many such neighbours are used;
    ``support_points``: how many extra points the tracker follows on the keyframe's most
    distinct texture to serve as neighbours (0: none at all); ``local_support``: for each of
    the caller's points whose patch holds no texture, its few nearest corners within this many
    pixels also become support points (0: none);
    ``flat_difference``: the typical grey-level difference from its keyframe patch (after a
    brightness offset) up to which an unanchored patch still looks like itself;
    ``hide_after`` / ``show_after``: how many frames in a row of weak evidence hide a visible
    point or show a hidden one (clear evidence acts at once);
    ``reacquire_ncc``: NCC the fitting part of the patch must reach to bring a hidden point
    back, with at most ``reacquire_centre`` of the patch centre not fitting; ``search_ncc``:
    plain NCC at which a template-search hit is worth a fit; ``search_support``: the fraction
    of the patch that must fit for a search hit to count; ``search_radius``: search window
    half-size (grows by ``search_growth`` per hidden frame up to ``max_search_radius``);
    ``min_support``: the least (weighted) fraction of the patch that must still fit;
    ``rescan_after`` / ``rescan_every`` / ``rescan_points``: a point hidden this many frames
    is looked for over the whole frame (it may have moved far while covered) every
    ``rescan_every`` frames, at most ``rescan_points`` points a frame (0: never), its patch
    turned by each of ``rescan_turns`` (radians) in turn until it is found;
    ``rescan_ncc``: the NCC such a hit must reach; ``rescan_margin``: by how much any
    template-search hit (near or over the whole frame) must beat the best match elsewhere in
    its window, unless its surroundings twice as wide are found within ``rescan_agree``
    pixels with an NCC of at least ``rescan_context_ncc`` (texture looks alike in many places
    at patch size);
    ``bounds_margin``: every reported position lies within this many pixels outside the frame
    (a point that leaves the frame is hidden and waits at its edge).
    """

    flow_preset: str = "fast"
    flow_max_side: int = 640
    patch_radius: int = 8
    fb_threshold: float = 2.0
    fb_relative: float = 0.15
    anchor_texture: float = 1.0
    visible_ncc: float = 0.8
    trust_ncc: float = 0.9
    max_correction: float = 2.0
    neighbour_tolerance: float = 1.5
    companions: int = 8
    support_points: int = 96
    local_support: float = 48.0
    flat_difference: float = 10.0
    hide_after: int = 2
    show_after: int = 2
    reacquire_ncc: float = 0.95
    reacquire_centre: float = 0.25
    search_ncc: float = 0.7
    search_support: float = 0.8
    search_radius: int = 12
    search_growth: int = 2
    max_search_radius: int = 40
    min_support: float = 0.3
    rescan_after: int = 8
    rescan_every: int = 4
    rescan_points: int = 2
    rescan_ncc: float = 0.85
    rescan_margin: float = 0.08
    rescan_context_ncc: float = 0.6
    rescan_agree: float = 3.0
    rescan_turns: tuple[float, ...] = (0.0, 0.3, -0.3)
    bounds_margin: float = 16.0


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
        own = np.asarray(points, np.float32).reshape(-1, 2)
        self._n = len(own)
        h, w = key.fine.shape
        self.size = (w, h)
        pts = np.concatenate([own, support_points(key.fine, own, opts)])
        n = len(pts)
        self.templates = KeyframeTemplates(key.fine, pts, opts.patch_radius)
        # The wider surroundings of each point at three scales (17×17 samples spanning 2, 4
        # and 8 patch radii), to place points that cannot be anchored.
        eye = np.tile(np.eye(2, dtype=np.float32), (len(pts), 1, 1))
        self._wide_offsets, self._wide, self._wide_weights = [], [], []
        for reach in (2, 4, 8):
            grid = np.linspace(-reach, reach, 17, dtype=np.float32) * opts.patch_radius
            gx, gy = np.meshgrid(grid, grid)
            offsets = np.stack([gx.ravel(), gy.ravel()], axis=1)
            patches = sample_patches(key.fine, pts, eye, offsets)
            self._wide_offsets.append(offsets)
            self._wide.append(patches)
            self._wide_weights.append(_own_side_weights(patches, offsets,
                                                        reach * opts.patch_radius / 2))
        self._anchorable = ((self.templates.texture >= opts.anchor_texture)
                            & (self.templates.centre_texture >= opts.anchor_texture))
        self._pos = pts.copy()
        self.shapes = np.tile(np.eye(2, dtype=np.float32), (n, 1, 1))
        self._vis = self._inside(pts)
        # Frames in a row whose evidence contradicts the current visibility.
        self._streak = np.zeros(n, np.int64)
        self.hidden_for = np.zeros(n, np.int64)
        # For a hidden point: the neighbours it moved with when last seen (-1 pads), their
        # positions then, and its own position then (see _carry).
        width = opts.companions
        self._comp_idx = np.full((n, width), -1, np.int64)
        self._comp_then = np.zeros((n, width, 2), np.float32)
        self._own_then = pts.copy()
        # Where each point was last confirmed (anchored, or an unanchorable patch that looked
        # right where the flow agreed): a lost point without companions waits there.
        self._last_seen = pts.copy()
        # Whether a hidden point was last moved by live companions (else it is held).
        self._carried = np.zeros(n, bool)
        self._velocity = np.zeros((n, 2), np.float32)

    @property
    def positions(self) -> np.ndarray:
        """``(N, 2)`` float32: the caller's points on the latest frame."""
        return self._pos[:self._n]

    @property
    def visible(self) -> np.ndarray:
        """``(N,)`` bool: whether each of the caller's points is seen on the latest frame."""
        return self._vis[:self._n]

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
        fwd, bwd = flows if flows is not None else self._flow.pair(self._prev, cur)
        prev = self._pos.copy()
        pred, fb = forward_backward_error(fwd, bwd, prev, cur.scale)
        motion = np.linalg.norm(pred - prev, axis=1)
        fb_ok = fb <= opts.fb_threshold + opts.fb_relative * motion
        seen = self._vis
        pos = prev.copy()

        anchored = self._anchor(cur, np.flatnonzero(seen & self._anchorable), pred, motion, pos)
        guess = np.where(anchored[:, None], pos, pred)
        est, count = self._neighbour_estimate(np.flatnonzero(anchored), prev, guess, pos,
                                              anchored)
        # An anchored fit that strays from the neighbours moving with it slid along an edge.
        strays = anchored & (count >= 4) & (
            np.linalg.norm(pos - est, axis=1) > opts.neighbour_tolerance)
        anchored &= ~strays
        free = seen & ~anchored
        pos[free] = self._choose(cur, np.flatnonzero(free), prev, pred, pos, anchored)
        # A textured patch that no longer fits is most likely being covered: its surroundings
        # then show the occluder, so it moves with the neighbours it has been moving with.
        doubt = free & self._anchorable
        if doubt.any():
            self._remember_companions(np.flatnonzero(doubt), prev, anchored)
            carried = pos.copy()
            self._carry(carried, anchored, doubt)
            with_company = doubt & (self._comp_idx >= 0).any(axis=1)
            pos[with_company] = carried[with_company]

        # Hidden points move with the neighbours they moved with when last seen; they and
        # the points whose anchoring just failed are looked for.
        hidden = ~seen
        self._carry(pos, anchored, hidden)
        found = self._reacquire(cur, np.flatnonzero(hidden | (free & self._anchorable)), pos)
        # A hidden patch that anchors where it was carried is weak evidence (it may still be
        # half covered); a found one shows its point at once.
        again = np.flatnonzero(hidden & ~found & self._anchorable & self._inside(pos))
        anchored_again = self._anchor(cur, again, pos.copy(), np.zeros(len(pos)), pos,
                                      strict=True)
        looks_ok = self._looks_like_itself(cur, pos)
        # A flat patch looks like any flat occluder of its shade: its own side of the wider
        # surroundings must look right too. (A patch with some texture, only too little at
        # its centre to anchor, is judged by itself: its surroundings may be another surface.)
        flat = np.flatnonzero((self.templates.texture < opts.anchor_texture) & looks_ok)
        looks_ok[flat] &= (self._surround_costs(cur, flat, pos[flat, None])[:, 0]
                           <= 0.5 * opts.flat_difference)
        # A patch that could be anchored but was not is in doubt, however it looks.
        evidence = anchored | found | anchored_again | (~self._anchorable & fb_ok & looks_ok)
        # A patch that no longer looks like itself where the flow round trip fails too is
        # gone; either alone is only a hint (hide_after frames in a row hide the point).
        clear_no = ~evidence & ~looks_ok & ~fb_ok
        vis = self._update_visibility(evidence, clear_no, found, pos)
        lost = seen & ~vis
        if lost.any():
            self._remember_companions(np.flatnonzero(lost), prev, anchored)
            self._carry(pos, anchored, lost)
        self._comp_idx[vis] = -1
        confirmed = vis & evidence
        self._last_seen[confirmed] = pos[confirmed]
        steady = confirmed & seen
        self._velocity[steady] = 0.5 * self._velocity[steady] + 0.5 * (pos - prev)[steady]
        self._velocity[~vis] = 0.0

        w, h = self.size
        m = opts.bounds_margin
        pos[:, 0] = np.clip(pos[:, 0], -m, w - 1 + m)
        pos[:, 1] = np.clip(pos[:, 1], -m, h - 1 + m)
        self.hidden_for = np.where(vis, 0, self.hidden_for + 1)
        self._pos = pos.astype(np.float32)
        self._vis = vis
        self._prev = cur
        return self.positions.copy(), self.visible.copy()

    def _anchor(self, cur: PreparedFrame, idx: np.ndarray, start: np.ndarray,
                motion: np.ndarray, pos: np.ndarray, strict: bool = False) -> np.ndarray:
        """Align the keyframe patches of points ``idx`` from ``start`` ``(N, 2)``; write the
        positions of those that fit into ``pos`` and return the (N,) mask of them.

        Unless ``strict`` (then only a strong match counts), a point whose fit fails gets a
        second try from its own recent motion: the flow may have misled it (a fast or turning
        surface); without the flow's word the match must be strong.
        """
        anchored = np.zeros(len(pos), bool)
        tries = [(idx, start[idx], motion[idx], strict)]
        if not strict:
            tries.append((None, None, None, True))
        for which, begin, moved_by, strong_only in tries:
            if which is None:
                which = idx[~anchored[idx]]
                begin = self._pos[which] + self._velocity[which]
                differs = np.linalg.norm(begin - start[which], axis=1) > 1.0
                which, begin = which[differs], begin[differs]
                moved_by = np.linalg.norm(self._velocity[which], axis=1)
            if len(which) == 0:
                continue
            res = self.templates.align(cur.fine, begin, self.shapes[which], index=which)
            ok = self._fits(res, which, begin, moved_by)
            if strong_only:
                ok &= res.ncc >= self.options.trust_ncc
            pos[which[ok]] = res.positions[ok]
            self.shapes[which[ok]] = res.shapes[ok]
            anchored[which[ok]] = True
        return anchored

    def _fits(self, res: AlignResult, idx: np.ndarray, start: np.ndarray,
              motion: np.ndarray) -> np.ndarray:
        """Whether each appearance fit (of points ``idx`` started at ``start``) shows the
        point: converged, matching, well conditioned, centre uncovered, close to its start
        (a near-perfect match may correct more), plausible shape."""
        opts = self.options
        moved = np.linalg.norm(res.positions - start, axis=1)
        strong = (res.ncc >= opts.reacquire_ncc) & (res.support >= 0.8)
        shape_ok = _shape_change_ok(self.shapes[idx], res.shapes)
        return (res.converged & shape_ok & (res.ncc >= opts.visible_ncc)
                & (res.texture >= opts.anchor_texture)
                & (res.centre_out < 0.5) & (res.support >= opts.min_support)
                & ((moved <= opts.max_correction + 0.25 * motion)
                   | (strong & (moved <= 3 * opts.max_correction + 0.5 * motion))))

    def _neighbour_estimate(self, idx: np.ndarray, prev: np.ndarray, pred: np.ndarray,
                            pos: np.ndarray, anchored: np.ndarray,
                            ) -> tuple[np.ndarray, np.ndarray]:
        """Where the anchored neighbours that move with each point ``idx`` put it.

        A neighbour moves with the point when its step this frame matches the point's (from
        ``pred``), or when it travelled like the point since the keyframe; the nearest
        ``companions`` such neighbours give a similarity transform from their keyframe
        positions to their positions now (neighbours it does not fit are dropped once),
        applied to the point's keyframe position. Returns ``(N, 2)`` estimates
        (the prediction where there is none) and ``(N,)`` the number of neighbours used.
        """
        n = len(pos)
        est, count = pred.copy(), np.zeros(n, np.int64)
        src = np.flatnonzero(anchored)
        if len(idx) == 0 or len(src) < 3:
            return est, count
        opts = self.options
        k = min(3 * opts.companions, len(src))
        dist = np.linalg.norm(pred[idx][:, None, :] - pos[src][None], axis=2)
        dist[idx[:, None] == src[None]] = np.inf
        near = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < len(src) else np.tile(
            np.arange(len(src)), (len(idx), 1))
        nb = src[near]  # (L, k)
        nd = np.take_along_axis(dist, near, axis=1)
        key = self.templates.points
        step = pos[nb] - prev[nb]
        own = (pred[idx] - prev[idx])[:, None, :]
        agree = np.linalg.norm(step - own, axis=2) <= 1.0 + 0.2 * np.linalg.norm(own, axis=2)
        # Or: it had travelled like the point since the keyframe (the flow of a flat patch
        # may not see the motion at all); rotation spreads that with distance.
        travel = (prev[idx] - key[idx])[:, None, :]
        spread = np.linalg.norm(key[nb] - key[idx][:, None], axis=2)
        agree |= np.linalg.norm(prev[nb] - key[nb] - travel, axis=2) <= (
            2.0 + 0.1 * np.linalg.norm(travel, axis=2) + 0.05 * spread)
        agree &= np.isfinite(nd)
        # Keep the nearest `companions` that agree.
        order = np.argsort(np.where(agree, nd, np.inf), axis=1)[:, :opts.companions]
        nb = np.take_along_axis(nb, order, axis=1)
        use = np.take_along_axis(agree, order, axis=1)
        _, fitted = _similarity_apply(key[nb], pos[nb], use, key[idx], key[nb])
        use &= np.linalg.norm(fitted - pos[nb], axis=2) <= opts.neighbour_tolerance
        at, _ = _similarity_apply(key[nb], pos[nb], use, key[idx], key[nb])
        cnt = use.sum(axis=1)
        good = cnt >= 3
        est[idx[good]] = at[good]
        count[idx] = np.where(good, cnt, 0)
        return est, count

    def _choose(self, cur: PreparedFrame, idx: np.ndarray, prev: np.ndarray,
                pred: np.ndarray, pos: np.ndarray, anchored: np.ndarray) -> np.ndarray:
        """Positions ``(L, 2)`` for points ``idx`` that could not be anchored.

        Their nearby anchored points are grouped by their motion this frame (up to three
        groups: the surfaces around the point); each group's similarity transform from the
        keyframe proposes a position, and so does the flow. The proposal whose surroundings
        look most like the keyframe's wins — a flat patch cannot be located on its own, but
        the edges and texture around it can — at the smallest scale (2, 4 or 8 patch radii)
        that tells the proposals apart. A group whose motion does not continue the point's
        path pays for the difference, so where nothing tells (all flat) the point stays with
        its surface.
        """
        out = pred[idx].copy()
        src = np.flatnonzero(anchored)
        if len(idx) == 0 or len(src) < 2:
            return out
        opts = self.options
        k = min(24, len(src))
        dist = np.linalg.norm(prev[idx][:, None, :] - prev[src][None], axis=2)
        near = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < len(src) else np.tile(
            np.arange(len(src)), (len(idx), 1))
        nb = src[near]  # (L, k)
        step = pos[nb] - prev[nb]
        gap = np.linalg.norm(step[:, :, None] - step[:, None], axis=3)
        size = np.linalg.norm(step, axis=2)
        close = gap <= 0.75 + 0.1 * np.maximum(size[:, :, None], size[:, None])
        # ... and travelled alike since the keyframe (surfaces may move alike for a while).
        key = self.templates.points
        travel = prev[nb] - key[nb]
        apart = np.linalg.norm(key[nb][:, :, None] - key[nb][:, None], axis=3)
        far = np.linalg.norm(travel, axis=2)
        close &= np.linalg.norm(travel[:, :, None] - travel[:, None], axis=3) <= (
            2.0 + 0.1 * np.maximum(far[:, :, None], far[:, None]) + 0.05 * apart)
        free = np.ones(nb.shape, bool)
        cands, offs = [out], [np.zeros(len(idx))]
        # How far each proposal's surface has moved since the keyframe, near the point.
        moves = [out - key[idx]]
        for _ in range(3):
            votes = (close & free[:, None, :] & free[:, :, None]).sum(axis=2)
            seed = votes.argmax(axis=1)
            member = np.take_along_axis(close, seed[:, None, None], axis=1)[:, 0] & free
            free &= ~member
            usable = member.sum(axis=1) >= 2
            if not usable.any():
                break
            _, fitted = _similarity_apply(key[nb], pos[nb], member, key[idx], key[nb])
            member &= np.linalg.norm(fitted - pos[nb], axis=2) <= opts.neighbour_tolerance
            at, _ = _similarity_apply(key[nb], pos[nb], member, key[idx], key[nb])
            usable &= member.sum(axis=1) >= 2
            # A proposal pays for moving the point unlike its group did this frame: where the
            # surroundings cannot tell, the group the point kept up with wins, and a group of
            # another surface cannot throw the point far away.
            w = member[..., None]
            group_step = (step * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1)
            off_vec = at - prev[idx] - group_step
            off = np.linalg.norm(off_vec, axis=1)
            # Nor may it jump: a group's transform, fitted on points far from this one, can
            # put it anywhere. One frame moves it at most a few pixels off the group's step.
            reach = 2.0 * opts.max_correction + 0.5 * np.linalg.norm(group_step, axis=1)
            moves.append(np.where(usable[:, None], at - key[idx], moves[0]))
            at = prev[idx] + group_step + off_vec * np.minimum(
                1.0, reach / np.maximum(off, 1e-6))[:, None]
            cands.append(np.where(usable[:, None], at, out))
            offs.append(np.where(usable, off, np.inf))
        cands, moves = np.stack(cands, axis=1), np.stack(moves, axis=1)  # (L, C, 2)
        # Where the looks are close, the neighbours (the larger group first) beat the flow.
        bias = np.stack(offs, axis=1) * 0.1 + np.arange(cands.shape[1]) * 0.1
        bias[:, 0] += 1.0
        best = np.zeros(len(idx), np.int64)
        todo = np.arange(len(idx))
        # Evidence adds up over the scales: a wider view joins the closer one, it does not
        # overrule it (an occluder nearing a flat point shows only in the wide view).
        total = bias.copy()
        for scale in range(len(self._wide)):
            total[todo] += self._surround_costs(cur, idx[todo], cands[todo], scale,
                                                moves[todo])
            cost = total[todo]
            best[todo] = cost.argmin(axis=1)
            # Surroundings that cannot tell the proposals apart defer to wider ones.
            finite = np.where(np.isfinite(cost), cost, np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                spread = np.nanmax(finite, axis=1) - np.nanmin(finite, axis=1)
            todo = todo[spread <= 1.5]
            if len(todo) == 0:
                break
        return cands[np.arange(len(idx)), best]

    def _surround_costs(self, cur: PreparedFrame, idx: np.ndarray, cands: np.ndarray,
                        scale: int = 0, moves: np.ndarray | None = None, match: float = 6.0,
                        shade: float = 15.0) -> np.ndarray:
        """Costs ``(L, C)`` of placing points ``idx`` at each of their proposals ``cands``
        ``(L, C, 2)``: the mean grey-level difference (after a brightness offset; each pixel's
        at most 30, the point's own side weighted most) between their surroundings there and
        on the keyframe, at ``scale`` (0, 1, 2: 2, 4, 8 patch radii).

        ``moves`` ``(L, C, 2)``, when given, says how far the surface each proposal follows has
        moved since the keyframe. Then, for a point on a flat patch, a pixel that another
        proposal's surface explains as moving in front (it matches, within ``match`` grey
        levels, the keyframe pixel that surface's motion brings there, and that keyframe pixel
        differs from the point's own shade by more than ``shade``) costs nothing: an occluder
        closing in on a flat point must not make the point's true place look wrong and push
        the point onto the occluder.
        """
        offsets = self._wide_offsets[scale]
        key_patch = self._wide[scale][idx]
        centre = np.argmin((offsets**2).sum(axis=1))
        own_shade = key_patch[:, centre:centre + 1]
        eye = np.tile(np.eye(2, dtype=np.float32), (len(idx), 1, 1))
        out = np.zeros(cands.shape[:2])
        # Only a flat point's own side is told from other surfaces by its shade: a textured
        # point's own texture would pass for an occluder.
        flat = self.templates.texture[idx] < self.options.anchor_texture
        for c in range(cands.shape[1]):
            patch = sample_patches(cur.fine, cands[:, c], self.shapes[idx], offsets)
            diff = patch - key_patch
            level = np.median(diff, axis=1, keepdims=True)
            # A mean, not a median: in mostly flat surroundings the few pixels of texture decide.
            diff = np.minimum(np.abs(diff - level), 30.0)
            for other in range(cands.shape[1] if moves is not None else 0):
                apart = flat & (np.linalg.norm(moves[:, c] - moves[:, other], axis=1) > 1.0)
                if not apart.any():
                    continue
                before = sample_patches(self._key.fine, cands[:, c] - moves[:, other], eye,
                                        offsets)
                in_front = ((np.abs(patch - before - level) <= match)
                            & (np.abs(before - own_shade) > shade) & apart[:, None])
                diff = np.where(in_front, 0.0, diff)
            out[:, c] = (diff * self._wide_weights[scale][idx]).sum(axis=1)
        return out

    def _looks_like_itself(self, cur: PreparedFrame, pos: np.ndarray) -> np.ndarray:
        """Whether each patch at ``pos`` (current shapes) still matches its keyframe patch:
        the typical grey-level difference (after a brightness offset of at most
        2·``flat_difference``) within ``flat_difference``. Meant for patches that cannot be
        anchored, where a small misplacement changes little."""
        tpl = self.templates
        patch = sample_patches(cur.fine, pos, self.shapes, tpl.offsets)
        diff = patch - tpl.templates
        bias = np.median(diff, axis=1)
        spread = np.median(np.abs(diff - bias[:, None]), axis=1)
        limit = self.options.flat_difference
        return (spread <= limit) & (np.abs(bias) <= 2 * limit)

    def _remember_companions(self, idx: np.ndarray, prev: np.ndarray,
                             anchored: np.ndarray) -> None:
        """Note, for points ``idx`` just put in doubt, the nearest anchored points that moved
        like them (displacement since the keyframe, allowing for rotation with distance, and
        their recent velocity), and their positions and its own on the previous frame."""
        if len(idx) == 0:
            return
        key = self.templates.points
        travel = prev - key
        others = np.flatnonzero(anchored & self._vis)
        width = self._comp_idx.shape[1]
        for i in idx:
            cand = others[others != i]
            dd = np.linalg.norm(travel[cand] - travel[i], axis=1)
            spread = np.linalg.norm(key[cand] - key[i], axis=1)
            # An occluder moving over the point may have travelled alike since the keyframe,
            # but it does not move like the point now.
            pace = np.linalg.norm(self._velocity[cand] - self._velocity[i], axis=1)
            alike = cand[(dd <= 3.0 + 0.1 * np.linalg.norm(travel[i]) + 0.05 * spread)
                         & (pace <= 1.0 + 0.25 * np.linalg.norm(self._velocity[i]))]
            dist = np.linalg.norm(prev[alike] - prev[i], axis=1)
            alike = alike[np.argsort(dist)[:width]]
            self._comp_idx[i] = -1
            self._comp_idx[i, :len(alike)] = alike
            self._comp_then[i, :len(alike)] = prev[alike]
            self._own_then[i] = prev[i]

    def _carry(self, pos: np.ndarray, alive: np.ndarray, which: np.ndarray) -> None:
        """Move points ``which`` with their remembered companions that are ``alive`` now.

        Companions whose displacement since then disagrees with the median are left out (one
        may have been dragged along by the occluder); three or more give a similarity fit, fewer
        a shift. Points without any wait where they were last confirmed.
        """
        idx = np.flatnonzero(which)
        if len(idx) == 0:
            return
        comp = self._comp_idx[idx]
        safe = np.where(comp >= 0, comp, 0)
        use = (comp >= 0) & alive[safe]
        then = self._comp_then[idx]
        moved = np.where(use[..., None], pos[safe] - then, np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nan_to_num(np.nanmedian(moved, axis=1))
        spread = np.linalg.norm(np.nan_to_num(moved, nan=np.inf) - median[:, None], axis=2)
        use &= spread <= 1.5 + 0.1 * np.linalg.norm(median, axis=1)[:, None]
        cnt = use.sum(axis=1)
        new, _ = _similarity_apply(then, pos[safe], use, self._own_then[idx], then)
        pos[idx] = np.where((cnt > 0)[:, None], new, self._last_seen[idx])
        self._carried[idx] = cnt > 0

    def _reacquire(self, cur: PreparedFrame, hidden: np.ndarray,
                   pos: np.ndarray) -> np.ndarray:
        """Look for the anchorable points among ``hidden`` whose keyframe patch is found
        again; return the (N,) mask of those found (their positions are written into ``pos``).

        First a robust fit right at the carried position (a point carried correctly reappears
        there, possibly while its patch is still partly covered), then a template search
        around it for the rest, and for points hidden long a search over the whole frame
        (see :meth:`_rescan`). The fit keeps the shape from before: letting it change too
        would let a patch fit look-alike texture elsewhere.
        """
        opts = self.options
        found = np.zeros(len(pos), bool)
        # Points hidden for long are looked for every other frame.
        hid = self.hidden_for[hidden]
        cand = hidden[((hid <= 6) | (hid % 2 == 0)) & self._anchorable[hidden]]
        cand = cand[self._inside(pos[cand])]
        if len(cand):
            self._search_near(cur, self._accept_refit(cur, cand, pos[cand], pos, found,
                                                      opts.min_support), pos, found)
        self._rescan(cur, hidden[~found[hidden]], pos, found)
        return found

    def _search_near(self, cur: PreparedFrame, idx: np.ndarray, pos: np.ndarray,
                     found: np.ndarray) -> None:
        """Search for points ``idx`` around their carried positions, in a window that grows
        the longer they have been hidden; mark those whose patch then clearly fits."""
        opts = self.options
        # Searching is the costly part: long-hidden points are searched every fourth frame.
        hid = self.hidden_for[idx]
        idx = idx[(hid <= 3) | (hid % 4 == 0)]
        if len(idx) == 0:
            return
        radii = np.minimum(opts.max_search_radius,
                           opts.search_radius + opts.search_growth * self.hidden_for[idx])
        keep, hits = self._search(cur, idx, pos[idx], radii, opts.search_ncc)
        # Away from the prediction, most of the patch must fit: a partial fit can slide
        # along an edge or a repeated structure.
        self._accept_refit(cur, keep, hits, pos, found, opts.search_support)

    def _rescan(self, cur: PreparedFrame, idx: np.ndarray, pos: np.ndarray,
                found: np.ndarray) -> None:
        """Look for long-hidden anchorable points among ``idx`` over the whole frame: while
        covered for long, a surface can move further than any search around the carried
        position reaches, and turn too. A few points a frame, each every ``rescan_every``
        frames; a point that live companions carry is left to them (a hit elsewhere is more
        likely look-alike texture than its surface)."""
        opts = self.options
        if opts.rescan_points <= 0 or len(idx) == 0:
            return
        hid = self.hidden_for[idx]
        due = idx[self._anchorable[idx] & ~self._vis[idx] & ~self._carried[idx]
                  & (hid >= opts.rescan_after)
                  & ((hid + idx) % max(1, opts.rescan_every) == 0)][:opts.rescan_points]
        for turn in opts.rescan_turns:
            left = due[~found[due]]
            if len(left) == 0:
                break
            cos, sin = math.cos(turn), math.sin(turn)
            shapes = np.array([[cos, -sin], [sin, cos]], np.float32) @ self.shapes[left]
            keep, hits = self._search(cur, left, None, None, opts.rescan_ncc, shapes)
            # The hit, found with a shape near the surface's, is a few pixels off: the fit
            # that decides may move further and fits the shape too.
            self._accept_refit(cur, keep, hits, pos, found, opts.search_support,
                               shapes=shapes[np.searchsorted(left, keep)],
                               max_move=opts.rescan_agree + opts.max_correction + 1 / cur.scale)

    def _search(self, cur: PreparedFrame, idx: np.ndarray, centres: np.ndarray | None,
                radii: np.ndarray | None, min_ncc: float, shapes: np.ndarray | None = None,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Template-search points ``idx`` within ``radii`` of ``centres`` ``(M, 2)`` (None:
        the whole frame), their patches under ``shapes`` ``(M, 2, 2)`` (default: their
        current ones); return the points with a credible hit and the hits ``(K, 2)``.

        Texture can look alike in many places at patch size: a hit of at least ``min_ncc``
        counts where it stands out from every other place, or where the patch's wider
        surroundings are found at the same place too (not required always: a small object's
        surroundings change as it moves).
        """
        opts = self.options
        if len(idx) == 0:
            return idx, np.zeros((0, 2), np.float32)
        if centres is None and cur.scale < 1.0:
            # Over the whole of a large frame, the flow's smaller image is searched: far
            # cheaper, and the fit that follows corrects the position.
            image, key = cur.coarse.astype(np.float32), self._key.coarse.astype(np.float32)
            scale = cur.scale
        else:
            image, key, scale = cur.fine, self._key.fine, 1.0
        radius = max(4, round(self.templates.radius * scale))
        shapes = self.shapes[idx] if shapes is None else shapes
        small = self.templates.warped_templates(idx, shapes, key, radius, scale)
        keep, hits = [], []
        for k, i in enumerate(idx):
            centre = None if centres is None else centres[k]
            reach = 0 if radii is None else int(radii[k])
            xy, best, second = search(image, small[k], centre, reach)
            xy = xy / scale
            if scale < 1.0 and best >= min_ncc:
                # The hit is placed, and its score taken, at full size.
                full = self.templates.warped_templates(idx[k:k + 1], shapes[k:k + 1],
                                                       self._key.fine)[0]
                xy, best, _ = search(cur.fine, full, xy, math.ceil(1 / scale))
            if best < min_ncc:
                continue
            if best - second < opts.rescan_margin:
                # Only now are the wider surroundings worth sampling.
                wide = self.templates.warped_templates(idx[k:k + 1], shapes[k:k + 1], key,
                                                       2 * radius, scale)[0]
                xy_wide, best_wide, _ = search(image, wide, centre, reach)
                if (best_wide < opts.rescan_context_ncc
                        or np.linalg.norm(xy - xy_wide / scale) > opts.rescan_agree):
                    continue
            keep.append(i)
            hits.append(xy)
        return np.asarray(keep, np.int64), np.asarray(hits, np.float32).reshape(-1, 2)

    def _accept_refit(self, cur: PreparedFrame, idx: np.ndarray, start: np.ndarray,
                      pos: np.ndarray, found: np.ndarray, min_support: float,
                      shapes: np.ndarray | None = None,
                      max_move: float | None = None) -> np.ndarray:
        """Fit points ``idx`` from ``start``; mark those that clearly fit (with at least
        ``min_support`` of the patch, moving at most ``max_move`` pixels, default
        ``max_correction``) as found and return the indices that did not. The fit keeps each
        point's shape, unless starting ``shapes`` ``(K, 2, 2)`` are given: it then fits the
        shape too."""
        opts = self.options
        if len(idx) == 0:
            return idx
        max_move = opts.max_correction if max_move is None else max_move
        fit_shape = shapes is not None
        res = self.templates.align(cur.fine, start, shapes if fit_shape else self.shapes[idx],
                                   index=idx, fit_shape=fit_shape)
        moved = np.linalg.norm(res.positions - start, axis=1)
        ok = (res.converged & (res.ncc >= opts.reacquire_ncc) & (moved <= max_move)
              & (res.texture >= opts.anchor_texture)
              & (res.centre_out < opts.reacquire_centre) & (res.support >= min_support))
        pos[idx[ok]] = res.positions[ok]
        self.shapes[idx[ok]] = res.shapes[ok]
        found[idx[ok]] = True
        return idx[~ok]

    def _update_visibility(self, evidence: np.ndarray, clear_no: np.ndarray,
                           found: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """The new visibility: hysteresis over ``evidence`` (N,) bool; ``clear_no`` hides a
        visible point at once, ``found`` (a re-acquired patch) shows a hidden one at once,
        and a point outside the frame is hidden."""
        opts = self.options
        was = self._vis
        contra = np.where(was, ~evidence, evidence)
        self._streak = np.where(contra, self._streak + 1, 0)
        hide = was & ((self._streak >= opts.hide_after) | clear_no)
        show = ~was & ((self._streak >= opts.show_after) | found)
        vis = (was & ~hide) | show
        vis &= self._inside(pos)
        self._streak[vis != was] = 0
        return vis


def _own_side_weights(patches: np.ndarray, offsets: np.ndarray, radius: float,
                      contrast: float = 15.0) -> np.ndarray:
    """Weights ``(N, P)`` (rows sum to 1) for the pixels of keyframe patches ``(N, P)`` at
    ``offsets`` ``(P, 2)`` (a square grid): a Gaussian of ``radius`` pixels around the point
    times how close each pixel's grey level is to the point's own (``contrast`` grey levels),
    times whether the pixel is joined to the point without crossing an edge.

    Near an outline the pixels on the point's side of it — its own surface, which moves with
    it — decide, not the other surface's texture; a surface of a similar shade beyond an
    outline is another surface all the same.
    """
    centre = np.argmin((offsets**2).sum(axis=1))
    r2 = (offsets**2).sum(axis=1)
    own = patches[:, centre:centre + 1]
    w = np.exp(-r2 / (2.0 * radius**2))[None] * np.exp(-((patches - own) / contrast) ** 2 / 2)
    joined = w * _joined_to_centre(patches, offsets)
    # A region too small to judge by (a point on fine texture) keeps the grey-level weights.
    small = joined.sum(axis=1) < 0.1 * w.sum(axis=1)
    w = np.where(small[:, None], w, joined)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def _joined_to_centre(patches: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``(N, P)`` bool: the samples of square-grid patches ``(N, P)`` reachable from the centre
    through neighbouring samples that differ by at most a few grey levels (more for a coarser
    grid, where a smooth shading changes more from sample to sample): the point's own region,
    bounded by the edges around it."""
    side = round(np.sqrt(patches.shape[1]))
    spacing = float(np.abs(offsets[1, 0] - offsets[0, 0])) or 1.0
    step = 3.0 + 0.5 * spacing
    out = np.zeros(patches.shape, bool)
    mask = np.zeros((side + 2, side + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    seed = (side // 2, side // 2)
    for i, patch in enumerate(patches):
        mask[:] = 0
        cv2.floodFill(np.ascontiguousarray(patch.reshape(side, side)), mask, seed, 0,
                      step, step, flags)
        out[i] = mask[1:-1, 1:-1].ravel() > 0
    return out


def support_points(key_image: np.ndarray, points: np.ndarray,
                   options: TrackerOptions) -> np.ndarray:
    """The tracker's own points ``(M, 2)`` float32 on ``key_image`` ``(H, W)``: the most
    distinct corners (Shi–Tomasi), spread over the frame, away from the border and from the
    caller's ``points``."""
    if options.support_points <= 0:
        return np.zeros((0, 2), np.float32)
    h, w = key_image.shape
    border = options.patch_radius + 2
    mask = np.zeros((h, w), np.uint8)
    mask[border:h - border, border:w - border] = 255
    spacing = max(8.0, max(h, w) / 30.0)
    found = cv2.goodFeaturesToTrack(key_image, options.support_points, 0.01, spacing, mask=mask,
                                    blockSize=7)
    if found is None:
        return np.zeros((0, 2), np.float32)
    corners = found.reshape(-1, 2).astype(np.float32)
    if len(points):
        corners = np.concatenate([corners, _local_support(key_image, points, mask, options)])
        gap = np.linalg.norm(corners[:, None] - points[None], axis=2).min(axis=1)
        corners = corners[gap > 2.0]
    return corners


def _local_support(key_image: np.ndarray, points: np.ndarray, mask: np.ndarray,
                   options: TrackerOptions, per_point: int = 4) -> np.ndarray:
    """Extra support points ``(M, 2)`` near the caller's ``points`` that cannot be anchored:
    the ``per_point`` nearest corners within ``local_support`` pixels of each. Frame-wide support
    is sparse; a flat point needs texture of its own surface close by to tell which way it
    moved."""
    if options.local_support <= 0:
        return np.zeros((0, 2), np.float32)
    tpl = KeyframeTemplates(key_image, points, options.patch_radius)
    # Only points with no texture in their whole patch: one whose patch holds an outline
    # has its own side of it to go by.
    flat = points[tpl.texture < options.anchor_texture]
    if len(flat) == 0:
        return np.zeros((0, 2), np.float32)
    pool = cv2.goodFeaturesToTrack(key_image, 4000, 0.01, 8.0, mask=mask, blockSize=7)
    if pool is None:
        return np.zeros((0, 2), np.float32)
    pool = pool.reshape(-1, 2).astype(np.float32)
    dist = np.linalg.norm(flat[:, None] - pool[None], axis=2)  # (F, C)
    # The nearest corners: the likeliest to lie on the point's own surface.
    nearest = np.argsort(dist, axis=1)[:, :per_point]
    close = np.take_along_axis(dist, nearest, axis=1) <= options.local_support
    return pool[np.unique(nearest[close])]


def _similarity_apply(src: np.ndarray, dst: np.ndarray, use: np.ndarray, at: np.ndarray,
                      also: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit, per row, the similarity transform taking ``src`` to ``dst`` ``(L, K, 2)`` over the
    pairs ``use`` ``(L, K)`` (a shift when fewer than 3), and apply it to ``at`` ``(L, 2)``
    and ``also`` ``(L, K, 2)``."""
    w = use[..., None].astype(np.float64)
    cnt = np.maximum(w.sum(axis=1), 1e-9)
    ms, md = (w * src).sum(1) / cnt, (w * dst).sum(1) / cnt
    a, b = (src - ms[:, None]) * w, (dst - md[:, None]) * w
    denom = np.maximum((a * a).sum(axis=(1, 2)), 1e-9)
    c = (a * b).sum(axis=(1, 2)) / denom
    s = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(axis=1) / denom
    shift_only = use.sum(axis=1) < 3
    c, s = np.where(shift_only, 1.0, c), np.where(shift_only, 0.0, s)
    rot = np.stack([np.stack([c, -s], 1), np.stack([s, c], 1)], 1)
    out = md + np.matmul(rot, (at - ms)[:, :, None])[:, :, 0]
    out_also = md[:, None] + np.einsum("lij,lkj->lki", rot, also - ms[:, None])
    return out.astype(np.float32), out_also.astype(np.float32)


def _shape_change_ok(before: np.ndarray, after: np.ndarray, limit: float = 0.04) -> np.ndarray:
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
