"""The frame index of a video stream, built by demuxing packets once (no decoding).

Frame ``i`` of a video is the ``i``-th frame in presentation order, so the index is the sorted
list of presentation timestamps (pts, in the stream's ``time_base``) plus the frame indices of
the keyframes, where decoding can start. It also holds the facts derived from the timestamps:
average frame rate, whether the rate is variable, per-frame times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from ..progress import Reporter

# The last frames of a file that was cut off may have lost B-frames between them.
TAIL_FRAMES = 4

# Progress reports while indexing one file, at most; cancel checks between them for packets
# without a byte offset.
REPORTS_PER_SCAN = 200
CHECK_EVERY_PACKETS = 256

_DURATION_TAG = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


@dataclass
class PacketScan:
    """What one demux pass over a video stream found."""

    pts: list[int] = field(default_factory=list)
    key_pts: list[int] = field(default_factory=list)
    packets: int = 0
    discarded: int = 0
    missing_pts: bool = False
    read_error: str | None = None


def scan_packets(container: Any, stream: Any, reporter: Reporter | None = None) -> PacketScan:
    """Demux every packet of ``stream`` (no decoding) and collect timestamps and keyframes.

    A read error part-way (a truncated file) ends the scan; it is recorded in ``read_error``.
    ``reporter`` (its total is the file size in bytes) is stepped to each packet's byte offset
    in the file, at most :data:`REPORTS_PER_SCAN` times, and may raise
    :class:`~motionwright.errors.Cancelled`; packets without an offset are only counted
    between cancel checks.
    """
    scan = PacketScan()
    stride = max(reporter.total // REPORTS_PER_SCAN, 1) if reporter is not None else 0
    next_report = stride
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            scan.packets += 1
            if reporter is not None:
                pos = packet.pos
                if pos is not None and pos >= next_report:
                    # A file's byte offsets only grow; the bar never steps back or past the end.
                    reporter.step(max(min(pos, reporter.total - 1) - reporter.done, 0))
                    next_report = pos + stride
                elif scan.packets % CHECK_EVERY_PACKETS == 0:
                    reporter.check()
            if packet.is_discard:
                scan.discarded += 1
                continue
            if packet.pts is None:
                scan.missing_pts = True
                continue
            scan.pts.append(packet.pts)
            if packet.is_keyframe:
                scan.key_pts.append(packet.pts)
    except (av.error.FFmpegError, EOFError) as exc:
        scan.read_error = str(exc)
    return scan


@dataclass(frozen=True)
class VideoIndex:
    """Presentation timestamps of the decodable frames and where decoding can start.

    ``pts``: (T,) int64, strictly increasing, in units of ``time_base`` seconds.
    ``key_frames``: (K,) int64 frame indices of keyframes, increasing; empty in ordinal mode.
    ``ordinal``: the file's timestamps cannot be trusted (missing, or out of order after
    decoding), so frames are numbered by counting decoder output from the start.
    """

    pts: np.ndarray
    key_frames: np.ndarray
    time_base: Fraction
    ordinal: bool = False

    def __len__(self) -> int:
        return int(self.pts.shape[0])

    def keyframe_before(self, index: int) -> int:
        """Position in ``key_frames`` of the last keyframe at or before frame ``index`` (or -1)."""
        return int(np.searchsorted(self.key_frames, index, side="right")) - 1

    def lookup(self) -> dict[int, int]:
        """A map from pts to frame index."""
        return {int(p): i for i, p in enumerate(self.pts.tolist())}

    def deltas(self) -> np.ndarray:
        """Differences between consecutive pts, (T-1,) int64."""
        return np.diff(self.pts)

    def is_variable_rate(self) -> bool:
        """Whether frame durations differ by more than one tick of the time base."""
        if self.ordinal or len(self) < 3:
            return False
        d = self.deltas()
        return bool(d.max() - d.min() > 1)

    def seconds(self) -> list[Fraction]:
        """Presentation time of each frame in seconds, measured from frame 0, exact."""
        if len(self) == 0:
            return []
        first = int(self.pts[0])
        tb = self.time_base
        return [(int(p) - first) * tb for p in self.pts.tolist()]

    def keyframe_interval(self) -> int | None:
        """The typical number of frames between keyframes (None with fewer than 2)."""
        if len(self.key_frames) < 2:
            return None
        return int(np.median(np.diff(self.key_frames)))


def build_index(scan: PacketScan, time_base: Fraction) -> VideoIndex:
    """Sort the scanned pts into presentation order and locate the keyframes."""
    pts = np.unique(np.asarray(scan.pts, dtype=np.int64))
    keys = np.unique(np.asarray(scan.key_pts, dtype=np.int64))
    key_frames = np.searchsorted(pts, keys).astype(np.int64)
    return VideoIndex(pts, key_frames, Fraction(time_base))


def restrict(index: VideoIndex, keep: np.ndarray) -> VideoIndex:
    """The index with only the frames whose pts are in ``keep`` (other frames cannot decode)."""
    mask = np.isin(index.pts, keep)
    pts = index.pts[mask]
    old_keys = index.pts[index.key_frames] if len(index.key_frames) else index.key_frames
    old_keys = old_keys[np.isin(old_keys, pts)]
    key_frames = np.searchsorted(pts, old_keys).astype(np.int64)
    return VideoIndex(pts, key_frames, index.time_base, index.ordinal)


def ordinal_index(count: int, time_base: Fraction) -> VideoIndex:
    """An index numbering ``count`` frames by decode-output order (no usable timestamps)."""
    return VideoIndex(np.arange(count, dtype=np.int64), np.zeros(min(count, 1), dtype=np.int64),
                      Fraction(time_base), ordinal=True)


def average_rate(index: VideoIndex, stream: Any) -> Fraction:
    """The average frame rate of the indexed frames, as an exact Fraction where possible.

    The container's declared rates are preferred when they agree with the timestamps to 0.2 %,
    so a 29.97 fps file stored with millisecond timestamps still reports ``30000/1001``.
    """
    declared = [r for r in (stream.average_rate, stream.base_rate, stream.guessed_rate)
                if r is not None and r > 0]
    if index.ordinal or len(index) < 2:
        return Fraction(declared[0]) if declared else Fraction(24)
    span = (int(index.pts[-1]) - int(index.pts[0])) * index.time_base
    if span <= 0:
        return Fraction(declared[0]) if declared else Fraction(24)
    measured = Fraction(len(index) - 1) / span
    for rate in declared:
        rate = Fraction(rate)
        if rate.denominator <= 1001 and abs(rate - measured) <= measured * Fraction(2, 1000):
            return rate
    return measured.limit_denominator(1001)


def declared_frame_count(stream: Any, index: VideoIndex) -> int | None:
    """How many frames the container header says the stream has (None when it does not say).

    A header frame count is taken as is; a header duration is turned into frames only for a
    stream whose frames are evenly spaced (:func:`constant_step`, not counting the last few),
    since a variable rate does not let the count be told from the length.
    """
    if stream.frames:
        return int(stream.frames)
    seconds: Fraction | None = None
    if stream.duration is not None and stream.time_base is not None:
        seconds = stream.duration * Fraction(stream.time_base)
    else:
        tag = next((v for k, v in stream.metadata.items() if k.lower() == "duration"), None)
        match = _DURATION_TAG.match(tag.strip()) if isinstance(tag, str) else None
        if match:
            h, m, s = match.groups()
            seconds = (int(h) * 60 + int(m)) * 60 + Fraction(s)
    # Frames lost at the cut end of a file leave a gap among the last few frames.
    step = constant_step(index, ignore_last=TAIL_FRAMES)
    if seconds is None or seconds <= 0 or step is None:
        return None
    return round(seconds / step)


def constant_step(index: VideoIndex, ignore_last: int = 0) -> Fraction | None:
    """The frame duration in seconds when every pts step is the same (within one tick).

    The steps between the last ``ignore_last`` frames are not looked at.
    """
    if index.ordinal or len(index) - ignore_last < 3:
        return None
    deltas = index.deltas()[: len(index) - 1 - ignore_last]
    typical = int(np.median(deltas))
    if typical <= 0 or np.any(np.abs(deltas - typical) > 1):
        return None
    return Fraction(int(deltas.sum()), int(deltas.size)) * index.time_base


def regular_step(index: VideoIndex) -> Fraction | None:
    """The frame duration in seconds when the stream has a constant rate, perhaps with gaps.

    Nearly all (90 %) pts steps must be whole multiples of the typical step, within one tick
    (a millisecond time base rounds 1/24 s to 41 or 42). The result averages the single
    steps, so it is exact again. None for variable-rate or very short streams.
    """
    if index.ordinal or len(index) < 3:
        return None
    deltas = index.deltas()
    typical = int(np.median(deltas))
    if typical <= 0:
        return None
    multiples = np.maximum(np.rint(deltas / typical), 1)
    regular = np.abs(deltas - multiples * typical) <= multiples
    if regular.mean() < 0.9:
        return None
    single = deltas[regular & (multiples == 1)]
    if single.size == 0:
        return None
    return Fraction(int(single.sum()), int(single.size)) * index.time_base


def timecode_tag(container: Any, stream: Any) -> str | None:
    """The start timecode label stored in the file's metadata, if any."""
    for meta in (stream.metadata, container.metadata,
                 *(s.metadata for s in container.streams if s is not stream)):
        for key, value in meta.items():
            if key.lower() == "timecode" and value:
                return str(value)
    return None
