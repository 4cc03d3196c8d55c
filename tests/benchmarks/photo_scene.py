"""Benchmark footage: the generated moving-objects scene, optionally wearing real photographs.

:func:`make_scene` builds a :class:`motionwright.synthetic.MovingObjectsScene` (exact ground
truth) and, when scikit-image is installed, swaps the procedural textures for the sample
photographs that ship inside the scikit-image wheel (read straight from its ``data`` folder; no
download). Install it for the benchmarks only: ``pip install scikit-image``.

:func:`background_points` adds static scene points that the objects pass over, with their
ground-truth visibility, so occlusion decisions can be scored.
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
    """Static scene points on a grid that some object covers at some frame.

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
    vis = np.stack([scene.object_ids(t)[iy, ix] == -1 for t in range(scene.num_frames)])
    size = 2 * clearance + 1
    covered = (scene.object_ids(key) >= 0).astype(np.uint8)
    near = cv2.dilate(covered, np.ones((size, size), np.uint8))
    keep = vis[key] & ~vis.all(axis=0) & (near[iy, ix] == 0)
    tracks = np.broadcast_to(pts[keep], (scene.num_frames, int(keep.sum()), 2)).copy()
    return tracks.astype(np.float32), vis[:, keep]
