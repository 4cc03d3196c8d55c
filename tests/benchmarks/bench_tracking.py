"""Tracking benchmark: accuracy and speed of ``mw.track`` against plain chained DIS flow.

Footage: the generated moving-objects scene at 1280×720 (exact ground truth), objects moving up
to ``--speed`` px/frame, textured with real photographs when scikit-image is installed
(``pip install scikit-image``; its sample photos ship inside the wheel and are read from disk,
nothing is downloaded) and with procedural textures otherwise. Points are placed on the middle
frame, so tracking runs forward and backward:

- object points: up to 40 per object, on textured detail (Shi–Tomasi cornerness >= 2 over the
  patch and around the point itself — a point on a flat surface cannot be located by anyone);
- scene points the objects pass over: a grid of textured background points, visible on the
  key frame with no object within 10 px, covered on some frame.

Printed per scene and overall: end-point error (EPE, pixels) over the frames where the ground
truth shows the point (and over those where the tracker also reports it visible), visibility
accuracy, and tracked frames per second (wall clock, frames already in memory), for the
tracker and for the baseline (full-resolution DIS "fast" chained from the key frame in both
directions; its points are "visible" while inside the frame).

Run: ``python tests/benchmarks/bench_tracking.py [--frames 40] [--seeds 0 1 2] [--speed 10]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from photo_scene import background_points, make_scene

import motionwright as mw
from motionwright.tracking import TrackerOptions, chained_flow_tracks, track
from motionwright.tracking.appearance import KeyframeTemplates
from motionwright.tracking.flow import prepare


def textured(frame: np.ndarray, points: np.ndarray, minimum: float = 2.0) -> np.ndarray:
    """Which points sit on detail the tracker can lock onto (both cornerness measures)."""
    tpl = KeyframeTemplates(prepare(frame).fine, points)
    return (tpl.texture >= minimum) & (tpl.centre_texture >= minimum)


def build(seed: int, frames: int, speed: float, size: tuple[int, int], photos: bool):
    scene, kind = make_scene(frames, size, seed=seed, photos=photos, num_objects=2,
                             max_speed=speed, points_per_object=300)
    video = np.stack([scene.frame(t) for t in range(frames)])
    key = frames // 2
    keep = scene.visible[key] & textured(video[key], scene.tracks[key])
    for obj in np.unique(scene.point_object):
        idx = np.flatnonzero(keep & (scene.point_object == obj))
        keep[idx[40:]] = False
    bg_tracks, bg_vis = background_points(scene, key)
    bg_keep = textured(video[key], bg_tracks[key])
    tracks = np.concatenate([scene.tracks[:, keep], bg_tracks[:, bg_keep]], axis=1)
    visible = np.concatenate([scene.visible[:, keep], bg_vis[:, bg_keep]], axis=1)
    return video, key, tracks, visible, int(keep.sum()), kind


def baseline(video: np.ndarray, key: int, points: np.ndarray):
    fwd_t, fwd_v = chained_flow_tracks(video[key:], points)
    back_t, back_v = chained_flow_tracks(video[key::-1], points)
    tracks = np.concatenate([back_t[::-1][:-1], fwd_t])
    visible = np.concatenate([back_v[::-1][:-1], fwd_v])
    return tracks, visible


def score(tracks, visible, truth, truth_vis, n_obj):
    err = np.linalg.norm(tracks - truth, axis=2)
    obj_vis = truth_vis[:, :n_obj]
    both = obj_vis & visible[:, :n_obj]
    bg = slice(n_obj, None)
    return {
        "epe": float(err[:, :n_obj][obj_vis].mean()),
        "epe_median": float(np.median(err[:, :n_obj][obj_vis])),
        "epe_reported": float(err[:, :n_obj][both].mean()) if both.any() else float("nan"),
        "vis_obj": float((visible[:, :n_obj] == obj_vis).mean()),
        "vis_bg": float((visible[:, bg] == truth_vis[:, bg]).mean())
        if truth_vis[:, bg].size else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--procedural", action="store_true", help="skip the photo textures")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    print(f"machine: {os.cpu_count()} logical CPUs; frames in memory; {args.size}, "
          f"{args.frames} frames, objects up to {args.speed:g} px/frame, key = middle frame")
    rows = {"tracker": [], "baseline": []}
    fps = {"tracker": [], "baseline": []}
    for seed in args.seeds:
        video, key, truth, truth_vis, n_obj, kind = build(seed, args.frames, args.speed, size,
                                                          not args.procedural)
        clip = mw.Clip.from_frames(video)
        points = mw.PointSet(truth[key], frame=key)
        t0 = time.perf_counter()
        traj = track(clip, points, options=TrackerOptions())
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        base_tracks, base_vis = baseline(video, key, truth[key])
        t_base = time.perf_counter() - t0
        steps = args.frames - 1
        for name, (tr, vi, dt) in {"tracker": (traj.tracks, traj.visible, t_ours),
                                   "baseline": (base_tracks, base_vis, t_base)}.items():
            s = score(tr, vi, truth, truth_vis, n_obj)
            rows[name].append(s)
            fps[name].append(steps / dt)
            print(f"seed {seed} ({kind}, {n_obj} object + {truth.shape[1] - n_obj} scene pts) "
                  f"{name:8s}: EPE {s['epe']:.3f} px (median {s['epe_median']:.3f}, where "
                  f"reported visible {s['epe_reported']:.3f}); visibility objects "
                  f"{s['vis_obj']:.1%}, scene points passed over {s['vis_bg']:.1%}; "
                  f"{steps / dt:.1f} fps")
    print("overall (mean over scenes):")
    for name in rows:
        mean = {k: float(np.nanmean([r[k] for r in rows[name]])) for k in rows[name][0]}
        print(f"  {name:8s}: EPE {mean['epe']:.3f} px (median {mean['epe_median']:.3f}, where "
              f"reported visible {mean['epe_reported']:.3f}); visibility objects "
              f"{mean['vis_obj']:.1%}, scene points passed over {mean['vis_bg']:.1%}; "
              f"{np.mean(fps[name]):.1f} fps")


if __name__ == "__main__":
    main()
