"""Tracking benchmark: accuracy and speed of ``mw.track`` against plain chained DIS flow.

Footage: the generated moving-objects scene (exact ground truth), objects moving up to
``--speed`` px/frame on sine paths over a panning scene, textured with real photographs when
scikit-image is installed (``pip install scikit-image``; its sample photos ship inside the
wheel and are read from disk, nothing is downloaded) and with procedural textures otherwise.

Point sets, each tracked on its own (the tracker adds its own support points either way):

- ``textured``: object points on detail (Shi–Tomasi cornerness >= 2 over the patch and
  around the point itself), up to 40 per object;
- ``random``: points anywhere on the key frame, on objects or on the scene;
- ``flat``: random points on flat patches (cornerness < 0.5), which no patch can locate;
- ``edges``: object points 3 to 6 px inside an object's outline;
- ``occluded``: scene points (10 px clear of any object on the key frame) that an object
  covers on some frame and that may reappear;
- ``long``: a long clip at a small size (``--long-frames`` at ``--long-size``), objects and
  scene points tracked forward from frame 0, its objects moving and covering each other.

Printed for each set, for the tracker and for the baseline side by side: mean and median
end-point error (EPE, pixels) over the frames where the ground truth shows the point, the
mean EPE where the tracker also reports it visible, visibility accuracy (the baseline calls a
point visible while it is inside the frame), visibility toggles per point per 100 frames
(ground truth in brackets), the largest distance of any position outside the frame, and
frames per second (wall clock, frames already in memory). The short sets put the points on the
middle frame and track forward and backward (``mw.track``); the baseline chains
full-resolution DIS flow (``--baseline-preset``, default "medium") from the key frame both
ways.

Run: ``python tests/benchmarks/bench_tracking.py [--frames 40] [--seeds 0 1] [--speed 8]
[--size 1280x720] [--long-frames 2000] [--long-size 320x180]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import cv2
import numpy as np
from photo_scene import background_points, make_scene, point_tracks

import motionwright as mw
from motionwright.tracking import track
from motionwright.tracking.appearance import KeyframeTemplates
from motionwright.tracking.core import PointTracker
from motionwright.tracking.flow import PRESETS, prepare, sample_flow, to_grey


def cornerness(frame: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Patch and centre cornerness of ``points`` on ``frame``."""
    tpl = KeyframeTemplates(prepare(frame).fine, points)
    return tpl.texture, tpl.centre_texture


def point_sets(scene, video: np.ndarray, key: int, rng: np.random.Generator) -> dict:
    """The short clip's point sets: name -> (tracks (T, N, 2), visible (T, N))."""
    height, width = video.shape[1:3]
    ids = scene.object_ids(key)
    sets = {}
    tex, centre = cornerness(video[key], scene.tracks[key])
    keep = scene.visible[key] & (tex >= 2) & (centre >= 2)
    for obj in np.unique(scene.point_object):
        keep[np.flatnonzero(keep & (scene.point_object == obj))[40:]] = False
    sets["textured"] = scene.tracks[:, keep], scene.visible[:, keep]
    anywhere = rng.uniform([4, 4], [width - 5, height - 5], (400, 2)).astype(np.float32)
    sets["random"] = point_tracks(scene, anywhere[:80], key)
    tex, _ = cornerness(video[key], anywhere)
    sets["flat"] = point_tracks(scene, anywhere[tex < 0.5][:60], key)
    inside = (ids >= 0).astype(np.uint8)
    ring = cv2.erode(inside, np.ones((7, 7), np.uint8)) - cv2.erode(inside, np.ones((13, 13),
                                                                                    np.uint8))
    ys, xs = np.nonzero(ring)
    pick = rng.choice(len(xs), min(60, len(xs)), replace=False)
    sets["edges"] = point_tracks(scene, np.stack([xs[pick], ys[pick]], 1), key)
    sets["occluded"] = background_points(scene, key)
    return {name: (tr, vi) for name, (tr, vi) in sets.items() if tr.shape[1]}


class ChainedFlow:
    """The baseline: full-resolution DIS flow chained from frame to frame."""

    def __init__(self, preset: str) -> None:
        self.dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def flows(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        grey = [to_grey(f) for f in frames]
        return [self.dis.calc(a, b, None) for a, b in itertools.pairwise(grey)]

    @staticmethod
    def chain(flows: list[np.ndarray], points: np.ndarray) -> np.ndarray:
        pos = np.asarray(points, np.float32).copy()
        out = [pos.copy()]
        for flow in flows:
            pos = pos + sample_flow(flow, pos, 1.0)
            out.append(pos.copy())
        return np.stack(out)


def inside(tracks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    x, y = tracks[..., 0], tracks[..., 1]
    return (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)


def score(tracks, visible, truth, truth_vis, size, seconds, steps) -> dict:
    err = np.linalg.norm(tracks - truth, axis=2)
    both = truth_vis & visible
    width, height = size
    beyond = np.maximum.reduce([-tracks[..., 0], tracks[..., 0] - (width - 1),
                                -tracks[..., 1], tracks[..., 1] - (height - 1),
                                np.zeros(tracks.shape[:2])])
    per100 = 100.0 / max(1, len(tracks) - 1)
    return {
        "epe": float(err[truth_vis].mean()),
        "median": float(np.median(err[truth_vis])),
        "reported": float(err[both].mean()) if both.any() else float("nan"),
        "visibility": float((visible == truth_vis).mean()),
        "toggles": float(np.abs(np.diff(visible.astype(int), axis=0)).sum(0).mean() * per100),
        "true_toggles": float(np.abs(np.diff(truth_vis.astype(int), axis=0)).sum(0).mean()
                              * per100),
        "off_frame": float(beyond.max()),
        "fps": steps / seconds,
    }


def show(label: str, name: str, n: int, s: dict) -> None:
    print(f"  {label:9s} {name:8s} ({n:3d} pts): EPE {s['epe']:7.3f} median {s['median']:6.3f}"
          f" where reported {s['reported']:7.3f} | visibility {s['visibility']:6.1%} "
          f"toggles/100f {s['toggles']:5.2f} ({s['true_toggles']:.2f}) | off-frame "
          f"{s['off_frame']:7.1f} px | {s['fps']:6.1f} fps", flush=True)


def short_clip(seed: int, args, size, baseline: ChainedFlow, rows: dict) -> None:
    scene, kind = make_scene(args.frames, size, seed=seed, photos=not args.procedural,
                             num_objects=2, max_speed=args.speed, points_per_object=300,
                             pan=(args.pan, args.pan / 2))
    video = np.stack([scene.frame(t) for t in range(args.frames)])
    key = args.frames // 2
    rng = np.random.default_rng(seed)
    sets = point_sets(scene, video, key, rng)
    t0 = time.perf_counter()
    forward = baseline.flows(list(video[key:]))
    backward = baseline.flows(list(video[key::-1]))
    flow_time = time.perf_counter() - t0
    clip = mw.Clip.from_frames(video)
    steps = args.frames - 1
    print(f"seed {seed} ({kind} textures, {size[0]}x{size[1]}, {args.frames} frames, key "
          f"{key}):")
    for name, (truth, truth_vis) in sets.items():
        t0 = time.perf_counter()
        traj = track(clip, mw.PointSet(truth[key], frame=key))
        ours = score(traj.tracks, traj.visible, truth, truth_vis, size,
                     time.perf_counter() - t0, steps)
        t0 = time.perf_counter()
        tracks = np.concatenate([baseline.chain(backward, truth[key])[::-1][:-1],
                                 baseline.chain(forward, truth[key])])
        theirs = score(tracks, inside(tracks, size), truth, truth_vis, size,
                       flow_time + time.perf_counter() - t0, steps)
        show("tracker", name, truth.shape[1], ours)
        show("baseline", name, truth.shape[1], theirs)
        rows.setdefault(name, []).append((ours, theirs))


def long_clip(args, rows: dict) -> None:
    size = tuple(int(v) for v in args.long_size.lower().split("x"))
    frames = args.long_frames
    scene, kind = make_scene(frames, size, seed=11, photos=not args.procedural,
                             num_objects=3, max_speed=max(1.0, args.speed * size[0] / 1280),
                             points_per_object=12, pan=(1.0, 0.5), pan_period=400)
    rng = np.random.default_rng(11)
    width, height = size
    anywhere = rng.uniform([3, 3], [width - 4, height - 4], (40, 2))
    scene_tracks, scene_vis = point_tracks(scene, anywhere, 0)
    keep = scene.visible[0]
    truth = np.concatenate([scene.tracks[:, keep], scene_tracks], axis=1)
    truth_vis = np.concatenate([scene.visible[:, keep], scene_vis], axis=1)
    first = scene.frame(0)
    tracker = PointTracker(prepare(first), truth[0])
    dis = ChainedFlow(args.baseline_preset).dis
    prev = to_grey(first)
    base = truth[0].copy()
    ours_pos, ours_vis, theirs = [truth[0].copy()], [np.ones(len(base), bool)], [base.copy()]
    t_ours = t_theirs = 0.0
    for t in range(1, frames):
        frame = scene.frame(t)
        t0 = time.perf_counter()
        pos, vis = tracker.step(prepare(frame))
        t1 = time.perf_counter()
        grey = to_grey(frame)
        base = base + sample_flow(dis.calc(prev, grey, None), base, 1.0)
        prev = grey
        t_theirs += time.perf_counter() - t1
        t_ours += t1 - t0
        ours_pos.append(pos)
        ours_vis.append(vis)
        theirs.append(base.copy())
    ours_pos, ours_vis, theirs = np.stack(ours_pos), np.stack(ours_vis), np.stack(theirs)
    hidden = 1 - truth_vis.mean()
    print(f"long clip ({kind} textures, {width}x{height}, {frames} frames, 3 objects, "
          f"{truth.shape[1]} points, hidden {hidden:.0%} of the time, tracked forward from "
          f"frame 0):")
    ours = score(ours_pos, ours_vis, truth, truth_vis, size, t_ours, frames - 1)
    base_score = score(theirs, inside(theirs, size), truth, truth_vis, size, t_theirs,
                       frames - 1)
    show("tracker", "long", truth.shape[1], ours)
    show("baseline", "long", truth.shape[1], base_score)
    came_back = ~truth_vis.all(axis=0) & truth_vis[-frames // 4:].any(axis=0)
    if came_back.any():
        acc = (ours_vis[:, came_back] == truth_vis[:, came_back]).mean()
        print(f"  tracker visibility accuracy on the {came_back.sum()} points that are "
              f"hidden and seen again: {acc:.1%}")
    rows.setdefault("long", []).append((ours, base_score))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--speed", type=float, default=8.0)
    parser.add_argument("--pan", type=float, default=2.0, help="peak pan speed, px/frame")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--long-frames", type=int, default=2000)
    parser.add_argument("--long-size", default="320x180")
    parser.add_argument("--baseline-preset", default="medium", choices=sorted(PRESETS))
    parser.add_argument("--procedural", action="store_true", help="skip the photo textures")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    print(f"machine: {os.cpu_count()} logical CPUs; frames in memory; baseline: chained "
          f"full-resolution DIS {args.baseline_preset}")
    baseline = ChainedFlow(args.baseline_preset)
    rows: dict = {}
    for seed in args.seeds:
        short_clip(seed, args, size, baseline, rows)
    if args.long_frames > 1:
        long_clip(args, rows)
    print("summary (mean over clips): tracker | baseline")
    for name, pairs in rows.items():
        ours = {k: np.nanmean([p[0][k] for p in pairs]) for k in pairs[0][0]}
        theirs = {k: np.nanmean([p[1][k] for p in pairs]) for k in pairs[0][1]}
        print(f"  {name:8s}: EPE {ours['epe']:.3f} | {theirs['epe']:.3f}; median "
              f"{ours['median']:.3f} | {theirs['median']:.3f}; where reported "
              f"{ours['reported']:.3f} | {theirs['reported']:.3f}; visibility "
              f"{ours['visibility']:.1%} | {theirs['visibility']:.1%}; "
              f"{ours['fps']:.1f} | {theirs['fps']:.1f} fps")


if __name__ == "__main__":
    main()
