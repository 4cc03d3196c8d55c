"""``motionwright demo``: a drag edit on the bundled sample shot, rendered by the CPU preview."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="render a drag edit on the bundled sample shot",
        description="Track the handle of a drag edit through the bundled sample shot, render the "
        "edit with the CPU preview backend, and write the result, a side-by-side comparison with "
        "handles, targets and tracks drawn, and a project file you can render again.")
    parser.add_argument("-o", "--output", default="motionwright-demo", metavar="DIR",
                        help="folder for the results (default: ./motionwright-demo)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..clip import Clip
    from ..preview.backend import render_ops
    from ..preview.compare import side_by_side
    from ..preview.drag import DragPreview
    from ..project import Project
    from ..sample import sample_drag_edit, sample_shot_path

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    clip = Clip.open(sample_shot_path())
    width, height = clip.size
    print(f"sample shot: {len(clip)} frames, {width}x{height}, {float(clip.fps):g} fps")
    edit = sample_drag_edit()
    bar = progress_bar()

    # One propagation serves the render and the comparison, which draws handles, targets and
    # mask where the drag carried them on each frame.
    edit.check_against(len(clip), clip.size, name="the sample drag")
    guide = DragPreview(clip, edit, progress=bar)
    result = render_ops(clip, [guide], progress=bar)
    result_path = out / "drag_preview.mp4"
    result.save(result_path, codec="h264", progress=bar)

    compare = side_by_side(clip, result, labels=("source", "drag preview"), edit=edit,
                           tracks=guide)
    compare_path = out / "drag_compare.mp4"
    compare.save(compare_path, codec="h264", progress=bar)

    project = Project()
    ref = project.add_clip(sample_shot_path(), id="sample")
    project.add_edit(ref.id, edit)
    project_path = project.save(out / "demo.mwproj")

    print(f"result:      {result_path}")
    print(f"comparison:  {compare_path}")
    print(f"project:     {project_path}  (render again: motionwright render {project_path} "
          f"-o {out / 'again.mp4'})")
    return 0
