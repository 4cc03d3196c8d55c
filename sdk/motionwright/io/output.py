"""Choosing and checking how a clip is written, before any frame is computed.

:func:`plan_output` turns a path and the requested codec into an :class:`OutputPlan` and
refuses, with a typed error naming the value and what to do, anything the write would fail on
later (codec vs container, odd sizes for 4:2:0 codecs, an unwritable folder). It also decides
what is kept from the source media (see :mod:`motionwright.io.origin`) and warns with
:class:`~motionwright.errors.FidelityWarning` about what cannot be:

- **codec**: by default the source's when it is H.264, HEVC or ProRes and the container takes
  it; ProRes for high-bit-depth clips in .mov; else H.264. PNG for patterns and folders.
- **bit depth**: ``uint16`` clips are written as 10-bit video (16-bit PNG), ``uint8`` clips as
  8-bit video (ProRes is always 10-bit).
- **chroma**: H.264/HEVC are written 4:2:0; a 4:2:2 or 4:4:4 video source (ProRes masters)
  loses chroma detail there, which is warned about.
- **rotation**: a source with a display matrix is written in its stored orientation with the
  same display matrix; PNG frames are written upright.
- **audio**: kept in video files (see :mod:`motionwright.io.audio`), not in PNG sequences.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import FidelityWarning, InvalidInputError, UnsupportedFormatError
from .audio import has_audio
from .images import IMAGE_EXTENSIONS, SequencePattern
from .origin import Origin, origin_of

VIDEO_CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
PRORES_PROFILES = ("proxy", "lt", "standard", "hq", "4444", "4444xq")
CODECS = ("h264", "hevc", "prores", "png")
EVEN_FITS = ("pad", "crop")
DEFAULT_SEQUENCE_NAME = "frame.%06d.png"

_ENCODERS = {"h264": "libx264", "hevc": "libx265", "prores": "prores_ks"}
# Codecs that only take even widths and heights (4:2:0 chroma).
_EVEN_ONLY = ("h264", "hevc")
_HIGH_DEPTH_FORMAT = "yuv420p10le"


@dataclass(frozen=True)
class OutputPlan:
    """How a clip will be written.

    ``codec`` is one of :data:`CODECS`; for video, ``encoder``, ``pix_fmt``, ``options`` and
    ``container`` (FFmpeg names), ``size`` (the stored width and height, after ``even`` and
    rotation), ``rotation`` (counter-clockwise degrees of the display matrix written) and
    ``audio`` (whether the source's audio is copied); for PNG, ``pattern`` and
    ``start_number``. ``bits`` is the bit depth per component written.
    """

    path: Path
    codec: str
    bits: int
    origin: Origin
    even: str | None = None
    encoder: str = ""
    pix_fmt: str = ""
    options: dict[str, str] = field(default_factory=dict)
    container: str = ""
    size: tuple[int, int] = (0, 0)
    rotation: int = 0
    audio: bool = False
    pattern: SequencePattern | None = None
    start_number: int = 0


def high_depth_format(encoder: str) -> str | None:
    """The 10-bit 4:2:0 pixel format ``encoder`` takes in this FFmpeg build, or None."""
    formats = av.codec.Codec(encoder, "w").video_formats or ()
    return _HIGH_DEPTH_FORMAT if any(f.name == _HIGH_DEPTH_FORMAT for f in formats) else None


def infer_codec(path: Path, origin: Origin | None = None, high: bool = False) -> str:
    """The codec used when none is given (see the module docstring)."""
    if SequencePattern.parse(path) is not None or path.suffix == "" or path.is_dir():
        return "png"
    suffix = path.suffix.lower()
    if suffix not in VIDEO_CONTAINERS:
        raise UnsupportedFormatError(
            f"path: cannot tell the format of '{path}' from its suffix; use .mp4, .mov or .mkv "
            "for video, or a pattern like 'out/shot.%04d.png' or a folder for PNG frames"
        )
    source_codec = origin.codec if origin is not None else None
    if source_codec in ("h264", "hevc") or (source_codec == "prores" and suffix != ".mp4"):
        return source_codec
    return "prores" if high and suffix == ".mov" else "h264"


def plan_output(clip: Any, path: str | os.PathLike, codec: str | None = None, *,
                crf: int = 18, preset: str = "medium", profile: str | None = None,
                even: str | None = None, start_number: int | None = None,
                options: dict[str, str] | None = None) -> OutputPlan:
    """Check everything about writing ``clip`` to ``path`` and return the plan.

    Arguments as in :meth:`motionwright.Clip.save`. Raises
    :class:`~motionwright.errors.InvalidInputError` or
    :class:`~motionwright.errors.UnsupportedFormatError` for settings the write would fail on;
    warns (:class:`~motionwright.errors.FidelityWarning`) about what the output cannot keep.
    Nothing is read from ``clip`` but its facts (size, dtype, rate, source media).
    """
    target = Path(os.fspath(path))
    if len(clip) == 0:
        raise InvalidInputError(f"clip: cannot save an empty clip (0 frames) to '{target}'")
    if options is not None and not isinstance(options, dict):
        raise InvalidInputError(f"options: expected a dict of strings, got {options!r}")
    if even is not None and even not in EVEN_FITS:
        raise InvalidInputError(f"even: expected None, 'pad' or 'crop', got {even!r}")
    origin = origin_of(clip)
    high = np.dtype(clip.dtype) == np.uint16
    codec = infer_codec(target, origin, high) if codec is None else str(codec).lower()
    if codec not in CODECS:
        raise UnsupportedFormatError(f"codec: expected one of {', '.join(CODECS)}, got {codec!r}")
    if getattr(origin.source, "is_variable_rate", False):
        warnings.warn(
            f"the source has a variable frame rate; '{target}' is written at the constant "
            f"rate {clip.fps} fps", FidelityWarning, stacklevel=3,
        )
    if codec == "png":
        return _plan_png(target, origin, high, start_number)
    return _plan_video(clip, target, codec, origin, high, crf=crf, preset=preset,
                       profile=profile, even=even,
                       options={str(k): str(v) for k, v in (options or {}).items()})


def _plan_png(target: Path, origin: Origin, high: bool, start_number: int | None
              ) -> OutputPlan:
    if start_number is None:
        start_number = origin.first_number()
    if isinstance(start_number, bool) or not isinstance(start_number, int) or start_number < 0:
        raise InvalidInputError(f"start_number: expected an integer >= 0, got {start_number!r}")
    pattern = _png_pattern(target)
    _check_writable(pattern.folder, target)
    if has_audio(origin):
        warnings.warn(
            f"the source's audio is not kept in the PNG sequence '{target}'; write a .mov or "
            ".mp4 to keep it", FidelityWarning, stacklevel=4,
        )
    return OutputPlan(target, "png", 16 if high else 8, origin, pattern=pattern,
                      start_number=start_number)


def _png_pattern(target: Path) -> SequencePattern:
    pattern = SequencePattern.parse(target)
    if pattern is None:
        if target.suffix.lower() in IMAGE_EXTENSIONS or target.suffix.lower() in VIDEO_CONTAINERS:
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


def _plan_video(clip: Any, target: Path, codec: str, origin: Origin, high: bool, *, crf: int,
                preset: str, profile: str | None, even: str | None,
                options: dict[str, str]) -> OutputPlan:
    suffix = target.suffix.lower()
    if suffix not in VIDEO_CONTAINERS:
        raise UnsupportedFormatError(
            f"path: {codec} video is written to {', '.join(VIDEO_CONTAINERS)} files, got "
            f"'{target}'; for PNG frames use codec='png' and a pattern like 'out/f.%04d.png'"
        )
    if target.is_dir():
        raise InvalidInputError(f"path: '{target}' is a folder; give a video file name")
    _check_writable(target.parent, target)
    width, height = clip.size
    if codec in _EVEN_ONLY and (width % 2 or height % 2):
        if even is None:
            raise InvalidInputError(
                f"{codec} (4:2:0) needs an even width and height, got {width}x{height} for "
                f"'{target}'; save with codec='prores' (.mov) or 'png', or pass even='pad' / "
                "'crop' (CLI: --even pad|crop) to add or drop the odd row/column"
            )
        step = 1 if even == "pad" else -1
        width, height = width + step * (width % 2), height + step * (height % 2)
        if width == 0 or height == 0:
            raise InvalidInputError(
                f"even='crop': a {clip.size[0]}x{clip.size[1]} clip has nothing left after "
                "cropping; use even='pad'"
            )
    else:
        even = None
    if codec == "prores":
        encoder, pix_fmt, opts, bits = _prores(suffix, origin, profile)
    else:
        encoder, pix_fmt, opts, bits = _h26x(codec, high, crf, preset)
    _warn_lost_bits(target, codec, origin, high, bits)
    _warn_lost_chroma(target, codec, origin, pix_fmt)
    rotation = origin.rotation
    stored = (height, width) if rotation in (90, 270) else (width, height)
    return OutputPlan(target, codec, bits, origin, even=even, encoder=encoder, pix_fmt=pix_fmt,
                      options={**opts, **options}, container=VIDEO_CONTAINERS[suffix],
                      size=stored, rotation=rotation, audio=has_audio(origin))


def _h26x(codec: str, high: bool, crf: int, preset: str) -> tuple[str, str, dict[str, str], int]:
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise InvalidInputError(f"crf: expected an integer in 0..51 (lower is better), "
                                f"got {crf!r}")
    encoder = _ENCODERS[codec]
    opts = {"crf": str(crf), "preset": str(preset)}
    if codec == "hevc":
        opts["x265-params"] = "log-level=error"
    pix_fmt = (high_depth_format(encoder) if high else None) or "yuv420p"
    return encoder, pix_fmt, opts, 10 if pix_fmt != "yuv420p" else 8


def _prores(suffix: str, origin: Origin, profile: str | None
            ) -> tuple[str, str, dict[str, str], int]:
    if suffix != ".mov":
        raise UnsupportedFormatError(
            f"ProRes is written to .mov files, got '{suffix}'; use a .mov name or codec='h264'"
        )
    if profile is None:
        source_profile = str(getattr(origin.source, "profile", "") or "").lower()
        use_source = origin.codec == "prores" and source_profile in PRORES_PROFILES
        profile = source_profile if use_source else "hq"
    if profile not in PRORES_PROFILES:
        raise InvalidInputError(
            f"profile: expected one of {', '.join(PRORES_PROFILES)}, got {profile!r}"
        )
    pix_fmt = "yuv444p10le" if profile.startswith("4444") else "yuv422p10le"
    return "prores_ks", pix_fmt, {"profile": profile, "vendor": "apl0"}, 10


def _warn_lost_bits(target: Path, codec: str, origin: Origin, high: bool, bits: int) -> None:
    """Warn when a high-bit-depth clip is written with fewer bits than its source has."""
    if not high:
        return
    source_bits = origin.bit_depth or 16
    same_prores = codec == "prores" and origin.codec == "prores"
    if bits < source_bits and not same_prores:
        keep = ("write PNG frames to keep 16 bits" if bits >= 10 else
                "save with codec='prores' (.mov) or 'png' to keep them")
        warnings.warn(
            f"'{target}': the source has {source_bits} bits per component but {codec} is "
            f"written with {bits}; {keep}", FidelityWarning, stacklevel=5,
        )


def _chroma(pix_fmt: str) -> str | None:
    """The chroma subsampling (``"420"``, ``"422"``, ``"444"``) of a YUV pixel format, or None."""
    match = re.match(r"yuva?(4[24][024])p", pix_fmt)
    return match.group(1) if match else None


def _warn_lost_chroma(target: Path, codec: str, origin: Origin, pix_fmt: str) -> None:
    """Warn when a 4:2:2 or 4:4:4 video source is written with coarser chroma."""
    source = _chroma(str(getattr(origin.source, "pix_fmt", "") or ""))
    written = _chroma(pix_fmt)
    if source is None or written is None or int(written) >= int(source):
        return
    keep = "save" if target.suffix.lower() == ".mov" else "write a .mov"
    warnings.warn(
        f"'{target}': the source's {origin.codec} {source[0]}:{source[1]}:{source[2]} chroma is "
        f"written as {codec} {written[0]}:{written[1]}:{written[2]}, with less colour detail; "
        f"{keep} with codec='prores' to keep it", FidelityWarning, stacklevel=5,
    )


def _check_writable(folder: Path, target: Path) -> None:
    """Refuse a target whose folder cannot be created or written to."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidInputError(
            f"path: cannot write '{target}': '{existing}' is a file, not a folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInputError(
            f"path: cannot write '{target}': the folder '{existing}' is not writable; choose "
            "another output location"
        )
