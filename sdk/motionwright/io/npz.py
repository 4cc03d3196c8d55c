"""Reading ``.npz`` archives from untrusted sources without trusting their headers.

Each ``.npy`` member's header (shape and dtype) is parsed on its own and checked against the
bytes the member really holds and against ``max_array_bytes`` before anything is allocated;
decompression never reads past the declared size, so a zip bomb or a header claiming a huge
shape costs nothing. Pickled (object) arrays are never read.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from .. import limits
from ..errors import CorruptFileError, MotionwrightError

_NPY_MAGIC = b"\x93NUMPY"
_KINDS = "biufcSU"  # plain numbers, booleans and text; never objects or records
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def read_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` file ``path`` by name (members not ending in ``.npy`` are
    skipped). A damaged archive or member raises CorruptFileError naming ``path`` and ``what``;
    a member larger than ``max_array_bytes`` (declared or real) LimitExceededError."""
    lim = limits.current()
    arrays: dict[str, np.ndarray] = {}
    try:
        with open(path, "rb") as fh:
            if fh.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise CorruptFileError(f"'{path}' is a single .npy array, not an .npz {what}")
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                where = f"'{path}' member {info.filename!r:.80}"
                total += lim.check("max_array_bytes", info.file_size,
                                   f"{where} uncompressed size")
                lim.check("max_array_bytes", total, f"'{path}' uncompressed size")
                arrays[info.filename[:-4]] = _read_member(archive, info, where, lim)
    except MotionwrightError:
        raise
    except Exception as exc:  # zipfile, zlib and numpy's header parser raise many kinds
        raise CorruptFileError(
            f"'{path}' is not a readable .npz {what} ({type(exc).__name__}: {exc})"
        ) from exc
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str,
                 lim: limits.Limits) -> np.ndarray:
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version not in _HEADER_READERS:
            raise CorruptFileError(f"{where}: unsupported .npy format version {version}")
        shape, fortran_order, dtype = _HEADER_READERS[version](fh)
        if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise CorruptFileError(f"{where}: arrays of dtype {dtype} are not read")
        if any(n < 0 for n in shape):
            raise CorruptFileError(f"{where}: negative length in shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        lim.check("max_array_bytes", nbytes, f"{where} shape {shape} of {dtype} in bytes")
        data_size = info.file_size - fh.tell()
        if nbytes != data_size:
            raise CorruptFileError(
                f"{where}: its header declares shape {shape} of {dtype} ({nbytes:,} bytes) "
                f"but it holds {data_size:,} bytes"
            )
        data = fh.read(nbytes)
    if len(data) != nbytes:
        raise CorruptFileError(f"{where}: ends after {len(data):,} of {nbytes:,} bytes")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran_order else "C")
