"""``motionwright render --server``: the project's clips rendered by the render server.

Every clip is submitted first (the server renders preview jobs in parallel), then each is
waited for with a progress bar and written with the SDK's writer from the result frames, as
the in-process render writes them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _models(args: argparse.Namespace, edits: list) -> dict | None:
    if args.model is None or args.backend != "diffusion":
        return None
    from ..methods.backend import required_families

    return {family: args.model for family in required_families(edits)}


def render_on_server(args: argparse.Namespace, project: Any, jobs: list) -> int:
    """Render ``jobs`` (``(ref, clip, start, stop, target)`` as made by ``cmd_render``)."""
    from ..bridge import Client, request_for
    from ._common import progress_bar

    client = Client.ensure_running()
    bar = progress_bar()
    submitted = []
    for ref, clip, start, stop, target in jobs:
        edits = project.edits[ref.id]
        # The whole clip is the job's source, as in-process: a drag is tracked over all of it.
        request = request_for(ref.path, edits, start=0, stop=len(clip), backend=args.backend,
                              models=_models(args, list(edits)), label=ref.id)
        view = client.submit(request)
        note = " (cached)" if view.get("cached") else ""
        print(f"{ref.id}: job {view['id']} {view['state']}{note}", file=sys.stderr)
        submitted.append((view["id"], ref, clip, start, stop, target))
    try:
        for job_id, ref, clip, start, stop, target in submitted:
            client.wait(job_id, progress=bar)
            result = client.result_clip(job_id, like=clip)
            result[start:stop].save(target, codec=args.codec, even=args.even, progress=bar)
            print(f"{ref.id}: frames {start}:{stop} -> {target}")
    except KeyboardInterrupt:
        ids = " ".join(s[0] for s in submitted)
        print(f"the jobs go on in the server ({ids}); 'motionwright jobs cancel ID' stops one",
              file=sys.stderr)
        raise
    return 0
