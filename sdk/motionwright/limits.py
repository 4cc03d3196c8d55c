"""Upper bounds on what a loader accepts from a file before it allocates or recurses.

A file's header can claim anything: a million frames, a 100 000-pixel-wide mask, a JSON nested
ten thousand levels deep. Loaders check such claims against these limits *before* doing the
work, and raise :class:`~motionwright.errors.LimitExceededError` naming the limit, the value
found and how to raise it. The defaults are generous for real footage; raise them for a file you
trust:

- for the whole process, with environment variables ``MOTIONWRIGHT_MAX_<NAME>`` (for example
  ``MOTIONWRIGHT_MAX_FRAMES=5000000``) or :func:`set_limits`;
- for a block of code, with ``with motionwright.limits.override(max_frames=5_000_000): ...``.

:func:`current` gives the limits in force (an ``override`` block, else :func:`set_limits`, else
the environment, else the defaults).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator

from .errors import InvalidInputError, LimitExceededError

ENV_PREFIX = "MOTIONWRIGHT_"

_MIB = 2**20


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits loaders enforce; every field is a positive integer.

    ``max_text_bytes``: size of a JSON or keyframe-text file. ``max_json_depth``: nesting of
    JSON arrays and objects. ``max_number_digits``: digits in one JSON number. ``max_frames``:
    frames in one track or mask file. ``max_points``: points in one point set or trajectory.
    ``max_pixels``: pixels (height × width) of one frame. ``max_array_bytes``: bytes of one
    array decoded from a file (a track array, a whole mask, an ``.npz`` member).
    """

    max_text_bytes: int = 512 * _MIB
    max_json_depth: int = 64
    max_number_digits: int = 64
    max_frames: int = 1_000_000
    max_points: int = 1_000_000
    max_pixels: int = 12288 * 8192  # a 12K frame fits; a 16K-square decompression bomb does not
    max_array_bytes: int = 2048 * _MIB

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(
                    f"{field.name}: expected a positive integer limit, got {value!r}"
                )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The defaults, with each ``MOTIONWRIGHT_MAX_<NAME>`` variable that is set applied."""
        env = os.environ if environ is None else environ
        changes = {}
        for field in dataclasses.fields(cls):
            name = env_name(field.name)
            text = env.get(name)
            if text is None or not text.strip():
                continue
            try:
                changes[field.name] = int(text.strip().replace("_", ""))
            except ValueError as exc:
                raise InvalidInputError(
                    f"{name}: expected a positive integer, got {text!r}"
                ) from exc
        return cls(**changes)

    def check(self, name: str, value: int, what: str) -> int:
        """Return ``value``, or raise LimitExceededError if it is above limit ``name``.

        ``what`` says where the value comes from, e.g. ``"'shot.npz' member 'tracks'"``.
        """
        limit = getattr(self, name)
        if value > limit:
            raise LimitExceededError(
                f"{what}: {value:,} is above the limit {name} = {limit:,}; if the file is "
                f"trusted, raise it with the environment variable {env_name(name)} or "
                f"motionwright.limits.override({name}=...)"
            )
        return value


def env_name(field: str) -> str:
    """The environment variable of limit ``field``, e.g. ``MOTIONWRIGHT_MAX_FRAMES``."""
    return ENV_PREFIX + field.upper()


_process_limits: Limits | None = None
_override: contextvars.ContextVar[Limits | None] = contextvars.ContextVar(
    "motionwright_limits", default=None)


def current() -> Limits:
    """The limits in force here and now."""
    return _override.get() or _process_limits or Limits.from_env()


def set_limits(**changes: int) -> Limits:
    """Change limits for the whole process (on top of the environment); returns the new limits.

    ``set_limits()`` with no argument goes back to the environment and the defaults.
    """
    global _process_limits
    _process_limits = _changed(Limits.from_env(), changes) if changes else None
    return current()


def _changed(base: Limits, changes: dict[str, int]) -> Limits:
    names = [f.name for f in dataclasses.fields(Limits)]
    unknown = sorted(set(changes) - set(names))
    if unknown:
        raise InvalidInputError(f"unknown limit {unknown[0]!r}; limits are {', '.join(names)}")
    return dataclasses.replace(base, **changes)


@contextlib.contextmanager
def override(**changes: int) -> Iterator[Limits]:
    """Within the block (and only in this thread or task), use these changed limits."""
    token = _override.set(_changed(current(), changes))
    try:
        yield _override.get()
    finally:
        _override.reset(token)
