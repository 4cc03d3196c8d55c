"""Generated test footage with exact ground truth: textured objects moving over a textured scene.

Used by the tests, the demo sample and the benchmarks. Every object is a textured ellipse or
rectangle that translates and rotates along a smooth known path; points sampled inside the
objects give ground-truth tracks (pixel coordinates, OpenCV convention) and visibility (a point
is visible while it is inside the frame and no object drawn above covers it).

Frames are rendered one at a time (:meth:`MovingObjectsScene.frame`), so long or large clips
can be streamed; :func:`make_moving_objects` materialises a small clip with everything at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import cv2
import numpy as np

from ._validate import require_int
from .errors import InvalidInputError


def noise_texture(height: int, width: int, rng: np.random.Generator,
                  scales: tuple[int, ...] = (3, 6, 12, 24, 48)) -> np.ndarray:
    """A colourful multi-scale noise texture, ``(height, width, 3)`` uint8.

    Sums random grids upsampled from several coarse resolutions (``scales`` are the grid sizes
    in pixels per cell) plus fine grain, so dense optical flow has structure at every scale.
    """
    acc = np.zeros((height, width, 3), np.float32)
    for cell in scales:
        gh, gw = max(2, height // cell + 2), max(2, width // cell + 2)
        grid = rng.standard_normal((gh, gw, 3)).astype(np.float32)
        acc += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) * math.sqrt(cell)
    acc += rng.standard_normal((height, width, 3)).astype(np.float32) * 2.0
    acc -= acc.mean(axis=(0, 1))
    acc /= acc.std(axis=(0, 1)) + 1e-6
    base = rng.uniform(60, 190, size=3).astype(np.float32)
    return np.clip(base + 45.0 * acc, 0, 255).astype(np.uint8)


def cover_crop(image: np.ndarray, width: int, height: int,
               rng: np.random.Generator | None = None) -> np.ndarray:
    """Scale ``image`` ``(h, w, 3)`` to cover ``width``×``height`` and cut a window of that size
    (centred, or at a random place and slightly random scale when ``rng`` is given)."""
    h, w = image.shape[:2]
    s = max(width / w, height / h) * (rng.uniform(1.0, 1.3) if rng is not None else 1.0)
    resized = cv2.resize(image, (max(width, round(w * s)), max(height, round(h * s))),
                         interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    spare_y, spare_x = resized.shape[0] - height, resized.shape[1] - width
    if rng is None:
        y, x = spare_y // 2, spare_x // 2
    else:
        y, x = int(rng.integers(0, spare_y + 1)), int(rng.integers(0, spare_x + 1))
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


@dataclass(frozen=True)
class MovingObject:
    """One object: its texture, shape and path parameters.

    Its centre at frame t is ``start + velocity·t + amplitude·sin(omega·t + phase)`` (pixels)
    and its rotation ``spin·t`` (radians).
    """

    texture: np.ndarray  # (h, w, 3) uint8
    shape: str  # "ellipse" or "rect"
    start: np.ndarray  # (2,) float64
    velocity: np.ndarray  # (2,)
    amplitude: np.ndarray  # (2,)
    omega: float
    phase: float
    spin: float

    def centre(self, t: float) -> np.ndarray:
        """Centre position (x, y) at frame ``t``."""
        return self.start + self.velocity * t + self.amplitude * np.sin(self.omega * t + self.phase)

    def affine(self, t: float) -> np.ndarray:
        """The 2×3 matrix mapping texture pixel coordinates to frame coordinates at ``t``."""
        h, w = self.texture.shape[:2]
        angle = self.spin * t
        c, s = math.cos(angle), math.sin(angle)
        rot = np.array([[c, -s], [s, c]])
        local_centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
        offset = self.centre(t) - rot @ local_centre
        return np.hstack([rot, offset[:, None]])

    def shape_mask(self) -> np.ndarray:
        """The object's silhouette in texture coordinates, ``(h, w)`` float32 in [0, 1]."""
        h, w = self.texture.shape[:2]
        if self.shape == "ellipse":
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            rx, ry = (w - 2) / 2.0, (h - 2) / 2.0
            inside = ((xs - (w - 1) / 2.0) / rx) ** 2 + ((ys - (h - 1) / 2.0) / ry) ** 2 <= 1.0
            return inside.astype(np.float32)
        mask = np.zeros((h, w), np.float32)
        mask[1:-1, 1:-1] = 1.0
        return mask


class MovingObjectsScene:
    """A procedural shot: a textured background and textured objects on known paths.

    ``size`` is (width, height) in pixels; ``max_speed`` bounds the speed of each object's
    centre in pixels per frame (rotation adds a little at the rim). ``tracks`` is ``(T, N, 2)``
    float32 and ``visible`` ``(T, N)`` bool for the ``points_per_object`` points sampled inside
    each object (``point_object`` ``(N,)`` says
    which object each point belongs to; objects are drawn in order, later ones on top).

    ``pan`` (x, y) pans the camera: the background slides back and forth with a peak speed of
    ``pan`` pixels per frame over ``pan_period`` frames (see :meth:`background_offset`); the
    objects' paths are in frame coordinates and do not pan.
    """

    def __init__(self, num_frames: int, size: tuple[int, int] = (320, 240), *, seed: int = 0,
                 num_objects: int = 2, max_speed: float = 4.0, points_per_object: int = 12,
                 object_scale: float = 0.28, fps: Fraction = Fraction(24),
                 pan: tuple[float, float] = (0.0, 0.0), pan_period: float = 120.0) -> None:
        self.num_frames = require_int(num_frames, "num_frames", minimum=1)
        width, height = (require_int(v, "size", minimum=16) for v in size)
        require_int(num_objects, "num_objects", minimum=0)
        if not (math.isfinite(max_speed) and max_speed >= 0):
            raise InvalidInputError(f"max_speed: expected a finite value >= 0, got {max_speed!r}")
        self.size = (width, height)
        self.fps = Fraction(fps)
        self.pan = np.asarray(pan, np.float64).reshape(2)
        if not (np.isfinite(self.pan).all() and math.isfinite(pan_period) and pan_period > 0):
            raise InvalidInputError(f"pan: expected a finite (x, y) speed and pan_period > 0, "
                                    f"got {pan!r} and {pan_period!r}")
        self.pan_period = float(pan_period)
        # The background is larger than the frame by the pan's reach on every side.
        self._pan_margin = np.ceil(np.abs(self.pan) * self.pan_period / (2 * math.pi)).astype(int)
        mx, my = (int(v) for v in self._pan_margin)
        rng = np.random.default_rng(seed)
        self.background = noise_texture(height + 2 * my, width + 2 * mx, rng)
        self.objects = [self._random_object(rng, i, num_objects, max_speed, object_scale)
                        for i in range(num_objects)]
        self._masks = [obj.shape_mask() for obj in self.objects]
        self.tracks, self.point_object = self._sample_tracks(rng, points_per_object)
        self.visible = self._visibility()

    def use_images(self, background: np.ndarray, objects: list[np.ndarray],
                   rng: np.random.Generator | None = None) -> None:
        """Dress the scene in pictures (``(h, w, 3)`` uint8 RGB, e.g. photographs) instead of
        procedural textures: ``background`` covers the frame and object ``i`` wears
        ``objects[i % len(objects)]``. Paths, tracks and visibility are unchanged."""
        width, height = self.size
        mx, my = (int(v) for v in self._pan_margin)
        self.background = cover_crop(background, width + 2 * mx, height + 2 * my, rng)
        for i, obj in enumerate(self.objects):
            oh, ow = obj.texture.shape[:2]
            texture = cover_crop(objects[i % len(objects)], ow, oh, rng)
            self.objects[i] = replace(obj, texture=texture)

    def background_offset(self, t: float) -> np.ndarray:
        """How far (x, y) the background has slid at frame ``t`` (pixels; zero at t = 0)."""
        phase = 2 * math.pi * t / self.pan_period
        return self.pan * self.pan_period / (2 * math.pi) * math.sin(phase)

    def background_tracks(self, points: np.ndarray, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Ground truth for points ``(M, 2)`` placed on the background at ``frame``.

        Returns ``tracks`` ``(T, M, 2)`` float32 (they slide with the pan) and ``visible``
        ``(T, M)`` bool (inside the frame and not covered by an object).
        """
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        width, height = self.size
        base = self.background_offset(frame)
        tracks = np.stack([pts + self.background_offset(t) - base
                           for t in range(self.num_frames)])
        vis = np.zeros(tracks.shape[:2], bool)
        for t in range(self.num_frames):
            xy = np.rint(tracks[t]).astype(np.int64)
            inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
            ids = self.object_ids(t)
            vis[t, inside] = ids[xy[inside, 1], xy[inside, 0]] == -1
        return tracks.astype(np.float32), vis

    def materialise(self) -> SyntheticClip:
        """Every frame and the ground truth at once (for short, small clips)."""
        frames = np.stack([self.frame(t) for t in range(self.num_frames)])
        ids = np.stack([self.object_ids(t) for t in range(self.num_frames)])
        return SyntheticClip(frames=frames, tracks=self.tracks, visible=self.visible,
                             object_masks=ids >= 0, object_ids=ids,
                             point_object=self.point_object, fps=self.fps)

    def _random_object(self, rng: np.random.Generator, index: int, count: int,
                       max_speed: float, scale: float) -> MovingObject:
        width, height = self.size
        ow = int(max(12, rng.uniform(0.8, 1.2) * scale * min(width, height) * 1.3))
        oh = int(max(12, rng.uniform(0.8, 1.2) * scale * min(width, height)))
        # Objects start spread across the frame and drift towards each other, so they overlap.
        frac = (index + 0.5) / max(count, 1)
        start = np.array([width * (0.2 + 0.6 * frac), height * rng.uniform(0.35, 0.65)])
        direction = np.array([width / 2.0, height / 2.0]) - start
        norm = np.linalg.norm(direction) or 1.0
        velocity = direction / norm * max_speed * 0.5
        omega = rng.uniform(0.08, 0.2)
        # Peak speed = |v| + |A|·omega; the sinusoid takes the other half of the budget.
        amplitude = rng.uniform(0.6, 1.0, size=2) * max_speed * 0.5 / omega
        spin = rng.uniform(-1, 1) * max_speed * 0.002
        return MovingObject(
            texture=noise_texture(oh, ow, rng), shape="ellipse" if index % 2 == 0 else "rect",
            start=start, velocity=velocity, amplitude=amplitude, omega=omega,
            phase=rng.uniform(0, 2 * math.pi), spin=spin,
        )

    def _sample_tracks(self, rng: np.random.Generator, per_object: int):
        tracks, owners = [], []
        for k, (obj, mask) in enumerate(zip(self.objects, self._masks, strict=True)):
            # Stay 3 px inside the silhouette so visibility at the point is unambiguous.
            inner = cv2.erode((mask > 0.5).astype(np.uint8), np.ones((7, 7), np.uint8))
            ys, xs = np.nonzero(inner)
            if len(xs) == 0 or per_object == 0:
                continue
            pick = rng.choice(len(xs), size=min(per_object, len(xs)), replace=False)
            local = np.stack([xs[pick], ys[pick]], axis=1).astype(np.float64)
            for t in range(self.num_frames):
                m = obj.affine(t)
                if t == 0:
                    tracks.append(np.empty((self.num_frames, len(pick), 2)))
                tracks[-1][t] = local @ m[:, :2].T + m[:, 2]
            owners.extend([k] * len(pick))
        if not tracks:
            return np.zeros((self.num_frames, 0, 2), np.float32), np.zeros(0, np.int64)
        return np.concatenate(tracks, axis=1).astype(np.float32), np.array(owners)

    def _visibility(self) -> np.ndarray:
        width, height = self.size
        vis = np.zeros(self.tracks.shape[:2], bool)
        for t in range(self.num_frames):
            ids = self.object_ids(t)
            xy = np.rint(self.tracks[t]).astype(np.int64)
            inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
            top = np.full(len(xy), -2)
            top[inside] = ids[xy[inside, 1], xy[inside, 0]]
            vis[t] = inside & (top == self.point_object)
        return vis

    def _warped(self, t: int):
        width, height = self.size
        for obj, mask in zip(self.objects, self._masks, strict=True):
            m = obj.affine(t)
            alpha = cv2.warpAffine(mask, m, (width, height), flags=cv2.INTER_LINEAR)
            texture = cv2.warpAffine(obj.texture, m, (width, height), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
            yield alpha, texture

    def object_ids(self, t: int) -> np.ndarray:
        """``(H, W)`` int16: the index of the topmost object at each pixel, -1 for background."""
        width, height = self.size
        ids = np.full((height, width), -1, np.int16)
        for k, (alpha, _) in enumerate(self._warped(t)):
            ids[alpha >= 0.5] = k
        return ids

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t`` as ``(H, W, 3)`` RGB uint8."""
        if not 0 <= t < self.num_frames:
            raise InvalidInputError(f"t: expected 0 <= t < {self.num_frames}, got {t}")
        width, height = self.size
        if self._pan_margin.any():
            shift = self.background_offset(t) - self._pan_margin
            m = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
            out = cv2.warpAffine(self.background, m, (width, height),
                                 flags=cv2.INTER_LINEAR).astype(np.float32)
        else:
            out = self.background.astype(np.float32)
        for alpha, texture in self._warped(t):
            a = alpha[..., None]
            out = out * (1.0 - a) + texture.astype(np.float32) * a
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class SyntheticClip:
    """A materialised generated clip and its ground truth.

    ``frames`` ``(T, H, W, 3)`` uint8; ``tracks`` ``(T, N, 2)`` float32 pixels; ``visible``
    ``(T, N)`` bool; ``object_masks`` ``(T, H, W)`` bool (any object); ``object_ids``
    ``(T, H, W)`` int16 (-1 background); ``point_object`` ``(N,)``; ``fps`` a Fraction.
    """

    frames: np.ndarray
    tracks: np.ndarray
    visible: np.ndarray
    object_masks: np.ndarray
    object_ids: np.ndarray
    point_object: np.ndarray
    fps: Fraction

    def to_clip(self):
        """The frames as an in-memory :class:`~motionwright.Clip`."""
        from .clip import Clip

        return Clip.from_frames(self.frames, fps=self.fps)

    def trajectory(self):
        """The ground-truth tracks as a :class:`~motionwright.Trajectory`."""
        from .types import Trajectory

        return Trajectory(self.tracks, self.visible)


def make_moving_objects(num_frames: int, size: tuple[int, int] = (320, 240), *, seed: int = 0,
                        num_objects: int = 2, max_speed: float = 4.0,
                        points_per_object: int = 12, **scene_options) -> SyntheticClip:
    """Generate a small clip of textured objects on known paths, with exact ground truth."""
    scene = MovingObjectsScene(num_frames, size, seed=seed, num_objects=num_objects,
                               max_speed=max_speed, points_per_object=points_per_object,
                               **scene_options)
    return scene.materialise()
