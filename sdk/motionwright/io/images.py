"""Image sequences: a folder of images or a printf pattern such as ``shot.%04d.exr``.

Images are read with OpenCV (PNG, JPEG, TIFF, BMP, WebP, and EXR where OpenCV was built with
OpenEXR; otherwise EXR goes through FFmpeg's decoder). 8-bit images give ``uint8``
frames, 16-bit PNG/TIFF give ``uint16``; float images (EXR, float TIFF) are taken as values in
[0, 1], clipped and scaled to ``uint16`` without any colour transform. Alpha is dropped, grey is
repeated into RGB. All frames must have the size of the first; a frame of another size raises
:class:`~motionwright.errors.CorruptFileError` naming the file when it is read.

A sequence's rate and start timecode live in a small sidecar file ``<name>.mwseq.json`` next to
the images (written by ``Clip.save(..., codec="png")``); without one the rate is 24 fps and the
timecode 00:00:00:00. A sidecar is checked before it is trusted: its fps must be a plain rate
between 1/1000 and 1000 (numerator and denominator up to 10⁶), and its pattern must name files
in the sidecar's own folder — one that points elsewhere (``../other/shot.%04d.png``) is refused
with :class:`~motionwright.errors.UnsafePathError`; to use such frames, open them by their own
path.

Numbered frames must be consecutive: a gap in the numbers (of a pattern, or of a folder with a
sidecar) raises MediaNotFoundError naming the first missing file, whatever the size of the gap.
A folder without a sidecar is taken as its images in natural order. Frame numbers have at most
12 digits (longer digit runs are not frames), and a sequence at most ``max_frames`` files (see
:mod:`motionwright.limits`).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .. import limits
from .._atomic_folder import recover_folder
from .._persist import read_json, schema_label, upgrade
from ..errors import (
    CorruptFileError,
    InvalidInputError,
    MediaNotFoundError,
    UnsafePathError,
    UnsupportedFormatError,
)
from ..timecode import Timecode, as_rate
from ._opencv import cv2
from .image_decode import decode_image
from .source import check_index

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".webp")
SIDECAR_SUFFIX = ".mwseq.json"
SIDECAR_TYPE = "ImageSequence"
SIDECAR_VERSION = 1
MAX_FRAME_DIGITS = 12
MIN_FPS, MAX_FPS = Fraction(1, 1000), Fraction(1000)
_MAX_RATE_TERM = 10**6

_PRINTF = re.compile(r"%(0?)(\d*)d")
_HASHES = re.compile(r"#+")


class SequencePattern:
    """A numbered file name: ``prefix`` + the number (zero-padded to ``width``) + ``suffix``."""

    def __init__(self, folder: Path, prefix: str, width: int, suffix: str) -> None:
        self.folder = folder
        self.prefix = prefix
        self.width = width
        self.suffix = suffix
        digits = rf"\d{{{width},{MAX_FRAME_DIGITS}}}"
        self._regex = re.compile(re.escape(prefix) + f"({digits})" + re.escape(suffix) + "$")

    @classmethod
    def parse(cls, path: Path) -> SequencePattern | None:
        """The pattern in ``path``'s file name (``%04d``, ``%d`` or ``####``), or None."""
        name = path.name
        matches = list(_PRINTF.finditer(name)) or list(_HASHES.finditer(name))
        if len(matches) != 1:
            return None
        m = matches[0]
        if m.group(0).startswith("%"):
            width = int(m.group(2) or 1) if m.group(1) else 1
        else:
            width = len(m.group(0))
        if width > MAX_FRAME_DIGITS:
            raise InvalidInputError(
                f"path: '{name}' pads frame numbers to {width} digits; at most "
                f"{MAX_FRAME_DIGITS} are supported"
            )
        return cls(path.parent, name[: m.start()], width, name[m.end():])

    @property
    def printf(self) -> str:
        """The file-name pattern in printf form, e.g. ``shot.%04d.png``."""
        return f"{self.prefix}%0{self.width}d{self.suffix}" if self.width > 1 else \
            f"{self.prefix}%d{self.suffix}"

    def name(self, number: int) -> str:
        """The file name of frame ``number``."""
        return f"{self.prefix}{number:0{self.width}d}{self.suffix}"

    def number(self, name: str) -> int | None:
        """The frame number of file ``name``, or None if it does not fit the pattern."""
        m = self._regex.match(name)
        if m is None:
            return None
        n = int(m.group(1))
        return n if self.name(n) == name else None

    def files(self) -> list[tuple[int, Path]]:
        """Existing files of the sequence as ``(number, path)``, by number."""
        if not self.folder.is_dir():
            return []
        found = []
        for entry in os.scandir(self.folder):
            n = self.number(entry.name)
            if n is not None and entry.is_file():
                found.append((n, Path(entry.path)))
        return sorted(found)

    @property
    def sidecar(self) -> Path:
        """Where the sequence's ``.mwseq.json`` sidecar lives."""
        stem = self.prefix.rstrip("._- ") or "sequence"
        return self.folder / f"{stem}{SIDECAR_SUFFIX}"

    @property
    def display(self) -> str:
        return str(self.folder / self.printf)


def is_sequence_path(path: Path) -> bool:
    """Whether ``path`` names an image sequence: a folder (also one a killed save left
    swapped aside, which is put back), a pattern or one image file."""
    if path.is_dir() or (not path.suffix and recover_folder(path)):
        return True
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", path.name)]


def read_sidecar(path: Path) -> dict[str, Any]:
    """Read and check a ``.mwseq.json`` sidecar; returns its fields upgraded to the current
    version, with ``fps`` as a Fraction and ``pattern`` checked to stay in the sidecar's
    folder."""
    payload = upgrade(read_json(path, "image-sequence sidecar"), SIDECAR_TYPE, SIDECAR_VERSION,
                      source=str(path))
    payload["fps"] = _sidecar_rate(payload.get("fps"), path)
    pattern = payload.get("pattern", "")
    if not isinstance(pattern, str) or len(pattern) > 255:
        raise CorruptFileError(f"'{path}': the sidecar's pattern {pattern!r:.80} is not a file "
                               "name")
    if pattern in (".", "..") or any(c in pattern for c in "/\\\0") or Path(pattern).anchor:
        raise UnsafePathError(
            f"'{path}': the sidecar points its frames at '{path.parent / pattern}', outside "
            f"its folder '{path.parent}'; if you trust those frames, open them by their own "
            "path instead"
        )
    frames = payload.get("frames")
    if frames is not None:
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 0:
            raise CorruptFileError(f"'{path}': the sidecar's frames {frames!r:.40} is not a "
                                   "frame count")
        limits.current().check("max_frames", frames, f"'{path}': the sidecar's frames")
    return payload


def _sidecar_rate(value: Any, path: Path) -> Fraction:
    """The sidecar's fps as a Fraction within [MIN_FPS, MAX_FPS] with small terms."""
    what = f"'{path}': the sidecar's fps {value!r:.40}"
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > 32:
        raise CorruptFileError(f"{what} is missing or not a rate like '30000/1001'")
    try:
        rate = as_rate(value, "fps")
    except InvalidInputError as exc:
        raise CorruptFileError(f"{what} is not a rate like '30000/1001'") from exc
    if not MIN_FPS <= rate <= MAX_FPS or max(rate.numerator, rate.denominator) > _MAX_RATE_TERM:
        raise CorruptFileError(
            f"{what} is outside {MIN_FPS}..{MAX_FPS} fps (or its terms exceed "
            f"{_MAX_RATE_TERM:,}); fix the sidecar or open the clip with fps=..."
        )
    return rate


def sidecar_payload(pattern: SequencePattern, frames: int, first: int, fps: Fraction,
                    start_timecode: Timecode) -> dict[str, Any]:
    """The JSON-safe content of a sidecar describing a written sequence."""
    return {
        "schema": schema_label(SIDECAR_TYPE, SIDECAR_VERSION),
        "pattern": pattern.printf,
        "first_number": first,
        "frames": frames,
        "fps": f"{fps.numerator}/{fps.denominator}",
        "start_timecode": str(start_timecode),
        "drop_frame": start_timecode.drop_frame,
    }


def _images_in_folder(folder: Path) -> tuple[list[Path], dict[str, Any] | None, str]:
    sidecars = sorted(folder.glob(f"*{SIDECAR_SUFFIX}"))
    if len(sidecars) > 1:
        patterns = [str(read_sidecar(p).get("pattern", "?")) for p in sidecars]
        raise InvalidInputError(
            f"folder '{folder}' holds several image sequences ({', '.join(patterns)}); open one "
            f"by its pattern, e.g. '{folder / patterns[0]}'"
        )
    if sidecars:
        meta = read_sidecar(sidecars[0])
        pattern = SequencePattern.parse(folder / str(meta.get("pattern", "")))
        if pattern is not None:
            found = pattern.files()
            if found:
                return _consecutive(found, pattern), meta, pattern.display
    by_ext: dict[str, list[Path]] = {}
    for entry in os.scandir(folder):
        ext = os.path.splitext(entry.name)[1].lower()
        if ext in IMAGE_EXTENSIONS and entry.is_file() and not entry.name.startswith("."):
            by_ext.setdefault(ext, []).append(Path(entry.path))
    if not by_ext:
        raise MediaNotFoundError(
            f"no images in folder '{folder}' (looked for {', '.join(IMAGE_EXTENSIONS)})"
        )
    # A folder may hold a stray thumbnail; the sequence is the most common image type.
    files = max(by_ext.values(), key=len)
    limits.current().check("max_frames", len(files), f"image folder '{folder}'")
    return sorted(files, key=_natural_key), None, str(folder)


def _images_of_pattern(pattern: SequencePattern) -> tuple[list[Path], dict[str, Any] | None]:
    found = pattern.files()
    if not found:
        raise MediaNotFoundError(
            f"no files match the image sequence '{pattern.display}'"
        )
    files = _consecutive(found, pattern)
    meta = read_sidecar(pattern.sidecar) if pattern.sidecar.is_file() else None
    return files, meta


def _consecutive(found: list[tuple[int, Path]], pattern: SequencePattern) -> list[Path]:
    """The files of ``found`` (sorted ``(number, path)``), checked for count and gaps."""
    limits.current().check("max_frames", len(found), f"image sequence '{pattern.display}'")
    first, last = found[0][0], found[-1][0]
    if last - first + 1 != len(found):
        gap = next(a + 1 for (a, _), (b, _) in itertools.pairwise(found) if b != a + 1)
        raise MediaNotFoundError(
            f"image sequence '{pattern.display}' has a gap: '{pattern.name(gap)}' is missing "
            f"(frames {first}..{last} expected); render or copy the missing frames"
        )
    return [p for _, p in found]


def open_image_source(path: Path, *, fps: Any = None, start_timecode: Any = None,
                      bit_depth: int | None = None) -> ImageSequenceSource:
    """An :class:`ImageSequenceSource` for a folder, a pattern or a single image file."""
    meta: dict[str, Any] | None = None
    pattern = SequencePattern.parse(path)
    recover_folder(path if pattern is None else pattern.folder)  # a save killed mid-swap
    if path.is_dir():
        files, meta, display = _images_in_folder(path)
    elif pattern is not None and not path.is_file():
        if not pattern.folder.is_dir():
            raise MediaNotFoundError(
                f"image sequence folder not found: '{pattern.folder}' does not exist"
            )
        files, meta = _images_of_pattern(pattern)
        display = pattern.display
    elif path.is_file():
        files, display = [path], str(path)
    else:
        raise MediaNotFoundError(f"image not found: '{path}' does not exist")
    rate = as_rate(fps) if fps is not None else (meta["fps"] if meta else Fraction(24))
    tc = start_timecode
    if tc is None and meta and meta.get("start_timecode"):
        try:
            tc = Timecode.parse(meta["start_timecode"], rate, meta.get("drop_frame"))
        except InvalidInputError as exc:
            raise CorruptFileError(
                f"sidecar of '{display}': invalid start_timecode {meta['start_timecode']!r}"
            ) from exc
    if meta and isinstance(meta.get("frames"), int) and meta["frames"] != len(files):
        import warnings

        from ..errors import TruncatedMediaWarning

        warnings.warn(
            f"image sequence '{display}': {len(files)} of {meta['frames']} frames are present; "
            "using those",
            TruncatedMediaWarning,
            stacklevel=4,
        )
    return ImageSequenceSource(files, fps=rate, start_timecode=tc, bit_depth=bit_depth,
                               source_path=display)


def read_image(path: Path) -> np.ndarray:
    """One image file as ``H×W×3`` RGB: uint8, uint16, or uint16 from float in [0, 1].

    OpenCV reads it; where OpenCV cannot (EXR in OpenCV builds without OpenEXR), FFmpeg's
    image decoders through PyAV do. An image whose header claims more pixels than the
    ``max_pixels`` limit raises LimitExceededError before anything is decoded.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError as exc:
        raise MediaNotFoundError(f"image not found: '{path}' does not exist") from exc
    except IsADirectoryError as exc:
        raise CorruptFileError(f"'{path}' is a folder, not an image") from exc
    image = decode_image(data, f"image '{path}'")
    if image is None and data.size:
        image = _decode_with_ffmpeg(path)
    if image is None:
        raise CorruptFileError(
            f"'{path}' cannot be read as an image (damaged, empty, or a format neither OpenCV "
            "nor FFmpeg reads here)"
        )
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    else:
        raise UnsupportedFormatError(
            f"'{path}' has {image.shape[2]} channels; expected grey, RGB or RGBA"
        )
    return _integer_samples(image, path)


def _integer_samples(image: np.ndarray, path: Path) -> np.ndarray:
    if image.dtype in (np.uint8, np.uint16):
        return image
    if image.dtype in (np.float32, np.float64, np.float16):
        scaled = np.clip(np.nan_to_num(image, nan=0.0), 0.0, 1.0) * 65535.0
        return np.rint(scaled).astype(np.uint16)
    raise UnsupportedFormatError(
        f"'{path}' stores {image.dtype} samples; expected 8- or 16-bit integers or floats"
    )


def _decode_with_ffmpeg(path: Path) -> np.ndarray | None:
    """``path`` decoded by FFmpeg as a BGR array (the layout OpenCV returns), or None."""
    import av

    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            name = frame.format.name
            if "f32" in name or "f16" in name:
                rgb = frame.to_ndarray(format="gbrpf32le")
            elif max(c.bits for c in frame.format.components) > 8:
                rgb = frame.to_ndarray(format="rgb48le")
            else:
                rgb = frame.to_ndarray(format="rgb24")
    except (av.error.FFmpegError, StopIteration, ValueError, IndexError):
        return None
    return np.ascontiguousarray(rgb[..., ::-1])


def to_depth(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``image`` converted between uint8 and uint16 (x·257 up, rounded ÷257 down)."""
    if image.dtype == dtype:
        return image
    if dtype == np.uint16:
        return image.astype(np.uint16) * 257
    return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)


class ImageSequenceSource:
    """A list of image files as a FrameSource; every frame is read when asked for.

    Picklable and safe to share between threads (no state changes after opening).
    """

    def __init__(self, files: list[Path], *, fps: Any = Fraction(24), start_timecode: Any = None,
                 bit_depth: int | None = None, source_path: str | None = None) -> None:
        if not files:
            raise MediaNotFoundError("an image sequence needs at least one file")
        if bit_depth not in (None, 8, 16):
            raise InvalidInputError(f"bit_depth: expected None, 8 or 16, got {bit_depth!r}")
        self.files = [Path(f) for f in files]
        self.fps = as_rate(fps)
        first = read_image(self.files[0])
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self.source_bit_depth = 16 if first.dtype == np.uint16 else 8
        depth = bit_depth or self.source_bit_depth
        self.dtype = np.dtype(np.uint16 if depth == 16 else np.uint8)
        self.start_timecode = Timecode.coerce(start_timecode, self.fps)
        self.source_path = source_path or str(self.files[0].parent)
        self.codec = self.files[0].suffix.lower().lstrip(".")

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as a read-only ``H×W×3`` array of this sequence's dtype."""
        check_index(index, len(self), f"'{self.source_path}'")
        path = self.files[index]
        image = read_image(path)
        w, h = self.size
        if image.shape[:2] != (h, w):
            raise CorruptFileError(
                f"'{path}' is {image.shape[1]}x{image.shape[0]} but the sequence "
                f"'{self.source_path}' is {w}x{h} (size of its first frame); every frame must "
                "have the same size"
            )
        image = to_depth(image, self.dtype)
        image.setflags(write=False)
        return image

    def iter_frames(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Frames ``start..stop-1`` in order."""
        for i in range(start, stop):
            yield self.read(i)

    @property
    def identity(self) -> tuple[Any, ...]:
        """What makes two sequences the same: their files and output dtype."""
        return ("images", tuple(str(f.resolve()) for f in self.files), str(self.dtype))

    def info(self) -> dict[str, Any]:
        """Codec facts for ``clip.info``."""
        return {
            "codec": self.codec,
            "pix_fmt": "rgb48" if self.dtype == np.uint16 else "rgb24",
            "source_bit_depth": self.source_bit_depth,
            "keyframe_interval": 1,
            "files": len(self.files),
        }

    def __repr__(self) -> str:
        return f"ImageSequenceSource('{self.source_path}', {len(self)} frames)"
