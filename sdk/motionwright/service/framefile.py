"""The ``.mwf`` frame file: one RGBA frame behind a 32-byte header, readable from C.

Layout (little-endian): ``char magic[8] = "MWFRAME1"; uint32 width; uint32 height;
uint32 channels (= 4); uint32 sample (1 = uint8, 2 = uint16, 3 = float32); uint32 row_bytes
(= width * 4 * bytes per sample); uint32 reserved (= 0)``, then ``height`` rows top to bottom.
Alpha is straight and fully opaque. Values are the source's encoded (display-referred) values
scaled to the sample type: float32 is 0..1 (uint8 ``v`` -> ``v/255``, uint16 ``v`` ->
``v/65535``); uint8 -> uint16 is ``v*257``, so both directions are exact for 8-bit frames.
"""

from __future__ import annotations

import os
import secrets
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .. import limits
from ..errors import CorruptFileError, InvalidInputError, ShapeError

MAGIC = b"MWFRAME1"
HEADER = struct.Struct("<8s6I")
HEADER_BYTES = HEADER.size  # 32
SAMPLES = {"uint8": 1, "uint16": 2, "float32": 3}
DTYPES = {"uint8": np.dtype("<u1"), "uint16": np.dtype("<u2"), "float32": np.dtype("<f4")}
_NAMES = {code: name for name, code in SAMPLES.items()}
_FULL = {"uint8": 255.0, "uint16": 65535.0, "float32": 1.0}


def check_sample(sample: Any, name: str = "sample") -> str:
    """``sample`` if it names a sample type (uint8, uint16, float32), else InvalidInputError."""
    if not isinstance(sample, str) or sample not in SAMPLES:
        raise InvalidInputError(
            f"{name}: expected one of uint8, uint16, float32, got {sample!r:.60}")
    return sample


def sample_of(array: np.ndarray) -> str:
    """The sample type name of ``array``'s dtype (uint8, uint16 or float32)."""
    for name, dtype in DTYPES.items():
        if array.dtype == dtype or array.dtype == dtype.newbyteorder("="):
            return name
    raise ShapeError(f"frame: expected uint8, uint16 or float32 values, got {array.dtype}")


def convert(frame: np.ndarray, sample: str) -> np.ndarray:
    """``frame`` (any channel count, uint8/uint16/float32) with its values scaled to ``sample``;
    returned unchanged when it already has that type."""
    check_sample(sample)
    have = sample_of(frame)
    if have == sample:
        return frame
    if have == "uint8" and sample == "uint16":
        return frame.astype(np.uint16) * np.uint16(257)
    if have != "float32":
        values = frame.astype(np.float32)
        values /= np.float32(_FULL[have])  # in place: a 1080p RGBA float frame is 33 MB
    else:
        values = frame
    if sample == "float32":
        return values.astype(np.float32, copy=False)
    scaled = np.clip(values, 0.0, 1.0)
    scaled *= np.float32(_FULL[sample])
    np.rint(scaled, out=scaled)
    return scaled.astype(DTYPES[sample].newbyteorder("="))


def to_rgba(frame: np.ndarray, sample: str) -> np.ndarray:
    """An ``H×W×4`` opaque RGBA array of ``sample`` from an ``H×W×3`` RGB or ``H×W×4`` frame."""
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ShapeError(f"frame: expected an H×W×3 or H×W×4 array, got shape {arr.shape}")
    values = convert(arr, sample)
    if values.shape[2] == 4:
        return np.ascontiguousarray(values)
    h, w = values.shape[:2]
    out = np.empty((h, w, 4), dtype=values.dtype)
    out[..., :3] = values
    out[..., 3] = _FULL[sample]
    return out


def write_frame(path: str | os.PathLike, frame: np.ndarray, sample: str) -> Path:
    """Write ``frame`` (``H×W×3`` RGB or ``H×W×4`` RGBA; uint8, uint16 or float32) to ``path``
    as an ``.mwf`` of ``sample``, atomically (a reader sees the whole file or none)."""
    rgba = to_rgba(frame, check_sample(sample))
    h, w = rgba.shape[:2]
    data = np.ascontiguousarray(rgba, dtype=DTYPES[sample])
    header = HEADER.pack(MAGIC, w, h, 4, SAMPLES[sample], w * 4 * data.itemsize, 0)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(header)
            fh.write(memoryview(data).cast("B"))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def read_header(path: str | os.PathLike) -> dict[str, int | str]:
    """The header of ``path`` as a dict (width, height, channels, sample, row_bytes), checked
    against the file's size and the pixel limit; CorruptFileError for anything else."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(HEADER_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CorruptFileError(f"'{p}' cannot be read as a frame file ({exc})") from exc
    if len(raw) < HEADER_BYTES:
        raise CorruptFileError(f"'{p}' is not a frame file: shorter than its 32-byte header")
    magic, w, h, channels, code, row_bytes, _ = HEADER.unpack(raw)
    if magic != MAGIC:
        raise CorruptFileError(f"'{p}' is not a frame file: magic {magic!r}, expected {MAGIC!r}")
    sample = _NAMES.get(code)
    if sample is None or channels != 4 or w < 1 or h < 1:
        raise CorruptFileError(
            f"'{p}': unsupported frame header (channels {channels}, sample {code}, {w}x{h})")
    limits.current().check("max_pixels", w * h, f"'{p}' pixels (width × height)")
    if row_bytes != w * 4 * DTYPES[sample].itemsize or size != HEADER_BYTES + row_bytes * h:
        raise CorruptFileError(
            f"'{p}': row_bytes {row_bytes} and file size {size} do not match a {w}x{h} "
            f"RGBA {sample} frame")
    return {"width": w, "height": h, "channels": 4, "sample": sample, "row_bytes": row_bytes}


def read_frame(path: str | os.PathLike) -> np.ndarray:
    """The ``H×W×4`` RGBA array stored in ``path`` (dtype from its header)."""
    head = read_header(path)
    dtype = DTYPES[str(head["sample"])]
    data = np.fromfile(path, dtype=dtype, offset=HEADER_BYTES)
    return data.reshape(int(head["height"]), int(head["width"]), 4).astype(
        dtype.newbyteorder("="), copy=False)


def read_rgb(path: str | os.PathLike, dtype: Any = None) -> np.ndarray:
    """The frame in ``path`` as an ``H×W×3`` RGB array, converted to ``dtype`` (uint8 or uint16;
    None: uint8 for uint8 files, else uint16), as Clip frames are."""
    rgba = read_frame(path)
    name = sample_of(rgba)
    if dtype is None:
        target = "uint8" if name == "uint8" else "uint16"
    else:
        target = sample_of(np.empty(0, dtype=dtype))
    return np.ascontiguousarray(convert(rgba[..., :3], target))


def frame_name(index: int) -> str:
    """The file name of frame ``index`` in a result or upload folder (``000012.mwf``)."""
    return f"{index:06d}.mwf"


def descriptor(path: str | os.PathLike, index: int) -> dict[str, Any]:
    """The JSON descriptor of frame file ``path`` (frame ``index`` of its job)."""
    head = read_header(path)
    return {"path": os.path.abspath(os.fspath(path)), "index": int(index),
            "width": head["width"], "height": head["height"], "channels": 4,
            "sample": head["sample"], "row_bytes": head["row_bytes"], "offset": HEADER_BYTES}


class FrameFolder:
    """A FrameSource over a folder of ``000000.mwf``, ``000001.mwf``, … (an upload or a job's
    results): frame ``i`` is read as ``H×W×3`` RGB, uint8 for uint8 files, else uint16.

    ``count`` limits the frames to the first ``count`` files (default: every file present,
    which must be numbered without gaps). ``derived_from``: the clip these frames replace, so
    that saving keeps its audio, timecode and frame numbers.
    """

    def __init__(self, folder: str | os.PathLike, fps: Any = 24, *, count: int | None = None,
                 start_timecode: Any = None, derived_from: Any = None) -> None:
        from ..timecode import as_rate

        self.folder = Path(folder)
        if count is None:
            names = sorted(p.name for p in self.folder.glob("*.mwf"))
            count = len(names)
            if names != [frame_name(i) for i in range(count)]:
                raise CorruptFileError(
                    f"'{self.folder}': expected frame files 000000.mwf, 000001.mwf, … without "
                    f"gaps, got {len(names)} files")
        limits.current().check("max_frames", count, f"'{self.folder}' frame count")
        if count < 1:
            raise CorruptFileError(f"'{self.folder}': no frame files (000000.mwf, …)")
        self._count = count
        head = read_header(self.folder / frame_name(0))
        self.size = (int(head["width"]), int(head["height"]))
        self.dtype = np.dtype(np.uint8) if head["sample"] == "uint8" else np.dtype(np.uint16)
        self.fps = as_rate(fps, "fps")
        self.start_timecode = start_timecode
        self.derived_from = derived_from
        self.source_path = str(self.folder)
        self.identity = ("mwf-folder", os.path.realpath(self.folder), count)

    def __len__(self) -> int:
        return self._count

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as an RGB array of this folder's dtype."""
        frame = read_rgb(self.folder / frame_name(index), self.dtype)
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise CorruptFileError(
                f"'{self.folder / frame_name(index)}': {frame.shape[1]}x{frame.shape[0]}, "
                f"expected {self.size[0]}x{self.size[1]} like frame 0")
        return frame
