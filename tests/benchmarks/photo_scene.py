"""Benchmark footage: the generated moving-objects scene, optionally wearing real photographs.

:func:`make_scene` builds a :class:`motionwright.synthetic.MovingObjectsScene` (exact ground
truth) and, when scikit-image is installed, swaps the procedural textures for the sample
photographs that ship inside the scikit-image wheel (read straight from its ``data`` folder; no
download). Install it for the benchmarks only: ``pip install scikit-image``.

:func:`background_points` adds scene points that the objects pass over, with their
ground-truth visibility, so occlusion decisions can be scored; :func:`point_tracks` gives the
ground truth of any points placed on a frame (on an object or on the scene behind).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from motionwright.synthetic import MovingObjectsScene

PHOTOS = ["motorcycle_left.png", "coffee.png", "rocket.jpg", "astronaut.png", "chelsea.png",
          "ihc.png", "retina.jpg"]


def photo_folder() -> Path | None:
    """The folder of scikit-image's bundled sample photographs, or None if not installed."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if (folder / PHOTOS[0]).is_file() else None


def _photo(name: str) -> np.ndarray | None:
    folder = photo_folder()
    if folder is None:
        return None
    bgr = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def make_scene(num_frames: int, size: tuple[int, int], *, seed: int = 0, photos: bool = True,
               **options) -> tuple[MovingObjectsScene, str]:
    """A moving-objects scene; with ``photos`` (and scikit-image present) photo-textured.

    Returns the scene and a word saying which textures it wears ("photo" or "procedural").
    """
    scene = MovingObjectsScene(num_frames, size, seed=seed, **options)
    if not photos or photo_folder() is None:
        return scene, "procedural"
    rng = np.random.default_rng(seed + 1000)
    names = list(PHOTOS)
    rng.shuffle(names)
    scene.use_images(_photo(names[0]), [_photo(name) for name in names[1:]], rng)
    return scene, "photo"


def background_points(scene: MovingObjectsScene, key: int, spacing: int = 24,
                      margin: int = 12, clearance: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Scene points on a grid (they slide with the pan) that some object covers at some frame.

    Returns ``tracks`` ``(T, M, 2)`` float32 and ``visible`` ``(T, M)`` bool; every point is
    visible on frame ``key``, with no object within ``clearance`` pixels of it there (a point
    on an object's very edge is ambiguous), and hidden on at least one frame.
    """
    width, height = scene.size
    xs = np.arange(margin, width - margin, spacing, dtype=np.float32)
    ys = np.arange(margin, height - margin, spacing, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    ix, iy = np.rint(pts[:, 0]).astype(int), np.rint(pts[:, 1]).astype(int)
    size = 2 * clearance + 1
    covered = (scene.object_ids(key) >= 0).astype(np.uint8)
    near = cv2.dilate(covered, np.ones((size, size), np.uint8))
    tracks, vis = scene.background_tracks(pts, key)
    keep = vis[key] & ~vis.all(axis=0) & (near[iy, ix] == 0)
    return tracks[:, keep], vis[:, keep]


def point_tracks(scene: MovingObjectsScene, points: np.ndarray,
                 key: int) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth for ``points`` ``(M, 2)`` placed on frame ``key``: each follows the surface
    on top at its pixel there (an object, or the panning scene). Returns ``tracks``
    ``(T, M, 2)`` float32 and ``visible`` ``(T, M)`` bool."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    width, height = scene.size
    ix = np.clip(np.rint(pts[:, 0]).astype(int), 0, width - 1)
    iy = np.clip(np.rint(pts[:, 1]).astype(int), 0, height - 1)
    owner = scene.object_ids(key)[iy, ix]
    tracks, vis = scene.background_tracks(pts, key)
    for k, obj in enumerate(scene.objects):
        mine = owner == k
        if not mine.any():
            continue
        inv = np.linalg.inv(np.vstack([obj.affine(key), [0.0, 0.0, 1.0]]))[:2]
        local = pts[mine] @ inv[:, :2].T + inv[:, 2]
        for t in range(scene.num_frames):
            m = obj.affine(t)
            tracks[t, mine] = local @ m[:, :2].T + m[:, 2]
    for t in range(scene.num_frames):
        xy = np.rint(tracks[t]).astype(np.int64)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
        top = np.full(len(xy), -2)
        top[inside] = scene.object_ids(t)[xy[inside, 1], xy[inside, 0]]
        vis[t] = inside & (top == owner)
    return tracks.astype(np.float32), vis
