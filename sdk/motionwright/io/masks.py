"""Mask files: RLE JSON (``"Mask.1"``) and PNG sequences.

PNG sequences are named by a printf pattern (``"mattes/mask.%04d.png"``, one file per frame
numbered by absolute frame index), by a folder (files ``mask.%04d.png`` inside it), or by a
single ``.png`` file (a static mask). Frames are written as 8-bit grayscale 0/255. On reading,
a pixel is set when its value is above ``threshold`` (default 0); RGB files use the brightest
channel and RGBA files their alpha channel.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import numpy as np

from .. import _persist, limits
from ..errors import CorruptFileError, InvalidInputError, MediaNotFoundError
from .image_decode import decode_image

DEFAULT_NAME = "mask.%04d.png"
_PATTERN = re.compile(r"%(0?)(\d*)d")


def is_pattern(path: str | os.PathLike) -> bool:
    """Whether ``path`` names frames with a printf field such as ``%04d``."""
    return _PATTERN.search(Path(path).name) is not None


def _pattern_regex(name: str) -> re.Pattern[str]:
    match = _PATTERN.search(name)
    assert match is not None
    before, after = name[: match.start()], name[match.end():]
    if _PATTERN.search(after):
        raise InvalidInputError(f"path: expected one frame-number field like %04d, got '{name}'")
    return re.compile(re.escape(before) + r"(\d+)" + re.escape(after) + r"\Z")


def _frame_name(name: str, frame: int) -> str:
    return _PATTERN.sub(lambda m: f"{frame:{m.group(1)}{m.group(2) or ''}d}", name, count=1)


def _sequence_target(path: Path) -> tuple[Path, str]:
    if is_pattern(path):
        return path.parent, path.name
    return path, DEFAULT_NAME


def save_png_sequence(data: np.ndarray, start_frame: int, path: str | os.PathLike) -> list[Path]:
    """Write ``(T, H, W)`` bool ``data`` as PNG frames; returns the files written.

    ``path`` is a printf pattern, a folder, or (for ``T == 1``) a single ``.png`` file. The
    save is atomic as a whole: the folder is staged beside and swapped in, so it holds exactly
    this mask's frames (frames of an earlier, longer save of the same pattern are gone) or,
    if the process dies, exactly the previous ones. Other files in the folder are kept.
    """
    from .._atomic_folder import atomic_folder

    p = Path(path)
    if not is_pattern(p) and p.suffix.lower() == ".png":
        if len(data) != 1:
            raise InvalidInputError(
                f"path: a single PNG holds one frame but this mask has {len(data)}; use a "
                "pattern like 'mask.%04d.png' or a folder"
            )
        with _persist.atomic_open(p, "wb") as fh:
            fh.write(_encode_png(data[0], p))
        return [p]
    folder, name = _sequence_target(p)
    regex = _pattern_regex(name)
    names = [_frame_name(name, start_frame + i) for i in range(len(data))]

    def ours(entry: str) -> bool:
        return regex.match(entry) is not None

    with atomic_folder(folder, replaced=ours) as stage:
        for frame_name, frame in zip(names, data, strict=True):
            (stage / frame_name).write_bytes(_encode_png(frame, folder / frame_name))
    return [folder / n for n in names]


def _encode_png(frame: np.ndarray, target: Path) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", frame.astype(np.uint8) * 255)
    if not ok:
        raise CorruptFileError(f"could not encode mask frame for '{target}' as PNG")
    return buf.tobytes()


def load_png_sequence(path: str | os.PathLike, threshold: int = 0) -> tuple[np.ndarray, int]:
    """Read PNG mask frames; returns ``(data (T, H, W) bool, start_frame)``.

    The frame numbers in the file names must be consecutive; a gap, frames of different sizes
    or an unreadable file raise CorruptFileError naming the file.
    """
    p = Path(path)
    if not is_pattern(p) and p.suffix.lower() == ".png":
        return _read_png(_persist.existing_file(p, "mask PNG"), threshold)[None], 0
    if is_pattern(p):
        folder, regex = p.parent, _pattern_regex(p.name)
    else:
        folder, regex = p, re.compile(r"(.*?)(\d+)\.png\Z", re.IGNORECASE)
    from .._atomic_folder import recover_folder

    recover_folder(folder)  # a save killed between its two renames
    if not folder.is_dir():
        raise MediaNotFoundError(f"mask sequence not found: folder '{folder}' does not exist")
    frames: dict[int, Path] = {}
    prefixes = set()
    for f in folder.iterdir():
        m = regex.match(f.name)
        if m and f.is_file():
            frames[int(m.group(m.lastindex))] = f
            prefixes.add(m.group(1) if m.lastindex == 2 else "")
    if not frames:
        raise MediaNotFoundError(f"no mask frames matching '{p}' were found")
    if len(prefixes) > 1:
        raise CorruptFileError(
            f"'{folder}' holds several PNG sequences ({', '.join(sorted(prefixes))}); "
            "name one with a pattern like 'mask.%04d.png'"
        )
    numbers = sorted(frames)
    gap = next((a + 1 for a, b in itertools.pairwise(numbers) if b != a + 1), None)
    if gap is not None:
        raise CorruptFileError(
            f"mask sequence '{p}' has a gap: frame {gap} is missing between "
            f"{numbers[0]} and {numbers[-1]}"
        )
    lim = limits.current()
    lim.check("max_frames", len(numbers), f"mask sequence '{p}' frames")
    first = _read_png(frames[numbers[0]], threshold)
    lim.check("max_array_bytes", len(numbers) * first.size,
              f"mask sequence '{p}' of {len(numbers)} frames of {first.shape[1]}x"
              f"{first.shape[0]} in bytes")
    data = np.empty((len(numbers), *first.shape), bool)
    data[0] = first
    for t, n in enumerate(numbers[1:], start=1):
        frame = _read_png(frames[n], threshold)
        if frame.shape != first.shape:
            raise CorruptFileError(
                f"mask sequence '{p}' mixes frame sizes {first.shape} and {frame.shape} "
                f"('{frames[n].name}'); every frame must match"
            )
        data[t] = frame
    return data, numbers[0]


def _read_png(path: Path, threshold: int) -> np.ndarray:
    image = decode_image(np.fromfile(path, np.uint8), f"'{path}'")
    if image is None:
        raise CorruptFileError(f"'{path}' is not a readable image")
    if image.ndim == 3:
        image = image[..., 3] if image.shape[2] == 4 else image.max(axis=2)
    return image > threshold
