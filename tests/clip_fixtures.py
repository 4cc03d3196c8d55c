"""Generated media for the Clip tests: every frame carries its own number.

Frames show a smooth gradient that shifts with the frame number and, in the bottom band, the
frame number as 10 grey blocks (white = 1). :func:`frame_number` reads it back, also from lossy
H.264, so tests can tell which frame they got.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

BITS = 10


def numbered_frame(i: int, width: int = 128, height: int = 96) -> np.ndarray:
    """An ``H×W×3`` uint8 frame that encodes ``i`` and is smooth enough to compress well."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 60 * np.sin((xx + 3 * i) / 17.0)
    g = 128 + 60 * np.cos((yy + 2 * i) / 13.0)
    b = 128 + 50 * np.sin((xx + yy + 5 * i) / 23.0)
    img = np.stack([r, g, b], axis=-1)
    band = height * 3 // 4
    block = width // BITS
    for bit in range(BITS):
        value = 235.0 if (i >> bit) & 1 else 20.0
        img[band:, bit * block:(bit + 1) * block, :] = value
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def frame_number(frame: np.ndarray) -> int:
    """The number encoded by :func:`numbered_frame` (works on decoded lossy frames too)."""
    height, width = frame.shape[:2]
    band = height * 3 // 4
    block = width // BITS
    value = 0
    for bit in range(BITS):
        patch = frame[band + 2:height - 2, bit * block + 2:(bit + 1) * block - 2].astype(float)
        if patch.mean() > (127 * (257 if frame.dtype == np.uint16 else 1)):
            value |= 1 << bit
    return value


def write_video(path: Path, count: int, *, size: tuple[int, int] = (128, 96),
                fps: Fraction | int = 24, codec: str = "libx264",
                options: dict[str, str] | None = None, pix_fmt: str = "yuv420p",
                pts: Sequence[int] | None = None, time_base: Fraction | None = None,
                timecode: str | None = None, rotation: int = 0, deep: bool = False,
                audio: str | None = None, sample_rate: int = 48000) -> Path:
    """Encode ``count`` numbered frames; ``pts``/``time_base`` give irregular timing (VFR).

    ``rotation``: a display matrix turning the stored frames by that many degrees
    counter-clockwise (``size`` is the stored size). ``deep``: the frames are 16-bit with
    detail below 8 bits (:func:`deep_frame`). ``audio``: an audio encoder (e.g. "aac") for a
    stereo tone as long as the video.
    """
    w, h = size
    container = av.open(str(path), "w")
    if timecode:
        container.metadata["timecode"] = timecode
    stream = container.add_stream(codec, rate=Fraction(fps))
    stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
    if rotation:
        stream.set_display_rotation(rotation)
    if options:
        stream.options = dict(options)
    sound = container.add_stream(audio, rate=sample_rate) if audio else None
    if sound is not None:
        sound.layout = "stereo"
    if time_base is not None:
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
    for i in range(count):
        if deep:
            frame = av.VideoFrame.from_ndarray(deep_frame(i, w, h), format="rgb48le")
        else:
            frame = av.VideoFrame.from_ndarray(numbered_frame(i, w, h), format="rgb24")
        if pts is not None:
            frame.pts = int(pts[i])
            frame.time_base = time_base
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    if sound is not None:
        _write_tone(container, sound, round(sample_rate * count / Fraction(fps)))
    container.close()
    return path


def deep_frame(i: int, width: int = 128, height: int = 96) -> np.ndarray:
    """:func:`numbered_frame` as uint16 with a fine ramp below the 8-bit step in red."""
    frame = numbered_frame(i, width, height).astype(np.uint16) * 257
    ramp = (np.arange(width, dtype=np.uint16) * 7 % 200)[None, :]
    frame[..., 0] = np.minimum(frame[..., 0].astype(np.uint32) + ramp, 65535).astype(np.uint16)
    return frame


def _write_tone(container: av.container.OutputContainer, stream: av.AudioStream,
                samples: int) -> None:
    """``samples`` samples of a quiet stereo tone in frames of 1024."""
    fmt = stream.codec_context.format.name
    done = 0
    while done < samples:
        n = min(1024, samples - done)
        tone = 0.3 * np.sin(np.arange(done, done + n) / 20.0)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(tone.astype(np.float32)[None], 2, axis=0), format="fltp", layout="stereo")
        frame.sample_rate = stream.codec_context.sample_rate
        frame.pts = done
        if fmt != "fltp":
            frame = av.AudioResampler(format=fmt, layout="stereo",
                                      rate=frame.sample_rate).resample(frame)[0]
            frame.pts = done
        for packet in stream.encode(frame):
            container.mux(packet)
        done += n
    for packet in stream.encode():
        container.mux(packet)


def decode_all(path: Path, fmt: str = "rgb24") -> list[np.ndarray]:
    """Every frame of ``path`` by PyAV's plain sequential decode loop (the reference)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format=fmt) for f in container.decode(video=0)]


LONG_GOP = {"bf": "3", "g": "72", "keyint_min": "72", "sc_threshold": "0"}


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of generated media shared by the Clip tests of one session."""
    return tmp_path_factory.mktemp("clip_media")


_made: dict[str, Path] = {}


def made(media_dir: Path, name: str, count: int, **kwargs: object) -> Path:
    """``write_video`` once per session for each ``name``."""
    key = str(media_dir / name)
    if key not in _made:
        _made[key] = write_video(media_dir / name, count, **kwargs)  # type: ignore[arg-type]
    return _made[key]


@pytest.fixture(scope="session")
def long_gop_mp4(media_dir: Path) -> Path:
    """200 frames, H.264 with 3 B-frames and keyframes every 72 frames, timecode 01:00:00:00."""
    return made(media_dir, "long_gop.mp4", 200, options=LONG_GOP, timecode="01:00:00:00")


@pytest.fixture(scope="session")
def long_gop_mkv(media_dir: Path) -> Path:
    """200 frames, H.264 with B-frames, GOP 72, in Matroska."""
    return made(media_dir, "long_gop.mkv", 200, options=LONG_GOP, timecode="00:10:00:00")
