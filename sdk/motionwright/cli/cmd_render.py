"""``motionwright render PROJECT -o OUT``: render a project's edits to video files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_output_options, check_output, parse_range, progress_bar

_SUFFIX = {"h264": ".mp4", "hevc": ".mp4", "prores": ".mov"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="render a project's edits",
        description="Render the edits of a .mwproj project. Frame numbers (edits, --range, a "
        "clip's in/out points) count frames of the clip's media from 0. With one clip to render, "
        "OUT is the output file; with several, OUT is a folder that gets one file per clip, "
        "named after the clip id made safe as a file name (other characters become '_' and a "
        "short hash is added), always inside OUT.")
    parser.add_argument("project", help="the .mwproj project file")
    parser.add_argument("-o", "--output", required=True, help="output file (or folder)")
    parser.add_argument("--backend", choices=("preview", "diffusion"), default="preview",
                        help="preview: CPU, no weights (default); diffusion: local models")
    parser.add_argument("--range", type=parse_range, metavar="A:B",
                        help="render frames A to B-1 only (default: the clip's in/out range)")
    parser.add_argument("--clip", metavar="ID", help="render only this clip of the project")
    parser.add_argument("--model", metavar="PATH",
                        help="diffusion backend: model folder or file (default: the configured "
                        "models)")
    parser.add_argument("--server", action="store_true",
                        help="render through the local render server (started if none runs); "
                        "the jobs survive this command being stopped")
    add_output_options(parser)
    parser.set_defaults(func=run)


def _frame_range(ref, length: int, requested) -> tuple[int, int]:
    from ..errors import FrameRangeError

    start, stop = ref.in_frame, ref.out_frame if ref.out_frame is not None else length
    if requested is not None:
        start = requested[0] if requested[0] is not None else start
        stop = requested[1] if requested[1] is not None else stop
    if not 0 <= start < stop <= length:
        raise FrameRangeError(
            f"--range: frames {start}:{stop} are outside clip {ref.id!r}, which has {length} "
            f"frames (valid A:B with 0 <= A < B <= {length})"
        )
    return start, stop


def _output_path(out: Path, name: str, source: str, codec: str | None, several: bool) -> Path:
    """``out`` itself for one clip; with several, the file or folder ``name`` (a safe file
    name made from the clip id) checked to lie inside the folder ``out``, of the ``source``
    video's file type when no codec is given."""
    from ..file_names import path_inside
    from ..io.output import VIDEO_CONTAINERS

    if not several:
        if codec == "png" and "%" not in out.name and not out.suffix:
            return out / "frame.%04d.png"
        return out
    if codec == "png":
        return path_inside(out, name, "frame.%04d.png")
    if codec is None:
        suffix = Path(source).suffix.lower()
        return path_inside(out, name + (suffix if suffix in VIDEO_CONTAINERS else ".mov"))
    return path_inside(out, f"{name}{_SUFFIX[codec]}")


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip
    from ..errors import InvalidInputError
    from ..file_names import safe_file_names
    from ..project import Project
    from ..rendering import render

    project = Project.load(args.project, check_media=True)
    refs = [ref for ref in project.clips if project.edits.get(ref.id)]
    if args.clip is not None:
        project.clip(args.clip)  # raises, naming the ids that exist
        refs = [ref for ref in refs if ref.id == args.clip]
        if not refs:
            raise InvalidInputError(f"--clip: clip {args.clip!r} has no edits to render")
    if not refs:
        raise InvalidInputError(
            f"project '{args.project}' has no edits to render; add edits in the editor or SDK"
        )
    out = Path(args.output)
    several = len(refs) > 1
    names = safe_file_names(ref.id for ref in refs)
    targets = {ref.id: _output_path(out, names[ref.id], ref.path, args.codec, several)
               for ref in refs}
    bar = progress_bar()
    jobs = []
    for ref in refs:
        clip = Clip.open(ref.path, progress=bar)
        start, stop = _frame_range(ref, len(clip), args.range)
        target = targets[ref.id]
        check_output(clip[start:stop], target, args)
        jobs.append((ref, clip, start, stop, target))
    if getattr(args, "server", False):
        from ._render_server import render_on_server

        return render_on_server(args, project, jobs)
    for ref, clip, start, stop, target in jobs:
        result = render(clip, project.edits[ref.id], backend=args.backend, models=args.model,
                        progress=bar)
        result[start:stop].save(target, codec=args.codec, even=args.even, progress=bar)
        print(f"{ref.id}: frames {start}:{stop} -> {target}")
    return 0
