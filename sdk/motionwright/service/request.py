"""A render job request: parsing the dict a client submits, validating it strictly.

:func:`parse_request` refuses unknown fields, wrong types, NaN and infinities, payloads beyond
:mod:`motionwright.limits`, sources that do not open or frame ranges outside them, edits that
do not fit the source (the SDK's own ``edit_from_dict`` and ``check_against``), backends that
cannot render the edits, and output files outside the allowed folders — each with a typed error
whose message names the field. The result, :class:`JobRequest`, is a small picklable value the
scheduler, the cache and remote executors share.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from .. import limits
from ..errors import FrameRangeError, InvalidInputError, MediaNotFoundError, UnsafePathError
from . import framefile

FIELDS = ("source", "edits", "backend", "models", "settings", "output", "label")
MAX_LABEL = 200
MAX_EDITS = 1000
OUTPUT_CODECS = ("h264", "hevc", "prores", "png")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_PREVIEW_SETTINGS = ("seed",)
_TRANSFER_SETTINGS = ("seed", "steps", "size", "num_frames", "memory")
_MEMORY_POLICIES = ("auto", "gpu", "balanced", "lowvram")


@dataclass(frozen=True)
class JobRequest:
    """A validated job request.

    ``source``: ``{"path": abs, "start": int, "stop": int}`` or ``{"upload": id, "fps": str}``
    (the frames of ``uploads/<id>/``; ``upload_dir`` is that folder). ``edits``: the edits'
    dict forms (``edit.to_dict()``, frame numbers relative to the source's start).
    ``backend``: ``"preview"`` or ``"diffusion"``; ``models``: None or ``{family: path}``;
    ``settings``: backend settings; ``sample``: the sample type results are stored in (uint8,
    uint16 or float32); ``output_file``: None or ``{"path": abs, "codec": str | None}``;
    ``label``: free text. ``frames``: how many source frames the job renders.
    """

    source: dict[str, Any]
    edits: tuple[dict[str, Any], ...]
    backend: str
    models: dict[str, str] | None
    settings: dict[str, Any]
    sample: str
    output_file: dict[str, Any] | None
    label: str | None
    frames: int
    upload_dir: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The request's JSON-safe dict form; :func:`parse_request` reads it back."""
        source = dict(self.source)
        out: dict[str, Any] = {"sample": self.sample}
        if self.output_file is not None:
            out["file"] = dict(self.output_file)
        return {"source": source, "edits": [dict(e) for e in self.edits],
                "backend": self.backend, "models": self.models, "settings": dict(self.settings),
                "output": out, "label": self.label}

    def edit_objects(self) -> list:
        """The edits as SDK objects (rebuilt from their dict forms)."""
        from ..edits import edit_from_dict

        return [edit_from_dict(e, self._base_dir()) for e in self.edits]

    def _base_dir(self) -> str | None:
        if "path" in self.source:
            return os.path.dirname(self.source["path"])
        return self.upload_dir

    def open_clip(self):
        """The source frames this job renders, as a lazy :class:`~motionwright.Clip`."""
        from ..clip import Clip

        if "path" in self.source:
            clip = open_media(self.source["path"])
            return clip[self.source["start"]:self.source["stop"]]
        frames = Clip.from_source(framefile.FrameFolder(self.upload_dir, self.source["fps"]))
        return frames[self.source.get("start", 0):self.source.get("stop") or len(frames)]


_MEDIA_KEPT = 4
_media: dict[tuple, Any] = {}
_media_lock = threading.Lock()
_media_key_locks: dict[tuple, threading.Lock] = {}


def open_media(path: str):
    """``Clip.open(path)``, kept for the next requests while the file is unchanged (same real
    path, size and modification time): opening a long video indexes all its packets, which
    checking each request and rendering it would otherwise repeat. Clips are thread-safe."""
    from ..clip import Clip

    try:
        st = os.stat(path)
        key: tuple = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    except OSError:  # an image-sequence pattern: no single file to watch
        return Clip.open(path)
    with _media_lock:
        if key in _media:
            _media[key] = _media.pop(key)  # most recently used last
            return _media[key]
        lock = _media_key_locks.setdefault(key, threading.Lock())
    with lock:
        with _media_lock:
            if key in _media:
                return _media[key]
        clip = Clip.open(path)
        with _media_lock:
            _media[key] = clip
            while len(_media) > _MEDIA_KEPT:
                _media.pop(next(iter(_media)))  # closed once no render uses it any more
            _media_key_locks.pop(key, None)
        return clip


def parse_request(d: Any, *, data_dir: str | os.PathLike | None = None,
                  allowed_output_roots: tuple = (), check_media: bool = True) -> JobRequest:
    """Validate a job request dict and return it as a :class:`JobRequest`.

    ``data_dir`` is the service's data folder (uploads live there; output files may go
    there); ``allowed_output_roots`` lists further folders output files may be written in
    (besides the source's folder). ``check_media=False`` skips opening the source and checking
    the edits against it (for requests read back from the job store, already checked once).
    """
    _check_json_value(d, "request", 0, limits.current())
    if not isinstance(d, dict):
        raise InvalidInputError(f"request: expected a JSON object, got {type(d).__name__}")
    size = len(json.dumps(d, allow_nan=False))
    limits.current().check("max_text_bytes", size, "request size in bytes")
    _refuse_unknown(d, FIELDS, "request")
    for required in ("source", "edits"):
        if required not in d:
            raise InvalidInputError(f"{required}: missing; a job request needs a source and edits")
    root = Path(data_dir) if data_dir is not None else None
    source, upload_dir = _parse_source(d["source"], root)
    backend = d.get("backend", "preview")
    if backend not in ("preview", "diffusion"):
        raise InvalidInputError(f"backend: expected 'preview' or 'diffusion', got {backend!r:.60}")
    edits = _parse_edits(d["edits"], os.path.dirname(source["path"]) if "path" in source
                         else upload_dir)
    models = _parse_models(d.get("models"))
    settings = _parse_settings(d.get("settings"), backend, edits)
    sample, output_file = _parse_output(d.get("output"), source, root, allowed_output_roots)
    label = d.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        raise InvalidInputError(
            f"label: expected a string of at most {MAX_LABEL} characters, got "
            f"{type(label).__name__} of length {len(label) if isinstance(label, str) else '-'}")
    request = JobRequest(source=source, edits=tuple(edits), backend=backend, models=models,
                         settings=settings, sample=sample or "", output_file=output_file,
                         label=label, frames=_frames(source), upload_dir=upload_dir, raw=d)
    if not check_media:
        if not sample:
            raise InvalidInputError("output.sample: missing in a stored request")
        return request
    return _checked_against_media(request)


def _checked_against_media(request: JobRequest) -> JobRequest:
    """Open the source, resolve the frame range and default sample, check the edits fit."""
    import dataclasses

    from ..rendering import check_render

    source = dict(request.source)
    if "path" in source:
        media = open_media(source["path"])
        total = len(media)
        start, stop = source["start"], source.get("stop")
        stop = total if stop is None else stop
        if not 0 <= start < stop <= total:
            raise FrameRangeError(
                f"source.start/stop: frames [{start}, {stop}) are not inside the media's "
                f"{total} frames ('{source['path']}'); use 0 <= start < stop <= {total}")
        source["stop"] = stop
        clip = media[start:stop]
    else:
        total = len(framefile.FrameFolder(request.upload_dir, source["fps"]))
        stop = source.get("stop") or total
        if not source["start"] < stop <= total:
            raise FrameRangeError(
                f"source.start/stop: frames [{source['start']}, {stop}) are not inside the "
                f"upload's {total} frames; use 0 <= start < stop <= {total}")
        source["stop"] = stop
        clip = dataclasses.replace(request, source=source).open_clip()
    if len(clip) < 1:
        raise FrameRangeError("source: the source has no frames")
    sample = request.sample or ("uint8" if clip.dtype == "uint8" else "uint16")
    request = dataclasses.replace(request, source=source, sample=sample, frames=len(clip))
    edits = request.edit_objects()
    models = request.models
    check_render(clip, edits, backend=request.backend, models=models)
    return request


def _frames(source: dict[str, Any]) -> int:
    if source.get("stop") is None:
        return 0  # known once the media is opened
    return int(source["stop"]) - int(source.get("start", 0))


def _check_json_value(value: Any, name: str, depth: int, lim: limits.Limits) -> None:
    """Refuse values JSON cannot hold faithfully (NaN, infinities, non-string keys, odd types)
    and nesting deeper than the limit; the message names the path to the bad value."""
    stack = [(value, name, depth)]
    while stack:
        item, where, level = stack.pop()
        if level > lim.max_json_depth:
            raise InvalidInputError(
                f"{where}: nested deeper than the limit max_json_depth = {lim.max_json_depth}")
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise InvalidInputError(f"{where}: keys must be strings, got {key!r:.40}")
                stack.append((sub, f"{where}.{key}" if where != "request" else key, level + 1))
        elif isinstance(item, list | tuple):
            for i, sub in enumerate(item):
                stack.append((sub, f"{where}[{i}]", level + 1))
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInputError(f"{where}: expected a finite number, got {item!r}")
        elif item is not None and not isinstance(item, str | int | bool):
            raise InvalidInputError(
                f"{where}: expected a JSON value, got {type(item).__name__}")


def _refuse_unknown(d: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        prefix = "" if where == "request" else f"{where}."
        raise InvalidInputError(
            f"{prefix}{unknown[0]}: unknown field in the {where}; expected only "
            f"{', '.join(allowed)}")


def _int(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{name}: expected an integer >= {minimum}, got {value!r:.60}")
    return value


def _absolute(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or "\0" in value:
        raise InvalidInputError(f"{name}: expected a non-empty path string, got {value!r:.80}")
    if not os.path.isabs(value):
        raise UnsafePathError(f"{name}: expected an absolute path, got {value!r:.200}")
    if ".." in Path(value).parts:
        raise UnsafePathError(f"{name}: '..' is not allowed in a path, got {value!r:.200}")
    return os.path.normpath(value)


def _parse_source(value: Any, root: Path | None) -> tuple[dict[str, Any], str | None]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"source: expected an object, got {type(value).__name__}")
    if "path" in value:
        _refuse_unknown(value, ("path", "start", "stop"), "source")
        path = _absolute(value["path"], "source.path")
        start = _int(value.get("start", 0), "source.start")
        stop = value.get("stop")
        if stop is not None:
            stop = _int(stop, "source.stop", 1)
            if stop <= start:
                raise FrameRangeError(
                    f"source.stop: expected a frame after source.start ({start}), got {stop}")
        if not os.path.exists(path) and "%" not in path:
            raise MediaNotFoundError(f"source.path: '{path}' does not exist")
        return {"path": path, "start": start, "stop": stop}, None
    if "upload" in value:
        _refuse_unknown(value, ("upload", "fps", "start", "stop"), "source")
        upload = value["upload"]
        if not isinstance(upload, str) or not UPLOAD_ID.match(upload):
            raise UnsafePathError(
                f"source.upload: expected an upload id (32 hex characters), got {upload!r:.80}")
        if root is None:
            raise InvalidInputError("source.upload: uploads need the service's data folder")
        from ..timecode import as_rate

        fps = as_rate(value.get("fps", 24), "source.fps")
        folder = root / "uploads" / upload
        if not folder.is_dir():
            raise MediaNotFoundError(f"source.upload: no upload {upload!r}; create one first")
        out = {"upload": upload, "fps": str(Fraction(fps)),
               "start": _int(value.get("start", 0), "source.start")}
        if value.get("stop") is not None:
            out["stop"] = _int(value["stop"], "source.stop", out["start"] + 1)
        return out, str(folder)
    raise InvalidInputError("source: expected a 'path' (media file) or an 'upload' (upload id)")


def _parse_edits(value: Any, base_dir: str | None) -> list[dict[str, Any]]:
    """The edits' dict forms, rebuilt through the SDK (media paths in them made absolute
    against the source's folder)."""
    from ..edits import edit_from_dict

    if not isinstance(value, list) or not value:
        raise InvalidInputError(
            f"edits: expected a non-empty list of edits in dict form, got {value!r:.60}")
    if len(value) > MAX_EDITS:
        raise InvalidInputError(f"edits: at most {MAX_EDITS} edits per job, got {len(value)}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidInputError(f"edits[{i}]: expected an object, got {type(item).__name__}")
        try:
            edit = edit_from_dict(item, base_dir)
        except InvalidInputError as exc:
            raise type(exc)(f"edits[{i}]: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"edits[{i}]: not a valid edit ({exc})") from exc
        out.append(edit.to_dict())
    return out


def _parse_models(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"models: expected null or {{family: path}}, got {type(value).__name__}")
    from ..models.families import get_family

    out = {}
    for family, path in value.items():
        try:
            name = get_family(family).name
        except InvalidInputError as exc:
            raise InvalidInputError(f"models.{family:.40}: {exc}") from exc
        out[name] = _absolute(path, f"models.{name}")
    return out


def _parse_settings(value: Any, backend: str, edits: list[dict[str, Any]]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"settings: expected an object, got {type(value).__name__}")
    if "seed" in value:
        _int(value["seed"], "settings.seed")
    if backend == "preview":
        _refuse_unknown(value, _PREVIEW_SETTINGS, "settings")
        return dict(value)
    if "memory" in value and value["memory"] not in _MEMORY_POLICIES:
        raise InvalidInputError(
            f"settings.memory: expected one of {', '.join(_MEMORY_POLICIES)}, got "
            f"{value['memory']!r:.60}")
    kinds = {e.get("kind") for e in edits}
    if kinds == {"drag"}:
        drag_settings(value)
    elif kinds != {"motion-transfer"}:
        # ReVideo, Point-to-Point and S²V2V render with their paper's settings here.
        if value:
            raise InvalidInputError(
                f"settings: the service renders {', '.join(sorted(map(str, kinds)))} edits "
                f"with their method's default settings; remove {', '.join(sorted(value))} "
                f"(or render in-process with the method's own settings)")
    else:
        _refuse_unknown(value, _TRANSFER_SETTINGS, "settings")
        for name in ("steps", "num_frames"):
            if name in value:
                _int(value[name], f"settings.{name}", 1)
        if "size" in value:
            _size(value["size"], "settings.size")
    return dict(value)


def _size(value: Any, name: str) -> tuple[int, int]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 8 for v in value)):
        raise InvalidInputError(f"{name}: expected [width, height] of at least 8, got {value!r}")
    return int(value[0]), int(value[1])


def drag_settings(value: dict[str, Any]):
    """The :class:`~motionwright.methods.dragavideo.DragSettings` a diffusion drag job's
    ``settings`` ask for (its field names; lists for tuples); errors name the setting."""
    import dataclasses

    from ..methods.dragavideo.settings import DragSettings

    names = (*tuple(f.name for f in dataclasses.fields(DragSettings)), "memory")
    _refuse_unknown(value, names, "settings")
    kwargs = {k: v for k, v in value.items() if k != "memory"}
    if "size" in kwargs:
        kwargs["size"] = _size(kwargs["size"], "settings.size")
    if "levels" in kwargs:
        if not isinstance(kwargs["levels"], list):
            raise InvalidInputError(f"settings.levels: expected a list, got {kwargs['levels']!r}")
        kwargs["levels"] = tuple(kwargs["levels"])
    for f in dataclasses.fields(DragSettings):
        if f.name in kwargs and isinstance(f.default, int | float) and not isinstance(
                f.default, bool):
            v = kwargs[f.name]
            if isinstance(v, bool) or not isinstance(v, int | float) or (
                    isinstance(f.default, int) and not isinstance(v, int)):
                raise InvalidInputError(
                    f"settings.{f.name}: expected a {type(f.default).__name__}, got {v!r:.60}")
    try:
        return DragSettings(**kwargs)
    except InvalidInputError as exc:
        raise InvalidInputError(f"settings.{exc}") from exc
    except TypeError as exc:
        raise InvalidInputError(f"settings: {exc}") from exc


def _parse_output(value: Any, source: dict[str, Any], root: Path | None,
                  allowed_roots: tuple) -> tuple[str | None, dict[str, Any] | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise InvalidInputError(f"output: expected an object, got {type(value).__name__}")
    _refuse_unknown(value, ("sample", "file"), "output")
    sample = value.get("sample")
    if sample is not None:
        framefile.check_sample(sample, "output.sample")
    file = value.get("file")
    if file is None:
        return sample, None
    if not isinstance(file, dict):
        raise InvalidInputError(f"output.file: expected an object, got {type(file).__name__}")
    _refuse_unknown(file, ("path", "codec"), "output.file")
    path = _absolute(file.get("path"), "output.file.path")
    codec = file.get("codec")
    if codec is not None and codec not in OUTPUT_CODECS:
        raise InvalidInputError(
            f"output.file.codec: expected null or one of {', '.join(OUTPUT_CODECS)}, got "
            f"{codec!r:.60}")
    roots = [Path(r) for r in allowed_roots]
    if root is not None:
        roots.append(root)
    if "path" in source:
        roots.append(Path(source["path"]).parent)
    check_output_path(path, roots, "output.file.path")
    return sample, {"path": path, "codec": codec}


def check_output_path(path: str, roots: list[Path], name: str) -> None:
    """Refuse ``path`` unless its folder exists and lies (symlinks resolved) inside one of
    ``roots``."""
    parent = Path(path).parent
    if not parent.is_dir():
        raise MediaNotFoundError(f"{name}: the folder '{parent}' does not exist; create it first")
    real = Path(os.path.realpath(parent))
    for allowed in roots:
        base = Path(os.path.realpath(allowed))
        if real == base or base in real.parents:
            return
    listed = ", ".join(f"'{r}'" for r in roots) or "none"
    raise UnsafePathError(
        f"{name}: '{path}' is outside the folders results may be written to ({listed}); "
        f"write beside the source or add the folder to the service's allowed output roots")
