"""The one error hierarchy of Motionwright.

Every error the SDK raises on purpose derives from :class:`MotionwrightError`; subclasses also
derive from the builtin that fits (``ValueError``, ``FileNotFoundError``, ``RuntimeError``), so
callers that already catch those keep working. Messages name the argument and the bad value and
say what to do about it.
"""

from __future__ import annotations


class MotionwrightError(Exception):
    """Root of every error Motionwright raises on purpose."""


class InvalidInputError(MotionwrightError, ValueError):
    """An argument has the wrong value: NaN, out of range, empty, inconsistent."""


class ShapeError(InvalidInputError):
    """An array has the wrong shape or dtype ("expected … got …")."""


class FrameRangeError(InvalidInputError, IndexError):
    """A frame index or range lies outside the clip."""


class MediaNotFoundError(MotionwrightError, FileNotFoundError):
    """A file or folder that was named does not exist."""


class CorruptFileError(MotionwrightError, ValueError):
    """A file exists but is not what it claims to be, or cannot be decoded."""


class LimitExceededError(CorruptFileError):
    """A file claims more than a loader limit allows (frames, pixels, bytes, JSON nesting).

    The message names the limit, the value found and how to raise the limit for a trusted file
    (see :mod:`motionwright.limits`).
    """


class UnsupportedFormatError(MotionwrightError, ValueError):
    """A container, codec, pixel format or file extension Motionwright does not handle."""


class SchemaVersionError(CorruptFileError):
    """A saved file carries a schema version newer than this Motionwright understands."""


class IncompatibleMotionError(InvalidInputError):
    """A motion embedding was learned on a model it cannot be applied to."""


class MissingExtraError(MotionwrightError, ImportError):
    """A feature needs an optional dependency group that is not installed."""


class BackendUnavailableError(MotionwrightError, RuntimeError):
    """The chosen render backend cannot render this edit (yet, or on this machine)."""


class Cancelled(MotionwrightError, RuntimeError):
    """A long operation was cancelled by its caller; nothing partial was left on disk."""


class TruncatedMediaWarning(UserWarning):
    """A media file ends early; only its decodable frames are used."""


def require_extra(module: str, extra: str, feature: str):
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{feature} needs the '{extra}' extra ({module} is not installed): "
            f"pip install 'motionwright[{extra}]'"
        ) from exc
