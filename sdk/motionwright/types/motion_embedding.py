"""MotionEmbedding: a learned, reusable motion, saved as a ``.motion`` (safetensors) file."""

from __future__ import annotations

import base64
import copy
import json
import math
import os
from typing import Any

import numpy as np

from .. import _persist, _safejson
from .._validate import as_array, freeze, require_finite, require_int
from ..errors import CorruptFileError, IncompatibleMotionError, InvalidInputError, ShapeError
from ._common import json_safe, reading

SCHEMA = "MotionEmbedding"
VERSION = 1
DEFAULT_KIND = "motion-textual-inversion"
_META_KEY = "motionwright"


class MotionEmbedding:
    """A motion learned from a reference clip, reusable on other images and shots.

    ``tokens`` is ``(F+1, N, d)`` float32: for motion-textual inversion, rows ``0..F-1`` are
    the N tokens of each frame (spatial cross-attention) and the last row the N tokens for
    temporal cross-attention; d is the base model's embedding width. ``base_model`` describes
    the model it was learned on: ``{"family": str, "embedding_dim": int (== d),
    "fingerprint": str, ...}``. ``source`` (optional) describes the reference clip, e.g.
    ``{"path": str, "frame_range": [a, b], "fps": "num/den", "size": [w, h]}`` (a Fraction fps
    is stored as "num/den"); ``training`` (optional) the run, e.g. ``{"steps": int, "lr":
    float, "seed": int, "loss_curve": [float], "wall_time_s": float}``. The dicts must be
    JSON-safe; they are copied in and out so the object stays immutable.
    """

    __slots__ = ("_base", "_kind", "_source", "_tokens", "_training")

    def __init__(self, tokens: Any, kind: str = DEFAULT_KIND, base_model: Any = None,
                 source: dict[str, Any] | None = None,
                 training: dict[str, Any] | None = None) -> None:
        arr = as_array(tokens, "tokens", np.float32, (None, None, None), "(F+1, N, d)")
        if arr.shape[0] < 2 or arr.shape[1] < 1 or arr.shape[2] < 1:
            raise ShapeError(
                f"tokens: expected shape (F+1, N, d) with F >= 1, N >= 1, d >= 1, got {arr.shape}"
            )
        require_finite(arr, "tokens")
        if not isinstance(kind, str) or not kind:
            raise InvalidInputError(f"kind: expected a non-empty string, got {kind!r}")
        self._tokens = freeze(arr)
        self._kind = kind
        self._base = _check_base_model(base_model, "base_model")
        if self._base["embedding_dim"] != arr.shape[2]:
            raise ShapeError(
                f"base_model: embedding_dim is {self._base['embedding_dim']} but the tokens "
                f"have d = {arr.shape[2]} (shape {arr.shape}); they must match"
            )
        self._source = _optional_dict(source, "source")
        self._training = _optional_dict(training, "training")
        if self._training is not None and "loss_curve" in self._training:
            curve = self._training["loss_curve"]
            if not isinstance(curve, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in curve
            ):
                raise InvalidInputError(
                    f"training: loss_curve must be a list of numbers, got {curve!r:.80}"
                )

    # -- properties -------------------------------------------------------------------------
    @property
    def tokens(self) -> np.ndarray:
        """``(F+1, N, d)`` float32 (read-only)."""
        return self._tokens

    @property
    def kind(self) -> str:
        """What the tokens are, e.g. ``"motion-textual-inversion"``."""
        return self._kind

    @property
    def base_model(self) -> dict[str, Any]:
        """A copy of the base model description (family, embedding_dim, fingerprint, …)."""
        return copy.deepcopy(self._base)

    @property
    def source(self) -> dict[str, Any] | None:
        """A copy of the reference clip description, or None."""
        return copy.deepcopy(self._source)

    @property
    def training(self) -> dict[str, Any] | None:
        """A copy of the training record, or None."""
        return copy.deepcopy(self._training)

    @property
    def num_frames(self) -> int:
        """F, the number of per-frame token groups."""
        return self._tokens.shape[0] - 1

    @property
    def tokens_per_frame(self) -> int:
        """N, tokens in each group."""
        return self._tokens.shape[1]

    @property
    def embedding_dim(self) -> int:
        """d, the width of each token."""
        return self._tokens.shape[2]

    @property
    def frame_tokens(self) -> np.ndarray:
        """``(F, N, d)``: the per-frame groups (spatial cross-attention)."""
        return self._tokens[:-1]

    @property
    def temporal_tokens(self) -> np.ndarray:
        """``(N, d)``: the group for temporal cross-attention."""
        return self._tokens[-1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MotionEmbedding):
            return NotImplemented
        return (self._kind == other._kind and self._base == other._base
                and self._source == other._source and self._training == other._training
                and self._tokens.shape == other._tokens.shape
                and np.array_equal(self._tokens, other._tokens))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"MotionEmbedding(kind={self._kind!r}, frames={self.num_frames}, "
                f"tokens_per_frame={self.tokens_per_frame}, dim={self.embedding_dim}, "
                f"base_model={self._base['family']!r})")

    # -- compatibility ----------------------------------------------------------------------
    def check_compatible(self, base_model: dict[str, Any]) -> None:
        """Raise IncompatibleMotionError unless ``base_model`` (the model this motion is about
        to be applied to) has the same family, embedding_dim and fingerprint."""
        other = _check_base_model(base_model, "base_model")
        diffs = [key for key in ("family", "embedding_dim", "fingerprint")
                 if other[key] != self._base[key]]
        if diffs:
            mine, theirs = _describe(self._base), _describe(other)
            raise IncompatibleMotionError(
                f"this motion was learned on {mine} but the model is {theirs} "
                f"({', '.join(diffs)} differ); learn the motion again on this model, or apply "
                f"it with a {self._base['family']} model whose fingerprint is "
                f"{self._base['fingerprint']!r}"
            )

    def summary(self) -> dict[str, Any]:
        """What ``motionwright motion info`` shows: shape, kind, base model, source, training
        (steps, lr, seed, first/last/min loss, wall time; None where not recorded)."""
        train = self._training or {}
        curve = train.get("loss_curve") or []
        return {
            "shape": list(self._tokens.shape),
            "kind": self._kind,
            "base_model": self.base_model,
            "source": self.source,
            "training": None if self._training is None else {
                "steps": train.get("steps"),
                "lr": train.get("lr"),
                "seed": train.get("seed"),
                "loss_first": curve[0] if curve else None,
                "loss_last": curve[-1] if curve else None,
                "loss_min": min(curve) if curve else None,
                "wall_time_s": train.get("wall_time_s"),
            },
        }

    # -- persistence ------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {"kind": self._kind, "base_model": self._base, "source": self._source,
                "training": self._training}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict labelled ``"MotionEmbedding.1"``; the tokens are embedded as
        base64 of little-endian float32 bytes with their ``shape``."""
        raw = self._tokens.astype("<f4").tobytes()
        return {
            "schema": _persist.schema_label(SCHEMA, VERSION),
            **copy.deepcopy(self._meta()),
            "shape": list(self._tokens.shape),
            "tokens": base64.b64encode(raw).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MotionEmbedding:
        """Rebuild a MotionEmbedding from :meth:`to_dict` output."""
        with reading("", "MotionEmbedding"):
            if not isinstance(d, dict):
                raise InvalidInputError(f"expected a JSON object, got {type(d).__name__}")
            d = _persist.upgrade(dict(d), SCHEMA, VERSION)
            shape = tuple(require_int(v, "shape", 1) for v in d["shape"])
            raw = base64.b64decode(d["tokens"], validate=True)
            if len(shape) != 3 or len(raw) != 4 * math.prod(shape):
                raise ShapeError(f"tokens: {len(raw)} bytes do not fill shape (F+1, N, d) = "
                                 f"{shape}")
            tokens = np.frombuffer(raw, "<f4").reshape(shape)
            return cls(tokens, d["kind"], d["base_model"], d.get("source"), d.get("training"))

    def save(self, path: str | os.PathLike) -> None:
        """Write a ``.motion`` file (atomically): safetensors holding tensor ``"tokens"``, with
        ``{"schema": "MotionEmbedding.1", "motionwright": <JSON of kind, base_model, source,
        training>}`` as the header's ``__metadata__``."""
        import safetensors.numpy

        blob = safetensors.numpy.save(
            {"tokens": np.ascontiguousarray(self._tokens)},
            metadata={"schema": _persist.schema_label(SCHEMA, VERSION),
                      _META_KEY: json.dumps(self._meta(), allow_nan=False)},
        )
        with _persist.atomic_open(path, "wb") as fh:
            fh.write(blob)

    @classmethod
    def load(cls, path: str | os.PathLike) -> MotionEmbedding:
        """Read a ``.motion`` file (numpy only, no torch).

        Anything else (garbage, JSON, a safetensors file without Motionwright's metadata, a
        truncated file) raises CorruptFileError naming ``path``; a newer schema raises
        SchemaVersionError.
        """
        import safetensors

        p = _persist.existing_file(path, "motion file")
        try:
            with safetensors.safe_open(p, framework="numpy") as fh:
                meta = fh.metadata() or {}
                names = list(fh.keys())
                tokens = fh.get_tensor("tokens") if "tokens" in names else None
        except (safetensors.SafetensorError, OSError, TypeError, ValueError) as exc:
            raise CorruptFileError(
                f"'{p}' is not a .motion file (cannot read it as safetensors: {exc})"
            ) from exc
        if "schema" not in meta or _META_KEY not in meta:
            raise CorruptFileError(
                f"'{p}' is a safetensors file but not a Motionwright motion (its metadata has "
                f"no 'schema'/'{_META_KEY}' entries); make .motion files with motionwright"
            )
        with reading(str(p), "motion file"):
            fields = _safejson.parse(meta[_META_KEY], str(p), f"'{_META_KEY}' metadata")
            if not isinstance(fields, dict):
                raise InvalidInputError(f"'{_META_KEY}' metadata must be a JSON object")
            fields = _persist.upgrade({**fields, "schema": meta["schema"]}, SCHEMA, VERSION,
                                      source=str(p))
            if tokens is None:
                raise CorruptFileError(f"'{p}' has no 'tokens' tensor (found {names})")
            return cls(tokens, fields["kind"], fields["base_model"], fields.get("source"),
                       fields.get("training"))


def _check_base_model(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"{name}: expected a dict with 'family', 'embedding_dim' and 'fingerprint', "
            f"got {value!r:.80}"
        )
    missing = [k for k in ("family", "embedding_dim", "fingerprint") if k not in value]
    if missing:
        raise InvalidInputError(f"{name}: missing {', '.join(missing)} (got keys {list(value)})")
    out = json_safe(value, name)
    for key in ("family", "fingerprint"):
        if not isinstance(out[key], str) or not out[key]:
            raise InvalidInputError(f"{name}: {key} must be a non-empty string, got {out[key]!r}")
    out["embedding_dim"] = require_int(out["embedding_dim"], f"{name} embedding_dim", 1)
    return out


def _optional_dict(value: Any, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{name}: expected a dict or None, got {type(value).__name__}")
    return json_safe(value, name)


def _describe(base: dict[str, Any]) -> str:
    return (f"{base['family']} (embedding_dim {base['embedding_dim']}, fingerprint "
            f"{base['fingerprint']!r})")
