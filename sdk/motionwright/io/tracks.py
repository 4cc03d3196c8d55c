"""Track files: CoTracker-order ``.npz``, TAP-Vid-order ``.npz`` and Motionwright JSON.

Layouts (all pixel coordinates, centre of the top-left pixel at (0, 0)):

- ``"cotracker"`` (``.npz``): ``tracks`` ``(T, N, 2)`` float32 and ``visible`` ``(T, N)`` bool,
  time-major. CoTracker's own names ``pred_tracks``/``pred_visibility`` and its batch axis of 1
  (``(1, T, N, 2)``, ``(1, T, N[, 1])``) are read too; float visibility is thresholded at 0.5.
- ``"tapvid"`` (``.npz``): ``points`` ``(N, T, 2)`` float32 and ``occluded`` ``(N, T)`` bool,
  point-major, storing occlusion (the opposite of visibility).
- ``"json"``: :meth:`Trajectory.to_dict`, labelled ``"Trajectory.1"``.
- After Effects keyframe text (:func:`save_ae_keyframes`, :func:`load_ae_keyframes`): tracker
  ``Feature Center`` keyframes, which need a frame rate and frame size besides the tracks.

Files written by Motionwright also hold ``schema`` (``"Trajectory.1"``), ``start_frame`` and
``ids`` arrays; files from other tools without them start at frame 0 with ids ``0..N-1``.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .. import _persist, _safejson, limits
from ..errors import CorruptFileError, InvalidInputError, UnsupportedFormatError
from ..types._common import reading
from ..types.pointset import check_size
from ..types.trajectory import SCHEMA, VERSION, Trajectory, check_track_size
from .npz import read_npz

FORMATS = ("cotracker", "tapvid", "json")
_EXTENSIONS = {"cotracker": ".npz", "tapvid": ".npz", "json": ".json"}


def _resolve_format(path: Path, format: str | None, loading: bool) -> str | None:
    suffix = path.suffix.lower()
    if format is not None:
        if format not in FORMATS:
            raise UnsupportedFormatError(
                f"format: expected one of {', '.join(FORMATS)}, got {format!r}"
            )
        if suffix != _EXTENSIONS[format]:
            raise UnsupportedFormatError(
                f"format {format!r} is stored in a '{_EXTENSIONS[format]}' file, got '{path}'; "
                f"change the file extension"
            )
        return format
    if suffix == ".json":
        return "json"
    if suffix == ".npz":
        return None if loading else "cotracker"
    raise UnsupportedFormatError(
        f"'{path}': track files end in .npz (CoTracker or TAP-Vid order) or .json, got "
        f"'{suffix or '(no extension)'}'"
    )


def save_trajectory(traj: Trajectory, path: str | os.PathLike, format: str | None = None) -> None:
    """Write ``traj`` to ``path`` in ``format`` (default from the extension), atomically."""
    p = Path(path)
    fmt = _resolve_format(p, format, loading=False)
    if fmt == "json":
        _persist.write_json(p, traj.to_dict())
        return
    meta = {
        "schema": np.array(_persist.schema_label(SCHEMA, VERSION)),
        "start_frame": np.array(traj.start_frame, np.int64),
        "ids": traj.ids,
    }
    if fmt == "tapvid":
        arrays = {"points": traj.tracks.transpose(1, 0, 2), "occluded": ~traj.visible.T}
    else:
        arrays = {"tracks": traj.tracks, "visible": traj.visible}
    with _persist.atomic_open(p, "wb") as fh:
        np.savez(fh, **arrays, **meta)


def load_trajectory(path: str | os.PathLike, format: str | None = None) -> Trajectory:
    """Read a track file; ``.npz`` layouts are told apart by their keys unless ``format`` is set.

    A file of the wrong layout or with inconsistent shapes raises CorruptFileError naming the
    file and the keys and shapes it holds.
    """
    p = _persist.existing_file(path, "track file")
    fmt = _resolve_format(p, format, loading=True)
    if fmt == "json":
        return Trajectory._from_payload(_persist.read_json(p, "track file"), str(p))
    arrays = read_npz(p, "track file")
    found = ", ".join(f"{k} {v.shape}" for k, v in arrays.items()) or "no arrays"
    is_tapvid = "points" in arrays and "occluded" in arrays
    is_cotracker = ("tracks" in arrays and "visible" in arrays) or (
        "pred_tracks" in arrays and "pred_visibility" in arrays
    )
    if fmt is None:
        fmt = "tapvid" if is_tapvid else "cotracker" if is_cotracker else None
    if fmt is None or (fmt == "tapvid" and not is_tapvid) or (
            fmt == "cotracker" and not is_cotracker):
        wanted = {None: "'tracks' + 'visible' (CoTracker order) or 'points' + 'occluded' "
                        "(TAP-Vid order)",
                  "cotracker": "'tracks' + 'visible' (CoTracker order)",
                  "tapvid": "'points' + 'occluded' (TAP-Vid order)"}[fmt]
        raise CorruptFileError(f"'{p}' is not a track file: expected arrays {wanted}, "
                               f"found {found}")
    with reading(str(p), f"track file ({found})"):
        if "schema" in arrays:
            label = arrays["schema"]
            if label.shape != () or label.dtype.kind != "U":
                raise CorruptFileError(f"'{p}': 'schema' must be a text scalar, found {found}")
            _persist.upgrade({"schema": str(label)}, SCHEMA, VERSION, source=str(p))
        if fmt == "tapvid":
            tracks, visible = _tapvid_arrays(arrays, p, found)
        else:
            tracks, visible = _cotracker_arrays(arrays, p, found)
        check_track_size(tracks.shape[0], tracks.shape[1], f"'{p}'")
        start = arrays.get("start_frame")
        start_frame = 0 if start is None else _scalar_int(start, "start_frame")
        return Trajectory(tracks, visible, start_frame, arrays.get("ids"))


def _scalar_int(value: np.ndarray, name: str) -> int:
    if value.shape != () or not np.issubdtype(value.dtype, np.integer):
        raise CorruptFileError(f"{name}: expected an integer scalar, got {value!r}")
    return int(value)


def _as_bool(arr: np.ndarray) -> np.ndarray:
    """Flags stored as bool, 0/1 integers or probabilities (thresholded at 0.5)."""
    if np.issubdtype(arr.dtype, np.floating):
        return arr > 0.5
    return arr != 0


def _cotracker_arrays(arrays: dict[str, np.ndarray], p: Path,
                      found: str) -> tuple[np.ndarray, np.ndarray]:
    tracks = arrays.get("tracks", arrays.get("pred_tracks"))
    visible = arrays.get("visible", arrays.get("pred_visibility"))
    if tracks.ndim == 4 and tracks.shape[0] == 1:
        tracks = tracks[0]
        if visible.ndim >= 3 and visible.shape[0] == 1:
            visible = visible[0]
    if visible.ndim == 3 and visible.shape[-1] == 1:
        visible = visible[..., 0]
    if tracks.ndim != 3 or tracks.shape[-1] != 2 or visible.shape != tracks.shape[:2]:
        raise CorruptFileError(
            f"'{p}': expected tracks (T, N, 2) and visible (T, N) in CoTracker order, "
            f"found {found}"
        )
    return tracks, _as_bool(visible)


def _tapvid_arrays(arrays: dict[str, np.ndarray], p: Path,
                   found: str) -> tuple[np.ndarray, np.ndarray]:
    points, occluded = arrays["points"], arrays["occluded"]
    if points.ndim != 3 or points.shape[-1] != 2 or occluded.shape != points.shape[:2]:
        raise CorruptFileError(
            f"'{p}': expected points (N, T, 2) and occluded (N, T) in TAP-Vid order, "
            f"found {found}"
        )
    return points.transpose(1, 0, 2), ~_as_bool(occluded).T



# -- After Effects keyframe text ---------------------------------------------------------------

AE_HEADER = "Adobe After Effects 8.0 Keyframe Data"
_MAX_AE_RATE = 1_000_000
_NTSC_BASES = (24, 30, 48, 60, 120)


def save_ae_keyframes(traj: Trajectory, path: str | os.PathLike, fps: Fraction | float,
                      size: tuple[int, int], tracker: str = "Tracker #1") -> None:
    """Write ``traj`` as After Effects keyframe text (paste it onto a tracker or a null).

    Each point becomes ``Track Point #<id + 1>`` (``#1``, ``#2``, … when an id is negative)
    of ``tracker`` with its ``Feature Center`` on the frames where it is visible; hidden frames
    are left out. After Effects measures from the top-left corner of the frame, so ``0.5`` is
    added to both coordinates. ``fps`` and ``size`` (width, height) fill the header.
    """
    width, height = check_size(size)
    rate = Fraction(fps) if not isinstance(fps, float) else Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise InvalidInputError(f"fps: expected a positive frame rate, got {fps!r}")
    numbers = traj.ids + 1 if (traj.ids >= 0).all() else np.arange(1, traj.num_points + 1)
    lines = [AE_HEADER, "", f"\tUnits Per Second\t{float(rate):.6g}", f"\tSource Width\t{width}",
             f"\tSource Height\t{height}", "\tSource Pixel Aspect Ratio\t1",
             "\tComp Pixel Aspect Ratio\t1", ""]
    for col, number in enumerate(numbers.tolist()):
        lines.append(f"Motion Trackers\t{tracker}\tTrack Point #{number}\tFeature Center")
        lines.append("\tFrame\tX pixels\tY pixels\t")
        for row in np.flatnonzero(traj.visible[:, col]).tolist():
            x, y = (float(v) + 0.5 for v in traj.tracks[row, col])
            lines.append(f"\t{traj.start_frame + row}\t{x!r}\t{y!r}\t")
        lines.append("")
    lines.append("End of Keyframe Data")
    with _persist.atomic_open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def load_ae_keyframes(path: str | os.PathLike) -> tuple[Trajectory, dict[str, Any]]:
    """Read the ``Feature Center`` tracks of After Effects keyframe text.

    Returns the trajectory (frames between the first and last keyframe; a point is hidden on
    frames without a keyframe; track points without any keyframe are left out) and
    ``{"fps": Fraction, "size": (width, height)}`` from the header (None where absent). Ids are
    the track point numbers minus one when all points come from one tracker, else ``0..N-1``
    in file order.
    """
    p = _persist.existing_file(path, "After Effects keyframe file")
    try:
        text = _safejson.read_bounded(p, "After Effects keyframe file").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"'{p}' is not After Effects keyframe text ({exc})") from exc
    lines = text.splitlines()
    if not lines or not lines[0].strip().startswith("Adobe After Effects") \
            or "Keyframe Data" not in lines[0]:
        raise CorruptFileError(
            f"'{p}' is not After Effects keyframe text: expected a first line like "
            f"'{AE_HEADER}'"
        )
    header: dict[str, str] = {}
    blocks: list[tuple[tuple[str, str], list[tuple[int, float, float]]]] = []
    current: list[tuple[int, float, float]] | None = None
    for lineno, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if not line.strip() or line.strip() == "End of Keyframe Data":
            continue
        if cells[0]:  # a block header such as "Motion Trackers  Tracker #1  Track Point #1 ..."
            is_centre = cells[0] == "Motion Trackers" and len(cells) >= 4 and \
                cells[3].strip() == "Feature Center"
            current = [] if is_centre else None
            if current is not None:
                blocks.append(((cells[1], cells[2]), current))
            continue
        values = [c for c in cells[1:] if c.strip()]
        if current is None:
            if len(values) == 2 and not blocks:
                header[values[0]] = values[1]
            continue
        if values and values[0] == "Frame":
            continue
        try:
            frame_text, x, y = values[0], float(values[1]), float(values[2])
            frame = int(frame_text) if len(frame_text) <= 18 else -1
        except (IndexError, ValueError) as exc:
            raise CorruptFileError(
                f"'{p}' line {lineno}: expected 'frame, x, y' numbers, got {line.strip()!r:.80}"
            ) from exc
        if frame < 0:
            raise CorruptFileError(
                f"'{p}' line {lineno}: expected a frame number >= 0 of at most 18 digits, got "
                f"{frame_text!r:.40}"
            )
        current.append((frame, x, y))
    keyed = [(key, rows) for key, rows in blocks if rows]
    if not keyed:
        raise CorruptFileError(f"'{p}' holds no 'Motion Trackers … Feature Center' keyframes")
    first = min(r[0] for _, rows in keyed for r in rows)
    last = max(r[0] for _, rows in keyed for r in rows)
    check_track_size(last - first + 1, len(keyed), f"'{p}' keyframes")
    tracks = np.full((last - first + 1, len(keyed), 2), np.nan)
    visible = np.zeros((last - first + 1, len(keyed)), bool)
    for col, (_, rows) in enumerate(keyed):
        for frame, x, y in rows:
            tracks[frame - first, col] = (x - 0.5, y - 0.5)
            visible[frame - first, col] = True
    ids = None
    if len({tracker for (tracker, _), _ in keyed}) == 1:
        texts = [name.rpartition("#")[2].strip() for (_, name), _ in keyed]
        if all(t.isascii() and t.isdigit() and len(t) <= 18 for t in texts):
            numbers = [int(t) for t in texts]  # AE counts track points from 1
            if min(numbers) >= 1 and len(set(numbers)) == len(numbers):
                ids = [n - 1 for n in numbers]
    with reading(str(p), "After Effects keyframe file"):
        traj = Trajectory(tracks, visible, first, ids)
    return traj, {"fps": _ae_rate(header.get("Units Per Second"), p),
                  "size": _ae_size(header.get("Source Width"), header.get("Source Height"), p)}


def _ae_rate(text: str | None, p: Path) -> Fraction | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise CorruptFileError(
            f"'{p}': Units Per Second: expected a frame rate, got {text!r:.40}"
        ) from exc
    for base in _NTSC_BASES:  # AE writes 23.976 for 24000/1001
        if abs(value - base * 1000 / 1001) < 5e-4:
            return Fraction(base * 1000, 1001)
    rate = Fraction(value).limit_denominator(1001) if math.isfinite(value) else Fraction(0)
    if not 0 < rate <= _MAX_AE_RATE:
        raise CorruptFileError(
            f"'{p}': Units Per Second: expected a frame rate from 1/1001 to {_MAX_AE_RATE}, "
            f"got {text!r:.40}"
        )
    return rate


def _ae_size(width: str | None, height: str | None, p: Path) -> tuple[int, int] | None:
    if not (width and height):
        return None
    try:
        w, h = (float(width), float(height))
        if not (math.isfinite(w) and math.isfinite(h) and w >= 1 and h >= 1
                and w.is_integer() and h.is_integer()):
            raise ValueError("not positive whole numbers")
    except ValueError as exc:
        raise CorruptFileError(
            f"'{p}': Source Width/Height: expected positive whole numbers of pixels, got "
            f"{width!r:.20} x {height!r:.20}"
        ) from exc
    limits.current().check("max_pixels", int(w) * int(h), f"'{p}' Source Width x Height")
    return int(w), int(h)
