"""The Clip: a lazy, frame-accurate range of frames from a video, an image sequence or memory."""

from __future__ import annotations

import operator
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FrameRangeError, InvalidInputError, MediaNotFoundError, ShapeError
from .io.cache import DEFAULT_CACHE_BYTES, DEFAULT_CACHE_FRAMES
from .io.source import FRAME_DTYPES, ArraySource, FrameSource
from .progress import ProgressCallback, Reporter, check_hooks
from .timecode import Timecode, as_rate


class Clip:
    """A range of frames, read lazily: ``clip[i]`` is an ``H×W×3`` RGB array.

    Make one with :meth:`open` (a video file, a folder of images or a printf pattern such as
    ``shot.%04d.exr``), :meth:`from_frames` (an array in memory) or :meth:`from_source` (any
    :class:`~motionwright.io.source.FrameSource`, e.g. a renderer computing frames on demand).

    **Frames** are read-only numpy arrays of shape ``(H, W, 3)``, RGB, ``uint8`` — or ``uint16``
    when the source has more than 8 bits per component (10/12-bit video, 16-bit PNG/TIFF, EXR)
    unless ``Clip.open(..., bit_depth=8)`` asks for 8 bits. Copy a frame before changing it.
    Alpha is dropped and grey is repeated into three channels.

    **Indexing** is frame-exact: ``clip[i]`` equals the ``i``-th frame of a sequential decode,
    also for long-GOP, B-frame and variable-frame-rate video. ``clip[-1]`` is the last frame; an
    index outside the clip raises :class:`~motionwright.errors.FrameRangeError`. ``clip[a:b]`` is
    a lazy sub-clip (step slices are refused). Iterating streams frames without seeking.

    **Time**: frame ``i`` is the ``i``-th frame in presentation order. ``fps`` is a Fraction; for
    variable-frame-rate video it is the average rate, and :attr:`timestamps` gives the exact
    presentation time of every frame. ``start_timecode`` is the timecode of frame 0 (a
    sub-clip's moves with its start).

    **Sharing**: a clip may be used from several threads (random reads take a lock; each
    iterator decodes with its own file handle) and is picklable (open files are reopened on
    first use). Two clips are equal when they show the same frame range of the same media (the
    same file, stream and bit depth, or the same in-memory source object) at the same rate and
    timecode; pixels are not compared.
    """

    def __init__(self, source: FrameSource, frames: range | None = None, *,
                 fps: Any = None, start_timecode: Any = None) -> None:
        """A clip of ``source``'s frames ``frames`` (default: all); ``fps`` and
        ``start_timecode`` (of source frame 0) replace the source's own when given. Prefer
        :meth:`open`, :meth:`from_frames` and :meth:`from_source`."""
        length = _source_length(source)
        self._source = source
        self._range = range(length) if frames is None else frames
        self._fps = as_rate(source.fps if fps is None else fps, "fps")
        self._size = _source_size(source)
        tc = getattr(source, "start_timecode", None) if start_timecode is None else start_timecode
        self._tc0 = Timecode.coerce(tc, self._fps)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, *, fps: Any = None, start_timecode: Any = None,
             bit_depth: int | None = None, stream: int = 0,
             cache_frames: int = DEFAULT_CACHE_FRAMES,
             cache_bytes: int = DEFAULT_CACHE_BYTES,
             progress: ProgressCallback | None = None, cancel: Any = None) -> Clip:
        """Open a video file, an image-sequence folder or a pattern like ``shot.%04d.png``.

        ``fps`` sets the rate of an image sequence (default: its sidecar file's, else 24); a
        video's rate comes from the file. ``start_timecode`` (a label like ``"01:00:00:00"`` or
        a Timecode) replaces the one stored in the file. ``bit_depth`` is None (8 or 16
        following the source), 8 or 16. ``stream`` picks the video stream of a file with
        several. The random-access cache holds at most ``cache_frames`` frames and
        ``cache_bytes`` bytes. Videos are decoded by PyAV (any container and codec FFmpeg
        reads); images by OpenCV (PNG, JPEG, TIFF, EXR, BMP, WebP).

        Opening a video demuxes every packet once to index its frames, then decodes the head
        and the last GOP (seconds for a long file): ``progress`` receives
        :class:`~motionwright.progress.ProgressEvent` s of stage ``"index"`` counting the bytes
        of the file read (a few hundred at most, the last one at the total), then ``"verify"``
        counting the frames decoded; ``cancel`` (a CancelToken, ``threading.Event`` or
        callable) stops either with :class:`~motionwright.errors.Cancelled`. An image sequence
        reports one ``"index"`` step.
        """
        from .io import images

        check_hooks(progress, cancel)
        text = os.fspath(path)
        p = Path(text)
        if images.is_sequence_path(p):
            reporter = Reporter("index", 1, progress, cancel)
            reporter.check()
            source: Any = images.open_image_source(p, fps=fps, start_timecode=start_timecode,
                                                   bit_depth=bit_depth)
            reporter.step()
            return cls(source)
        if not p.exists():
            raise MediaNotFoundError(f"clip not found: '{p}' does not exist")
        if fps is not None:
            raise InvalidInputError(
                f"fps: a video's frame rate comes from the file ('{p}'), got fps={fps!r}; "
                "fps= applies to image sequences only"
            )
        from .io.video import VideoSource

        source = VideoSource(p, stream_index=stream, bit_depth=bit_depth,
                             cache_frames=cache_frames, cache_bytes=cache_bytes,
                             progress=progress, cancel=cancel)
        return cls(source, start_timecode=start_timecode)

    @classmethod
    def from_frames(cls, frames: Any, fps: Any = None, start_timecode: Any = None, *,
                    like: Clip | None = None) -> Clip:
        """A clip of frames in memory: ``frames`` is ``(T, H, W, 3)`` uint8 or uint16 RGB.

        ``like``: a clip these frames replace one for one (a render of it): ``fps`` and
        ``start_timecode`` default to its own, and saving keeps its media's audio, rotation
        and frame numbers. Otherwise ``fps`` defaults to 24. The frames are copied, so later
        changes to ``frames`` do not reach the clip.
        """
        if like is not None:
            fps = like.fps if fps is None else fps
            start_timecode = like.start_timecode if start_timecode is None else start_timecode
        source = ArraySource(frames, fps=Fraction(24) if fps is None else fps,
                             start_timecode=start_timecode)
        if like is not None:
            if len(like) != len(source):
                raise ShapeError(
                    f"like: expected a clip of as many frames as frames ({len(source)}), got "
                    f"{len(like)}; pass like=clip[a:b] for the frames rendered"
                )
            source.derived_from = like
        return cls(source)

    @classmethod
    def from_source(cls, source: FrameSource) -> Clip:
        """A lazy clip over ``source`` (``__len__``, ``read(i)``, ``fps``, ``size``,
        ``start_timecode``; see :mod:`motionwright.io.source` for the optional extras)."""
        missing = [name for name in ("__len__", "read", "fps", "size")
                   if not hasattr(source, name)]
        if missing:
            raise InvalidInputError(
                f"source: expected a FrameSource (__len__, read, fps, size, start_timecode), "
                f"got {type(source).__name__} without {', '.join(missing)}"
            )
        return cls(source)

    def _sub(self, frames: range) -> Clip:
        clip = object.__new__(Clip)
        clip._source = self._source
        clip._range = frames
        clip._fps = self._fps
        clip._size = self._size
        clip._tc0 = self._tc0
        return clip

    # -- basic facts --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._range)

    @property
    def fps(self) -> Fraction:
        """Frames per second (the average rate for variable-frame-rate video)."""
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, as displayed (a rotated video's frames are upright)."""
        return self._size

    @property
    def start_timecode(self) -> Timecode:
        """The timecode of this clip's frame 0."""
        return self._tc0 + self._range.start if len(self._range) else self._tc0

    @property
    def source(self) -> FrameSource:
        """The FrameSource this clip reads from."""
        return self._source

    @property
    def source_path(self) -> str | None:
        """The file, folder or pattern the frames come from (None for frames in memory)."""
        path = getattr(self._source, "source_path", None)
        return None if path is None else str(path)

    @property
    def source_range(self) -> tuple[int, int]:
        """``(start, stop)`` of this clip in the source's frames (stop exclusive)."""
        return self._range.start, self._range.stop

    @property
    def dtype(self) -> np.dtype:
        """``uint8`` or ``uint16``: the dtype of every frame."""
        dtype = getattr(self._source, "dtype", None)
        if dtype is None:
            if not len(self._source):
                return np.dtype(np.uint8)
            dtype = self._check(self._source.read(0), 0).dtype
        return np.dtype(dtype)

    @property
    def timestamps(self) -> list[Fraction]:
        """Presentation time of each frame in seconds, from this clip's frame 0 (Fractions).

        Evenly spaced at ``1 / fps`` except for variable-frame-rate video.
        """
        times = getattr(self._source, "timestamps", None)
        if times is None or len(times) != len(self._source):
            return [Fraction(i) / self._fps for i in range(len(self))]
        picked = [times[i] for i in self._range]
        return [t - picked[0] for t in picked] if picked else []

    @property
    def duration(self) -> Fraction:
        """``len(clip) / fps`` in seconds, exact."""
        return Fraction(len(self)) / self._fps

    @property
    def info(self) -> dict[str, Any]:
        """JSON-safe facts for display (``motionwright info``).

        Keys: frames, fps ("num/den"), fps_float, size ([w, h], as displayed), width, height,
        codec, pix_fmt, timecode, drop_frame, duration (seconds, float, for display only), path,
        bit_depth, keyframe_interval, and source_range for a sub-clip. Sources may add more
        (a video adds rotation: counter-clockwise degrees its stored frames are turned by for
        display).
        """
        extra = dict(self._source.info()) if hasattr(self._source, "info") else {}
        w, h = self._size
        info: dict[str, Any] = {
            "frames": len(self),
            "fps": f"{self._fps.numerator}/{self._fps.denominator}",
            "fps_float": float(self._fps),
            "size": [w, h],
            "width": w,
            "height": h,
            "codec": extra.pop("codec", None),
            "pix_fmt": extra.pop("pix_fmt", None),
            "timecode": str(self.start_timecode),
            "drop_frame": self.start_timecode.drop_frame,
            "duration": float(self.duration),
            "path": self.source_path,
            "bit_depth": 16 if self.dtype == np.uint16 else 8,
            "keyframe_interval": extra.pop("keyframe_interval", None),
        }
        if (self._range.start, self._range.stop) != (0, len(self._source)):
            info["source_range"] = [self._range.start, self._range.stop]
        info.update(extra)
        return info

    # -- frames -------------------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise InvalidInputError(
                    f"clip[{key.start}:{key.stop}:{key.step}]: only step 1 is supported, got "
                    f"step={key.step}; use [clip[i] for i in range(...)] for a frame list"
                )
            return self._sub(self._range[key])
        if isinstance(key, bool):
            raise InvalidInputError(f"clip[...]: expected an integer frame index, got {key!r}")
        try:
            i = operator.index(key)
        except TypeError:
            raise InvalidInputError(
                f"clip[...]: expected an integer frame index or a slice, got {key!r}"
            ) from None
        n = len(self._range)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            valid = f"0..{n - 1} (or -{n}..-1)" if n else "none (the clip is empty)"
            raise FrameRangeError(
                f"frame index {i} is out of range for a clip of {n} frames; valid: {valid}"
            )
        source_index = self._range[j]
        return self._check(self._source.read(source_index), source_index)

    def _check(self, frame: Any, source_index: int) -> np.ndarray:
        w, h = self._size
        if (not isinstance(frame, np.ndarray) or frame.shape != (h, w, 3)
                or frame.dtype not in FRAME_DTYPES):
            got = (f"{frame.shape} {frame.dtype}" if isinstance(frame, np.ndarray)
                   else type(frame).__name__)
            raise ShapeError(
                f"source.read({source_index}): expected an array of shape ({h}, {w}, 3) uint8 or "
                f"uint16, got {got}"
            )
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        if not len(self._range):
            return
        stream = getattr(self._source, "iter_frames", None)
        if stream is None:
            for i in self._range:
                yield self._check(self._source.read(i), i)
            return
        i = self._range.start
        for frame in stream(self._range.start, self._range.stop):
            yield self._check(frame, i)
            i += 1

    def to_array(self) -> np.ndarray:
        """All frames as one writable ``(T, H, W, 3)`` array (mind the memory: T·H·W·3 items)."""
        w, h = self._size
        out = np.empty((len(self), h, w, 3), dtype=self.dtype)
        for t, frame in enumerate(self):
            out[t] = frame
        return out

    # -- saving -------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, codec: str | None = None, *, crf: int = 18,
             preset: str = "medium", profile: str | None = None, even: str | None = None,
             start_number: int | None = None, options: dict[str, str] | None = None,
             progress: ProgressCallback | None = None, cancel: Any = None) -> Path:
        """Write the clip, keeping its fps and start timecode; returns the path written.

        ``codec``: ``"h264"`` or ``"hevc"`` (.mp4, .mov, .mkv; ``crf`` and ``preset`` as in
        x264/x265; 4:2:0, so width and height must be even unless ``even`` is ``"pad"`` (repeat
        the last row/column) or ``"crop"`` (drop it)), ``"prores"`` (.mov; prores_ks, 10-bit
        4:2:2; ``profile`` is proxy, lt, standard, hq, 4444 or 4444xq, the last two 4:4:4;
        default: the source's profile, else hq) or ``"png"`` (a pattern like
        ``out/shot.%04d.png`` or a folder; fps and timecode go into a ``.mwseq.json`` sidecar).
        None picks png for a pattern or a path without a suffix; for video the source's codec
        when it is H.264, HEVC or ProRes (and the container takes it), ProRes for a
        high-bit-depth clip in .mov, else H.264.

        What the source media carries is kept (see :mod:`motionwright.io.output`): ``uint16``
        clips are written as 10-bit video or 16-bit PNG; the source's audio is copied into
        video files, trimmed to the clip's frames; a rotated source is written with its
        display matrix; PNG frames are numbered from ``start_number``, by default the first
        frame's number in the source (the number in an image file's name, the frame index of
        a video). What cannot be kept is said with a
        :class:`~motionwright.errors.FidelityWarning`. Every setting is checked before the
        first frame is computed. ``options`` are passed to the encoder. Writing is atomic: a
        failure or a ``cancel`` leaves nothing at ``path``. Variable-frame-rate clips are
        written at the constant rate ``fps``. H.264 and HEVC are lossy: pixels are kept bit
        for bit only by ``"png"``.
        """
        from .io.writer import save_clip

        return save_clip(self, path, codec, crf=crf, preset=preset, profile=profile, even=even,
                         start_number=start_number, options=options, progress=progress,
                         cancel=cancel)

    # -- housekeeping -------------------------------------------------------------------------

    def close(self) -> None:
        """Release open files and the frame cache (reading again reopens them)."""
        close = getattr(self._source, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Clip:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _key(self) -> tuple[Any, ...]:
        identity = getattr(self._source, "identity", None)
        if identity is None:
            identity = ("object", id(self._source))
        return (identity, self._range.start, self._range.stop, self._fps, self._tc0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Clip):
            return NotImplemented
        if self._source is other._source:
            return (self._range, self._fps, self._tc0) == (other._range, other._fps, other._tc0)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        where = self.source_path
        where = f"'{where}'" if where else "memory"
        if (self._range.start, self._range.stop) != (0, len(self._source)):
            where += f"[{self._range.start}:{self._range.stop}]"
        w, h = self._size
        return (f"Clip({where}, {len(self)} frames, {w}x{h}, {self._fps} fps, "
                f"tc {self.start_timecode})")


def _source_length(source: Any) -> int:
    try:
        length = len(source)
    except TypeError as exc:
        raise InvalidInputError(f"source: len() failed on {type(source).__name__}") from exc
    if length < 0:
        raise InvalidInputError(f"source: expected a length >= 0, got {length}")
    return int(length)


def _source_size(source: Any) -> tuple[int, int]:
    size = getattr(source, "size", None)
    try:
        w, h = (operator.index(v) for v in size)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"source.size: expected (width, height) as two integers, got {size!r}"
        ) from None
    if w <= 0 or h <= 0:
        raise InvalidInputError(f"source.size: expected positive width and height, got {size!r}")
    return int(w), int(h)
