"""``motionwright otio``: OpenTimelineIO round trips.

``otio render IN.otio -o OUT.otio [--handles N] [--server] [--project P]`` renders the clips
that carry Motionwright edits and writes a timeline referencing the rendered media with the
same record timing; ``otio export PROJECT.mwproj -o X.otio`` writes a project as a timeline.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("otio", help="render or export OpenTimelineIO timelines",
                                   description="OpenTimelineIO round trips.")
    sub = parser.add_subparsers(dest="otio_command", metavar="ACTION", required=True)
    render = sub.add_parser("render", help="render a timeline's Motionwright clips",
                            description="Render each clip carrying Motionwright edits over its "
                            "used source range plus handles; other clips stay untouched.")
    render.add_argument("timeline", help="input timeline (.otio)")
    render.add_argument("-o", "--output", required=True, help="output timeline (.otio)")
    render.add_argument("--handles", type=int, default=0,
                        help="extra frames rendered after each clip's used range (default 0)")
    render.add_argument("--server", action="store_true",
                        help="render through the running render service (motionwright serve)")
    render.add_argument("--project", help="a .mwproj whose clips' edits apply to timeline clips "
                        "using the same media file")
    render.add_argument("--backend", choices=("preview", "diffusion"), default="preview")
    render.add_argument("--media-dir", help="folder for the rendered media "
                        "(default: <output stem>_media next to the output)")
    render.set_defaults(func=run_render)
    export = sub.add_parser("export", help="write a project as a timeline",
                            description="Write a Motionwright project as an OTIO timeline.")
    export.add_argument("project", help="project file (.mwproj)")
    export.add_argument("-o", "--output", required=True, help="output timeline (.otio)")
    export.set_defaults(func=run_export)


def _server_render(backend: str):
    from ..bridge import Client, request_for

    client = Client.ensure_running()

    def render(media: str, edits: list, start: int, stop: int, out: Path) -> Path:
        request = request_for(media, edits, start=start, stop=stop, backend=backend,
                              output={"file": {"path": str(out), "codec": None}},
                              label=f"otio {Path(media).name}")
        job = client.submit(request)
        view = client.wait(job["id"])
        return Path(view.get("output_file") or out)

    return render


def run_render(args: argparse.Namespace) -> int:
    from ..otio import render_local, render_timeline
    from ..project import Project

    project = Project.load(args.project) if args.project else None
    if args.server:
        render = _server_render(args.backend)
    else:
        def render(media, edits, start, stop, out):
            return render_local(media, edits, start, stop, out, backend=args.backend)
    written = render_timeline(args.timeline, args.output, handles=args.handles, project=project,
                              render=render, media_dir=args.media_dir)
    for path in written:
        print(path)
    print(f"{os.path.abspath(args.output)} ({len(written)} clip(s) rendered)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..otio import export_project
    from ..project import Project

    print(export_project(Project.load(args.project), args.output))
    return 0
