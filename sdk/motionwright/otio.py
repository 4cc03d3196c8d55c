"""OpenTimelineIO round trips: render the Motionwright edits of a timeline's clips and write a
timeline that references the rendered media with identical record timing; write a project as a
timeline.

Which clips carry edits: a clip's OTIO metadata ``motionwright`` = ``{"schema":
"OtioEdits.1", "edits": [<edit dict>...], "start": <media frame the edits count from>}``, or a
project (``--project``) whose clip has the same media file (its edits count from its
``in_frame``). A clip is rendered from that start frame to the end of its used source range
plus ``handles``; the new media reference's available range starts at the same media frame, so
the clip's ``source_range`` and its place on the track stay exactly as they were. Nothing else in
the timeline changes (untouched clips serialise byte for byte as before). Rates are OTIO's own
(23.976 = 24000/1001 stays that float; drop-frame is a timecode display matter OTIO keeps in
metadata, untouched here). Needs the ``otio`` extra (``pip install motionwright[otio]``).
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, MissingExtraError

METADATA_KEY = "motionwright"
SCHEMA = "OtioEdits.1"


def _otio() -> Any:
    try:
        import opentimelineio
    except ImportError as exc:
        raise MissingExtraError("OpenTimelineIO support needs the otio extra: "
                                "pip install 'motionwright[otio]'") from exc
    return opentimelineio


def media_path(clip: Any) -> str | None:
    """The local file a clip's default media reference points at (None when not a file)."""
    ref = clip.media_reference
    url = getattr(ref, "target_url", None)
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return os.path.abspath(urllib.parse.unquote(parsed.path))
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # a plain path (or a Windows drive)
        return os.path.abspath(url)
    return None


def _file_url(path: str | os.PathLike) -> str:
    return Path(os.path.abspath(os.fspath(path))).as_uri()


def clip_edits(clip: Any, project: Any = None) -> tuple[list, int] | None:
    """``(edits, start)`` for an OTIO clip: from its ``motionwright`` metadata, else from the
    project clip using the same media; None when it carries no Motionwright edits."""
    from .edits import edit_from_dict

    meta = clip.metadata.get(METADATA_KEY) if hasattr(clip, "metadata") else None
    if meta:
        data = json.loads(json.dumps(dict(meta), default=_plain))
        edits = data.get("edits")
        if not isinstance(edits, list):
            raise InvalidInputError(f"clip {clip.name!r}: metadata '{METADATA_KEY}.edits' "
                                    f"must be a list of edits, got {type(edits).__name__}")
        start = data.get("start", 0)
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise InvalidInputError(f"clip {clip.name!r}: metadata '{METADATA_KEY}.start' must "
                                    f"be a frame number (0 or more), got {start!r}")
        path = media_path(clip)
        base = os.path.dirname(path) if path else None
        return [edit_from_dict(e, base) for e in edits], start
    if project is not None:
        path = media_path(clip)
        for ref in project.clips:
            if path and os.path.abspath(ref.path) == path and project.edits.get(ref.id):
                return list(project.edits[ref.id]), ref.in_frame
    return None


def _plain(value: Any) -> Any:
    """OTIO's AnyDictionary / AnyVector values as plain JSON values."""
    if hasattr(value, "items"):
        return dict(value.items())
    if hasattr(value, "__iter__"):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _frame(otio: Any, t: Any, rate: float) -> int:
    return round(t.rescaled_to(rate).value)


RenderFn = Callable[[str, list, int, int, Path], Path]


def render_local(media: str, edits: list, start: int, stop: int, out: Path,
                 backend: str = "preview") -> Path:
    """Render ``edits`` on media frames ``[start, stop)`` in this process into ``out``."""
    from .clip import Clip
    from .rendering import render

    clip = Clip.open(media)
    stop = min(stop, len(clip))
    return render(clip[start:stop], edits, backend=backend).save(out)


def render_timeline(src: str | os.PathLike, dst: str | os.PathLike, *, handles: int = 0,
                    project: Any = None, render: RenderFn | None = None,
                    media_dir: str | os.PathLike | None = None,
                    suffix: str = ".mov") -> list[str]:
    """Render every clip of timeline ``src`` that carries Motionwright edits and write the new
    timeline to ``dst`` (atomically); returns the rendered media paths.

    ``render(media, edits, start, stop, out_path) -> path`` does the rendering (default: in
    process with the preview backend); ``media_dir`` (default ``<dst stem>_media`` next to
    ``dst``) receives the files."""
    otio = _otio()
    if isinstance(handles, bool) or not isinstance(handles, int) or handles < 0:
        raise InvalidInputError(f"handles: expected a frame count (0 or more), got {handles!r}")
    timeline = otio.adapters.read_from_file(os.fspath(src))
    dst = Path(os.path.abspath(os.fspath(dst)))
    folder = Path(media_dir) if media_dir is not None else dst.with_name(dst.stem + "_media")
    render = render or render_local
    written: list[str] = []
    for clip in timeline.find_clips():
        found = clip_edits(clip, project)
        path = media_path(clip)
        if found is None or path is None:
            continue
        edits, start = found
        used = clip.source_range or clip.available_range()
        rate = used.start_time.rate
        first = _frame(otio, used.start_time, rate)
        end = _frame(otio, used.end_time_exclusive(), rate)
        if first < start:
            raise InvalidInputError(f"clip {clip.name!r}: it uses media frame {first}, before "
                                    f"frame {start} that its edits count from; trim the clip "
                                    "or move the edits' start")
        stop = end + handles
        available = clip.media_reference.available_range
        if available is not None:
            stop = min(stop, _frame(otio, available.end_time_exclusive(), rate))
        key = hashlib.sha256(json.dumps([path, start, stop, [e.to_dict() for e in edits]],
                                        sort_keys=True, default=str).encode()).hexdigest()[:12]
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{_safe(clip.name or Path(path).stem)}_{key}{suffix}"
        rendered = Path(render(path, edits, start, stop, out))
        written.append(str(rendered))
        # Read what is needed from the old reference first: OTIO frees it on replacement.
        original_url = getattr(clip.media_reference, "target_url", None)
        clip.media_reference = otio.schema.ExternalReference(
            target_url=_file_url(rendered),
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate),
                                                    otio.opentime.RationalTime(stop - start, rate)))
        meta = dict(clip.metadata.get(METADATA_KEY, {}) or {})
        meta.update({"schema": SCHEMA, "rendered_from": original_url,
                     "start": start})
        if "edits" not in meta:
            meta["edits"] = [e.to_dict(os.path.dirname(path)) for e in edits]
        clip.metadata[METADATA_KEY] = meta
    _write_atomic(otio, timeline, dst)
    return written


def _safe(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return cleaned[:80] or "clip"


def _write_atomic(otio: Any, timeline: Any, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()


def export_project(project: Any, dst: str | os.PathLike, *, name: str | None = None) -> Path:
    """Write a project as a timeline: one video track, its clips in project order, each with
    its used frames as source range and its edits in ``motionwright`` metadata."""
    from .clip import Clip

    otio = _otio()
    default_name = project.path.stem if project.path else "Motionwright"
    timeline = otio.schema.Timeline(name=name or default_name)
    track = otio.schema.Track(name="Motionwright", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for ref in project.clips:
        media = Clip.open(ref.path)
        rate = float(media.fps)
        total = len(media)
        out = ref.out_frame if ref.out_frame is not None else total
        reference = otio.schema.ExternalReference(
            target_url=_file_url(ref.path),
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                    otio.opentime.RationalTime(total, rate)))
        clip = otio.schema.Clip(
            name=ref.name or ref.id, media_reference=reference,
            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(ref.in_frame, rate),
                                                 otio.opentime.RationalTime(out - ref.in_frame,
                                                                            rate)))
        base = os.path.dirname(ref.path)
        clip.metadata[METADATA_KEY] = {
            "schema": SCHEMA, "clip_id": ref.id, "start": ref.in_frame,
            "edits": [e.to_dict(base) for e in project.edits.get(ref.id, [])]}
        track.append(clip)
    dst = Path(os.path.abspath(os.fspath(dst)))
    _write_atomic(otio, timeline, dst)
    return dst
