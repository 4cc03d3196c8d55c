"""Keyframe appearance models: align each point's keyframe patch to a later frame.

Every tracked point keeps the square patch around it on its keyframe as a template. On each new
frame the template is aligned to the image by an inverse-compositional Lucas–Kanade fit
(Baker & Matthews 2004) of a similarity warp (shift, rotation, scale), started from the flow
prediction and the previous frame's shape. The position is therefore always measured against
the keyframe's appearance, so small flow errors never add up into drift, while the shape
follows the rotation and scaling of the surface. Pixels that do not fit (an occluder, a
background moving differently) are weighted out (Tukey). How well the rest fits — NCC, the
share of the patch that fits, whether its centre fits — drives the visibility decision; a
template search re-acquires points after an occlusion.

Images here are ``(H, W)`` float32 grey levels (0–255, lightly blurred), positions ``(N, 2)``
float32 pixels, shapes ``(N, 2, 2)`` float32 (the rotation-scale matrix mapping template
offsets to image offsets; identity on the keyframe).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_EYE = np.eye(4, dtype=np.float32)


def sample_patches(image: np.ndarray, centres: np.ndarray, shapes: np.ndarray,
                   offsets: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` at ``centre + shape @ offset`` for every point.

    ``centres`` ``(N, 2)``, ``shapes`` ``(N, 2, 2)``, ``offsets`` ``(P, 2)`` -> ``(N, P)``
    float32. Samples outside the image repeat the border pixel.
    """
    n = len(centres)
    if n == 0:
        return np.zeros((0, len(offsets)), np.float32)
    s = np.asarray(shapes, np.float32)
    c = np.asarray(centres, np.float32)
    ox, oy = offsets[None, :, 0], offsets[None, :, 1]
    mx = c[:, 0:1] + s[:, 0, 0:1] * ox + s[:, 0, 1:2] * oy
    my = c[:, 1:2] + s[:, 1, 0:1] * ox + s[:, 1, 1:2] * oy
    out = cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(n, -1)


def weighted_ncc(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted normalised cross-correlation of ``a`` and ``b`` ``(N, P)`` -> ``(N,)``.

    ``weights`` is ``(P,)`` or ``(N, P)``. Flat patches (no texture) score 0.
    """
    w = np.broadcast_to(weights, a.shape)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-9)
    da = a - (a * w).sum(axis=1, keepdims=True)
    db = b - (b * w).sum(axis=1, keepdims=True)
    num = (w * da * db).sum(axis=1)
    den = np.sqrt((w * da * da).sum(axis=1) * (w * db * db).sum(axis=1))
    return np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0).astype(np.float32)


@dataclass
class AlignResult:
    """Outcome of aligning templates to one frame.

    ``positions`` ``(N, 2)`` and ``shapes`` ``(N, 2, 2)`` float32; ``ncc`` ``(N,)`` float32:
    NCC of the aligned patch with the template over the pixels that fit (robust weights), in
    [-1, 1]; ``support`` ``(N,)``: the weighted fraction of the patch that fits; ``centre_out``
    ``(N,)``: the weighted fraction of the patch centre that does not fit (near 1 when the point
    itself is covered); ``texture`` ``(N,)``: the cornerness (see
    :attr:`KeyframeTemplates.texture`) of the part that fits — a fit of a flat remainder proves
    nothing; ``converged`` ``(N,)`` bool: the last update was small and the shape
    stayed sane.
    """

    positions: np.ndarray
    shapes: np.ndarray
    ncc: np.ndarray
    support: np.ndarray
    centre_out: np.ndarray
    texture: np.ndarray
    converged: np.ndarray


def cornerness(tx: np.ndarray, ty: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Shi–Tomasi cornerness of patches: the smaller eigenvalue of the weighted structure
    tensor of gradients ``tx``, ``ty`` ``(N, P)`` under ``weights`` (``(P,)`` or ``(N, P)``),
    in grey levels² per pixel². Small means flat, or an edge a patch could slide along."""
    w = np.broadcast_to(weights, tx.shape)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-9)
    gxx, gyy, gxy = (tx * tx * w).sum(1), (ty * ty * w).sum(1), (tx * ty * w).sum(1)
    return (0.5 * (gxx + gyy) - np.sqrt(0.25 * (gxx - gyy) ** 2 + gxy**2)).astype(np.float32)


def _robust_weights(resid: np.ndarray, tukey: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel IRLS weights for residuals ``(M, P)`` and the robust scale ``(M, 1)``.

    The scale comes from the lower quartile of |r| (|r| of Gaussian noise has its 25th
    percentile at 0.3186·σ), so it stays right while up to three quarters of the patch is an
    occluder; at least 2 grey levels. Huber weights (k = 1.345·scale) while converging,
    Tukey's biweight (c = 4.685·scale) once close, which ignores pixels of an occluder or of a
    differently moving background entirely.
    """
    mag = np.abs(resid)
    # Every third pixel is plenty for a quartile, at a third of the cost.
    sub = mag[:, ::3]
    q = sub.shape[1] // 4
    quartile = np.partition(sub, q, axis=1)[:, q:q + 1]
    scale = np.maximum(quartile / 0.3186, 2.0)
    if tukey:
        u = mag / (4.685 * scale)
        return np.where(u < 1.0, (1.0 - u * u) ** 2, 0.0).astype(np.float32), scale
    k = 1.345 * scale
    return np.minimum(1.0, k / np.maximum(mag, 1e-6)).astype(np.float32), scale


class KeyframeTemplates:
    """The keyframe patches of N points and their precomputed inverse-compositional terms.

    ``radius`` is the half-size of the square patch in pixels (patch side ``2·radius+1``);
    the fit weighs pixels with a Gaussian of ``sigma`` (default ``radius / 2.7``) so the centre
    counts most and a neighbouring surface little,
    times robust weights so pixels that do not fit (an occluder, a background moving
    differently) stop pulling the estimate. With ``sparse`` the fit uses every pixel within 2 px
    of the point and a checkerboard of the rest — half the work for the same precision on
    natural texture.
    """

    def __init__(self, key_image: np.ndarray, points: np.ndarray, radius: int = 8,
                 sigma: float | None = None, sparse: bool = True) -> None:
        self.radius = int(radius)
        side = 2 * self.radius + 1
        grid = np.arange(-self.radius, self.radius + 1, dtype=np.float32)
        gx, gy = np.meshgrid(grid, grid)
        self.full_offsets = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (side², 2)
        r2 = gx.ravel() ** 2 + gy.ravel() ** 2
        keep = np.ones(side * side, bool)
        if sparse:
            keep = ((gx.ravel() + gy.ravel()) % 2 == 0) | (r2 <= 4)
        self.offsets = self.full_offsets[keep]  # (P, 2)
        r2 = r2[keep]
        sigma = self.radius / 2.7 if sigma is None else float(sigma)
        self.weights = np.exp(-r2 / (2 * sigma**2)).astype(np.float32)
        self.centre_weights = np.exp(-r2 / (2 * 0.8**2)).astype(np.float32)
        self.bias_weights = np.exp(-r2 / (2 * 2.5**2)).astype(np.float32)
        self.points = np.asarray(points, np.float32).reshape(-1, 2)
        n = len(self.points)
        eye = np.broadcast_to(np.eye(2, dtype=np.float32), (n, 2, 2))
        # One pixel of margin for the central-difference gradient.
        big = np.arange(-self.radius - 1, self.radius + 2, dtype=np.float32)
        bx, by = np.meshgrid(big, big)
        big_offsets = np.stack([bx.ravel(), by.ravel()], axis=1)
        patch = sample_patches(key_image, self.points, eye, big_offsets).reshape(
            n, side + 2, side + 2)
        self.templates = patch[:, 1:-1, 1:-1].reshape(n, -1)[:, keep]
        tx = ((patch[:, 1:-1, 2:] - patch[:, 1:-1, :-2]) * 0.5).reshape(n, -1)[:, keep]
        ty = ((patch[:, 2:, 1:-1] - patch[:, :-2, 1:-1]) * 0.5).reshape(n, -1)[:, keep]
        x, y = self.offsets[:, 0], self.offsets[:, 1]
        # Steepest-descent images of the similarity warp W(x; a, b, t) = [[1+a, -b], [b, 1+a]]·x
        # + t at p = 0: dW/da = (x, y), dW/db = (-y, x), dW/dt = identity.
        self.steepest = np.stack([tx * x + ty * y, ty * x - tx * y, tx, ty], axis=2)  # (N, P, 4)
        self.steepest_t = np.ascontiguousarray(self.steepest.transpose(0, 2, 1))  # (N, 4, P)
        t_mean = (self.templates * self.weights).sum(axis=1) / self.weights.sum()
        self.templates_zm = self.templates - t_mean[:, None]
        self.texture = cornerness(tx, ty, self.weights)
        # The same within a few pixels of the point: whether the point's own surface, not just
        # its surroundings, can be located.
        self.centre_texture = cornerness(tx, ty, self.bias_weights)

    def __len__(self) -> int:
        return len(self.points)

    def align(self, image: np.ndarray, positions: np.ndarray, shapes: np.ndarray,
              index: np.ndarray | None = None, iterations: int = 6,
              translation_iterations: int = 2, tolerance: float = 0.05,
              fit_shape: bool = True) -> AlignResult:
        """Align the templates (all, or those at ``index``) to ``image``.

        Starts from ``positions`` ``(M, 2)`` and ``shapes`` ``(M, 2, 2)`` (M points) and runs
        ``translation_iterations`` translation-only steps, then steps that also fit rotation and
        scale (unless ``fit_shape`` is False), for at most ``iterations`` in all
        (iteratively reweighted least squares). Points stop early once a step moves them less
        than ``tolerance`` pixels.
        """
        if not fit_shape:
            translation_iterations = iterations
        idx = np.arange(len(self)) if index is None else np.asarray(index, np.int64)
        pos = np.asarray(positions, np.float32).reshape(-1, 2).copy()
        shp = np.asarray(shapes, np.float32).reshape(-1, 2, 2).copy()
        m = len(idx)
        if m == 0:
            empty = np.zeros((0,), np.float32)
            return AlignResult(pos, shp, empty, empty, empty, empty, np.zeros(0, bool))
        templ_all = self.templates[idx]
        sd_all, sdt_all = self.steepest[idx], self.steepest_t[idx]
        gauss = self.weights[None, :]
        gsum = float(self.weights.sum())
        robust_all = np.ones((m, len(self.weights)), np.float32)
        step_all = np.full(m, np.inf, np.float32)
        active = np.arange(m)
        templ, sd, sdt = templ_all, sd_all, sdt_all
        for it in range(iterations):
            if len(active) == 0:
                break
            warped = sample_patches(image, pos[active], shp[active], self.offsets)
            # Brightness offset between template and image, over the pixels that fit (on the
            # first pass, around the centre: the point's own surface).
            bias_w = self.bias_weights[None, :] if it == 0 else gauss * robust_all[active]
            diff = warped - templ
            bias = (diff * bias_w).sum(axis=1, keepdims=True) / bias_w.sum(axis=1, keepdims=True)
            resid = diff - bias
            robust, _ = _robust_weights(resid, tukey=True)
            robust_all[active] = robust
            wts = gauss * robust
            sdw_t = sdt * wts[:, None, :]
            b = np.matmul(sdw_t, resid[:, :, None])[:, :, 0]
            # Translation-only steps first, and for patches that are largely covered (their
            # rotation and scale cannot be told from what is left).
            support = wts.sum(axis=1) / gsum
            full = (support >= 0.8) if it >= translation_iterations else np.zeros(len(active),
                                                                                    bool)
            dp = np.zeros((len(active), 4), np.float32)
            part = ~full
            if part.any():
                # Closed-form 2×2 solve of the weighted translation normal equations.
                tx, ty = sd[part, :, 2], sd[part, :, 3]
                w = wts[part]
                hxx, hyy, hxy = (w * tx * tx).sum(1), (w * ty * ty).sum(1), (w * tx * ty).sum(1)
                damp = (hxx + hyy) * 1e-4 + 1e-3
                hxx, hyy = hxx + damp, hyy + damp
                det = hxx * hyy - hxy * hxy
                bx, by = b[part, 2], b[part, 3]
                dp[part, 2] = (hyy * bx - hxy * by) / det
                dp[part, 3] = (hxx * by - hxy * bx) / det
            if full.any():
                h = np.matmul(sdw_t[full], sd[full])
                h += (np.trace(h, axis1=1, axis2=2) * 1e-4 + 1e-3)[:, None, None] * _EYE
                dp[full] = np.linalg.solve(h, b[full, :, None])[:, :, 0]
            # Inverse composition W <- W ∘ W(dp)^-1, W(x; a, b, t) = [[1+a, -b], [b, 1+a]]·x + t.
            ca, cb = 1.0 + dp[:, 0], dp[:, 1]
            det = ca * ca + cb * cb
            inv = np.empty((len(active), 2, 2), np.float32)
            inv[:, 0, 0] = ca / det
            inv[:, 0, 1] = cb / det
            inv[:, 1, 0] = -cb / det
            inv[:, 1, 1] = ca / det
            t_inv = -np.matmul(inv, dp[:, 2:, None])
            old = shp[active]
            delta = np.matmul(old, t_inv)[:, :, 0]
            pos[active] += delta
            shp[active] = np.matmul(old, inv)
            step = np.linalg.norm(delta, axis=1)
            step_all[active] = step
            if it >= translation_iterations - 1:
                moving = step >= tolerance
                if not moving.all():
                    active = active[moving]
                    templ, sd, sdt = templ[moving], sd[moving], sdt[moving]
        warped = sample_patches(image, pos, shp, self.offsets)
        diff = warped - templ_all
        wts = gauss * robust_all
        bias = (diff * wts).sum(axis=1) / np.maximum(wts.sum(axis=1), 1e-9)
        resid = diff - bias[:, None]
        robust, scale = _robust_weights(resid, tukey=True)
        inlier = np.abs(resid) <= np.maximum(3.0 * scale, 12.0)
        fit_w = gauss * robust
        ncc = weighted_ncc(warped, templ_all, fit_w)
        support = fit_w.sum(axis=1) / gsum
        cw = self.centre_weights[None, :]
        centre_out = ((~inlier) * cw).sum(axis=1) / cw.sum()
        det = np.linalg.det(shp)
        sane = (det > 0.4) & (det < 2.5) & np.isfinite(pos).all(axis=1)
        converged = sane & (step_all < max(tolerance * 15, 0.3))
        texture = cornerness(sd_all[:, :, 2], sd_all[:, :, 3], fit_w)
        return AlignResult(pos, shp, ncc, support.astype(np.float32),
                           centre_out.astype(np.float32), texture, converged)

    def warped_templates(self, index: np.ndarray, shapes: np.ndarray, key_image: np.ndarray,
                         radius: int | None = None, scale: float = 1.0) -> np.ndarray:
        """Templates ``index`` resampled from ``key_image`` under their 2×2 ``shapes``
        ``(M, 2, 2)`` (their current look), ``(M, side, side)`` float32 with ``side`` =
        2·``radius`` + 1 (default: the patch radius) — for template search. ``key_image`` may
        be the key frame resized by ``scale`` (``radius`` is then in its pixels)."""
        radius = self.radius if radius is None else int(radius)
        side = 2 * radius + 1
        grid = np.arange(-radius, radius + 1, dtype=np.float32)
        gx, gy = np.meshgrid(grid, grid)
        offsets = np.stack([gx.ravel(), gy.ravel()], axis=1)
        inv = np.linalg.inv(np.asarray(shapes, np.float64)).astype(np.float32)
        patches = sample_patches(key_image, self.points[index] * np.float32(scale), inv, offsets)
        return patches.reshape(-1, side, side)


def search(image: np.ndarray, template: np.ndarray, centre: np.ndarray | None = None,
           radius: int = 0) -> tuple[np.ndarray, float, float]:
    """Find ``template`` in ``image`` by normalised cross-correlation: at every integer offset
    within ``radius`` pixels of ``centre`` ``(2,)``, or anywhere when ``centre`` is None.

    Returns the best position (sub-pixel, by a parabola fit around the peak), its NCC, and the
    best NCC at least a template's width from it (−1 if there is no such place: how much the
    match stands out); a window that falls outside the image scores −1.
    """
    h, w = image.shape
    side = template.shape[0]
    half = side // 2
    if centre is None:
        x0c, y0c, x1c, y1c = 0, 0, w, h
    else:
        cx, cy = round(float(centre[0])), round(float(centre[1]))
        x0c, y0c = max(cx - radius - half, 0), max(cy - radius - half, 0)
        x1c, y1c = min(cx + radius + half + 1, w), min(cy + radius + half + 1, h)
    if x1c - x0c < side + 2 or y1c - y0c < side + 2:
        at = np.zeros(2, np.float32) if centre is None else np.asarray(centre, np.float32)
        return at, -1.0, -1.0
    score = cv2.matchTemplate(image[y0c:y1c, x0c:x1c], template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(score)
    dx = dy = 0.0
    if 0 < bx < score.shape[1] - 1:
        left, c, right = score[by, bx - 1], score[by, bx], score[by, bx + 1]
        den = left - 2 * c + right
        dx = 0.5 * (left - right) / den if abs(den) > 1e-9 else 0.0
    if 0 < by < score.shape[0] - 1:
        u, c, d = score[by - 1, bx], score[by, bx], score[by + 1, bx]
        den = u - 2 * c + d
        dy = 0.5 * (u - d) / den if abs(den) > 1e-9 else 0.0
    found = np.array([x0c + bx + half + dx, y0c + by + half + dy], np.float32)
    score[max(0, by - side):by + side + 1, max(0, bx - side):bx + side + 1] = -1.0
    return found, float(best), float(score.max())
