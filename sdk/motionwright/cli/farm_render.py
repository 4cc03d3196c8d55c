"""``motionwright render PROJECT -o OUT --ray ADDRESS``: a project's shots rendered on Ray.

The shots become jobs of an in-process render service whose chunks run on the Ray cluster
(:class:`~motionwright.service.farm.RayExecutor`), so the service's rules hold: finished
renders come from its cache at once, and running the same command again after an interruption
resumes each shot from its last finished chunk. Each job writes its output file where the
command says. The service keeps its jobs and cache in ``<data dir>/farm`` (apart from a
running server's).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, MotionwrightError

POLL = 0.2  # seconds between looks at the jobs' progress
FINAL = ("done", "failed", "cancelled")


class FarmRenderError(MotionwrightError, RuntimeError):
    """A shot failed on the farm; the message is the job's."""


def shot_request(ref: Any, edits: list, start: int, stop: int, target: Path, args: Any,
                 project_path: str) -> dict:
    """The job request rendering frames ``[start, stop)`` of clip ``ref`` into ``target``."""
    if start != 0:
        raise InvalidInputError(
            f"--ray: clip {ref.id!r} would render from frame {start}; renders on Ray start at "
            "frame 0 of the media for now (use --range 0:B, or render without --ray)")
    models = None
    if args.model is not None and args.backend == "diffusion":
        from ..methods.backend import required_families

        models = {family: os.path.abspath(args.model) for family in required_families(edits)}
    label = f"render:{os.path.abspath(project_path)}:{ref.id}"[:200]
    return {"source": {"path": os.path.abspath(ref.path), "start": start, "stop": stop},
            "edits": [edit.to_dict() for edit in edits], "backend": args.backend,
            "models": models, "label": label,
            "output": {"file": {"path": str(Path(target).resolve()), "codec": args.codec}}}


def _resume_or_submit(service: Any, request: dict) -> str:
    """The id of an unfinished job of the service for this very request (an interrupted run
    of the same command: it resumes), else of a newly submitted one."""
    from ..service.cache import request_key
    from ..service.request import parse_request

    key = request_key(parse_request(request, data_dir=service.data_dir,
                                    allowed_output_roots=service.allowed_output_roots))
    for view in service.jobs():
        if view["state"] in FINAL or view["label"] != request["label"]:
            continue
        info = service.data_dir / "jobs" / view["id"] / "job.json"
        try:
            if json.loads(info.read_text(encoding="utf-8")).get("cache_key") == key:
                return view["id"]
        except (OSError, ValueError):
            continue
    return service.submit(request)["id"]


def render_on_ray(args: argparse.Namespace, shots: list) -> int:
    """Render ``shots`` (``(ref, edits, start, stop, target)`` tuples) on the Ray cluster
    ``args.ray``; prints one line per finished shot like the local render."""
    from ..progress import ProgressEvent
    from ..service import Service, paths
    from ..service.farm import RayExecutor, import_ray
    from ._common import progress_bar

    if args.even is not None:
        raise InvalidInputError(
            "--even: not available with --ray; render an even-sized clip, or without --ray")
    import_ray()  # a missing extra is named before the cluster is looked for
    requests = [(shot, shot_request(*shot, args=args, project_path=args.project))
                for shot in shots]
    roots = sorted({str(Path(r["output"]["file"]["path"]).parent) for _, r in requests})
    for root in roots:
        Path(root).mkdir(parents=True, exist_ok=True)
    executor = RayExecutor(args.ray)
    service = Service(paths.data_dir() / "farm", executor=executor, workers=executor.workers,
                      allowed_output_roots=roots)
    bar = progress_bar()
    started = time.monotonic()
    with service:
        ids = {shot[0].id: _resume_or_submit(service, request) for shot, request in requests}
        left = dict(ids)
        while left:
            views = {clip_id: service.job(job_id) for clip_id, job_id in ids.items()}
            done = sum(v["progress"]["done"] for v in views.values())
            total = sum(max(v["progress"]["total"], 1) for v in views.values())
            bar(ProgressEvent("render on Ray", done, total, time.monotonic() - started,
                              max((v["eta"] or 0.0) for v in views.values())))
            for shot, _ in requests:
                view = views[shot[0].id]
                if shot[0].id not in left or view["state"] not in FINAL:
                    continue
                del left[shot[0].id]
                if view["state"] != "done":
                    error = view.get("error") or {}
                    raise FarmRenderError(
                        f"clip {shot[0].id!r}: the render {view['state']} on the farm: "
                        f"{error.get('message', 'no reason given')}")
                print(f"{shot[0].id}: frames {shot[2]}:{shot[3]} -> {view['output_file']}"
                      f"{' (cached)' if view['cached'] else ''}")
            if left:
                time.sleep(POLL)
    return 0
