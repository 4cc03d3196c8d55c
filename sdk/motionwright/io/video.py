"""Frame-exact decoding of video files with PyAV.

:class:`VideoSource` opens a file once to build its frame index (see
:mod:`motionwright.io.video_index`) and to verify that the first and the last frames decode,
so ``len()`` counts the frames that really decode. ``read(i)`` seeks to the keyframe at or
before frame ``i``, decodes forward until frame ``i``'s timestamp (skipping frames that are
neither referenced nor wanted) and keeps a few of the frames decoded just before ``i`` in a
small LRU cache; reading ``i + 1`` next decodes one more frame. ``iter_frames`` streams with its
own decoder and never seeks after the first frame.

A display matrix (rotation side data, as phones write it) is honoured: frames are returned
upright, ``size`` is the displayed size and ``rotation`` says by how much the stored frames are
turned (counter-clockwise degrees: 0, 90, 180 or 270).
"""

from __future__ import annotations

import functools
import itertools
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import (
    CorruptFileError,
    FidelityWarning,
    InvalidInputError,
    MediaNotFoundError,
    TruncatedMediaWarning,
    UnsupportedFormatError,
)
from ..progress import ProgressCallback, Reporter
from ..timecode import Timecode
from .cache import DEFAULT_CACHE_BYTES, DEFAULT_CACHE_FRAMES, FrameCache
from .source import check_index
from .video_index import (
    TAIL_FRAMES,
    average_rate,
    build_index,
    declared_frame_count,
    ordinal_index,
    regular_step,
    restrict,
    scan_packets,
    timecode_tag,
)

# Frames decoded in the open-time head check; enough to see B-frame reordering.
_HEAD_FRAMES = 16
# Keyframes tried, going backwards, when a seek lands after the one asked for.
_SEEK_TRIES = 3
# Decoding on from the current position beats seeking when the gap is at most this much
# longer than the distance from the target back to its keyframe.
_CONTINUE_SLACK = 8

_AV_ERRORS = (av.error.FFmpegError, EOFError)


def _mirrors(frame: Any) -> bool:
    """Whether ``frame``'s display matrix flips the picture (negative determinant)."""
    for data in frame.side_data:
        if "DISPLAYMATRIX" in str(data.type):
            m = np.frombuffer(bytes(data)[:36], dtype="<i4").astype(np.float64)
            return m[0] * m[4] - m[1] * m[3] < 0
    return False


def turn(frame: np.ndarray, degrees: int) -> np.ndarray:
    """``frame`` (``H×W×C``) turned counter-clockwise by ``degrees`` (a multiple of 90), as a
    new contiguous array (OpenCV's rotate: about 5x faster than a numpy rot90 copy)."""
    from ._opencv import cv2

    codes = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180,
             270: cv2.ROTATE_90_CLOCKWISE}
    return cv2.rotate(frame, codes[degrees % 360])


def open_container(path: Path) -> Any:
    """``av.open(path)`` with PyAV's errors turned into typed ones naming the path."""
    try:
        return av.open(str(path), metadata_errors="replace")
    except FileNotFoundError as exc:
        raise MediaNotFoundError(f"video not found: '{path}' does not exist") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, EOFError) as exc:
        raise CorruptFileError(
            f"'{path}' is not a readable video or image file ({exc.__class__.__name__}: "
            f"{exc}); check that the file is complete and is a video"
        ) from exc


def _video_stream(container: Any, path: Path, stream_index: int) -> Any:
    streams = container.streams.video
    if not streams:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        raise UnsupportedFormatError(
            f"'{path}' has no video stream (it has: {', '.join(kinds)}); open a video file"
        )
    if not 0 <= stream_index < len(streams):
        raise InvalidInputError(
            f"stream: '{path}' has {len(streams)} video stream(s), got stream={stream_index}"
        )
    stream = streams[stream_index]
    if stream.codec_context is None:
        raise UnsupportedFormatError(
            f"'{path}': no decoder for its video codec in this FFmpeg build"
        )
    # FFmpeg's default threading: on 2-core machines frame threading decoded 1080p H.264 about
    # 20 % slower (tests/benchmarks/bench_io.py) and it adds latency to every seek.
    return stream


def _cut_transport_stream(container: Any, path: Path) -> bool:
    """Whether ``path`` is an MPEG transport stream whose size is not whole packets."""
    if "mpegts" not in container.format.name:
        return False
    size = path.stat().st_size
    return size % 188 != 0 and size % 192 != 0


class _Decoder:
    """One open container on one video stream, decoding forward from wherever it was put.

    ``run`` yields ``(frame_index, av.VideoFrame)`` in presentation order; ``last`` is the index
    of the last frame taken from it.
    """

    def __init__(self, source: VideoSource) -> None:
        self.source = source
        self.container = open_container(source.path)
        self.stream = _video_stream(self.container, source.path, source.stream_index)
        self.fresh = True
        self.run: Iterator[tuple[int, Any]] | None = None
        self.last = -1
        # Packets of frames shown before this pts are needed only as references, so frames no
        # other frame refers to are not decoded (None: decode everything).
        self.skip_before: int | None = None
        self._skipping = False

    def close(self) -> None:
        self.run = None
        self.container.close()

    def _frames(self, packets: Iterator[Any], first: Any = None) -> Iterator[Any]:
        """Decoded frames from ``first`` and then ``packets``; damaged packets are skipped."""
        if first is not None:
            try:
                yield from first.decode()
            except _AV_ERRORS:
                pass
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except _AV_ERRORS:
                # A read error mid-file: flush what the decoder still holds and stop.
                try:
                    yield from self.stream.decode(None)
                except _AV_ERRORS:
                    pass
                return
            skip = (self.skip_before is not None and packet.pts is not None
                    and packet.pts < self.skip_before)
            if skip != self._skipping:
                self.stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
                self._skipping = skip
            try:
                yield from packet.decode()
            except _AV_ERRORS:
                continue

    def _numbered(self, frames: Iterator[Any], floor: int | None) -> Iterator[tuple[int, Any]]:
        lookup = self.source._lookup
        for frame in frames:
            pts = frame.pts
            if pts is None or (floor is not None and pts < floor):
                continue
            index = lookup.get(pts)
            if index is not None:
                yield index, frame

    def _counted(self, frames: Iterator[Any]) -> Iterator[tuple[int, Any]]:
        yield from enumerate(frames)

    def from_start(self) -> None:
        """Position at the first frame (reopening the file unless nothing was read yet)."""
        if not self.fresh:
            self.container.close()
            self.container = open_container(self.source.path)
            self.stream = _video_stream(self.container, self.source.path,
                                        self.source.stream_index)
            self._skipping = False
        self.fresh = False
        frames = self._frames(self.container.demux(self.stream))
        ordinal = self.source.index.ordinal
        self.run = self._counted(frames) if ordinal else self._numbered(frames, None)
        self.last = -1

    def seek_key(self, key_pts: int) -> bool:
        """Position at the keyframe with pts ``key_pts``; False when the seek lands after it."""
        self.fresh = False
        self.run = None
        try:
            self.container.seek(key_pts, stream=self.stream, backward=True, any_frame=False)
        except _AV_ERRORS:
            return False
        packets = self.container.demux(self.stream)
        first = None
        for packet in packets:
            if packet.size:
                first = packet
                break
        if first is None or first.pts is None or first.pts > key_pts or not first.is_keyframe:
            return False
        # Frames shown before the keyframe we landed on may reference an earlier GOP.
        self.run = self._numbered(self._frames(packets, first), first.pts)
        self.last = -1
        return True

    def take(self, index: int, keep: int) -> tuple[Any, list[tuple[int, Any]]] | None:
        """Decode on to frame ``index``; return it and up to ``keep`` frames just before it.

        None when the run ends or skips past ``index`` (the frame did not decode from here).
        """
        if self.run is None:
            return None
        index_pts = self.source.index.pts
        if not self.source.index.ordinal:
            self.skip_before = int(index_pts[max(index - max(keep, 0), 0)])
        before: deque[tuple[int, Any]] = deque(maxlen=max(keep, 0) or None)
        for i, frame in self.run:
            self.last = i
            if i < index:
                if keep > 0:
                    before.append((i, frame))
                continue
            if i == index:
                return frame, list(before)
            break
        self.run = None
        return None


class VideoSource:
    """A video file as a FrameSource: frame-exact random access and streaming.

    Frames are ``H×W×3`` RGB; ``uint8`` for 8-bit video, ``uint16`` for video with more than
    8 bits per component (unless ``bit_depth`` forces 8 or 16). Safe to share between
    threads (random reads are serialised by a lock; every iterator decodes with its own
    container) and picklable (the open decoder and cache are not pickled; they reopen lazily).
    """

    def __init__(self, path: str | Path, *, stream_index: int = 0, bit_depth: int | None = None,
                 cache_frames: int = DEFAULT_CACHE_FRAMES,
                 cache_bytes: int = DEFAULT_CACHE_BYTES,
                 progress: ProgressCallback | None = None, cancel: Any = None) -> None:
        """Open and index ``path``. ``progress`` receives ``"index"`` events counting the bytes
        of the file demuxed, then ``"verify"`` events counting the frames decoded to check the
        head and the tail (a whole GOP for long-GOP video); ``cancel`` stops either stage with
        :class:`~motionwright.errors.Cancelled` (see :mod:`motionwright.progress`)."""
        self.path = Path(path)
        if not self.path.is_file():
            raise MediaNotFoundError(f"video not found: '{self.path}' does not exist")
        if bit_depth not in (None, 8, 16):
            raise InvalidInputError(f"bit_depth: expected None, 8 or 16, got {bit_depth!r}")
        self.stream_index = int(stream_index)
        self.cache_frames = int(cache_frames)
        self.cache_bytes = int(cache_bytes)
        self._requested_depth = bit_depth
        self.source_path = str(self.path)
        self._init_runtime()
        self._hooks = (progress, cancel) if progress is not None or cancel is not None else None
        self._reporter: Reporter | None = None
        try:
            self._probe()
            self._finish_stage()
        finally:
            self._hooks = self._reporter = None

    # -- opening ------------------------------------------------------------------------------

    def _init_runtime(self) -> None:
        self._lock = threading.RLock()
        self._cache = FrameCache(self.cache_frames, self.cache_bytes)
        self._decoder: _Decoder | None = None

    def _start_stage(self, name: str, total: int) -> Reporter | None:
        """Finish the open's current progress stage and start ``name`` of ``total`` units."""
        if self._hooks is None:
            return None
        self._finish_stage()
        self._reporter = Reporter(name, total, *self._hooks)
        return self._reporter

    def _finish_stage(self) -> None:
        reporter = self._reporter
        if reporter is not None and reporter.done < reporter.total:
            reporter.step(reporter.total - reporter.done)

    def _tick(self) -> None:
        """One frame decoded while opening: reported (never reaching the stage's total before
        it ends, as retries may decode more frames than planned) and a chance to cancel."""
        reporter = self._reporter
        if reporter is not None:
            if reporter.done < reporter.total - 1:
                reporter.step()
            else:
                reporter.check()

    def _probe(self) -> None:
        container = open_container(self.path)
        try:
            stream = _video_stream(container, self.path, self.stream_index)
            scan = scan_packets(container, stream,
                                self._start_stage("index", self.path.stat().st_size))
            if scan.packets == 0:
                raise CorruptFileError(
                    f"'{self.path}' holds no video data (its video stream is empty)"
                )
            self.codec = stream.codec_context.name
            self.stored_size = (int(stream.codec_context.width),
                                int(stream.codec_context.height))
            self.index = build_index(scan, Fraction(stream.time_base))
            self._lookup = self.index.lookup()
            self._missing_pts = scan.missing_pts
            declared = declared_frame_count(stream, self.index)
            exact_header = bool(stream.frames)
            tag = timecode_tag(container, stream)
            # Frames may be missing at the end: the file reports a read error or promises more,
            # or an MPEG-TS file stops inside a 188-byte transport packet.
            cut_ts = _cut_transport_stream(container, self.path)
            ends_early = bool(scan.read_error) or (declared or 0) > scan.packets + 1 or cut_ts
            if ends_early and scan.pts:
                # A frame shown after the last stored packet may be a reference frame whose
                # B-frames were cut off; frames stop there. In a cut transport stream the last
                # packet itself is incomplete.
                last = scan.pts[-1]
                keep = self.index.pts < last if cut_ts else self.index.pts <= last
                self.index = restrict(self.index, self.index.pts[keep])
                self._lookup = self.index.lookup()
            rates = [r for r in (stream.average_rate, stream.guessed_rate) if r]
            keys = self.index.key_frames
            tail = len(self.index) - int(keys[-1]) if len(keys) else len(self.index)
            self._start_stage("verify", min(_HEAD_FRAMES, len(self.index)) + tail)
            self._verify(ends_early, Fraction(rates[0]) if rates else None)
            self.fps = average_rate(self.index, stream)
        finally:
            container.close()
        self.start_timecode = Timecode(0, self.fps)
        if tag:
            try:
                self.start_timecode = Timecode.parse(tag, self.fps)
            except InvalidInputError:
                pass
        self._warn_if_truncated(scan, declared, exact_header)

    def _verify(self, ends_early: bool, declared_rate: Fraction | None) -> None:
        """Decode the head and the tail so the index lists only frames that decode.

        A jump in a constant-rate stream's timestamps means lost frames (B-frames cut off with
        the end of the file leave their reference frame behind), so the clip stops before it:
        anywhere in a file known to end early, among the last frames in any other.
        """
        decoder = _Decoder(self)
        self._decoder = decoder
        try:
            head = self._check_head(decoder)
            if not self.index.ordinal and head is not None:
                self._check_tail(decoder, head)
        finally:
            decoder.close()
            self._decoder = None
        if not self.index.ordinal:
            self._stop_at_jump(ends_early, declared_rate)
        if len(self.index) == 0:
            raise CorruptFileError(f"no frame of '{self.path}' could be decoded; it is damaged")

    def _check_head(self, decoder: _Decoder) -> int | None:
        """Decode the first frames; settle the pixel format and whether timestamps are usable.

        Returns the pts of the last head frame, or None if the head reached the end of file.
        """
        decoder.fresh = False
        frames = decoder._frames(decoder.container.demux(decoder.stream))
        head: list[Any] = []
        for frame in frames:
            head.append(frame)
            self._tick()
            if len(head) >= _HEAD_FRAMES:
                break
        if not head:
            raise CorruptFileError(f"no frame of '{self.path}' could be decoded; it is damaged")
        self._settle_format(head[0])
        pts = [f.pts for f in head]
        usable = (not self._missing_pts and len(self.index) > 0 and None not in pts
                  and all(a < b for a, b in itertools.pairwise(pts)))
        if usable:
            # Frames past the end of the index were dropped on purpose (a cut-off file).
            pts = [p for p in pts if p <= int(self.index.pts[-1])]
            usable = bool(pts) and all(p in self._lookup for p in pts)
        if not usable:
            count = len(head)
            for _ in frames:
                count += 1
                self._tick()
            self.index = ordinal_index(count, self.index.time_base)
            self._lookup = {}
            return None
        reached_end = len(head) < _HEAD_FRAMES
        last = pts[-1]
        keep = self.index.pts[self.index.pts > last] if not reached_end else np.empty(0, np.int64)
        self.index = restrict(self.index, np.concatenate([np.asarray(pts, np.int64), keep]))
        self._lookup = self.index.lookup()
        return None if reached_end else last

    def _check_tail(self, decoder: _Decoder, head_last: int) -> None:
        """Decode from the last keyframes to the end; drop frames that do not decode."""
        index = self.index
        keys = index.key_frames
        pos = len(keys) - 1
        while pos >= 0:
            key = int(keys[pos])
            key_pts = int(index.pts[key])
            good = self._decode_tail(decoder, pos, key_pts)
            if good is None:
                pos -= 1
                continue
            expected = index.pts[key:]
            upto = 0
            for want in expected.tolist():
                if upto < len(good) and good[upto] == want:
                    upto += 1
                else:
                    break
            if upto == 0 and key_pts > head_last:
                pos -= 1
                continue
            keep = np.concatenate([index.pts[:key], np.asarray(good[:upto], np.int64)])
            self.index = restrict(index, keep)
            self._lookup = self.index.lookup()
            return
        # No keyframe decodes to the end; keep what the head proved.
        self.index = restrict(index, index.pts[index.pts <= head_last])
        self._lookup = self.index.lookup()

    def _stop_at_jump(self, anywhere: bool, rate: Fraction | None) -> None:
        """End a constant-rate clip before a jump in its timestamps (frames lost there).

        ``anywhere``: at the first jump; else only at a jump among the last few frames, and
        only if every earlier frame (there must be some) is one step from the next. The step
        comes from the timestamps, or from the declared ``rate`` when there are too few.
        """
        index = self.index
        deltas = index.deltas()
        if deltas.size == 0:
            return
        seconds = regular_step(index)
        if seconds is None and rate:
            seconds = 1 / rate
        if seconds is None:
            return
        step = float(seconds / index.time_base)
        start = 0
        if not anywhere:
            if deltas.size <= TAIL_FRAMES:
                return
            start = deltas.size - TAIL_FRAMES
            if np.any(np.abs(deltas[:start] - step) > 1):
                return
        jumps = np.flatnonzero(deltas[start:] > step * 1.5)
        if jumps.size:
            keep = start + int(jumps[0]) + 1
            self.index = restrict(index, index.pts[:keep])
            self._lookup = self.index.lookup()

    def _decode_tail(self, decoder: _Decoder, pos: int, key_pts: int) -> list[int] | None:
        """Pts of the undamaged frames decoded from keyframe ``pos`` to the end, or None."""
        landed = False
        for back in range(_SEEK_TRIES):
            if pos - back < 0:
                break
            target = int(self.index.pts[int(self.index.key_frames[pos - back])])
            if decoder.seek_key(target):
                landed = True
                break
        if not landed:
            decoder.from_start()
        good: list[int] = []
        assert decoder.run is not None
        for _, frame in decoder.run:
            self._tick()
            if frame.pts < key_pts:
                continue
            if frame.is_corrupt:
                break
            good.append(int(frame.pts))
        return good or None

    def _settle_format(self, frame: Any) -> None:
        self._settle_rotation(frame)
        self.pix_fmt = frame.format.name
        bits = max((c.bits for c in frame.format.components), default=8)
        self.source_bit_depth = int(bits)
        depth = self._requested_depth or (16 if bits > 8 else 8)
        self.dtype = np.dtype(np.uint16 if depth == 16 else np.uint8)
        self._np_format = "rgb48le" if depth == 16 else "rgb24"
        if self.stored_size[0] <= 0 or self.stored_size[1] <= 0:
            self.stored_size = (int(frame.width), int(frame.height))
        w, h = self.stored_size
        self.size = (h, w) if self.rotation in (90, 270) else (w, h)
        self._to_array(frame)

    def _settle_rotation(self, frame: Any) -> None:
        """Read the display matrix; one that mirrors or turns by other than a multiple of 90
        degrees is not applied (with a warning)."""
        degrees = int(frame.rotation or 0)
        turns, rest = divmod(degrees, 90)
        problem = None
        if rest:
            problem = f"turns frames by {degrees} degrees, not a multiple of 90"
        elif _mirrors(frame):
            problem = "mirrors the picture"
        if problem:
            warnings.warn(
                f"'{self.path}': its display matrix {problem}, which is not applied; frames "
                "are used as stored", FidelityWarning, stacklevel=6,
            )
            turns = 0
        self.rotation = (turns % 4) * 90

    def _warn_if_truncated(self, scan: Any, declared: int | None, exact_header: bool) -> None:
        """Warn when frames the file promises (in its header or its packets) do not decode."""
        kept = len(self.index)
        stored = scan.packets - scan.discarded
        lost_tail = False
        if not self.index.ordinal and scan.pts:
            lost_tail = kept == 0 or max(scan.pts) > int(self.index.pts[-1])
        short = declared is not None and declared > scan.packets + (0 if exact_header else 1)
        if scan.read_error or lost_tail or short:
            expected = max(stored, declared or 0)
            warnings.warn(
                f"'{self.path}' is truncated or damaged: {kept} of {expected} frames decode; "
                "using those",
                TruncatedMediaWarning,
                stacklevel=5,
            )

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.index)

    def _to_array(self, frame: Any) -> np.ndarray:
        w, h = self.stored_size
        try:
            if frame.width != w or frame.height != h:
                arr = frame.to_ndarray(format=self._np_format, width=w, height=h)
            else:
                arr = frame.to_ndarray(format=self._np_format)
        except (ValueError, av.error.FFmpegError) as exc:
            raise UnsupportedFormatError(
                f"'{self.path}': pixel format {frame.format.name} cannot be converted to RGB "
                f"({exc})"
            ) from exc
        if self.rotation:
            arr = turn(arr, self.rotation)
        arr.setflags(write=False)
        return arr

    def _get_decoder(self) -> _Decoder:
        if self._decoder is None:
            self._decoder = _Decoder(self)
        return self._decoder

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based, presentation order) as a read-only ``H×W×3`` array."""
        check_index(index, len(self), f"'{self.path}'")
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                return cached
            keep = self.cache_frames // 2
            found = self._seek_and_take(self._get_decoder(), index, keep)
            if found is None:
                raise CorruptFileError(
                    f"frame {index} of '{self.path}' could not be decoded; the file is damaged "
                    "there"
                )
            frame, before = found
            for i, f in before:
                if i not in self._cache:
                    self._cache.put(i, self._to_array(f))
            arr = self._to_array(frame)
            self._cache.put(index, arr)
            return arr

    def _seek_and_take(self, decoder: _Decoder, index: int,
                       keep: int) -> tuple[Any, list[tuple[int, Any]]] | None:
        """Put ``decoder`` on frame ``index`` the cheapest way that works and take it."""
        idx = self.index
        key_pos = idx.keyframe_before(index) if not idx.ordinal else -1
        key_frame = int(idx.key_frames[key_pos]) if key_pos >= 0 else 0
        if decoder.run is not None and decoder.last < index and (
            index - decoder.last <= index - key_frame + _CONTINUE_SLACK or idx.ordinal
        ):
            found = decoder.take(index, keep)
            if found is not None:
                return found
        if not idx.ordinal:
            for back in range(_SEEK_TRIES):
                if key_pos - back < 0:
                    break
                key_pts = int(idx.pts[int(idx.key_frames[key_pos - back])])
                if decoder.seek_key(key_pts):
                    found = decoder.take(index, keep)
                    if found is not None:
                        return found
        decoder.from_start()
        return decoder.take(index, keep)

    def iter_frames(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Frames ``start..stop-1`` in order, decoded by a container of this iterator's own."""
        if start >= stop:
            return
        check_index(start, len(self), f"'{self.path}'")
        check_index(stop - 1, len(self), f"'{self.path}'")
        decoder = _Decoder(self)
        try:
            if start == 0:
                decoder.from_start()
                found = decoder.take(0, 0)
            else:
                found = self._seek_and_take(decoder, start, 0)
            if found is None:
                raise CorruptFileError(
                    f"frame {start} of '{self.path}' could not be decoded; the file is damaged"
                )
            yield self._to_array(found[0])
            expected = start + 1
            if expected >= stop:
                return
            assert decoder.run is not None
            for i, frame in decoder.run:
                if i < expected:
                    continue
                if i > expected:
                    break
                yield self._to_array(frame)
                expected += 1
                if expected >= stop:
                    return
            raise CorruptFileError(
                f"frame {expected} of '{self.path}' could not be decoded; the file is damaged "
                "there"
            )
        finally:
            decoder.close()

    # -- facts --------------------------------------------------------------------------------

    @functools.cached_property
    def timestamps(self) -> tuple[Fraction, ...]:
        """Presentation time of each frame in seconds from frame 0 (exact Fractions)."""
        if self.index.ordinal:
            return tuple(Fraction(i) / self.fps for i in range(len(self)))
        return tuple(self.index.seconds())

    @property
    def is_variable_rate(self) -> bool:
        """Whether frame durations vary (frame times are then in :attr:`timestamps`)."""
        return self.index.is_variable_rate()

    @property
    def identity(self) -> tuple[Any, ...]:
        """What makes two sources the same: the file, the stream and the output dtype."""
        return ("video", str(self.path.resolve()), self.stream_index, str(self.dtype))

    def info(self) -> dict[str, Any]:
        """Codec facts for ``clip.info``."""
        return {
            "codec": self.codec,
            "pix_fmt": self.pix_fmt,
            "source_bit_depth": self.source_bit_depth,
            "keyframe_interval": self.index.keyframe_interval(),
            "variable_frame_rate": self.is_variable_rate,
            "rotation": self.rotation,
        }

    def close(self) -> None:
        """Close the random-access decoder and drop the cache (both come back on demand)."""
        with self._lock:
            if self._decoder is not None:
                self._decoder.close()
                self._decoder = None
            self._cache.clear()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_lock", "_cache", "_decoder", "_lookup"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()
        self._lookup = self.index.lookup() if not self.index.ordinal else {}

    def __repr__(self) -> str:
        return (f"VideoSource('{self.path}', {len(self)} frames, {self.size[0]}x{self.size[1]}, "
                f"{self.fps} fps)")
