"""Decoding image files safely: the size an image claims is checked before it is decoded.

A small file can claim a huge picture (a "decompression bomb": a 100 kB PNG that inflates to
gigabytes). :func:`image_size` reads the width and height from the header of PNG, JPEG, TIFF
(and BigTIFF), OpenEXR and BMP files without decoding them; :func:`decode_image` refuses an
image above the ``max_pixels`` limit (see :mod:`motionwright.limits`) with
:class:`~motionwright.errors.LimitExceededError` and turns OpenCV's own failures into
:class:`~motionwright.errors.CorruptFileError`. (WebP cannot exceed 16383×16383 by design.)
"""

from __future__ import annotations

import struct

import numpy as np

from .. import limits
from ..errors import CorruptFileError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXR_MAGIC = b"\x76\x2f\x31\x01"
_EXR_HEADER_BYTES = 4 * 2**20  # far more than any real header; the data window comes early
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); they hold the size.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Markers that stand alone, without a length field.
_JPEG_BARE = {0x01, 0xD8, *range(0xD0, 0xD8)}


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg_size(data: memoryview) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_BARE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        pos += 2 + length
    return None


def _tiff_size(data: memoryview) -> tuple[int, int] | None:
    order = "<" if bytes(data[:2]) == b"II" else ">"
    (version,) = struct.unpack(order + "H", data[2:4])
    big = version == 43
    try:
        if big:
            (offset,) = struct.unpack(order + "Q", data[8:16])
            (count,) = struct.unpack(order + "Q", data[offset:offset + 8])
            start, entry_size = offset + 8, 20
        else:
            (offset,) = struct.unpack(order + "I", data[4:8])
            (count,) = struct.unpack(order + "H", data[offset:offset + 2])
            start, entry_size = offset + 2, 12
        found: dict[int, int] = {}
        for i in range(min(count, 4096)):
            entry = data[start + i * entry_size:start + (i + 1) * entry_size]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag not in (256, 257):
                continue
            value = entry[12:] if big else entry[8:]
            # SHORT (3) values sit in the first two bytes of the value field; LONG, LONG8 fill it.
            fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if fmt is None:
                return None
            (found[tag],) = struct.unpack(order + fmt, value[:struct.calcsize(fmt)])
            if len(found) == 2:
                return found[256], found[257]
    except struct.error:
        return None
    return None


def _exr_size(data: bytes) -> tuple[int, int] | None:
    pos = 8  # magic and version
    while pos < len(data) and data[pos] != 0:
        name_end = data.find(b"\0", pos)
        type_end = data.find(b"\0", name_end + 1)
        if name_end < 0 or type_end < 0 or type_end + 5 > len(data):
            return None
        name = data[pos:name_end]
        (size,) = struct.unpack("<i", data[type_end + 1:type_end + 5])
        value = data[type_end + 5:type_end + 5 + size]
        if name == b"dataWindow" and len(value) == 16:
            x_min, y_min, x_max, y_max = struct.unpack("<iiii", value)
            return x_max - x_min + 1, y_max - y_min + 1
        if size < 0:
            return None
        pos = type_end + 5 + size
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 26:
        return None
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means rows stored top-down


def image_size(data: bytes | np.ndarray) -> tuple[int, int] | None:
    """``(width, height)`` read from the header of an encoded image, or None when the format
    is not one of PNG, JPEG, TIFF, OpenEXR, BMP or its header cannot be read."""
    # JPEG segments and a TIFF's directory may lie anywhere in the file: look without copying.
    buf = memoryview(np.ascontiguousarray(data, np.uint8) if isinstance(data, np.ndarray)
                     else data).cast("B")
    head = bytes(buf[:16])
    if head.startswith(_PNG_SIGNATURE):
        return _png_size(bytes(buf[:24]))
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(buf)
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return _tiff_size(buf)
    if head.startswith(_EXR_MAGIC):
        return _exr_size(bytes(buf[:_EXR_HEADER_BYTES]))
    if head.startswith(b"BM"):
        return _bmp_size(bytes(buf[:26]))
    return None


def check_image_size(data: bytes | np.ndarray, source: str) -> None:
    """Raise LimitExceededError if the encoded image ``data`` claims more pixels than the
    ``max_pixels`` limit (``source`` names it in the message)."""
    size = image_size(data)
    if size is not None:
        width, height = size
        limits.current().check("max_pixels", width * height,
                               f"{source} claims {width}x{height} pixels")


def decode_image(data: np.ndarray, source: str) -> np.ndarray | None:
    """OpenCV's decoding of the encoded image ``data`` (uint8 bytes), after the size check.

    Returns None where OpenCV does not read the format (the caller may try another decoder);
    raises CorruptFileError where OpenCV fails on it, LimitExceededError where it is too big.
    """
    from ._opencv import cv2

    if not data.size:
        return None
    check_image_size(data, source)
    try:
        return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise CorruptFileError(f"{source} cannot be decoded as an image ({exc})") from exc
