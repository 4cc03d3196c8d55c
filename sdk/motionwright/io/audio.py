"""Carrying a source video's audio into a written video, trimmed to the frames written.

The audio packets of the source's first audio stream that start inside the written frames' time
span are copied unchanged (no re-encoding) when the output container takes their codec, and
re-encoded as AAC otherwise (with a :class:`~motionwright.errors.FidelityWarning`). Packets are
whole (about 20 ms for AAC), so the audio matches the video's span to within one packet.
Packets are interleaved with the video as it is written.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av

from ..errors import CorruptFileError, FidelityWarning
from .origin import Origin

_FALLBACK_CODEC = "aac"
_USUAL_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}


def has_audio(origin: Origin) -> bool:
    """Whether ``origin`` is a video file with an audio stream."""
    path = getattr(origin.source, "path", None)
    if path is None or not hasattr(origin.source, "index"):
        return False
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            return bool(container.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


def _start_seconds(origin: Origin) -> Fraction:
    """The source's presentation time of the first written frame, in seconds."""
    source = origin.source
    index = source.index
    if index.ordinal:
        return Fraction(origin.start) / Fraction(source.fps)
    return Fraction(int(index.pts[origin.start])) * Fraction(index.time_base)


class AudioCopy:
    """The audio of ``origin``'s file for ``duration`` seconds from its first frame."""

    def __init__(self, origin: Origin, duration: Fraction) -> None:
        self._input = av.open(str(origin.source.path), metadata_errors="replace")
        self._in_stream = self._input.streams.audio[0]
        self._start = _start_seconds(origin)
        self._end = self._start + duration
        self._items: Iterator[tuple[Fraction, Any]] = iter(())
        self._pending: tuple[Fraction, Any] | None = None
        self._out: Any = None  # the output stream

    def attach(self, container: Any) -> None:
        """Add the audio stream to ``container`` (before anything is written to it)."""
        name = self._in_stream.codec_context.name
        if name in container.supported_codecs:
            self._out = container.add_stream_from_template(self._in_stream)
            self._items = self._copied()
            return
        warnings.warn(
            f"the source's {name} audio cannot go into a {container.format.name} file as it "
            f"is; it is re-encoded as AAC",
            FidelityWarning, stacklevel=4,
        )
        ctx = self._in_stream.codec_context
        self._out = container.add_stream(_FALLBACK_CODEC, rate=ctx.sample_rate)
        # A layout of "N channels" (no channel order) is given the usual order for N.
        self._out.layout = _USUAL_LAYOUTS.get(ctx.channels, ctx.layout.name)
        self._items = self._encoded()

    def _packets(self) -> Iterator[tuple[Fraction, Any]]:
        """Source packets starting inside the span, with their start time in seconds."""
        base = Fraction(self._in_stream.time_base)
        try:
            for packet in self._input.demux(self._in_stream):
                if packet.pts is None or not packet.size:
                    continue
                at = packet.pts * base
                if at >= self._end:
                    return
                if at >= self._start:
                    yield at, packet
        except (av.error.FFmpegError, EOFError) as exc:
            raise CorruptFileError(
                f"the audio of '{self._input.name}' cannot be read ({exc}); the file is "
                "damaged"
            ) from exc

    def _copied(self) -> Iterator[tuple[Fraction, Any]]:
        base = Fraction(self._in_stream.time_base)
        shift = round(self._start / base)
        for at, packet in self._packets():
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = self._out
            yield at, packet

    def _encoded(self) -> Iterator[tuple[Fraction, Any]]:
        for at, packet in self._packets():
            for frame in packet.decode():
                frame.pts = None
                for out in self._out.encode(frame):
                    yield at, out
        for out in self._out.encode(None):
            yield self._end, out

    def mux_until(self, container: Any, seconds: Fraction) -> None:
        """Write the audio that starts before ``seconds`` from the span's start."""
        limit = self._start + seconds
        while True:
            if self._pending is None:
                self._pending = next(self._items, None)
                if self._pending is None:
                    return
            at, packet = self._pending
            if at >= limit:
                return
            container.mux(packet)
            self._pending = None

    def mux_rest(self, container: Any) -> None:
        """Write the rest of the span's audio."""
        self.mux_until(container, self._end - self._start + 1)

    def close(self) -> None:
        """Close the source file."""
        self._input.close()
