"""Reading result frames: ``.mwf`` files named by the server's frame descriptors.

The client reads frame files directly (same machine, same user); nothing but the descriptor
travels over HTTP. The layout is in ``docs/bridge.md`` ("Frame files").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import errors

FRAME_MAGIC = b"MWFRAME1"
FRAME_HEADER_BYTES = 32
SAMPLE_CODES = {1: "uint8", 2: "uint16", 3: "float32"}


class JobFrames:
    """A :class:`~motionwright.io.source.FrameSource` over a finished job's frame files, read
    on demand (a clip of it can be saved with the SDK writer without loading it whole)."""

    def __init__(self, client: Any, job_id: str, count: int, *, fps: Any = None,
                 like: Any = None) -> None:
        from ..timecode import as_rate

        self._client, self._job, self._count = client, job_id, count
        first = client.frame_descriptor(job_id, 0, None)
        self.size = (int(first["width"]), int(first["height"]))
        self._sample = first["sample"] if first["sample"] != "float32" else "uint16"
        self.dtype = np.dtype(self._sample)
        if like is not None:
            self.fps, self.start_timecode = like.fps, like.start_timecode
            self.derived_from = like
        else:
            self.fps = as_rate(fps if fps is not None else 24, "fps")
            self.start_timecode = None

    def __len__(self) -> int:
        return self._count

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``H×W×3`` RGB of the job's sample type."""
        from ..io.source import check_index

        check_index(index, self._count, f"job {self._job}")
        rgba = self._client.frame(self._job, index, self._sample)
        return np.ascontiguousarray(rgba[..., :3])

    def iter_frames(self, start: int, stop: int):
        """Frames ``start..stop-1`` in order, their descriptors fetched in batches."""
        for rgba in self._client.frames(self._job, start, stop, self._sample):
            yield np.ascontiguousarray(rgba[..., :3])


def read_descriptor(descriptor: dict, *, copy: bool = True,
                    out: np.ndarray | None = None) -> np.ndarray:
    """The ``H×W×4`` array of the frame file a descriptor names, checking that the file's
    header matches it (a C client does the same with ``fread``/``mmap``). ``copy=False``:
    a read-only memory map; ``out``: an array to read into (returned)."""
    path = descriptor["path"]
    try:
        with open(path, "rb") as fh:
            header = fh.read(FRAME_HEADER_BYTES)
            if len(header) != FRAME_HEADER_BYTES or header[:8] != FRAME_MAGIC:
                raise errors.CorruptFileError(f"'{path}' is not a Motionwright frame file "
                                              "(no MWFRAME1 header)")
            width, height, channels, code, row_bytes, _ = np.frombuffer(header[8:], "<u4")
            sample = SAMPLE_CODES.get(int(code))
            expected = (int(descriptor["width"]), int(descriptor["height"]), 4,
                        descriptor["sample"], int(descriptor["row_bytes"]))
            if (int(width), int(height), int(channels), sample, int(row_bytes)) != expected:
                raise errors.CorruptFileError(
                    f"'{path}': header {width}x{height}x{channels} {sample} (row {row_bytes} "
                    f"bytes) does not match the server's descriptor {expected}")
            dtype = np.dtype(sample).newbyteorder("<")
            if row_bytes != width * 4 * dtype.itemsize:
                raise errors.CorruptFileError(f"'{path}': row_bytes {row_bytes}, expected "
                                              f"{width * 4 * dtype.itemsize}")
            shape = (int(height), int(width), 4)
            if out is not None:
                if (out.shape != shape or out.dtype != dtype
                        or not out.flags.c_contiguous or not out.flags.writeable):
                    raise errors.ShapeError(
                        f"out: expected a writable C-contiguous {shape} {sample} array, got "
                        f"{out.shape} {out.dtype}")
                if fh.readinto(memoryview(out).cast("B")) != out.nbytes:
                    raise errors.CorruptFileError(f"'{path}' is truncated")
                return out
            if copy:
                data = np.fromfile(fh, dtype=dtype, count=int(height) * int(width) * 4)
                if data.size != height * width * 4:
                    raise errors.CorruptFileError(f"'{path}' is truncated")
                return data.reshape(shape)
            return np.memmap(fh, dtype=dtype, mode="r", offset=FRAME_HEADER_BYTES, shape=shape)
    except FileNotFoundError:
        raise errors.FrameNotReadyError(
            f"frame file '{path}' is gone (the job was deleted or its result evicted from the "
            "cache); submit the job again") from None


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """An RGB(A) frame of any sample type as uint8 (rounded)."""
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype == np.uint16:
        return ((frame.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)
