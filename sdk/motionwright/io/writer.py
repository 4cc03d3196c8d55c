"""Writing clips: H.264 and ProRes video with PyAV, PNG sequences with OpenCV.

Every write keeps the clip's fps and start timecode (in the container's metadata for video —
a QuickTime ``tmcd`` track in .mov/.mp4, a TIMECODE tag in .mkv — and in a ``.mwseq.json``
sidecar for PNG sequences), reports progress per frame, can be cancelled, and is atomic: it
goes to a temporary file or folder that is renamed into place only when complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from .._persist import atomic_path, write_json
from ..errors import InvalidInputError, UnsupportedFormatError
from ..progress import ProgressCallback, Reporter
from .images import IMAGE_EXTENSIONS, SequencePattern, sidecar_payload

VIDEO_CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
PRORES_PROFILES = ("proxy", "lt", "standard", "hq", "4444", "4444xq")
CODECS = ("h264", "prores", "png")
DEFAULT_SEQUENCE_NAME = "frame.%06d.png"

# BT.709 primaries / transfer / matrix (ISO/IEC 23091-2 code points) and limited range.
_BT709 = 1
_LIMITED_RANGE = 1


def infer_codec(path: Path) -> str:
    """The codec ``save`` uses when none is given: png for patterns and folders, else h264."""
    if SequencePattern.parse(path) is not None or path.suffix == "" or path.is_dir():
        return "png"
    if path.suffix.lower() in VIDEO_CONTAINERS:
        return "h264"
    raise UnsupportedFormatError(
        f"path: cannot tell the format of '{path}' from its suffix; use .mp4, .mov or .mkv for "
        "video, or a pattern like 'out/shot.%04d.png' or a folder for PNG frames"
    )


def save_clip(clip: Any, path: str | os.PathLike, codec: str | None = None, *, crf: int = 18,
              preset: str = "medium", profile: str = "hq", start_number: int = 0,
              options: dict[str, str] | None = None, progress: ProgressCallback | None = None,
              cancel: Any = None) -> Path:
    """Write ``clip`` to ``path`` (see :meth:`motionwright.clip.Clip.save`); returns the path."""
    target = Path(os.fspath(path))
    if len(clip) == 0:
        raise InvalidInputError(f"clip: cannot save an empty clip (0 frames) to '{target}'")
    codec = infer_codec(target) if codec is None else str(codec).lower()
    if codec not in CODECS:
        raise UnsupportedFormatError(
            f"codec: expected one of {', '.join(CODECS)}, got {codec!r}"
        )
    if options is not None and not isinstance(options, dict):
        raise InvalidInputError(f"options: expected a dict of strings, got {options!r}")
    reporter = Reporter("save", len(clip), progress, cancel)
    if codec == "png":
        return _save_png(clip, target, start_number, reporter)
    return _save_video(clip, target, codec, crf=crf, preset=preset, profile=profile,
                       options=options or {}, reporter=reporter)


# -- video --------------------------------------------------------------------------------------


def _video_settings(codec: str, suffix: str, size: tuple[int, int], crf: int, preset: str,
                    profile: str, options: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    """Encoder name, pixel format and encoder options for ``codec``."""
    if codec == "h264":
        if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
            raise InvalidInputError(f"crf: expected an integer in 0..51 (lower is better), "
                                    f"got {crf!r}")
        w, h = size
        if w % 2 or h % 2:
            raise InvalidInputError(
                f"H.264 (yuv420p) needs an even width and height, got {w}x{h}; crop the clip "
                "by a pixel or save with codec='prores' or 'png'"
            )
        opts = {"crf": str(crf), "preset": str(preset)}
        return "libx264", "yuv420p", {**opts, **options}
    if suffix != ".mov":
        raise UnsupportedFormatError(f"ProRes is written to .mov files, got '{suffix}'")
    if profile not in PRORES_PROFILES:
        raise InvalidInputError(
            f"profile: expected one of {', '.join(PRORES_PROFILES)}, got {profile!r}"
        )
    pix_fmt = "yuv444p10le" if profile.startswith("4444") else "yuv422p10le"
    return "prores_ks", pix_fmt, {"profile": profile, "vendor": "apl0", **options}


def _save_video(clip: Any, target: Path, codec: str, *, crf: int, preset: str, profile: str,
                options: dict[str, str], reporter: Reporter) -> Path:
    suffix = target.suffix.lower()
    if suffix not in VIDEO_CONTAINERS:
        raise UnsupportedFormatError(
            f"path: {codec} video is written to {', '.join(VIDEO_CONTAINERS)} files, got "
            f"'{target}'"
        )
    encoder, pix_fmt, opts = _video_settings(codec, suffix, clip.size, crf, preset, profile,
                                             {str(k): str(v) for k, v in options.items()})
    fps = Fraction(clip.fps)
    reporter.check()
    with atomic_path(target) as tmp:
        container = av.open(str(tmp), "w", format=VIDEO_CONTAINERS[suffix])
        try:
            container.metadata["timecode"] = str(clip.start_timecode)
            stream = container.add_stream(encoder, rate=fps)
            stream.width, stream.height = clip.size
            stream.pix_fmt = pix_fmt
            stream.options = opts
            ctx = stream.codec_context
            ctx.color_primaries = ctx.color_trc = ctx.colorspace = _BT709
            ctx.color_range = _LIMITED_RANGE
            for i, array in enumerate(clip):
                frame = _to_video_frame(array, pix_fmt)
                frame.pts = i
                for packet in stream.encode(frame):
                    container.mux(packet)
                reporter.step()
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
    return target


def _to_video_frame(array: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """An RGB array as a frame in ``pix_fmt``, converted with the BT.709 matrix."""
    rgb_format = "rgb48le" if array.dtype == np.uint16 else "rgb24"
    if rgb_format == "rgb48le" and array.dtype.byteorder == ">":
        array = array.astype("<u2")
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=rgb_format)
    return frame.reformat(format=pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")


# -- PNG sequences ------------------------------------------------------------------------------


def _png_pattern(target: Path) -> SequencePattern:
    pattern = SequencePattern.parse(target)
    if pattern is None:
        if target.suffix.lower() in IMAGE_EXTENSIONS:
            raise InvalidInputError(
                f"path: a PNG sequence needs a frame-number pattern like 'shot.%04d.png' or a "
                f"folder, got the single file name '{target}'"
            )
        return SequencePattern.parse(target / DEFAULT_SEQUENCE_NAME)  # type: ignore[return-value]
    if pattern.suffix.lower() != ".png":
        raise UnsupportedFormatError(
            f"path: PNG frames need a pattern ending in .png, got '{target.name}'"
        )
    return pattern


def _encode_png(array: np.ndarray) -> bytes:
    from ._opencv import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(array, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8/uint16 3-channel image
        raise UnsupportedFormatError(f"cannot encode a {array.dtype} frame as PNG")
    return data.tobytes()


def _save_png(clip: Any, target: Path, start_number: int, reporter: Reporter) -> Path:
    if isinstance(start_number, bool) or not isinstance(start_number, int) or start_number < 0:
        raise InvalidInputError(f"start_number: expected an integer >= 0, got {start_number!r}")
    pattern = _png_pattern(target)
    folder = pattern.folder
    reporter.check()
    fresh_folder = not folder.exists()
    if fresh_folder:
        folder.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part",
                                      dir=folder.parent))
    else:
        stage = Path(tempfile.mkdtemp(prefix=".mwseq.", suffix=".part", dir=folder))
    try:
        names = []
        for i, array in enumerate(clip):
            name = pattern.name(start_number + i)
            with open(stage / name, "wb") as fh:
                fh.write(_encode_png(array))
            names.append(name)
            reporter.step()
        payload = sidecar_payload(pattern, len(names), start_number, Fraction(clip.fps),
                                  clip.start_timecode)
        write_json(stage / pattern.sidecar.name, payload)
        if fresh_folder:
            try:
                os.rename(stage, folder)
                return _result(target, pattern)
            except OSError:
                folder.mkdir(parents=True, exist_ok=True)
        _move_into(stage, pattern, names)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return _result(target, pattern)


def _move_into(stage: Path, pattern: SequencePattern, names: list[str]) -> None:
    """Move staged frames into an existing folder, drop frames of an older, longer render of
    the same pattern, and put the sidecar in last."""
    folder = pattern.folder
    for name in names:
        os.replace(stage / name, folder / name)
    written = set(names)
    for _, old in pattern.files():
        if old.name not in written:
            old.unlink(missing_ok=True)
    os.replace(stage / pattern.sidecar.name, pattern.sidecar)


def _result(target: Path, pattern: SequencePattern) -> Path:
    return target if SequencePattern.parse(target) is not None else pattern.folder
