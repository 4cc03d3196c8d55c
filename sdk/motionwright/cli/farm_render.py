"""``motionwright render PROJECT -o OUT --ray ADDRESS``: a project's shots rendered on Ray.

The shots become jobs of an in-process render service whose chunks run on the Ray cluster
(:class:`~motionwright.service.farm.RayExecutor`), so the service's rules hold: finished
renders come from its cache at once, and running the same command again after an interruption
resumes each shot from its last finished chunk. As with ``--server``, a job renders the whole
clip (a drag is tracked over all of it) and the command writes the clip's range with the SDK's
writer, as the in-process render does. The service keeps its jobs and cache in
``<data dir>/farm`` (apart from a running server's).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ..errors import InvalidInputError, MotionwrightError

POLL = 0.2  # seconds between looks at the jobs' progress
FINAL = ("done", "failed", "cancelled")


class FarmRenderError(MotionwrightError, RuntimeError):
    """A shot failed on the farm; the message is the job's."""


def shot_request(ref: Any, clip: Any, edits: list, args: Any) -> dict:
    """The job request rendering ``edits`` on all of clip ``ref`` (``clip`` opened)."""
    from ..bridge import request_for

    models = None
    if args.model is not None and args.backend == "diffusion":
        from ..methods.backend import required_families

        models = {family: args.model for family in required_families(list(edits))}
    return request_for(ref.path, edits, start=0, stop=len(clip), backend=args.backend,
                       models=models, label=f"render --ray: {ref.id}"[:200])


def _resume_or_submit(service: Any, request: dict) -> str:
    """The id of an unfinished job of the service for this very request (an interrupted run
    of the same command: it resumes), else of a newly submitted one."""
    from ..service import paths
    from ..service.cache import request_key
    from ..service.request import parse_request

    key = request_key(parse_request(request, data_dir=service.data_dir))
    for view in service.jobs():
        if view["state"] in FINAL or view["label"] != request["label"]:
            continue
        info = paths.jobs_dir(service.data_dir) / view["id"] / "job.json"
        try:
            if json.loads(info.read_text(encoding="utf-8")).get("cache_key") == key:
                return view["id"]
        except (OSError, ValueError):
            continue
    return service.submit(request)["id"]


def render_on_ray(args: argparse.Namespace, project: Any, jobs: list) -> int:
    """Render ``jobs`` (``(ref, clip, start, stop, target)`` as made by ``cmd_render``) on
    the Ray cluster ``args.ray``; every job is submitted first, so the shots' chunks share
    the cluster."""
    from ..clip import Clip
    from ..progress import ProgressEvent
    from ..service import Service, paths
    from ..service.farm import RayExecutor, import_ray
    from ..service.framefile import FrameFolder
    from ._common import progress_bar

    import_ray()  # a missing extra is named before the cluster is looked for
    executor = RayExecutor(args.ray)
    service = Service(paths.data_dir() / "farm", executor=executor, workers=executor.workers)
    bar = progress_bar()
    started = time.monotonic()
    with service:
        ids = [_resume_or_submit(service, shot_request(ref, clip, project.edits[ref.id], args))
               for ref, clip, _, _, _ in jobs]
        while True:
            views = [service.job(job_id) for job_id in ids]
            done = sum(v["progress"]["done"] for v in views)
            total = sum(max(v["progress"]["total"], 1) for v in views)
            bar(ProgressEvent("render on Ray", min(done, total), total,
                              time.monotonic() - started,
                              max((v["eta"] or 0.0) for v in views)))
            if all(v["state"] in FINAL for v in views):
                break
            time.sleep(POLL)
        for view, (ref, clip, start, stop, target) in zip(views, jobs, strict=True):
            if view["state"] != "done":
                error = view.get("error") or {}
                raise FarmRenderError(
                    f"clip {ref.id!r}: the render {view['state']} on the farm: "
                    f"{error.get('message', 'no reason given')}")
            folder = paths.jobs_dir(service.data_dir) / view["id"]
            frames = int(view["frames"])
            result = Clip.from_source(FrameFolder(
                folder, clip.fps, count=frames, start_timecode=clip.start_timecode,
                derived_from=clip if frames == len(clip) else None))
            if stop > len(result):
                raise InvalidInputError(
                    f"clip {ref.id!r}: the farm made {len(result)} frames, fewer than the "
                    f"range {start}:{stop} asks for")
            result[start:stop].save(target, codec=args.codec, even=args.even, progress=bar)
            print(f"{ref.id}: frames {start}:{stop} -> {target}"
                  f"{' (cached)' if view['cached'] else ''}")
    return 0
