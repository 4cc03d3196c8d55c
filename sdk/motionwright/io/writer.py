"""Writing clips: H.264, HEVC and ProRes video with PyAV, PNG sequences with OpenCV.

Every write keeps the clip's fps and start timecode (in the container's metadata for video —
a QuickTime ``tmcd`` track in .mov/.mp4, a TIMECODE tag in .mkv — and in a ``.mwseq.json``
sidecar for PNG sequences), and what :mod:`motionwright.io.output` plans to keep of the source
media (bit depth, rotation, audio, frame numbers). It reports progress per frame, can be
cancelled, and is atomic: it goes to a temporary file or folder that is renamed into place
only when complete. All settings are checked before the first frame is read.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from .._persist import atomic_path, write_json
from ..errors import UnsupportedFormatError
from ..progress import ProgressCallback, Reporter
from .audio import AudioCopy
from .images import SequencePattern, sidecar_payload
from .output import OutputPlan, plan_output
from .video import turn

# BT.709 primaries / transfer / matrix (ISO/IEC 23091-2 code points) and limited range.
_BT709 = 1
_LIMITED_RANGE = 1


def save_clip(clip: Any, path: str | os.PathLike, codec: str | None = None, *, crf: int = 18,
              preset: str = "medium", profile: str | None = None, even: str | None = None,
              start_number: int | None = None, options: dict[str, str] | None = None,
              progress: ProgressCallback | None = None, cancel: Any = None) -> Path:
    """Write ``clip`` to ``path`` (see :meth:`motionwright.clip.Clip.save`); returns the path."""
    plan = plan_output(clip, path, codec, crf=crf, preset=preset, profile=profile, even=even,
                       start_number=start_number, options=options)
    reporter = Reporter("save", len(clip), progress, cancel)
    if plan.codec == "png":
        return _save_png(clip, plan, reporter)
    return _save_video(clip, plan, reporter)


# -- video --------------------------------------------------------------------------------------


def _save_video(clip: Any, plan: OutputPlan, reporter: Reporter) -> Path:
    fps = Fraction(clip.fps)
    reporter.check()
    audio = AudioCopy(plan.origin, len(clip) / fps) if plan.audio else None
    try:
        with atomic_path(plan.path) as tmp:
            container = av.open(str(tmp), "w", format=plan.container)
            try:
                container.metadata["timecode"] = str(clip.start_timecode)
                stream = container.add_stream(plan.encoder, rate=fps)
                stream.width, stream.height = plan.size
                stream.pix_fmt = plan.pix_fmt
                stream.options = plan.options
                if plan.rotation:
                    stream.set_display_rotation(plan.rotation)
                ctx = stream.codec_context
                ctx.color_primaries = ctx.color_trc = ctx.colorspace = _BT709
                ctx.color_range = _LIMITED_RANGE
                if audio is not None:
                    audio.attach(container)
                for i, array in enumerate(clip):
                    stored = _stored(_fit(array, plan), plan.rotation)
                    frame = _to_video_frame(stored, plan.pix_fmt)
                    frame.pts = i
                    for packet in stream.encode(frame):
                        container.mux(packet)
                    if audio is not None:
                        audio.mux_until(container, (i + 1) / fps)
                    reporter.step()
                for packet in stream.encode():
                    container.mux(packet)
                if audio is not None:
                    audio.mux_rest(container)
            finally:
                container.close()
    finally:
        if audio is not None:
            audio.close()
    return plan.path


def _fit(array: np.ndarray, plan: OutputPlan) -> np.ndarray:
    """Pad (repeating the edge) or crop ``array`` to an even size when the plan asks."""
    if plan.even is None:
        return array
    h, w = array.shape[:2]
    if plan.even == "crop":
        return array[: h - h % 2, : w - w % 2]
    return np.pad(array, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _stored(array: np.ndarray, rotation: int) -> np.ndarray:
    """An upright frame turned back to the orientation stored under a display matrix."""
    return turn(array, -rotation) if rotation else array


def _to_video_frame(array: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """An RGB array as a frame in ``pix_fmt``, converted with the BT.709 matrix."""
    rgb_format = "rgb48le" if array.dtype == np.uint16 else "rgb24"
    if rgb_format == "rgb48le" and array.dtype.byteorder == ">":
        array = array.astype("<u2")
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=rgb_format)
    return frame.reformat(format=pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")


# -- PNG sequences ------------------------------------------------------------------------------


def _encode_png(array: np.ndarray) -> bytes:
    from ._opencv import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(array, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8/uint16 3-channel image
        raise UnsupportedFormatError(f"cannot encode a {array.dtype} frame as PNG")
    return data.tobytes()


def _save_png(clip: Any, plan: OutputPlan, reporter: Reporter) -> Path:
    """Write the frames and the sidecar into a staging folder that replaces the sequence's
    folder at once (other files in it are kept): a killed save leaves the old sequence whole."""
    from .._atomic_folder import atomic_folder

    target, pattern, start_number = plan.path, plan.pattern, plan.start_number
    assert pattern is not None
    reporter.check()
    sidecar = pattern.sidecar.name

    def replaced(name: str) -> bool:
        return pattern.number(name) is not None or name == sidecar

    with atomic_folder(pattern.folder, replaced) as stage:
        count = 0
        for i, array in enumerate(clip):
            with open(stage / pattern.name(start_number + i), "wb") as fh:
                fh.write(_encode_png(array))
            count += 1
            reporter.step()
        write_json(stage / sidecar, sidecar_payload(pattern, count, start_number,
                                                    Fraction(clip.fps), clip.start_timecode))
    return _result(target, pattern)


def _result(target: Path, pattern: SequencePattern) -> Path:
    return target if SequencePattern.parse(target) is not None else pattern.folder
