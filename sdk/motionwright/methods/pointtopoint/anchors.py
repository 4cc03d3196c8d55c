"""AnchorTokens: the motion tokens of a clip and which of them are anchors, saved as safetensors.

A ``.anchors`` file is a safetensors file with tensors ``tracks`` ``(T, N, 2)`` float32 (clip
pixels, NaN where hidden), ``visible`` ``(T, N)`` uint8, ``features`` ``(N, T, C)`` float32 (the
eq. (2) motion tokens) and ``indices`` ``(K,)`` int64 (the anchors), and the JSON header entry
``motionwright`` (tau, working size, base model, start frame) next to ``schema``
``"AnchorTokens.1"``. Reading needs numpy only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import _persist, _safejson
from ...errors import CorruptFileError, InvalidInputError, ShapeError

SCHEMA = "AnchorTokens"
VERSION = 1
_META_KEY = "motionwright"


@dataclass(frozen=True, eq=False)
class AnchorTokens:
    """What Point-to-Point found in a clip: every motion token and the anchors chosen among them.

    ``trajectories``: a :class:`~motionwright.Trajectory` of all N motion-token tracks in clip
    pixels; ``features``: ``(N, T, C)`` float32 motion tokens (normalised diffusion features
    along each track, eq. 2); ``indices``: ``(K,)`` int64 positions of the anchor tokens in
    selection order; ``tau``: the FPS threshold used; ``size``: the model working size
    ``(w, h)``; ``base_model``: identity of the model the features came from.
    """

    trajectories: Any
    features: np.ndarray
    indices: np.ndarray
    tau: float
    size: tuple[int, int]
    base_model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        feats = np.asarray(self.features, np.float32)
        idx = np.asarray(self.indices, np.int64).reshape(-1)
        n, t = self.trajectories.num_points, self.trajectories.num_frames
        if feats.ndim != 3 or feats.shape[:2] != (n, t):
            raise ShapeError(f"features: expected ({n}, {t}, C) for {n} tracks of {t} frames, "
                             f"got {feats.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise InvalidInputError(f"indices: expected track indices in 0..{n - 1}, got "
                                    f"{idx.tolist()[:8]}")
        if len(set(idx.tolist())) != idx.size:
            raise InvalidInputError(f"indices: each anchor once, got {idx.tolist()[:8]}")
        object.__setattr__(self, "features", feats)
        object.__setattr__(self, "indices", idx)
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    def __len__(self) -> int:
        return int(self.indices.size)

    def __repr__(self) -> str:
        return (f"AnchorTokens({len(self)} anchors of {self.trajectories.num_points} motion "
                f"tokens, {self.trajectories.num_frames} frames, tau={self.tau:g})")

    @property
    def anchors(self):
        """The anchors' tracks as a :class:`~motionwright.Trajectory` (``K`` points, ids =
        motion-token indices)."""
        from ...types import Trajectory

        tr = self.trajectories
        return Trajectory(tr.tracks[:, self.indices], tr.visible[:, self.indices],
                          tr.start_frame, ids=self.indices)

    def with_indices(self, indices: Any) -> AnchorTokens:
        """The same tokens with another anchor choice (drop or add anchors by index)."""
        return AnchorTokens(self.trajectories, self.features, np.asarray(indices, np.int64),
                            self.tau, self.size, dict(self.base_model))

    def nearest(self, frame: int, xy: tuple[float, float]) -> int:
        """Index of the motion token visible on ``frame`` whose position there is nearest to
        ``xy`` (clip pixels): how a clicked point becomes an anchor."""
        tr = self.trajectories
        row = frame - tr.start_frame
        if not 0 <= row < tr.num_frames:
            raise InvalidInputError(f"frame: expected {tr.start_frame}..{tr.end_frame}, "
                                    f"got {frame}")
        vis = tr.visible[row]
        if not vis.any():
            raise InvalidInputError(f"frame: no motion token is visible on frame {frame}")
        d = np.linalg.norm(tr.tracks[row] - np.asarray(xy, np.float32), axis=1)
        d[~vis] = np.inf
        return int(np.argmin(d))

    def _meta(self) -> dict[str, Any]:
        return {"tau": float(self.tau), "size": list(self.size),
                "base_model": self.base_model,
                "start_frame": int(self.trajectories.start_frame)}

    def save(self, path: str | os.PathLike) -> None:
        """Write the tokens to ``path`` atomically (safetensors, see the module docstring)."""
        import safetensors.numpy

        tr = self.trajectories
        blob = safetensors.numpy.save(
            {"tracks": np.ascontiguousarray(tr.tracks, np.float32),
             "visible": np.ascontiguousarray(tr.visible, np.uint8),
             "features": np.ascontiguousarray(self.features),
             "indices": np.ascontiguousarray(self.indices)},
            metadata={"schema": _persist.schema_label(SCHEMA, VERSION),
                      _META_KEY: json.dumps(self._meta(), allow_nan=False)})
        with _persist.atomic_open(path, "wb") as fh:
            fh.write(blob)

    @classmethod
    def load(cls, path: str | os.PathLike) -> AnchorTokens:
        """Read a file written by :meth:`save`; anything else raises CorruptFileError naming
        ``path``, a newer schema SchemaVersionError."""
        import safetensors

        from ...types import Trajectory

        p = _persist.existing_file(path, "anchor tokens file")
        try:
            with safetensors.safe_open(p, framework="numpy") as fh:
                meta = fh.metadata() or {}
                arrays = {k: fh.get_tensor(k) for k in fh.keys()}
        except (safetensors.SafetensorError, OSError, TypeError, ValueError) as exc:
            raise CorruptFileError(f"'{p}' is not an anchor tokens file (cannot read it as "
                                   f"safetensors: {exc})") from exc
        if "schema" not in meta or _META_KEY not in meta:
            raise CorruptFileError(f"'{p}' is a safetensors file but not Motionwright anchor "
                                   f"tokens (no 'schema'/'{_META_KEY}' metadata)")
        fields = _safejson.parse(meta[_META_KEY], str(p), f"'{_META_KEY}' metadata")
        if not isinstance(fields, dict):
            raise CorruptFileError(f"'{p}': '{_META_KEY}' metadata must be a JSON object")
        fields = _persist.upgrade({**fields, "schema": meta["schema"]}, SCHEMA, VERSION,
                                  source=str(p))
        missing = [k for k in ("tracks", "visible", "features", "indices") if k not in arrays]
        if missing:
            raise CorruptFileError(f"'{p}' lacks the tensors {', '.join(missing)}")
        traj = Trajectory(arrays["tracks"], arrays["visible"].astype(bool),
                          int(fields.get("start_frame", 0)))
        return cls(traj, arrays["features"], arrays["indices"], float(fields["tau"]),
                   tuple(fields["size"]), dict(fields.get("base_model") or {}))


def merged_anchor_track(parts: list[AnchorTokens], num_frames: int):
    """One :class:`~motionwright.Trajectory` of ``num_frames`` frames (from frame 0) holding
    the anchors of every window (each hidden outside its window); ids number the anchors
    window after window."""
    from ...types import Trajectory

    total = sum(len(p) for p in parts)
    tracks = np.full((num_frames, total, 2), np.nan, np.float32)
    visible = np.zeros((num_frames, total), bool)
    col = 0
    for part in parts:
        a = part.anchors
        rows = slice(a.start_frame, a.start_frame + a.num_frames)
        tracks[rows, col:col + len(part)] = a.tracks
        visible[rows, col:col + len(part)] = a.visible
        col += len(part)
    return Trajectory(tracks, visible)
