"""DaVinci Resolve scripts: edit the clip under the playhead in the desktop editor, and render
its Motionwright edits through the render service and add the result as a take.

The functions take Resolve's scripting object (``resolve``: the global a script run from
Workspace ▸ Scripts receives, or :func:`connect` from outside Resolve) and use only the
documented scripting calls: ``GetProjectManager().GetCurrentProject()``,
``GetCurrentTimeline().GetCurrentVideoItem()``, ``TimelineItem.GetStart/GetEnd/GetDuration/
GetLeftOffset/GetRightOffset/GetMediaPoolItem/AddTake/GetTakesCount/SelectTakeByIndex``,
``MediaPoolItem.GetClipProperty("File Path")`` and ``MediaPool.ImportMedia([paths])``.

A clip's edits come from a Motionwright project (``.mwproj``) holding a clip with the same
media file: the one named by ``project=`` / ``$MOTIONWRIGHT_PROJECT``, else the first found in
the media's folder or the folder above it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motionwright.errors import InvalidInputError, MotionwrightError

NOT_REACHABLE = (
    "DaVinci Resolve's scripting is not reachable: start Resolve, set Preferences > System > "
    "General > External scripting using to 'Local', or run the script from Workspace > Scripts "
    "inside Resolve (since Resolve 19.1 external scripting needs Resolve Studio)")


class ResolveError(MotionwrightError, RuntimeError):
    """Resolve is not reachable, or refused a scripting call; the message says what to do."""


@dataclass(frozen=True)
class Shot:
    """The timeline item under the playhead: its media file, the media frames it uses
    ``[source_start, source_end)``, the handles available around them (at most the asked
    number), and its record frames ``[record_start, record_end)`` on the timeline."""

    item: Any
    media_item: Any
    media_path: str
    source_start: int
    source_end: int
    handle_before: int
    handle_after: int
    record_start: int
    record_end: int


def _module_dirs() -> list[Path]:
    env = os.environ.get("RESOLVE_SCRIPT_API")
    dirs = [Path(env) / "Modules"] if env else []
    if sys.platform.startswith("linux"):
        dirs.append(Path("/opt/resolve/Developer/Scripting/Modules"))
    elif sys.platform == "darwin":
        dirs.append(Path("/Library/Application Support/Blackmagic Design/DaVinci Resolve/"
                         "Developer/Scripting/Modules"))
    elif sys.platform == "win32":
        dirs.append(Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) /
                    "Blackmagic Design/DaVinci Resolve/Support/Developer/Scripting/Modules")
    return dirs


def connect() -> Any:
    """Resolve's scripting object from outside Resolve (``DaVinciResolveScript``, found through
    ``$RESOLVE_SCRIPT_API`` or the platform's install folder); ResolveError when it is not
    reachable."""
    try:
        module = importlib.import_module("DaVinciResolveScript")
    except ImportError:
        for folder in _module_dirs():
            if (folder / "DaVinciResolveScript.py").is_file() and str(folder) not in sys.path:
                sys.path.append(str(folder))
        try:
            module = importlib.import_module("DaVinciResolveScript")
        except ImportError as exc:
            raise ResolveError(f"{NOT_REACHABLE} (the DaVinciResolveScript module was not "
                               "found: set RESOLVE_SCRIPT_API and RESOLVE_SCRIPT_LIB)") from exc
    resolve = module.scriptapp("Resolve")
    if resolve is None:
        raise ResolveError(NOT_REACHABLE)
    return resolve


def _current(resolve: Any) -> tuple[Any, Any]:
    if resolve is None:
        raise ResolveError(NOT_REACHABLE)
    project = resolve.GetProjectManager().GetCurrentProject()
    if not project:
        raise ResolveError("no project is open in Resolve: open one and put the playhead on a clip")
    timeline = project.GetCurrentTimeline()
    if not timeline:
        raise ResolveError("the Resolve project has no current timeline: open one")
    return project, timeline


def shot_under_playhead(resolve: Any, handles: int = 0) -> Shot:
    """The video item under the playhead of the current timeline, with up to ``handles``
    frames of handles on each side."""
    if isinstance(handles, bool) or not isinstance(handles, int) or handles < 0:
        raise InvalidInputError(f"handles: expected a frame count (0 or more), got {handles!r}")
    _, timeline = _current(resolve)
    item = timeline.GetCurrentVideoItem()
    if not item:
        raise ResolveError("no video clip under the playhead: move the playhead onto a clip on "
                           "a video track")
    media_item = item.GetMediaPoolItem()
    path = media_item.GetClipProperty("File Path") if media_item else None
    if not path:
        raise ResolveError(f"the clip {item.GetName()!r} has no media file (a generator, title "
                           "or compound clip): Motionwright edits media clips only")
    start = int(item.GetLeftOffset())
    duration = int(item.GetDuration())
    return Shot(item=item, media_item=media_item, media_path=os.path.abspath(path),
                source_start=start, source_end=start + duration,
                handle_before=min(handles, start),
                handle_after=min(handles, int(item.GetRightOffset())),
                record_start=int(item.GetStart()), record_end=int(item.GetEnd()))


def find_project(media_path: str, project: str | os.PathLike | None = None) -> tuple[Any, Any]:
    """``(Project, ClipRef)`` of the project clip using ``media_path``."""
    from motionwright.project import Project

    explicit = project or os.environ.get("MOTIONWRIGHT_PROJECT")
    media = Path(media_path)
    if explicit:
        candidates = [Path(explicit)]
    else:
        candidates = [*sorted(media.parent.glob("*.mwproj")),
                      *sorted(media.parent.parent.glob("*.mwproj"))]
    for path in candidates:
        loaded = Project.load(path)
        for ref in loaded.clips:
            if os.path.abspath(ref.path) == os.path.abspath(media_path):
                return loaded, ref
    where = str(candidates[0]) if explicit else f"{media.parent} or {media.parent.parent}"
    raise InvalidInputError(f"project: no Motionwright project in {where} has a clip on "
                            f"{media_path!r}; open it in the editor first (Motionwright - Edit "
                            "clip under playhead) and save the project there")


def editor_command(shot: Shot, project: str | os.PathLike | None = None) -> list[str]:
    """The command opening the desktop editor on the shot (its project when there is one)."""
    try:
        target = str(find_project(shot.media_path, project)[0].path)
    except (InvalidInputError, MotionwrightError):
        target = shot.media_path
    exe = os.environ.get("MOTIONWRIGHT_BIN") or "motionwright"
    return [exe, "gui", target, "--frame", str(shot.source_start - shot.handle_before)]


def edit_clip_under_playhead(resolve: Any, *, handles: int = 0, project: Any = None,
                             launch: Callable[[list[str]], Any] = subprocess.Popen) -> list[str]:
    """Open the desktop editor on the clip under the playhead; returns the command run."""
    shot = shot_under_playhead(resolve, handles)
    cmd = editor_command(shot, project)
    launch(cmd)
    return cmd


def render_and_add_take(resolve: Any, *, client: Any = None, project: Any = None,
                        handles: int = 0, backend: str = "preview",
                        progress: Callable[[str], None] = print,
                        out_dir: str | os.PathLike | None = None) -> dict:
    """Render the Motionwright edits of the clip under the playhead through the render
    service and add the result as a new take of the same timeline item, selected, with the
    same in/out (the item's timing does not change). Returns what was done."""
    from motionwright.bridge import Client, request_for

    shot = shot_under_playhead(resolve, handles)
    loaded, ref = find_project(shot.media_path, project)
    edits = loaded.edits.get(ref.id) or []
    if not edits:
        raise InvalidInputError(f"project {loaded.path}: clip {ref.id!r} has no edits to render")
    if shot.source_start < ref.in_frame:
        raise InvalidInputError(f"the timeline uses frame {shot.source_start} of {shot.media_path}"
                                f", before the project clip's first frame {ref.in_frame}: trim "
                                "the timeline clip or widen the project clip")
    stop = shot.source_end + shot.handle_after
    if ref.out_frame is not None:
        stop = max(min(stop, ref.out_frame), shot.source_end)
    key = hashlib.sha256(json.dumps([shot.media_path, ref.in_frame, stop, backend,
                                     [e.to_dict() for e in edits]], sort_keys=True,
                                    default=str).encode()).hexdigest()[:10]
    folder = Path(out_dir) if out_dir else Path(shot.media_path).parent / "Motionwright"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{Path(shot.media_path).stem}_{ref.id}_{key}.mov"
    client = client or Client.ensure_running()
    request = request_for(shot.media_path, edits, start=ref.in_frame, stop=stop, backend=backend,
                          output={"file": {"path": str(out), "codec": None}},
                          label=f"Resolve {Path(shot.media_path).name}")
    job = client.submit(request)
    progress(f"Motionwright: rendering {ref.id} ({stop - ref.in_frame} frames, job {job['id']})")

    def report(event: Any) -> None:
        total = max(event.total, 1)
        progress(f"Motionwright: {event.stage} {100 * event.done // total} %")

    view = client.wait(job["id"], progress=report)
    rendered = view.get("output_file") or str(out)
    project_obj, _ = _current(resolve)
    imported = project_obj.GetMediaPool().ImportMedia([rendered])
    if not imported:
        raise ResolveError(f"Resolve did not import {rendered}: check that the file plays, then "
                           "import it by hand")
    # The rendered file starts at the project clip's first frame: same in/out as the item.
    first = shot.source_start - ref.in_frame
    last = shot.source_end - ref.in_frame - 1
    if not shot.item.AddTake(imported[0], first, last):
        raise ResolveError("Resolve refused to add the take (AddTake): the item may be a "
                           "compound or multicam clip")
    index = shot.item.GetTakesCount()
    shot.item.SelectTakeByIndex(index)
    progress(f"Motionwright: added take {index} to {shot.item.GetName()}")
    return {"job": job["id"], "file": rendered, "take": index, "in": first, "out": last}


def run_script(action: str, resolve: Any = None) -> int:
    """Entry point of the scripts in ``plugin/resolve``: prints one clear line on failure."""
    try:
        resolve = resolve if resolve is not None else connect()
        if action == "edit":
            edit_clip_under_playhead(resolve)
        else:
            render_and_add_take(resolve, handles=int(os.environ.get("MOTIONWRIGHT_HANDLES", "0")))
        return 0
    except MotionwrightError as exc:
        print(f"Motionwright: {exc}")
        return 2


def scripts_folder(dest: str | os.PathLike | None = None) -> Path:
    """Resolve's per-user ``Fusion/Scripts/Utility`` folder for this platform (or ``dest``)."""
    if dest is not None:
        return Path(os.path.abspath(os.fspath(dest)))
    home = Path.home()
    if sys.platform == "darwin":
        base = home / "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion"
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", home / "AppData/Roaming")) / \
            "Blackmagic Design/DaVinci Resolve/Support/Fusion"
    else:
        base = home / ".local/share/DaVinciResolve/Fusion"
    return base / "Scripts" / "Utility"


def scripts_source() -> Path:
    """The folder holding the Resolve scripts shipped with the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "resolve_scripts", here.parent / "resolve"):
        if any(candidate.glob("Motionwright*.py")):
            return candidate
    raise ResolveError("the Resolve scripts are missing from this installation; reinstall "
                       "motionwright")


def install_scripts(dest: str | os.PathLike | None = None) -> list[Path]:
    """Copy the scripts into Resolve's Utility scripts folder; returns the files written."""
    import shutil

    folder = scripts_folder(dest)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for script in sorted(scripts_source().glob("Motionwright*.py")):
        target = folder / script.name
        tmp = folder / f".{script.name}.tmp"
        shutil.copyfile(script, tmp)
        os.replace(tmp, target)
        written.append(target)
    return written
